"""The web config file (checked like exporter-toolkit's), basic auth, headers, and who
may read the snapshot API."""

from __future__ import annotations

import base64
import ssl
from pathlib import Path
from typing import Any

import bcrypt
import httpx
import pytest
from starlette.datastructures import Headers

from exporter.secret import Secret
from exporter.web import WebConfigError, WebSettings, build_app, load_web_config, parse_web_config
from exporter.web.app import secure_app
from exporter.web.clients import client_host, cross_origin, is_loopback, snapshot_api_allowed
from exporter.web.security import (
    CLIENT_AUTH,
    BasicAuthMiddleware,
    bcrypt_cost,
    uvicorn_tls_options,
)
from tests.web.conftest import FakeService, TlsFiles, serve

PASSWORD = "s3cret-scrape"
HASH = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()


def problems(data: Any, base_dir: Path = Path("/")) -> tuple[str, ...]:
    with pytest.raises(WebConfigError) as caught:
        parse_web_config(data, base_dir=base_dir)
    return caught.value.problems


# --- the file -----------------------------------------------------------------


@pytest.mark.parametrize("data", [None, {}, {"tls_server_config": {}}, {"basic_auth_users": {}}])
def test_an_empty_config_is_plain_http_without_auth(data: Any) -> None:
    config = parse_web_config(data, base_dir=Path("/"))
    assert config.tls_server_config is None
    assert dict(config.basic_auth_users) == {}
    assert uvicorn_tls_options(config.tls_server_config) == {}


def test_unknown_and_unsupported_keys_are_refused_with_the_reason(tls_files: TlsFiles) -> None:
    found = problems(
        {
            "tls_config": {},
            "rate_limit": {"interval": "1s", "burst": 5},
            "tls_server_config": {
                "cert_file": str(tls_files.server_cert),
                "key_file": str(tls_files.server_key),
                "client_allowed_sans": ["scraper"],
                "curve_preferences": ["X25519"],
                "key": "-----BEGIN PRIVATE KEY-----",
            },
        }
    )
    text = "\n".join(found)
    assert "tls_config: unknown key (did you mean 'tls_server_config'?)" in text
    assert "rate_limit: not supported" in text
    assert "tls_server_config.client_allowed_sans: not supported" in text
    assert "tls_server_config.curve_preferences: not supported" in text
    assert "tls_server_config.key: inline PEM is not supported" in text
    assert "BEGIN PRIVATE KEY" not in text
    assert len(found) == 5  # every problem at once


def test_errors_name_the_key_and_the_value(tls_files: TlsFiles) -> None:
    found = problems(
        {
            "tls_server_config": {
                "cert_file": str(tls_files.server_cert),
                "key_file": "missing.key",
                "client_auth_type": "Sometimes",
                "min_version": "TLS14",
                "cipher_suites": ["TLS_FANCY"],
            },
            "http_server_config": {
                "http2": "yes",
                "headers": {"X-Frame-Options": "allow", "Server": "lies"},
            },
        },
        base_dir=tls_files.server_cert.parent,
    )
    assert found == (
        "tls_server_config.key_file: no such file: 'missing.key'",
        "tls_server_config.client_auth_type: must be one of NoClientCert, RequestClientCert, "
        "RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert. "
        "Got: 'Sometimes'",
        "tls_server_config.min_version: must be one of TLS10, TLS11, TLS12, TLS13. Got: 'TLS14'",
        "tls_server_config.cipher_suites: unknown cipher 'TLS_FANCY'; see docs/web.md for the "
        "names",
        "http_server_config.http2: must be true or false. Got: 'yes'",
        "http_server_config.headers.X-Frame-Options: must be one of deny, sameorigin. Got: 'allow'",
        "http_server_config.headers.Server: unknown key; expected one of "
        "Strict-Transport-Security, X-Content-Type-Options, X-Frame-Options, X-XSS-Protection, "
        "Content-Security-Policy",
    )


