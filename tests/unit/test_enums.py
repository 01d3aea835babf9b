from __future__ import annotations

import re
from collections.abc import Mapping
from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporter.model import AlertSeverity, DeviceStatus, PrinterStatus
from exporter.readers.enums import (
    ALERT_CODE,
    ALERT_GROUP,
    ALERT_SEVERITY_LEVEL,
    ALERT_TRAINING_LEVEL,
    COVER_STATUS,
    HR_DEVICE_STATUS,
    HR_PRINTER_STATUS,
    INPUT_TYPE,
    MARKER_COUNTER_UNIT,
    MARKER_MARK_TECH,
    MARKER_SUPPLIES_CLASS,
    MARKER_SUPPLIES_SUPPLY_UNIT,
    MARKER_SUPPLIES_TYPE,
    CoverStatus,
    SupplyClass,
    alert_severity,
    cover_status,
    device_status,
    enum_name,
    int_text,
    printer_status,
    supply_class,
)

SNAKE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*$")

TABLES: dict[str, Mapping[int, str]] = {
    "MARKER_SUPPLIES_TYPE": MARKER_SUPPLIES_TYPE,
    "MARKER_SUPPLIES_CLASS": MARKER_SUPPLIES_CLASS,
    "MARKER_SUPPLIES_SUPPLY_UNIT": MARKER_SUPPLIES_SUPPLY_UNIT,
    "MARKER_COUNTER_UNIT": MARKER_COUNTER_UNIT,
    "MARKER_MARK_TECH": MARKER_MARK_TECH,
    "ALERT_SEVERITY_LEVEL": ALERT_SEVERITY_LEVEL,
    "ALERT_TRAINING_LEVEL": ALERT_TRAINING_LEVEL,
    "ALERT_GROUP": ALERT_GROUP,
    "ALERT_CODE": ALERT_CODE,
    "COVER_STATUS": COVER_STATUS,
    "INPUT_TYPE": INPUT_TYPE,
    "HR_DEVICE_STATUS": HR_DEVICE_STATUS,
    "HR_PRINTER_STATUS": HR_PRINTER_STATUS,
}

# The exact value sets of each TC, as listed in RFC 3805 / IANA-PRINTER-MIB / RFC 2790.
EXPECTED_KEYS: dict[str, set[int]] = {
    "MARKER_SUPPLIES_TYPE": set(range(1, 37)),
    "MARKER_SUPPLIES_CLASS": {1, 3, 4},
    "MARKER_SUPPLIES_SUPPLY_UNIT": {1, 2, 3, 4, 7, 8, *range(11, 20)},
    "MARKER_COUNTER_UNIT": {3, 4, 5, 6, 7, 8, 9, 11, 16, 17},
    "MARKER_MARK_TECH": set(range(1, 28)),
    "ALERT_SEVERITY_LEVEL": {1, 3, 4, 5},
    "ALERT_TRAINING_LEVEL": set(range(1, 8)),
    "ALERT_GROUP": {*range(1, 19), 30, 31, 32, 33},
    "COVER_STATUS": set(range(1, 7)),
    "INPUT_TYPE": set(range(1, 9)),
    "HR_DEVICE_STATUS": set(range(1, 6)),
    "HR_PRINTER_STATUS": set(range(1, 6)),
}


@pytest.mark.parametrize("name", sorted(EXPECTED_KEYS))
def test_table_has_exactly_the_mib_values(name: str) -> None:
    assert set(TABLES[name]) == EXPECTED_KEYS[name]


@pytest.mark.parametrize("name", sorted(TABLES))
def test_names_are_snake_case_and_unique(name: str) -> None:
    names = list(TABLES[name].values())
    assert all(SNAKE.match(n) for n in names), [n for n in names if not SNAKE.match(n)]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("name", sorted(TABLES))
def test_tables_are_read_only(name: str) -> None:
    with pytest.raises(TypeError):
        TABLES[name][999_999] = "x"  # type: ignore[index]


