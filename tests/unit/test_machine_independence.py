"""No property test may depend on the machine's speed.

A busy 2-core CI machine made a correct test fail on Hypothesis's too-slow health check
(issue 10). `tests/conftest.py` loads a profile without deadlines or that check; these
tests keep it loaded and keep any test's own `@settings` from bringing either back.
"""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import HealthCheck, settings

TESTS = Path(__file__).resolve().parents[1]
_DEADLINE = re.compile(r"\bdeadline\s*=\s*([^,)\s]+)")
_SUPPRESS = re.compile(r"\bsuppress_health_check\s*=\s*(\[[^\]]*\]|list\(HealthCheck\)|[^,)\n]+)")


def test_the_loaded_profile_has_no_deadline_and_no_too_slow_check() -> None:
    current = settings()
    assert current.deadline is None
    assert HealthCheck.too_slow in current.suppress_health_check


def _settings_calls() -> list[tuple[str, str]]:
    """(file, the text of each `settings(...)` argument list) across the test tree."""
    found = []
    for path in sorted(TESTS.rglob("*.py")):
        if path.resolve() == Path(__file__).resolve():
            continue  # its patterns and examples are not settings
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"settings\(", text):
            found.append((path.name, text[match.end() : match.end() + 400]))
    return found


def test_no_test_sets_a_deadline_or_brings_back_the_too_slow_check() -> None:
    calls = _settings_calls()
    assert calls, "the scan found no settings(...) call at all: it is looking in the wrong place"
    offending = []
    for name, arguments in calls:
        deadline = _DEADLINE.search(arguments)
        if deadline and deadline.group(1) != "None":
            offending.append(f"{name}: deadline={deadline.group(1)}")
        suppress = _SUPPRESS.search(arguments)
        if suppress and not re.search(r"too_slow|list\(HealthCheck\)", suppress.group(1)):
            offending.append(f"{name}: suppress_health_check={suppress.group(1)}")
    assert not offending, offending


def test_the_scan_sees_a_bad_setting() -> None:
    """The check above can fail: each pattern catches what it is there for."""
    assert _DEADLINE.search("max_examples=5, deadline=200)").group(1) == "200"  # type: ignore[union-attr]
    suppress = _SUPPRESS.search("suppress_health_check=[HealthCheck.filter_too_much])")
    assert suppress is not None
    assert "too_slow" not in suppress.group(1)