def test_client_ca_rules(tls_files: TlsFiles) -> None:
    base = {"cert_file": str(tls_files.server_cert), "key_file": str(tls_files.server_key)}
    assert problems(
        {"tls_server_config": {**base, "client_auth_type": "RequireAndVerifyClientCert"}}
    ) == (
        "tls_server_config.client_ca_file: is required with client_auth_type "
        "RequireAndVerifyClientCert: Python verifies every client certificate it asks for, "
        "against this CA",
    )
    assert problems(
        {"tls_server_config": {**base, "client_ca_file": str(tls_files.client_ca_file)}}
    ) == (
        "tls_server_config.client_ca_file: is set but client_auth_type NoClientCert "
        "verifies no client certificate",
    )
    assert problems({"tls_server_config": {**base, "min_version": "TLS13", "max_version": "TLS12"}})


def test_a_key_that_does_not_match_the_cert_fails_at_load(tls_files: TlsFiles) -> None:
    found = problems(
        {
            "tls_server_config": {
                "cert_file": str(tls_files.server_cert),
                "key_file": str(tls_files.client_ca_file),  # a certificate, not a key
            }
        }
    )
    assert found[0].startswith("tls_server_config: cannot use the certificate files:")


@pytest.mark.parametrize(
    ("name", "canonical", "reqs", "ca"),
    [
        ("NoClientCert", "NoClientCert", ssl.CERT_NONE, False),
        ("RequestClientCert", "RequestClientCert", ssl.CERT_NONE, False),
        ("RequireAnyClientCert", "RequireAnyClientCert", ssl.CERT_REQUIRED, True),
        ("RequireClientCert", "RequireAnyClientCert", ssl.CERT_REQUIRED, True),
        ("VerifyClientCertIfGiven", "VerifyClientCertIfGiven", ssl.CERT_OPTIONAL, True),
        ("RequireAndVerifyClientCert", "RequireAndVerifyClientCert", ssl.CERT_REQUIRED, True),
    ],
)
def test_client_auth_type_maps_onto_uvicorn(
    tls_files: TlsFiles, name: str, canonical: str, reqs: ssl.VerifyMode, ca: bool
) -> None:
    section: dict[str, object] = {
        "cert_file": "server.crt",  # relative to the config's directory
        "key_file": "server.key",
        "client_auth_type": name,
    }
    if ca:
        section["client_ca_file"] = "client_ca.crt"
    config = parse_web_config({"tls_server_config": section}, base_dir=tls_files.server_cert.parent)
    tls = config.tls_server_config
    assert tls is not None
    assert tls.client_auth_type == canonical
    assert CLIENT_AUTH[name][1] == reqs
    options = uvicorn_tls_options(tls)
    assert options["ssl_cert_reqs"] == reqs
    assert options["ssl_certfile"] == str(tls_files.server_cert)
    assert options["ssl_ca_certs"] == (str(tls_files.client_ca_file) if ca else None)


def test_load_web_config_reads_yaml_relative_to_the_file(
    tmp_path: Path, tls_files: TlsFiles
) -> None:
    (tmp_path / "certs").mkdir()
    for name in ("server.crt", "server.key"):
        (tmp_path / "certs" / name).write_bytes((tls_files.server_cert.parent / name).read_bytes())
    path = tmp_path / "web.yml"
    path.write_text(
        "tls_server_config:\n  cert_file: certs/server.crt\n  key_file: certs/server.key\n"
        f"basic_auth_users:\n  prometheus: '{HASH}'\n"
    )
    config = load_web_config(path)
    assert config.tls_server_config is not None
    assert config.tls_server_config.cert_file == tmp_path / "certs" / "server.crt"
    assert HASH not in repr(config)  # hashes print as <secret>
    path.write_text("basic_auth_users:\n  a: x\n  a: y\n")
    with pytest.raises(WebConfigError, match="duplicate key"):
        load_web_config(path)


def test_a_plain_password_in_basic_auth_users_is_refused_without_echoing_it() -> None:
    assert problems({"basic_auth_users": {"prometheus": "hunter2"}}) == (
        "basic_auth_users.prometheus: must be a bcrypt hash ($2a$, $2b$ or $2y$). Got: <secret>",
    )


