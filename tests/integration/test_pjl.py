"""The PJL client against a PJL device on loopback (tests/pjl_responder.py), well-behaved and
hostile, and PJL as the poller's fallback: used only where the config enables it.

Nothing here measures time: deadlines live in the client, and each test checks what came
out. A hostile device gets a short client deadline so the suite stays quick.
"""

from __future__ import annotations

import asyncio
import socket

import pytest

from exporter.config import Config, PollConfig, parse_config
from exporter.metrics import ExporterState, render
from exporter.model import Status, ValueSource
from exporter.pjl import (
    PjlClient,
    PjlClosed,
    PjlConnectError,
    PjlLimits,
    PjlProtocolError,
    PjlTimeout,
)
from exporter.pjl.parse import UEL, PjlStatus
from exporter.poller import Poller, PollTarget
from exporter.service import Service
from exporter.snmp import (
    community,
)
from exporter.store import DeviceEntry, SnapshotStore
from tests.pjl_responder import Behaviour, Device, PjlResponder, categories_asked
from tests.recorded_snmp import RecordedSnmp

pytestmark = pytest.mark.integration

HOST = "127.0.0.1"
SHORT = 0.5
"""The client deadline for devices that never finish: the outcome is what is tested."""
LIFE_COUNT = (1, 3, 6, 1, 2, 1, 43, 10, 2, 1, 4)


# --- the normal exchange -----------------------------------------------------------------------


async def test_the_reference_exchange_gives_model_status_and_page_count() -> None:
    async with PjlResponder(Device()) as device:
        info = await PjlClient().info(HOST, device.port)
    assert info.model == "LaserJet 4"
    assert info.status == PjlStatus(10001, "00 READY", True)
    assert info.pagecount == 183933
    assert info.notes == ()
    (request,) = device.requests
    assert request.startswith(UEL + b"@PJL\r\n")
    assert request.endswith(UEL)  # the job is closed before the connection is
    assert categories_asked(request) == ["ID", "STATUS", "PAGECOUNT"]
    assert info.bytes_sent == len(request)
    assert info.bytes_received == device.bytes_sent
    assert device.connections == 1


async def test_the_client_closes_the_connection_itself() -> None:
    async with PjlResponder(Device()) as device:
        await PjlClient().info(HOST, device.port)
        await asyncio.wait_for(device.client_closed.wait(), timeout=10)
    assert device.client_closed.is_set()


async def test_makers_variants_pagecount_key_and_single_quotes() -> None:
    device = Device(pagecount_form="key", display_quote="'", display="12 COVER OPEN ")
    device.online, device.code = False, 40021
    async with PjlResponder(device) as responder:
        info = await PjlClient().info(HOST, responder.port)
    assert info.pagecount == 183933
    assert info.status == PjlStatus(40021, "12 COVER OPEN", False)


async def test_only_the_categories_asked_are_sent() -> None:
    async with PjlResponder(Device()) as device:
        info = await PjlClient().info(HOST, device.port, ("PAGECOUNT",))
    assert categories_asked(device.requests[0]) == ["PAGECOUNT"]
    assert (info.model, info.status, info.pagecount) == (None, None, 183933)


async def test_a_device_without_echo_is_done_once_every_info_is_answered() -> None:
    async with PjlResponder(Device(echo=False)) as device:
        info = await PjlClient().info(HOST, device.port, timeout=30)
    assert info.pagecount == 183933
    assert info.notes == ()  # no "passed its deadline": it did not wait for one


async def test_an_unsupported_category_costs_only_its_field() -> None:
    async with PjlResponder(Device(supported=("ID", "STATUS"))) as device:
        info = await PjlClient().info(HOST, device.port)
    assert info.model == "LaserJet 4"
    assert info.pagecount is None
    assert info.notes == ("INFO PAGECOUNT: no reply",)


async def test_without_echo_an_unanswered_category_ends_at_the_deadline_keeping_the_rest() -> None:
    async with PjlResponder(Device(echo=False, supported=("ID",))) as device:
        info = await PjlClient().info(HOST, device.port, timeout=SHORT)
    assert info.model == "LaserJet 4"
    assert info.pagecount is None
    assert "the exchange passed its 0.5s deadline; kept what came" in info.notes


async def test_a_bad_field_is_none_and_the_others_are_kept() -> None:
    device = Device(raw={"PAGECOUNT": b"12,345 pages\r\n"})
    async with PjlResponder(device) as responder:
        info = await PjlClient().info(HOST, responder.port)
    assert info.model == "LaserJet 4"
    assert info.pagecount is None
    assert info.notes == ("INFO PAGECOUNT: not a page count: b'12,345 pages'",)


