"""The SNMP client: GET and bounded walks over pysnmp 7's asyncio API.

This is the only module that talks to pysnmp. Everything it returns is plain
Python (see `exporter.snmp.types`) and every failure is an `SnmpError`.

Printers are poor SNMP agents. The walk here assumes the worst:
- it stops after `max_rows` rows and after `walk_timeout` seconds, because
  some agents never end a table;
- it stops when an agent returns an OID that is not greater than the last
  one, because following it would loop forever;
- it keeps the rows it read before any of those stops.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, ip_address
from typing import Any, Protocol

from pyasn1.type import univ
from pysnmp.entity.engine import SnmpEngine
from pysnmp.error import PySnmpError
from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    Udp6TransportTarget,
    UdpTransportTarget,
    UsmUserData,
    bulk_cmd,
    get_cmd,
    next_cmd,
)
from pysnmp.hlapi.v3arch.asyncio import auth as _auth
from pysnmp.proto import errind, rfc1155, rfc1902, rfc1905

from exporter.logs import ThrottledLog
from exporter.snmp.ber import Absent, VarBindValue
from exporter.snmp.credentials import Credentials
from exporter.snmp.errors import (
    SnmpAuthError,
    SnmpError,
    SnmpProtocolError,
    SnmpTimeout,
    SnmpTransportError,
)
from exporter.snmp.types import (
    Oid,
    SnmpValue,
    Walk,
    format_oid,
    format_target,
)
from exporter.snmp.walking import Answer, Kind, get_batched
from exporter.snmp.walking import walk as walk_subtree

log = logging.getLogger(__name__)
_undecodable_log = ThrottledLog(
    log, "dropped SNMPv3 datagrams pysnmp could not parse", interval=60.0
)

SYS_OBJECT_ID: Oid = (1, 3, 6, 1, 2, 1, 1, 2, 0)


@dataclass(frozen=True, slots=True)
class SnmpOptions:
    """Per-request behaviour. The defaults suit a LAN full of slow printer NICs."""

    timeout: float = 2.0
    retries: int = 1
    max_repetitions: int = 25
    max_rows: int = 5000
    walk_timeout: float = 30.0

    def __post_init__(self) -> None:
        if not self.timeout > 0:
            raise ValueError(f"timeout must be > 0. Got: {self.timeout}")
        if self.retries < 0:
            raise ValueError(f"retries must be >= 0. Got: {self.retries}")
        if not 1 <= self.max_repetitions <= 200:
            raise ValueError(f"max_repetitions must be 1..200. Got: {self.max_repetitions}")
        if self.max_rows < 1:
            raise ValueError(f"max_rows must be >= 1. Got: {self.max_rows}")
        if not self.walk_timeout > 0:
            raise ValueError(f"walk_timeout must be > 0. Got: {self.walk_timeout}")


@dataclass(slots=True)
class TrafficStats:
    """What one client sent and got back, published per device as SNMP self-metrics.

    `requests` counts PDUs asked for, `packets_sent` every datagram including
    `retries`; `timeouts` are requests unanswered after every retry; bytes are
    UDP payload octets. The lean v1/v2c transport fills every field. pysnmp
    hides its retries and datagrams, so for SNMPv3 the packet counts are the
    requests and answers it reports, and bytes stay 0.

    The six wire fields are `exporter.state.TRAFFIC_FIELDS`, under the same names (a
    test holds them to it): the poller copies them by those names into the frozen
    `TrafficCounts` the metrics show. They are declared here again because these
    count in place, per datagram, and a frozen dataclass cannot be a mutable one's base.
    """

    requests: int = 0
    responses: int = 0
    varbinds: int = 0
    packets_sent: int = 0
    packets_received: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    retries: int = 0
    timeouts: int = 0


@dataclass(slots=True)
class TransportStats:
    """Process-wide counts of what the shared sockets dropped or suffered."""

    unmatched: int = 0
    """Decoded datagrams that answer no request in flight: late duplicates, wrong source,
    wrong community, not a Response-PDU."""
    malformed: int = 0
    """Datagrams that did not decode: on the v1/v2c sockets anything not SNMPv1/v2c (an
    SNMPv3 answer, garbage); on pysnmp's SNMPv3 socket anything pysnmp could not parse."""
    socket_errors: int = 0
    endpoints_opened: int = 0


TRANSPORT_STATS = TransportStats()


class SnmpClient(Protocol):
    """What readers need from an agent. `MemoryClient` implements it for unit tests."""

    @property
    def target(self) -> str: ...

    @property
    def credentials_name(self) -> str | None: ...

    @property
    def stats(self) -> TrafficStats:
        """Traffic to this agent since the client was made."""
        ...

    async def get(self, oids: Sequence[Oid]) -> dict[Oid, SnmpValue]:
        """Values of the OIDs the agent has; absent ones are left out, not errors."""
        ...

    async def walk(self, root: Oid) -> Walk:
        """Every row under `root`, bounded in rows and time."""
        ...

    async def walk_many(self, roots: Sequence[Oid]) -> dict[Oid, Walk]:
        """`walk` of each root; a client may ask for them side by side (the lean one
        does, in one GETBULK per round), with each walk's own bounds and stop reason."""
        ...


