"""``python -m kandiscover``: the command line (see :mod:`kandiscover.cli`)."""

from __future__ import annotations

import sys

from kandiscover.cli import main

if __name__ == "__main__":
    sys.exit(main())
