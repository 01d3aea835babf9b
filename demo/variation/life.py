"""snmpsim variation module `life`: printer values that move with time, for the demo fleet.

snmpsim loads every `.py` file in a `--variation-modules-dir` and calls
`variate()` for each record tagged `<type>:life`, e.g.

    1.3.6.1.2.1.43.10.2.1.4.1.1|65:life|kind=count,every=5,start=31877,step=2

Why a module of our own rather than snmpsim's `numeric` and `multiplex`: the
meters of one printer must agree with each other (colour + mono = total, the
vendor total = prtMarkerLifeCount, toner in impressions falls by the pages
printed), which `numeric`'s float rates per OID cannot promise; and a jam must
add rows to prtAlertTable and take them away again, which needs a record that
can be absent. So every value here is a pure function of whole *steps* since
the agent was first read (`every` seconds each): two records read in the same step
always agree, and the demo's speed is one number.

Kinds (every number an integer unless said):

- `count`: a meter. `start + step * n`, modulo `wrap` when given (HP engine
  counters roll over at 2^24).
- `drain`: a supply level, or a receptacle's remaining space. Falls by `by`
  every `per` steps from `start`; after 0 the supply is replaced and shows `max`.
- `uptime`: sysUpTime in hundredths of a second: `start + 100 * seconds`
  (not stepped, like a real clock).
- `jam`: a record whose value depends on whether the printer is jammed. Steps
  repeat in cycles of `cycle`; the jam holds from step `at` for `lasts` steps of
  each cycle. The value is `on` while jammed and `off` otherwise; a missing one
  means the record is absent then (a GET answers noSuchInstance, a walk skips
  it). With `since`, the value while jammed is the sysUpTime the jam began at
  (`since` being sysUpTime's `start`), for prtAlertTime.

`every` (seconds, a float) is given on each record. snmpsim executes this file
itself (it is not imported there); demo/living.py imports it to check the rules
it writes.
"""

from __future__ import annotations

import time
from typing import Any

_clock: list[float] = []
"""When a `life` record was first read: step 0 of every record in this agent. The story
starts when someone first looks, so a slow agent start or a late first poll cannot skip
past the wrap or the first jam."""

_RULES: dict[str, dict[str, str]] = {}
"""Parsed rules by their text: each record's is parsed once."""


class RuleError(ValueError):
    """A record whose `life` parameters cannot be evaluated."""


def parse(text: str) -> dict[str, str]:
    """`k=v,k=v` into a dict; values may hold spaces but not `,` or `=`."""
    rule: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise RuleError(f"life: bad parameter {part!r} in {text!r}")
        rule[key.strip()] = value
    if "kind" not in rule:
        raise RuleError(f"life: no kind in {text!r}")
    return rule


def _int(rule: dict[str, str], key: str, default: int | None = None) -> int:
    if key not in rule:
        if default is None:
            raise RuleError(f"life: {rule['kind']} needs {key}")
        return default
    return int(rule[key])


def steps(rule: dict[str, str], elapsed: float) -> int:
    """Whole steps since the first read."""
    every = float(rule.get("every", "1"))
    if every <= 0:
        raise RuleError("life: every must be positive")
    return int(max(elapsed, 0.0) // every)


def jammed(rule: dict[str, str], n: int) -> int | None:
    """The step the current jam began at, or None when step `n` is not jammed."""
    cycle, at, lasts = _int(rule, "cycle"), _int(rule, "at"), _int(rule, "lasts")
    if not 0 <= at < at + lasts <= cycle:
        raise RuleError("life: a jam must fit in its cycle")
    began = n - n % cycle + at
    return began if began <= n < began + lasts else None


def evaluate(rule: dict[str, str], elapsed: float) -> str | None:
    """The record's value `elapsed` seconds after the start; None when it is absent."""
    kind = rule["kind"]
    n = steps(rule, elapsed)
    if kind == "count":
        value = _int(rule, "start") + _int(rule, "step") * n
        wrap = _int(rule, "wrap", 0)
        return str(value % wrap if wrap else value)
    if kind == "drain":
        top, start = _int(rule, "max"), _int(rule, "start")
        used = top - start + (n // _int(rule, "per", 1)) * _int(rule, "by", 1)
        return str(top - used % (top + 1))
    if kind == "uptime":
        return str(_int(rule, "start") + int(max(elapsed, 0.0) * 100))
    if kind == "jam":
        began = jammed(rule, n)
        if began is None:
            return rule.get("off")
        if "since" in rule:
            seconds = began * float(rule.get("every", "1"))
            return str(_int(rule, "since") + int(seconds * 100))
        return rule.get("on")
    raise RuleError(f"life: unknown kind {kind!r}")


# --- snmpsim's interface ----------------------------------------------------------------


def init(**context: Any) -> None:
    """Nothing to set up: every value follows from the clock."""


def variate(oid: Any, tag: str, value: str, **context: Any) -> tuple[Any, str, Any]:
    """One record's value now, or snmpsim's "nothing here" so that a walk moves on."""
    absent = context["origOid"], tag, context["errorStatus"]
    if context["setFlag"] or (not context["nextFlag"] and not context["exactMatch"]):
        return absent
    rule = _RULES.get(value)
    if rule is None:
        rule = _RULES[value] = parse(value)
    if not _clock:
        _clock.append(time.monotonic())
    now = evaluate(rule, time.monotonic() - _clock[0])
    return absent if now is None else (oid, tag, now)


def shutdown(**context: Any) -> None:
    """Nothing to release."""
