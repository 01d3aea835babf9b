"""One conversation at a time per device, for the protocols that open a connection to it
(PJL on 9100, the embedded web server): many printers' raw and web ports serve one
client at a time, and a second one would queue or reset the first."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class HostLocks:
    """A lock per host, dropped once nobody holds or waits for it, so the table holds only
    the devices being read now, not every device ever read."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @contextlib.asynccontextmanager
    async def hold(self, host: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(host, asyncio.Lock())
        self._users[host] = self._users.get(host, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[host] -= 1
            if not self._users[host]:
                del self._users[host]
                del self._locks[host]

    def __len__(self) -> int:
        return len(self._locks)
