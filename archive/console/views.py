"""What each console page shows, read from the database: plain values for the templates.

    agents_view(engine, now)                      -> AgentsView (health verdicts)
    devices_view(engine, agent, text, limit)      -> DevicesView (latest snapshot each)
    device_view(engine, agent, target, start, end) -> DeviceDetail | None

Each function is one or a few short read transactions, run in a worker thread
by the page handlers. Stored documents are read with `documents.read_document`,
which never raises: what a site sent cannot break a page.

Health. An agent's verdict comes from what the archive saw of it, against the
defaults a site runs with (upload every 15 min, check-in every hour):
`error` when it never uploaded in a day, has not checked in for a day, or its
last config failed; `warning` when an upload is over an hour late, a check-in
over three hours, or a published config is not confirmed yet; `unknown` when it
was never seen; else `ok`. An announced release it does not run is a note.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from sqlalchemy import Engine, and_, func, select
from sqlalchemy.sql.selectable import ScalarSelect, Select

from archive import billing, db, store
from archive.console.documents import DeviceView, read_document
from archive.store import AgentInfo
from archive.tables import agents, counter_events, meter_reads, snapshots

UPLOAD_LATE: Final = timedelta(hours=1)
UPLOAD_SILENT: Final = timedelta(hours=24)
CHECKIN_LATE: Final = timedelta(hours=3)
CHECKIN_SILENT: Final = timedelta(hours=24)
LAST_GOOD_LOOKBACK: Final = 20
"""Snapshots searched back for a down device's last good one (newest first)."""
LAST_GOOD_LOOKUPS: Final = 200
"""Down devices per page whose last good snapshot is looked up: bounds a page's queries."""
MAX_HISTORY_READS: Final = 200_000
"""Meter reads one device page reads at most (a year of 15-minute uploads, 5 counters)."""
_RANK: Final = {"ok": 0, "note": 0, "unknown": 1, "warning": 2, "error": 3}


# --- agents -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Health:
    verdict: str
    """ok, unknown, warning or error: a class name, from this fixed list."""
    reasons: tuple[tuple[str, str], ...]
    """(level, text): level is note, warning or error."""


@dataclass(frozen=True, slots=True)
class AgentRow:
    info: AgentInfo
    health: Health


@dataclass(frozen=True, slots=True)
class AgentsView:
    rows: tuple[AgentRow, ...]
    release: str | None

    @property
    def counts(self) -> dict[str, int]:
        """Agents per verdict, every verdict present."""
        counts = dict.fromkeys(("ok", "warning", "error", "unknown"), 0)
        for row in self.rows:
            counts[row.health.verdict] += 1
        return counts


def ago(delta: timedelta) -> str:
    """`5 min`, `3 h`, `2 d`: how long, for a reason line."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def health(info: AgentInfo, release: str | None, now: datetime) -> Health:
    """An agent's verdict and its reasons (the module docstring has the rules). Pure."""
    reasons: list[tuple[str, str]] = []
    if info.last_checkin_at is None and info.last_upload_at is None:
        return Health("unknown", (("warning", "never checked in or uploaded"),))
    if info.last_upload_at is None:
        reasons.append(("warning", "checks in, but has uploaded nothing yet"))
    else:
        quiet = now - info.last_upload_at
        if quiet > UPLOAD_SILENT:
            reasons.append(("error", f"no upload for {ago(quiet)}"))
        elif quiet > UPLOAD_LATE:
            reasons.append(("warning", f"last upload {ago(quiet)} ago"))
    if info.last_checkin_at is None:
        reasons.append(("warning", "uploads, but has never checked in"))
    else:
        quiet = now - info.last_checkin_at
        if quiet > CHECKIN_SILENT:
            reasons.append(("error", f"no check-in for {ago(quiet)}"))
        elif quiet > CHECKIN_LATE:
            reasons.append(("warning", f"last check-in {ago(quiet)} ago"))
    if info.config_status == "failed":
        reasons.append(
            ("error", f"config v{info.config_version} failed: {info.config_error or 'no reason'}")
        )
    elif info.published_version is not None and (
        info.config_version is None or info.config_version < info.published_version
    ):
        applied = f"v{info.config_version}" if info.config_version is not None else "none"
        reasons.append(
            ("warning", f"config v{info.published_version} not confirmed yet (applied: {applied})")
        )
    if release and info.agent_version and info.agent_version != release:
        reasons.append(("note", f"runs {info.agent_version}; {release} is announced"))
    worst = max((_RANK[level] for level, _ in reasons), default=0)
    verdict = {0: "ok", 1: "unknown", 2: "warning", 3: "error"}[worst]
    return Health(verdict, tuple(reasons))


