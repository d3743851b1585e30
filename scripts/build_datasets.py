"""Build the measured tables in ``datasets/`` from copies of their public sources.

Usage::

    python scripts/build_datasets.py --repos DIR [--out DIR]

``DIR`` holds a git clone (or bare git directory) of each source repository, named
``owner+name`` (``DIR/owner+name`` or ``DIR/owner+name/repo``). Every source file is read
at the commit pinned in ``SOURCES`` below, so the tables can be rebuilt exactly; the numbers
are parsed from those files, never typed. Each table is written as ``<name>.csv`` (first
column: the row names) with a sidecar ``<name>.json``: its source (repository, commit,
path, licence), each column's unit as text (read by ``kandiscover.units``) and meaning,
which column holds the error bar of which, and the law the table is known to follow.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd

from kandiscover.units import unit_scale

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "datasets"

# name -> (repository, commit, licence)
REPOSITORIES = {
    "nasa": ("devstronomy/nasa-data-scraper", "f311254c444585e40a8ebbff76ef2b8d785af438", "MIT"),
    "solaris": (
        "skepticalimagination/solaris-model",
        "4a5670b2ec26b3ef6c860b105118bb0c0ef79c34",
        "MIT",
    ),
    "jdaviz": ("spacetelescope/jdaviz", "05e62725ac07e420faa68239d70f4e2a4f584afe", "BSD-3-Clause"),
    "union": ("CMBAgents/MCPAgents", "d983d8a97b8c24b9394eb6acd72d2ad65e7d363a", "MIT"),
}
PLANETS = (
    "mercury",
    "venus",
    "earth",
    "mars",
    "ceres",
    "jupiter",
    "saturn",
    "uranus",
    "neptune",
    "pluto",
)


class Sources:
    """Reads files of the source repositories at their pinned commits."""

    def __init__(self, repos: Path) -> None:
        self.repos = repos

    def read(self, key: str, path: str) -> str:
        repo, commit, _ = REPOSITORIES[key]
        folder = self.repos / repo.replace("/", "+")
        git_dir = folder / "repo" if (folder / "repo").exists() else folder
        out = subprocess.run(
            ["git", "-C", str(git_dir), "show", f"{commit}:{path}"],
            capture_output=True,
            check=True,
        )
        return out.stdout.decode("utf-8")


def _source(key: str, paths: list[str], note: str = "") -> dict[str, object]:
    repo, commit, licence = REPOSITORIES[key]
    out = {
        "repository": f"https://github.com/{repo}",
        "commit": commit,
        "paths": paths,
        "licence": licence,
    }
    return out | ({"note": note} if note else {})


def planets(src: Sources) -> tuple[pd.DataFrame, dict]:
    """NASA's planetary fact sheet, as scraped into data/csv/planets.csv."""
    path = "data/csv/planets.csv"
    raw = pd.read_csv(pd.io.common.StringIO(src.read("nasa", path)), thousands=",")
    columns = {
        "mass": ("M_1e24kg", "1e24 kg", "mass"),
        "diameter": ("D_km", "km", "equatorial diameter"),
        "density": ("rho_kg_m3", "kg/m**3", "mean density"),
        "gravity": ("g_m_s2", "m/s**2", "surface gravity"),
        "escape_velocity": ("v_esc_km_s", "km/s", "escape velocity"),
        "distance_from_sun": ("a_1e6km", "1e6 km", "mean distance from the Sun (semi-major axis)"),
        "orbital_period": ("T_days", "day", "sidereal orbital period"),
        "orbital_velocity": ("v_orb_km_s", "km/s", "mean orbital velocity"),
        "orbital_eccentricity": ("e", "", "orbital eccentricity"),
    }
    frame = raw.set_index("planet")[list(columns)].rename(
        columns={k: v[0] for k, v in columns.items()}
    )
    frame.index.name = "body"
    meta = {
        "title": "The planets (and Pluto): NASA planetary fact sheet",
        "source": _source(
            "nasa",
            [path, "data/raw/planets-nasa-export.csv"],
            "NASA GSFC planetary fact sheet (https://nssdc.gsfc.nasa.gov/planetary/factsheet/) "
            "as scraped by the repository; the units are the fact sheet's, as given in the "
            "header rows of data/raw/planets-nasa-export.csv",
        ),
        "columns": {v[0]: {"unit": v[1], "description": v[2]} for v in columns.values()},
        "errors": {},
        "laws": [
            "Kepler's third law: T**2 = 4*pi**2*a**3/(G*M_sun)",
            "g = G*M/(D/2)**2, v_esc = sqrt(2*G*M/(D/2)), rho = M/(pi*D**3/6), "
            "v_orb = 2*pi*a/T (to the 2-3 significant figures of the fact sheet)",
        ],
    }
    return frame, meta


