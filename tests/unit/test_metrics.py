"""The /metrics contract (DESIGN.md "Metrics"), checked on rendered and re-parsed text.

Snapshots are built by hand, rendered, parsed back with prometheus_client's
own parser and compared as exact series, so a test fails on a wrong name,
label, value or a series that should not be there. The cached
`MetricsRenderer` is held byte-equal to the reference `render` through
fleets that change between scrapes.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry
from prometheus_client.utils import floatToGoString

from exporter.device import ReaderRun
from exporter.metrics import (
    MAX_LABEL_CHARS,
    METRIC_NAMES,
    BuildInfo,
    DiscoveryStats,
    ExporterState,
    MetricsRenderer,
    SnapshotCollector,
    TrafficCounts,
    render,
)
from exporter.metrics.text import _go_float
from exporter.model import Alert, Counter, Cover, Identity, Snapshot, Status, Supply, Tray
from exporter.readers.decode import ERROR_CONDITIONS

Labels = frozenset[tuple[str, str]]
Series = dict[str, dict[Labels, float]]

UP_TARGET = "192.0.2.1:161"
DOWN_TARGET = "192.0.2.2:161"


def lab(**labels: str) -> Labels:
    return frozenset(labels.items())


def parse(body: bytes) -> Series:
    """Sample name -> labels -> value; fails on a repeated series, which Prometheus rejects."""
    out: Series = {}
    for family in text_string_to_metric_families(body.decode("utf-8")):
        for sample in family.samples:
            key = frozenset(sample.labels.items())
            assert key not in out.setdefault(sample.name, {}), f"duplicate {sample.name} {key}"
            out[sample.name][key] = sample.value
    return out


def headers(body: bytes) -> dict[str, tuple[str, str]]:
    """Exposed name -> (type, help), from the # TYPE and # HELP lines."""
    text = body.decode("utf-8")
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.MULTILINE))
    helps = dict(re.findall(r"^# HELP (\S+) (.*)$", text, re.MULTILINE))
    return {name: (types[name], helps[name]) for name in types}


def of_target(series: Series, name: str, target: str) -> dict[Labels, float]:
    """The series of one metric for one target, with `target` taken out of the labels."""
    return {
        frozenset((k, v) for k, v in labels if k != "target"): value
        for labels, value in series.get(name, {}).items()
        if ("target", target) in labels
    }