def agents_view(engine: Engine, now: datetime) -> AgentsView:
    release = store.get_release(engine)
    rows = tuple(AgentRow(info, health(info, release, now)) for info in store.list_agents(engine))
    return AgentsView(rows, release)


def agent_names(engine: Engine) -> list[str]:
    with db.read(engine) as conn:
        return [str(n) for n in conn.execute(select(agents.c.name).order_by(agents.c.name))]


# --- devices ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeviceRow:
    agent: str
    latest: DeviceView
    shown: DeviceView
    """What the row shows: the latest snapshot, or the last good one while it is down."""

    @property
    def stale(self) -> bool:
        return self.shown is not self.latest


@dataclass(frozen=True, slots=True)
class DevicesView:
    rows: tuple[DeviceRow, ...]
    total: int
    """Devices that match, before the page limit."""
    agents: tuple[str, ...]


def _agent_id(name: str) -> ScalarSelect[int]:
    return select(agents.c.id).where(agents.c.name == name).scalar_subquery()


def _latest_query(agent: str | None, target: str | None = None) -> Select[Any]:
    """Each (agent, target)'s newest snapshot: agent name, target, id, document."""
    newest = select(
        snapshots.c.agent_id, snapshots.c.target, func.max(snapshots.c.taken_at).label("at")
    )
    if agent is not None:
        newest = newest.where(
            snapshots.c.agent_id
            == select(agents.c.id).where(agents.c.name == agent).scalar_subquery()
        )
    if target is not None:
        newest = newest.where(snapshots.c.target == target)
    newest_sq = newest.group_by(snapshots.c.agent_id, snapshots.c.target).subquery()
    return (
        select(agents.c.name, snapshots.c.target, snapshots.c.id, snapshots.c.document)
        .join(
            newest_sq,
            and_(
                snapshots.c.agent_id == newest_sq.c.agent_id,
                snapshots.c.target == newest_sq.c.target,
                snapshots.c.taken_at == newest_sq.c.at,
            ),
        )
        .join(agents, agents.c.id == snapshots.c.agent_id)
        .order_by(agents.c.name, snapshots.c.target, snapshots.c.id.desc())
    )


def _last_good(engine: Engine, agent: str, target: str) -> DeviceView | None:
    """The newest reachable snapshot among a device's last few, or None."""
    query = (
        select(snapshots.c.document)
        .join(agents, agents.c.id == snapshots.c.agent_id)
        .where(agents.c.name == agent, snapshots.c.target == target)
        .order_by(snapshots.c.taken_at.desc(), snapshots.c.id.desc())
        .limit(LAST_GOOD_LOOKBACK)
    )
    with db.read(engine) as conn:
        for (document,) in conn.execute(query):
            view = read_document(str(document), target)
            if view.reachable:
                return view
    return None


def _matches(agent: str, view: DeviceView, needle: str) -> bool:
    fields = (agent, view.target, view.manufacturer, view.model, view.serial, view.location)
    return any(needle in field.casefold() for field in fields if field)


def devices_view(engine: Engine, agent: str | None, text: str | None, limit: int) -> DevicesView:
    """Every device's latest snapshot, filtered by agent and by a text in its agent,
    target, manufacturer, model, serial or location; at most `limit` rows."""
    with db.read(engine) as conn:
        found = conn.execute(_latest_query(agent)).all()
    needle = (text or "").strip().casefold()
    rows: list[DeviceRow] = []
    total, lookups = 0, 0
    for (name, target), group in itertools.groupby(found, key=lambda r: (r[0], r[1])):
        first = next(group)
        latest = read_document(str(first[3]), str(target))
        shown = latest
        if not latest.reachable and lookups < LAST_GOOD_LOOKUPS:
            lookups += 1
            shown = _last_good(engine, str(name), str(target)) or latest
        if needle and not (
            _matches(str(name), shown, needle) or _matches(str(name), latest, needle)
        ):
            continue
        total += 1
        if len(rows) < limit:
            rows.append(DeviceRow(str(name), latest, shown))
    return DevicesView(tuple(rows), total, tuple(agent_names(engine)))


