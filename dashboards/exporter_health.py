"""Exporter and pull_sync health: are the agents polling, finding, reloading and uploading.

pull_sync is scraped as a job of its own (docs/pull_sync.md, "Metrics"), so its panels
follow the `pull_sync_job` variable rather than `job`.
"""

from __future__ import annotations

from dashboards._grafana import (
    DATASOURCE,
    Grid,
    Json,
    Query,
    dashboard,
    layout,
    link,
    stat,
    table,
)
from dashboards._grafana import timeseries as graph
from dashboards._scope import DEVICES, SCOPE, chosen_last_seen, chosen_or_down, variables

EXPORTER = f"{{{SCOPE}}}"
PULL_SYNC = '{job=~"$pull_sync_job", site=~"$site"}'
BY = "site, job, instance"
"""The labels that name one exporter or one pull_sync."""
PULL_SYNC_JOB: Json = {
    "type": "query",
    "name": "pull_sync_job",
    "label": "pull_sync job",
    "datasource": DATASOURCE,
    "query": {"query": "label_values(pull_sync_build_info, job)", "refId": "pull_sync_job"},
    "definition": "label_values(pull_sync_build_info, job)",
    "refresh": 2,
    "includeAll": True,
    "multi": True,
    "allValue": ".*",
    "current": {},
    "hide": 0,
    "sort": 1,
    "options": [],
}


def _rate(name: str, selector: str, by: str = "site, instance") -> str:
    return f"sum by ({by}) (rate({name}{selector}[$__rate_interval]))"


def _per_exporter(expr: str, how: str = "sum") -> str:
    """A per-device series over the chosen devices (down ones included), per exporter."""
    return f"{how} by (site, instance) ({chosen_or_down(expr)})"


def _exporters(grid: Grid) -> None:
    grid.row("Exporters")
    stale = (
        f"(time() - printer_last_poll_success_timestamp_seconds{{{DEVICES}}})"
        f" > on ({BY}) group_left () (3 * printer_exporter_poll_interval_seconds{EXPORTER})"
    )
    counted = (
        ("Exporters", "Exporters that Prometheus scrapes.",
         f"count(printer_exporter_build_info{EXPORTER})", [("blue", None)]),
        ("Cycle over interval", "Exporters whose last poll cycle took longer than the poll"
         " interval: readings get older than configured.",
         f"count(printer_exporter_poll_cycle_duration_seconds{EXPORTER} > on ({BY})"
         f" printer_exporter_poll_interval_seconds{EXPORTER}) or vector(0)",
         [("green", None), ("orange", 1)]),
        ("Config reload failed", "Exporters whose last config reload failed (the previous"
         " config stays in force).",
         f"count(printer_exporter_config_last_reload_successful{EXPORTER} == 0) or vector(0)",
         [("green", None), ("red", 1)]),
        ("Stale devices", "Devices whose last successful poll is older than three poll"
         " intervals (down devices included).",
         f"count({chosen_last_seen(stale)}) or vector(0)", [("green", None), ("orange", 1)]),
    )  # fmt: skip
    for title, description, expr, steps in counted:
        grid.add(stat(title, description, Query(expr), steps=steps), 6, 4)
    grid.add(
        table(
            "Versions",
            "How many exporters run each version.",
            [Query(f"count by (version) (printer_exporter_build_info{EXPORTER})")],
            rename={"Value": "exporters"},
        ),
        6,
        6,
    )
    grid.add(
        table(
            "Exporters and their config",
            "Whether each exporter's last reload worked, how long ago its config was last"
            " loaded, and its reloads in the time range.",
            [
                Query(f"printer_exporter_config_last_reload_successful{EXPORTER}"),
                Query(
                    "time() - printer_exporter_config_last_reload_success_timestamp_seconds"
                    + EXPORTER
                ),
                Query(f"increase(printer_exporter_config_reloads_total{EXPORTER}[$__range])"),
            ],
            rename={
                "Value #A": "last reload ok",
                "Value #B": "config age (s)",
                "Value #C": "reloads in range",
            },
            merge=True,
        ),
        18,
        6,
    )


