"""The limits' parts, one at a time and in process: the reload gate, the connection guard,
the throttled log lines, the body cap and the cap's arithmetic.

tests/security/test_web_attacks.py replays the attacks against a real server;
these tests pin the rules down exactly, with fake transports and clocks.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from typing import Any

import pytest
from starlette.types import Message

from exporter.logs import ThrottledLog
from exporter.web.limits import (
    BodyLimitMiddleware,
    ReloadGate,
    TooManyReloads,
    WebLimits,
    connection_cap,
)
from exporter.web.server import ConnectionGuard, _RepeatFilter

BOUND = 10.0


async def _until(check: Any, bound: float = BOUND) -> None:
    deadline = time.monotonic() + bound
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


# --- ReloadGate -----------------------------------------------------------------------


async def test_callers_during_a_reload_share_the_next_one() -> None:
    """A caller never gets the result of a reload that began before it asked."""
    started: list[int] = []
    release = asyncio.Event()

    async def reload() -> tuple[bool, str]:
        started.append(1)
        await release.wait()
        return True, f"reload {len(started)}"

    gate = ReloadGate(reload, burst=10, refill_seconds=1.0)
    first = asyncio.create_task(gate())
    await _until(lambda: len(started) == 1)
    later = [asyncio.create_task(gate()) for _ in range(20)]
    await asyncio.sleep(0.05)
    assert len(started) == 1  # the running reload is not joined, nor a new one started
    release.set()
    results = await asyncio.gather(first, *later)
    assert len(started) == 2
    assert results[0] == (True, "reload 1")
    assert set(results[1:]) == {(True, "reload 2")}


async def test_reload_starts_are_rate_limited_with_a_retry_time() -> None:
    now = [100.0]
    calls: list[int] = []

    async def reload() -> tuple[bool, str]:
        calls.append(1)
        return True, "ok"

    gate = ReloadGate(reload, burst=2, refill_seconds=10.0, clock=lambda: now[0])
    assert await gate() == (True, "ok")
    assert await gate() == (True, "ok")
    with pytest.raises(TooManyReloads) as limited:
        await gate()
    assert limited.value.retry_after == 10
    now[0] += 4
    with pytest.raises(TooManyReloads) as limited:
        await gate()
    assert limited.value.retry_after == 6
    now[0] += 6
    assert await gate() == (True, "ok")
    assert len(calls) == 3


async def test_a_caller_that_gives_up_does_not_cancel_the_shared_reload() -> None:
    release = asyncio.Event()
    done: list[int] = []

    async def reload() -> tuple[bool, str]:
        await release.wait()
        done.append(1)
        return True, "ok"

    gate = ReloadGate(reload, burst=5, refill_seconds=1.0)
    impatient = asyncio.create_task(gate())
    patient = asyncio.create_task(gate())
    await asyncio.sleep(0.01)
    impatient.cancel()
    release.set()
    assert await patient == (True, "ok")
    assert done == [1]


# --- ConnectionGuard -------------------------------------------------------------------


class FakeTransport(asyncio.Transport):
    def __init__(self, unsent: int = 0) -> None:
        super().__init__()
        self.aborted = False
        self.unsent = unsent

    def abort(self) -> None:
        self.aborted = True

    def get_write_buffer_size(self) -> int:
        return self.unsent


async def test_past_the_cap_the_longest_waiting_connection_is_closed() -> None:
    guard = ConnectionGuard(WebLimits(), cap=3)
    transports = [FakeTransport() for _ in range(5)]
    slots = [guard.admit(t) for t in transports[:3]]
    assert all(slots)
    assert slots[0] is not None
    guard.busy(slots[0])  # a request in progress is never the one closed
    assert guard.admit(transports[3]) is not None
    assert [t.aborted for t in transports[:4]] == [False, True, False, False]
    assert (len(guard), guard.evicted) == (3, 1)
    guard.close()
    assert all(t.aborted for t in transports[:4])


async def test_a_connection_still_sending_its_answer_is_not_closed_as_idle() -> None:
    """A slow reader of a large /metrics is served for one more request_timeout, which then
    ends it as it ends any busy connection (the request timeout test below)."""
    guard = ConnectionGuard(WebLimits(header_timeout=0.01, request_timeout=3600.0), cap=1)
    reader = FakeTransport(unsent=4096)
    slot = guard.admit(reader)
    assert slot is not None
    assert guard.admit(FakeTransport()) is None  # not evicted for a newcomer
    await _until(lambda: slot.timer is not None and slot.timer.when() > time.monotonic() + 60)
    assert not reader.aborted  # past the header timeout, moved to busy instead
    assert len(guard) == 1
    guard.close()


async def test_when_every_connection_is_busy_a_new_one_is_refused() -> None:
    guard = ConnectionGuard(WebLimits(), cap=2)
    for transport in (FakeTransport(), FakeTransport()):
        slot = guard.admit(transport)
        assert slot is not None
        guard.busy(slot)
    newcomer = FakeTransport()
    assert guard.admit(newcomer) is None
    assert guard.refused == 1
    assert len(guard) == 2
    guard.close()


async def test_a_waiting_connection_keeps_its_first_deadline() -> None:
    """Bytes of an unfinished head do not buy time (slowloris)."""
    guard = ConnectionGuard(WebLimits(header_timeout=0.05), cap=4)
    transport = FakeTransport()
    slot = guard.admit(transport)
    assert slot is not None
    timer = slot.timer
    guard.waiting(slot)
    assert slot.timer is timer
    await _until(lambda: transport.aborted)
    assert len(guard) == 0


async def test_a_busy_connection_is_cut_off_after_the_request_timeout() -> None:
    guard = ConnectionGuard(WebLimits(request_timeout=0.05), cap=4)
    transport = FakeTransport()
    slot = guard.admit(transport)
    assert slot is not None
    guard.busy(slot)
    await _until(lambda: transport.aborted)
    guard.release(slot)  # connection_lost after the abort: harmless
    assert len(guard) == 0


@pytest.mark.parametrize(
    ("fd_limit", "cap"),
    [(1024, 512), (20000, 512), (600, 344), (300, 44), (100, 16)],
)
def test_the_cap_leaves_room_under_the_fd_limit(fd_limit: int, cap: int) -> None:
    assert connection_cap(WebLimits(), fd_limit) == cap


def test_an_unlimited_fd_table_keeps_the_configured_cap() -> None:
    assert connection_cap(WebLimits(max_connections=77), resource.RLIM_INFINITY) == 77


# --- log lines ----------------------------------------------------------------------------


async def test_a_repeated_warning_is_one_line_then_a_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("tests.throttled")
    throttled = ThrottledLog(logger, "accept() failed", interval=0.05)
    with caplog.at_level(logging.WARNING, logger="tests.throttled"):
        for _ in range(1000):
            throttled.note("[Errno 24] Too many open files")
        assert [r.getMessage() for r in caplog.records] == [
            "accept() failed: [Errno 24] Too many open files"
        ]
        await _until(lambda: len(caplog.records) == 2)
        assert caplog.records[1].getMessage() == "accept() failed: 999 more in the last 0.05 s"
        await asyncio.sleep(0.2)  # nothing more happened: nothing more is logged
        throttled.close()
    assert len(caplog.records) == 2


def test_uvicorns_per_request_warnings_are_thinned_out() -> None:
    repeats = _RepeatFilter(interval=3600.0)

    def record(msg: str, level: int = logging.WARNING) -> logging.LogRecord:
        return logging.LogRecord("uvicorn.error", level, __file__, 1, msg, None, None)

    assert repeats.filter(record("Invalid HTTP request received."))
    assert not any(repeats.filter(record("Invalid HTTP request received.")) for _ in range(50))
    assert repeats.filter(record("Unsupported upgrade request."))  # another message
    assert repeats.filter(record("Invalid HTTP request received.", logging.INFO))


def test_after_the_interval_the_next_warning_says_how_many_were_dropped() -> None:
    repeats = _RepeatFilter(interval=0.05)

    def record() -> logging.LogRecord:
        return logging.LogRecord("uvicorn.error", logging.WARNING, __file__, 1, "bad", None, None)

    assert repeats.filter(record())
    assert not any(repeats.filter(record()) for _ in range(3))
    time.sleep(0.1)
    later = record()
    assert repeats.filter(later)
    assert later.getMessage() == "bad (3 more like it in the last 0.05 s)"


# --- body cap --------------------------------------------------------------------------------


async def _answer(headers: list[tuple[bytes, bytes]], max_bytes: int = 10) -> int:
    sent: list[Message] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    await BodyLimitMiddleware(app, max_bytes)(scope, receive, send)
    status: int = sent[0]["status"]
    return status


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ([], 200),
        ([(b"content-length", b"10")], 200),
        ([(b"content-length", b"11")], 413),
        ([(b"content-length", b"-1")], 413),
        ([(b"transfer-encoding", b"chunked")], 411),
    ],
)
async def test_body_cap(headers: list[tuple[bytes, bytes]], status: int) -> None:
    assert await _answer(headers) == status
