"""Active alerts from prtAlertTable.

The table holds what the device itself considers current (critical alerts
stay until cleared; warnings may linger). Codes and groups are decoded to
names, and an unknown number keeps its value in the name (`code_4321`) so no
alert is ever dropped for being new to us.
"""

from __future__ import annotations

from exporter.model import Alert
from exporter.readers import enums, oids
from exporter.readers.fetch import DeviceData

_MAX_ALERTS = 128


async def read_alerts(data: DeviceData) -> tuple[Alert, ...]:
    table = await data.walk(oids.PRT_ALERT_ENTRY)
    severities = table.column(oids.PRT_ALERT_SEVERITY_LEVEL)
    training = table.column(oids.PRT_ALERT_TRAINING_LEVEL)
    groups = table.column(oids.PRT_ALERT_GROUP)
    group_indexes = table.column(oids.PRT_ALERT_GROUP_INDEX)
    locations = table.column(oids.PRT_ALERT_LOCATION)
    codes = table.column(oids.PRT_ALERT_CODE)
    descriptions = table.column(oids.PRT_ALERT_DESCRIPTION)
    times = table.column(oids.PRT_ALERT_TIME)

    rows = sorted(set(severities) | set(codes))
    if len(rows) > _MAX_ALERTS:
        data.warn(f"prtAlertTable has {len(rows)} rows; kept the first {_MAX_ALERTS}")
        rows = rows[:_MAX_ALERTS]
    alerts = []
    for row in rows:
        training_raw = data.integer(training.get(row), "prtAlertTrainingLevel")
        group_index = data.integer(group_indexes.get(row), "prtAlertGroupIndex")
        alerts.append(
            Alert(
                index=row[-1],
                severity=enums.alert_severity(
                    data.integer(severities.get(row), "prtAlertSeverityLevel")
                ),
                training_level=(
                    enums.enum_name(enums.ALERT_TRAINING_LEVEL, training_raw)
                    if training_raw is not None
                    else None
                ),
                group=enums.enum_name(
                    enums.ALERT_GROUP, data.integer(groups.get(row), "prtAlertGroup")
                ),
                group_index=group_index if group_index is not None and group_index >= 0 else None,
                location=data.integer(locations.get(row), "prtAlertLocation"),
                code=enums.enum_name(
                    enums.ALERT_CODE, data.integer(codes.get(row), "prtAlertCode")
                ),
                description=data.text(descriptions.get(row), "prtAlertDescription"),
                time_ticks=data.integer(times.get(row), "prtAlertTime"),
            )
        )
    return tuple(alerts)
