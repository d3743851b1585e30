"""Saving and loading models without pickle: a NumPy ``.npz`` holding JSON and arrays.

The file holds one JSON document (format name and version, the architecture, the
symbolic functions of every layer by name) and one array per tensor of the state
dict. Loading never executes code from the file: arrays are read with
``allow_pickle=False`` and symbolic functions are looked up by name in a library.
"""

from __future__ import annotations

import json
import os
import zipfile
from typing import Any

import numpy as np
import torch

from .nn.network import KAN
from .symbolic.library import DEFAULT_LIBRARY, Library

__all__ = ["FORMAT_VERSION", "load", "save"]

FORMAT_NAME = "kandiscover-model"
FORMAT_VERSION = 1


def save(model: KAN, path: str | os.PathLike[str]) -> None:
    """Write ``model`` to ``path`` (an ``.npz`` file; no pickle).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.kd"
    >>> save(KAN([2, 3, 1]), path)
    >>> load(path).width
    [(2, 0), (3, 0), (1, 0)]
    """
    meta = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "width": [list(w) for w in model.width],
        "config": model.config,
        "input_index": list(model.input_index),
        "n_source_inputs": model.n_source_inputs,
        "dtype": str(next(model.parameters()).dtype).removeprefix("torch."),
        "layers": [
            {
                "grid": layer.grid_size,
                "uniform": layer.uniform,
                "symbolic": [name for name, _ in layer.sym_functions],
            }
            for layer in model.layers
        ],
    }
    arrays = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    with open(path, "wb") as fh:
        np.savez(fh, __meta__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)


def load(
    path: str | os.PathLike[str],
    library: Library = DEFAULT_LIBRARY,
    device: torch.device | str | None = None,
) -> KAN:
    """Read a model written by :func:`save`.

    Parameters
    ----------
    path : path-like
    library : Library
        Where the names of symbolic edge functions are looked up; pass your own
        library if the model uses primitives of your own.
    device : optional
        Where to put the model (default: CPU).

    Raises
    ------
    ValueError
        If the file is not a kandiscover model, is corrupt, has a newer format
        version, or uses a primitive the library does not have.
    """
    meta, arrays = _read(path)
    cfg = meta["config"]
    dtype = getattr(torch, meta["dtype"])
    model = KAN(
        meta["width"],
        grid=cfg["grid"],
        k=cfg["k"],
        seed=cfg["seed"],
        grid_range=tuple(cfg["grid_range"]),
        base=cfg["base"],
        noise_scale=cfg["noise_scale"],
        dtype=dtype,
    )
    for layer, info in zip(model.layers, meta["layers"], strict=True):
        n_knots = info["grid"] + 2 * layer.k + 1
        layer.set_knots(torch.zeros(layer.n_in, n_knots, dtype=dtype), info["uniform"])
        layer.coef.data = torch.zeros(layer.n_out, layer.n_in, info["grid"] + layer.k, dtype=dtype)
        layer.sym_functions = tuple(
            (name, _lookup(library, name, path).torch_fn) for name in info["symbolic"]
        )
    state = {k: torch.from_numpy(v) for k, v in arrays.items()}
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise ValueError(f"{os.fspath(path)!r} does not match its own architecture: {err}") from err
    model.input_index = tuple(meta["input_index"])
    model.n_source_inputs = meta["n_source_inputs"]
    return model.to(device) if device is not None else model


def _read(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    name = os.fspath(path)
    try:
        with np.load(name, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        meta = json.loads(arrays.pop("__meta__").tobytes().decode())
    except FileNotFoundError:
        raise
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, UnicodeDecodeError) as err:
        raise ValueError(f"{name!r} is not a readable kandiscover model file ({err})") from err
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise ValueError(f"{name!r} is not a kandiscover model file")
    if meta.get("version", 0) > FORMAT_VERSION:
        raise ValueError(
            f"{name!r} has format version {meta['version']}; this kandiscover reads up to "
            f"{FORMAT_VERSION}: upgrade kandiscover"
        )
    return meta, arrays


def _lookup(library: Library, name: str, path: str | os.PathLike[str]):
    try:
        return library[name]
    except (KeyError, ValueError) as err:
        raise ValueError(
            f"{os.fspath(path)!r} uses the primitive {name!r}, which the library lacks; "
            "pass load(..., library=...) with a library that has it"
        ) from err
