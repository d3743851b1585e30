"""Turning user arrays (NumPy, pandas, torch, lists) into checked tensors."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

__all__ = ["as_tensor_2d", "as_xy_tensors"]


def _to_numpy(value: Any, name: str) -> np.ndarray | Tensor:
    if isinstance(value, Tensor):
        return value.detach()
    if hasattr(value, "to_numpy"):  # pandas DataFrame / Series
        value = value.to_numpy()
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be array-like, got {type(value).__name__}") from err
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{name} must hold numbers, got an array of dtype {arr.dtype}")
    return arr


def as_tensor_2d(
    value: Any,
    name: str,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> Tensor:
    """A finite, non-empty 2-D float tensor from ``value``; 1-D becomes one column.

    Raises
    ------
    ValueError
        For empty data, more than two dimensions, NaN or infinite values.
    TypeError
        For values that are not numeric arrays.
    """
    arr = _to_numpy(value, name)
    if not isinstance(arr, Tensor):
        arr = np.ascontiguousarray(arr)
        if not arr.flags.writeable:  # e.g. a pandas column: torch wants memory it may write
            arr = arr.copy()
    t = arr if isinstance(arr, Tensor) else torch.from_numpy(arr)
    if not t.is_floating_point():
        t = t.to(torch.get_default_dtype())
    t = t.to(dtype=dtype or t.dtype, device=device)
    if t.ndim == 1:
        t = t[:, None]
    if t.ndim != 2:
        raise ValueError(f"{name} must be 1-D or 2-D, got shape {tuple(t.shape)}")
    if t.shape[0] == 0 or t.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {tuple(t.shape)})")
    bad = ~torch.isfinite(t)
    if bool(bad.any()):
        kind = "NaN" if bool(torch.isnan(t).any()) else "infinite"
        rows = int(bad.any(1).sum())
        raise ValueError(f"{name} contains {kind} values in {rows} of {t.shape[0]} rows")
    return t


def as_xy_tensors(
    X: Any,
    y: Any,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    n_inputs: int | None = None,
    n_outputs: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Check a data set and return ``(X, y)`` as 2-D tensors of one dtype and device.

    Raises
    ------
    ValueError
        For mismatched lengths, a wrong number of columns, and whatever
        :func:`as_tensor_2d` rejects.
    """
    Xt = as_tensor_2d(X, "X", dtype, device)
    yt = as_tensor_2d(y, "y", Xt.dtype, Xt.device)
    if Xt.shape[0] != yt.shape[0]:
        raise ValueError(f"X and y have different lengths: {Xt.shape[0]} and {yt.shape[0]} rows")
    if n_inputs is not None and Xt.shape[1] != n_inputs:
        raise ValueError(f"X must have {n_inputs} columns for this model, got {Xt.shape[1]}")
    if n_outputs is not None and yt.shape[1] != n_outputs:
        raise ValueError(f"y must have {n_outputs} columns for this model, got {yt.shape[1]}")
    return Xt, yt
