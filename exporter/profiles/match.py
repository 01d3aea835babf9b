"""Choose the vendor profile for a device, and say why.

A profile has one or more match rules. A rule holds when every condition it
names holds (each list condition means "any of"):

- `manufacturer`: the identity's manufacturer (canonical name, readers/vendors.py)
  is listed, or its engine maker is (`BRAND_PARENT`: Lanier -> Ricoh, UTAX ->
  Kyocera, Develop -> Konica Minolta);
- `enterprise`: the sysObjectID's enterprise number is listed;
- `sys_object_id`: the sysObjectID starts with one of the listed OIDs;
- `sys_descr`: the regex is found in sysDescr;
- `model`: the regex is found in the identity's model.

**Precedence: the most specific rule wins.** Rules are ranked by what they
name, compared in this order:

1. a `model` regex;
2. a `sys_descr` regex;
3. a `sys_object_id` prefix, the longer the more specific;
4. a `manufacturer` named exactly (an OEM brand listed as itself) over one
   reached through its engine maker;
5. an `enterprise` number;
6. the profile's `priority` (default 0), then its name, so the choice is
   always deterministic.

**Veto.** sysObjectIDs are the weakest evidence of who made a device (an HP
JetDirect OID in a Brother, Lexmark's 641 in a Toshiba; see
docs/research/identity.md). A rule that names only `enterprise` or
`sys_object_id` is therefore ignored when the identity names a manufacturer
that is not among the profile's `vendors` (or their engine makers).

No match means the standard Printer-MIB readers alone serve the device.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from exporter.model import Identity
from exporter.profiles.model import Database, MatchRule, Profile
from exporter.readers.manufacturer import enterprise_number
from exporter.readers.vendors import parent_manufacturer
from exporter.snmp.types import Oid, format_oid, parse_oid

Score = tuple[int, int, int, int, int, int]


@dataclass(frozen=True, slots=True)
class Candidate:
    profile: str
    rule: int
    score: Score
    why: str


@dataclass(frozen=True, slots=True)
class Match:
    """The chosen profile, the rule that chose it, and every other rule that also held."""

    profile: Profile
    rule: int
    reason: str
    candidates: tuple[Candidate, ...]
    vetoed: tuple[str, ...] = ()


def _oid(text: str | None) -> Oid | None:
    if not text:
        return None
    try:
        return parse_oid(text)
    except ValueError:
        return None


def _maker_score(rule: MatchRule, manufacturer: str | None) -> tuple[int, str] | None:
    """2 for the brand itself, 1 through its engine maker, None when the rule's makers differ."""
    if manufacturer is None:
        return None
    if manufacturer in rule.manufacturers:
        return 2, f"manufacturer {manufacturer!r}"
    parent = parent_manufacturer(manufacturer)
    if parent in rule.manufacturers:
        return 1, f"manufacturer {manufacturer!r} (engine maker {parent!r})"
    return None


def evaluate_rule(
    rule: MatchRule, profile: Profile, identity: Identity, sys_object_id: Oid | None
) -> tuple[Score, str] | None:
    """The rule's specificity and a human reason, or None when a condition fails."""
    why: list[str] = []
    model_hit = sysdescr_hit = prefix_len = maker = ent = 0
    if rule.model is not None:
        if not identity.model or not rule.model.search(identity.model):
            return None
        model_hit = 1
        why.append(f"model {identity.model!r} ~ /{rule.model.pattern}/")
    if rule.sys_descr is not None:
        if not identity.sys_descr or not rule.sys_descr.search(identity.sys_descr):
            return None
        sysdescr_hit = 1
        why.append(f"sysDescr ~ /{rule.sys_descr.pattern}/")
    if rule.sys_object_ids:
        hits = [p for p in rule.sys_object_ids if sys_object_id and sys_object_id[: len(p)] == p]
        if not hits:
            return None
        best = max(hits, key=len)
        prefix_len = len(best)
        why.append(f"sysObjectID under {format_oid(best)}")
    if rule.manufacturers:
        scored = _maker_score(rule, identity.manufacturer)
        if scored is None:
            return None
        maker, text = scored
        why.append(text)
    if rule.enterprises:
        number = enterprise_number(sys_object_id) if sys_object_id else None
        if number not in rule.enterprises:
            return None
        ent = 1
        why.append(f"enterprise {number}")
    score: Score = (model_hit, sysdescr_hit, prefix_len, maker, ent, profile.priority)
    return score, ", ".join(why)


def _vetoed(rule: MatchRule, profile: Profile, identity: Identity) -> bool:
    if not rule.weak or identity.manufacturer is None:
        return False
    makers = {parent_manufacturer(v) for v in profile.vendors} | set(profile.vendors)
    return (
        identity.manufacturer not in makers
        and parent_manufacturer(identity.manufacturer) not in makers
    )


def match_profile(
    database: Database, identity: Identity, sys_object_id: str | None = None
) -> Match | None:
    """The best profile for this device by the precedence above, or None."""
    oid = _oid(sys_object_id if sys_object_id is not None else identity.sys_object_id)
    candidates: list[tuple[Candidate, Profile]] = []
    vetoed: list[str] = []
    for profile in database.profiles:
        for i, rule in enumerate(profile.match):
            result = evaluate_rule(rule, profile, identity, oid)
            if result is None:
                continue
            if _vetoed(rule, profile, identity):
                vetoed.append(
                    f"{profile.name} rule {i + 1} ({result[1]}): the device names "
                    f"{identity.manufacturer!r}, not a maker this profile serves"
                )
                continue
            candidates.append((Candidate(profile.name, i, result[0], result[1]), profile))
    if not candidates:
        return None
    candidates.sort(key=lambda c: (tuple(-x for x in c[0].score), c[0].profile, c[0].rule))
    best, profile = candidates[0]
    reason = f"{profile.name} rule {best.rule + 1}: {best.why}"
    others = [c for c, _ in candidates[1:]]
    if others:
        runner = others[0]
        reason += (
            f"; more specific than {runner.profile} rule {runner.rule + 1} ({runner.why})"
            if runner.score < best.score
            else f"; tied with {runner.profile}, chosen by name"
        )
    return Match(profile, best.rule, reason, tuple(c for c, _ in candidates), tuple(vetoed))


_RANK_TEXT = re.compile(r"\s+")


def describe_score(score: Score) -> str:
    parts = []
    if score[0]:
        parts.append("model")
    if score[1]:
        parts.append("sysDescr")
    if score[2]:
        parts.append(f"sysObjectID prefix ({score[2]} arcs)")
    if score[3]:
        parts.append("manufacturer" if score[3] == 2 else "manufacturer via engine maker")
    if score[4]:
        parts.append("enterprise")
    if score[5]:
        parts.append(f"priority {score[5]}")
    return _RANK_TEXT.sub(" ", ", ".join(parts) or "nothing")
