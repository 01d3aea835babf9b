"""Printer device: one printer in detail.

Every query is about `$target` (`target="$target"`, a single choice); job and site are in
the selector too, since the same address can be a printer at two sites. Location,
manufacturer and model only narrow the device picker.
"""

from __future__ import annotations

from dashboards._grafana import (
    At,
    Json,
    Query,
    Row,
    bargauge,
    dashboard,
    layout,
    link,
    stat,
    table,
)
from dashboards._grafana import timeseries as graph
from dashboards._scope import DEVICE, variables

ONE = f"{{{DEVICE}}}"
"""The selector of the chosen device."""
UP_DOWN = {
    "type": "value",
    "options": {"0": {"text": "Down", "index": 0}, "1": {"text": "Up", "index": 1}},
}


def _status() -> list[Row | At]:
    return [
        Row("Status"),
        At(
            stat(
                "Up",
                "Whether the device answered its latest poll.",
                Query(f"printer_up{ONE}"),
                steps=[("red", None), ("green", 1)],
                mappings=[UP_DOWN],
            ),
            0, 1, 4, 4,
        ),
        At(
            stat(
                "Device status",
                "hrDeviceStatus.",
                Query(f"printer_device_status{ONE} == 1", "{{status}}"),
                text_mode="name",
            ),
            4, 1, 4, 4,
        ),
        At(
            stat(
                "Printer status",
                "hrPrinterStatus.",
                Query(f"printer_status{ONE} == 1", "{{status}}"),
                text_mode="name",
            ),
            8, 1, 4, 4,
        ),
        At(
            stat(
                "Since last successful poll",
                "Age of the data shown.",
                Query(f"time() - printer_last_poll_success_timestamp_seconds{ONE}"),
                unit="s",
                steps=[("green", None), ("orange", 900)],
            ),
            12, 1, 4, 4,
        ),
        At(
            stat(
                "Poll warnings",
                "Oddities the readers noticed in the latest poll; the snapshot's `warnings`"
                " lists them.",
                Query(f"printer_poll_warnings{ONE}"),
                steps=[("green", None), ("orange", 1)],
            ),
            16, 1, 4, 4,
        ),
        At(
            stat(
                "Pages, last 24 h",
                "Growth of the lifetime meter over the last day.",
                Query(f'increase(printer_pages_total{{{DEVICE}, counter="total"}}[1d])'),
            ),
            20, 1, 4, 4,
        ),
        At(
            table(
                "Identity",
                "From printer_info.",
                [Query(f"printer_info{ONE}")],
                hide=["Value", "target"],
            ),
            0, 5, 24, 4,
        ),
    ]  # fmt: skip


def _meters_supplies_trays() -> list[Row | At]:
    return [
        Row("Meters"),
        At(
            table(
                "Meters",
                "Every meter read, by counter name and unit; each value's OID is `source` in"
                " /api/v1/snapshot.",
                [Query(f"printer_pages_total{ONE}")],
                hide=["target"],
                rename={"Value": "value"},
            ),
            0, 10, 8, 9,
        ),
        At(
            graph(
                "Pages per day",
                "Growth of each meter per day.",
                [
                    Query(
                        f'increase(printer_pages_total{{{DEVICE}, counter!="power_on"}}'
                        "[$__interval])",
                        "{{counter}}",
                    )
                ],
                bars=True,
                interval="1d",
            ),
            8, 10, 16, 9,
        ),
        Row("Supplies and trays"),
        At(
            bargauge(
                "Supplies left",
                "Fraction left before action. Supplies that report only a state (a sentinel"
                " level) are in the table beside.",
                Query(f"printer_supply_remaining_ratio{ONE}", "{{description}}"),
                steps=[("red", None), ("orange", 0.1), ("green", 0.2)],
            ),
            0, 20, 12, 9,
        ),
        At(
            table(
                "Supply states",
                "Every supply's state, including the RFC 3805 sentinels (some_remaining,"
                " unknown, unrestricted), with its part number and serial where the device"
                " gives them.",
                [
                    Query(
                        f"(printer_supply_state{ONE} == 1)"
                        " * on (site, job, instance, target, supply)"
                        " group_left (description, type, color, part_number, serial)"
                        f" printer_supply_info{ONE}"
                    )
                ],
                hide=["Value", "target"],
            ),
            12, 20, 12, 9,
        ),
        At(
            graph(
                "Supplies over time",
                "Fraction left, per supply.",
                [Query(f"printer_supply_remaining_ratio{ONE}", "{{description}}")],
                unit="percentunit",
                ratio=True,
            ),
            0, 29, 12, 8,
        ),
        At(
            table(
                "Trays",
                "Every input tray's state.",
                [
                    Query(
                        f"(printer_tray_state{ONE} == 1) * on (site, job, instance, target, tray)"
                        f" group_left (name, media) printer_tray_info{ONE}"
                    )
                ],
                hide=["Value", "target"],
            ),
            12, 29, 12, 8,
        ),
        At(
            bargauge(
                "Paper left",
                "Fraction of each tray still filled, where the tray reports a level.",
                Query(f"printer_tray_remaining_ratio{ONE}", "{{name}} ({{media}})"),
            ),
            12, 37, 12, 6,
        ),
        At(
            table(
                "Covers",
                "prtCoverStatus.",
                [Query(f"printer_cover_status{ONE} == 1")],
                hide=["Value", "target"],
            ),
            0, 37, 12, 6,
        ),
    ]  # fmt: skip


