"""EWS in the config: off by default, on per target and range, pins, credentials, never remote."""

from __future__ import annotations

import base64
import hashlib
import textwrap
from pathlib import Path

import pytest

from exporter.config import Config, ConfigError, EwsConfig, check_remote, parse_config, summarize

DOCS = Path(__file__).parents[2] / "docs" / "config.md"


def parse(text: str) -> Config:
    return parse_config(textwrap.dedent(text))


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse(text)
    return list(info.value.problems)


def test_ews_is_off_everywhere_by_default() -> None:
    config = parse("""
        targets: [192.0.2.7, {address: 192.0.2.8, pjl: true}]
        discovery: {ranges: [198.51.100.0/24]}
    """)
    assert config.ews == EwsConfig()
    assert config.ews.scheme == "https"  # plain http only when written
    for host in ("192.0.2.7", "192.0.2.8", "198.51.100.9"):
        assert config.ews_allowed(host, 161) is None


def test_a_target_gets_its_own_keys_over_the_sections() -> None:
    pin = "sha256:" + hashlib.sha256(b"cert").digest().hex(":")
    config = parse(f"""
        ews:
          scheme: http
          timeout: 4s
          credentials:
            - {{name: ews-admin, username: admin, password: pa55word, auth: digest}}
        targets:
          - {{address: 192.0.2.7, ews: true}}
          - address: 192.0.2.8
            ews: {{scheme: https, port: 8443, tls_fingerprint: '{pin}', credentials: ews-admin}}
          - {{address: 192.0.2.9, ews: false}}
    """)
    plain = config.ews_allowed("192.0.2.7", 161)
    assert plain is not None
    assert (plain.scheme, plain.port, plain.timeout, plain.credentials) == ("http", 80, 4.0, None)
    own = config.ews_allowed("192.0.2.8", 161)
    assert own is not None
    assert (own.scheme, own.port) == ("https", 8443)
    assert own.tls_fingerprint is not None
    assert own.tls_fingerprint.digest == hashlib.sha256(b"cert").digest()
    assert own.credentials is not None
    assert own.credentials.password.reveal() == "pa55word"
    assert "pa55word" not in repr(config)
    assert config.ews_allowed("192.0.2.9", 161) is None
    assert config.ews_allowed("192.0.2.7", 1161) is None  # another SNMP port: another target


def test_an_spki_pin_in_curls_format_is_read() -> None:
    digest = hashlib.sha256(b"key").digest()
    pin = "sha256/" + base64.b64encode(digest).decode()
    config = parse(f"targets: [{{address: 192.0.2.7, ews: {{tls_fingerprint: '{pin}'}}}}]")
    found = config.ews_allowed("192.0.2.7", 161)
    assert found is not None
    assert found.tls_fingerprint is not None
    assert (found.tls_fingerprint.kind, found.tls_fingerprint.digest) == ("spki", digest)


def test_a_range_with_ews_covers_what_the_sweep_finds_there_and_no_configured_target() -> None:
    config = parse("""
        targets: [198.51.100.5]
        discovery:
          ranges: [{range: 198.51.100.0/24, ews: true}, 192.0.2.0/25]
          exclude: [198.51.100.200]
    """)
    assert config.ews_allowed("198.51.100.9", 161) is not None
    assert config.ews_allowed("198.51.100.9", 1161) is None
    assert config.ews_allowed("198.51.100.200", 161) is None
    assert config.ews_allowed("192.0.2.9", 161) is None
    assert config.ews_allowed("198.51.100.5", 161) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("targets: [{address: 192.0.2.7, ews: yes please}]", "targets[0].ews: must be a mapping"),
        (
            "targets: [{address: 192.0.2.7, ews: {tls_fingerprint: 'md5:00'}}]",
            "targets[0].ews.tls_fingerprint: must be 'sha256:'",
        ),
        (
            "targets: [{address: 192.0.2.7, ews: {scheme: http, tls_fingerprint: 'sha256:"
            + "00" * 32
            + "'}}]",
            "targets[0].ews.tls_fingerprint: pins a TLS certificate: needs scheme https",
        ),
        (
            "targets: [{address: 192.0.2.7, ews: {credentials: nobody}}]",
            "targets[0].ews.credentials: unknown ews credential set 'nobody'",
        ),
        (
            "ews: {scheme: http, credentials: [{name: a, username: u, password: pw1234,"
            " auth: basic}]}\n"
            "targets: [{address: 192.0.2.7, ews: {credentials: a}}]",
            "targets[0].ews.credentials: 'a' uses basic auth, which sends the password readable",
        ),
        ("ews: {scheme: ftp}", "ews.scheme: must be http or https. Got: 'ftp'"),
        ("ews: {max_page_bytes: 10}", "ews.max_page_bytes: must be an integer from 65,536"),
        ("ews: {max_redirects: 11}", "ews.max_redirects: must be an integer from 0 to 10"),
        (
            "poll: {interval: 5s, timeout: 1s}\news: {timeout: 5s}",
            "ews.timeout: must be less than poll.interval (5s)",
        ),
        ("ews: {ca_file: missing.pem}", "ews.ca_file: must be a readable file"),
        (
            "ews: {credentials: [{name: a, username: u}]}",
            "ews.credentials[0]: password or password_file is required",
        ),
        (
            "ews: {credentials: [{name: a, username: u, password: pw, auth: ntlm}]}",
            "ews.credentials[0].auth: must be basic or digest",
        ),
        (
            "discovery: {ranges: [{range: 192.0.2.0/24, ews: true}, 192.0.2.0/28]}",
            "discovery.ranges: '192.0.2.0/28' overlaps '192.0.2.0/24' but only one of them"
            " has ews: true",
        ),
    ],
)
def test_bad_ews_settings_name_their_path(text: str, expected: str) -> None:
    found = problems(text)
    assert any(expected in line for line in found), found


def test_a_password_is_never_quoted_in_an_error() -> None:
    found = problems(
        "ews: {credentials: [{name: a, username: u, password: hunter2secret, auth: x}]}"
    )
    assert found
    assert all("hunter2secret" not in line for line in found)


SITE = """
targets: [192.0.2.1]
remote:
  file: remote.yml
  allowed_cidrs: [192.0.2.0/24]
  allowed_settings: [targets, discovery.ranges]
"""


@pytest.mark.parametrize(
    ("remote", "path"),
    [
        ("targets: [{address: 192.0.2.7, ews: true}]", "targets[0].ews"),
        ("discovery: {ranges: [{range: 192.0.2.0/28, ews: true}]}", "discovery.ranges[0].ews"),
    ],
)
def test_remote_settings_may_not_turn_ews_on(tmp_path: Path, remote: str, path: str) -> None:
    site = tmp_path / "printer-exporter.yml"
    site.write_text(SITE)
    with pytest.raises(ConfigError) as info:
        check_remote(site, remote)
    (line,) = info.value.problems
    assert line.startswith(f"{path}: may not be set remotely")


def test_the_summary_says_where_ews_is_on() -> None:
    lines = summarize(parse("targets: [{address: 192.0.2.7, ews: true}]"))
    assert (
        "ews: on for 1 target and 0 ranges, https by default, timeout 10s, 0 credential sets"
        in lines
    )


@pytest.mark.parametrize("name", [f.name for f in EwsConfig.__dataclass_fields__.values()])
def test_every_ews_setting_is_documented(name: str) -> None:
    section = DOCS.read_text().split("## `ews`")[1].split("\n## ")[0]
    assert f"`{name}`" in section
