"""Saving and loading models without pickle: a NumPy ``.npz`` holding JSON and arrays.

The file holds one JSON document (format name and version, the architecture, the
symbolic functions of every layer by name) and one array per tensor of the state
dict. Loading never executes code from the file: symbolic functions are looked up by
name in a library, and arrays are read by :class:`~kandiscover._npz.BoundedNpz`.

A model file is untrusted input. Before anything is decompressed or allocated,
:func:`load` checks the zip directory, the size of the JSON document and its nesting,
the type and range of every field (see the limits below), and the shape and dtype that
every array header declares against the architecture. Then it checks the values
(finite parameters, non-decreasing knots, 0/1 masks, symbolic indices in range) and
only then builds the model. Every failure is a ``ValueError`` naming the file.

Limits: at most ``MAX_LAYERS`` layers of at most ``MAX_NODES`` nodes, grids of at most
``MAX_GRID`` intervals, spline order at most ``MAX_K``, at most ``MAX_ELEMENTS`` numbers
in all arrays together and a JSON document of at most ``MAX_META_BYTES`` bytes.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ._npz import BoundedNpz
from .nn.layer import _BASE_FUNCTIONS
from .nn.network import KAN
from .symbolic.library import DEFAULT_LIBRARY, Library

__all__ = ["FORMAT_VERSION", "load", "save"]

FORMAT_NAME = "kandiscover-model"
FORMAT_VERSION = 1

MAX_LAYERS = 64
MAX_NODES = 10_000
MAX_GRID = 1000
MAX_K = 10
MAX_ELEMENTS = 2**25
MAX_META_BYTES = 1 << 20
MAX_JSON_DEPTH = 8
MAX_SOURCE_INPUTS = 1_000_000
MAX_NAME_LENGTH = 200
_ARRAYS_PER_LAYER = 10
_DTYPES = {"float32": np.float32, "float64": np.float64}
_INDEX_DTYPES = (np.dtype(np.int64), np.dtype(np.int32))


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
    FileNotFoundError
        If there is no such file.
    ValueError
        If the file is not a kandiscover model, is corrupt, breaks a limit of the module
        (see its docstring), has a newer format version, or uses a primitive the library
        does not have. The message names the file and the problem.
    """
    max_bytes = MAX_ELEMENTS * 8 + MAX_META_BYTES + (1 << 20)
    with BoundedNpz(path, MAX_LAYERS * _ARRAYS_PER_LAYER + 1, max_bytes) as npz:
        spec = _check_meta(_read_meta(npz), npz.error)
        functions = [[_lookup(library, n, path) for n in names] for names in spec.symbolic]
        arrays = _read_arrays(npz, spec)
        _check_values(arrays, spec, npz.error)
        model = _build(spec, arrays, functions, npz.error)
    return model.to(device) if device is not None else model


# ------------------------------------------------------------------ the JSON document
@dataclass(frozen=True)
class _Spec:
    """What the JSON document of a model file says, checked."""

    width: list[tuple[int, int]]
    config: dict[str, Any]
    dtype: str
    grids: list[int]
    uniform: list[bool]
    symbolic: list[list[str]]
    input_index: tuple[int, ...]
    n_source_inputs: int


def _read_meta(npz: BoundedNpz) -> Any:
    if "__meta__" not in npz.members:
        raise npz.error("is not a kandiscover model file (it has no '__meta__' document)")
    raw = npz.read("__meta__", None, [np.dtype(np.uint8)], MAX_META_BYTES)
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"), parse_constant=_no_constant)
    except RecursionError as err:
        raise npz.error("has a JSON document nested too deeply") from err
    except ValueError as err:  # JSONDecodeError, UnicodeDecodeError, huge integers
        raise npz.error(f"is not a readable kandiscover model file ({err})") from err
    if _depth(meta) > MAX_JSON_DEPTH:
        raise npz.error(f"has a JSON document nested deeper than {MAX_JSON_DEPTH} levels")
    return meta


def _no_constant(name: str) -> Any:
    raise ValueError(f"the JSON document holds {name}")


