"""Checks of user arguments, with messages that name the argument, the value received
and what is accepted. A wrong type is a ``TypeError``, a wrong value a ``ValueError``."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import torch

__all__ = ["check_integer", "check_number", "check_real_data", "check_seed"]

SEED_RANGE = (-(2**63), 2**64 - 1)  # what torch.Generator.manual_seed accepts


def check_integer(name: str, value: Any, low: int | None = None, what: str = "") -> int:
    """``value`` as an ``int``: an integer (NumPy's too, not ``bool``) that is ``>= low``."""
    accepted = what or ("an integer" if low is None else f"an integer >= {low}")
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be {accepted}, got {value!r} ({type(value).__name__})")
    if low is not None and value < low:
        raise ValueError(f"{name} must be {accepted}, got {value!r}")
    return int(value)


def check_number(
    name: str, value: Any, low: float = -math.inf, strict: bool = False, what: str = ""
) -> float:
    """``value`` as a finite ``float`` (a real number, not ``bool``) ``>= low`` (or ``>``)."""
    bound = "" if low == -math.inf else f" {'>' if strict else '>='} {low:g}"
    accepted = what or f"a finite number{bound}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {accepted}, got {value!r} ({type(value).__name__})")
    number = float(value)
    if not math.isfinite(number) or number < low or (strict and number == low):
        raise ValueError(f"{name} must be {accepted}, got {value!r}")
    return number


def check_seed(value: Any, name: str = "seed") -> int:
    """A seed for ``torch.Generator().manual_seed``: an integer in its range."""
    low, high = SEED_RANGE
    what = f"an integer in [{low}, {high}]"
    seed = check_integer(name, value, what=what)
    if not low <= seed <= high:
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return seed


def check_real_data(value: Any, name: str) -> None:
    """Refuse complex and boolean data before it is converted (torch would keep only the
    real part of complex numbers, with a warning, and read ``True`` as 1)."""
    for dtype in _dtypes(value):
        if isinstance(dtype, torch.dtype):
            complex_, boolean = dtype.is_complex, dtype == torch.bool
        else:
            try:
                kind = np.dtype(dtype).kind
            except TypeError:  # a pandas extension dtype: the conversion decides
                continue
            complex_, boolean = kind == "c", kind == "b"
        if complex_:
            raise TypeError(
                f"{name} holds complex numbers (dtype {dtype}); a KAN takes real numbers: "
                f"pass the real part, the imaginary part or the modulus explicitly"
            )
        if boolean:
            raise TypeError(
                f"{name} holds booleans (dtype {dtype}); pass numbers, e.g. {name}.astype(float)"
            )


def _dtypes(value: Any) -> list[Any]:
    if isinstance(value, torch.Tensor):
        return [value.dtype]
    if hasattr(value, "dtypes") and not hasattr(value, "dtype"):  # a pandas DataFrame
        return list(value.dtypes)
    if hasattr(value, "dtype"):
        return [value.dtype]
    try:
        return [np.asarray(value).dtype]
    except (TypeError, ValueError):  # ragged or odd input: the conversion reports it
        return []
