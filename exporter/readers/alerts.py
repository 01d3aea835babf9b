"""Active alerts from prtAlertTable.

The table holds what the device itself considers current (critical alerts
stay until cleared; warnings may linger). Codes and groups are decoded to
names, and an unknown number keeps its value in the name (`code_4321`) so no
alert is ever dropped for being new to us.
"""

from __future__ import annotations

from collections.abc import Mapping

from exporter.model import Alert
from exporter.readers import enums, oids
from exporter.readers.fetch import INTEGER32, TIME_TICKS, DeviceData
from exporter.snmp.types import Oid, SnmpValue, format_oid

_MAX_ALERTS = 128
_GROUP_INDEX = (-1, INTEGER32[1])
_LOCATION = (-2, INTEGER32[1])
"""prtAlertGroupIndex and prtAlertLocation SYNTAX (RFC 3805): -1 "not applicable", -2 unknown."""


async def read_alerts(data: DeviceData) -> tuple[Alert, ...]:
    """Every row indexed (hrDeviceIndex, prtAlertIndex); a cell that fits no column is dropped."""
    (
        severities,
        training,
        groups,
        group_indexes,
        locations,
        codes,
        descriptions,
        times,
    ) = await data.table(
        oids.PRT_ALERT_ENTRY,
        (
            oids.PRT_ALERT_SEVERITY_LEVEL,
            oids.PRT_ALERT_TRAINING_LEVEL,
            oids.PRT_ALERT_GROUP,
            oids.PRT_ALERT_GROUP_INDEX,
            oids.PRT_ALERT_LOCATION,
            oids.PRT_ALERT_CODE,
            oids.PRT_ALERT_DESCRIPTION,
            oids.PRT_ALERT_TIME,
        ),
        arity=2,
    )

    rows = sorted(set(severities) | set(codes))
    if len(rows) > _MAX_ALERTS:
        data.warn(f"prtAlertTable has {len(rows)} rows; kept the first {_MAX_ALERTS}")
        rows = rows[:_MAX_ALERTS]
    alerts = []
    for row in rows:
        training_raw = _number(data, training, oids.PRT_ALERT_TRAINING_LEVEL, row)
        group_index = _number(data, group_indexes, oids.PRT_ALERT_GROUP_INDEX, row, _GROUP_INDEX)
        severity = _number(data, severities, oids.PRT_ALERT_SEVERITY_LEVEL, row)
        alerts.append(
            Alert(
                index=row[-1],
                severity=enums.alert_severity(severity),
                training_level=(
                    enums.enum_name(enums.ALERT_TRAINING_LEVEL, training_raw)
                    if training_raw is not None
                    else None
                ),
                group=enums.enum_name(
                    enums.ALERT_GROUP, _number(data, groups, oids.PRT_ALERT_GROUP, row)
                ),
                group_index=group_index if group_index is not None and group_index >= 0 else None,
                location=_number(data, locations, oids.PRT_ALERT_LOCATION, row, _LOCATION),
                code=enums.enum_name(
                    enums.ALERT_CODE, _number(data, codes, oids.PRT_ALERT_CODE, row)
                ),
                description=data.text(
                    descriptions.get(row), format_oid(oids.PRT_ALERT_DESCRIPTION + row)
                ),
                time_ticks=_number(data, times, oids.PRT_ALERT_TIME, row, TIME_TICKS),
            )
        )
    return tuple(alerts)


def _number(
    data: DeviceData,
    column: Mapping[Oid, SnmpValue],
    oid: Oid,
    row: Oid,
    valid: tuple[int, int] = INTEGER32,
) -> int | None:
    """One cell as a number in its column's range, else None with a warning naming the cell."""
    return data.integer(column.get(row), format_oid(oid + row), valid=valid)
