"""Structured log lines: logfmt by default, JSON on request, a target where there is one.

Log lines must never carry a secret: credentials reach logs only through
`Credentials.describe()`, and config errors never quote YAML lines.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
}


class _Logfmt(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = _fields(record)
        return " ".join(f"{k}={_quote(str(v))}" for k, v in fields.items())


class _Json(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_fields(record), ensure_ascii=False, default=str)


def _fields(record: logging.LogRecord) -> dict[str, object]:
    fields: dict[str, object] = {
        "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname.lower(),
        "logger": record.name,
        "msg": record.getMessage(),
    }
    target = getattr(record, "target", None)
    if target is not None:
        fields["target"] = target
    if record.exc_info:
        fields["error"] = logging.Formatter().formatException(record.exc_info)
    return fields


def _quote(value: str) -> str:
    if value and all(c.isalnum() or c in "-._:/[]" for c in value):
        return value
    return json.dumps(value, ensure_ascii=False)


def setup_logging(level: str, fmt: str = "logfmt") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Json() if fmt == "json" else _Logfmt())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(_LEVELS[level])
    # pysnmp and uvicorn are chatty at debug; keep them at the user's level or above info.
    for noisy in ("pysnmp", "asyncio"):
        logging.getLogger(noisy).setLevel(max(_LEVELS[level], logging.INFO))


class Throttled:
    """A log line that an attacker can trigger, written at most once per `every` seconds.

    Why: whatever a remote party can cause (a garbage datagram, a refused
    connection) must not be able to fill the disk or eat a core through the log.
    The first occurrence is logged at once; later ones within the window are
    counted, and the next line says how many were folded into it.
    """

    def __init__(
        self,
        logger: logging.Logger,
        every: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._every = every
        self._clock = clock
        self._next = float("-inf")
        self._folded = 0

    def warning(self, message: str, *args: object) -> None:
        now = self._clock()
        if now < self._next:
            self._folded += 1
            return
        if self._folded:
            message += f" ({self._folded} more like it since the last such line)"
        self._logger.warning(message, *args)
        self._folded = 0
        self._next = now + self._every