_SATELLITE = re.compile(r"^ {4}(\w+):\n((?: {6}.*\n)+)", re.M)
# Orbits of the planets (E. M. Standish's elements for 1800-2050: a in au, the rate of the
# mean longitude in degrees per century), of small bodies (JPL's small-body database: a in
# au, mean motion in degrees per day) and of moons (a in km, degrees per day).
_FORMATS = {
    "jpl-1800-2050": (
        "au",
        r"cy: \{a: [-\d.]+, e: [-\d.]+, i: [-\d.]+, L: ([\d.]+)",
        "deg/century",
    ),
    "jpl-sbdb": ("au", r"day: \{M: ([\d.e-]+)\}", "deg/day"),
    "jpl-satellites-table": ("km", r"day: \{M: ([\d.e-]+)\}", "deg/day"),
}


def _number(pattern: str, text: str) -> float:
    match = re.search(pattern, text)
    if match is None:
        raise ValueError(f"no match for {pattern!r}")
    return float(match.group(1))


def _orbit(text: str, name: str, primary: str, primary_mass: float) -> dict[str, object] | None:
    match = re.search(r"format: '([\w-]+)'", text)
    if match is None or match.group(1) not in _FORMATS:
        return None  # spacecraft (the ISS) have another format
    a_unit, rate_pattern, rate_unit = _FORMATS[match.group(1)]
    rate = _number(rate_pattern, text) * unit_scale(rate_unit) / unit_scale("deg/day")
    return {
        "body": name,
        "primary": primary,
        "a_km": _number(r"base:\s*\{?\s*a: ([\d.]+)", text) * unit_scale(a_unit) / unit_scale("km"),
        "n_deg_day": rate,
        "T_days": 360.0 / rate,
        "M_primary_kg": primary_mass,
        "m_kg": _number(r"(?m)^\s*mass: ([\d.e+-]+)", text),
    }


def orbits(src: Sources) -> tuple[pd.DataFrame, dict]:
    """Semi-major axes and mean motions of planets, Ceres and 18 moons (JPL's tables)."""
    paths = ["src/data/bodies/sun.coffee"]
    sun_mass = _number(r"(?m)^  mass: ([\d.e+-]+)", src.read("solaris", paths[0]))
    rows = []
    for body in PLANETS:
        path = f"src/data/bodies/{body}.coffee"
        text = src.read("solaris", path)
        paths.append(path)
        head, _, satellites = text.partition("\n  satellites:\n")
        name = re.search(r"(?m)^  name: '([^']+)'", head).group(1)
        planet = _orbit(head, name, "Sun", sun_mass)
        rows.append(planet)
        for _, moon in _SATELLITE.findall(satellites):
            moon_name = re.search(r"name: '([^']+)'", moon).group(1).removeprefix("The ")
            row = _orbit(moon, moon_name, name, planet["m_kg"])
            if row is not None:
                rows.append(row)
    frame = pd.DataFrame(rows).set_index("body")
    units = {
        "primary": ("", "the body orbited"),
        "a_km": ("km", "semi-major axis"),
        "n_deg_day": ("deg/day", "mean motion (for the planets: the rate of the mean longitude)"),
        "T_days": ("day", "orbital period, 360/n_deg_day (computed here)"),
        "M_primary_kg": ("kg", "mass of the body orbited"),
        "m_kg": ("kg", "mass of the orbiting body"),
    }
    meta = {
        "title": "Orbits of the planets, Pluto, Ceres and 18 major moons (JPL mean elements)",
        "source": _source(
            "solaris",
            paths,
            "planets and Pluto: E. M. Standish, Keplerian elements for approximate positions "
            "of the major planets, table 1 (1800-2050; Earth is the Earth-Moon barycentre); "
            "Ceres: JPL small-body database; moons: JPL planetary satellite mean elements "
            "(http://ssd.jpl.nasa.gov/?sat_elem); masses as given in the same files. "
            "Converted here: au to km (1 au = 149597870700 m) and degrees per century to "
            "degrees per day (1 century = 36525 days), by kandiscover.units",
        ),
        "columns": {k: {"unit": u, "description": d} for k, (u, d) in units.items()},
        "errors": {},
        "laws": ["Kepler's third law: T**2 = 4*pi**2*a**3/(G*(M_primary + m))"],
    }
    return frame, meta


