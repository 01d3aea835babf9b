"""The SNMP layer's exceptions: one hierarchy, so callers catch a whole category.

    SnmpError                 anything that went wrong talking SNMP
    ├── SnmpTimeout           no answer in time (host down, or a wrong v1/v2c community)
    ├── SnmpAuthError         the agent rejected our credentials (v3 unknown user, wrong key)
    ├── SnmpTransportError    the socket failed (bad address, unreachable network)
    └── SnmpProtocolError     the agent answered, but not sensibly (error-status, garbage)

An agent that answers a GET with noSuchObject is not an error: the value is absent.
"""

from __future__ import annotations


class SnmpError(Exception):
    """Base class of every error raised by `exporter.snmp`."""


class SnmpTimeout(SnmpError):
    """No response within the timeout, after every retry."""


class SnmpAuthError(SnmpError):
    """The agent refused the credentials (SNMPv3 report PDUs: unknown user, wrong digest)."""


class SnmpTransportError(SnmpError):
    """The request could not be sent: bad address, no route, socket error."""


class SnmpProtocolError(SnmpError):
    """The agent answered with an error-status or a message we cannot use."""
