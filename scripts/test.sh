#!/usr/bin/env bash
# Set up .venv (first run only), lint, and run the test suite.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -m "not slow"`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup_venv.sh"

ruff check .
ruff format --check .
python -m pytest "$@"
