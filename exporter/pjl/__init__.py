"""PJL over the raw print port (TCP 9100): a bounded client and a fallback source for polls.

    from exporter.pjl import PjlClient, read_pjl

`client` is the only module here that opens a socket; `parse` and `codes` are
pure. `fallback.read_pjl` fills the gaps of an SNMP read. Nothing is ever sent
to a device unless the config enables PJL for it (`Config.pjl_allowed`):
a raw print port prints what it receives.
"""

from __future__ import annotations

from exporter.pjl.client import PjlClient, PjlLimits
from exporter.pjl.errors import (
    PjlClosed,
    PjlConnectError,
    PjlError,
    PjlProtocolError,
    PjlTimeout,
)
from exporter.pjl.fallback import read_pjl, wanted
from exporter.pjl.parse import CATEGORIES, PjlInfo, PjlStatus

__all__ = [
    "CATEGORIES",
    "PjlClient",
    "PjlClosed",
    "PjlConnectError",
    "PjlError",
    "PjlInfo",
    "PjlLimits",
    "PjlProtocolError",
    "PjlStatus",
    "PjlTimeout",
    "read_pjl",
    "wanted",
]