@pytest.mark.parametrize(
    ("table", "value", "expected"),
    [
        (MARKER_SUPPLIES_TYPE, 1, "other"),
        (MARKER_SUPPLIES_TYPE, 2, "unknown"),
        (MARKER_SUPPLIES_TYPE, 3, "toner"),
        (MARKER_SUPPLIES_TYPE, 4, "waste_toner"),
        (MARKER_SUPPLIES_TYPE, 6, "ink_cartridge"),
        (MARKER_SUPPLIES_TYPE, 9, "opc"),
        (MARKER_SUPPLIES_TYPE, 15, "fuser"),
        (MARKER_SUPPLIES_TYPE, 21, "toner_cartridge"),
        (MARKER_SUPPLIES_TYPE, 22, "fuser_oiler"),
        (MARKER_SUPPLIES_TYPE, 25, "glue_water_additive"),
        (MARKER_SUPPLIES_TYPE, 32, "staples"),
        (MARKER_SUPPLIES_TYPE, 35, "matte_toner"),
        (MARKER_SUPPLIES_TYPE, 36, "matte_ink"),
        (MARKER_SUPPLIES_CLASS, 3, "consumed"),
        (MARKER_SUPPLIES_CLASS, 4, "filled"),
        (MARKER_SUPPLIES_SUPPLY_UNIT, 3, "ten_thousandths_of_inches"),
        (MARKER_SUPPLIES_SUPPLY_UNIT, 7, "impressions"),
        (MARKER_SUPPLIES_SUPPLY_UNIT, 8, "sheets"),
        (MARKER_SUPPLIES_SUPPLY_UNIT, 12, "thousandths_of_ounces"),
        (MARKER_SUPPLIES_SUPPLY_UNIT, 13, "tenths_of_grams"),
        (MARKER_SUPPLIES_SUPPLY_UNIT, 14, "hundredths_of_fluid_ounces"),
        (MARKER_SUPPLIES_SUPPLY_UNIT, 15, "tenths_of_milliliters"),
        (MARKER_SUPPLIES_SUPPLY_UNIT, 18, "items"),
        (MARKER_SUPPLIES_SUPPLY_UNIT, 19, "percent"),
        (MARKER_COUNTER_UNIT, 4, "micrometers"),
        (MARKER_COUNTER_UNIT, 5, "characters"),
        (MARKER_COUNTER_UNIT, 7, "impressions"),
        (MARKER_COUNTER_UNIT, 8, "sheets"),
        (MARKER_COUNTER_UNIT, 9, "dot_row"),
        (MARKER_COUNTER_UNIT, 11, "hours"),
        (MARKER_MARK_TECH, 4, "electrophotographic_laser"),
        (MARKER_MARK_TECH, 6, "impact_moving_head_dot_matrix_9pin"),
        (MARKER_MARK_TECH, 12, "inkjet_aqueous"),
        (MARKER_MARK_TECH, 26, "e_beam"),
        (MARKER_MARK_TECH, 27, "typesetter"),
        (ALERT_SEVERITY_LEVEL, 1, "other"),
        (ALERT_SEVERITY_LEVEL, 3, "critical"),
        (ALERT_SEVERITY_LEVEL, 4, "warning"),
        (ALERT_SEVERITY_LEVEL, 5, "warning_binary"),
        (ALERT_TRAINING_LEVEL, 5, "field_service"),
        (ALERT_TRAINING_LEVEL, 7, "no_intervention_required"),
        (ALERT_GROUP, 3, "host_resources_mib_storage_table"),
        (ALERT_GROUP, 5, "general_printer"),
        (ALERT_GROUP, 11, "marker_supplies"),
        (ALERT_GROUP, 18, "alert"),
        (ALERT_GROUP, 32, "fin_supply_media_input"),
        (COVER_STATUS, 3, "cover_open"),
        (COVER_STATUS, 6, "interlock_closed"),
        (INPUT_TYPE, 3, "sheet_feed_auto_removable_tray"),
        (INPUT_TYPE, 5, "sheet_feed_manual"),
        (INPUT_TYPE, 8, "sheet_feed_pull"),
        (HR_DEVICE_STATUS, 1, "unknown"),
        (HR_DEVICE_STATUS, 5, "down"),
        (HR_PRINTER_STATUS, 3, "idle"),
        (HR_PRINTER_STATUS, 5, "warmup"),
    ],
)
def test_table_values(table: Mapping[int, str], value: int, expected: str) -> None:
    assert table[value] == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (1, "other"),
        (2, "unknown"),
        (3, "cover_open"),
        (4, "cover_closed"),
        (8, "jam"),
        (9, "subunit_missing"),
        (13, "subunit_empty"),
        (38, "subunit_thermistor_failure"),
        (501, "door_open"),
        (503, "power_up"),
        (507, "printer_ready_to_print"),
        (801, "input_media_tray_missing"),
        (808, "input_media_supply_empty"),
        (813, "input_cannot_feed_size_selected"),
        (901, "output_media_tray_missing"),
        (903, "output_media_tray_full"),
        (1002, "marker_fuser_over_temperature"),
        (1005, "marker_adjusting_print_quality"),
        (1101, "marker_toner_empty"),
        (1104, "marker_toner_almost_empty"),
        (1107, "marker_waste_toner_receptacle_almost_full"),
        (1112, "marker_opc_life_over"),
        (1115, "marker_toner_cartridge_missing"),
        (1304, "media_path_cannot_duplex_media_selected"),
        (1507, "interpreter_resource_unavailable"),
        (1509, "interpreter_complex_page_encountered"),
        (1801, "alert_removal_of_binary_change_entry"),
        (30203, "stapler_cover_open"),
        (30208, "stapler_jam"),
        (30209, "stapler_missing"),
        (30238, "stapler_thermistor_failure"),
        (30708, "die_cutter_jam"),
        (30913, "perforater_empty"),
        (31122, "separation_cutter_offline"),
        (31525, "make_envelope_added"),
        (31838, "inserter_thermistor_failure"),
    ],
)
def test_alert_codes(code: int, expected: str) -> None:
    assert ALERT_CODE[code] == expected


