"""Stored snapshots as the console shows them: a tolerant reader that never raises. Pure.

    device = read_document(text)      # DeviceView: plain, display-ready values

Why a reader of its own and not `exporter.model`: ingest checks only what
billing reads (`archive.ingest`) and keeps the rest of the document as the
site sent it, so every other field may be missing, of the wrong type, or
hostile. A page must still render, so each field is taken only when it has the
expected type and is otherwise shown as unknown. Text is cleaned for display:
control and bidirectional-override characters become U+FFFD (a model name
must not reorder the text around it) and long values are cut. HTML escaping
is the templates' job (Jinja2 autoescape); values that end up in a class name
(states, severities) are mapped onto fixed word lists here, so no sent text
ever becomes markup or a class.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, get_args

from archive.times import parse_instant
from exporter.model import SUPPLY_STATES as _SUPPLY_STATES
from exporter.model import AlertSeverity, DeviceStatus, PrinterStatus
from exporter.readers.decode import SEVERE_ERRORS

MAX_TEXT: Final = 300
MAX_ITEMS: Final = 200
"""Supplies, alerts, counters or panel lines shown per device (a real one has dozens)."""

SUPPLY_STATES: Final = frozenset(_SUPPLY_STATES)
SEVERITIES: Final = frozenset(get_args(AlertSeverity))
DEVICE_STATES: Final = frozenset(get_args(DeviceStatus))
PRINTER_STATES: Final = frozenset(get_args(PrinterStatus))
"""The exporter's own vocabularies: a word outside them, from a hostile or newer agent, is
shown as unknown rather than trusted into a class name."""
LOW_STATES: Final = frozenset({"low", "empty", "near_full", "full"})
HEADLINE_COUNTERS: Final = ("total", "mono", "color")
"""The meters the device list shows; the device page shows all."""
_UNSAFE_FORMATS: Final = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def clean(value: object, longest: int = MAX_TEXT) -> str | None:
    """A string value ready to show, or None when `value` is not a non-empty string."""
    if not isinstance(value, str):
        return None
    text = "".join(
        "\ufffd" if unicodedata.category(c) in _UNSAFE_FORMATS else c for c in value[: longest * 2]
    ).strip()
    if not text:
        return None
    return text if len(text) <= longest else text[: longest - 1] + "…"


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _ratio(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0.0 <= value <= 1.0 else None


def _word(value: object, allowed: frozenset[str], default: str = "unknown") -> str:
    return value if isinstance(value, str) and value in allowed else default


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value[:MAX_ITEMS] if isinstance(value, list) else []


@dataclass(frozen=True, slots=True)
class CounterView:
    name: str
    value: int
    unit: str


@dataclass(frozen=True, slots=True)
class SupplyView:
    name: str
    kind: str
    colour: str
    """black, cyan, magenta, yellow or other: a class name, from a fixed list."""
    percent: int | None
    state: str
    level: int | None
    max_capacity: int | None
    unit: str | None

    @property
    def word(self) -> str:
        return self.state.replace("_", " ").capitalize()


@dataclass(frozen=True, slots=True)
class AlertView:
    severity: str
    group: str
    code: str
    description: str | None
    location: int | None
    training: str | None


@dataclass(frozen=True, slots=True)
class DeviceView:
    """One stored snapshot, display-ready. `status` is ok, warning, error or down."""

    target: str
    taken_at: datetime | None
    reachable: bool
    error: str | None
    manufacturer: str | None
    model: str | None
    serial: str | None
    location: str | None
    mac: str | None
    firmware: str | None
    sys_name: str | None
    contact: str | None
    asset_number: str | None
    profile: str | None
    device_state: str
    printer_state: str
    errors: tuple[str, ...]
    console: tuple[str, ...]
    counters: tuple[CounterView, ...]
    supplies: tuple[SupplyView, ...]
    alerts: tuple[AlertView, ...]
    warnings: tuple[str, ...]
    status: str
    reason: str
    malformed: bool = False
    """The stored text was not a JSON object: nothing but the target could be read."""

    @property
    def headline(self) -> tuple[CounterView, ...]:
        wanted = {c.name: c for c in self.counters if c.name in HEADLINE_COUNTERS}
        return tuple(wanted[name] for name in HEADLINE_COUNTERS if name in wanted)

    @property
    def lowest_supply(self) -> SupplyView | None:
        """The supply with the least left: the lowest percentage, else one in a low state."""
        known = [s for s in self.supplies if s.percent is not None]
        if known:
            return min(known, key=lambda s: s.percent if s.percent is not None else 101)
        return next((s for s in self.supplies if s.state in LOW_STATES), None)

    @property
    def worst_severity(self) -> str:
        ranks = {"critical": 3, "warning": 2, "warning_binary": 1, "other": 0}
        worst = max(self.alerts, key=lambda a: ranks[a.severity], default=None)
        return worst.severity if worst else "none"

    @property
    def title(self) -> str:
        words = [w for w in (self.manufacturer, self.model) if w]
        return " ".join(words) if words else "Unknown model"


def read_document(text: str, target: str = "") -> DeviceView:
    """A stored `printer-snapshot/1` document (JSON text) as the pages show it."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        doc = None
    if not isinstance(doc, dict):
        return _empty(target)
    identity = _dict(doc.get("identity"))
    status = _dict(doc.get("status"))
    reachable = doc.get("reachable") is True
    try:
        taken_at: datetime | None = parse_instant(doc.get("taken_at"))  # type: ignore[arg-type]
    except ValueError:
        taken_at = None
    errors = tuple(e for e in (clean(x, 60) for x in _list(status.get("errors"))) if e)
    alerts = tuple(a for a in (_alert(x) for x in _list(doc.get("alerts"))) if a)
    device_state = _word(status.get("device"), DEVICE_STATES)
    verdict, reason = _verdict(reachable, clean(doc.get("error")), device_state, errors, alerts)
    return DeviceView(
        target=clean(doc.get("target")) or target,
        taken_at=taken_at,
        reachable=reachable,
        error=clean(doc.get("error")),
        manufacturer=clean(identity.get("manufacturer")),
        model=clean(identity.get("model")),
        serial=clean(identity.get("serial")),
        location=clean(identity.get("location")),
        mac=clean(identity.get("mac")),
        firmware=clean(identity.get("firmware")),
        sys_name=clean(identity.get("sys_name")),
        contact=clean(identity.get("contact")),
        asset_number=clean(identity.get("asset_number")),
        profile=clean(identity.get("profile")),
        device_state=device_state,
        printer_state=_word(status.get("printer"), PRINTER_STATES),
        errors=errors,
        console=tuple(line for line in (clean(x) for x in _list(status.get("console"))) if line),
        counters=tuple(c for c in (_counter(x) for x in _list(doc.get("counters"))) if c),
        supplies=tuple(s for s in (_supply(x) for x in _list(doc.get("supplies"))) if s),
        alerts=alerts,
        warnings=tuple(w for w in (clean(x) for x in _list(doc.get("warnings"))) if w),
        status=verdict,
        reason=reason,
    )


