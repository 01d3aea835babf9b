"""The metric families: every name, its type, its labels and its HELP (the OID it reads).

Defined once here; the series builders (`series.py`) fill them and the text formatter
(`text.py`) writes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Final, Literal, TypeAlias

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily

from exporter.state import TRAFFIC_FIELDS as TRAFFIC_FIELDS  # series.py reads it here
from exporter.state import DiscoveryStats

MAX_LABEL_CHARS: Final = 256
"""Longest label value exposed: a panel line or alert text must not bloat every scrape."""

DEVICE_STATUSES: Final = ("running", "warning", "testing", "down", "unknown")
PRINTER_STATUSES: Final = ("idle", "printing", "warmup", "other", "unknown")
COVER_STATUSES: Final = ("open", "closed", "interlock_open", "interlock_closed", "other", "unknown")

Kind: TypeAlias = Literal["gauge", "counter"]
Row: TypeAlias = tuple[tuple[str, ...], float]


@dataclass(frozen=True, slots=True, eq=False)
class Family:
    """One metric name. Compared and hashed by identity: each is defined once, below."""

    name: str
    """As exposed: counters end in `_total`."""
    kind: Kind
    labels: tuple[str, ...]
    help: str

    def new(self) -> GaugeMetricFamily | CounterMetricFamily:
        if self.kind == "counter":
            return CounterMetricFamily(
                self.name.removesuffix("_total"), self.help, labels=self.labels
            )
        return GaugeMetricFamily(self.name, self.help, labels=self.labels)


HELP: Final[Mapping[str, str]] = {
    "printer_up": "1 if the device answered its latest poll (SNMPv2-MIB system 1.3.6.1.2.1.1 "
    "first), else 0.",
    "printer_reach_state": "How the latest poll reached the device, as a state set: up (SNMP "
    "answered), snmp_refused (an SNMPv3 report refused the credential), snmp_silent (no SNMP "
    "answer, but an ICMP echo reply), host_down (neither), no_answer (no SNMP answer, no echo "
    "sent: ICMP off or not permitted).",
    "printer_icmp_up": "1 if the ICMP echo sent beside the latest poll was answered, else 0; "
    "absent when none was sent.",
    "printer_icmp_rtt_seconds": "Mean round trip of the answered ICMP echoes of the latest poll.",
    "printer_info": "Device identity, value 1. manufacturer/model: IEEE 1284 device ID "
    "1.3.6.1.4.1.2699.1.2.1.2.1.1.3, hrDeviceDescr 1.3.6.1.2.1.25.3.2.1.3, sysDescr "
    "1.3.6.1.2.1.1.1; serial: prtGeneralSerialNumber 1.3.6.1.2.1.43.5.1.1.17, entPhysicalSerialNum "
    "1.3.6.1.2.1.47.1.1.1.1.11; mac: ifPhysAddress 1.3.6.1.2.1.2.2.1.6; firmware: "
    "entPhysicalFirmwareRev 1.3.6.1.2.1.47.1.1.1.1.9 or a vendor OID; name: sysName "
    "1.3.6.1.2.1.1.5; location: sysLocation 1.3.6.1.2.1.1.6; color: true or false from "
    "prtMarkerProcessColorants 1.3.6.1.2.1.43.10.2.1.6, else the supplies' colours, empty if "
    "unknown; asset_number: entPhysicalAssetID 1.3.6.1.2.1.47.1.1.1.1.15.",
    "printer_poll_duration_seconds": "Wall time of the latest poll of the device, failed or not.",
    "printer_last_poll_success_timestamp_seconds": "Unix time of the latest poll the device "
    "answered; kept while the device is down.",
    "printer_poll_warnings": "Oddities the readers noticed in the latest poll (garbled values, "
    "truncated walks); see `warnings` in /api/v1/snapshot.",
    "printer_device_status": "hrDeviceStatus 1.3.6.1.2.1.25.3.2.1.5 of the printer row, as a "
    "state set: 1 for the current status.",
    "printer_status": "hrPrinterStatus 1.3.6.1.2.1.25.3.5.1.1, as a state set: 1 for the current "
    "status.",
    "printer_error_condition": "hrPrinterDetectedErrorState 1.3.6.1.2.1.25.3.5.1.2: 1 if the "
    "condition's bit is set; one series for each of the 16 bits.",
    "printer_cover_status": "prtCoverStatus 1.3.6.1.2.1.43.6.1.1.3 as a state set; description "
    "is prtCoverDescription 1.3.6.1.2.1.43.6.1.1.2.",
    "printer_pages_total": "Meter reads by counter name: prtMarkerLifeCount "
    "1.3.6.1.2.1.43.10.2.1.4, prtMarkerPowerOnCount 1.3.6.1.2.1.43.10.2.1.5 or a vendor OID; "
    "see `source` in /api/v1/snapshot. unit: prtMarkerCounterUnit 1.3.6.1.2.1.43.10.2.1.3 or "
    "the vendor's.",
    "printer_supply_info": "One series of value 1 per supply, also when its level is a sentinel: "
    "prtMarkerSuppliesTable 1.3.6.1.2.1.43.11.1.1, description .6, type .5, class .4, unit .7; "
    "color from prtMarkerColorantValue 1.3.6.1.2.1.43.12.1.1.4 or the description; "
    "part_number and serial from the vendor profile (docs/profiles.md), empty when unknown.",
    "printer_supply_level": "prtMarkerSuppliesLevel 1.3.6.1.2.1.43.11.1.1.9 in the supply's "
    "unit; for a receptacle, the space left. Absent when the agent sends an RFC 3805 sentinel: "
    "see printer_supply_state.",
    "printer_supply_capacity": "prtMarkerSuppliesMaxCapacity 1.3.6.1.2.1.43.11.1.1.8; absent "
    "when unknown or a sentinel.",
    "printer_supply_remaining_ratio": "Fraction left before action, 0..1: "
    "prtMarkerSuppliesLevel 1.3.6.1.2.1.43.11.1.1.9 / prtMarkerSuppliesMaxCapacity "
    "1.3.6.1.2.1.43.11.1.1.8; absent when either is unknown or a sentinel.",
    "printer_supply_state": "State of the supply from prtMarkerSuppliesLevel "
    "1.3.6.1.2.1.43.11.1.1.9, as a state set. RFC 3805 sentinels land here: -1 unrestricted, "
    "-2 unknown, -3 some_remaining.",
    "printer_tray_info": "One series of value 1 per input tray, also when its level is a "
    "sentinel: prtInputTable 1.3.6.1.2.1.43.8.2.1, name prtInputName .13, media "
    "prtInputMediaName .12.",
    "printer_tray_level": "prtInputCurrentLevel 1.3.6.1.2.1.43.8.2.1.10; absent when a sentinel: "
    "see printer_tray_state.",
    "printer_tray_capacity": "prtInputMaxCapacity 1.3.6.1.2.1.43.8.2.1.9; absent when unknown "
    "or a sentinel.",
    "printer_tray_remaining_ratio": "Fraction of the tray still filled, 0..1: "
    "prtInputCurrentLevel 1.3.6.1.2.1.43.8.2.1.10 / prtInputMaxCapacity 1.3.6.1.2.1.43.8.2.1.9; "
    "absent when either is unknown or a sentinel.",
    "printer_tray_state": "State of the tray from prtInputCurrentLevel 1.3.6.1.2.1.43.8.2.1.10, "
    "as a state set; sentinels land here.",
    "printer_alert": "Active prtAlertTable 1.3.6.1.2.1.43.18.1.1 rows: severity .2, group .4, "
    "code .7, description .8. The value counts rows with the same labels (normally 1).",
    "printer_console_info": "Front-panel text, value 1: prtConsoleDisplayBufferText "
    "1.3.6.1.2.1.43.16.5.1.2; line numbers the non-empty lines from 1.",
    "printer_exporter_reader_duration_seconds": "Wall time of each reader in the device's latest "
    "poll.",
    "printer_exporter_reader_success": "1 if the reader succeeded in the device's latest poll.",
    "printer_exporter_snmp_packets_sent_total": "SNMP request packets sent to the device.",
    "printer_exporter_snmp_packets_received_total": "SNMP response packets from the device.",
    "printer_exporter_snmp_bytes_sent_total": "SNMP UDP payload bytes sent to the device.",
    "printer_exporter_snmp_bytes_received_total": "SNMP UDP payload bytes from the device.",
    "printer_exporter_snmp_retries_total": "SNMP requests re-sent to the device after a timeout.",
    "printer_exporter_snmp_timeouts_total": "SNMP requests the device left unanswered after "
    "every retry.",
    "printer_counter_event": "1 per meter integrity finding of the latest poll: kind decrease "
    "(withheld from this read), wrap (2^24/2^31/2^32) or total_mismatch (vendor total against "
    "prtMarkerLifeCount 1.3.6.1.2.1.43.10.2.1.4); see counter_events in /api/v1/snapshot.",
    "printer_exporter_counter_regressions_total": "Times the poller read a meter lower than the "
    "read before: a billing meter must never go backwards.",
    "printer_counter_events_total": "Meter integrity events since the exporter started, by "
    "kind: wrap (2^24/2^31/2^32; the exposed meter carries on), decrease (withheld from that "
    "read) or total_mismatch; alert on increase() of it, which stays visible for the window.",
    "printer_exporter_build_info": "Versions of this exporter, value 1.",
    "printer_exporter_poll_cycles_total": "Poll cycles completed.",
    "printer_exporter_poll_cycle_duration_seconds": "Wall time of the last completed poll cycle.",
    "printer_exporter_poll_interval_seconds": "The configured poll interval of a device.",
    "printer_exporter_discovery_sweeps_total": "Discovery sweeps completed.",
    "printer_exporter_discovery_last_sweep_duration_seconds": "Wall time of the last discovery "
    "sweep.",
    "printer_exporter_discovery_addresses_probed_total": "Addresses probed by discovery.",
    "printer_exporter_discovery_devices_found": "Printers found by the last discovery sweep.",
    "printer_exporter_discovery_packets_sent_total": "Packets sent by discovery.",
    "printer_exporter_discovery_packets_received_total": "Packets received by discovery.",
    "printer_exporter_discovery_bytes_sent_total": "Bytes sent by discovery.",
    "printer_exporter_discovery_bytes_received_total": "Bytes received by discovery.",
    "printer_exporter_config_last_reload_successful": "1 if the last config reload succeeded; 0 "
    "if it failed and the previous config stays in force.",
    "printer_exporter_config_last_reload_success_timestamp_seconds": "Unix time of the last "
    "successful config load.",
    "printer_exporter_config_reloads_total": "Config reloads attempted.",
    "printer_exporter_tls_certificate_expiry_timestamp_seconds": "Unix time at which the web "
    "server's TLS certificate expires (its notAfter).",
    "printer_exporter_snmp_dropped_datagrams_total": "SNMP datagrams received and dropped: "
    "malformed (did not decode: garbage, or an agent's broken answer) or unmatched (answers "
    "no request in flight: late, duplicate, or from the wrong address).",
}
"""HELP text by metric name: the OID a value comes from, so a reader can check it on the device."""


def _dev(name: str, kind: Kind, *labels: str) -> Family:
    """A per-device family: `target` comes first."""
    return Family(name, kind, ("target", *labels), HELP[name])


def _glob(name: str, kind: Kind, *labels: str) -> Family:
    """An exporter-wide family: no `target`."""
    return Family(name, kind, labels, HELP[name])


_SUPPLY = ("supply", "description", "type", "color")
_TRAY = ("tray", "name", "media")
UP = _dev("printer_up", "gauge")
POLL_DURATION = _dev("printer_poll_duration_seconds", "gauge")
LAST_SUCCESS = _dev("printer_last_poll_success_timestamp_seconds", "gauge")
POLL_WARNINGS = _dev("printer_poll_warnings", "gauge")
REACH_STATE = _dev("printer_reach_state", "gauge", "state")
ICMP_UP = _dev("printer_icmp_up", "gauge")
ICMP_RTT = _dev("printer_icmp_rtt_seconds", "gauge")
INFO = _dev(
    "printer_info",
    "gauge",
    "manufacturer",
    "model",
    "serial",
    "mac",
    "firmware",
    "name",
    "location",
    "color",
    "asset_number",
)
DEVICE_STATUS = _dev("printer_device_status", "gauge", "status")
PRINTER_STATUS = _dev("printer_status", "gauge", "status")
ERROR_CONDITION = _dev("printer_error_condition", "gauge", "condition")
COVER_STATUS = _dev("printer_cover_status", "gauge", "cover", "description", "status")
CONSOLE = _dev("printer_console_info", "gauge", "line", "text")
PAGES = _dev("printer_pages_total", "counter", "counter", "unit")
SUPPLY_INFO = _dev(
    "printer_supply_info", "gauge", *_SUPPLY, "class", "unit", "part_number", "serial"
)
SUPPLY_LEVEL = _dev("printer_supply_level", "gauge", *_SUPPLY)
SUPPLY_CAPACITY = _dev("printer_supply_capacity", "gauge", *_SUPPLY)
SUPPLY_RATIO = _dev("printer_supply_remaining_ratio", "gauge", *_SUPPLY)
SUPPLY_STATE = _dev("printer_supply_state", "gauge", "supply", "state")
TRAY_INFO = _dev("printer_tray_info", "gauge", *_TRAY)
TRAY_LEVEL = _dev("printer_tray_level", "gauge", *_TRAY)
TRAY_CAPACITY = _dev("printer_tray_capacity", "gauge", *_TRAY)
TRAY_RATIO = _dev("printer_tray_remaining_ratio", "gauge", *_TRAY)
TRAY_STATE = _dev("printer_tray_state", "gauge", "tray", "state")
ALERT = _dev("printer_alert", "gauge", "severity", "group", "code", "description")
READER_DURATION = _dev("printer_exporter_reader_duration_seconds", "gauge", "reader")
READER_SUCCESS = _dev("printer_exporter_reader_success", "gauge", "reader")
TRAFFIC = tuple(_dev(f"printer_exporter_snmp_{attr}_total", "counter") for attr in TRAFFIC_FIELDS)
COUNTER_REGRESSIONS = _dev("printer_exporter_counter_regressions_total", "counter", "counter")
COUNTER_EVENT = _dev("printer_counter_event", "gauge", "counter", "kind")
COUNTER_EVENTS = _dev("printer_counter_events_total", "counter", "counter", "kind")

BUILD_INFO = _glob(
    "printer_exporter_build_info", "gauge", "version", "python_version", "pysnmp_version"
)
POLL_CYCLES = _glob("printer_exporter_poll_cycles_total", "counter")
POLL_CYCLE_DURATION = _glob("printer_exporter_poll_cycle_duration_seconds", "gauge")
POLL_INTERVAL = _glob("printer_exporter_poll_interval_seconds", "gauge")
SWEEPS = _glob("printer_exporter_discovery_sweeps_total", "counter")
SWEEP_DURATION = _glob("printer_exporter_discovery_last_sweep_duration_seconds", "gauge")
PROBED = _glob("printer_exporter_discovery_addresses_probed_total", "counter")
FOUND = _glob("printer_exporter_discovery_devices_found", "gauge")
_SWEEP_TOTALS = {f.name for f in fields(DiscoveryStats)}
DISCOVERY_FIELDS = tuple(
    f"{name}_total" for name in TRAFFIC_FIELDS if f"{name}_total" in _SWEEP_TOTALS
)
"""The traffic counters a sweep keeps (`DiscoveryStats`): packets and bytes, since one
GETNEXT per address has no per-request retries or timeouts to count."""
DISCOVERY_TRAFFIC = tuple(
    _glob(f"printer_exporter_discovery_{attr}", "counter") for attr in DISCOVERY_FIELDS
)
RELOAD_OK = _glob("printer_exporter_config_last_reload_successful", "gauge")
RELOAD_TIME = _glob("printer_exporter_config_last_reload_success_timestamp_seconds", "gauge")
RELOADS = _glob("printer_exporter_config_reloads_total", "counter")
TLS_EXPIRY = _glob("printer_exporter_tls_certificate_expiry_timestamp_seconds", "gauge", "file")
DROPPED = _glob("printer_exporter_snmp_dropped_datagrams_total", "counter", "reason")

GLOBAL_FAMILIES: Final[tuple[Family, ...]] = (
    BUILD_INFO,
    POLL_CYCLES,
    POLL_CYCLE_DURATION,
    POLL_INTERVAL,
    SWEEPS,
    SWEEP_DURATION,
    PROBED,
    FOUND,
    *DISCOVERY_TRAFFIC,
    RELOAD_OK,
    RELOAD_TIME,
    RELOADS,
    TLS_EXPIRY,
    DROPPED,
)
"""Exporter-wide families in exposition order."""
