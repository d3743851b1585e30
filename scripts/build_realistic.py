"""Write equations/realistic.csv: textbook laws as a scientist measures them.

The "realistic" suite tests discovery where users are rather than where the Feynman
catalogue is: laws of one to six variables with their physical constants written as
numbers (as a lab table has them), variables in SI magnitudes (charges of 1e-9 C,
electron masses of 1e-30 kg, wavelengths of 1e-7 m), a few with a wide dynamic range.
Run it with few rows, noise and no units::

    kandiscover bench --suite realistic --no-units --n 40 --noise 0.01,0.05 --out r.jsonl

Each law is a standard textbook relation (the source column names it); the constants
are CODATA 2018 values rounded to four digits, or typical material values. Units are
given as text and converted to the catalogue's exponent vectors by kandiscover.units.

Usage: python scripts/build_realistic.py
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from kandiscover.units import unit_vector

OUT = Path(__file__).resolve().parent.parent / "equations" / "realistic.csv"

# id, output (unit), formula, [(variable, low, high, unit)], source
LAWS = [
    ("R.pendulum", ("T", "s"), "2.006*sqrt(L)", [("L", 0.1, 2.0, "m")],
     "simple pendulum T = 2 pi sqrt(L/g), g = 9.81 m/s^2"),
    ("R.arrhenius", ("k", "1/s"), "1.2e13*exp(-9000/T)", [("T", 280.0, 400.0, "K")],
     "Arrhenius rate k = A exp(-Ea/(R T)), Ea/R = 9000 K"),
    ("R.michaelis", ("v", "1/s"), "1.5*S/(2.3 + S)", [("S", 0.1, 10.0, "")],
     "Michaelis-Menten rate v = Vmax S / (Km + S), S relative to a unit concentration"),
    ("R.photon", ("E", "J"), "1.986e-25/lam", [("lam", 4e-7, 7e-7, "m")],
     "photon energy E = h c / lambda"),
    ("R.hill", ("theta", ""), "L**2/(0.25 + L**2)", [("L", 0.05, 5.0, "")],
     "Hill binding curve with n = 2, K = 0.5"),
    ("R.malus", ("I", "W/m**2"), "I0*cos(theta)**2",
     [("I0", 1.0, 10.0, "W/m**2"), ("theta", 0.0, 1.4, "rad")], "Malus's law"),
    ("R.lens", ("d_i", "m"), "f*d_o/(d_o - f)", [("f", 0.05, 0.2, "m"), ("d_o", 0.3, 2.0, "m")],
     "thin lens 1/f = 1/d_o + 1/d_i"),
    ("R.relativistic", ("E", "J"), "8.988e16*m/sqrt(1 - v**2/8.988e16)",
     [("m", 1e-31, 5e-30, "kg"), ("v", 1e7, 2.5e8, "m/s")],
     "relativistic energy E = m c^2 / sqrt(1 - v^2/c^2), c = 2.998e8 m/s"),
    ("R.planck", ("B", "W/m**3"), "1.191e-16/(lam**5*(exp(0.014388/(lam*T)) - 1))",
     [("lam", 3e-7, 3e-6, "m"), ("T", 3000.0, 6000.0, "K")],
     "Planck's law B = 2 h c^2 / lambda^5 / (exp(h c/(lambda k T)) - 1)"),
    ("R.ideal_gas", ("P", "Pa"), "1.381e-23*N*T/V",
     [("N", 1e22, 1e24, ""), ("T", 250.0, 400.0, "K"), ("V", 0.001, 0.05, "m**3")],
     "ideal gas P V = N k T"),
    ("R.coulomb", ("F", "N"), "8.988e9*q1*q2/r**2",
     [("q1", 1e-9, 5e-9, "C"), ("q2", 1e-9, 5e-9, "C"), ("r", 0.01, 0.1, "m")],
     "Coulomb's law F = q1 q2 / (4 pi epsilon_0 r^2)"),
    ("R.gravity", ("F", "N"), "6.674e-11*m1*m2/r**2",
     [("m1", 1e22, 1e25, "kg"), ("m2", 1e3, 1e5, "kg"), ("r", 1e7, 1e9, "m")],
     "Newton's law of gravitation"),
    ("R.stefan", ("P", "W"), "5.670e-8*e*A*T**4",
     [("e", 0.3, 1.0, ""), ("A", 0.01, 2.0, "m**2"), ("T", 300.0, 1500.0, "K")],
     "Stefan-Boltzmann law P = e sigma A T^4"),
    ("R.beer_lambert", ("I", "W/m**2"), "I0*exp(-mu*x)",
     [("I0", 1.0, 5.0, "W/m**2"), ("mu", 10.0, 100.0, "1/m"), ("x", 0.001, 0.05, "m")],
     "Beer-Lambert attenuation"),
    ("R.decay", ("N", ""), "N0*exp(-0.6931*t/t_half)",
     [("N0", 1e3, 1e6, ""), ("t", 0.0, 10.0, "s"), ("t_half", 2.0, 8.0, "s")],
     "radioactive decay N = N0 2^(-t/t_half)"),
    ("R.energy", ("E", "J"), "m*v**2/2 + 9.81*m*h",
     [("m", 0.1, 10.0, "kg"), ("v", 0.0, 20.0, "m/s"), ("h", 0.0, 50.0, "m")],
     "kinetic plus potential energy, g = 9.81 m/s^2"),
    ("R.doppler", ("f_obs", "Hz"), "f*(343 + v_o)/(343 - v_s)",
     [("f", 200.0, 2000.0, "Hz"), ("v_o", 0.0, 30.0, "m/s"), ("v_s", 0.0, 30.0, "m/s")],
     "Doppler effect for sound, c = 343 m/s"),
    ("R.projectile", ("y", "m"), "x*tan(theta) - 9.81*x**2/(2*v**2*cos(theta)**2)",
     [("x", 0.0, 20.0, "m"), ("theta", 0.3, 1.1, "rad"), ("v", 15.0, 30.0, "m/s")],
     "projectile trajectory, g = 9.81 m/s^2"),
    ("R.poiseuille", ("Q", "m**3/s"), "pi*r**4*dp/(8*eta*L)",
     [("r", 1e-4, 1e-3, "m"), ("dp", 100.0, 1e4, "Pa"), ("eta", 1e-3, 5e-3, "Pa*s"),
      ("L", 0.01, 1.0, "m")], "Hagen-Poiseuille flow"),
    ("R.drag", ("F", "N"), "rho*v**2*Cd*A/2",
     [("rho", 1.0, 1.3, "kg/m**3"), ("v", 1.0, 30.0, "m/s"), ("Cd", 0.2, 1.2, ""),
      ("A", 0.1, 2.0, "m**2")], "drag force F = rho v^2 C_d A / 2"),
    ("R.damped", ("x", "m"), "A*exp(-t/tau)*cos(omega*t)",
     [("A", 0.01, 0.1, "m"), ("tau", 1.0, 10.0, "s"), ("omega", 1.0, 5.0, "rad/s"),
      ("t", 0.0, 10.0, "s")], "damped harmonic oscillator"),
    ("R.lorentz", ("F", "N"), "q*(Ef + v*B*sin(theta))",
     [("q", 1e-19, 5e-19, "C"), ("Ef", 1e3, 1e5, "V/m"), ("v", 1e5, 1e6, "m/s"),
      ("B", 0.01, 1.0, "T"), ("theta", 0.1, 3.0, "rad")],
     "Lorentz force on a charge (magnitude along one axis)"),
    ("R.rocket", ("dv", "m/s"), "ve*log(m0/m1) - 9.81*t",
     [("ve", 2000.0, 4500.0, "m/s"), ("m0", 2e5, 5e5, "kg"), ("m1", 5e4, 1.9e5, "kg"),
      ("t", 10.0, 200.0, "s")], "rocket equation with gravity loss"),
    ("R.six", ("F", "N"), "6.674e-11*m1*m2/(d**2 + h**2) + q1*q2*8.988e9/d**2",
     [("m1", 1e20, 1e22, "kg"), ("m2", 1e20, 1e22, "kg"), ("d", 1e6, 1e7, "m"),
      ("h", 1e5, 1e6, "m"), ("q1", 1e3, 1e4, "C"), ("q2", 1e3, 1e4, "C")],
     "gravitation plus Coulomb between two charged bodies (six variables)"),
]  # fmt: skip


def _vector(unit: str) -> list[int]:
    return [int(e) if e == int(e) else float(e) for e in unit_vector(unit)]


def main() -> None:
    rows = []
    for number, (id_, (output, out_unit), formula, variables, source) in enumerate(LAWS, 1):
        rows.append(
            {
                "id": id_,
                "number": number,
                "output": output,
                "formula": formula,
                "variables": json.dumps(
                    [
                        {"name": n, "low": lo, "high": hi, "units": _vector(u), "unit": u}
                        for n, lo, hi, u in variables
                    ]
                ),
                "output_units": json.dumps(_vector(out_unit)),
                "source": f"textbook law: {source}",
                "output_unit": out_unit,
            }
        )
    with OUT.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} laws to {OUT}")


if __name__ == "__main__":
    main()
