"""The SNMP seam: the only package that imports pysnmp.

Readers depend on the `SnmpClient` protocol and plain values from `types`; the
real client lives in `client`, an in-memory one for tests in `memory`.
"""

from exporter.snmp.client import (
    TRANSPORT_STATS,
    PysnmpClient,
    SnmpClient,
    SnmpOptions,
    TrafficStats,
)
from exporter.snmp.connect import CredentialMemory, connect
from exporter.snmp.credentials import CredentialError, Credentials, community, usm
from exporter.snmp.errors import (
    SnmpAuthError,
    SnmpError,
    SnmpProtocolError,
    SnmpTimeout,
    SnmpTransportError,
)
from exporter.snmp.types import Oid, SnmpValue, Walk, format_oid, parse_oid

__all__ = [
    "TRANSPORT_STATS",
    "CredentialError",
    "CredentialMemory",
    "Credentials",
    "Oid",
    "PysnmpClient",
    "SnmpAuthError",
    "SnmpClient",
    "SnmpError",
    "SnmpOptions",
    "SnmpProtocolError",
    "SnmpTimeout",
    "SnmpTransportError",
    "SnmpValue",
    "TrafficStats",
    "Walk",
    "community",
    "connect",
    "format_oid",
    "parse_oid",
    "usm",
]
