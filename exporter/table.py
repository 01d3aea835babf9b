"""A human-readable summary of one snapshot, for `probe --output table`.

Made for a technician at a terminal: who the device is, its meters, a bar per
supply (a sentinel shows as its state, never as a made-up bar), alerts and the
panel text. Plain text, no colour codes, so it pastes into a ticket.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from exporter.model import Snapshot

_BAR = 20


def render(snapshot: Snapshot) -> str:
    lines: list[str] = []
    ident = snapshot.identity
    title = " ".join(p for p in (ident.manufacturer, ident.model) if p) or "unknown device"
    lines.append(f"{title}  ({snapshot.target})")
    if not snapshot.reachable:
        lines.append(f"  unreachable: {snapshot.error}")
        return "\n".join(lines) + "\n"
    for label, value in (
        ("serial", ident.serial),
        ("mac", ident.mac),
        ("firmware", ident.firmware),
        ("color", None if ident.color is None else ("yes" if ident.color else "no")),
        ("name", ident.sys_name),
        ("location", ident.location),
        ("sysDescr", ident.sys_descr),
    ):
        if value:
            lines.append(f"  {label:<9} {value}")
    status = snapshot.status
    lines.append(f"  status    device {status.device}, printer {status.printer}")
    if status.errors:
        lines.append(f"  errors    {', '.join(status.errors)}")
    for cover in status.covers:
        lines.append(f"  cover     {cover.description or cover.index}: {cover.status}")

    if snapshot.counters:
        lines.append("\nMeters")
        for c in snapshot.counters:
            lines.append(f"  {c.name:<16} {c.value:>12,} {c.unit:<12} {c.source}")

    if snapshot.supplies:
        lines.append("\nSupplies")
        for s in snapshot.supplies:
            name = (s.description or s.type)[:30]
            kind = f"{s.type} (space left)" if s.supply_class == "filled" else s.type
            order = "".join(
                f"  {label} {value}"
                for label, value in (("part", s.part_number), ("serial", s.serial))
                if value
            )
            lines.append(f"  {name:<30} {_bar(s.remaining_ratio, s.state)}  {kind}{order}")

    if snapshot.trays:
        lines.append("\nTrays")
        for t in snapshot.trays:
            name = (t.name or f"tray {t.index}")[:30]
            media = f"  {t.media}" if t.media else ""
            lines.append(f"  {name:<30} {_bar(t.remaining_ratio, t.state)}{media}")

    if snapshot.alerts:
        lines.append("\nAlerts")
        for a in snapshot.alerts:
            text = a.description or a.code
            lines.append(f"  {a.severity:<14} {a.group:<16} {a.code:<28} {text}")

    if status.console:
        lines.append("\nPanel")
        lines.extend(f"  | {line}" for line in status.console)

    if snapshot.warnings:
        lines.append("\nAgent warnings")
        lines.extend(f"  - {w}" for w in snapshot.warnings)
    if snapshot.error:
        lines.append(f"\nPoll ended early: {snapshot.error}")
    return "\n".join(lines) + "\n"


def _bar(ratio: float | None, state: str) -> str:
    if ratio is None:
        return f"[{state.replace('_', ' '):^{_BAR}}]     "
    filled = round(ratio * _BAR)
    return f"[{'#' * filled}{'.' * (_BAR - filled)}] {ratio * 100:3.0f}%"


def columns(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Rows under a header, each column as wide as its widest cell: for terminals and tickets."""
    table = [tuple(header), *(tuple(row) for row in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in table
    )
