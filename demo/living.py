"""The demo's living printers: the fixtures, with chosen records rewritten to move.

`write_recordings()` copies `tests/fixtures/<name>.snmprec` into the demo's
temp data directory and rewrites (or adds) the records named in `changes()`
as `life` records (demo/variation/life.py), so that while the demo runs:

- the meters rise: prtMarkerLifeCount and prtMarkerPowerOnCount on the HP, the
  Kyocera and the Brother, and the HP's own engine counters (total, mono,
  colour), where colour + mono = total = prtMarkerLifeCount at every step;
- supplies drain: toner, drum and fuser go down, the HP's toner collection unit
  fills (its remaining space goes down), and a supply that reaches 0 is replaced;
- the HP's total wraps at 2^24 after `WRAP_STEPS` steps, as HP engine counters
  do, so the exporter's ledger has a wrap to carry (its exposed total stays
  monotonic);
- the Kyocera jams once per `JAM_CYCLE` steps, for `JAM_LASTS` steps: a
  critical jam row (prtAlertCode 8) appears in prtAlertTable, the jammed bit is
  set in hrPrinterDetectedErrorState, hrDeviceStatus goes down and
  hrPrinterStatus other, and the panel says so; then all of it clears.

Everything is counted in steps of `pace` seconds: the demo uses `DEMO_PACE`
(a step every 5 s: the wrap after 2 minutes, a 45 s jam every 3 minutes), the
tests a fraction of a second. The fixtures themselves are never written to:
they are the test oracles.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from demo.variation.life import evaluate, parse

DEMO_PACE: Final = 5.0
"""Seconds per step in the demo."""
VARIATION_DIR: Final = Path(__file__).resolve().parent / "variation"
"""The directory snmpsim loads the `life` module from (`--variation-modules-dir`)."""

WRAP_WIDTH: Final = 2**24
WRAP_STEPS: Final = 24
"""The HP's total passes 2^24 on this step."""
HP_MONO_STEP: Final = 2
HP_COLOR_STEP: Final = 1
HP_TOTAL_START: Final = WRAP_WIDTH - (HP_MONO_STEP + HP_COLOR_STEP) * WRAP_STEPS + 1
HP_COLOR_START: Final = 6_021_388
KYOCERA_STEP: Final = 2
BROTHER_STEP: Final = 1
JAM_CYCLE: Final = 36
JAM_AT: Final = 6
JAM_LASTS: Final = 9
JAM_ALERT_INDEX: Final = 1
"""The Kyocera's alert table is empty but for the jam, which takes row 1."""

SYS_UPTIME: Final = "1.3.6.1.2.1.1.3.0"
HR_DEVICE_STATUS: Final = "1.3.6.1.2.1.25.3.2.1.5.1"
HR_PRINTER_STATUS: Final = "1.3.6.1.2.1.25.3.5.1.1.1"
HR_ERROR_STATE: Final = "1.3.6.1.2.1.25.3.5.1.2.1"
LIFE_COUNT: Final = "1.3.6.1.2.1.43.10.2.1.4.1.1"
POWER_ON_COUNT: Final = "1.3.6.1.2.1.43.10.2.1.5.1.1"
SUPPLY_LEVEL: Final = "1.3.6.1.2.1.43.11.1.1.9.1"
CONSOLE_LINE: Final = "1.3.6.1.2.1.43.16.5.1.2.1.1"
ALERT_ENTRY: Final = "1.3.6.1.2.1.43.18.1.1"
HP_ENGINE: Final = "1.3.6.1.4.1.11.2.3.9.4.2.1.4.1.2"
"""HP-LASERJET-COMMON-MIB status-prt-eng: .5 total, .6 mono, .7 colour engine pages."""

COUNTER32: Final = "65"


@dataclass(frozen=True, slots=True)
class Record:
    """One snmprec line: OID, type tag, and the value text (a `life` rule when living)."""

    oid: str
    tag: str
    value: str

    def line(self) -> str:
        return f"{self.oid}|{self.tag}|{self.value}"