async def test_one_connection_at_a_time_per_device() -> None:
    client = PjlClient()
    async with PjlResponder(Device()) as device:
        infos = await asyncio.gather(*(client.info(HOST, device.port) for _ in range(6)))
    assert [i.pagecount for i in infos] == [183933] * 6
    assert device.connections == 6
    assert device.peak_concurrent == 1


async def test_waiting_for_the_device_counts_against_the_deadline() -> None:
    client = PjlClient()
    async with PjlResponder(Device(), "silent") as device:
        first = asyncio.ensure_future(client.info(HOST, device.port, timeout=2.0))
        await asyncio.sleep(0)  # let the first call take the device's lock
        with pytest.raises(PjlTimeout, match="another exchange with this device held it"):
            await client.info(HOST, device.port, timeout=0.2)
        with pytest.raises(PjlTimeout):
            await first
    assert device.connections == 1


# --- hostile answers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("behaviour", "error", "message"),
    [
        ("close", PjlClosed, "closed the connection without answering"),
        ("silent", PjlTimeout, "no complete PJL reply within 0.5s"),
        ("no_terminator", PjlTimeout, "no complete PJL reply within 0.5s"),
        ("no_terminator_close", PjlProtocolError, "without the form feed that ends a reply"),
        ("huge", PjlProtocolError, "a reply of more than 16,384 bytes without its form feed"),
        ("flood", PjlProtocolError, "more than 65,536 bytes in reply"),
        ("garbage", PjlProtocolError, "no PJL reply in the"),
        ("drip", PjlTimeout, "no complete PJL reply within 0.5s"),
    ],
)
async def test_a_hostile_device_gives_a_clear_error(
    behaviour: Behaviour, error: type[Exception], message: str
) -> None:
    async with PjlResponder(Device(), behaviour, drip_interval=1.0) as device:
        with pytest.raises(error) as caught:
            await PjlClient().info(HOST, device.port, timeout=SHORT)
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"{HOST}:{device.port}: ")


async def test_a_reset_connection_is_a_closed_one() -> None:
    async with PjlResponder(Device(), "reset") as device:
        with pytest.raises(PjlClosed) as caught:
            await PjlClient().info(HOST, device.port, timeout=5)
    assert str(caught.value).startswith(f"{HOST}:{device.port}: ")


async def test_a_slow_drip_ends_at_the_deadline_even_with_bytes_arriving() -> None:
    # One byte every 50 ms: every read gets data, so only a deadline on the whole
    # exchange (not one per read) ends it: the first reply alone (44 bytes) takes 2 s.
    async with PjlResponder(Device(), "drip", drip_interval=0.05) as device:
        with pytest.raises(PjlTimeout) as caught:
            await PjlClient().info(HOST, device.port, timeout=SHORT)
    assert "bytes received" in str(caught.value)


async def test_replies_to_other_commands_give_no_values() -> None:
    async with PjlResponder(Device(), "other_command") as device:
        info = await PjlClient().info(HOST, device.port, timeout=SHORT)
    assert (info.model, info.status, info.pagecount) == (None, None, None)
    assert "ignored a reply to another command: 'INFO CONFIG'" in info.notes
    assert "ignored a reply to another command: 'USTATUS DEVICE'" in info.notes
    assert "INFO PAGECOUNT: no reply" in info.notes


async def test_two_different_page_counts_give_none() -> None:
    async with PjlResponder(Device(), "twice") as device:
        info = await PjlClient().info(HOST, device.port)
    assert info.pagecount is None
    assert "INFO PAGECOUNT: 2 different replies; none used" in info.notes


async def test_a_reply_sent_before_the_exchange_began_is_dropped() -> None:
    async with PjlResponder(Device(), "stale") as device:
        info = await PjlClient().info(HOST, device.port)
    assert info.pagecount == 183933
    assert info.notes == ("dropped 1 replies sent before this exchange began",)


async def test_a_closed_port_is_a_connect_error() -> None:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port = sock.getsockname()[1]
    with pytest.raises(PjlConnectError, match=f"^{HOST}:{port}: cannot connect"):
        await PjlClient().info(HOST, port)


async def test_small_limits_are_honoured() -> None:
    client = PjlClient(PjlLimits(max_reply_bytes=16))
    async with PjlResponder(Device()) as device:
        with pytest.raises(PjlProtocolError, match="more than 16 bytes without its form feed"):
            await client.info(HOST, device.port)


# --- the poller's fallback -----------------------------------------------------------------------


def _config(pjl_port: int, *, pjl: bool, timeout: str = "5s") -> Config:
    flag = "true" if pjl else "false"
    return parse_config(
        f"targets: [{{address: '{HOST}:1161', pjl: {flag}}}]\n"
        f"pjl: {{port: {pjl_port}, timeout: {timeout}}}\n"
    )


