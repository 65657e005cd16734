"""``python -m spikemem ...``: the same as the ``spikemem`` command."""
from spikemem.cli import main

raise SystemExit(main())
