"""Printer fleet: what is down, in error or low, and how much is printed."""

from __future__ import annotations

from dashboards._grafana import At, Json, Query, Row, dashboard, layout, link, stat, table
from dashboards._grafana import timeseries as graph
from dashboards._scope import (
    DEVICES,
    INFO,
    KEYS,
    SCOPE,
    chosen,
    chosen_last_seen,
    chosen_or_down,
    variables,
)

MARKERS = "toner|toner_cartridge|ink|ink_cartridge|matte_toner|matte_ink"
"""The supply types that are toner or ink (the alert rules use the same list)."""
ERRORS = (
    "no_paper|no_toner|door_open|jammed|offline|service_requested|input_tray_missing"
    "|output_tray_missing|marker_supply_missing|output_full"
)
"""hrPrinterDetectedErrorState bits that stop or need a person (not the "low" ones)."""
IDENTIFY = f"* on ({KEYS}) group_left (manufacturer, model, location) {INFO}"


def _at_a_glance() -> list[Row | At]:
    count = "count({}) or vector(0)"
    return [
        Row("Fleet at a glance"),
        At(
            stat(
                "Devices",
                "Devices the exporters poll.",
                Query(f"count({chosen_last_seen(f'printer_up{{{DEVICES}}}')})"),
            ),
            0, 1, 4, 4,
        ),
        At(
            stat(
                "Up",
                "Devices that answered their latest poll.",
                Query(count.format(chosen(f"printer_up{{{DEVICES}}} == 1"))),
                steps=[("green", None)],
            ),
            4, 1, 4, 4,
        ),
        At(
            stat(
                "Down",
                "Devices whose latest poll got no answer (printer_up 0).",
                Query(count.format(chosen_last_seen(f"printer_up{{{DEVICES}}} == 0"))),
                steps=[("green", None), ("red", 1)],
            ),
            8, 1, 4, 4,
        ),
        At(
            stat(
                "With errors",
                "Devices with an error bit set in hrPrinterDetectedErrorState"
                " (low paper/toner and near-full not counted).",
                Query(
                    f"count(max by ({KEYS}) ("
                    + chosen(f'printer_error_condition{{{DEVICES}, condition=~"{ERRORS}"}}')
                    + ") == 1) or vector(0)"
                ),
                steps=[("green", None), ("orange", 1)],
            ),
            12, 1, 4, 4,
        ),
        At(
            stat(
                "Toner/ink low",
                "Toner and ink supplies at or below 10 %.",
                Query(
                    count.format(
                        chosen(
                            f'printer_supply_remaining_ratio{{{DEVICES}, type=~"{MARKERS}"}}'
                            " <= 0.1"
                        )
                    )
                ),
                steps=[("green", None), ("orange", 1)],
            ),
            16, 1, 4, 4,
        ),
        At(
            stat(
                "Pages, last 24 h",
                "Lifetime meters' growth over the last day, all devices.",
                Query(
                    "sum("
                    + chosen(f'increase(printer_pages_total{{{DEVICES}, counter="total"}}[1d])')
                    + ")"
                ),
            ),
            20, 1, 4, 4,
        ),
    ]  # fmt: skip


def _needs_attention() -> list[Row | At]:
    down = f"(printer_up{{{DEVICES}}} == 0)"
    since = (
        f"((time() - printer_last_poll_success_timestamp_seconds{{{DEVICES}}})"
        f" and on ({KEYS}) {down}) or on ({KEYS}) ({down} * NaN)"
    )
    never = {"type": "special", "options": {"match": "nan", "result": {"text": "never"}}}
    return [
        Row("Needs attention"),
        At(
            table(
                "Devices down",
                "Devices that do not answer, and how long since their last successful poll"
                " ('never' for a device that has not answered since the exporter started).",
                [Query(chosen_last_seen(since))],
                unit="s",
                mappings=[never],
                rename={"Value": "since last success"},
                sort_by="since last success",
                link_target=True,
            ),
            0, 6, 12, 8,
        ),
        At(
            table(
                "Active error conditions",
                "hrPrinterDetectedErrorState bits that are set, with the device's identity.",
                [Query(f"(printer_error_condition{{{DEVICES}}} == 1) {IDENTIFY}")],
                hide=["Value"],
                link_target=True,
            ),
            12, 6, 12, 8,
        ),
        At(
            table(
                "Low supplies",
                "Supplies at or below 20 % left (for a receptacle: 20 % space left)."
                " Sentinel levels are not here: see the device dashboard's supply states.",
                [Query(f"sort((printer_supply_remaining_ratio{{{DEVICES}}} <= 0.2) {IDENTIFY})")],
                unit="percentunit",
                rename={"Value": "left"},
                link_target=True,
            ),
            0, 14, 12, 9,
        ),
        At(
            table(
                "Device alerts (prtAlertTable)",
                "The alerts the devices themselves report.",
                [Query(f"printer_alert{{{DEVICES}}} {IDENTIFY}")],
                rename={"Value": "rows"},
                link_target=True,
            ),
            12, 14, 12, 9,
        ),
        At(
            table(
                "Firing Prometheus alerts",
                "Alerts from alert_rules/printer.rules.yml that are firing now.",
                [
                    Query(
                        f'ALERTS{{{SCOPE}, alertstate="firing",'
                        ' alertname=~"Printer.*|Exporter.*"}'
                    )
                ],
                hide=["Value", "alertstate"],
            ),
            0, 23, 24, 6,
        ),
    ]  # fmt: skip