@pytest.mark.parametrize("missing", [0, 39, 500, 508, 1508, 1116, 30202, 30239, 30103, 31903])
def test_alert_codes_not_in_the_mib_are_absent(missing: int) -> None:
    assert missing not in ALERT_CODE


def test_alert_code_count_matches_the_mib() -> None:
    # 38 generic + 7 general + 13 input + 4 output + 5 marker + 15 supplies
    # + 4 media path + 8 interpreter + 1 alert, and 17 finisher devices x 36 events.
    assert len(ALERT_CODE) == 95 + 17 * 36


@pytest.mark.parametrize(
    ("value", "prefix", "expected"),
    [
        (3, "code", "toner"),
        (1234, "code", "code_1234"),
        (1234, "type", "type_1234"),
        (0, "code", "code_0"),
        (-5, "code", "code_-5"),
        (None, "code", "unknown"),
        (2**64 - 1, "code", "code_18446744073709551615"),
        (-(2**64) + 1, "code", "code_-18446744073709551615"),
        (2**64, "code", "code_0x10000000000000000"),
    ],
)
def test_enum_name(value: int | None, prefix: str, expected: str) -> None:
    assert enum_name(MARKER_SUPPLIES_TYPE, value, prefix) == expected


def test_enum_name_default_prefix_is_code() -> None:
    assert enum_name(ALERT_CODE, 99999) == "code_99999"


@given(st.integers() | st.none(), st.text(max_size=10))
def test_enum_name_never_raises_and_keeps_the_value(value: int | None, prefix: str) -> None:
    name = enum_name(ALERT_CODE, value, prefix)
    if value is None:
        assert name == "unknown"
    elif value in ALERT_CODE:
        assert name == ALERT_CODE[value]
    else:
        assert name == f"{prefix}_{int_text(value)}"


@given(st.integers())
def test_int_text_round_trips(value: int) -> None:
    assert int(int_text(value), 0) == value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, "other"),
        (2, "unknown"),
        (3, "open"),
        (4, "closed"),
        (5, "interlock_open"),
        (6, "interlock_closed"),
        (0, "unknown"),
        (7, "unknown"),
        (-1, "unknown"),
        (None, "unknown"),
    ],
)
def test_cover_status(value: int | None, expected: str) -> None:
    assert cover_status(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, "unknown"),
        (2, "running"),
        (3, "warning"),
        (4, "testing"),
        (5, "down"),
        (6, "unknown"),
        (None, "unknown"),
    ],
)
def test_device_status(value: int | None, expected: str) -> None:
    assert device_status(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, "other"),
        (2, "unknown"),
        (3, "idle"),
        (4, "printing"),
        (5, "warmup"),
        (0, "unknown"),
        (None, "unknown"),
    ],
)
def test_printer_status(value: int | None, expected: str) -> None:
    assert printer_status(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, "other"),
        (2, "other"),
        (3, "critical"),
        (4, "warning"),
        (5, "warning_binary"),
        (None, "other"),
    ],
)
def test_alert_severity(value: int | None, expected: str) -> None:
    assert alert_severity(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1, "other"), (2, "other"), (3, "consumed"), (4, "filled"), (None, "other")],
)
def test_supply_class(value: int | None, expected: str) -> None:
    assert supply_class(value) == expected


@given(st.integers() | st.none())
def test_closed_vocabularies_stay_closed(value: int | None) -> None:
    assert cover_status(value) in get_args(CoverStatus)
    assert device_status(value) in get_args(DeviceStatus)
    assert printer_status(value) in get_args(PrinterStatus)
    assert alert_severity(value) in get_args(AlertSeverity)
    assert supply_class(value) in get_args(SupplyClass)


def test_closed_functions_agree_with_tables() -> None:
    for value, name in HR_DEVICE_STATUS.items():
        assert device_status(value) == name
    for value, name in HR_PRINTER_STATUS.items():
        assert printer_status(value) == name
    for value, name in ALERT_SEVERITY_LEVEL.items():
        assert alert_severity(value) == name
    for value, name in MARKER_SUPPLIES_CLASS.items():
        assert supply_class(value) == name
    for value, name in COVER_STATUS.items():
        assert cover_status(value) == name.removeprefix("cover_")