_engines: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SnmpEngine] = (
    weakref.WeakKeyDictionary()
)


def _engine() -> SnmpEngine:
    """One SNMP engine per event loop: pysnmp binds its dispatcher to the running loop."""
    loop = asyncio.get_running_loop()
    engine = _engines.get(loop)
    if engine is None:
        engine = SnmpEngine()
        _count_undecodable(engine)
        _engines[loop] = engine
    return engine


def _count_undecodable(engine: SnmpEngine) -> None:
    """Make a datagram that pysnmp cannot parse a counted warning, not an ERROR traceback.

    pysnmp decodes each datagram inside its socket callback and lets a decoding
    error escape from there (pyasn1 raises `PyAsn1Error`, or `TypeError` on
    some garbage), so asyncio logged a full traceback for every garbage packet
    anyone sent to the v3 socket's port: a log flood at an attacker's command.
    The request it may have answered simply times out, as for a lost datagram.
    """
    dispatcher = engine.message_dispatcher
    receive = dispatcher.receive_message

    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return receive(*args, **kwargs)
        except Exception as exc:
            TRANSPORT_STATS.malformed += 1
            _undecodable_log.note(type(exc).__name__)
            return None

    dispatcher.receive_message = guarded


_AUTH = {
    "MD5": _auth.USM_AUTH_HMAC96_MD5,
    "SHA": _auth.USM_AUTH_HMAC96_SHA,
    "SHA224": _auth.USM_AUTH_HMAC128_SHA224,
    "SHA256": _auth.USM_AUTH_HMAC192_SHA256,
    "SHA384": _auth.USM_AUTH_HMAC256_SHA384,
    "SHA512": _auth.USM_AUTH_HMAC384_SHA512,
}
_PRIV = {
    "DES": _auth.USM_PRIV_CBC56_DES,
    "3DES": _auth.USM_PRIV_CBC168_3DES,
    "AES": _auth.USM_PRIV_CFB128_AES,
    "AES192": _auth.USM_PRIV_CFB192_AES,
    "AES256": _auth.USM_PRIV_CFB256_AES,
}
_AUTH_FAILURES = (
    errind.UnknownUserName,
    errind.WrongDigest,
    errind.AuthenticationFailure,
    errind.AuthenticationError,
    errind.UnknownSecurityName,
    errind.UnsupportedSecurityLevel,
    errind.DecryptionError,
    errind.UnknownEngineID,
    errind.NotInTimeWindow,
)


def _auth_data(creds: Credentials) -> CommunityData | UsmUserData:
    if creds.version in (1, 2):
        assert creds.community_string is not None
        return CommunityData(creds.community_string.reveal(), mpModel=creds.version - 1)
    kwargs: dict[str, Any] = {}
    if creds.auth_protocol is not None and creds.auth_key is not None:
        kwargs["authKey"] = creds.auth_key.reveal()
        kwargs["authProtocol"] = _AUTH[creds.auth_protocol]
    if creds.priv_protocol is not None and creds.priv_key is not None:
        kwargs["privKey"] = creds.priv_key.reveal()
        kwargs["privProtocol"] = _PRIV[creds.priv_protocol]
    return UsmUserData(creds.username, **kwargs)


def _to_python(value: Any) -> SnmpValue | None:
    """pysnmp value -> plain Python; None for the v2 exceptions (absent).

    Checks the pyasn1 base types: responses decoded without MIB lookup carry
    them rather than the SNMP-specific subclasses.
    """
    if isinstance(
        value, rfc1905.NoSuchObject | rfc1905.NoSuchInstance | rfc1905.EndOfMibView | univ.Null
    ):
        return None  # Null first: pyasn1 derives it from OctetString
    if isinstance(value, rfc1902.IpAddress | rfc1155.IpAddress):
        raw = bytes(value.asOctets())
        return IPv4Address(raw) if len(raw) == 4 else raw
    if isinstance(value, univ.OctetString):
        return bytes(value.asOctets())
    if isinstance(value, univ.ObjectIdentifier):
        return tuple(value)
    if isinstance(value, univ.Integer):
        return int(value)
    return None


