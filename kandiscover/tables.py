"""Measured tables that ship with kandiscover, with their units, error bars and sources.

Each table is a CSV file in ``datasets/`` (``kandiscover/datasets/`` inside a wheel) with a
sidecar JSON file that says where the numbers come from (repository, commit, path,
licence), the unit of every column as text, which column is the error bar of which, and
the law the table is known to follow. ``datasets/README.md`` describes them all.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import pandas as pd

from kandiscover._resources import data_dir, did_you_mean, list_files
from kandiscover.units import unit_scale

__all__ = ["dataset_errors", "dataset_info", "dataset_units", "list_datasets", "load_dataset"]

DERIVED = ("kepler_orbits",)


def list_datasets() -> list[str]:
    """Names of the measured tables that ship with kandiscover (see ``datasets/README.md``)."""
    return sorted([*list_files("datasets", ".csv"), *DERIVED])


def _check_name(name: str) -> None:
    available = list_datasets()
    if name not in available:
        raise ValueError(
            f"unknown dataset {name!r}; available: {available}{did_you_mean(str(name), available)}"
        )


@functools.cache
def _sidecar(name: str) -> str:
    with data_dir("datasets").joinpath(f"{name}.json").open(encoding="utf-8") as fh:
        return fh.read()


def _kepler_info() -> dict[str, Any]:
    orbits = dataset_info("orbits")
    return {
        "title": "Orbits around the Sun, the planets and their moons in common units",
        "source": orbits["source"]
        | {"note": "derived from the 'orbits' table: " + orbits["source"]["note"]},
        "index": "body",
        "columns": {
            "a_AU": {"unit": "au", "description": "semi-major axis"},
            "M_sun": {
                "unit": "",
                "description": "mass of the body orbited plus the orbiting body, in solar masses",
            },
            "T_years": {"unit": "year", "description": "orbital period in Julian years"},
        },
        "errors": {},
        "laws": ["Kepler's third law in these units: T_years = a_AU**1.5 / sqrt(M_sun)"],
    }


def dataset_info(name: str) -> dict[str, Any]:
    """Everything the sidecar file says about a table: source, columns, errors and laws.

    Returns a fresh dict with the keys ``title``, ``source`` (``repository``, ``commit``,
    ``paths``, ``licence``, ``note``), ``index`` (the name of the row labels),
    ``columns`` (column -> ``{"unit", "description"}``), ``errors`` (value column -> its
    error column) and ``laws``.

    Raises
    ------
    ValueError
        If the name is unknown; the message suggests close matches.
    """
    _check_name(name)
    if name == "kepler_orbits":
        return _kepler_info()
    return json.loads(_sidecar(name))


def dataset_units(name: str) -> dict[str, str]:
    """The unit of every column of a table, as text ``kandiscover.units`` reads.

    ``""`` marks a pure number. Text columns (e.g. ``primary``) are listed with ``""``.

    Examples
    --------
    >>> dataset_units("planets")["T_days"]
    'day'
    """
    return {c: meta["unit"] for c, meta in dataset_info(name)["columns"].items()}


def dataset_errors(name: str) -> dict[str, str]:
    """Which column holds the error bar (one standard deviation) of which: value -> error.

    Examples
    --------
    >>> dataset_errors("supernovae")
    {'mu': 'sigma_mu'}
    """
    return dict(dataset_info(name)["errors"])


def _read(name: str) -> pd.DataFrame:
    with data_dir("datasets").joinpath(f"{name}.csv").open(encoding="utf-8") as fh:
        return pd.read_csv(fh, index_col=0)


def _kepler_orbits() -> pd.DataFrame:
    orbits = _read("orbits")
    units = dataset_units("orbits")
    sun = orbits.loc[orbits["primary"] == "Sun", "M_primary_kg"].unique()
    if len(sun) != 1:
        raise ValueError(f"the orbits table gives {len(sun)} masses of the Sun, expected one")
    to = {
        "a": unit_scale(units["a_km"]) / unit_scale("au"),
        "T": unit_scale(units["T_days"]) / unit_scale("year"),
    }
    return pd.DataFrame(
        {
            "a_AU": orbits["a_km"] * to["a"],
            "M_sun": (orbits["M_primary_kg"] + orbits["m_kg"]) / sun[0],
            "T_years": orbits["T_days"] * to["T"],
        },
        index=orbits.index,
    )


def load_dataset(name: str) -> pd.DataFrame:
    """Load a measured table as a DataFrame indexed by body, line or object name.

    Parameters
    ----------
    name : str
        One of :func:`list_datasets`: ``"planets"`` (NASA's planetary fact sheet),
        ``"orbits"`` (JPL's mean orbits of planets and moons), ``"moon_densities"``
        (masses, radii and densities with error bars), ``"hydrogen_lines"`` (34 H I
        lines with uncertainties), ``"supernovae"`` (Union2.1: distance modulus against
        redshift, with error bars) or ``"kepler_orbits"`` (the orbits in au, solar masses
        and years).

    Returns
    -------
    pandas.DataFrame
        ``frame.attrs`` holds ``"units"`` (column -> unit text), ``"errors"`` (value
        column -> error column), ``"source"`` and ``"laws"``, as :func:`dataset_info`.

    Raises
    ------
    ValueError
        If the name is unknown; the message suggests close matches.

    Examples
    --------
    >>> frame = load_dataset("orbits")
    >>> frame.loc["Io", "primary"], frame.attrs["units"]["a_km"]
    ('Jupiter', 'km')
    """
    info = dataset_info(name)
    frame = _kepler_orbits() if name == "kepler_orbits" else _read(name)
    frame.attrs = {
        "units": {c: meta["unit"] for c, meta in info["columns"].items()},
        "errors": dict(info["errors"]),
        "source": info["source"],
        "laws": list(info["laws"]),
    }
    return frame