# --- basic auth, end to end ---------------------------------------------------------


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_basic_auth_401_and_200(service: FakeService, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bytes] = []
    real = bcrypt.checkpw

    def counting(password: bytes, hashed: bytes) -> bool:
        calls.append(hashed)
        return real(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", counting)
    web = parse_web_config({"basic_auth_users": {"prometheus": HASH}}, base_dir=Path("/"))
    with serve(build_app(service, WebSettings()), web) as url, httpx.Client() as client:
        anonymous = client.get(f"{url}/metrics")
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"] == "Basic"
        assert client.get(f"{url}/-/healthy").status_code == 401  # every route, as the toolkit
        assert client.get(f"{url}/metrics", headers=basic("prometheus", "wrong")).status_code == 401
        assert client.get(f"{url}/metrics", headers=basic("nobody", PASSWORD)).status_code == 401
        assert (
            client.get(f"{url}/metrics", headers={"Authorization": "Basic !!"}).status_code == 401
        )
        for _ in range(3):
            response = client.get(f"{url}/metrics", headers=basic("prometheus", PASSWORD))
            assert response.status_code == 200
    # wrong password, unknown user (decoy hash), then one check for three good scrapes
    assert len(calls) == 3
    assert calls[0] == calls[2] == HASH.encode()
    assert calls[1] != HASH.encode()


async def test_an_unknown_user_costs_the_highest_configured_bcrypt_cost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A fixed cost-10 decoy answered an unknown name in 60 ms where a cost-12 user took
    236 ms: the names that exist showed. The decoy now has the users' highest cost."""
    cheap = bcrypt.hashpw(b"a", bcrypt.gensalt(rounds=4))
    dear = bcrypt.hashpw(b"b", bcrypt.gensalt(rounds=5))
    calls: list[bytes] = []
    real = bcrypt.checkpw

    def counting(password: bytes, hashed: bytes) -> bool:
        calls.append(hashed)
        return real(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", counting)
    users = {"cheap": Secret(cheap.decode()), "dear": Secret(dear.decode())}
    middleware = BasicAuthMiddleware(
        secure_app(build_app(FakeService([]), WebSettings()), None), users
    )
    assert bcrypt_cost(middleware.decoy) == 5
    assert not await middleware._check(b"nobody", b"b")
    assert len(calls) == 1
    assert calls[0] == middleware.decoy
    assert calls[0] not in (cheap, dear)
    assert not await middleware._check(b"cheap", b"wrong")
    assert calls[1] == cheap


def test_reload_is_behind_basic_auth(service: FakeService) -> None:
    web = parse_web_config({"basic_auth_users": {"prometheus": HASH}}, base_dir=Path("/"))
    with serve(build_app(service, WebSettings()), web) as url:
        assert httpx.post(f"{url}/-/reload").status_code == 401
        assert httpx.post(f"{url}/-/reload", headers=basic("prometheus", "x")).status_code == 401
        assert service.reloads == 0
        ok = httpx.post(f"{url}/-/reload", headers=basic("prometheus", PASSWORD))
        assert ok.status_code == 200
    assert service.reloads == 1


async def test_snapshot_api_from_a_remote_address_needs_basic_auth(service: FakeService) -> None:
    """In process (no socket can come from 203.0.113.5 here): the scope says who connected."""
    app = build_app(service, WebSettings())
    remote = ("203.0.113.5", 40000)
    for web, headers, status in [
        (None, {}, 403),
        (parse_web_config({"basic_auth_users": {"sync": HASH}}, base_dir=Path("/")), {}, 401),
        (
            parse_web_config({"basic_auth_users": {"sync": HASH}}, base_dir=Path("/")),
            basic("sync", PASSWORD),
            200,
        ),
    ]:
        wrapped = secure_app(app, web)
        transport = httpx.ASGITransport(app=wrapped, client=remote)
        async with httpx.AsyncClient(transport=transport, base_url="http://exporter") as client:
            response = await client.get("/api/v1/snapshot", headers=headers)
        assert response.status_code == status
    open_app = build_app(service, WebSettings(snapshot_api_loopback_only=False))
    transport = httpx.ASGITransport(app=secure_app(open_app, None), client=remote)
    async with httpx.AsyncClient(transport=transport, base_url="http://exporter") as client:
        assert (await client.get("/api/v1/snapshot")).status_code == 200


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("::ffff:127.0.0.1", True),
        ("10.0.0.1", False),  # parse-only
        ("192.168.1.20", False),  # parse-only
        ("::ffff:10.0.0.1", False),  # parse-only
        ("fe80::1%eth0", False),
        ("localhost", False),
        ("", False),
        (None, False),
    ],
)
def test_is_loopback(host: str | None, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("host", "authenticated", "loopback_only", "allowed"),
    [
        ("127.0.0.1", False, True, True),
        ("10.1.2.3", False, True, False),  # parse-only
        ("10.1.2.3", True, True, True),  # parse-only
        (None, False, True, False),
        ("10.1.2.3", False, False, True),  # parse-only
    ],
)
def test_snapshot_api_rule(
    host: str | None, authenticated: bool, loopback_only: bool, allowed: bool
) -> None:
    assert snapshot_api_allowed(host, authenticated, loopback_only) is allowed