def _polling(grid: Grid) -> None:
    grid.row("Polling")
    grid.add(
        graph(
            "Poll cycle vs interval",
            "A cycle longer than the interval means readings get older than configured.",
            [
                Query(
                    f"printer_exporter_poll_cycle_duration_seconds{EXPORTER}", "cycle {{instance}}"
                ),
                Query(f"printer_exporter_poll_interval_seconds{EXPORTER}", "interval {{instance}}"),
            ],
            unit="s",
        ),
        8,
        8,
    )
    grid.add(
        graph(
            "Poll duration, slowest 10 devices",
            "Wall time of each device's latest poll; a device that is down waits out its timeouts.",
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
        8,
        8,
    )
    grid.add(
        graph(
            "Poll cycles per minute",
            "Completed poll cycles; a flat line is a poller that stopped.",
            [
                Query(
                    "60 * " + _rate("printer_exporter_poll_cycles_total", EXPORTER),
                    "{{instance}}",
                )
            ],
        ),
        8,
        8,
    )
    readers = chosen_or_down(f"printer_exporter_reader_duration_seconds{{{DEVICES}}}")
    success = chosen_or_down(f"printer_exporter_reader_success{{{DEVICES}}}")
    grid.add(
        graph(
            "Reader durations, mean over devices",
            "How long each reader (identity, status, counters, supplies, trays, alerts,"
            " profile, pjl) takes.",
            [Query(f"avg by (site, instance, reader) ({readers})", "{{reader}} {{instance}}")],
            unit="s",
        ),
        12,
        8,
    )
    grid.add(
        graph(
            "Reader success, share of devices",
            "The share of devices on which each reader succeeded in the latest poll;"
            " ExporterReaderFailing fires under 50 %.",
            [Query(f"avg by (site, instance, reader) ({success})", "{{reader}} {{instance}}")],
            unit="percentunit",
            ratio=True,
        ),
        12,
        8,
    )


def _failures(grid: Grid) -> None:
    grid.row("Failures and staleness")
    grid.add(
        graph(
            "Devices by reach state",
            "Why devices do not answer: up, snmp_refused, snmp_silent, host_down, no_answer.",
            [
                Query(
                    "sum by (state) ("
                    + chosen_or_down(f"printer_reach_state{{{DEVICES}}} == 1")
                    + ")",
                    "{{state}}",
                )
            ],
        ),
        8,
        8,
    )
    grid.add(
        graph(
            "SNMP retries, timeouts and dropped datagrams",
            "Requests re-sent and left unanswered, and datagrams the exporter dropped"
            " (malformed or unmatched), per second.",
            [
                Query(
                    _per_exporter(
                        f"rate(printer_exporter_snmp_retries_total{{{DEVICES}}}[$__rate_interval])"
                    ),
                    "retries {{instance}}",
                ),
                Query(
                    _per_exporter(
                        f"rate(printer_exporter_snmp_timeouts_total{{{DEVICES}}}[$__rate_interval])"
                    ),
                    "timeouts {{instance}}",
                ),
                Query(
                    _rate(
                        "printer_exporter_snmp_dropped_datagrams_total",
                        EXPORTER,
                        "site, instance, reason",
                    ),
                    "dropped {{reason}} {{instance}}",
                ),
            ],
            unit="pps",
        ),
        8,
        8,
    )
    grid.add(
        graph(
            "Meter events and poll warnings",
            "Meter integrity events (decrease, wrap, total_mismatch) in each interval, and"
            " the warnings of the latest polls.",
            [
                Query(
                    "sum by (site, instance, kind) ("
                    + chosen_or_down(
                        f"increase(printer_counter_events_total{{{DEVICES}}}[$__rate_interval])"
                    )
                    + ")",
                    "{{kind}} {{instance}}",
                ),
                Query(
                    _per_exporter(f"printer_poll_warnings{{{DEVICES}}}"),
                    "warnings {{instance}}",
                ),
            ],
        ),
        8,
        8,
    )
    grid.add(
        graph(
            "Oldest reading per exporter",
            "Age of the oldest successful poll among each exporter's devices, beside its"
            " poll interval; PrinterStalePoll fires past three intervals.",
            [
                Query(
                    _per_exporter(
                        f"time() - printer_last_poll_success_timestamp_seconds{{{DEVICES}}}",
                        "max",
                    ),
                    "oldest {{instance}}",
                ),
                Query(f"printer_exporter_poll_interval_seconds{EXPORTER}", "interval {{instance}}"),
            ],
            unit="s",
        ),
        12,
        8,
    )
    grid.add(
        table(
            "Stalest devices",
            "The ten devices with the oldest successful poll.",
            [
                Query(
                    chosen_last_seen(
                        "topk(10, time() -"
                        f" printer_last_poll_success_timestamp_seconds{{{DEVICES}}})"
                    )
                )
            ],
            unit="s",
            rename={"Value": "since last success"},
            sort_by="since last success",
            link_target=True,
        ),
        12,
        8,
    )


def _discovery(grid: Grid) -> None:
    grid.row("Discovery")
    grid.add(
        graph(
            "Printers found by the last sweep",
            "ExporterDiscoveryFailing fires when a sweep finds none where one the day before"
            " found some.",
            [Query(f"printer_exporter_discovery_devices_found{EXPORTER}", "{{instance}}")],
        ),
        8,
        8,
    )
    grid.add(
        graph(
            "Discovery traffic",
            "Addresses probed and packets sent and answered per second during sweeps.",
            [
                Query(
                    _rate("printer_exporter_discovery_addresses_probed_total", EXPORTER),
                    "probed {{instance}}",
                ),
                Query(
                    _rate("printer_exporter_discovery_packets_sent_total", EXPORTER),
                    "sent {{instance}}",
                ),
                Query(
                    _rate("printer_exporter_discovery_packets_received_total", EXPORTER),
                    "received {{instance}}",
                ),
            ],
            unit="pps",
        ),
        8,
        8,
    )
    grid.add(
        graph(
            "Sweep duration",
            "Wall time of each exporter's last discovery sweep.",
            [
                Query(
                    f"printer_exporter_discovery_last_sweep_duration_seconds{EXPORTER}",
                    "duration {{instance}}",
                )
            ],
            unit="s",
        ),
        8,
        8,
    )


def _pull_sync(grid: Grid) -> None:
    grid.row("pull_sync")
    counted = (
        ("Outbox batches", "Batches waiting for the archive.",
         f"sum(pull_sync_outbox_batches{PULL_SYNC})", "none", [("green", None), ("orange", 10)]),
        ("Oldest waiting batch", "How long the oldest batch has waited; PullSyncOutboxBacklog"
         " fires past an hour.",
         f"max(time() - pull_sync_outbox_oldest_batch_timestamp_seconds{PULL_SYNC})", "s",
         [("green", None), ("orange", 3600)]),
        ("Outbox used", "The fullest outbox's share of outbox.max_bytes; past it the oldest"
         " batches are dropped.",
         f"max(pull_sync_outbox_bytes{PULL_SYNC} / pull_sync_outbox_max_bytes{PULL_SYNC})",
         "percentunit", [("green", None), ("orange", 0.5)]),
        ("Since last upload", "Time since the archive last confirmed an upload.",
         f"min(time() - pull_sync_last_upload_success_timestamp_seconds{PULL_SYNC})", "s",
         [("green", None), ("orange", 3600)]),
    )  # fmt: skip
    for title, description, expr, unit, steps in counted:
        grid.add(stat(title, description, Query(expr), unit=unit, steps=steps), 6, 4)
    grid.add(
        graph(
            "Upload attempts by result",
            "Every try per minute: ok, duplicate, retry, tls, agent_refused, dead_letter.",
            [
                Query(
                    "60 * "
                    + _rate("pull_sync_upload_attempts_total", PULL_SYNC, "site, instance, result"),
                    "{{result}} {{instance}}",
                )
            ],
        ),
        8,
        8,
    )
    grid.add(
        graph(
            "Upload duration, 90th percentile",
            "Time per upload try, answered or not.",
            [
                Query(
                    "histogram_quantile(0.9, sum by (site, instance, le) (rate("
                    f"pull_sync_upload_duration_seconds_bucket{PULL_SYNC}[$__rate_interval])))",
                    "{{instance}}",
                )
            ],
            unit="s",
        ),
        8,
        8,
    )
    grid.add(
        graph(
            "Outbox and losses",
            "Batches waiting, and batches dropped (outbox full) or moved to dead letters.",
            [
                Query(f"pull_sync_outbox_batches{PULL_SYNC}", "waiting {{instance}}"),
                Query(
                    f"increase(pull_sync_outbox_dropped_batches_total{PULL_SYNC}[$__rate_interval])",
                    "dropped {{instance}}",
                ),
                Query(f"pull_sync_dead_letter_batches{PULL_SYNC}", "dead letters {{instance}}"),
            ],
        ),
        8,
        8,
    )
    grid.add(
        graph(
            "Collections and check-ins by result",
            "Reads of the exporter's snapshot and check-ins with the archive, per hour.",
            [
                Query(
                    "3600 * "
                    + _rate("pull_sync_collections_total", PULL_SYNC, "site, instance, result"),
                    "collect {{result}} {{instance}}",
                ),
                Query(
                    "3600 * "
                    + _rate("pull_sync_checkins_total", PULL_SYNC, "site, instance, result"),
                    "check-in {{result}} {{instance}}",
                ),
            ],
        ),
        12,
        8,
    )
    grid.add(
        table(
            "Last check-in outcome",
            "The outcome of each pull_sync's last check-in (applied, unchanged, none,"
            " rejected, failed, error).",
            [Query(f"pull_sync_last_checkin_status{PULL_SYNC} == 1")],
            hide=["Value"],
        ),
        6,
        8,
    )
    grid.add(
        table(
            "Check-in age and config",
            "How long ago each pull_sync last checked in, and the config version it applied.",
            [
                Query(f"time() - pull_sync_last_checkin_timestamp_seconds{PULL_SYNC}"),
                Query(f"pull_sync_config_applied_version{PULL_SYNC}"),
            ],
            rename={"Value #A": "since check-in (s)", "Value #B": "config version"},
            merge=True,
        ),
        6,
        8,
    )


def build() -> Json:
    grid = Grid()
    _exporters(grid)
    _polling(grid)
    _failures(grid)
    _discovery(grid)
    _pull_sync(grid)
    return dashboard(
        uid="printer-exporter-health",
        title="Exporter and pull_sync health",
        description="Whether the exporters poll on time, what fails, discovery, config"
        " reloads and staleness, and pull_sync's outbox, uploads and check-ins"
        " (docs/dashboards.md).",
        links=[link("Printer fleet", "printer-fleet")],
        variables=[*variables(), PULL_SYNC_JOB],
        panels=layout(grid.items),
        time_from="now-6h",
    )
