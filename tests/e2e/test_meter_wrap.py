"""End to end: a meter that wraps at 2^24, and one that wraps while the exporter is down,
lose no pages in a real Prometheus (issue 9, item 1).

One simulated printer (snmpsim, serving tests/fixtures/mono_printer.snmprec with its
prtMarkerLifeCount made writable by snmpsim's `writecache` variation module); the real
exporter process polling it every second with `--storage.path`; a real Prometheus
scraping the exporter every second. The test moves the meter itself, with an SNMP SET,
through values it chose, so it knows the true page count exactly:

    16,770,000 -> 16,777,000 -> 1,500 (wrapped) -> 16,000,000
    -> exporter stopped -> 2,000 (wrapped while down) -> exporter started -> 5,000

Why SET and not snmpsim's `numeric` module or a rewritten recording: `numeric` moves
with the clock, so what a poll reads would depend on the machine's speed, and snmpsim
reads a recording through an index built at start, so rewriting the file under it
breaks its offsets. `writecache` answers the last value SET, exactly.

Why nothing here depends on the machine's speed: after each step the test waits
(bounded) until Prometheus holds a sample of the new value, so every step is scraped
whatever the delays; the assertions then compare sample values Prometheus stored,
at timestamps read back from Prometheus, with numbers the test knows. `increase()` is
evaluated over a window pinned to two stored samples (`[Wms] @ t`), where Prometheus
does not extrapolate, so it too must equal the true count to the page.

Everything runs on 127.0.0.0/8, on free ports; every wait is bounded in time and count.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from demo.simulator import (
    Response,
    Simulator,
    decode_response,
    free_tcp_port,
    free_udp_port,
    require_loopback,
)
from exporter.snmp.ber import COUNTER32, SET
from exporter.snmp.ber_encode import encode_message, encode_value
from exporter.snmp.types import parse_oid
from tests.e2e.processes import Process, wait_for

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
RECORDING = ROOT / "tests" / "fixtures" / "mono_printer.snmprec"
COMMUNITY = "wrapping"
HOST = "127.2.1.21"
LIFE_COUNT = "1.3.6.1.2.1.43.10.2.1.4.1.1"
"""prtMarkerLifeCount of marker 1 (RFC 3805): the exporter's `counter="total"`."""
SERIES = 'printer_pages_total{counter="total"}'
WIDTH = 2**24
"""HP engine counters roll over here; the smallest width the exporter unwraps."""

START = 16_770_000
BEFORE_WRAP = 16_777_000
AFTER_WRAP = 1_500
BEFORE_STOP = 16_000_000
WRAPPED_WHILE_DOWN = 2_000
AFTER_RESTART = 5_000
"""The device's raw meter, step by step. Each wrap is one the exporter must recognise:
from within WIDTH/16 of the top to below WIDTH/16 (exporter/integrity.py)."""

WAIT = 60.0
POLL = 0.25
REQUIRE = "PRINTER_EXPORTER_REQUIRE_PROMTOOL"


def _prometheus_binary() -> str:
    """Debian's prometheus, or skip; fail instead when CI says it must be there."""
    found = shutil.which("prometheus")
    if found is None:
        reason = "needs Debian's prometheus (.ci/run installs it)"
        if os.environ.get(REQUIRE):
            pytest.fail(f"{reason}, and {REQUIRE} is set")
        pytest.skip(reason)
    return found


# --- an SNMP SET of a Counter32 (the exporter's client only reads) ---------------------------


def encode_set_counter32(community: str, oid: str, value: int, request_id: int) -> bytes:
    """An SNMPv2c SetRequest-PDU with one Counter32 varbind, by the project's own encoder."""
    if not 0 <= value < 2**32:
        raise ValueError(f"not a Counter32: {value}")
    varbind = (parse_oid(oid), encode_value(value, COUNTER32))
    return encode_message(1, community.encode(), SET, request_id, 0, 0, [varbind])


def set_meter(host: str, port: int, value: int) -> None:
    """SET the simulated prtMarkerLifeCount; three tries of one second at most."""
    for _ in range(3):
        request_id = secrets.randbelow(2**31 - 1) + 1
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(1.0)
            sock.sendto(
                encode_set_counter32(COMMUNITY, LIFE_COUNT, value, request_id),
                (require_loopback(host), port),
            )
            try:
                reply: Response = decode_response(sock.recvfrom(65535)[0])
            except (TimeoutError, ValueError):
                continue
        if reply.request_id == request_id:
            assert reply.error_status == 0, reply
            assert [vb.value for vb in reply.varbinds] == [value], reply
            return
    raise AssertionError(f"snmpsim did not answer the SET of {value}")


# --- the stack -------------------------------------------------------------------------


