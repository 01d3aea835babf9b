"""The metrics page: every series named in metrics.py, built from Stats and the outbox."""

from __future__ import annotations

from prometheus_client.exposition import generate_latest

from pull_sync import __version__
from pull_sync.metrics import Histogram, Stats, build_registry
from pull_sync.outbox import OutboxStats


def test_histogram_buckets_are_cumulative() -> None:
    histogram = Histogram()
    for value in (0.01, 0.3, 0.3, 200.0):
        histogram.observe(value)
    cumulative = dict(histogram.cumulative())
    assert cumulative["0.05"] == 1
    assert cumulative["0.5"] == 3
    assert cumulative["120.0"] == 3
    assert cumulative["+Inf"] == 4


def test_every_series() -> None:
    stats = Stats()
    stats.upload_attempts["ok"] += 2
    stats.upload_seconds.observe(0.2)
    stats.checkins["applied"] += 1
    stats.last_checkin, stats.last_checkin_status = 1_796_000_000.0, "applied"
    stats.applied_version, stats.profiles_version = 7, "2026.12.1"
    stats.announce_latest_agent("1.2.3")
    outbox = OutboxStats(
        batches=3,
        bytes=1234,
        snapshots=600,
        oldest_created=1_795_999_000.0,
        dead_letter_batches=1,
        quarantine_records=2,
        file_bytes=40960,
        counters=(("dropped_batches", 4), ("dead_letters", 1), ("quarantined", 2)),
    )
    text = generate_latest(build_registry(stats, lambda: outbox, 256 * 2**20)).decode()
    for line in (
        "pull_sync_outbox_batches 3.0",
        "pull_sync_outbox_bytes 1234.0",
        "pull_sync_outbox_max_bytes 2.68435456e+08",
        "pull_sync_outbox_dropped_batches_total 4.0",
        "pull_sync_dead_letters_total 1.0",
        "pull_sync_quarantined_total 2.0",
        'pull_sync_upload_attempts_total{result="ok"} 2.0',
        'pull_sync_upload_duration_seconds_bucket{le="0.25"} 1.0',
        'pull_sync_checkins_total{result="applied"} 1.0',
        'pull_sync_last_checkin_status{status="applied"} 1.0',
        'pull_sync_last_checkin_status{status="error"} 0.0',
        "pull_sync_last_checkin_timestamp_seconds 1.796e+09",
        "pull_sync_config_applied_version 7.0",
        'pull_sync_profiles_info{version="2026.12.1"} 1.0',
        'pull_sync_archive_latest_agent_info{version="1.2.3"} 1.0',
        f'pull_sync_build_info{{version="{__version__}"}} 1.0',
    ):
        assert line in text, line