class ClientBase:
    """What every `SnmpClient` holds about its agent, written once for both clients.

    The address, the credential set, the options, the traffic counts and the GETBULK
    size in use: the two clients differ only in how a request travels.
    """

    def __init__(
        self,
        host: str,
        port: int,
        credentials: Credentials,
        options: SnmpOptions | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._creds = credentials
        self._options = options or SnmpOptions()
        self.stats = TrafficStats()
        self.max_repetitions = self._options.max_repetitions
        """The GETBULK size in use: the configured one, or less after tooBig answers."""

    @property
    def target(self) -> str:
        return format_target(self._host, self._port)

    @property
    def credentials_name(self) -> str | None:
        return self._creds.name

    @property
    def options(self) -> SnmpOptions:
        return self._options


class PysnmpClient(ClientBase):
    """An `SnmpClient` for one agent and one credential set."""

    def __init__(
        self,
        host: str,
        port: int,
        credentials: Credentials,
        options: SnmpOptions | None = None,
    ) -> None:
        super().__init__(host, port, credentials, options)
        self._auth = _auth_data(credentials)
        self._context = ContextData(contextName=credentials.context_name)
        self._transport: UdpTransportTarget | Udp6TransportTarget | None = None

    async def _target(self) -> UdpTransportTarget | Udp6TransportTarget:
        if self._transport is None:
            opts = self._options
            try:
                version = ip_address(self._host).version
            except ValueError:
                version = 4
            cls = Udp6TransportTarget if version == 6 else UdpTransportTarget
            try:
                self._transport = await cls.create(
                    (self._host, self._port), timeout=opts.timeout, retries=opts.retries
                )
            except (PySnmpError, OSError) as exc:
                raise SnmpTransportError(f"{self.target}: cannot resolve or open: {exc}") from exc
        return self._transport

    async def exchange(self, kind: Kind, oids: Sequence[Oid]) -> Answer:
        """One request of `kind` through pysnmp and its answer (`walking` runs the loops)."""
        target = await self._target()
        varbinds = [ObjectType(ObjectIdentity(format_oid(o))) for o in oids]
        engine = _engine()
        self.stats.requests += 1
        self.stats.packets_sent += 1
        try:
            if kind == "get":
                result = await get_cmd(
                    engine, self._auth, target, self._context, *varbinds, lookupMib=False
                )
            elif kind == "next":
                result = await next_cmd(
                    engine, self._auth, target, self._context, *varbinds, lookupMib=False
                )
            else:
                result = await bulk_cmd(
                    engine,
                    self._auth,
                    target,
                    self._context,
                    0,
                    self.max_repetitions,
                    *varbinds,
                    lookupMib=False,
                )
        except PySnmpError as exc:
            raise SnmpTransportError(f"{self.target}: {exc}") from exc
        except OSError as exc:
            raise SnmpTransportError(f"{self.target}: socket error: {exc}") from exc
        error_indication, error_status, error_index, out = result
        if error_indication:
            if isinstance(error_indication, errind.RequestTimedOut):
                self.stats.timeouts += 1
            raise self._indication_error(error_indication)
        self.stats.responses += 1
        self.stats.packets_received += 1
        if error_status and int(error_status) != 0:
            return Answer(int(error_status), int(error_index), ())
        pairs = [(tuple(vb[0]), _varbind_value(vb[1])) for vb in out]
        self.stats.varbinds += len(pairs)
        return Answer(0, 0, pairs)

    def _indication_error(self, indication: Any) -> SnmpError:
        if isinstance(indication, errind.RequestTimedOut):
            return SnmpTimeout(
                f"{self.target}: no response after {self._options.retries + 1} tries of "
                f"{self._options.timeout:g}s ({self._creds.describe()})"
            )
        if isinstance(indication, _AUTH_FAILURES):
            return SnmpAuthError(f"{self.target}: {indication} ({self._creds.describe()})")
        return SnmpProtocolError(f"{self.target}: {indication}")

    async def get(self, oids: Sequence[Oid]) -> dict[Oid, SnmpValue]:
        return await get_batched(self, oids)

    async def walk(self, root: Oid) -> Walk:
        return await walk_subtree(self, root, bulk=self._creds.version != 1)

    async def walk_many(self, roots: Sequence[Oid]) -> dict[Oid, Walk]:
        """One subtree after another: SNMPv3 polls are few, and pysnmp builds each
        request anyway; the lean client is the one that combines them."""
        return {root: await self.walk(root) for root in roots}


def _varbind_value(raw: Any) -> VarBindValue:
    """A pysnmp value as the shared loops take it: the SNMPv2 exceptions as `Absent`."""
    if isinstance(raw, rfc1905.EndOfMibView):
        return Absent.END_OF_MIB_VIEW
    if isinstance(raw, rfc1905.NoSuchObject):
        return Absent.NO_SUCH_OBJECT
    if isinstance(raw, rfc1905.NoSuchInstance):
        return Absent.NO_SUCH_INSTANCE
    value = _to_python(raw)
    return Absent.NULL if value is None else value
