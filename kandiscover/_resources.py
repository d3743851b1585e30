"""Where the shipped data lives, and "did you mean" hints for names."""

from __future__ import annotations

import difflib
import functools
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

__all__ = ["data_dir", "did_you_mean", "list_files"]


@functools.cache
def data_dir(name: str) -> Traversable:
    """The folder ``name`` (``"equations"`` or ``"datasets"``) of the shipped data.

    An installed wheel carries it inside the package (``kandiscover/<name>``); a source
    checkout, editable installs included, has it at the top of the repository, beside
    ``kandiscover/``.
    """
    packaged = resources.files("kandiscover").joinpath(name)
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parent.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(
        f"kandiscover's {name!r} folder is missing: looked in {packaged} and {checkout}; "
        "reinstall the package"
    )


def list_files(folder: str, suffix: str) -> list[str]:
    """Names (without ``suffix``) of the files in a data folder that end in ``suffix``."""
    files = data_dir(folder).iterdir()
    return sorted(f.name[: -len(suffix)] for f in files if f.name.endswith(suffix))


def did_you_mean(name: str, choices: list[str]) -> str:
    """``"; did you mean 'x'?"`` for the choices close to ``name``, else ``""``."""
    lower = {c.lower(): c for c in choices}
    close = [lower[c] for c in difflib.get_close_matches(name.lower(), list(lower), 3, 0.5)]
    return f"; did you mean {', '.join(map(repr, close))}?" if close else ""
