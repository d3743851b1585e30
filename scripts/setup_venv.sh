# Sourced by scripts/test.sh and scripts/demo.sh: create (or reuse) .venv in the repository
# root, install the CPU build of torch and kandiscover in editable mode with its dev extras,
# and activate it. Set KANDISCOVER_VENV to use another location.
# Reinstalls only when pyproject.toml has changed since the last install.

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${KANDISCOVER_VENV:-$repo_root/.venv}"
python_bin="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python_bin" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
        || { echo "kandiscover needs Python >= 3.10 (found $("$python_bin" --version))" >&2; exit 1; }
    "$python_bin" -m venv "$venv"
fi
# shellcheck disable=SC1091
source "$venv/bin/activate"

stamp="$venv/.kandiscover-installed"
want="$(cksum < "$repo_root/pyproject.toml")"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    python -m pip install --quiet --upgrade pip
    # CPU torch first, so the dev install does not pull a CUDA build.
    python -m pip install --quiet "torch==2.13.0" || python -m pip install --quiet torch
    python -m pip install --quiet -e "$repo_root[dev]"
    echo "$want" > "$stamp"
fi
cd "$repo_root"