def supply(index: int, **changes: object) -> Supply:
    base = Supply(
        index, f"Supply {index}", "toner", "black", "consumed", "percent", 40, 100, 0.4, "ok"
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def full_snapshot(target: str = UP_TARGET, **changes: object) -> Snapshot:
    """A reachable colour MFP with every part filled, sentinels included."""
    base = Snapshot(
        target=target,
        taken_at="2026-11-22T03:10:00.123Z",
        duration_seconds=0.41,
        reachable=True,
        identity=Identity(
            manufacturer="HP",
            model="Color LaserJet MFP M480f",
            serial="CNB1234567",
            mac="aa:bb:cc:dd:ee:ff",
            firmware="2409081_000590",
            sys_name="NPI123456",
            location="Floor 2",
        ),
        status=Status(
            device="warning",
            printer="idle",
            errors=("low_toner", "jammed"),
            console=("Ready", "Load Tray 2"),
            covers=(Cover(1, "Front door", "open"), Cover(2, "Duplexer", "closed")),
        ),
        counters=(
            Counter("total", 271871, "impressions", "1.3.6.1.2.1.43.10.2.1.4.1.1"),
            Counter("power_on", 1200, "impressions", "1.3.6.1.2.1.43.10.2.1.5.1.1"),
            Counter("duplex", 5000, "sheets", "vendor"),
        ),
        supplies=(
            supply(1),
            supply(2, description="Cyan Toner", color="cyan", level=None, remaining_ratio=None,
                   state="some_remaining"),
            supply(3, description="Magenta Toner", color="magenta", level=None, max_capacity=None,
                   remaining_ratio=None, state="unknown"),
            supply(4, description="Waste Toner Box", type="waste_toner", color=None,
                   supply_class="filled", level=None, max_capacity=None, remaining_ratio=None,
                   state="unrestricted"),
            supply(5, description="Yellow Toner", color="yellow", level=0, remaining_ratio=0.0,
                   state="empty"),
        ),
        trays=(
            Tray(1, "Tray 1", "Plain", None, 100, None, "some_remaining"),
            Tray(2, "Tray 2", "Letterhead", 250, 500, 0.5, "ok"),
        ),
        alerts=(
            Alert(1, "critical", "trained", "cover", 1, 1, "cover_open", "Close front door", 100),
            Alert(2, "warning", None, "marker_supplies", 1, None, "marker_toner_almost_empty",
                  "Yellow low", None),
        ),
        warnings=("prtMarkerSuppliesLevel.1.3 sent as a string",),
    )  # fmt: skip
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def down_snapshot(target: str = DOWN_TARGET) -> Snapshot:
    return Snapshot(
        target=target,
        taken_at="2026-11-22T03:11:00.000Z",
        duration_seconds=6.0,
        reachable=False,
        error="no response after 2 tries of 3.0 s",
        # an identity a careless poller left in place must not be shown
        identity=Identity(manufacturer="Ricoh", model="MP C3004"),
    )


RUNS = (ReaderRun("identity", 0.05, True), ReaderRun("supplies", 0.2, False))


def fleet_state(*snapshots: Snapshot, **changes: object) -> ExporterState:
    snaps = snapshots or (full_snapshot(), down_snapshot())
    base = ExporterState(
        snapshots=snaps,
        last_success={UP_TARGET: 1795835400.0, DOWN_TARGET: 1795831800.0},
        reader_runs={s.target: RUNS for s in snaps},
        traffic={s.target: TrafficCounts(40, 38, 3000, 9000, 2, 1) for s in snaps},
        counter_regressions={UP_TARGET: {"total": 1}},
        poll_cycles_total=7,
        poll_cycle_duration_seconds=12.5,
        poll_interval_seconds=60.0,
        discovery=DiscoveryStats(3, 4.5, 768, 12, 800, 20, 40000, 2000),
        config_last_reload_successful=False,
        config_last_reload_success_timestamp_seconds=1795830000.0,
        config_reloads_total=2,
        build_info=BuildInfo("0.1.0", "3.11.7", "7.1.30"),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def body() -> bytes:
    return render(fleet_state())


@pytest.fixture(scope="module")
def series(body: bytes) -> Series:
    return parse(body)


# --- the DESIGN.md table ---------------------------------------------------------

SUPPLY_LABELS = {"target", "supply", "description", "type", "color"}
TRAY_LABELS = {"target", "tray", "name", "media"}
DESIGN_TABLE: dict[str, tuple[str, set[str]]] = {
    "printer_up": ("gauge", {"target"}),
    "printer_info": (
        "gauge",
        {
            "target",
            "manufacturer",
            "model",
            "serial",
            "mac",
            "firmware",
            "name",
            "location",
            "color",
            "asset_number",
        },
    ),
    "printer_poll_duration_seconds": ("gauge", {"target"}),
    "printer_last_poll_success_timestamp_seconds": ("gauge", {"target"}),
    "printer_device_status": ("gauge", {"target", "status"}),
    "printer_status": ("gauge", {"target", "status"}),
    "printer_error_condition": ("gauge", {"target", "condition"}),
    "printer_pages_total": ("counter", {"target", "counter", "unit"}),
    "printer_supply_level": ("gauge", SUPPLY_LABELS),
    "printer_supply_capacity": ("gauge", SUPPLY_LABELS),
    "printer_supply_remaining_ratio": ("gauge", SUPPLY_LABELS),
    "printer_supply_state": ("gauge", {"target", "supply", "state"}),
    "printer_tray_level": ("gauge", TRAY_LABELS),
    "printer_tray_capacity": ("gauge", TRAY_LABELS),
    "printer_tray_remaining_ratio": ("gauge", TRAY_LABELS),
    "printer_alert": ("gauge", {"target", "severity", "group", "code", "description"}),
    "printer_console_info": ("gauge", {"target", "line", "text"}),
}
"""DESIGN.md's table; `unit` on printer_pages_total is documented in docs/metrics.md."""


@pytest.mark.parametrize("name", sorted(DESIGN_TABLE))
def test_design_table_metric_has_its_type_and_labels(
    name: str, body: bytes, series: Series
) -> None:
    kind, labels = DESIGN_TABLE[name]
    assert headers(body)[name][0] == kind
    assert series[name], f"{name} has no series"
    assert {frozenset(k for k, _ in key) for key in series[name]} == {frozenset(labels)}


def test_metric_names_lists_exactly_what_is_exposed(body: bytes) -> None:
    assert set(headers(body)) == METRIC_NAMES
    assert all(name.startswith("printer_") for name in METRIC_NAMES)


def test_every_per_device_series_carries_target(series: Series) -> None:
    for name, samples in series.items():
        if name.startswith("printer_exporter_") and not name.startswith(
            ("printer_exporter_snmp_", "printer_exporter_reader_", "printer_exporter_counter_")
        ):
            continue
        for labels in samples:
            assert dict(labels).get("target") in (UP_TARGET, DOWN_TARGET), (name, labels)


# --- a device that answered --------------------------------------------------


def test_up_device_core_series(series: Series) -> None:
    assert of_target(series, "printer_up", UP_TARGET) == {lab(): 1.0}
    assert of_target(series, "printer_poll_duration_seconds", UP_TARGET) == {lab(): 0.41}
    assert of_target(series, "printer_last_poll_success_timestamp_seconds", UP_TARGET) == {
        lab(): 1795835400.0
    }
    assert of_target(series, "printer_poll_warnings", UP_TARGET) == {lab(): 1.0}
    assert of_target(series, "printer_info", UP_TARGET) == {
        lab(
            manufacturer="HP",
            model="Color LaserJet MFP M480f",
            serial="CNB1234567",
            mac="aa:bb:cc:dd:ee:ff",
            firmware="2409081_000590",
            name="NPI123456",
            location="Floor 2",
            color="",
            asset_number="",
        ): 1.0
    }


def test_status_state_sets_have_every_state_and_one_set(series: Series) -> None:
    assert of_target(series, "printer_device_status", UP_TARGET) == {
        lab(status=s): float(s == "warning")
        for s in ("running", "warning", "testing", "down", "unknown")
    }
    assert of_target(series, "printer_status", UP_TARGET) == {
        lab(status=s): float(s == "idle")
        for s in ("idle", "printing", "warmup", "other", "unknown")
    }


def test_all_16_error_conditions_are_present(series: Series) -> None:
    conditions = of_target(series, "printer_error_condition", UP_TARGET)
    assert len(ERROR_CONDITIONS) == 16
    assert conditions == {
        lab(condition=c): float(c in ("low_toner", "jammed")) for c in ERROR_CONDITIONS
    }


def test_pages_carry_counter_and_unit(series: Series) -> None:
    assert of_target(series, "printer_pages_total", UP_TARGET) == {
        lab(counter="total", unit="impressions"): 271871.0,
        lab(counter="power_on", unit="impressions"): 1200.0,
        lab(counter="duplex", unit="sheets"): 5000.0,
    }


def test_sentinels_never_reach_level_capacity_or_ratio(series: Series) -> None:
    def supplies(name: str) -> set[str]:
        return {dict(k)["supply"] for k in of_target(series, name, UP_TARGET)}

    assert supplies("printer_supply_level") == {"1", "5"}
    assert supplies("printer_supply_capacity") == {"1", "2", "5"}
    assert supplies("printer_supply_remaining_ratio") == {"1", "5"}
    assert supplies("printer_supply_info") == {"1", "2", "3", "4", "5"}
    level = of_target(series, "printer_supply_level", UP_TARGET)
    assert level[lab(supply="5", description="Yellow Toner", type="toner", color="yellow")] == 0.0
    ratio = of_target(series, "printer_supply_remaining_ratio", UP_TARGET)
    assert ratio[lab(supply="1", description="Supply 1", type="toner", color="black")] == 0.4


def test_sentinels_land_in_the_state_set(series: Series) -> None:
    states = of_target(series, "printer_supply_state", UP_TARGET)
    expected = {"1": "ok", "2": "some_remaining", "3": "unknown", "4": "unrestricted", "5": "empty"}
    consumable = ("ok", "low", "empty", "some_remaining", "unknown", "unrestricted")
    receptacle = ("ok", "near_full", "full", "some_remaining", "unknown", "unrestricted")
    assert states == {
        lab(supply=i, state=s): float(s == current)
        for i, current in expected.items()
        for s in (receptacle if i == "4" else consumable)  # 4 is a waste-toner box
    }


def test_supply_info_names_a_sentinel_supply(series: Series) -> None:
    info = of_target(series, "printer_supply_info", UP_TARGET)
    key = lab(
        supply="4",
        description="Waste Toner Box",
        type="waste_toner",
        color="",
        **{"class": "filled"},
        unit="percent",
        part_number="",
        serial="",
    )
    assert info[key] == 1.0


def test_negative_level_is_never_exposed_even_if_upstream_leaks_it() -> None:
    leaked = supply(1, level=-3, max_capacity=-2, remaining_ratio=-0.03, state="some_remaining")
    tray = Tray(1, "Tray 1", None, -3, -2, None, "some_remaining")
    series = parse(render(fleet_state(full_snapshot(supplies=(leaked,), trays=(tray,)))))
    for name in (
        "printer_supply_level",
        "printer_supply_capacity",
        "printer_supply_remaining_ratio",
        "printer_tray_level",
        "printer_tray_capacity",
        "printer_tray_remaining_ratio",
    ):
        assert of_target(series, name, UP_TARGET) == {}, name
    assert (
        of_target(series, "printer_supply_state", UP_TARGET)[
            lab(supply="1", state="some_remaining")
        ]
        == 1.0
    )


def test_trays(series: Series) -> None:
    assert of_target(series, "printer_tray_level", UP_TARGET) == {
        lab(tray="2", name="Tray 2", media="Letterhead"): 250.0
    }
    assert of_target(series, "printer_tray_capacity", UP_TARGET) == {
        lab(tray="1", name="Tray 1", media="Plain"): 100.0,
        lab(tray="2", name="Tray 2", media="Letterhead"): 500.0,
    }
    assert of_target(series, "printer_tray_remaining_ratio", UP_TARGET) == {
        lab(tray="2", name="Tray 2", media="Letterhead"): 0.5
    }
    states = of_target(series, "printer_tray_state", UP_TARGET)
    assert states[lab(tray="1", state="some_remaining")] == 1.0
    assert sum(states.values()) == 2.0
    assert len(of_target(series, "printer_tray_info", UP_TARGET)) == 2


def test_alerts_console_and_covers(series: Series) -> None:
    assert of_target(series, "printer_alert", UP_TARGET) == {
        lab(
            severity="critical", group="cover", code="cover_open", description="Close front door"
        ): 1.0,
        lab(
            severity="warning",
            group="marker_supplies",
            code="marker_toner_almost_empty",
            description="Yellow low",
        ): 1.0,
    }
    assert of_target(series, "printer_console_info", UP_TARGET) == {
        lab(line="1", text="Ready"): 1.0,
        lab(line="2", text="Load Tray 2"): 1.0,
    }
    covers = of_target(series, "printer_cover_status", UP_TARGET)
    assert len(covers) == 12
    assert {k for k, v in covers.items() if v == 1.0} == {
        lab(cover="1", description="Front door", status="open"),
        lab(cover="2", description="Duplexer", status="closed"),
    }


def test_repeated_rows_make_one_series() -> None:
    alert = Alert(1, "warning", None, "input", 2, None, "input_media_supply_empty", "Tray 2", 5)
    snap = full_snapshot(
        alerts=(alert, dataclasses.replace(alert, index=7)),
        supplies=(supply(1), supply(1, level=1)),
        counters=(Counter("total", 10, "impressions", "a"), Counter("total", 20, "sheets", "b")),
    )
    series = parse(render(fleet_state(snap)))
    assert list(of_target(series, "printer_alert", UP_TARGET).values()) == [2.0]
    assert list(of_target(series, "printer_supply_level", UP_TARGET).values()) == [40.0]
    assert of_target(series, "printer_pages_total", UP_TARGET) == {
        lab(counter="total", unit="impressions"): 10.0
    }


def test_last_success_falls_back_to_the_snapshot_time() -> None:
    series = parse(render(fleet_state(full_snapshot(), last_success={})))
    taken_at = datetime(2026, 11, 22, 3, 10, 0, 123000, tzinfo=UTC).timestamp()
    assert of_target(series, "printer_last_poll_success_timestamp_seconds", UP_TARGET) == {
        lab(): taken_at
    }


# --- a device that stopped answering, and one that went away --------------------


def test_down_device_keeps_up_zero_and_last_success_only(series: Series) -> None:
    by_name = {
        name: of_target(series, name, DOWN_TARGET)
        for name in series
        if of_target(series, name, DOWN_TARGET)
    }
    assert by_name.pop("printer_up") == {lab(): 0.0}
    assert by_name.pop("printer_last_poll_success_timestamp_seconds") == {lab(): 1795831800.0}
    assert by_name.pop("printer_poll_duration_seconds") == {lab(): 6.0}
    # the exporter's own view of the failed poll stays; no device data does
    assert set(by_name) == {
        "printer_exporter_reader_duration_seconds",
        "printer_exporter_reader_success",
        "printer_exporter_snmp_packets_sent_total",
        "printer_exporter_snmp_packets_received_total",
        "printer_exporter_snmp_bytes_sent_total",
        "printer_exporter_snmp_bytes_received_total",
        "printer_exporter_snmp_retries_total",
        "printer_exporter_snmp_timeouts_total",
    }


def test_down_device_never_polled_ok_has_no_last_success() -> None:
    series = parse(render(fleet_state(down_snapshot(), last_success={})))
    assert of_target(series, "printer_up", DOWN_TARGET) == {lab(): 0.0}
    assert "printer_last_poll_success_timestamp_seconds" not in series


def test_disappeared_device_has_no_series() -> None:
    renderer = MetricsRenderer()
    both = fleet_state()
    one = fleet_state(full_snapshot())  # DOWN_TARGET left the config; mappings still hold it
    for body in (render(one), renderer.render(both) and renderer.render(one)):
        assert DOWN_TARGET.encode() not in body
        assert UP_TARGET.encode() in body


def test_self_state_of_unknown_targets_is_ignored() -> None:
    state = fleet_state(full_snapshot(), traffic={"10.9.9.9:161": TrafficCounts(1, 1, 1, 1)})
    assert b"10.9.9.9" not in render(state)


def test_duplicate_targets_make_one_device() -> None:
    older = full_snapshot(duration_seconds=1.0)
    newer = full_snapshot(duration_seconds=2.0)
    series = parse(render(fleet_state(older, newer)))
    assert of_target(series, "printer_poll_duration_seconds", UP_TARGET) == {lab(): 2.0}


def test_empty_fleet_renders_headers_only() -> None:
    body = render(ExporterState())
    assert set(headers(body)) == METRIC_NAMES
    assert "printer_up" not in parse(body)


# --- self-metrics ----------------------------------------------------------------


def test_exporter_self_metrics(series: Series) -> None:
    assert series["printer_exporter_build_info"] == {
        lab(version="0.1.0", python_version="3.11.7", pysnmp_version="7.1.30"): 1.0
    }
    expected = {
        "printer_exporter_poll_cycles_total": 7.0,
        "printer_exporter_poll_cycle_duration_seconds": 12.5,
        "printer_exporter_poll_interval_seconds": 60.0,
        "printer_exporter_discovery_sweeps_total": 3.0,
        "printer_exporter_discovery_last_sweep_duration_seconds": 4.5,
        "printer_exporter_discovery_addresses_probed_total": 768.0,
        "printer_exporter_discovery_devices_found": 12.0,
        "printer_exporter_discovery_packets_sent_total": 800.0,
        "printer_exporter_discovery_packets_received_total": 20.0,
        "printer_exporter_discovery_bytes_sent_total": 40000.0,
        "printer_exporter_discovery_bytes_received_total": 2000.0,
        "printer_exporter_config_last_reload_successful": 0.0,
        "printer_exporter_config_last_reload_success_timestamp_seconds": 1795830000.0,
        "printer_exporter_config_reloads_total": 2.0,
    }
    assert {name: series[name] for name in expected} == {
        name: {lab(): value} for name, value in expected.items()
    }


def test_per_device_self_metrics(series: Series) -> None:
    assert of_target(series, "printer_exporter_reader_duration_seconds", UP_TARGET) == {
        lab(reader="identity"): 0.05,
        lab(reader="supplies"): 0.2,
    }
    assert of_target(series, "printer_exporter_reader_success", UP_TARGET) == {
        lab(reader="identity"): 1.0,
        lab(reader="supplies"): 0.0,
    }
    traffic = {
        "packets_sent": 40.0,
        "packets_received": 38.0,
        "bytes_sent": 3000.0,
        "bytes_received": 9000.0,
        "retries": 2.0,
        "timeouts": 1.0,
    }
    for what, value in traffic.items():
        name = f"printer_exporter_snmp_{what}_total"
        assert of_target(series, name, UP_TARGET) == {lab(): value}, name
    assert of_target(series, "printer_exporter_counter_regressions_total", UP_TARGET) == {
        lab(counter="total"): 1.0
    }


def test_unknown_exporter_values_are_left_out() -> None:
    series = parse(render(ExporterState()))
    for name in (
        "printer_exporter_poll_cycle_duration_seconds",
        "printer_exporter_poll_interval_seconds",
        "printer_exporter_discovery_last_sweep_duration_seconds",
        "printer_exporter_discovery_devices_found",
        "printer_exporter_config_last_reload_success_timestamp_seconds",
    ):
        assert name not in series
    assert series["printer_exporter_poll_cycles_total"] == {lab(): 0.0}
    assert series["printer_exporter_config_last_reload_successful"] == {lab(): 1.0}


# --- HELP and label hygiene --------------------------------------------------------

OID = re.compile(r"\b1\.3\.6\.1(\.\d+)+\b")


@pytest.mark.parametrize(
    "name",
    [
        "printer_up",
        "printer_info",
        "printer_device_status",
        "printer_status",
        "printer_error_condition",
        "printer_cover_status",
        "printer_pages_total",
        "printer_supply_info",
        "printer_supply_level",
        "printer_supply_capacity",
        "printer_supply_remaining_ratio",
        "printer_supply_state",
        "printer_tray_info",
        "printer_tray_level",
        "printer_tray_capacity",
        "printer_tray_remaining_ratio",
        "printer_tray_state",
        "printer_alert",
        "printer_console_info",
    ],
)
def test_help_names_the_oid(name: str, body: bytes) -> None:
    assert OID.search(headers(body)[name][1]), headers(body)[name][1]


def test_help_points_counters_at_their_source(body: bytes) -> None:
    help_text = headers(body)["printer_pages_total"][1]
    assert "1.3.6.1.2.1.43.10.2.1.4" in help_text
    assert "`source` in /api/v1/snapshot" in help_text


def test_label_values_are_bounded_and_escaped() -> None:
    nasty = 'He said "hi"\\ and\nleft ' + "x" * 1000
    snap = full_snapshot(
        status=Status(console=(nasty,)),
        identity=Identity(model="Caf\udce9 \u00e9"),  # a lone surrogate cannot be encoded
    )
    series = parse(render(fleet_state(snap)))
    (console,) = of_target(series, "printer_console_info", UP_TARGET)
    assert dict(console)["text"] == nasty[:MAX_LABEL_CHARS]
    (info,) = of_target(series, "printer_info", UP_TARGET)
    assert dict(info)["model"] == "Caf? \u00e9"


# --- the collector and the cached renderer ------------------------------------------


def test_registering_the_collector_does_not_call_the_source() -> None:
    def source() -> ExporterState:
        raise AssertionError("describe() must not read state")

    registry = CollectorRegistry(auto_describe=True)
    registry.register(SnapshotCollector(source))
    with pytest.raises(ValueError, match="Duplicated"):
        registry.register(SnapshotCollector(source))


def nasty_fleet() -> Iterator[ExporterState]:
    """States a scrape may meet one after another, each a change the cache must see."""
    weird = full_snapshot(
        "[fe80::1%eth0]:161",
        identity=Identity(manufacturer='Brother "MFC"', model="back\\slash", location="a\nb"),
        duration_seconds=-0.0,
        counters=(Counter("total", 12_345_678_901, "impressions", "x"),),
        supplies=(supply(1, level=0, remaining_ratio=float("nan")),),
    )
    state = fleet_state(full_snapshot(), down_snapshot(), weird)
    yield state
    yield dataclasses.replace(state)  # a new state object, nothing changed
    counters = (Counter("total", 271900, "impressions", "1.3.6.1.2.1.43.10.2.1.4.1.1"),)
    snaps = (full_snapshot(counters=counters, duration_seconds=0.5), *state.snapshots[1:])
    state = dataclasses.replace(state, snapshots=snaps)
    yield state  # re-polled: counters and timing changed, supplies did not
    state = dataclasses.replace(
        state, traffic={**state.traffic, UP_TARGET: TrafficCounts(99, 99, 99, 99, 9, 9)}
    )
    yield state  # self-state changed, snapshot did not
    status = Status(device="down", printer="other", errors=("door_open",))
    snaps = (dataclasses.replace(snaps[0], status=status), *snaps[1:])
    state = dataclasses.replace(state, snapshots=snaps)
    yield state
    yield dataclasses.replace(state, snapshots=(snaps[2], snaps[0]))  # one left, order moved
    yield dataclasses.replace(state, snapshots=(snaps[2], full_snapshot("192.0.2.3:161")))
    yield dataclasses.replace(state, snapshots=(down_snapshot(UP_TARGET),))  # went down
    yield ExporterState()


def test_cached_renderer_is_byte_equal_to_the_reference() -> None:
    renderer = MetricsRenderer()
    for step, state in enumerate(nasty_fleet()):
        assert renderer.render(state) == render(state), f"step {step}"
        assert b"".join(renderer.render_chunks(state)) == render(state), f"step {step} again"


def test_cached_openmetrics_is_byte_equal_to_client_pythons() -> None:
    """One cache serves both formats: switching between them never serves stale text."""
    renderer = MetricsRenderer()
    for step, state in enumerate(nasty_fleet()):
        for openmetrics in (True, False, True):
            want = render(state, openmetrics=openmetrics)
            assert renderer.render(state, openmetrics=openmetrics) == want, f"step {step}"
    body = render(ExporterState(snapshots=(full_snapshot(UP_TARGET),)), openmetrics=True)
    assert body.endswith(b"# EOF\n")
    assert b"# TYPE printer_pages counter\nprinter_pages_total{" in body


@given(st.integers(min_value=-(2**70), max_value=2**70) | st.floats())
def test_fast_value_formatting_matches_prometheus_client(value: float) -> None:
    expected: str = floatToGoString(value)  # type: ignore[no-untyped-call]
    assert _go_float(value) == expected


def test_info_says_colour_and_asset_number() -> None:
    """Dashboards filter on colour capability and the customer's asset tag."""
    snap = Snapshot(
        target="192.0.2.9:161",
        taken_at="2026-12-04T10:00:00Z",
        duration_seconds=0.1,
        reachable=True,
        identity=Identity(manufacturer="Canon", color=True, asset_number="ACME-0042"),
    )
    body = render(ExporterState(snapshots=[snap])).decode()
    (info,) = [
        sample.labels
        for family in text_string_to_metric_families(body)
        for sample in family.samples
        if sample.name == "printer_info"
    ]
    assert info["color"] == "true"
    assert info["asset_number"] == "ACME-0042"
