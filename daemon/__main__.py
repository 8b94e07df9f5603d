"""`python -m daemon` is `idxd`."""

import sys

from daemon.cli import main

sys.exit(main())
