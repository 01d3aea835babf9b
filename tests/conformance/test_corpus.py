"""Conformance over the shared corpus of real printer recordings (skipped when absent)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo.simulator import Simulator
from exporter.cli import main as cli_main
from exporter.model import Snapshot
from tests.conformance.corpus import (
    Recording,
    accuracy_table,
    corpus_dir,
    load_recordings,
    misses,
)
from tests.conformance.report import all_checks, read_all, serve

pytestmark = [
    pytest.mark.conformance,
    pytest.mark.integration,
    pytest.mark.skipif(
        not (corpus_dir() / "MANIFEST.tsv").exists(), reason="no ../shared/corpus on this machine"
    ),
]

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
Results = list[tuple[Recording, Snapshot]]


@pytest.fixture(scope="module")
def recordings() -> list[Recording]:
    return load_recordings()


@pytest.fixture(scope="module")
def agent(recordings: list[Recording]) -> Iterator[Simulator]:
    with serve(recordings) as sim:
        yield sim


@pytest.fixture(scope="module")
def results(recordings: list[Recording], agent: Simulator) -> Results:
    snaps = asyncio.run(read_all(recordings, agent.host, agent.port))
    out = list(zip(recordings, snaps, strict=True))
    checks = all_checks(out)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "conformance.md").write_text(
        accuracy_table(checks) + "\n\nMisses:\n" + (misses(checks) or "none") + "\n"
    )
    return out


def test_every_recording_is_read(results: Results) -> None:
    assert len(results) == 66
    unread = [rec.name for rec, snap in results if not snap.reachable or snap.error]
    assert unread == []
    crashed = [
        rec.name for rec, snap in results if any("internal error" in w for w in snap.warnings)
    ]
    assert crashed == []


def test_total_wherever_the_recording_has_prt_marker_life_count(results: Results) -> None:
    missing = [
        rec.name for rec, snap in results if rec.life_counts and snap.counter("total") is None
    ]
    assert missing == []


@pytest.mark.parametrize(
    ("field", "bar"),
    [("manufacturer", 0.95), ("total", 1.0), ("supply_raw_level", 1.0), ("supply_percent", 1.0)],
)
def test_accuracy_meets_the_bar(results: Results, field: str, bar: float) -> None:
    checks = [c for c in all_checks(results) if c.field == field]
    assert checks, f"no {field} checks: the corpus or the harness changed"
    assert sum(c.ok for c in checks) / len(checks) >= bar, misses(checks)


def test_probe_json_runs_on_every_recording(
    recordings: list[Recording], agent: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CLI path too: one JSON document per recording, never a traceback."""
    for rec in recordings:
        code = cli_main(
            ["probe", f"{agent.host}:{agent.port}", "--community", rec.name, "--output", "json"]
        )
        out = capsys.readouterr().out
        assert code == 0, rec.name
        assert json.loads(out)["schema"] == "printer-snapshot/1"
