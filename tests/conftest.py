"""Shared fixtures: devices, dtypes and per-dtype tolerances."""

from __future__ import annotations

import pytest
import torch

DEVICES = [
    "cpu",
    pytest.param(
        "cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
    ),
]
DTYPES = [torch.float32, torch.float64]
# absolute tolerance of a computation that should be exact up to rounding, per dtype
TOL = {torch.float32: 1e-5, torch.float64: 1e-12}


@pytest.fixture(params=DEVICES)
def device(request):
    return torch.device(request.param)


@pytest.fixture(params=DTYPES, ids=["float32", "float64"])
def dtype(request):
    return request.param


@pytest.fixture(autouse=True)
def _one_thread():
    """Tests run on one thread (2-core CI machine); the setting is restored afterwards."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
