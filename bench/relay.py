"""A TCP relay on loopback that counts the bytes each way: what the wire carries.

The benchmarks put it between a client and a server on 127.0.0.1 to measure a protocol's
bytes on the wire (TLS included), which neither end can see from inside.
"""

from __future__ import annotations

import asyncio

CONNECTION_SECONDS = 30.0
"""The longest one relayed connection may last: every loop of a bench ends by itself."""


class Relay:
    """127.0.0.1:`port` -> 127.0.0.1:`target`, counting bytes up (to the target) and down."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = 0
        self.up = 0
        self.down = 0
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)
        for task in self._tasks:
            task.cancel()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def __aenter__(self) -> Relay:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self.connections += 1
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, up: bool) -> None:
            try:
                while data := await src.read(65536):
                    if up:
                        self.up += len(data)
                    else:
                        self.down += len(data)
                    dst.write(data)
                    await dst.drain()
            except OSError:  # ConnectionError included
                pass
            finally:
                dst.close()

        try:
            async with asyncio.timeout(CONNECTION_SECONDS):
                await asyncio.gather(pipe(reader, up_writer, True), pipe(up_reader, writer, False))
        except (TimeoutError, asyncio.CancelledError):  # the bench ending mid-connection
            writer.close()
