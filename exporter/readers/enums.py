"""Printer-MIB and HOST-RESOURCES-MIB enumerations, as int -> snake_case name.

Agents send bare integers; dashboards, alert rules and the archive want stable
words. The names are the MIB labels converted to snake_case, so anyone can find
them in the MIB text. Sources:

- RFC 3805 (Printer-MIB v2) for the TCs it keeps itself: supply unit, supply
  class, counter unit, alert severity.
- IANA-PRINTER-MIB (first published in RFC 3805, maintained by IANA; revision
  2016-09-14) for the TCs RFC 3805 moved there: supply type, mark tech, input
  type, cover status, alert group, training level and alert code. It is a
  superset of RFC 3805, e.g. matte_toner(35), matte_ink(36), sheet_feed_pull(8)
  and the finisher alert codes.
- RFC 2790 (HOST-RESOURCES-MIB) for hrDeviceStatus and hrPrinterStatus.

`enum_name` never raises and never drops a value: an unknown number becomes
"code_1234", so a new vendor value still shows up and can be looked up.
The small `*_status`/`alert_severity`/`supply_class` functions instead map onto
the closed vocabularies of the snapshot schema, because those feed state-set
metrics where an open-ended label would break dashboards.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, Literal

from exporter.model import AlertSeverity, DeviceStatus, PrinterStatus

CoverStatus = Literal["open", "closed", "interlock_open", "interlock_closed", "other", "unknown"]
SupplyClass = Literal["consumed", "filled", "other"]


def _frozen(table: dict[int, str]) -> Mapping[int, str]:
    return MappingProxyType(table)


def int_text(value: int) -> str:
    """Decimal for any plausible SNMP number, hex beyond 64 bits.

    Python refuses to turn a huge int into decimal (ValueError past ~4300
    digits), and a decoder must not raise because an agent sent nonsense.
    """
    if value.bit_length() <= 64:
        return str(value)
    return hex(value)


def enum_name(table: Mapping[int, str], value: int | None, default_prefix: str = "code") -> str:
    """Name for `value`, or `<default_prefix>_<value>` so an unlisted number is never lost.

    None means the agent did not answer at all, which is "unknown" rather than a
    number we could keep.
    """
    if value is None:
        return "unknown"
    name = table.get(value)
    return name if name is not None else f"{default_prefix}_{int_text(value)}"


# PrtMarkerSuppliesTypeTC (IANA-PRINTER-MIB)
MARKER_SUPPLIES_TYPE: Final = _frozen(
    {
        1: "other",
        2: "unknown",
        3: "toner",
        4: "waste_toner",
        5: "ink",
        6: "ink_cartridge",
        7: "ink_ribbon",
        8: "waste_ink",
        9: "opc",
        10: "developer",
        11: "fuser_oil",
        12: "solid_wax",
        13: "ribbon_wax",
        14: "waste_wax",
        15: "fuser",
        16: "corona_wire",
        17: "fuser_oil_wick",
        18: "cleaner_unit",
        19: "fuser_cleaning_pad",
        20: "transfer_unit",
        21: "toner_cartridge",
        22: "fuser_oiler",
        23: "water",
        24: "waste_water",
        25: "glue_water_additive",
        26: "waste_paper",
        27: "binding_supply",
        28: "banding_supply",
        29: "stitching_wire",
        30: "shrink_wrap",
        31: "paper_wrap",
        32: "staples",
        33: "inserts",
        34: "covers",
        35: "matte_toner",
        36: "matte_ink",
    }
)

# PrtMarkerSuppliesClassTC (RFC 3805): the MIB words are supplyThatIsConsumed and
# receptacleThatIsFilled; the snapshot schema shortens them.
MARKER_SUPPLIES_CLASS: Final = _frozen({1: "other", 3: "consumed", 4: "filled"})

# PrtMarkerSuppliesSupplyUnitTC (RFC 3805). The MIB spells 14 "hundrethsOfFluidOunces";
# the name here fixes the typo, since it is a label people read.
MARKER_SUPPLIES_SUPPLY_UNIT: Final = _frozen(
    {
        1: "other",
        2: "unknown",
        3: "ten_thousandths_of_inches",
        4: "micrometers",
        7: "impressions",
        8: "sheets",
        11: "hours",
        12: "thousandths_of_ounces",
        13: "tenths_of_grams",
        14: "hundredths_of_fluid_ounces",
        15: "tenths_of_milliliters",
        16: "feet",
        17: "meters",
        18: "items",
        19: "percent",
    }
)

# PrtMarkerCounterUnitTC (RFC 3805)
MARKER_COUNTER_UNIT: Final = _frozen(
    {
        3: "ten_thousandths_of_inches",
        4: "micrometers",
        5: "characters",
        6: "lines",
        7: "impressions",
        8: "sheets",
        9: "dot_row",
        11: "hours",
        16: "feet",
        17: "meters",
    }
)

# PrtMarkerMarkTechTC (IANA-PRINTER-MIB)
MARKER_MARK_TECH: Final = _frozen(
    {
        1: "other",
        2: "unknown",
        3: "electrophotographic_led",
        4: "electrophotographic_laser",
        5: "electrophotographic_other",
        6: "impact_moving_head_dot_matrix_9pin",
        7: "impact_moving_head_dot_matrix_24pin",
        8: "impact_moving_head_dot_matrix_other",
        9: "impact_moving_head_fully_formed",
        10: "impact_band",
        11: "impact_other",
        12: "inkjet_aqueous",
        13: "inkjet_solid",
        14: "inkjet_other",
        15: "pen",
        16: "thermal_transfer",
        17: "thermal_sensitive",
        18: "thermal_diffusion",
        19: "thermal_other",
        20: "electroerosion",
        21: "electrostatic",
        22: "photographic_microfiche",
        23: "photographic_imagesetter",
        24: "photographic_other",
        25: "ion_deposition",
        26: "e_beam",
        27: "typesetter",
    }
)

# PrtAlertSeverityLevelTC (RFC 3805)
ALERT_SEVERITY_LEVEL: Final = _frozen(
    {1: "other", 3: "critical", 4: "warning", 5: "warning_binary"}
)

# PrtAlertTrainingLevelTC (IANA-PRINTER-MIB)
ALERT_TRAINING_LEVEL: Final = _frozen(
    {
        1: "other",
        2: "unknown",
        3: "untrained",
        4: "trained",
        5: "field_service",
        6: "management",
        7: "no_intervention_required",
    }
)

# PrtAlertGroupTC (IANA-PRINTER-MIB)
ALERT_GROUP: Final = _frozen(
    {
        1: "other",
        2: "unknown",
        3: "host_resources_mib_storage_table",
        4: "host_resources_mib_device_table",
        5: "general_printer",
        6: "cover",
        7: "localization",
        8: "input",
        9: "output",
        10: "marker",
        11: "marker_supplies",
        12: "marker_colorant",
        13: "media_path",
        14: "channel",
        15: "interpreter",
        16: "console_display_buffer",
        17: "console_lights",
        18: "alert",
        30: "fin_device",
        31: "fin_supply",
        32: "fin_supply_media_input",
        33: "fin_attribute",
    }
)

# PrtAlertCodeTC (IANA-PRINTER-MIB), the generic codes 1..38: the finisher codes
# below reuse 3..38 as their last two digits.
_GENERIC_ALERT_CODES: Final = {
    1: "other",
    2: "unknown",
    3: "cover_open",
    4: "cover_closed",
    5: "interlock_open",
    6: "interlock_closed",
    7: "configuration_change",
    8: "jam",
    9: "subunit_missing",
    10: "subunit_life_almost_over",
    11: "subunit_life_over",
    12: "subunit_almost_empty",
    13: "subunit_empty",
    14: "subunit_almost_full",
    15: "subunit_full",
    16: "subunit_near_limit",
    17: "subunit_at_limit",
    18: "subunit_opened",
    19: "subunit_closed",
    20: "subunit_turned_on",
    21: "subunit_turned_off",
    22: "subunit_offline",
    23: "subunit_power_saver",
    24: "subunit_warming_up",
    25: "subunit_added",
    26: "subunit_removed",
    27: "subunit_resource_added",
    28: "subunit_resource_removed",
    29: "subunit_recoverable_failure",
    30: "subunit_unrecoverable_failure",
    31: "subunit_recoverable_storage_error",
    32: "subunit_unrecoverable_storage_error",
    33: "subunit_motor_failure",
    34: "subunit_memory_exhausted",
    35: "subunit_under_temperature",
    36: "subunit_over_temperature",
    37: "subunit_timing_failure",
    38: "subunit_thermistor_failure",
}

_GROUP_ALERT_CODES: Final = {
    # General Printer group
    501: "door_open",  # deprecated in favour of cover_open(3)
    502: "door_closed",  # deprecated in favour of cover_closed(4)
    503: "power_up",
    504: "power_down",
    505: "printer_nms_reset",
    506: "printer_manual_reset",
    507: "printer_ready_to_print",
    # Input group
    801: "input_media_tray_missing",
    802: "input_media_size_change",
    803: "input_media_weight_change",
    804: "input_media_type_change",
    805: "input_media_color_change",
    806: "input_media_form_parts_change",
    807: "input_media_supply_low",
    808: "input_media_supply_empty",
    809: "input_media_change_request",
    810: "input_manual_input_request",
    811: "input_tray_position_failure",
    812: "input_tray_elevation_failure",
    813: "input_cannot_feed_size_selected",
    # Output group
    901: "output_media_tray_missing",
    902: "output_media_tray_almost_full",
    903: "output_media_tray_full",
    904: "output_mailbox_select_failure",
    # Marker group
    1001: "marker_fuser_under_temperature",
    1002: "marker_fuser_over_temperature",
    1003: "marker_fuser_timing_failure",
    1004: "marker_fuser_thermistor_failure",
    1005: "marker_adjusting_print_quality",
    # Marker Supplies group
    1101: "marker_toner_empty",
    1102: "marker_ink_empty",
    1103: "marker_print_ribbon_empty",
    1104: "marker_toner_almost_empty",
    1105: "marker_ink_almost_empty",
    1106: "marker_print_ribbon_almost_empty",
    1107: "marker_waste_toner_receptacle_almost_full",
    1108: "marker_waste_ink_receptacle_almost_full",
    1109: "marker_waste_toner_receptacle_full",
    1110: "marker_waste_ink_receptacle_full",
    1111: "marker_opc_life_almost_over",
    1112: "marker_opc_life_over",
    1113: "marker_developer_almost_empty",
    1114: "marker_developer_empty",
    1115: "marker_toner_cartridge_missing",
    # Media Path group
    1301: "media_path_media_tray_missing",
    1302: "media_path_media_tray_almost_full",
    1303: "media_path_media_tray_full",
    1304: "media_path_cannot_duplex_media_selected",
    # Interpreter group (1508 is not assigned)
    1501: "interpreter_memory_increase",
    1502: "interpreter_memory_decrease",
    1503: "interpreter_cartridge_added",
    1504: "interpreter_cartridge_deleted",
    1505: "interpreter_resource_added",
    1506: "interpreter_resource_deleted",
    1507: "interpreter_resource_unavailable",
    1509: "interpreter_complex_page_encountered",
    # Alert group
    1801: "alert_removal_of_binary_change_entry",
}

# Finisher alert codes (IANA-PRINTER-MIB, 2010): <prefix><generic 03..38>, e.g.
# staplerJam = 30208 = 302 * 100 + jam(8). The MIB spells "perforater".
_FINISHER_ALERT_PREFIXES: Final = {
    302: "stapler",
    303: "stitcher",
    304: "folder",
    305: "binder",
    306: "trimmer",
    307: "die_cutter",
    308: "puncher",
    309: "perforater",
    310: "slitter",
    311: "separation_cutter",
    312: "imprinter",
    313: "wrapper",
    314: "bander",
    315: "make_envelope",
    316: "stacker",
    317: "sheet_rotator",
    318: "inserter",
}


def _finisher_alert_codes() -> dict[int, str]:
    codes: dict[int, str] = {}
    for prefix, device in _FINISHER_ALERT_PREFIXES.items():
        for generic in range(3, 39):
            event = _GENERIC_ALERT_CODES[generic].removeprefix("subunit_")
            codes[prefix * 100 + generic] = f"{device}_{event}"
    return codes


ALERT_CODE: Final = _frozen(
    {**_GENERIC_ALERT_CODES, **_GROUP_ALERT_CODES, **_finisher_alert_codes()}
)

# PrtCoverStatusTC (IANA-PRINTER-MIB)
COVER_STATUS: Final = _frozen(
    {
        1: "other",
        2: "unknown",
        3: "cover_open",
        4: "cover_closed",
        5: "interlock_open",
        6: "interlock_closed",
    }
)

# PrtInputTypeTC (IANA-PRINTER-MIB)
INPUT_TYPE: Final = _frozen(
    {
        1: "other",
        2: "unknown",
        3: "sheet_feed_auto_removable_tray",
        4: "sheet_feed_auto_non_removable_tray",
        5: "sheet_feed_manual",
        6: "continuous_roll",
        7: "continuous_fan_fold",
        8: "sheet_feed_pull",
    }
)

# hrDeviceStatus (RFC 2790)
HR_DEVICE_STATUS: Final = _frozen(
    {1: "unknown", 2: "running", 3: "warning", 4: "testing", 5: "down"}
)

# hrPrinterStatus (RFC 2790)
HR_PRINTER_STATUS: Final = _frozen(
    {1: "other", 2: "unknown", 3: "idle", 4: "printing", 5: "warmup"}
)

_COVER_STATES: Final[Mapping[int, CoverStatus]] = MappingProxyType(
    {1: "other", 2: "unknown", 3: "open", 4: "closed", 5: "interlock_open", 6: "interlock_closed"}
)
_DEVICE_STATES: Final[Mapping[int, DeviceStatus]] = MappingProxyType(
    {1: "unknown", 2: "running", 3: "warning", 4: "testing", 5: "down"}
)
_PRINTER_STATES: Final[Mapping[int, PrinterStatus]] = MappingProxyType(
    {1: "other", 2: "unknown", 3: "idle", 4: "printing", 5: "warmup"}
)
_SEVERITIES: Final[Mapping[int, AlertSeverity]] = MappingProxyType(
    {1: "other", 3: "critical", 4: "warning", 5: "warning_binary"}
)
_SUPPLY_CLASSES: Final[Mapping[int, SupplyClass]] = MappingProxyType(
    {1: "other", 3: "consumed", 4: "filled"}
)


def cover_status(value: int | None) -> CoverStatus:
    """A cover is open or closed; the MIB's "cover_" prefix only repeats the group."""
    return _COVER_STATES.get(value, "unknown") if value is not None else "unknown"


def device_status(value: int | None) -> DeviceStatus:
    """hrDeviceStatus on the snapshot's closed vocabulary; an unlisted number is unknown."""
    return _DEVICE_STATES.get(value, "unknown") if value is not None else "unknown"


def printer_status(value: int | None) -> PrinterStatus:
    """hrPrinterStatus on the snapshot's closed vocabulary; an unlisted number is unknown."""
    return _PRINTER_STATES.get(value, "unknown") if value is not None else "unknown"


def alert_severity(value: int | None) -> AlertSeverity:
    """An unlisted severity is "other": the schema has no "unknown" severity."""
    return _SEVERITIES.get(value, "other") if value is not None else "other"


def supply_class(value: int | None) -> SupplyClass:
    """An unlisted class is "other": the schema knows only consumed, filled and other."""
    return _SUPPLY_CLASSES.get(value, "other") if value is not None else "other"
