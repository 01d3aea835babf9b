"""`python -m archive` is `printer-archive`."""

import sys

from archive.cli import main

sys.exit(main())