@dataclass
class Stack:
    tmp: Path
    snmp_port: int
    exporter_port: int
    prometheus: str
    processes: dict[str, Process] = field(default_factory=dict)

    @property
    def target(self) -> str:
        return f"{HOST}:{self.snmp_port}"

    def start_exporter(self) -> None:
        self.processes["exporter"] = Process(
            [
                sys.executable, "-m", "exporter.cli",
                "--config.file", str(self.tmp / "exporter.yml"),
                "--web.listen-address", f"127.0.0.1:{self.exporter_port}",
                "--storage.path", str(self.tmp / "data"),
            ],
            self.tmp / "exporter.log",
        )  # fmt: skip

    def stop_exporter(self) -> int:
        return self.processes.pop("exporter").stop()

    def query(self, promql: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.prometheus}/api/v1/query", params={"query": promql}, timeout=5)
        response.raise_for_status()
        body = response.json()
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def scalar(self, promql: str) -> float:
        """The one value of an instant vector (one series is all this test has)."""
        result = self.query(promql)
        assert len(result) == 1, (promql, result)
        return float(result[0]["value"][1])

    def wait_scraped(self, value: int) -> None:
        """Until Prometheus's latest sample of the meter is `value`, bounded."""

        def latest() -> bool:
            result = self.query(SERIES)
            return len(result) == 1 and float(result[0]["value"][1]) == value

        try:
            wait_for(f"Prometheus to store {SERIES} = {value}", latest, WAIT, POLL)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.diagnose()}") from None

    def snapshot_meter(self) -> dict[str, Any]:
        url = f"http://127.0.0.1:{self.exporter_port}/api/v1/snapshot"
        docs = httpx.get(url, timeout=5).json()
        (doc,) = [d for d in docs if d["target"] == self.target]
        (meter,) = [c for c in doc["counters"] if c["name"] == "total"]
        return dict(meter)

    def diagnose(self) -> str:
        return "\n\n".join(f"--- {p.log.name}\n{p.tail()}" for p in self.processes.values())


def _write_configs(tmp: Path, snmp_port: int, exporter_port: int) -> None:
    recording = RECORDING.read_text().splitlines()
    plain = f"{LIFE_COUNT}|65|"
    hits = [i for i, line in enumerate(recording) if line.startswith(plain)]
    assert len(hits) == 1, f"{RECORDING.name} should hold one {LIFE_COUNT} Counter32"
    recording[hits[0]] = f"{LIFE_COUNT}|65:writecache|value={START}"
    (tmp / "snmp").mkdir()
    (tmp / "snmp" / f"{COMMUNITY}.snmprec").write_text("\n".join(recording) + "\n")
    config = {
        "credentials": [{"name": COMMUNITY, "version": "2c", "community": COMMUNITY}],
        "targets": [{"address": f"{HOST}:{snmp_port}", "credentials": [COMMUNITY]}],
        "poll": {"interval": "1s", "timeout": "400ms", "retries": 1},
    }
    (tmp / "exporter.yml").write_text(yaml.safe_dump(config))
    prometheus = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "900ms"},
        "scrape_configs": [
            {
                "job_name": "printers",
                "static_configs": [{"targets": [f"127.0.0.1:{exporter_port}"]}],
            }
        ],
    }
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(prometheus))


@dataclass(frozen=True)
class History:
    """What the scenario left in Prometheus: the raw samples of the meter, in order."""

    stack: Stack
    samples: tuple[tuple[int, int], ...]
    """(timestamp in ms, value) of every stored sample of the meter."""
    offset_after_wrap: dict[str, Any]
    offset_after_restart: dict[str, Any]
    ledger_at_stop: dict[str, Any]

    def first(self, value: int) -> int:
        """The timestamp (ms) of the first stored sample of `value`."""
        return next(t for t, v in self.samples if v == value)

    def last(self, value: int) -> int:
        return [t for t, v in self.samples if v == value][-1]


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    """Run the whole scenario once; the tests read what Prometheus stored."""
    binary = _prometheus_binary()
    tmp = tmp_path_factory.mktemp("meter-wrap")
    snmp_port = free_udp_port([HOST])
    exporter_port, prom_port = free_tcp_port(), free_tcp_port()
    _write_configs(tmp, snmp_port, exporter_port)
    stack = Stack(tmp, snmp_port, exporter_port, f"http://127.0.0.1:{prom_port}")
    with Simulator(tmp / "snmp", [(HOST, snmp_port)], probe_community=COMMUNITY):
        try:
            stack.start_exporter()
            stack.processes["prometheus"] = Process(
                [
                    binary,
                    f"--config.file={tmp / 'prometheus.yml'}",
                    f"--storage.tsdb.path={tmp / 'prom-data'}",
                    f"--web.listen-address=127.0.0.1:{prom_port}",
                ],
                tmp / "prometheus.log",
            )
            yield _run_scenario(stack)
        finally:
            for process in stack.processes.values():
                process.stop()


