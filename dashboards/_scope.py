"""The variables every dashboard shares, and the PromQL that makes a query obey them.

Every per-device series carries `target` (and `job`, `instance`, and `site` where a
multi-site setup adds one); identity (location, manufacturer, model) is only on
`printer_info`. So a query selects by job, site and target in its own selector and by
identity through a join with `printer_info` on the labels that name one device:
`site, job, instance, target` (the same printer address may exist at two sites).

`site` may be absent (a single site): every variable allows All, whose value `.*` also
matches a series without the label.
"""

from __future__ import annotations

from dashboards._grafana import DATASOURCE, Json

KEYS = "site, job, instance, target"
"""The labels that name one device across sites, exporters and jobs."""

SCOPE = 'job=~"$job", site=~"$site"'
"""Exporter-wide series: the chosen jobs and sites."""
DEVICES = f'{SCOPE}, target=~"$target"'
"""Per-device series on a fleet dashboard: the chosen jobs, sites and devices."""
DEVICE = f'{SCOPE}, target="$target"'
"""Per-device series on the device dashboard: the one device."""
IDENTITY = 'location=~"$location", manufacturer=~"$manufacturer", model=~"$model"'
"""The identity filters, which only `printer_info` can answer."""

INFO = f"printer_info{{{DEVICES}, {IDENTITY}}}"
"""The chosen devices that answer now (a device that does not has no printer_info)."""


def chosen(expr: str) -> str:
    """`expr` kept to the chosen devices that answer (an inner join on identity)."""
    return f"({expr}) and on ({KEYS}) {INFO}"


def chosen_or_down(expr: str) -> str:
    """`expr` kept to the chosen devices, and to every device that is down now.

    A device that does not answer has no printer_info to filter on. This form is for
    graphs over a range, where looking back for an identity at every step would cost a
    day of samples per device per step: a down device passes the identity filters.
    """
    return f"({expr}) and on ({KEYS}) ({INFO} or on ({KEYS}) (printer_up{{{DEVICES}}} == 0))"


def chosen_last_seen(expr: str) -> str:
    """`expr` kept to the chosen devices, judged by the identity each one had when it last
    answered in the past day; a device never read in that day passes every identity filter.

    For instant panels about devices that may be down (how many, which): one look back.
    """
    seen = f"last_over_time(printer_info{{{DEVICES}}}[1d])"
    unread = f"(printer_up{{{DEVICES}}} unless on ({KEYS}) {seen})"
    matching = f"last_over_time({INFO}[1d])"
    return f"({expr}) and on ({KEYS}) ({matching} or on ({KEYS}) {unread})"


def _query_variable(
    name: str,
    label: str,
    query: str,
    *,
    multi: bool = True,
    regex: str = "",
) -> Json:
    variable: Json = {
        "type": "query",
        "name": name,
        "label": label,
        "datasource": DATASOURCE,
        "query": {"query": query, "refId": name},
        "definition": query,
        "refresh": 2,
        "includeAll": multi,
        "multi": multi,
    }
    if multi:
        variable["allValue"] = ".*"
    if regex:
        variable["regex"] = regex
    variable |= {"current": {}, "hide": 0, "sort": 1, "options": []}
    return variable


DATASOURCE_VARIABLE: Json = {
    "type": "datasource",
    "name": "DS_PROMETHEUS",
    "label": "Data source",
    "query": "prometheus",
    "current": {},
    "hide": 0,
    "refresh": 1,
    "regex": "",
    "options": [],
}

TARGET_TEXT = r'/^(?=.*\bdevice="(?<text>[^"]*)")(?=.*\btarget="(?<value>[^"]*)")/'
"""Picks the device list's text (name · model · address) and value (the address) out of
Grafana's `query_result` lines, whatever order the labels come in."""


def target_query(selector: str) -> str:
    """The device picker's query: each chosen printer_info with a `device` label that joins
    sysName, model and address, so the list reads "reception · ECOSYS P3145dn · 10.0.0.7:161"."""
    return f'query_result(label_join({selector}, "device", " · ", "name", "model", "target"))'


def variables(*, one_device: bool = False) -> list[Json]:
    """The variables of every dashboard, each narrowing the next: job, site, location,
    manufacturer, model, then the device picker. `one_device` makes the picker a single
    choice (the device dashboard); elsewhere it is multi-valued with All."""
    info = "printer_info{" + SCOPE
    return [
        DATASOURCE_VARIABLE,
        _query_variable("job", "Job", "label_values(printer_up, job)"),
        _query_variable("site", "Site", 'label_values(printer_up{job=~"$job"}, site)'),
        _query_variable("location", "Location", f"label_values({info}}}, location)"),
        _query_variable(
            "manufacturer",
            "Manufacturer",
            f'label_values({info}, location=~"$location"}}, manufacturer)',
        ),
        _query_variable(
            "model",
            "Model",
            f'label_values({info}, location=~"$location", manufacturer=~"$manufacturer"}}, model)',
        ),
        _query_variable(
            "target",
            "Device",
            target_query(f"printer_info{{{SCOPE}, {IDENTITY}}}"),
            multi=not one_device,
            regex=TARGET_TEXT,
        ),
    ]
