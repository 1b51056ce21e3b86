"""``python -m autodata.cli``: the ``autodata`` command."""

from autodata.cli.main import main

raise SystemExit(main())