def life(oid: str, tag: str, **params: object) -> Record:
    """A record that snmpsim evaluates with the `life` module; checked here, not at read time."""
    text = ",".join(f"{key}={value}" for key, value in params.items())
    for value in params.values():
        if any(c in str(value) for c in ",=\n|"):
            raise ValueError(f"life: value {value!r} of {oid} cannot hold , = | or a newline")
    evaluate(parse(text), 0.0)
    return Record(oid, f"{tag}:life", text)


def _hp(pace: float) -> list[Record]:
    """The colour MFP: busy, consistent meters that wrap at 2^24, draining supplies."""
    step = HP_MONO_STEP + HP_COLOR_STEP
    mono_start = HP_TOTAL_START - HP_COLOR_START
    every = {"every": pace}

    def engine(index: int, start: int, by: int) -> Record:
        return life(
            f"{HP_ENGINE}.{index}.0",
            "2",
            kind="count",
            **every,
            start=start,
            step=by,
            wrap=WRAP_WIDTH,
        )

    def drain(index: int, start: int, top: int, by: int, per: int) -> Record:
        return life(
            f"{SUPPLY_LEVEL}.{index}",
            "2",
            kind="drain",
            **every,
            start=start,
            max=top,
            by=by,
            per=per,
        )

    return [
        life(SYS_UPTIME, "67", kind="uptime", start=8641234),
        life(
            LIFE_COUNT,
            COUNTER32,
            kind="count",
            **every,
            start=HP_TOTAL_START,
            step=step,
            wrap=WRAP_WIDTH,
        ),
        life(POWER_ON_COUNT, COUNTER32, kind="count", **every, start=1275, step=step),
        drain(1, 62, 100, 1, 8),  # black; yellow stays at 5 %, as its alert says
        drain(2, 45, 100, 1, 20),  # cyan
        drain(3, 78, 100, 1, 16),  # magenta
        drain(5, 71, 100, 1, 40),  # imaging drum
        drain(6, 102000, 150000, step, 1),  # fuser, in impressions
        drain(7, 88, 100, 1, 10),  # toner collection unit: its space left shrinks
        engine(5, HP_TOTAL_START, step),
        engine(6, mono_start, HP_MONO_STEP),
        engine(7, HP_COLOR_START, HP_COLOR_STEP),
    ]


def _kyocera(pace: float) -> list[Record]:
    """The mono printer: toner in impressions falls with the pages; it jams and recovers."""
    every = {"every": pace}
    when = {"every": pace, "cycle": JAM_CYCLE, "at": JAM_AT, "lasts": JAM_LASTS}
    uptime = 254900118
    row = f"{ALERT_ENTRY}.{{}}.1.{JAM_ALERT_INDEX}"
    return [
        life(SYS_UPTIME, "67", kind="uptime", start=uptime),
        life(HR_DEVICE_STATUS, "2", kind="jam", **when, on=5, off=2),  # down / running
        life(HR_PRINTER_STATUS, "2", kind="jam", **when, on=1, off=3),  # other / idle
        life(HR_ERROR_STATE, "4x", kind="jam", **when, on="04", off="00"),  # jammed bit
        life(LIFE_COUNT, COUNTER32, kind="count", **every, start=31877, step=KYOCERA_STEP),
        life(POWER_ON_COUNT, COUNTER32, kind="count", **every, start=412, step=KYOCERA_STEP),
        life(
            f"{SUPPLY_LEVEL}.1", "2", kind="drain", **every, start=8125, max=12500, by=KYOCERA_STEP
        ),
        life(CONSOLE_LINE, "4", kind="jam", **when, on="Paper jam: open cassette 1", off="Ready"),
        life(row.format(2), "2", kind="jam", **when, on=3),  # severity critical
        life(row.format(3), "2", kind="jam", **when, on=3),  # training: untrained
        life(row.format(4), "2", kind="jam", **when, on=8),  # group: input
        life(row.format(5), "2", kind="jam", **when, on=2),  # Cassette 1
        life(row.format(6), "2", kind="jam", **when, on=-2),  # location unknown
        life(row.format(7), "2", kind="jam", **when, on=8),  # code: jam
        life(row.format(8), "4", kind="jam", **when, on="Paper jam in Cassette 1"),
        life(row.format(9), "67", kind="jam", **when, since=uptime),  # when it began
    ]


