"""Compare a snapshot's JSON with a fixture oracle (`tests/fixtures/<name>.expected.json`).

The oracle rules (tests/fixtures/README.md): every key present must match,
absent keys are not checked, lists of rows must match row for row, and
`counters` lists counters that must be present among possibly more.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"


def load_oracle(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((FIXTURES / f"{name}.expected.json").read_text())
    return doc


def mismatches(expected: Any, actual: Any, path: str = "$") -> list[str]:
    """Every difference between `expected` (a subset) and `actual`, as 'path: want X, got Y'."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: want an object, got {actual!r}"]
        out: list[str] = []
        for key, want in expected.items():
            if key.startswith("_") or key in ("community",):
                continue
            if key == "counters" and isinstance(want, list):
                out.extend(_counters(want, actual.get(key), f"{path}.counters"))
            elif key not in actual:
                out.append(f"{path}.{key}: missing")
            else:
                out.extend(mismatches(want, actual[key], f"{path}.{key}"))
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{path}: want {len(expected)} rows {expected!r}, got {actual!r}"]
        return [
            m
            for i, (w, a) in enumerate(zip(expected, actual, strict=True))
            for m in mismatches(w, a, f"{path}[{i}]")
        ]
    if isinstance(expected, float) and isinstance(actual, int | float):
        return (
            []
            if math.isclose(expected, actual, abs_tol=1e-9)
            else [f"{path}: want {expected}, got {actual}"]
        )
    return [] if expected == actual else [f"{path}: want {expected!r}, got {actual!r}"]


def _counters(want: list[dict[str, Any]], got: Any, path: str) -> list[str]:
    by_name = {c["name"]: c for c in got or []}
    out: list[str] = []
    for counter in want:
        if counter["name"] not in by_name:
            out.append(f"{path}: no counter {counter['name']!r} in {sorted(by_name)}")
        else:
            out.extend(mismatches(counter, by_name[counter["name"]], f"{path}.{counter['name']}"))
    return out
