"""The few Grafana JSON shapes our dashboards use, as typed functions.

Grafana's own SDK would bring a dependency and its own idea of every default; these
functions write exactly the keys our dashboards have always had, so a panel reads the
same whether it was written by hand or here, and `generate.py --check` can hold the
committed JSON to the code byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Json = dict[str, Any]

DATASOURCE: Json = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
"""Every panel and query variable reads the data source the DS_PROMETHEUS variable picks."""

DEVICE_LINK = (
    "/d/printer-device/printer-device?var-job=${job}&var-site=${site}"
    "&var-target=${__value.raw}&${__url_time_range}"
)
"""Where a click on a `target` cell goes: the device dashboard, on that device."""

HIDDEN_COLUMNS = ("Time", "__name__", "job", "instance")
"""Columns every table hides: Prometheus's bookkeeping, not the reader's business."""

Step = tuple[str, float | None]
"""A threshold step: colour, and the value it starts at (None: from minus infinity)."""


@dataclass(frozen=True, slots=True)
class Query:
    """One PromQL target of a panel: instant for stats and tables, a range for graphs."""

    expr: str
    legend: str = "__auto"
    instant: bool = True
    table: bool = False

    def json(self, ref_id: str) -> Json:
        return {
            "datasource": DATASOURCE,
            "expr": self.expr,
            "refId": ref_id,
            "legendFormat": self.legend,
            "range": not self.instant,
            "instant": self.instant,
            "format": "table" if self.table else "time_series",
        }


@dataclass(slots=True)
class Panel:
    """A panel before layout: everything but its id and place on the grid."""

    type: str
    title: str
    description: str
    queries: Sequence[Query]
    field_config: Json
    options: Json
    transformations: list[Json] = field(default_factory=list)
    interval: str | None = None

    def json(self, panel_id: int, pos: Json) -> Json:
        out: Json = {
            "id": panel_id,
            "type": self.type,
            "title": self.title,
            "description": self.description,
            "datasource": DATASOURCE,
            "gridPos": pos,
            "targets": [q.json(chr(ord("A") + i)) for i, q in enumerate(self.queries)],
            "fieldConfig": self.field_config,
            "options": self.options,
        }
        if self.transformations:
            out["transformations"] = self.transformations
        if self.interval:
            out["interval"] = self.interval
        return out


def _thresholds(steps: Sequence[Step]) -> Json:
    return {
        "mode": "absolute",
        "steps": [{"color": color, "value": value} for color, value in steps],
    }


def stat(
    title: str,
    description: str,
    query: Query,
    *,
    unit: str = "none",
    steps: Sequence[Step] = (("blue", None),),
    mappings: Sequence[Json] = (),
    text_mode: Literal["value", "name"] = "value",
) -> Panel:
    """One number (or state name) on a coloured background."""
    return Panel(
        "stat",
        title,
        description,
        [query],
        {
            "defaults": {
                "unit": unit,
                "mappings": list(mappings),
                "thresholds": _thresholds(steps),
                "color": {"mode": "thresholds"},
            },
            "overrides": [],
        },
        {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "background",
            "graphMode": "none",
            "textMode": text_mode,
            "justifyMode": "auto",
            "orientation": "auto",
        },
    )


def table(
    title: str,
    description: str,
    queries: Sequence[Query],
    *,
    unit: str = "none",
    hide: Iterable[str] = (),
    rename: dict[str, str] | None = None,
    sort_by: str | None = None,
    descending: bool = True,
    link_target: bool = False,
    footer_sum: bool = False,
    merge: bool = False,
    mappings: Sequence[Json] = (),
    overrides: Sequence[Json] = (),
) -> Panel:
    """Rows of labels and values. `merge` joins several queries' rows on equal labels
    (Grafana's Merge transformation), so each query becomes a value column."""
    defaults: Json = {"unit": unit}
    if mappings:
        defaults["mappings"] = list(mappings)
    all_overrides = list(overrides)
    if link_target:
        link = {"title": "Device detail", "url": DEVICE_LINK}
        all_overrides.insert(
            0,
            {
                "matcher": {"id": "byName", "options": "target"},
                "properties": [{"id": "links", "value": [link]}],
            },
        )
    transformations: list[Json] = [{"id": "merge", "options": {}}] if merge else []
    transformations.append(
        {
            "id": "organize",
            "options": {
                "excludeByName": dict.fromkeys([*HIDDEN_COLUMNS, *hide], True),
                "renameByName": rename or {},
            },
        }
    )
    return Panel(
        "table",
        title,
        description,
        [Query(q.expr, q.legend, instant=True, table=True) for q in queries],
        {"defaults": defaults, "overrides": all_overrides},
        {
            "showHeader": True,
            "cellHeight": "sm",
            "footer": {"show": footer_sum, "reducer": ["sum"], "fields": ""},
            "sortBy": [{"displayName": sort_by, "desc": descending}] if sort_by else [],
        },
        transformations,
    )


def timeseries(
    title: str,
    description: str,
    queries: Sequence[Query],
    *,
    unit: str = "none",
    bars: bool = False,
    ratio: bool = False,
    interval: str | None = None,
) -> Panel:
    """Lines (or daily bars) over the dashboard's time range; `ratio` pins the axis to 0..1."""
    defaults: Json = {
        "unit": unit,
        "custom": {
            "drawStyle": "bars" if bars else "line",
            "fillOpacity": 80 if bars else 10,
            "lineWidth": 1,
            "showPoints": "never",
            "spanNulls": False,
        },
    }
    if ratio:
        defaults |= {"min": 0, "max": 1}
    return Panel(
        "timeseries",
        title,
        description,
        [Query(q.expr, q.legend, instant=False) for q in queries],
        {"defaults": defaults, "overrides": []},
        {
            "legend": {
                "displayMode": "table",
                "placement": "right",
                "calcs": ["lastNotNull"],
                "showLegend": True,
            },
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
        interval=interval,
    )


def bargauge(
    title: str,
    description: str,
    query: Query,
    *,
    unit: str = "percentunit",
    steps: Sequence[Step] = (),
    limits: tuple[float, float] | None = (0, 1),
) -> Panel:
    """Horizontal bars, one per series: levels left, days left."""
    defaults: Json = {"unit": unit}
    if limits:
        defaults |= {"min": limits[0], "max": limits[1]}
    if steps:
        defaults["thresholds"] = _thresholds(steps)
    return Panel(
        "bargauge",
        title,
        description,
        [query],
        {"defaults": defaults, "overrides": []},
        {
            "orientation": "horizontal",
            "displayMode": "gradient",
            "showUnfilled": True,
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        },
    )


@dataclass(frozen=True, slots=True)
class Row:
    """A row header spanning the grid."""

    title: str


@dataclass(frozen=True, slots=True)
class At:
    """A panel at a fixed place on the 24-column grid."""

    panel: Panel
    x: int
    y: int
    w: int
    h: int


def layout(items: Sequence[Row | At]) -> list[Json]:
    """Number the panels in order and give each its grid position."""
    out: list[Json] = []
    y = 0
    for panel_id, item in enumerate(items, start=1):
        if isinstance(item, Row):
            out.append(
                {
                    "id": panel_id,
                    "type": "row",
                    "title": item.title,
                    "collapsed": False,
                    "gridPos": {"x": 0, "y": y, "w": 24, "h": 1},
                    "panels": [],
                }
            )
            y += 1
        else:
            pos = {"x": item.x, "y": item.y, "w": item.w, "h": item.h}
            out.append(item.panel.json(panel_id, pos))
            y = max(y, item.y + item.h)
    return out


class Grid:
    """Places panels left to right, a new line when one does not fit: rows and panels in
    reading order, without hand-counted coordinates."""

    def __init__(self) -> None:
        self.items: list[Row | At] = []
        self._x = 0
        self._y = 0
        self._line = 0

    def row(self, title: str) -> None:
        self._newline()
        self.items.append(Row(title))
        self._y += 1

    def add(self, panel: Panel, w: int, h: int) -> None:
        if self._x + w > 24:
            self._newline()
        self.items.append(At(panel, self._x, self._y, w, h))
        self._x += w
        self._line = max(self._line, h)

    def _newline(self) -> None:
        self._y += self._line
        self._x = 0
        self._line = 0


def dashboard(
    *,
    uid: str,
    title: str,
    description: str,
    links: Sequence[Json],
    variables: Sequence[Json],
    panels: list[Json],
    time_from: str = "now-24h",
) -> Json:
    """The whole dashboard, importable as it is, both ways: `__inputs` lets Grafana's import
    wizard ask which Prometheus to use, and the DS_PROMETHEUS data source variable serves
    file provisioning, which ignores `__inputs` and starts on the default data source."""
    return {
        "__inputs": [
            {
                "name": "DS_PROMETHEUS",
                "label": "Prometheus",
                "description": "The Prometheus that scrapes printer-exporter",
                "type": "datasource",
                "pluginId": "prometheus",
                "pluginName": "Prometheus",
            }
        ],
        "id": None,
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["printer-exporter", "printers"],
        "timezone": "",
        "editable": True,
        "graphTooltip": 1,
        "refresh": "1m",
        "schemaVersion": 39,
        "version": 1,
        "time": {"from": time_from, "to": "now"},
        "timepicker": {},
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "weekStart": "",
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                }
            ]
        },
        "links": list(links),
        "templating": {"list": list(variables)},
        "panels": panels,
    }


def link(title: str, uid: str, *, include_vars: bool = True) -> Json:
    """A link in the dashboard's header to another of ours, keeping the time range."""
    return {
        "title": title,
        "type": "link",
        "url": f"/d/{uid}/{uid}",
        "icon": "dashboard",
        "keepTime": True,
        "includeVars": include_vars,
        "targetBlank": False,
        "tags": [],
        "asDropdown": False,
        "tooltip": "",
    }