@pytest.mark.parametrize(
    ("peer", "headers", "client"),
    [
        ("127.0.0.1", {}, "127.0.0.1"),  # a direct local client
        ("10.1.2.3", {}, "10.1.2.3"),  # parse-only: a direct remote client
        ("127.0.0.1", {"x-forwarded-for": "127.0.0.1"}, "127.0.0.1"),  # local, via local proxy
        ("127.0.0.1", {"x-forwarded-for": "198.51.100.4"}, "198.51.100.4"),
        ("::1", {"x-forwarded-for": "127.0.0.1, 198.51.100.4"}, "198.51.100.4"),
        ("127.0.0.1", {"x-forwarded-for": "198.51.100.4, 127.0.0.2"}, "198.51.100.4"),
        ("::ffff:127.0.0.1", {"x-forwarded-for": "198.51.100.4"}, "198.51.100.4"),
        ("127.0.0.1", {"x-real-ip": "127.0.0.1"}, None),  # no X-Forwarded-For: unknown
        ("127.0.0.1", {"forwarded": "for=127.0.0.1"}, None),
        ("127.0.0.1", {"x-forwarded-for": " , "}, None),
        ("10.1.2.3", {"x-forwarded-for": "127.0.0.1"}, None),  # parse-only: untrusted proxy
        (None, {"x-forwarded-for": "127.0.0.1"}, None),
    ],
)
def test_client_host_judges_forwarded_requests(
    peer: str | None, headers: dict[str, str], client: str | None
) -> None:
    assert client_host(peer, Headers(headers)) == client


@pytest.mark.parametrize(
    ("headers", "external_url", "cross"),
    [
        ({}, None, False),  # curl, Prometheus tooling
        ({"host": "127.0.0.1:9269"}, None, False),
        ({"host": "127.0.0.1:9269", "origin": "http://127.0.0.1:9269"}, None, False),
        ({"host": "exporter.example", "origin": "https://exporter.example:443"}, None, False),
        ({"host": "EXPORTER.example:80", "origin": "http://exporter.example"}, None, False),
        ({"host": "127.0.0.1:9269", "origin": "http://evil.example"}, None, True),
        ({"host": "127.0.0.1:9269", "origin": "http://127.0.0.1:9270"}, None, True),
        ({"host": "127.0.0.1:9269", "origin": "null"}, None, True),
        ({"host": "127.0.0.1:9269", "origin": "http://[bad"}, None, True),
        ({"host": "10.0.0.1:9269", "origin": "https://printers.example"}, None, True),  # parse-only
        (
            {"host": "127.0.0.1:9269", "origin": "https://printers.example"},
            "https://printers.example/exporter/",
            False,
        ),
        ({"sec-fetch-site": "same-origin", "origin": "http://elsewhere"}, None, False),
        ({"sec-fetch-site": "none"}, None, False),
        ({"sec-fetch-site": "same-site"}, None, True),
        ({"sec-fetch-site": "cross-site"}, None, True),
    ],
)
def test_cross_origin(headers: dict[str, str], external_url: str | None, cross: bool) -> None:
    assert cross_origin(Headers(headers), external_url) is cross


def test_configured_headers_override_the_page_defaults(service: FakeService) -> None:
    web = parse_web_config(
        {
            "http_server_config": {
                "headers": {
                    "X-Frame-Options": "sameorigin",
                    "Strict-Transport-Security": "max-age=31536000",
                }
            }
        },
        base_dir=Path("/"),
    )
    with serve(build_app(service, WebSettings()), web) as url:
        page = httpx.get(f"{url}/")
        metrics = httpx.get(f"{url}/metrics")
    assert page.headers.get_list("x-frame-options") == ["sameorigin"]
    assert page.headers["strict-transport-security"] == "max-age=31536000"
    assert metrics.headers["strict-transport-security"] == "max-age=31536000"
