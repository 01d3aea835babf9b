"""Billing: pages per device and meter over the dashboard's time range, as tables to export.

`increase(printer_pages_total[$__range])` counts what each meter grew in the range; the
exposed meter only rises across wraps and restarts (docs/metrics.md, "Meter integrity"),
so the count is right across both. increase() extrapolates to the range's edges, so the
meter readings at the start and end are shown too, for a bill that must match the device.
"""

from __future__ import annotations

from dashboards._grafana import Grid, Json, Query, dashboard, layout, link, stat, table
from dashboards._grafana import timeseries as graph
from dashboards._scope import DEVICES, INFO, KEYS, chosen, variables

WHO = f"* on ({KEYS}) group_left (name, manufacturer, model, serial, location, asset_number) {INFO}"
"""Adds what a bill names a device by, and keeps only the devices the variables choose."""
METERS = f'printer_pages_total{{{DEVICES}, counter!="power_on"}}'
"""Every meter but power_on, which resets at each power cycle and bills nothing."""
CSV = " Inspect > Data > Download CSV (panel menu) gives the table as a CSV file."


def _pages(counter: str) -> str:
    """One meter's growth over the range per device, its counter label dropped so that
    queries for different meters give rows Grafana can merge."""
    grown = f'increase(printer_pages_total{{{DEVICES}, counter="{counter}"}}[$__range])'
    return f"sum without (counter) ({grown}) {WHO}"


def _totals(grid: Grid) -> None:
    grid.row("The range")
    for title, counter in (
        ("Pages", "total"),
        ("Mono pages", "mono"),
        ("Colour pages", "color"),
    ):
        expr = f'increase(printer_pages_total{{{DEVICES}, counter="{counter}"}}[$__range])'
        grid.add(
            stat(
                title,
                f"Growth of the `{counter}` meter over the chosen time range, all chosen devices.",
                Query(f"sum({chosen(expr)})"),
            ),
            6,
            4,
        )
    grid.add(
        stat(
            "Devices with a meter",
            "Chosen devices with a lifetime meter read in the range.",
            Query(
                "count("
                + chosen(f'increase(printer_pages_total{{{DEVICES}, counter="total"}}[$__range])')
                + ")"
            ),
        ),
        6,
        4,
    )


def _tables(grid: Grid) -> None:
    grid.row("Per device")
    grid.add(
        table(
            "Pages per device: total, mono, colour",
            "Pages each device printed in the chosen time range, one row per device (and"
            " meter unit). A device without separate mono and colour meters has those"
            " cells blank." + CSV,
            [Query(_pages("total")), Query(_pages("mono")), Query(_pages("color"))],
            rename={"Value #A": "total", "Value #B": "mono", "Value #C": "colour"},
            sort_by="total",
            footer_sum=True,
            merge=True,
        ),
        24,
        10,
    )
    grid.add(
        table(
            "Pages per device by function",
            "Print, copy, fax and scan meters over the range, where the device's profile"
            " reads them (docs/profiles.md)." + CSV,
            [Query(_pages(c)) for c in ("print_total", "copy_total", "fax_total", "scan_total")],
            rename={
                "Value #A": "print",
                "Value #B": "copy",
                "Value #C": "fax",
                "Value #D": "scan",
            },
            footer_sum=True,
            merge=True,
        ),
        24,
        8,
    )
    grid.add(
        table(
            "Pages per device and counter",
            "Every meter's growth over the range, one row per device and counter (the"
            " long form a billing system imports; power_on, which resets, is left out)." + CSV,
            [
                Query(
                    f'increase(printer_pages_total{{{DEVICES}, counter!="power_on"}}[$__range])'
                    f" {WHO}"
                )
            ],
            rename={"Value": "pages"},
            sort_by="pages",
        ),
        24,
        10,
    )
    grid.add(
        table(
            "Meter readings at the start and end of the range",
            "What each meter showed at the start and at the end of the chosen time range,"
            " as a device's own page-count report would, for bills that subtract readings."
            " A meter first read inside the range has no start reading." + CSV,
            [
                Query(f"({METERS} offset $__range) {WHO}"),
                Query(f"{METERS} {WHO}"),
            ],
            rename={"Value #A": "start", "Value #B": "end"},
            merge=True,
        ),
        24,
        10,
    )


def _over_time(grid: Grid) -> None:
    grid.row("Over time")
    grid.add(
        graph(
            "Pages per day, mono and colour",
            "The whole choice's mono and colour meters' growth per day.",
            [
                Query(
                    "sum by (counter) ("
                    + chosen(
                        f'increase(printer_pages_total{{{DEVICES}, counter=~"total|mono|color"}}'
                        "[$__interval])"
                    )
                    + ")",
                    "{{counter}}",
                )
            ],
            bars=True,
            interval="1d",
        ),
        24,
        8,
    )


def build() -> Json:
    grid = Grid()
    _totals(grid)
    _tables(grid)
    _over_time(grid)
    return dashboard(
        uid="printer-billing",
        title="Billing",
        description="Pages per device and meter over the chosen time range, mono and colour"
        " and per function, as tables to download as CSV (Inspect > Data > Download CSV)."
        " Built on printer_pages_total (docs/dashboards.md).",
        links=[
            link("Printer fleet", "printer-fleet"),
            link("Device detail", "printer-device"),
        ],
        variables=variables(),
        panels=layout(grid.items),
        time_from="now-30d",
    )
