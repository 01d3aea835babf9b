"""Supplies and forecast: when each toner runs out, and what to ship this week.

The forecast is the recording rule `target_supply:printer_supply_days_to_empty:deriv7d`
(alert_rules/printer.rules.yml): what is left over what a day used in the last week.
It exists only for toner and ink that is being used up.
"""

from __future__ import annotations

from dashboards._grafana import Grid, Json, Panel, Query, bargauge, dashboard, layout, link, stat
from dashboards._grafana import table as grid_table
from dashboards._grafana import timeseries as graph
from dashboards._scope import DEVICES, INFO, KEYS, chosen, variables
from dashboards.fleet import MARKERS

DAYS_TO_EMPTY = "target_supply:printer_supply_days_to_empty:deriv7d"
FORECAST = f"{DAYS_TO_EMPTY}{{{DEVICES}}}"
WHO = f"* on ({KEYS}) group_left (name, manufacturer, model, location) {INFO}"
"""Adds the device's identity, and keeps only the devices the variables choose."""
WHAT = (
    f"* on ({KEYS}, supply) group_left (description, type, color, part_number, serial)"
    f" printer_supply_info{{{DEVICES}}}"
)
"""Adds the supply's description and what to order (part number, cartridge serial)."""
NO_FORECAST = {"type": "special", "options": {"match": "nan", "result": {"text": "no forecast"}}}


def _because(states: str, value: str) -> str:
    """Supplies in one of `states` (the label says which), valued `value` (days left)."""
    return f'((printer_supply_state{{{DEVICES}, state=~"{states}"}} == 1) * {value})'


SHIP = (
    f'(label_replace({FORECAST} < 7, "state", "forecast", "", "")'
    f" or on ({KEYS}, supply) {_because('empty|full', '0')}"
    f" or on ({KEYS}, supply) {_because('low|near_full', 'NaN')})"
    f" {WHAT} {WHO}"
)
"""Every supply to ship this week, valued in days left: forecast to run out within 7 days
(state "forecast"), empty or full now (0 days), or low or nearly full by the device's own
word with no forecast (NaN, shown as "no forecast"). Its `state` column says which."""


def _this_week(grid: Grid) -> None:
    grid.row("This week")
    counted = (
        ("Run out within 7 days", "Toner and ink forecast to be empty within a week.",
         f"{FORECAST} < 7", [("green", None), ("orange", 1)]),
        ("Low or nearly full", "Supplies the device calls low, and receptacles nearly full.",
         f'printer_supply_state{{{DEVICES}, state=~"low|near_full"}} == 1',
         [("green", None), ("orange", 1)]),
        ("Empty or full", "Supplies empty now, and receptacles (waste toner) full.",
         f'printer_supply_state{{{DEVICES}, state=~"empty|full"}} == 1',
         [("green", None), ("red", 1)]),
        ("Supplies with a forecast", "Toner and ink used up fast enough in the last week to"
         " forecast.", FORECAST, [("blue", None)]),
    )  # fmt: skip
    for title, description, expr, steps in counted:
        grid.add(
            stat(title, description, Query(f"count({chosen(expr)}) or vector(0)"), steps=steps),
            6,
            4,
        )
    grid.add(
        grid_table(
            "What to ship this week",
            "Supplies forecast to run out within 7 days at the last week's pace, or empty,"
            " full, low or nearly full now, with what to order (part_number, from the"
            " device's vendor profile; blank when the device does not give one) and where"
            " it goes. `days left` is 0 for empty or full, and 'no forecast' for a supply"
            " the device calls low that is not being used up measurably. Inspect > Data >"
            " Download CSV gives the list as a file.",
            [Query(f"sort({SHIP})")],
            unit="d",
            rename={"Value": "days left", "state": "why"},
            sort_by="days left",
            descending=False,
            link_target=True,
            mappings=[NO_FORECAST],
        ),
        24,
        10,
    )
    grid.add(
        grid_table(
            "To order, by part number",
            "How many of each part this week's list needs. A blank part number is a device"
            " that does not report one: see the list above.",
            [Query(f"count by (part_number, type, color) ({SHIP})")],
            rename={"Value": "count"},
            sort_by="count",
        ),
        12,
        8,
    )
    grid.add(
        grid_table(
            "Supplies without a level",
            "Supplies that report only a state (RFC 3805 sentinels: some remaining, unknown,"
            " unrestricted): they can never be forecast, so check them by eye.",
            [
                Query(
                    f'(printer_supply_state{{{DEVICES}, state=~"some_remaining|unknown"}} == 1)'
                    f" {WHAT} {WHO}"
                )
            ],
            hide=["Value"],
            link_target=True,
        ),
        12,
        8,
    )


def _forecast(grid: Grid) -> None:
    grid.row("Forecast")
    grid.add(
        bargauge(
            "Days to empty, soonest 20",
            "Days until each toner or ink runs out at the pace of the last 7 days.",
            Query(f"bottomk(20, {FORECAST} {WHO})", "{{target}} {{description}}"),
            unit="d",
            steps=[("red", None), ("orange", 7), ("green", 14)],
            limits=(0, 60),
        ),
        12,
        10,
    )
    grid.add(
        grid_table(
            "Days to empty per supply",
            "Every forecast, soonest first, with the device and the supply's part number.",
            [Query(f"sort({FORECAST} {WHAT} {WHO})")],
            unit="d",
            rename={"Value": "days left"},
            sort_by="days left",
            descending=False,
            link_target=True,
        ),
        12,
        10,
    )
    grid.add(_over_time_days(), 12, 8)
    grid.add(
        graph(
            "Toner/ink left, lowest 10",
            "The fraction left of the ten emptiest toner or ink supplies.",
            [
                Query(
                    "bottomk(10, "
                    + chosen(f'printer_supply_remaining_ratio{{{DEVICES}, type=~"{MARKERS}"}}')
                    + ")",
                    "{{target}} {{description}}",
                )
            ],
            unit="percentunit",
            ratio=True,
        ),
        12,
        8,
    )


def _over_time_days() -> Panel:
    return graph(
        "Days to empty over time, soonest 10",
        "How the forecast moved: a rising line is a slower pace (or a new cartridge).",
        [Query(f"bottomk(10, {chosen(FORECAST)})", "{{target}} {{description}}")],
        unit="d",
    )


def build() -> Json:
    grid = Grid()
    _this_week(grid)
    _forecast(grid)
    return dashboard(
        uid="printer-supplies",
        title="Supplies and forecast",
        description="When each toner and ink runs out at last week's pace, and what to ship"
        " this week, with part numbers. Built on printer-exporter metrics and the"
        " days-to-empty recording rule (docs/dashboards.md).",
        links=[
            link("Printer fleet", "printer-fleet"),
            link("Device detail", "printer-device"),
        ],
        variables=variables(),
        panels=layout(grid.items),
        time_from="now-7d",
    )
