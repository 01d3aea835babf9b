"""TLS to the archive fails closed: wrong CA, expired certificate, wrong name, missing
client certificate, pin mismatch. Nothing reaches the archive application, and where the
client is the one refusing, not one byte of the request leaves it (trustme certificates)."""

from __future__ import annotations

import base64
import datetime
import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from exporter.corehttp import spki_sha256
from pull_sync.archive import ArchiveClient
from pull_sync.errors import PinMismatch, TlsError, TransientError
from pull_sync.metrics import Stats
from pull_sync.outbox import Outbox
from pull_sync.upload import Uploader
from tests.pull_sync.conftest import Tls, load, write_config
from tests.pull_sync.servers import RawTlsServer, ServerTls, TestArchive, serve

pytestmark = pytest.mark.integration

BODY = gzip.compress(json.dumps({"snapshots": [{"schema": "printer-snapshot/1"}]}).encode())


def pin_of(cert_file: Path) -> str:
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    der = cert.public_bytes(
        encoding=__import__("cryptography").hazmat.primitives.serialization.Encoding.DER
    )
    return base64.b64encode(spki_sha256(der)).decode()


def client_for(tmp_path: Path, url: str, ca_file: Path, archive_extra: str = "") -> ArchiveClient:
    config = load(write_config(tmp_path, url, ca_file=ca_file, archive_extra=archive_extra))
    return ArchiveClient(config.archive)


@pytest.fixture
def other_ca(tls: Tls) -> Path:
    trustme = pytest.importorskip("trustme")
    path = tls.folder / "other-ca.crt"
    if not path.exists():
        trustme.CA().cert_pem.write_to_path(path)
    return path


async def _refused_by_client(
    tmp_path: Path, cert: tuple[Path, Path], ca_file: Path, extra: str = ""
) -> tuple[BaseException, RawTlsServer]:
    with RawTlsServer(str(cert[0]), str(cert[1])) as raw:
        client = client_for(tmp_path, f"https://127.0.0.1:{raw.port}", ca_file, extra)
        try:
            with pytest.raises(TlsError) as caught:
                await client.upload("key-1", BODY)
        finally:
            await client.aclose()
    assert raw.connections >= 1
    assert raw.received == 0, "the client sent application data to a server it refused"
    return caught.value, raw


async def test_baseline_the_right_ca_works(tmp_path: Path, tls: Tls) -> None:
    archive = TestArchive("pa1_test-token-0123456789")
    with serve(archive.app, tls=ServerTls(str(tls.server_cert), str(tls.server_key))) as run:
        client = client_for(tmp_path, run.url, tls.ca_file)
        try:
            assert (await client.upload("key-1", BODY)).status == 200
        finally:
            await client.aclose()


async def test_wrong_ca(tmp_path: Path, tls: Tls, other_ca: Path) -> None:
    error, _ = await _refused_by_client(tmp_path, (tls.server_cert, tls.server_key), other_ca)
    assert "certificate verify failed" in str(error)


async def test_expired_certificate(tmp_path: Path, tls: Tls) -> None:
    past = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    cert = tls.leaf(
        "expired", "127.0.0.1", not_before=past, not_after=past + datetime.timedelta(days=30)
    )
    error, _ = await _refused_by_client(tmp_path, cert, tls.ca_file)
    assert "expired" in str(error)


async def test_wrong_name(tmp_path: Path, tls: Tls) -> None:
    cert = tls.leaf("wrong-san", "archive.example", "192.0.2.1")
    error, _ = await _refused_by_client(tmp_path, cert, tls.ca_file)
    assert "mismatch" in str(error)


async def test_pin_mismatch_sends_nothing(tmp_path: Path, tls: Tls) -> None:
    other = base64.b64encode(b"\x00" * 32).decode()
    error, raw = await _refused_by_client(
        tmp_path,
        (tls.server_cert, tls.server_key),
        tls.ca_file,
        f'spki_pins: ["{other}"]',
    )
    assert isinstance(error, PinMismatch)
    assert raw.handshakes >= 1  # the handshake completed; the pin closed it, not the CA
    assert pin_of(tls.server_cert) in str(error)


async def test_a_matching_pin_works_and_a_renewed_certificate_with_the_same_key_too(
    tmp_path: Path, tls: Tls
) -> None:
    archive = TestArchive("pa1_test-token-0123456789")
    pin = pin_of(tls.server_cert)
    with serve(archive.app, tls=ServerTls(str(tls.server_cert), str(tls.server_key))) as run:
        client = client_for(tmp_path, run.url, tls.ca_file, f'spki_pins: ["{pin}"]')
        try:
            assert (await client.upload("key-1", BODY)).status == 200
        finally:
            await client.aclose()


@pytest.fixture
def mtls_archive(tls: Tls) -> Iterator[tuple[TestArchive, str]]:
    archive = TestArchive("pa1_test-token-0123456789")
    server_tls = ServerTls(str(tls.server_cert), str(tls.server_key), str(tls.client_ca_file))
    with serve(archive.app, tls=server_tls) as run:
        yield archive, run.url


async def test_missing_client_certificate(
    tmp_path: Path, tls: Tls, mtls_archive: tuple[TestArchive, str]
) -> None:
    """Under TLS 1.3 the client's handshake ends before the server checks its certificate,
    so the refusal arrives as an alert or a closed connection on the first read: either
    way a TransientError, and the archive application never sees the request."""
    archive, url = mtls_archive
    client = client_for(tmp_path, url, tls.ca_file)
    try:
        with pytest.raises(TransientError):
            await client.upload("key-1", BODY)
    finally:
        await client.aclose()
    assert archive.requests == []


async def test_with_the_client_certificate(
    tmp_path: Path, tls: Tls, mtls_archive: tuple[TestArchive, str]
) -> None:
    archive, url = mtls_archive
    extra = f"client_cert_file: {str(tls.client_cert)!r}\nclient_key_file: {str(tls.client_key)!r}"
    client = client_for(tmp_path, url, tls.ca_file, extra)
    try:
        assert (await client.upload("key-1", BODY)).status == 200
    finally:
        await client.aclose()
    assert list(archive.batches) == ["key-1"]


async def test_a_tls_failure_keeps_the_batch_queued(
    tmp_path: Path, tls: Tls, other_ca: Path
) -> None:
    with RawTlsServer(str(tls.server_cert), str(tls.server_key)) as raw:
        config = load(write_config(tmp_path, f"https://127.0.0.1:{raw.port}", ca_file=other_ca))
        client = ArchiveClient(config.archive)
        stats = Stats()
        with Outbox.open(tmp_path / "o.db", 2**20) as outbox:
            outbox.append([(BODY, 1)])
            try:
                wait = await Uploader(outbox, client, config.upload, stats).drain()
            finally:
                await client.aclose()
            assert wait is not None
            assert outbox.pending() == 1
            assert outbox.dead_letters() == []
    assert stats.upload_attempts == {"tls": 1}
    assert raw.received == 0
