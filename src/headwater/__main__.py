"""``python -m headwater``: the ``headwater`` command line (see :mod:`headwater.cli`)."""

from __future__ import annotations

import sys

from headwater.cli import main

if __name__ == "__main__":
    sys.exit(main())