def _empty(target: str) -> DeviceView:
    return DeviceView(
        target=target,
        taken_at=None,
        reachable=False,
        error="the stored snapshot could not be read",
        manufacturer=None,
        model=None,
        serial=None,
        location=None,
        mac=None,
        firmware=None,
        sys_name=None,
        contact=None,
        asset_number=None,
        profile=None,
        device_state="unknown",
        printer_state="unknown",
        errors=(),
        console=(),
        counters=(),
        supplies=(),
        alerts=(),
        warnings=(),
        status="down",
        reason="the stored snapshot could not be read",
        malformed=True,
    )


def _counter(value: object) -> CounterView | None:
    item = _dict(value)
    name, number = clean(item.get("name"), 100), _int(item.get("value"))
    if name is None or number is None:
        return None
    return CounterView(name, number, clean(item.get("unit"), 50) or "")


_INKS: Final = frozenset({"black", "cyan", "magenta", "yellow"})


def _supply(value: object) -> SupplyView | None:
    item = _dict(value)
    if not item:
        return None
    ratio = _ratio(item.get("remaining_ratio"))
    colour = item.get("color")
    return SupplyView(
        name=clean(item.get("description")) or "(unnamed)",
        kind=clean(item.get("type"), 40) or "unknown",
        colour=colour if isinstance(colour, str) and colour in _INKS else "other",
        percent=None if ratio is None else round(ratio * 100),
        state=_word(item.get("state"), SUPPLY_STATES),
        level=_int(item.get("level")),
        max_capacity=_int(item.get("max_capacity")),
        unit=clean(item.get("unit"), 40),
    )


def _alert(value: object) -> AlertView | None:
    item = _dict(value)
    if not item:
        return None
    return AlertView(
        severity=_word(item.get("severity"), SEVERITIES, "other"),
        group=clean(item.get("group"), 60) or "other",
        code=clean(item.get("code"), 60) or "other",
        description=clean(item.get("description")),
        location=_int(item.get("location")),
        training=clean(item.get("training_level"), 40),
    )


def _verdict(
    reachable: bool,
    error: str | None,
    device_state: str,
    errors: tuple[str, ...],
    alerts: tuple[AlertView, ...],
) -> tuple[str, str]:
    """ok, warning, error or down, and why: the exporter pages' rule."""
    if not reachable:
        return "down", error or "no answer"
    severe = sorted(SEVERE_ERRORS.intersection(errors))
    critical = [a for a in alerts if a.severity == "critical"]
    if device_state == "down" or severe or critical:
        reason = ", ".join(e.replace("_", " ") for e in severe) or (
            critical[0].description or critical[0].code if critical else ""
        )
        return "error", reason or "device status down"
    warned = [a for a in alerts if a.severity in ("warning", "warning_binary")]
    if device_state == "warning" or errors or warned:
        reason = ", ".join(e.replace("_", " ") for e in errors)
        return "warning", reason or "device status warning"
    return "ok", ""
