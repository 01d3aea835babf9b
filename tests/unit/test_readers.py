"""Readers against the fixture recordings, served from memory (no network).

The same fixtures are read over real SNMP in tests/integration/test_probe.py;
here the in-memory client isolates the readers' logic from the transport.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import pytest

from exporter.device import READERS, read_device
from exporter.snmp import SnmpProtocolError, SnmpTimeout
from exporter.snmp.memory import MemoryClient, load_snmprec
from exporter.snmp.types import Oid, SnmpValue, Walk
from tests.oracle import FIXTURES, load_oracle, mismatches

NAMES = ["color_mfp", "mono_printer", "sentinels", "snmpv3"]


def client_for(name: str) -> MemoryClient:
    return MemoryClient(load_snmprec(FIXTURES / f"{name}.snmprec"), target=f"{name}:161")


@pytest.mark.parametrize("name", NAMES)
async def test_fixture_matches_its_oracle(name: str) -> None:
    result = await read_device(client_for(name))
    assert mismatches(load_oracle(name), result.snapshot.to_json()) == []
    assert [run.reader for run in result.readers] == [*(name for name, _ in READERS), "profile"]
    assert all(run.ok for run in result.readers)


async def test_broken_agent_reads_with_warnings_not_crashes() -> None:
    result = await read_device(client_for("broken_agent"))
    snap = result.snapshot
    assert mismatches(load_oracle("broken_agent"), snap.to_json()) == []
    assert any("number sent as a string" in w for w in snap.warnings)
    assert any("hrPrinterDetectedErrorState" in w for w in snap.warnings)
    # The string-typed meter is unambiguous digits: read, and flagged above.
    total = snap.counter("total")
    assert total is not None
    assert total.value == 23817


async def test_unreachable_device_gives_an_unreachable_snapshot() -> None:
    client = MemoryClient({}, target="gone:161", reachable=False)
    snap = (await read_device(client)).snapshot
    assert not snap.reachable
    assert snap.error is not None
    assert "gone:161" in snap.error
    assert snap.to_json()["identity"]["manufacturer"] is None


class _FailingWalks(MemoryClient):
    """Answers GETs, but fails walks of one subtree: an agent that chokes on one table."""

    def __init__(self, values: Mapping[Oid, SnmpValue], bad: Oid, exc: Exception) -> None:
        super().__init__(values, target="flaky:161")
        self._bad = bad
        self._exc = exc

    async def walk(self, root: Oid) -> Walk:
        if root[: len(self._bad)] == self._bad:
            raise self._exc
        return await super().walk(root)


SUPPLIES = (1, 3, 6, 1, 2, 1, 43, 11)
ALERTS = (1, 3, 6, 1, 2, 1, 43, 18)


async def test_a_protocol_error_costs_only_that_reader() -> None:
    values = load_snmprec(FIXTURES / "color_mfp.snmprec")
    client = _FailingWalks(values, SUPPLIES, SnmpProtocolError("genErr on supplies"))
    result = await read_device(client)
    snap = result.snapshot
    assert snap.reachable
    assert snap.error is None
    assert snap.supplies == ()
    assert snap.alerts
    assert snap.counter("total") is not None
    assert any("genErr on supplies" in w for w in snap.warnings)
    assert {r.reader: r.ok for r in result.readers}["supplies"] is False


async def test_a_timeout_mid_poll_keeps_what_was_read_and_stops() -> None:
    values = load_snmprec(FIXTURES / "color_mfp.snmprec")
    client = _FailingWalks(values, SUPPLIES, SnmpTimeout("flaky:161: no response"))
    result = await read_device(client)
    snap = result.snapshot
    assert snap.reachable
    assert snap.error is not None
    assert snap.error.startswith("supplies:")
    assert snap.identity.serial == "CNB9Q7K2M4"
    assert snap.alerts == ()  # not attempted after the device went silent
    assert [r.reader for r in result.readers][-1] == "supplies"


async def test_a_bug_in_a_reader_is_contained(monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(_: object) -> object:
        raise KeyError("boom")

    patched: Sequence[tuple[str, object]] = [
        (n, broken if n == "alerts" else r) for n, r in READERS
    ]
    monkeypatch.setattr("exporter.device.READERS", tuple(patched))
    snap = (await read_device(client_for("color_mfp"))).snapshot
    assert snap.reachable
    assert snap.alerts == ()
    assert any("alerts: internal error" in w for w in snap.warnings)


class _RefusesEverything(MemoryClient):
    """Answers every request with an error: an agent that is up but serves nothing."""

    async def get(self, oids: Sequence[Oid]) -> dict[Oid, SnmpValue]:
        raise SnmpProtocolError(f"{self.target}: GET answered genErr\n(from the agent)")

    async def walk(self, root: Oid) -> Walk:
        raise SnmpProtocolError(f"{self.target}: walk answered genErr")


async def test_a_poll_whose_readers_all_failed_says_why() -> None:
    """It used to say `reachable: false, error: null`: down, and no reason anywhere."""
    result = await read_device(_RefusesEverything({}, target="refusing:161"))
    snap = result.snapshot
    assert not snap.reachable
    assert not any(run.ok for run in result.readers)
    assert snap.error == (
        "every reader failed (identity, status, counters, supplies, trays, alerts); "
        "first: identity: refusing:161: GET answered genErr (from the agent)"
    )


async def test_a_poll_whose_readers_all_crashed_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(_: object) -> object:
        raise KeyError("boom")

    monkeypatch.setattr("exporter.device.READERS", tuple((n, broken) for n, _ in READERS))
    snap = (await read_device(client_for("color_mfp"))).snapshot
    assert not snap.reachable
    assert snap.error is not None
    assert snap.error.endswith("first: identity: internal error (KeyError)")


async def test_snapshot_is_immutable() -> None:
    snap = (await read_device(client_for("mono_printer"))).snapshot
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.reachable = False  # type: ignore[misc]


def test_the_oracle_comparison_can_fail() -> None:
    """Guards the guard: a changed value, a missing row or counter is reported."""
    oracle = load_oracle("color_mfp")
    assert mismatches(oracle, {**oracle, "identity": {**oracle["identity"], "serial": "X"}})
    assert mismatches(oracle, {**oracle, "supplies": oracle["supplies"][:-1]})
    assert mismatches(oracle, {**oracle, "counters": []})
    assert mismatches({"level": 0.5}, {"level": 0.5000001})


class _ChokesOnCombinedWalks(MemoryClient):
    """Walks tables one at a time, but times out on a combined walk (a fragile agent)."""

    async def walk_many(self, roots: Sequence[Oid]) -> dict[Oid, Walk]:
        raise SnmpTimeout(f"{self.target}: no response to the combined walk")


async def test_a_failed_combined_walk_falls_back_to_one_table_at_a_time() -> None:
    values = load_snmprec(FIXTURES / "color_mfp.snmprec")
    snap = (await read_device(_ChokesOnCombinedWalks(values, target="fragile:161"))).snapshot
    assert snap.error is None
    assert mismatches(load_oracle("color_mfp"), snap.to_json()) == []
    assert any("combined walk failed" in w for w in snap.warnings)
