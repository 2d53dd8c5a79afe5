"""``python -m utils`` is the same program as the ``actionlab`` command."""

from utils.cli import main

raise SystemExit(main())
