"""The demo's living recordings, without an agent: the `life` rules and the rewrite."""

from __future__ import annotations

from pathlib import Path

import pytest

from demo.living import (
    HP_COLOR_START,
    HP_ENGINE,
    HP_TOTAL_START,
    JAM_AT,
    JAM_CYCLE,
    JAM_LASTS,
    LIFE_COUNT,
    WRAP_STEPS,
    WRAP_WIDTH,
    Record,
    changes,
    life,
    rewrite,
    write_recordings,
)
from demo.variation.life import RuleError, evaluate, parse
from tests.conftest import FIXTURES


def at(record: Record, step: int, pace: float = 1.0) -> str | None:
    return evaluate(parse(record.value), step * pace)


def test_a_counter_rises_by_its_step_and_wraps_at_its_width() -> None:
    rule = parse("kind=count,every=2,start=14,step=3,wrap=20")
    assert [evaluate(rule, t) for t in (0, 1.9, 2, 4)] == ["14", "14", "17", "0"]


def test_a_supply_drains_to_zero_then_is_replaced() -> None:
    rule = parse("kind=drain,every=1,start=2,max=10,by=1,per=2")
    assert [evaluate(rule, t) for t in range(8)] == ["2", "2", "1", "1", "0", "0", "10", "10"]


def test_a_jam_record_follows_the_cycle_and_is_absent_when_it_has_no_value() -> None:
    shown = parse("kind=jam,every=1,cycle=5,at=1,lasts=2,on=Paper jam")
    assert [evaluate(shown, t) for t in range(7)] == [
        None, "Paper jam", "Paper jam", None, None, None, "Paper jam",
    ]  # fmt: skip
    began = parse("kind=jam,every=0.5,cycle=5,at=1,lasts=2,since=1000")
    assert [evaluate(began, t) for t in (0.5, 1.0, 3.0)] == ["1050", "1050", "1300"]


@pytest.mark.parametrize(
    "text",
    ["kind=count,start=1", "every=1,start=1", "kind=jam,cycle=3,at=2,lasts=2", "kind=nope"],
)
def test_a_bad_rule_is_refused(text: str) -> None:
    with pytest.raises(RuleError):
        evaluate(parse(text), 0)


def test_life_refuses_a_value_that_would_break_the_rule() -> None:
    with pytest.raises(ValueError, match="cannot hold"):
        life("1.3.6.1.2.1.1.5.0", "4", kind="jam", cycle=2, at=0, lasts=1, on="a,b")


def test_the_hp_meters_agree_at_every_step_and_wrap_once() -> None:
    hp = {r.oid: r for r in changes(1.0)["color_mfp"]}
    total, engine = hp[LIFE_COUNT], hp[f"{HP_ENGINE}.5.0"]
    mono, colour = hp[f"{HP_ENGINE}.6.0"], hp[f"{HP_ENGINE}.7.0"]
    for step in range(WRAP_STEPS):
        t = int(at(total, step) or -1)
        assert t == int(at(engine, step) or -1)
        assert t == int(at(mono, step) or -1) + int(at(colour, step) or -1)
    assert at(total, 0) == str(HP_TOTAL_START)
    assert at(colour, 0) == str(HP_COLOR_START)
    assert int(at(total, WRAP_STEPS - 1) or -1) < WRAP_WIDTH
    assert int(at(total, WRAP_STEPS) or -1) < WRAP_STEPS * 3


def test_the_kyocera_jam_row_is_there_only_during_the_jam() -> None:
    code = next(r for r in changes(1.0)["mono_printer"] if r.oid.endswith(".18.1.1.7.1.1"))
    jammed = [step for step in range(JAM_CYCLE) if at(code, step) is not None]
    assert jammed == list(range(JAM_AT, JAM_AT + JAM_LASTS))
    assert at(code, JAM_CYCLE + JAM_AT) == "8"


def test_rewrite_replaces_in_place_and_inserts_in_oid_order() -> None:
    text = "1.3.6.1.2|2|1\n1.3.6.1.10|2|2\n"
    out = rewrite(
        text,
        [Record("1.3.6.1.10", "2:life", "x"), Record("1.3.6.1.9", "4", "new"),
         Record("1.3.6.2", "4", "last"), Record("1.3.6.1.1", "4", "first")],
    )  # fmt: skip
    assert out.splitlines() == [
        "1.3.6.1.1|4|first",
        "1.3.6.1.2|2|1",
        "1.3.6.1.9|4|new",
        "1.3.6.1.10|2:life|x",
        "1.3.6.2|4|last",
    ]


def test_rewrite_refuses_a_recording_out_of_order() -> None:
    with pytest.raises(ValueError, match="out of order"):
        rewrite("1.3.6.1.3|2|1\n1.3.6.1.2|2|2\n", [Record("1.3.6.1.4", "2", "0")])


def test_the_fixtures_are_copied_not_changed(tmp_path: Path) -> None:
    names = ["color_mfp", "broken_agent"]
    before = {n: (FIXTURES / f"{n}.snmprec").read_bytes() for n in names}
    written = write_recordings(FIXTURES, tmp_path / "data", names, 1.0)
    assert {n: (FIXTURES / f"{n}.snmprec").read_bytes() for n in names} == before
    assert written["broken_agent"].read_bytes() == before["broken_agent"]  # nothing lives there
    living = written["color_mfp"].read_text(encoding="latin-1")
    assert f"{LIFE_COUNT}|65:life|kind=count" in living
    assert len(living.splitlines()) == len(before["color_mfp"].splitlines()) + 3  # HP engine
