"""Score snapshots of the shared corpus of real recordings against what their sources assert.

The corpus (`../shared/corpus`, not ours to ship) holds recordings of real
printers and the values that other projects' tests assert for them. This
module only compares; `test_corpus.py` serves the recordings with snmpsim and
`report.py` prints the accuracy table.

What is compared, and why only that:
- manufacturer, against the corpus annotation (every recording);
- `total`, wherever the recording holds prtMarkerLifeCount: against the
  LibreNMS assertion where there is one, else against the raw value;
- model and serial, where a source asserts them (LibreNMS `hardware` and
  `serial`, bieniu/brother `model`/`serial`, PrintMaster's hrDeviceDescr and
  serial checks);
- raw supply levels, and percentages only where level >= 0 and max > 0
  (LibreNMS invents 50 % for -3, which we deliberately do not);
- the MAC, against LibreNMS's interface table.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exporter.model import Snapshot
from exporter.readers.manufacturer import normalize_manufacturer
from exporter.readers.vendors import BRAND_PARENT
from exporter.snmp.memory import load_snmprec
from exporter.snmp.types import Oid, SnmpValue, parse_oid

LIFE_COUNT: Oid = (1, 3, 6, 1, 2, 1, 43, 10, 2, 1, 4)


def corpus_dir() -> Path:
    env = os.environ.get("PRINTER_EXPORTER_CORPUS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "corpus"


@dataclass(frozen=True)
class Recording:
    name: str
    path: Path
    vendor: str
    model: str
    expected: dict[str, Any]
    values: dict[Oid, SnmpValue] = field(repr=False)

    @property
    def life_counts(self) -> dict[Oid, SnmpValue]:
        return {o: v for o, v in self.values.items() if o[: len(LIFE_COUNT)] == LIFE_COUNT}


def load_recordings(root: Path | None = None) -> list[Recording]:
    root = root or corpus_dir()
    out = []
    lines = (root / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    for line in lines[1:]:
        row = dict(zip(header, line.split("\t"), strict=False))
        path = root / row["recording_path"]
        expected_path = root / "expected" / f"{row['name']}.json"
        doc = (
            json.loads(expected_path.read_text(encoding="utf-8")) if expected_path.exists() else {}
        )
        out.append(
            Recording(
                name=row["name"],
                path=path,
                vendor=row["vendor"],
                model=row["model"],
                expected=doc.get("expected") or {},
                values=load_snmprec(path),
            )
        )
    return out


@dataclass(frozen=True)
class Check:
    recording: str
    field: str
    expected: Any
    actual: Any
    ok: bool


def vendor_matches(ours: str | None, annotation: str) -> bool:
    """An annotation such as 'Develop (Konica Minolta OEM)' accepts the brand or its parent."""
    if ours is None:
        return False
    accepted = set()
    for part in annotation.replace("(", "/").replace(")", "").split("/"):
        text = part.replace("OEM", "").strip()
        name = normalize_manufacturer(text)
        if name:
            accepted.add(name)
            accepted.add(BRAND_PARENT.get(name, name))
    return ours in accepted or BRAND_PARENT.get(ours, ours) in accepted


def _loose(a: str, b: str) -> bool:
    x, y = a.casefold().strip(), b.casefold().strip()
    return bool(x) and bool(y) and (x in y or y in x)


def evaluate(rec: Recording, snap: Snapshot) -> list[Check]:
    checks: list[Check] = []
    ident = snap.identity

    def add(name: str, expected: Any, actual: Any, ok: bool) -> None:
        checks.append(Check(rec.name, name, expected, actual, ok))

    add("reachable", True, snap.reachable, snap.reachable)
    add(
        "manufacturer",
        rec.vendor,
        ident.manufacturer,
        vendor_matches(ident.manufacturer, rec.vendor),
    )

    total = snap.counter("total")
    asserted = [
        pc
        for pc in rec.expected.get("page_counters", [])
        if pc.get("sensor_index") == "prtMarkerLifeCount"
    ]
    if asserted:
        want = sum(int(pc["value"]) for pc in asserted)
        add("total", want, total and total.value, total is not None and total.value == want)
    elif rec.life_counts:
        raw = [v for v in rec.life_counts.values() if isinstance(v, int) and v >= 0]
        want_raw = sum(raw) if raw else None
        add("total", want_raw, total and total.value, total is not None and total.value == want_raw)

    device = rec.expected.get("device") or {}
    hardware = device.get("hardware") or device.get("model")
    if isinstance(hardware, str) and hardware and "private" not in hardware:
        add(
            "model",
            hardware,
            ident.model,
            ident.model is not None and _loose(hardware, ident.model),
        )
    serial = device.get("serial")
    if isinstance(serial, str) and serial and "private" not in serial and serial != "serial_number":
        add("serial", serial, ident.serial, ident.serial == serial)

    for check in rec.expected.get("checks", []):
        oid = check.get("oid")
        if oid == "1.3.6.1.2.1.25.3.2.1.3.1" and check.get("non_empty"):
            add("model", "non-empty", ident.model, bool(ident.model))
        elif oid == "1.3.6.1.2.1.25.3.2.1.3.1":
            wanted = [
                w
                for w in check.get("contains_any") or [check.get("equals") or check.get("contains")]
                if w
            ]
            if wanted:
                ok = any(_loose(str(w), ident.model or "") for w in wanted)
                add("model", wanted, ident.model, ok)
        elif oid == "1.3.6.1.2.1.43.5.1.1.17.1" and "equals" in check:
            add("serial", check["equals"], ident.serial, ident.serial == check["equals"])

    checks.extend(_supply_checks(rec, snap))
    macs = {
        str(i["ifPhysAddress"]).lower()
        for i in rec.expected.get("interfaces", [])
        if i.get("ifPhysAddress") and i.get("ifType") in ("ethernetCsmacd", "ieee80211")
    }
    if macs:
        ours = (ident.mac or "").replace(":", "")
        add("mac", sorted(macs), ident.mac, ours in macs)
    return checks


def _supply_checks(rec: Recording, snap: Snapshot) -> Iterable[Check]:
    by_index = {s.index: s for s in snap.supplies}
    for row in rec.expected.get("supplies", []):
        oid = parse_oid(row["supply_oid"])
        if oid[:11] != (1, 3, 6, 1, 2, 1, 43, 11, 1, 1, 9):
            continue  # a vendor-OID supply: the vendor-profile work compares those
        raw = rec.values.get(oid)
        ours = by_index.get(oid[-1])
        got = ours.raw_level if ours else None
        yield Check(rec.name, "supply_raw_level", raw, got, raw == got)
        max_raw = rec.values.get((*oid[:10], 8, *oid[11:]))
        if isinstance(raw, int) and isinstance(max_raw, int) and raw >= 0 and max_raw > 0:
            want = row["supply_current"]
            pct = (
                None
                if ours is None or ours.remaining_ratio is None
                else round(ours.remaining_ratio * 100)
            )
            yield Check(rec.name, "supply_percent", want, pct, pct == want)


def accuracy_table(checks: Iterable[Check]) -> str:
    """Markdown: per field, how many checks passed."""
    by_field: dict[str, list[Check]] = defaultdict(list)
    for c in checks:
        by_field[c.field].append(c)
    lines = ["| field | passed | checked | accuracy |", "|---|---|---|---|"]
    for name in sorted(by_field):
        group = by_field[name]
        ok = sum(c.ok for c in group)
        lines.append(f"| {name} | {ok} | {len(group)} | {100 * ok / len(group):.1f} % |")
    return "\n".join(lines)


def misses(checks: Iterable[Check]) -> str:
    return "\n".join(
        f"- {c.recording}: {c.field} expected {c.expected!r}, got {c.actual!r}"
        for c in checks
        if not c.ok
    )
