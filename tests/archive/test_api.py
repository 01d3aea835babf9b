"""The archive API over real HTTP (uvicorn on 127.0.0.1), on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from archive import bundles, db, ingest, signing, store
from archive.app import LATEST_HEADER
from archive.times import utcnow
from tests.archive.conftest import (
    ADMIN,
    Archive,
    batch_body,
    count_rows,
    serve,
    snapshot,
)

pytestmark = pytest.mark.integration


def upload(client: httpx.Client, key: str, body: bytes, **headers: str) -> httpx.Response:
    return client.post(
        "/api/v1/snapshots",
        content=body,
        headers={"Idempotency-Key": key, "Content-Type": "application/json", **headers},
    )


# --- ingest -------------------------------------------------------------------------------


def test_upload_plain_and_gzip_and_repeat(archive: Archive) -> None:
    with archive.agent() as client:
        first = upload(client, "k-plain", batch_body([snapshot(), snapshot()]))
        assert first.status_code == 200, first.text
        assert first.json() == {"batch": "k-plain", "stored": 2, "duplicate": False}
        packed = upload(
            client,
            "k-gzip",
            batch_body([snapshot()], compress=True),
            **{"Content-Encoding": "gzip"},
        )
        assert packed.json() == {"batch": "k-gzip", "stored": 1, "duplicate": False}
        again = upload(client, "k-plain", batch_body([snapshot(), snapshot()]))
        assert again.status_code == 200
        assert again.json() == {"batch": "k-plain", "stored": 2, "duplicate": True}
    assert count_rows(archive.engine, "snapshots") == 3
    (agent,) = store.list_agents(archive.engine)
    assert agent.agent_version == "0.1.0"
    assert agent.last_upload_at is not None
    assert agent.snapshots_stored == 3


def test_latest_agent_release_is_announced(archive: Archive) -> None:
    with archive.agent() as client:
        before = upload(client, "a", batch_body([]))
        assert LATEST_HEADER not in before.headers
        store.set_release(archive.engine, "1.4.0")
        after = upload(client, "b", batch_body([]))
        assert after.headers[LATEST_HEADER] == "1.4.0"
        assert client.get("/api/v1/config").headers[LATEST_HEADER] == "1.4.0"


@pytest.mark.parametrize(
    ("headers", "body", "status", "reason"),
    [
        ({"Content-Encoding": "br"}, b"{}", 415, "Content-Encoding"),
        ({"Content-Type": "text/plain"}, b"{}", 415, "Content-Type"),
        ({"Content-Encoding": "gzip"}, gzip.compress(b'{"snapshots":[]}')[:-4], 400, "gzip"),
        ({"Content-Encoding": "gzip"}, b"plain text", 400, "gzip"),
        ({}, b"[" * 50_000, 400, "not JSON"),
        ({}, b'{"snapshots": [{"schema": 1}]}', 422, "snapshots[0].schema"),
        ({}, b'{"snapshots": "no"}', 422, "snapshots"),
    ],
)
def test_hostile_bodies_are_4xx_with_a_json_reason(
    archive: Archive, headers: dict[str, str], body: bytes, status: int, reason: str
) -> None:
    with archive.agent() as client:
        response = upload(client, "hostile", body, **headers)
    assert response.status_code == status, response.text
    assert reason in response.json()["error"]
    assert count_rows(archive.engine, "batches") == 0


def test_gzip_bomb_over_http_is_413(archive: Archive) -> None:
    bomb = gzip.compress(b" " * (ingest.MAX_DECOMPRESSED_BYTES + 4096), compresslevel=9)
    with archive.agent() as client:
        response = upload(client, "bomb", bomb, **{"Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert "decompressed" in response.json()["error"]


def test_body_over_the_wire_limit_is_413_from_its_length(archive: Archive) -> None:
    with archive.agent() as client:
        response = upload(client, "big", b" " * (ingest.MAX_WIRE_BYTES + 1))
    assert response.status_code == 413


def test_chunked_body_over_the_wire_limit_is_413(archive: Archive) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(ingest.MAX_WIRE_BYTES // 65536 + 2):
            yield b" " * 65536

    with archive.agent() as client:
        response = client.post(
            "/api/v1/snapshots",
            content=chunks(),
            headers={"Idempotency-Key": "chunked", "Content-Type": "application/json"},
        )
    assert response.status_code == 413


def test_missing_idempotency_key_is_400(archive: Archive) -> None:
    with archive.agent() as client:
        response = client.post("/api/v1/snapshots", content=batch_body([]))
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]


# --- auth ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer pa1_" + "A" * 43,
        "Bearer nonsense",
        "Bearer  pa1_",
        "Basic " + base64.b64encode(b"auditor:correct horse battery staple").decode(),
        "Token pa1_x",
    ],
)
def test_agent_routes_need_an_agent_token(archive: Archive, authorization: str | None) -> None:
    headers = (
        {"Idempotency-Key": "k"}
        if authorization is None
        else {
            "Idempotency-Key": "k",
            "Authorization": authorization,
        }
    )
    with httpx.Client(base_url=archive.url) as client:
        for response in (
            client.post("/api/v1/snapshots", content=batch_body([snapshot()]), headers=headers),
            client.get("/api/v1/config", headers=headers),
            client.post("/api/v1/config/status", content=b"{}", headers=headers),
        ):
            assert response.status_code == 401
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert "error" in response.json()
    assert count_rows(archive.engine, "batches") == 0


def test_an_agent_token_never_opens_admin_routes(archive: Archive) -> None:
    with archive.agent() as client:
        for path in ("/api/v1/agents", "/api/v1/export?from=2026-12-01&to=2026-12-02"):
            response = client.get(path)
            assert response.status_code == 401
            assert response.headers["www-authenticate"].startswith("Basic")


@pytest.mark.parametrize(
    "credentials", [(ADMIN, "wrong password!"), ("nobody", "correct horse battery staple")]
)
def test_admin_routes_refuse_wrong_credentials(
    archive: Archive, credentials: tuple[str, str]
) -> None:
    with httpx.Client(base_url=archive.url, auth=credentials) as client:
        assert client.get("/api/v1/agents").status_code == 401


def test_a_rotated_token_stops_working(archive: Archive) -> None:
    new = store.rotate_token(archive.engine, "site-a")
    with archive.agent() as client:
        assert client.get("/api/v1/config").status_code == 401
    archive.token = new
    with archive.agent() as client:
        assert client.get("/api/v1/config").status_code == 404


# --- check-in and confirm-back ------------------------------------------------------------


def publish(archive: Archive, key: Ed25519PrivateKey, settings: dict[str, object]) -> int:
    now = utcnow()

    def make(version: int) -> signing.Envelope:
        data = bundles.build_bundle(
            {"settings": settings},
            agent="site-a",
            version=version,
            issued_at=now,
            not_after=now + timedelta(days=7),
        )
        return signing.sign(key, data)

    version, _ = store.publish_bundle(archive.engine, "site-a", make)
    return version


def test_check_in_serves_the_signed_bundle_with_etags(archive: Archive) -> None:
    key = Ed25519PrivateKey.generate()
    with archive.agent() as client:
        assert client.get("/api/v1/config").status_code == 404
        publish(archive, key, {"poll": {"interval": "5m"}})
        response = client.get("/api/v1/config")
        assert response.status_code == 200
        envelope = signing.Envelope(
            base64.b64decode(response.json()["bundle"]),
            base64.b64decode(response.json()["signature"]),
            response.json()["key_id"],
        )
        assert signing.verify(key.public_key(), envelope)
        assert not signing.verify(Ed25519PrivateKey.generate().public_key(), envelope)
        bundle = json.loads(envelope.bundle)
        assert bundle["agent"] == "site-a"
        assert bundle["version"] == 1
        assert bundle["settings"] == {"poll": {"interval": "5m"}}
        etag = response.headers["etag"]
        assert etag == f'"sha256:{envelope.sha256}"'
        for header in (etag, f"W/{etag}", f'"sha256:{"0" * 64}", {etag}', "*", etag.strip('"')):
            cached = client.get("/api/v1/config", headers={"If-None-Match": header})
            assert cached.status_code == 304, header
            assert cached.content == b""
        assert client.get("/api/v1/config", headers={"If-None-Match": '"x"'}).status_code == 200
        publish(archive, key, {"poll": {"interval": "1m"}})
        newer = client.get("/api/v1/config", headers={"If-None-Match": etag})
        assert newer.status_code == 200
        assert json.loads(base64.b64decode(newer.json()["bundle"]))["version"] == 2
    (agent,) = store.list_agents(archive.engine)
    assert agent.last_checkin_at is not None
    assert agent.published_version == 2


def test_confirm_back_is_shown_in_the_agent_list(archive: Archive) -> None:
    digest = "sha256:" + "ab" * 32
    with archive.agent() as client:
        response = client.post(
            "/api/v1/config/status",
            json={"version": 3, "hash": digest, "status": "failed", "error": "range\nrefused"},
        )
        assert response.status_code == 204
    with archive.admin() as admin:
        listed = admin.get("/api/v1/agents")
    assert listed.status_code == 200
    (agent,) = listed.json()["agents"]
    assert agent["name"] == "site-a"
    assert agent["agent_version"] == "0.1.0"
    assert agent["config"] == {
        "published_version": None,
        "version": 3,
        "hash": digest,
        "status": "failed",
        "error": "range refused",
        "reported_at": agent["config"]["reported_at"],
    }
    assert agent["config"]["reported_at"].endswith("Z")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 400),
        (b"[]", 422),
        (b'{"version": "3", "hash": "sha256:00", "status": "applied"}', 422),
        (b'{"version": 3, "hash": "md5:00", "status": "applied"}', 422),
        (b'{"version": 3, "hash": "sha256:' + b"0" * 64 + b'", "status": "done"}', 422),
        (
            b'{"version": 3, "hash": "sha256:'
            + b"0" * 64
            + b'", "status": "failed", "error": "'
            + b"x" * 1001
            + b'"}',
            422,
        ),
        (b"{" + b" " * 70_000 + b"}", 413),
    ],
)
def test_bad_confirm_back_is_4xx(archive: Archive, body: bytes, status: int) -> None:
    with archive.agent() as client:
        response = client.post(
            "/api/v1/config/status", content=body, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == status
    assert response.json()["error"]


# --- export -------------------------------------------------------------------------------


def test_billing_export_through_the_api(archive: Archive) -> None:
    """Readings across a 32-bit wrap, a reset and a withheld reading, uploaded as a site
    would, come back as the billing rules say, in JSON and in CSV."""
    top = 2**32
    decrease = {"kind": "decrease", "counter": "mono", "previous": 900, "current": 10}
    docs = [
        snapshot(taken_at="2026-11-30T23:59:59Z", counters=[("total", top - 500)]),  # before
        snapshot(taken_at="2026-12-01T00:00:00Z", counters=[("total", top - 100), ("mono", 800)]),
        snapshot(taken_at="2026-12-02T00:00:00Z", counters=[("total", top - 40), ("mono", 900)]),
        snapshot(taken_at="2026-12-03T00:00:00Z", counters=[("total", 60)], events=[decrease]),
        snapshot(taken_at="2026-12-04T00:00:00Z", counters=[("total", 100), ("mono", 30)]),
        snapshot(taken_at="2026-12-05T00:00:00Z", counters=[("total", 7), ("mono", 50)]),
        snapshot(taken_at="2026-12-06T00:00:00Z", counters=[("total", 17), ("mono", 70)]),
        snapshot(taken_at="2027-01-01T00:00:00Z", counters=[("total", 99999)]),  # after
        snapshot(
            target="127.0.0.12:161",
            taken_at="2026-12-10T00:00:00Z",
            counters=[("total", 5)],
            serial='=HYPERLINK("x")',
        ),
    ]
    with archive.agent() as client:
        assert upload(client, "december", batch_body(docs)).status_code == 200
    with archive.admin() as admin:
        response = admin.get("/api/v1/export", params={"from": "2026-12-01", "to": "2026-12-31"})
        assert response.status_code == 200
        data = response.json()
        assert data["from"] == "2026-12-01T00:00:00.000Z"
        assert data["to"] == "2027-01-01T00:00:00.000Z"
        rows = {(r["target"], r["counter"]): r for r in data["rows"]}
        total = rows[("127.0.0.11:161", "total")]
        assert total["first_value"] == top - 100
        assert total["first_at"] == "2026-12-01T00:00:00.000Z"
        assert total["last_value"] == 17
        assert total["readings"] == 6
        # +60, across the wrap +100, +40, then a reset (100 -> 7) counts 0, then +10
        assert total["pages"] == 60 + 100 + 40 + 10
        assert total["flags"] == ["wrapped", "reset"]
        mono = rows[("127.0.0.11:161", "mono")]
        # 800 -> 900, then withheld on the 3rd (rebased): 900 -> 30 not counted, +20, +20
        assert mono["pages"] == 100 + 20 + 20
        assert mono["flags"] == ["counter_event"]
        other = rows[("127.0.0.12:161", "total")]
        assert (other["readings"], other["pages"], other["flags"]) == (1, 0, [])
        csv = admin.get(
            "/api/v1/export", params={"from": "2026-12-01", "to": "2026-12-31", "format": "csv"}
        )
        assert csv.status_code == 200
        assert csv.headers["content-type"].startswith("text/csv")
        lines = csv.text.splitlines()
        assert lines[0].startswith("agent,target,serial,counter,unit,period_from")
        assert any("wrapped;reset" in line for line in lines)
        assert any("'=HYPERLINK" in line for line in lines)  # no formula for a spreadsheet
        for params, status in [
            ({"from": "2026-12-01"}, 400),
            ({"from": "2026-12-31", "to": "2026-12-01"}, 400),
            ({"from": "yesterday", "to": "2026-12-01"}, 400),
            ({"from": "2026-12-01", "to": "2026-12-02", "format": "xml"}, 400),
        ]:
            assert admin.get("/api/v1/export", params=params).status_code == status


# --- open routes --------------------------------------------------------------------------


def test_health_readiness_and_unknown_routes(archive: Archive) -> None:
    with httpx.Client(base_url=archive.url) as client:
        assert client.get("/-/healthy").status_code == 200
        assert client.get("/-/ready").status_code == 200
        missing = client.get("/nothing")
        assert missing.status_code == 404
        assert missing.json() == {"error": "no such route"}
        wrong = client.delete("/api/v1/snapshots")
        assert wrong.status_code == 405
        assert wrong.json()["error"] == "method not allowed"


def test_not_ready_when_the_schema_is_old(tmp_path: Path) -> None:
    engine = db.open_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    with serve(engine) as url, httpx.Client(base_url=url) as client:
        response = client.get("/-/ready")
        assert response.status_code == 503
        assert "db upgrade" in response.text
        assert client.get("/-/healthy").status_code == 200
