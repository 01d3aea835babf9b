"""Everything that can go wrong talking PJL to a device, as one hierarchy.

    PjlError                 anything below; catch this to cost only the PJL part of a poll
    ├── PjlConnectError      no TCP connection: refused, unreachable, a name that does not resolve
    ├── PjlTimeout           the exchange passed its deadline with no complete answer
    ├── PjlClosed            the device closed or reset the connection before answering
    └── PjlProtocolError     the device answered, but not with PJL replies: garbage, binary,
                             a reply past the size limit, a reply without its form feed

A reply that is PJL but says nothing usable (a page count that is not a
number, a status without a code) is not an error: the client returns it with
that field None and a note saying why, so one bad field never costs the others.
Every message names the device (`host:port`) and what was seen.
"""

from __future__ import annotations


class PjlError(Exception):
    """A PJL exchange that gave nothing usable."""


class PjlConnectError(PjlError):
    """The TCP connection to the PJL port could not be opened."""


class PjlTimeout(PjlError):
    """The exchange's deadline passed before any complete reply arrived."""


class PjlClosed(PjlError):
    """The device closed or reset the connection before any complete reply."""


class PjlProtocolError(PjlError):
    """The device sent bytes that are not PJL replies, or more than the limits allow."""