_HI_LINE = re.compile(r"HI (\d+)-(\d+)\s+([\d.]+)\s+([\d.]+E-\d+)\s+15\b")


def hydrogen_lines(src: Sources) -> tuple[pd.DataFrame, dict]:
    """Infrared H I lines (Paschen to Humphreys series) from the JWST line list."""
    path = "jdaviz/data/linelists/JWST_line_list_original.txt"
    text = src.read("jdaviz", path)
    rows = [
        {
            "line": f"HI {upper}-{lower}",
            "n_upper": int(upper),
            "n_lower": int(lower),
            "wavelength_um": float(wavelength),
            "wavelength_err_um": float(error),
        }
        for upper, lower, wavelength, error in _HI_LINE.findall(text)
    ]
    frame = pd.DataFrame(rows).set_index("line")
    units = {
        "n_upper": ("", "principal quantum number of the upper level"),
        "n_lower": ("", "principal quantum number of the lower level (3 Paschen ... 9)"),
        "wavelength_um": ("um", "vacuum wavelength"),
        "wavelength_err_um": ("um", "uncertainty of the wavelength"),
    }
    meta = {
        "title": "Hydrogen lines: 34 infrared transitions with uncertainties",
        "source": _source(
            "jdaviz",
            [path],
            "the H I section of A. P. Marston's JWST line list (2017), reference 15: Mohr, "
            "Taylor & Newell 2008, Rev. Mod. Phys. 80, 633 (CODATA 2006 hydrogen levels), "
            "so these are computed from the hydrogen energy levels, not read off a spectrum",
        ),
        "columns": {k: {"unit": u, "description": d} for k, (u, d) in units.items()},
        "errors": {"wavelength_um": "wavelength_err_um"},
        "laws": ["Rydberg: 1/wavelength = R_H*(1/n_lower**2 - 1/n_upper**2)"],
    }
    return frame, meta


def supernovae(src: Sources) -> tuple[pd.DataFrame, dict]:
    """The Union2.1 compilation of type Ia supernovae: redshift and distance modulus."""
    path = "SCPUnion2.1_mu_vs_z.txt"
    text = re.sub(r"<[^>]+>", "", src.read("union", path))  # the copy is saved as HTML
    rows = []
    for line in text.splitlines():
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        name, z, mu, sigma, p_low = fields
        rows.append(
            {
                "name": name,
                "z": float(z),
                "mu": float(mu),
                "sigma_mu": float(sigma),
                "p_low_mass": float(p_low),
            }
        )
    frame = pd.DataFrame(rows).set_index("name")
    units = {
        "z": ("", "redshift"),
        "mu": ("", "distance modulus (magnitudes), 5*log10(d_L / 10 pc) for h = 0.7"),
        "sigma_mu": ("", "uncertainty of the distance modulus (magnitudes)"),
        "p_low_mass": ("", "probability that the host galaxy has a low stellar mass"),
    }
    meta = {
        "title": "Union2.1 type Ia supernovae: distance modulus against redshift",
        "source": _source(
            "union",
            [path],
            "Suzuki et al. 2012, ApJ 746, 85 (Supernova Cosmology Project, "
            "https://supernova.lbl.gov/Union/); the repository committed this copy of "
            "SCPUnion2.1_mu_vs_z.txt at the cited commit and removed it in the next one",
        ),
        "columns": {k: {"unit": u, "description": d} for k, (u, d) in units.items()},
        "errors": {"mu": "sigma_mu"},
        "laws": [
            "Hubble's law at low redshift (z < 0.1): mu = 5*log10(c*z/H0 / Mpc) + 25",
            "at all redshifts: flat LambdaCDM, mu = 5*log10(d_L/(10 pc)), "
            "d_L = (1+z)*c/H0*integral_0^z dz'/sqrt(Om*(1+z')**3 + 1 - Om)",
        ],
    }
    return frame, meta


