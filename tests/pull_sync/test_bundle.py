"""Signed bundles: verified over the exact bytes, then checked field by field."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pull_sync.bundle import (
    bundle_hash,
    envelope_hash,
    key_id,
    parse_bundle,
    verify_envelope,
)
from pull_sync.errors import BundleRejected
from tests.pull_sync.servers import Signer

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def bundle(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema": "archive-config/1",
        "agent": "site-a",
        "version": 7,
        "issued_at": "2026-12-04T21:00:00Z",
        "not_after": "2026-12-11T21:00:00Z",
        "settings": {
            "targets": [{"address": "192.0.2.10", "name": "Reception", "credentials": ["office"]}],
            "discovery": {"ranges": ["192.0.2.0/24"], "exclude": [], "interval": "1h"},
            "poll": {"interval": "5m"},
            "upload": {"interval": "15m"},
            "checkin": {"interval": "1h"},
        },
        "profiles": {"version": "2026.12.1", "files": {"acme.yaml": "profiles: []\n"}},
    }
    for key, value in changes.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


def parse(doc: dict[str, Any] | bytes, applied: int = 6) -> Any:
    data = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return parse_bundle(data, agent="site-a", applied_version=applied, now=NOW)


def rejected(doc: dict[str, Any] | bytes, applied: int = 6) -> str:
    with pytest.raises(BundleRejected) as caught:
        parse(doc, applied)
    return str(caught.value)


def test_the_documented_example_parses() -> None:
    data = json.dumps(bundle()).encode()
    result = parse(data)
    assert result.version == 7
    assert result.hash == bundle_hash(data)
    assert result.exporter_settings == {
        "targets": [{"address": "192.0.2.10", "name": "Reception", "credentials": ["office"]}],
        "discovery": {"ranges": ["192.0.2.0/24"], "exclude": [], "interval": "1h"},
        "poll": {"interval": "5m"},
    }
    assert (result.upload_interval, result.checkin_interval) == (900.0, 3600.0)
    assert result.profiles.version == "2026.12.1"
    assert result.profiles.files == (("acme.yaml", "profiles: []\n"),)


def test_everything_but_the_header_is_optional() -> None:
    result = parse(bundle(settings=None, profiles=None))
    assert result.exporter_settings == {}
    assert result.upload_interval is None
    assert result.profiles is None


@pytest.mark.parametrize(
    ("changes", "applied", "reason"),
    [
        ({"agent": "site-b"}, 6, "meant for agent 'site-b', this is 'site-a'"),
        ({"version": 6}, 6, "version 6 is not newer than version 6, applied already"),
        ({"version": 3}, 6, "version 3 is not newer"),
        ({"version": "8"}, 6, "version must be a positive integer. Got: '8'"),
        ({"version": True}, 0, "version must be a positive integer"),
        ({"not_after": "2026-12-05T11:59:59Z"}, 6, "expired: not_after 2026-12-05T11:59:59Z"),
        ({"not_after": "2026-12-11T21:00:00"}, 6, "not_after must carry a time zone"),
        ({"issued_at": "yesterday"}, 6, "issued_at must be an RFC 3339 time"),
        ({"issued_at": "2026-12-12T00:00:00Z"}, 6, "issued_at is not before not_after"),
        ({"schema": "archive-config/2"}, 6, "schema must be 'archive-config/1'"),
        ({"extra": 1}, 6, "unknown key 'extra' in the bundle"),
        ({"settings": []}, 6, "settings must be an object"),
        ({"settings": {"credentials": []}}, 6, "settings.credentials: not a setting remote"),
        (
            {"settings": {"upload": {"interval": "5s"}}},
            6,
            "settings.upload.interval: must be at least 1m",
        ),
        (
            {"settings": {"checkin": {"every": "1h"}}},
            6,
            "settings.checkin may hold only 'interval'",
        ),
        ({"profiles": {"version": "x", "files": {"a.yaml": ""}}}, 6, "profiles.version must be"),
        ({"profiles": {"version": "1", "files": {}}}, 6, "profiles.files must be a non-empty"),
        (
            {"profiles": {"version": "1", "files": {"../x.yaml": ""}}},
            6,
            "'../x.yaml' is not a plain",
        ),
        ({"profiles": {"version": "1", "files": {"a/b.yaml": ""}}}, 6, "is not a plain file name"),
        ({"profiles": {"version": "1", "files": {".hidden.yaml": ""}}}, 6, "is not a plain"),
        ({"profiles": {"version": "1", "files": {"a.yml": ""}}}, 6, "ending in .yaml"),
        ({"profiles": {"version": "1", "files": {"a.yaml\x00": ""}}}, 6, "is not a plain"),
        (
            {"profiles": {"version": "1", "files": {"_database.yaml": ""}}},
            6,
            "written by pull-sync",
        ),
        ({"profiles": {"version": "1", "files": {"a.yaml": 5}}}, 6, "must be YAML text"),
    ],
)
def test_rejections(changes: dict[str, Any], applied: int, reason: str) -> None:
    assert reason in rejected(bundle(**changes), applied)


def test_not_json() -> None:
    assert rejected(b"\xff") == "the bundle is not JSON"
    assert rejected(b"[]") == "the bundle is not a JSON object"


# --- the envelope ------------------------------------------------------------------------


def test_a_good_envelope_gives_the_exact_signed_bytes() -> None:
    signer = Signer()
    data = b'{"schema": "archive-config/1",   "odd": "spacing"}'
    assert verify_envelope(signer.envelope(data), signer.public) == data
    assert envelope_hash(signer.envelope(data)) == bundle_hash(data)


def test_key_id_is_the_documented_digest() -> None:
    signer = Signer()
    assert len(key_id(signer.public)) == 16
    assert json.loads(signer.envelope(b"{}"))["key_id"] == key_id(signer.public)


def test_bad_signature() -> None:
    signer = Signer()
    envelope = json.loads(signer.envelope(b'{"version": 7}'))
    envelope["bundle"] = base64.b64encode(b'{"version": 8}').decode()
    with pytest.raises(BundleRejected, match="bad signature"):
        verify_envelope(json.dumps(envelope).encode(), signer.public)


def test_signed_by_another_key_with_our_key_id() -> None:
    ours, theirs = Signer(), Signer()
    forged = theirs.envelope(b"{}", key_id_override=key_id(ours.public))
    with pytest.raises(BundleRejected, match="bad signature"):
        verify_envelope(forged, ours.public)


def test_unknown_key() -> None:
    ours, theirs = Signer(), Signer()
    with pytest.raises(BundleRejected, match="unknown key") as caught:
        verify_envelope(theirs.envelope(b"{}"), ours.public)
    assert key_id(ours.public) in str(caught.value)


@pytest.mark.parametrize(
    "body",
    [
        b"nope",
        b"[]",
        b'{"bundle": "e30=", "signature": "AA=="}',
        b'{"bundle": 5, "signature": "AA==", "key_id": "x"}',
    ],
)
def test_malformed_envelopes(body: bytes) -> None:
    with pytest.raises(BundleRejected):
        verify_envelope(body, Signer().public)


def test_bad_base64_after_a_matching_key_id() -> None:
    signer = Signer()
    body = json.dumps({"bundle": "***", "signature": "AA==", "key_id": key_id(signer.public)})
    with pytest.raises(BundleRejected, match="not base64"):
        verify_envelope(body.encode(), signer.public)


def test_expiry_is_checked_against_the_given_time() -> None:
    doc = bundle(not_after=(NOW + timedelta(seconds=1)).isoformat())
    assert parse(doc).version == 7
