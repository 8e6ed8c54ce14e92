"""``python -m flowkit``: the ``flowkit`` command (see :mod:`flowkit.cli`)."""

from __future__ import annotations

from flowkit.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