def _errors_and_polling() -> list[Row | At]:
    traffic = (
        ("printer_exporter_snmp_packets_sent_total", "sent"),
        ("printer_exporter_snmp_packets_received_total", "received"),
        ("printer_exporter_snmp_retries_total", "retries"),
        ("printer_exporter_snmp_timeouts_total", "timeouts"),
    )
    return [
        Row("Errors, alerts and panel"),
        At(
            table(
                "Error conditions set",
                "hrPrinterDetectedErrorState bits that are set.",
                [Query(f"printer_error_condition{ONE} == 1")],
                hide=["Value", "target"],
            ),
            0, 44, 8, 8,
        ),
        At(
            table(
                "Device alerts",
                "prtAlertTable rows.",
                [Query(f"printer_alert{ONE}")],
                hide=["target"],
                rename={"Value": "rows"},
            ),
            8, 44, 10, 8,
        ),
        At(
            table(
                "Front panel",
                "prtConsoleDisplayBufferText.",
                [Query(f"printer_console_info{ONE}")],
                hide=["Value", "target"],
            ),
            18, 44, 6, 8,
        ),
        At(
            graph(
                "Error conditions over time",
                "When each error bit was set.",
                [Query(f"printer_error_condition{ONE} == 1", "{{condition}}")],
                bars=True,
            ),
            0, 52, 24, 7,
        ),
        Row("Polling"),
        At(
            graph(
                "Poll and reader durations",
                "Wall time of the latest poll and of each reader in it.",
                [
                    Query(f"printer_poll_duration_seconds{ONE}", "poll"),
                    Query(f"printer_exporter_reader_duration_seconds{ONE}", "{{reader}}"),
                ],
                unit="s",
            ),
            0, 60, 12, 8,
        ),
        At(
            graph(
                "SNMP traffic",
                "Packets per second to and from the device.",
                [Query(f"rate({name}{ONE}[$__rate_interval])", legend) for name, legend in traffic],
                unit="pps",
            ),
            12, 60, 12, 8,
        ),
    ]  # fmt: skip


def build() -> Json:
    return dashboard(
        uid="printer-device",
        title="Printer device",
        description="One printer in detail: status, meters, supplies, trays, errors, alerts,"
        " panel text and how polling goes. Built on printer-exporter metrics"
        " (docs/metrics.md).",
        links=[
            link("Printer fleet", "printer-fleet", include_vars=False),
            link("Supplies and forecast", "printer-supplies", include_vars=False),
            link("Billing", "printer-billing", include_vars=False),
        ],
        variables=variables(one_device=True),
        panels=layout([*_status(), *_meters_supplies_trays(), *_errors_and_polling()]),
    )