def _depth(value: Any) -> int:
    """Nesting depth of lists and dicts, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, level)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def _field(mapping: dict[str, Any], key: str, where: str, error) -> Any:
    if key not in mapping:
        raise error(f"lacks the field {where}{key!r}")
    return mapping[key]


def _int(value: Any, what: str, lo: int, hi: int, error) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise error(f"has {what} = {value!r}; expected an integer in [{lo}, {hi}]")
    return value


def _number(value: Any, what: str, error) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise error(f"has {what} = {value!r}; expected a finite number")
    return float(value)


def _list(value: Any, what: str, lo: int, hi: int, error) -> list:
    if not isinstance(value, list) or not lo <= len(value) <= hi:
        count = f"{lo}" if lo == hi else f"{lo} to {hi}"
        raise error(f"has {what} = {_short(value)}; expected a list of {count} entries")
    return value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _check_meta(meta: Any, error) -> _Spec:
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise error("is not a kandiscover model file")
    version = _field(meta, "version", "", error)
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise error(
            f"has format version {version}; this kandiscover reads up to "
            f"{FORMAT_VERSION}: upgrade kandiscover"
        )
    _int(version, "version", 1, FORMAT_VERSION, error)
    width = _check_width(_field(meta, "width", "", error), error)
    dtype = _field(meta, "dtype", "", error)
    if dtype not in _DTYPES:
        raise error(f"has dtype = {_short(dtype)}; expected one of {sorted(_DTYPES)}")
    config = _check_config(_field(meta, "config", "", error), error)
    grids, uniform, symbolic = _check_layers(_field(meta, "layers", "", error), width, error)
    n_in = width[0][0]
    n_source = _int(
        _field(meta, "n_source_inputs", "", error),
        "n_source_inputs",
        n_in,
        MAX_SOURCE_INPUTS,
        error,
    )
    index = _list(_field(meta, "input_index", "", error), "input_index", n_in, n_in, error)
    for i in index:
        _int(i, "an input_index entry", 0, n_source - 1, error)
    if len(set(index)) != len(index):
        raise error(f"has input_index = {_short(index)}; its entries must be distinct")
    spec = _Spec(width, config, dtype, grids, uniform, symbolic, tuple(index), n_source)
    total = sum(math.prod(s) for s, _ in _expected_arrays(spec, config["grid"]).values())
    total += sum(math.prod(s) for s, _ in _expected_arrays(spec).values())
    if total > MAX_ELEMENTS:
        raise error(f"describes a model of {total} numbers; the limit is {MAX_ELEMENTS}")
    return spec


def _check_width(value: Any, error) -> list[tuple[int, int]]:
    entries = _list(value, "width", 2, MAX_LAYERS + 1, error)
    width = []
    for pos, entry in enumerate(entries):
        pair = [entry, 0] if isinstance(entry, int) and not isinstance(entry, bool) else entry
        if not isinstance(pair, list) or len(pair) != 2:
            raise error(f"has width[{pos}] = {_short(entry)}; expected [n_sum, n_mult]")
        n_sum = _int(pair[0], f"width[{pos}][0]", 0, MAX_NODES, error)
        n_mult = _int(pair[1], f"width[{pos}][1]", 0, MAX_NODES, error)
        if pos == 0 and n_mult:
            raise error(f"has width[0] = {entry!r}; the input layer cannot have product nodes")
        if not 1 <= n_sum + n_mult <= MAX_NODES:
            raise error(f"has width[{pos}] = {entry!r}; a layer has 1 to {MAX_NODES} nodes")
        width.append((n_sum, n_mult))
    return width


def _check_config(value: Any, error) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise error(f"has config = {_short(value)}; expected a JSON object")
    get = lambda key: _field(value, key, "config.", error)  # noqa: E731
    grid_range = _list(get("grid_range"), "config.grid_range", 2, 2, error)
    lo, hi = (_number(v, "a config.grid_range entry", error) for v in grid_range)
    if not hi > lo:
        raise error(f"has config.grid_range = {grid_range!r}; expected [low, high], high > low")
    base = get("base")
    if not isinstance(base, str) or base not in _BASE_FUNCTIONS:
        raise error(f"has config.base = {_short(base)}; expected one of {sorted(_BASE_FUNCTIONS)}")
    noise = _number(get("noise_scale"), "config.noise_scale", error)
    if noise < 0:
        raise error(f"has config.noise_scale = {noise!r}; expected a number >= 0")
    return {
        "grid": _int(get("grid"), "config.grid", 1, MAX_GRID, error),
        "k": _int(get("k"), "config.k", 1, MAX_K, error),
        "seed": _int(get("seed"), "config.seed", -(2**63), 2**64 - 1, error),
        "grid_range": (lo, hi),
        "base": base,
        "noise_scale": noise,
    }


def _check_layers(value: Any, width: list[tuple[int, int]], error):
    layers = _list(value, "layers", len(width) - 1, len(width) - 1, error)
    grids, uniform, symbolic = [], [], []
    for l, info in enumerate(layers):
        if not isinstance(info, dict):
            raise error(f"has layers[{l}] = {_short(info)}; expected a JSON object")
        grids.append(
            _int(_field(info, "grid", f"layers[{l}].", error), "a layer grid", 1, MAX_GRID, error)
        )
        flag = _field(info, "uniform", f"layers[{l}].", error)
        if not isinstance(flag, bool):
            raise error(f"has layers[{l}].uniform = {_short(flag)}; expected true or false")
        uniform.append(flag)
        n_edges = sum(width[l]) * (width[l + 1][0] + 2 * width[l + 1][1])
        names = _list(
            _field(info, "symbolic", f"layers[{l}].", error),
            f"layers[{l}].symbolic",
            0,
            n_edges,
            error,
        )
        for name in names:
            if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME_LENGTH:
                raise error(f"has a symbolic function name {_short(name)} in layers[{l}]")
        if len(set(names)) != len(names):
            raise error(f"repeats a symbolic function name in layers[{l}]: {_short(names)}")
        symbolic.append(names)
    return grids, uniform, symbolic


def _expected_arrays(spec: _Spec, grid: int | None = None) -> dict[str, tuple[tuple, str]]:
    """Shape and kind (``"float"``, ``"mask"``, ``"index"``) of every state-dict array."""
    k = spec.config["k"]
    out: dict[str, tuple[tuple, str]] = {}
    for l in range(len(spec.width) - 1):
        n_in = sum(spec.width[l])
        n_out = spec.width[l + 1][0] + 2 * spec.width[l + 1][1]
        g = spec.grids[l] if grid is None else grid
        shapes = {
            "coef": ((n_out, n_in, g + k), "float"),
            "scales": ((n_out, n_in, 2), "float"),
            "bias": ((n_out,), "float"),
            "sym_affine": ((n_out, n_in, 4), "float"),
            "knots": ((n_in, g + 2 * k + 1), "float"),
            "end_derivs": ((2, n_in, g + k), "float"),
            "grid_ends": ((3, n_in), "float"),
            "mask": ((n_out, n_in), "mask"),
            "sym_mask": ((n_out, n_in), "mask"),
            "sym_index": ((n_out, n_in), "index"),
        }
        out.update((f"layers.{l}.{name}", v) for name, v in shapes.items())
    return out


# ------------------------------------------------------------------------- the arrays
def _read_arrays(npz: BoundedNpz, spec: _Spec) -> dict[str, np.ndarray]:
    expected = _expected_arrays(spec)
    present = set(npz.members) - {"__meta__"}
    missing, extra = sorted(set(expected) - present), sorted(present - set(expected))
    if missing or extra:
        detail = f"lacks {missing[:5]}" if missing else f"has unexpected {extra[:5]}"
        raise npz.error(f"does not match its own architecture: it {detail} arrays")
    floats = [np.dtype(_DTYPES[spec.dtype])]
    arrays = {}
    for key, (shape, kind) in expected.items():
        dtypes = _INDEX_DTYPES if kind == "index" else floats
        arrays[key] = npz.read(key, shape, dtypes, math.prod(shape) * dtypes[0].itemsize)
    return arrays


def _check_values(arrays: dict[str, np.ndarray], spec: _Spec, error) -> None:
    for key, array in arrays.items():
        name = key.rsplit(".", 1)[1]
        if name == "sym_index":
            continue
        if not np.isfinite(array).all():
            raise error(f"has NaN or infinite values in {key!r}")
        if name in ("mask", "sym_mask") and not np.isin(array, (0.0, 1.0)).all():
            raise error(f"has values other than 0 and 1 in the mask {key!r}")
    k = spec.config["k"]
    for l, (grid, names) in enumerate(zip(spec.grids, spec.symbolic)):
        knots = arrays[f"layers.{l}.knots"]
        if (np.diff(knots, axis=1) < 0).any() or not (knots[:, k] < knots[:, k + grid]).all():
            raise error(f"has knots in layers.{l}.knots that do not increase")
        index = arrays[f"layers.{l}.sym_index"]
        on = arrays[f"layers.{l}.sym_mask"] > 0
        if (
            (index < 0).any()
            or (index >= max(1, len(names))).any()
            or (index[on] >= len(names)).any()
        ):
            raise error(
                f"has symbolic function indices in layers.{l}.sym_index that are negative or "
                f"point past the {len(names)} name(s) of layers[{l}].symbolic"
            )


def _build(spec: _Spec, arrays: dict[str, np.ndarray], functions, error) -> KAN:
    cfg, dtype = spec.config, getattr(torch, spec.dtype)
    try:
        model = KAN(spec.width, dtype=dtype, **cfg)
    except (ValueError, TypeError) as err:
        raise error(f"has an invalid architecture: {err}") from err
    for l, layer in enumerate(model.layers):
        layer.set_knots(torch.from_numpy(arrays[f"layers.{l}.knots"]), spec.uniform[l])
        layer.coef.data = torch.zeros(arrays[f"layers.{l}.coef"].shape, dtype=dtype)
        layer.sym_functions = tuple(
            (name, f.torch_fn) for name, f in zip(spec.symbolic[l], functions[l])
        )
    state = {k: torch.from_numpy(v) for k, v in arrays.items()}
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise error(f"does not match its own architecture: {err}") from err
    model.input_index = spec.input_index
    model.n_source_inputs = spec.n_source_inputs
    return model


def _lookup(library: Library, name: str, path: str | os.PathLike[str]):
    try:
        return library[name]
    except (KeyError, ValueError) as err:
        raise ValueError(
            f"{os.fspath(path)!r} uses the primitive {name!r}, which the library lacks; "
            "pass load(..., library=...) with a library that has it"
        ) from err
