"""A real uvicorn server (the project's `WebServer`) in a thread, for tests over HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from exporter.web import WebServer
from exporter.web.server import GuardedConfig


@contextmanager
def running(config: GuardedConfig, scheme: str = "http", timeout: float = 20.0) -> Iterator[str]:
    """Serve `config` (listening on 127.0.0.1 port 0) until the block ends; yield its URL.

    Starting and stopping are bounded by `timeout` each, whatever the machine's load.
    """
    server = WebServer(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"{scheme}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
        assert not thread.is_alive(), "uvicorn did not stop"
