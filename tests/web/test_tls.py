"""TLS and client certificates from a web config, over real TLS on 127.0.0.1 (trustme)."""

from __future__ import annotations

import ssl
from typing import Any

import httpx
import pytest

from exporter.web import WebConfigFile, build_app, parse_web_config
from exporter.web.app import WebSettings
from tests.web.conftest import FakeService, TlsFiles, serve


def tls_config(files: TlsFiles, **extra: Any) -> WebConfigFile:
    section = {"cert_file": str(files.server_cert), "key_file": str(files.server_key), **extra}
    return parse_web_config({"tls_server_config": section}, base_dir=files.server_cert.parent)


def test_tls_server_is_verified_by_the_client_with_the_ca(
    service: FakeService, tls_files: TlsFiles
) -> None:
    app = build_app(service, WebSettings())
    with serve(app, tls_config(tls_files), scheme="https") as url:
        with httpx.Client(verify=tls_files.client_context()) as client:
            response = client.get(f"{url}/metrics")
        assert response.status_code == 200
        assert "printer_up" in response.text
        # A client that does not trust the CA refuses the server.
        with pytest.raises(httpx.ConnectError), httpx.Client() as untrusting:
            untrusting.get(f"{url}/-/healthy")
        # Plain HTTP to the TLS port gets no answer.
        with pytest.raises(httpx.TransportError):
            httpx.get(url.replace("https://", "http://") + "/-/healthy")


def test_mtls_require_and_verify_client_cert(service: FakeService, tls_files: TlsFiles) -> None:
    config = tls_config(
        tls_files,
        client_auth_type="RequireAndVerifyClientCert",
        client_ca_file=str(tls_files.client_ca_file),
    )
    with serve(build_app(service, WebSettings()), config, scheme="https") as url:
        with httpx.Client(verify=tls_files.client_context(with_cert=True)) as client:
            assert client.get(f"{url}/-/healthy").status_code == 200
        with (
            pytest.raises(httpx.TransportError),
            httpx.Client(verify=tls_files.client_context()) as anonymous,
        ):
            anonymous.get(f"{url}/-/healthy")
        # A certificate from another CA (the server's) is refused too.
        stranger = tls_files.client_context()
        tls_files.ca.issue_cert("intruder@example.org").configure_cert(stranger)
        with pytest.raises(httpx.TransportError), httpx.Client(verify=stranger) as intruder:
            intruder.get(f"{url}/-/healthy")


def test_verify_client_cert_if_given(service: FakeService, tls_files: TlsFiles) -> None:
    config = tls_config(
        tls_files,
        client_auth_type="VerifyClientCertIfGiven",
        client_ca_file=str(tls_files.client_ca_file),
    )
    with serve(build_app(service, WebSettings()), config, scheme="https") as url:
        for with_cert in (False, True):
            context = tls_files.client_context(with_cert=with_cert)
            with httpx.Client(verify=context) as client:
                assert client.get(f"{url}/-/healthy").status_code == 200


def test_min_version_tls13_refuses_a_tls12_client(
    service: FakeService, tls_files: TlsFiles
) -> None:
    config = tls_config(tls_files, min_version="TLS13")
    with serve(build_app(service, WebSettings()), config, scheme="https") as url:
        old = tls_files.client_context()
        old.maximum_version = ssl.TLSVersion.TLSv1_2
        with pytest.raises(httpx.ConnectError), httpx.Client(verify=old) as client:
            client.get(f"{url}/-/healthy")
        with httpx.Client(verify=tls_files.client_context()) as client:
            assert client.get(f"{url}/-/healthy").status_code == 200


def test_cipher_suites_limit_tls12(service: FakeService, tls_files: TlsFiles) -> None:
    config = tls_config(
        tls_files,
        max_version="TLS12",
        cipher_suites=["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"],
    )
    with serve(build_app(service, WebSettings()), config, scheme="https") as url:
        with httpx.Client(verify=tls_files.client_context()) as client:
            response = client.get(f"{url}/-/healthy")
            assert response.status_code == 200
            stream = response.extensions["network_stream"]
            cipher = stream.get_extra_info("ssl_object").cipher()
        assert cipher[0] == "ECDHE-ECDSA-AES256-GCM-SHA384"
