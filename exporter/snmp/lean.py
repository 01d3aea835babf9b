"""The lean SNMPv1/v2c client: pysnmp's semantics at a fraction of its CPU.

Why: a pysnmp 7 poll of one printer costs 17-20 ms of CPU, mostly pyasn1
decoding GETBULK responses and the SNMP engine's bookkeeping; Go's
snmp_exporter spends about 3 ms. Community-based SNMP needs no engine: a
request is a template with a request-id spliced in (`ber_encode`), an answer
is one pass of `ber.decode_message`, and matching the two is a dict lookup.
SNMPv3 keeps its security machinery in pysnmp: `open_client` hands v3
credentials to `PysnmpClient`, so callers never choose.

`LeanClient` implements `SnmpClient` with the same results as `PysnmpClient`
(tests/integration/test_lean_client.py compares them on every fixture): the
same GET batching and v1 noSuchName handling, the same walk bounds and stops.
Differences, all on paths where pysnmp gives up: tooBig halves GETBULK
max-repetitions (remembered per client, as the agent will not grow its
buffer) or splits a GET batch, instead of failing.

The transport (`lean_transport`) is one UDP socket per event loop and address
family shared by every client, with responses demultiplexed by request-id.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Sequence
from functools import lru_cache
from ipaddress import ip_address

from exporter.snmp.ber import (
    GET,
    GET_BULK,
    GET_NEXT,
    VERSION_1,
    VERSION_2C,
    BerError,
    Message,
)
from exporter.snmp.ber_encode import RequestTemplate
from exporter.snmp.client import ClientBase, PysnmpClient, SnmpClient, SnmpOptions
from exporter.snmp.credentials import Credentials
from exporter.snmp.errors import SnmpError, SnmpProtocolError, SnmpTimeout, SnmpTransportError
from exporter.snmp.lean_transport import Route, current_endpoint, endpoint
from exporter.snmp.types import Oid, SnmpValue, Walk, WalkStop
from exporter.snmp.walking import (
    TOO_BIG,
    Answer,
    Kind,
    extend_walk,
    get_batched,
)
from exporter.snmp.walking import walk as walk_subtree


def community_bytes(community: str) -> bytes:
    """Latin-1 where it fits, as pysnmp encodes a str community; UTF-8 beyond that."""
    try:
        return community.encode("latin-1")
    except UnicodeEncodeError:
        return community.encode("utf-8")


@lru_cache(maxsize=512)
def _get_template(version: int, community: bytes, oids: tuple[Oid, ...]) -> RequestTemplate:
    """GET templates are reused: pollers and sweeps ask every device the same scalars."""
    return RequestTemplate(version, community, GET, oids)


class LeanClient(ClientBase):
    """An `SnmpClient` for one SNMPv1/v2c agent and one community."""

    def __init__(
        self,
        host: str,
        port: int,
        credentials: Credentials,
        options: SnmpOptions | None = None,
    ) -> None:
        if credentials.version not in (1, 2) or credentials.community_string is None:
            raise ValueError(f"LeanClient speaks SNMPv1/v2c only. Got: {credentials.describe()}")
        super().__init__(host, port, credentials, options)
        self._version = VERSION_1 if credentials.version == 1 else VERSION_2C
        self._community = community_bytes(credentials.community_string.reveal())
        self._route: Route | None = None

    async def get(self, oids: Sequence[Oid]) -> dict[Oid, SnmpValue]:
        return await get_batched(self, oids)

    async def walk(self, root: Oid) -> Walk:
        return await walk_subtree(self, root, bulk=self._version == VERSION_2C)

    async def exchange(self, kind: Kind, oids: Sequence[Oid]) -> Answer:
        """One request of `kind` and its answer (`walking` runs the loops)."""
        if kind == "get":
            template = _get_template(self._version, self._community, tuple(oids))
        elif kind == "bulk":
            template = RequestTemplate(
                self._version,
                self._community,
                GET_BULK,
                tuple(oids),
                max_repetitions=self.max_repetitions,
            )
        else:
            template = RequestTemplate(self._version, self._community, GET_NEXT, tuple(oids))
        message = await self._exchange(template)
        return Answer(message.error_status, message.error_index, message.varbinds)

    async def walk_many(self, roots: Sequence[Oid]) -> dict[Oid, Walk]:
        """Walk several subtrees side by side: one GETBULK carries a varbind per subtree.

        A printer poll walks a dozen small tables; asking for them together
        takes a few round trips instead of one (or more) each, which is most
        of the packets, bytes and CPU of a poll. Each subtree keeps the bounds
        and stop reasons of `walk`. SNMPv1 has no GETBULK: there, and for an
        answer that does not split into whole rows, the walks run one by one.
        """
        if self._version != VERSION_2C or len(roots) < 2:
            return {root: await self.walk(root) for root in roots}
        opts = self._options
        deadline = time.monotonic() + opts.walk_timeout
        rows: dict[Oid, list[tuple[Oid, SnmpValue]]] = {root: [] for root in roots}
        last: dict[Oid, Oid] = {root: root for root in roots}
        stopped: dict[Oid, WalkStop | None] = dict.fromkeys(roots)
        active = list(dict.fromkeys(roots))
        while active:
            if time.monotonic() >= deadline:
                for root in active:
                    stopped[root] = "deadline"
                break
            batch = active[:_MULTI_WALK_WIDTH]
            reps = max(1, self.max_repetitions // len(batch))
            template = RequestTemplate(
                self._version,
                self._community,
                GET_BULK,
                tuple(last[root] for root in batch),
                max_repetitions=reps,
            )
            message = await self._exchange(template)
            status = message.error_status
            if status == TOO_BIG and self.max_repetitions > 1:
                self.max_repetitions //= 2
                continue
            width = len(batch)
            whole = len(message.varbinds) - len(message.varbinds) % width
            if status or not whole:
                # An agent that cannot answer the combined request: ask one by one.
                for root in batch:
                    single = await self.walk(last[root])
                    rows[root].extend((o, v) for o, v in single.rows if o[: len(root)] == root)
                    stopped[root] = single.stopped
                    active.remove(root)
                continue
            for column, root in enumerate(batch):
                done, why, last[root] = extend_walk(
                    rows[root],
                    message.varbinds[column:whole:width],
                    root,
                    last[root],
                    opts.max_rows,
                )
                if done:
                    stopped[root] = why
                    active.remove(root)
        return {root: Walk(root, tuple(rows[root]), stopped[root]) for root in roots}

    async def _exchange(self, template: RequestTemplate) -> Message:
        """One request and its answer, with retries; every failure becomes an `SnmpError`."""
        route = self._route or await self._resolve()
        stats = self.stats
        stats.requests += 1
        opts = self._options
        port = current_endpoint(route.family) or await endpoint(route.family)
        result = await port.exchange(route, self._community, template, opts, stats)
        if type(result) is Message:
            stats.responses += 1
            if not result.error_status:  # as PysnmpClient counts: varbinds of usable answers
                stats.varbinds += len(result.varbinds)
            return result
        if result is None:
            raise SnmpTimeout(
                f"{self.target}: no response after {opts.retries + 1} tries of "
                f"{opts.timeout:g}s ({self._creds.describe()})"
            )
        if isinstance(result, BerError):
            raise SnmpProtocolError(f"{self.target}: undecodable response: {result}")
        assert isinstance(result, SnmpError)
        raise result

    async def _resolve(self) -> Route:
        """The agent's address, looked up once: a name that moves needs a new client anyway."""
        try:
            address = ip_address(self._host)
        except ValueError:
            address = None
        if address is not None:  # in the form the socket reports sources: "::1", not "0::01"
            family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
            self._route = Route(family, str(address), self._port)
            return self._route
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(
                self._host, self._port, type=socket.SOCK_DGRAM, proto=socket.IPPROTO_UDP
            )
        except OSError as exc:
            raise SnmpTransportError(f"{self.target}: cannot resolve: {exc}") from exc
        usable = [i for i in infos if i[0] in (socket.AF_INET, socket.AF_INET6)]
        if not usable:
            raise SnmpTransportError(f"{self.target}: no IPv4 or IPv6 address")
        usable.sort(key=lambda i: i[0] != socket.AF_INET)  # IPv4 first, as pysnmp's target
        family, _, _, _, sockaddr = usable[0]
        self._route = Route(family, str(sockaddr[0]), self._port)
        return self._route


_MULTI_WALK_WIDTH = 12
"""At most this many subtrees per combined GETBULK, so one answer stays a modest datagram."""


def open_client(
    host: str,
    port: int,
    credentials: Credentials,
    options: SnmpOptions | None = None,
) -> SnmpClient:
    """The right client for the credentials: lean for v1/v2c, pysnmp for SNMPv3."""
    if credentials.version in (1, 2):
        return LeanClient(host, port, credentials, options)
    return PysnmpClient(host, port, credentials, options)