async def _poll(config: Config, snmp: RecordedSnmp) -> DeviceEntry:
    poller = Poller(SnapshotStore(), PollConfig(), connect_fn=snmp)
    poller.pjl_rule = config.pjl_allowed
    target = PollTarget(HOST, 1161, (community("public", "public"),), f"{HOST}:1161")
    poller.configure(PollConfig(), [target])
    entry = await poller.poll_once(target)
    assert entry is not None
    return entry


async def test_a_target_with_snmp_off_and_pjl_on_gets_its_values_from_pjl() -> None:
    async with PjlResponder(Device(model="HP LaserJet M404dn")) as device:
        entry = await _poll(_config(device.port, pjl=True), RecordedSnmp(None))
    snap = entry.snapshot
    total = snap.counter("total")
    assert total is not None
    assert (total.value, total.unit, total.source) == (183933, "impressions", "pjl:INFO PAGECOUNT")
    assert (snap.identity.manufacturer, snap.identity.model) == ("HP", "LaserJet M404dn")
    assert snap.status == Status("running", "idle", (), ("00 READY",))
    assert snap.sources == (
        ValueSource("identity.manufacturer", "pjl:INFO ID"),
        ValueSource("identity.model", "pjl:INFO ID"),
        ValueSource("status", "pjl:INFO STATUS"),
    )
    assert snap.reachable
    assert snap.error is not None
    assert "no answer from the SNMP agent" in snap.error  # why SNMP failed stays visible
    assert [(r.reader, r.ok) for r in entry.readers] == [("pjl", True)]
    body = render(
        ExporterState(snapshots=(snap,), reader_runs={snap.target: entry.readers})
    ).decode()
    assert f'printer_pages_total{{counter="total",target="{HOST}:1161",unit="impressions"}}' in (
        body
    )
    assert f'printer_exporter_reader_success{{reader="pjl",target="{HOST}:1161"}} 1.0' in body
    assert f'printer_up{{target="{HOST}:1161"}} 1.0' in body


async def test_a_target_without_pjl_never_gets_a_connection() -> None:
    async with PjlResponder(Device()) as device:
        entry = await _poll(_config(device.port, pjl=False), RecordedSnmp(None))
        also = await _poll(parse_config(f"pjl: {{port: {device.port}}}\n"), RecordedSnmp(None))
    assert device.connections == 0
    for snap in (entry.snapshot, also.snapshot):
        assert not snap.reachable
        assert snap.counter("total") is None
    assert entry.readers == ()


async def test_a_complete_snmp_read_sends_no_pjl() -> None:
    async with PjlResponder(Device()) as device:
        entry = await _poll(_config(device.port, pjl=True), RecordedSnmp("mono_printer"))
    assert device.connections == 0
    total = entry.snapshot.counter("total")
    assert total is not None
    assert total.source.startswith("1.3.6.1.2.1.43.10.2.1.4")
    assert "pjl" not in [r.reader for r in entry.readers]


async def test_pjl_fills_only_the_gap_snmp_left() -> None:
    async with PjlResponder(Device(pagecount=777)) as device:
        entry = await _poll(
            _config(device.port, pjl=True), RecordedSnmp("mono_printer", drop=[LIFE_COUNT])
        )
    assert [categories_asked(r) for r in device.requests] == [["PAGECOUNT"]]
    snap = entry.snapshot
    total = snap.counter("total")
    assert total is not None
    assert (total.value, total.source) == (777, "pjl:INFO PAGECOUNT")
    assert snap.sources == ()  # identity and status are SNMP's
    assert snap.identity.model is not None
    assert snap.identity.model != "LaserJet 4"


async def test_a_failed_pjl_read_costs_only_its_part() -> None:
    async with PjlResponder(Device(), "garbage") as device:
        entry = await _poll(
            _config(device.port, pjl=True, timeout="1s"),
            RecordedSnmp("mono_printer", drop=[LIFE_COUNT]),
        )
    snap = entry.snapshot
    assert snap.reachable
    assert snap.error is None
    assert snap.counter("total") is None
    assert snap.identity.model is not None
    assert any(w.startswith(f"pjl: {HOST}:{device.port}: no PJL reply") for w in snap.warnings)
    assert ("pjl", False) in [(r.reader, r.ok) for r in entry.readers]


async def test_the_service_hands_the_configs_pjl_rule_to_the_poller() -> None:
    config = parse_config(
        f"targets: [{{address: '{HOST}:1161', pjl: true}}, '{HOST}:1162']\npjl: {{port: 9109}}\n"
    )
    service = Service(config)
    rule = service.poller.pjl_rule
    assert rule is not None
    found = rule(HOST, 1161)
    assert found is not None
    assert found.port == 9109
    assert rule(HOST, 1162) is None