def _brother(pace: float) -> list[Record]:
    """The SNMPv3-only printer: a quiet one."""
    every = {"every": pace}
    return [
        life(SYS_UPTIME, "67", kind="uptime", start=3600000),
        life(LIFE_COUNT, COUNTER32, kind="count", **every, start=8321, step=BROTHER_STEP),
        life(f"{SUPPLY_LEVEL}.1", "2", kind="drain", **every, start=40, max=100, by=1, per=10),
        life(f"{SUPPLY_LEVEL}.2", "2", kind="drain", **every, start=82, max=100, by=1, per=30),
    ]


def changes(pace: float = DEMO_PACE) -> dict[str, list[Record]]:
    """Per recording, the records that live; a recording not named here stays as it is."""
    if pace <= 0:
        raise ValueError(f"pace must be a positive number of seconds, not {pace}")
    return {"color_mfp": _hp(pace), "mono_printer": _kyocera(pace), "snmpv3": _brother(pace)}


def describe(pace: float = DEMO_PACE) -> dict[str, str]:
    """What each living recording does at this pace, in words, for the demo to print."""

    def after(steps: int) -> str:
        seconds = steps * pace
        return f"{seconds / 60:g} min" if seconds >= 120 else f"{seconds:g} s"

    return {
        "color_mfp": f"{HP_MONO_STEP} mono + {HP_COLOR_STEP} colour pages a step, toner draining;"
        f" its total wraps at 2^24 after {after(WRAP_STEPS)}",
        "mono_printer": f"{KYOCERA_STEP} pages a step; jams {after(JAM_AT)} in,"
        f" for {after(JAM_LASTS)}, every {after(JAM_CYCLE)}",
        "snmpv3": f"{BROTHER_STEP} page a step; SNMPv3 only (authPriv: SHA-256, AES-128)",
    }


def _key(oid: str) -> tuple[int, ...]:
    return tuple(int(arc) for arc in oid.split("."))


def rewrite(text: str, records: Iterable[Record]) -> str:
    """`text` (a sorted recording) with each record's line replaced, or inserted in OID order."""
    pending = {r.oid: r for r in records}
    out: list[str] = []
    last: tuple[int, ...] = ()
    for line in text.splitlines():
        oid = line.split("|", 1)[0]
        key = _key(oid)
        if key < last:
            raise ValueError(f"{oid} is out of order: only a sorted recording can be rewritten")
        last = key
        for early in sorted((o for o in pending if _key(o) < key), key=_key):
            out.append(pending.pop(early).line())
        record = pending.pop(oid, None)
        out.append(record.line() if record else line)
    out.extend(pending[o].line() for o in sorted(pending, key=_key))
    return "\n".join(out) + "\n"


def write_recordings(
    fixtures: Path, dest: Path, names: Iterable[str], pace: float = DEMO_PACE
) -> Mapping[str, Path]:
    """The living copy of each named recording in `dest`; returns where each one went."""
    dest.mkdir(parents=True, exist_ok=True)
    plan = changes(pace)
    written = {}
    for name in names:
        source = (fixtures / f"{name}.snmprec").read_text(encoding="latin-1")
        target = dest / f"{name}.snmprec"
        records = plan.get(name)
        target.write_text(rewrite(source, records) if records else source, encoding="latin-1")
        written[name] = target
    return written
