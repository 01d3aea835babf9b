"""`python -m pull_sync`: the same as the `pull-sync` command."""

from __future__ import annotations

import sys

from pull_sync.cli import main

sys.exit(main())
