#!/usr/bin/env bash
# Set up .venv (first run only) and run the kandiscover demo.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup_venv.sh"

python -m kandiscover demo "$@"