# --- one device ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DayRow:
    day: date
    last_value: int
    readings: int
    pages: int
    flags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MeterHistory:
    counter: str
    unit: str
    usage: billing.Usage
    days: tuple[DayRow, ...]


@dataclass(frozen=True, slots=True)
class EventRow:
    at: datetime
    kind: str
    counter: str
    previous: int | None
    current: int | None
    detail: str | None


@dataclass(frozen=True, slots=True)
class DeviceDetail:
    agent: str
    row: DeviceRow
    meters: tuple[MeterHistory, ...]
    """One per counter and unit with a reading in the period."""
    events: tuple[EventRow, ...]
    truncated: bool
    """The period had more than MAX_HISTORY_READS reads: the newest are left out."""


def device_view(
    engine: Engine, agent: str, target: str, start: datetime, end: datetime
) -> DeviceDetail | None:
    """A device's latest snapshot and its meter history in [start, end), or None."""
    with db.read(engine) as conn:
        found = conn.execute(_latest_query(agent, target)).first()
    if found is None:
        return None
    latest = read_document(str(found[3]), target)
    shown = latest if latest.reachable else (_last_good(engine, agent, target) or latest)
    where_reads = and_(
        meter_reads.c.agent_id
        == select(agents.c.id).where(agents.c.name == agent).scalar_subquery(),
        meter_reads.c.target == target,
        meter_reads.c.taken_at >= start,
        meter_reads.c.taken_at < end,
    )
    reads_query = (
        select(
            meter_reads.c.counter, meter_reads.c.unit, meter_reads.c.taken_at, meter_reads.c.value
        )
        .where(where_reads)
        .order_by(
            meter_reads.c.counter, meter_reads.c.unit, meter_reads.c.taken_at, meter_reads.c.id
        )
        .limit(MAX_HISTORY_READS + 1)
    )
    events_query = (
        select(
            counter_events.c.taken_at,
            counter_events.c.kind,
            counter_events.c.counter,
            counter_events.c.previous,
            counter_events.c.current,
            counter_events.c.detail,
        )
        .join(agents, agents.c.id == counter_events.c.agent_id)
        .where(
            agents.c.name == agent,
            counter_events.c.target == target,
            counter_events.c.taken_at >= start,
            counter_events.c.taken_at < end,
        )
        .order_by(counter_events.c.taken_at, counter_events.c.id)
        .limit(1000)
    )
    with db.read(engine) as conn:
        reads = conn.execute(reads_query).all()
        events = tuple(
            EventRow(r[0], str(r[1]), str(r[2]), r[3], r[4], r[5])
            for r in conn.execute(events_query)
        )
    truncated = len(reads) > MAX_HISTORY_READS
    withheld: dict[str, list[datetime]] = defaultdict(list)
    for event in events:
        if event.kind == "decrease":
            withheld[event.counter].append(event.at)
    meters = tuple(
        history(
            str(counter),
            str(unit),
            [billing.Reading(r[2], int(r[3])) for r in group],
            withheld.get(str(counter), []),
        )
        for (counter, unit), group in itertools.groupby(
            reads[:MAX_HISTORY_READS], key=lambda r: (r[0], r[1])
        )
    )
    return DeviceDetail(agent, DeviceRow(agent, latest, shown), meters, events, truncated)


def history(
    counter: str, unit: str, readings: list[billing.Reading], withheld: list[datetime]
) -> MeterHistory:
    """One meter's period, and its days: each UTC day with a reading, its last value and
    the pages of the steps that end in it (billing's rules, so the days add up to the
    period's pages)."""
    ordered = sorted(readings, key=lambda r: r.at)
    days: list[DayRow] = []
    previous: billing.Reading | None = None
    for day, group in itertools.groupby(ordered, key=lambda r: r.at.astimezone(UTC).date()):
        chunk = list(group)
        span = [previous, *chunk] if previous is not None else chunk
        low = span[0].at
        in_span = [t for t in withheld if (low < t if previous else low <= t) and t <= chunk[-1].at]
        used = billing.usage(span, in_span)
        days.append(DayRow(day, chunk[-1].value, len(chunk), used.pages, used.flags))
        previous = chunk[-1]
    return MeterHistory(counter, unit, billing.usage(ordered, withheld), tuple(days))