_PLUS_MINUS = re.compile(r"^\s*([\d.]+)\s*±\s*([\d.]+)\s*$")


def moon_densities(src: Sources) -> tuple[pd.DataFrame, dict]:
    """JPL's satellite physical parameters with error bars, as scraped into satellites.csv."""
    path = "data/csv/satellites.csv"
    raw = pd.read_csv(pd.io.common.StringIO(src.read("nasa", path)), dtype=str)
    rows = []
    for _, row in raw.iterrows():
        parsed = [_PLUS_MINUS.match(row[c]) for c in ("gm", "radius", "density")]
        if not all(parsed):
            continue  # keep the moons whose three values all come with an uncertainty
        (gm, gm_err), (r, r_err), (rho, rho_err) = (map(float, m.groups()) for m in parsed)
        rows.append(
            {
                "moon": row["name"],
                "primary": row["planet"],
                "GM_km3_s2": gm,
                "GM_err_km3_s2": gm_err,
                "R_km": r,
                "R_err_km": r_err,
                "rho_g_cm3": rho,
                "rho_err_g_cm3": rho_err,
            }
        )
    frame = pd.DataFrame(rows).set_index("moon")
    units = {
        "primary": ("", "the planet the moon orbits"),
        "GM_km3_s2": ("km**3/s**2", "gravitational parameter G*m"),
        "GM_err_km3_s2": ("km**3/s**2", "uncertainty of GM"),
        "R_km": ("km", "mean radius"),
        "R_err_km": ("km", "uncertainty of the radius"),
        "rho_g_cm3": ("g/cm**3", "mean density"),
        "rho_err_g_cm3": ("g/cm**3", "uncertainty of the density"),
    }
    meta = {
        "title": "Moons with measured mass, radius and density, each with its uncertainty",
        "source": _source(
            "nasa",
            [path],
            "JPL planetary satellite physical parameters "
            "(https://ssd.jpl.nasa.gov/?sat_phys_par) as scraped by the repository; the "
            "'value±error' cells are split into two columns here, moons without an "
            "uncertainty on all three quantities are left out",
        ),
        "columns": {k: {"unit": u, "description": d} for k, (u, d) in units.items()},
        "errors": {
            "GM_km3_s2": "GM_err_km3_s2",
            "R_km": "R_err_km",
            "rho_g_cm3": "rho_err_g_cm3",
        },
        "laws": ["rho = 3*GM/(4*pi*G*R**3)"],
    }
    return frame, meta


BUILDERS = {
    "planets": planets,
    "orbits": orbits,
    "moon_densities": moon_densities,
    "hydrogen_lines": hydrogen_lines,
    "supernovae": supernovae,
}


def main(argv: list[str] | None = None) -> int:
    """Write every table and its sidecar; return the process exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=Path, required=True, help="clones, named owner+name")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    sources = Sources(args.repos)
    for name, build in BUILDERS.items():
        frame, meta = build(sources)
        meta["index"] = frame.index.name
        frame.to_csv(args.out / f"{name}.csv", lineterminator="\n", float_format="%.12g")
        with open(args.out / f"{name}.json", "w", encoding="utf-8") as fh:
            json.dump(meta, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
        sys.stderr.write(f"{name}: {len(frame)} rows, {frame.shape[1]} columns\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