def _usage_and_exporter() -> list[Row | At]:
    return [
        Row("Usage"),
        At(
            graph(
                "Pages per day, top 20 devices",
                "Growth of the lifetime meter (counter total) per day.",
                [
                    Query(
                        f"topk(20, sum by ({KEYS}) ("
                        + chosen(
                            f'increase(printer_pages_total{{{DEVICES}, counter="total"}}'
                            "[$__interval])"
                        )
                        + "))",
                        "{{target}}",
                    )
                ],
                bars=True,
                interval="1d",
            ),
            0, 30, 24, 9,
        ),
        At(
            table(
                "Fleet by model",
                "How many devices of each model answer.",
                [Query(f"count by (manufacturer, model) ({INFO})")],
                rename={"Value": "devices"},
                sort_by="devices",
            ),
            0, 39, 12, 8,
        ),
        At(
            graph(
                "Toner/ink left, lowest per device (bottom 10)",
                "The emptiest toner or ink supply of the ten emptiest devices.",
                [
                    Query(
                        f"bottomk(10, min by ({KEYS}) ("
                        + chosen(f'printer_supply_remaining_ratio{{{DEVICES}, type=~"{MARKERS}"}}')
                        + "))",
                        "{{target}}",
                    )
                ],
                unit="percentunit",
                ratio=True,
            ),
            12, 39, 12, 8,
        ),
        Row("Exporter"),
        At(
            graph(
                "Poll duration, slowest 10 devices",
                "Wall time of each device's latest poll (devices that are down included).",
                [
                    Query(
                        "topk(10, "
                        + chosen_or_down(f"printer_poll_duration_seconds{{{DEVICES}}}")
                        + ")",
                        "{{target}}",
                    )
                ],
                unit="s",
            ),
            0, 48, 8, 8,
        ),
        At(
            graph(
                "Poll cycle vs interval",
                "A cycle longer than the interval means readings get older than configured.",
                [
                    Query(
                        f"printer_exporter_poll_cycle_duration_seconds{{{SCOPE}}}",
                        "cycle {{instance}}",
                    ),
                    Query(
                        f"printer_exporter_poll_interval_seconds{{{SCOPE}}}",
                        "interval {{instance}}",
                    ),
                ],
                unit="s",
            ),
            8, 48, 8, 8,
        ),
        At(
            graph(
                "SNMP traffic",
                "Packets per second to the chosen devices, and how many were retried or"
                " timed out.",
                [_traffic(name, legend) for name, legend in _TRAFFIC],
                unit="pps",
            ),
            16, 48, 8, 8,
        ),
    ]  # fmt: skip


_TRAFFIC = (
    ("printer_exporter_snmp_packets_sent_total", "sent {{instance}}"),
    ("printer_exporter_snmp_retries_total", "retries {{instance}}"),
    ("printer_exporter_snmp_timeouts_total", "timeouts {{instance}}"),
)


def _traffic(name: str, legend: str) -> Query:
    rate = f"rate({name}{{{DEVICES}}}[$__rate_interval])"
    return Query(f"sum by (site, instance) ({chosen_or_down(rate)})", legend)


def build() -> Json:
    return dashboard(
        uid="printer-fleet",
        title="Printer fleet",
        description="Every printer the exporters poll: what is down, in error or low, and how"
        " much is printed. Built on printer-exporter metrics (docs/metrics.md).",
        links=[
            link("Device detail", "printer-device"),
            link("Supplies and forecast", "printer-supplies"),
            link("Billing", "printer-billing"),
            link("Exporter and pull_sync health", "printer-exporter-health"),
        ],
        variables=variables(),
        panels=layout([*_at_a_glance(), *_needs_attention(), *_usage_and_exporter()]),
    )
