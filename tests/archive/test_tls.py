"""TLS and mTLS on the archive's listener, from the exporter-toolkit web config file
(trustme certificates; the server is the exporter's hardened uvicorn)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from archive import store
from archive.server import load_archive_web_config
from tests.archive.conftest import batch_body, serve, snapshot

trustme = pytest.importorskip("trustme")
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("pki")
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    server.cert_chain_pems[0].write_to_path(folder / "server.crt")
    server.private_key_pem.write_to_path(folder / "server.key")
    client_ca = trustme.CA()
    client_ca.cert_pem.write_to_path(folder / "client_ca.crt")
    return {
        "folder": folder,
        "ca": ca,
        "client_ca": client_ca,
        "client": client_ca.issue_cert("site-a.agents.example"),
        "stranger": trustme.CA().issue_cert("site-a.agents.example"),
    }


def web_config(pki: dict[str, Any], mtls: bool) -> Path:
    path: Path = pki["folder"] / ("mtls.yml" if mtls else "tls.yml")
    lines = ["tls_server_config:", "  cert_file: server.crt", "  key_file: server.key"]
    if mtls:
        lines += [
            "  client_auth_type: RequireAndVerifyClientCert",
            "  client_ca_file: client_ca.crt",
        ]
    lines += ["http_server_config:", "  headers:", "    X-Content-Type-Options: nosniff"]
    path.write_text("\n".join(lines) + "\n")
    return path


def context(pki: dict[str, Any], cert: Any = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    pki["ca"].configure_trust(ctx)
    if cert is not None:
        cert.configure_cert(ctx)
    return ctx


@pytest.fixture
def token(sqlite_engine: Engine) -> str:
    return store.add_agent(sqlite_engine, "site-a").reveal()


@pytest.fixture
def tls_url(sqlite_engine: Engine, pki: dict[str, Any]) -> Iterator[str]:
    config = load_archive_web_config(web_config(pki, mtls=False))
    with serve(sqlite_engine, config, scheme="https") as url:
        yield url


@pytest.fixture
def mtls_url(sqlite_engine: Engine, pki: dict[str, Any]) -> Iterator[str]:
    config = load_archive_web_config(web_config(pki, mtls=True))
    with serve(sqlite_engine, config, scheme="https") as url:
        yield url


def post(url: str, token: str, verify: ssl.SSLContext) -> httpx.Response:
    return httpx.post(
        f"{url}/api/v1/snapshots",
        content=batch_body([snapshot()]),
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "tls-1"},
        verify=verify,
    )


def test_upload_over_tls(tls_url: str, token: str, pki: dict[str, Any]) -> None:
    response = post(tls_url, token, context(pki))
    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"


def test_a_client_that_does_not_trust_the_ca_fails_closed(tls_url: str, token: str) -> None:
    with pytest.raises(httpx.ConnectError):
        post(tls_url, token, ssl.create_default_context())


def test_mtls_needs_a_client_certificate_from_the_client_ca(
    mtls_url: str, token: str, pki: dict[str, Any]
) -> None:
    assert post(mtls_url, token, context(pki, pki["client"])).status_code == 200
    for cert in (None, pki["stranger"]):
        with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
            post(mtls_url, token, context(pki, cert))
