"""Garbage answers to SNMPv3 requests: a counted, throttled warning, never an ERROR traceback.

A hostile agent (or anyone who can reach the exporter's v3 socket) answered
each request with undecodable bytes; pysnmp raised from its datagram callback
and asyncio logged a full ERROR traceback for every such datagram.
"""

from __future__ import annotations

import asyncio
import logging
from typing import cast

import pytest

from exporter.config import Config
from exporter.metrics import render
from exporter.service import Service
from exporter.snmp import SnmpOptions, SnmpTimeout, connect
from exporter.snmp.client import TRANSPORT_STATS
from exporter.snmp.credentials import usm

pytestmark = pytest.mark.integration

GARBAGE = (b"\x30\x03\x02\x01\x03", b"garbage!!", b"\x30\x82\xff\xff", b"\x30\x80" * 40)


class _Garbage(asyncio.DatagramProtocol):
    """Answers every datagram with a burst of bytes no SNMP decoder accepts."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        for junk in (*GARBAGE, data[:10]):
            self.transport.sendto(junk, addr)


async def test_garbage_answers_to_v3_are_counted_not_logged_as_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(_Garbage, local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    creds = usm(
        "v3", "user", auth_protocol="SHA", auth_key="auth-key-1", priv_protocol="AES",
        priv_key="priv-key-1",
    )  # fmt: skip
    before = TRANSPORT_STATS.malformed
    caplog.set_level(logging.DEBUG)
    try:
        for _ in range(3):
            with pytest.raises(SnmpTimeout):
                await connect("127.0.0.1", port, [creds], SnmpOptions(timeout=0.3, retries=1))
    finally:
        transport.close()
    assert TRANSPORT_STATS.malformed - before >= 3  # pysnmp drops some garbage quietly itself
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    warnings = [r for r in caplog.records if "could not parse" in r.getMessage()]
    assert len(warnings) == 1  # throttled: one line a minute, however much garbage
    assert warnings[0].levelno == logging.WARNING
    assert warnings[0].exc_info is None


def test_dropped_datagrams_are_a_metric() -> None:
    TRANSPORT_STATS.malformed += 2
    TRANSPORT_STATS.unmatched += 1
    try:
        body = render(Service(Config()).state()).decode()
    finally:
        TRANSPORT_STATS.malformed -= 2
        TRANSPORT_STATS.unmatched -= 1
    count = float(TRANSPORT_STATS.malformed + 2)
    assert f'printer_exporter_snmp_dropped_datagrams_total{{reason="malformed"}} {count}' in body
    assert 'printer_exporter_snmp_dropped_datagrams_total{reason="unmatched"}' in body