def _run_scenario(stack: Stack) -> History:
    stack.wait_scraped(START)
    set_meter(HOST, stack.snmp_port, BEFORE_WRAP)
    stack.wait_scraped(BEFORE_WRAP)
    set_meter(HOST, stack.snmp_port, AFTER_WRAP)
    stack.wait_scraped(AFTER_WRAP + WIDTH)
    after_wrap = stack.snapshot_meter()
    set_meter(HOST, stack.snmp_port, BEFORE_STOP)
    stack.wait_scraped(BEFORE_STOP + WIDTH)

    code = stack.stop_exporter()
    assert code == 0, f"the exporter did not stop cleanly ({code})"
    ledger = json.loads((stack.tmp / "data" / "meter-ledger.json").read_text())
    set_meter(HOST, stack.snmp_port, WRAPPED_WHILE_DOWN)
    # The meter must vanish from Prometheus (a stale marker) before the exporter is back,
    # so the window below truly spans a gap in which nothing was scraped.
    wait_for(
        "the stopped exporter's series to go stale", lambda: not stack.query(SERIES), WAIT, POLL
    )
    stack.start_exporter()
    stack.wait_scraped(WRAPPED_WHILE_DOWN + 2 * WIDTH)
    after_restart = stack.snapshot_meter()
    set_meter(HOST, stack.snmp_port, AFTER_RESTART)
    stack.wait_scraped(AFTER_RESTART + 2 * WIDTH)

    raw = stack.query(f"{SERIES}[1h]")
    assert len(raw) == 1, raw
    samples = tuple((round(float(t) * 1000), int(float(v))) for t, v in raw[0]["values"])
    return History(stack, samples, after_wrap, after_restart, ledger["devices"][stack.target])


def _increase(history: History, start_ms: int, end_ms: int) -> float:
    """increase() over exactly [start, end]: both ends are stored samples, so Prometheus
    (2.x: ranges closed on the left) neither extrapolates nor leaves a page out."""
    window = f"{SERIES}[{end_ms - start_ms}ms] @ {end_ms / 1000:.3f}"
    inside = sum(1 for t, _ in history.samples if start_ms <= t <= end_ms)
    counted = history.stack.scalar(f"count_over_time({window})")
    assert counted == inside, (
        f"Prometheus holds {counted:g} samples in {window}, the test counted {inside}:"
        " its ranges are not closed on the left (Prometheus 3?), so increase() extrapolates"
    )
    assert history.stack.scalar(f"resets({window})") == 0
    return history.stack.scalar(f"increase({window})")


def _value_at(history: History, at_ms: int) -> int:
    return int(history.stack.scalar(f"{SERIES} @ {at_ms / 1000:.3f}"))


def test_the_exposed_meter_never_goes_down(history: History) -> None:
    values = [v for _, v in history.samples]
    assert values == sorted(values), values
    assert values[0] == START
    assert values[-1] == AFTER_RESTART + 2 * WIDTH


def test_a_wrap_loses_no_pages(history: History) -> None:
    true_pages = (BEFORE_WRAP - START) + (AFTER_WRAP + WIDTH - BEFORE_WRAP)
    start, end = history.first(START), history.first(AFTER_WRAP + WIDTH)
    assert _value_at(history, end) - _value_at(history, start) == true_pages
    increase = _increase(history, start, end)
    print(f"\nwrap at 2^24: true pages {true_pages}, increase() {increase:.0f}")
    assert increase == true_pages == 8_716
    # The device's own meter did go down; the exporter added the width.
    assert history.offset_after_wrap["value"] == AFTER_WRAP < BEFORE_WRAP
    assert history.offset_after_wrap["offset"] == WIDTH


def test_a_wrap_while_the_exporter_is_down_loses_no_pages(history: History) -> None:
    assert history.ledger_at_stop["meters"]["total"] == {
        "last": BEFORE_STOP,
        "unit": "impressions",
        "offset": WIDTH,
    }
    true_pages = WRAPPED_WHILE_DOWN + WIDTH - BEFORE_STOP
    start, end = history.last(BEFORE_STOP + WIDTH), history.first(WRAPPED_WHILE_DOWN + 2 * WIDTH)
    assert _value_at(history, end) - _value_at(history, start) == true_pages
    increase = _increase(history, start, end)
    print(f"\nrestart with a wrap while down: true pages {true_pages}, increase() {increase:.0f}")
    assert increase == true_pages == 779_216
    assert history.offset_after_restart["value"] == WRAPPED_WHILE_DOWN
    assert history.offset_after_restart["offset"] == 2 * WIDTH


def test_the_whole_run_bills_every_page(history: History) -> None:
    true_pages = AFTER_RESTART + 2 * WIDTH - START
    start, end = history.first(START), history.first(AFTER_RESTART + 2 * WIDTH)
    increase = _increase(history, start, end)
    print(f"\nwhole run, 2 wraps, 1 restart: true pages {true_pages}, increase() {increase:.0f}")
    assert increase == true_pages == 16_789_432
