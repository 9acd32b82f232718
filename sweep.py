"""Run a study: ``python sweep.py +experiment=NAME [overrides]`` (see sweeps/cli.py)."""

from __future__ import annotations

import sys

from sweeps.cli import main

if __name__ == "__main__":
    sys.exit(main())
