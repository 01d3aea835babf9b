"""Structured log lines: logfmt by default, JSON on request, a target where there is one.

Log lines must never carry a secret: credentials reach logs only through
`Credentials.describe()`, and config errors never quote YAML lines.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
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


class ThrottledLog:
    """A warning that may repeat thousands of times a second, logged at most once per
    `interval`: the first at once, then one line with the count of the others.

    Why: under attack the same event (a failed accept, a refused connection) repeats
    at the attacker's rate, and a line per event filled 435 MB of log in 20 s.
    Call `note` from the event loop only.
    """

    def __init__(self, logger: logging.Logger, message: str, interval: float) -> None:
        self._logger = logger
        self._message = message
        self._interval = interval
        self._suppressed = 0
        self._flush: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def note(self, detail: str = "") -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a module-level instance outlives a loop (tests, restarts)
            self._loop, self._flush, self._suppressed = loop, None, 0
        if self._flush is not None:
            self._suppressed += 1
            return
        self._logger.warning("%s%s", self._message, f": {detail}" if detail else "")
        self._flush = loop.call_later(self._interval, self._summarise)

    def _summarise(self) -> None:
        count, self._suppressed = self._suppressed, 0
        if count:
            self._logger.warning(
                "%s: %d more in the last %g s", self._message, count, self._interval
            )
            loop = asyncio.get_running_loop()
            self._flush = loop.call_later(self._interval, self._summarise)
        else:
            self._flush = None

    def close(self) -> None:
        """Stop the pending summary (the server is stopping)."""
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
