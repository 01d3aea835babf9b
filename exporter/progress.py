"""A progress bar for long sweeps, on stderr so stdout stays clean for tables and JSON.

On a terminal it redraws one line; otherwise (a pipe, CI) it prints a line
every tenth of the way, so logs show progress without thousands of lines.
"""

from __future__ import annotations

import time
from typing import TextIO

_WIDTH = 30


class ProgressBar:
    def __init__(self, stream: TextIO, label: str) -> None:
        self._stream = stream
        self._label = label
        self._tty = stream.isatty()
        self._started = time.monotonic()
        self._last_decile = -1

    def update(self, done: int, total: int) -> None:
        fraction = min(1.0, done / total) if total else 1.0
        if self._tty:
            filled = int(fraction * _WIDTH)
            elapsed = time.monotonic() - self._started
            self._stream.write(
                f"\r{self._label} [{'#' * filled}{'.' * (_WIDTH - filled)}] "
                f"{fraction * 100:3.0f}%  {elapsed:5.1f}s"
            )
            self._stream.flush()
            return
        decile = int(fraction * 10)
        if decile > self._last_decile:
            self._last_decile = decile
            self._stream.write(f"{self._label}: {decile * 10}%\n")

    def close(self, summary: str) -> None:
        if self._tty:
            self._stream.write("\r\033[K")
        self._stream.write(summary + "\n")
        self._stream.flush()
