"""Discovery's pure parts: classifying the one-PDU answer, pacing, range membership, and the
count of addresses left that a sweep's progress is measured against."""

from __future__ import annotations

import asyncio
import itertools
import operator
import time

import pytest

from exporter.config import expand, parse_config
from exporter.discovery import Discovery, classify
from exporter.readers import oids
from exporter.snmp.ber import Absent
from exporter.snmp.sweep import _Bucket

HR_TYPE_ROW = (*oids.HR_DEVICE_TYPE, 1)
NETWORK_DEVICE = (1, 3, 6, 1, 2, 1, 25, 3, 1, 4)


@pytest.mark.parametrize(
    ("answers", "reason"),
    [
        ({HR_TYPE_ROW: oids.HR_DEVICE_PRINTER}, "hrDeviceType is hrDevicePrinter"),
        (
            {(*oids.PRT_MARKER_LIFE_COUNT, 1, 1): 1234},
            "implements the Printer-MIB (prtMarkerLifeCount)",
        ),
        (
            {(*oids.PPM_PRINTER_IEEE1284_DEVICE_ID, 1): b"MFG:X;"},
            "implements the PWG Port Monitor MIB",
        ),
        (
            {oids.SYS_OBJECT_ID: (1, 3, 6, 1, 4, 1, 2435, 2, 3, 9, 1)},
            "sysObjectID 1.3.6.1.4.1.2435.2.3.9.1 is a printer product",
        ),
    ],
)
def test_printers_are_recognised(answers: dict[tuple[int, ...], object], reason: str) -> None:
    assert classify(answers) == reason  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "answers",
    [
        {},  # answered nothing useful
        {oids.SYS_OBJECT_ID: (1, 3, 6, 1, 4, 1, 11, 2, 3, 7, 11)},  # an HP switch, not a printer
        {HR_TYPE_ROW: NETWORK_DEVICE, oids.SYS_DESCR: b"Linux router"},
        # GETNEXT ran past the subtree: the next OID is outside what was asked.
        {
            (1, 3, 6, 1, 2, 1, 43, 11, 1, 1, 9, 1, 1): 5,
            (1, 3, 6, 1, 4, 1, 9999): Absent.END_OF_MIB_VIEW,
        },
    ],
)
def test_other_devices_are_not_printers(answers: dict[tuple[int, ...], object]) -> None:
    assert classify(answers) is None  # type: ignore[arg-type]


async def test_bucket_paces_to_the_rate() -> None:
    bucket = _Bucket(rate=200.0)
    started = time.monotonic()
    for _ in range(60):
        await bucket.take()
    elapsed = time.monotonic() - started
    # 60 tokens at 200/s with a burst of 20 take at least (60-20)/200 = 0.2 s.
    assert elapsed >= 0.19


def test_covers_respects_ranges_and_exclusions() -> None:
    config = parse_config("discovery:\n  ranges: ['127.3.0.0/24']\n  exclude: ['127.3.0.128/25']\n")
    discovery = Discovery(config.discovery, config)
    assert discovery.covers("127.3.0.10")
    assert not discovery.covers("127.3.0.200")
    assert not discovery.covers("127.4.0.10")
    assert not discovery.covers("not-an-ip")


def test_default_config_sweeps_nothing() -> None:
    config = parse_config("")
    discovery = Discovery(config.discovery, config)
    assert list(discovery.addresses()) == []
    stop = asyncio.Event()
    stop.set()
    asyncio.run(discovery.run(stop, lambda: None))
    assert discovery.stats.sweeps_total == 0


def test_expand_says_how_many_addresses_are_left_without_listing_them() -> None:
    """The sweep's progress total for a range of any size, from `operator.length_hint`."""
    addresses = expand(["127.0.0.0/8", "::1"], ["127.0.0.0/9"])
    assert operator.length_hint(addresses) == (2**23 - 1) + 1  # 127.128/9 less broadcast, ::1
    assert [str(a) for a in itertools.islice(addresses, 2)] == ["127.128.0.0", "127.128.0.1"]
    assert operator.length_hint(addresses) == 2**23 - 2
    small = expand(["127.3.0.0/30"])
    assert (list(small), operator.length_hint(small)) == (list(expand(["127.3.0.1-2"])), 0)
