"""The sidecar config: strict keys, precise errors, secrets from files and never shown."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from exporter.config import ConfigError as ExporterConfigError
from pull_sync.config import (
    DEFAULT_EXPORTER_URL,
    MiB,
    SidecarConfig,
    describe,
    load_config,
    parse_config,
)
from pull_sync.errors import ConfigError, PullSyncError
from tests.pull_sync.servers import Signer

TOKEN = "pa1_very-secret-token-value"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "token").write_text(TOKEN + "\n")
    return tmp_path


def parse(folder: Path, text: str) -> SidecarConfig:
    return parse_config(text, "pull-sync.yml", base_dir=folder)


def problems(folder: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(folder, text)
    return list(caught.value.problems)


MINIMAL = """
agent: {name: site-a}
archive: {url: "https://archive.example", token_file: token}
"""


def test_minimal_config_and_its_defaults(folder: Path) -> None:
    config = parse(folder, MINIMAL)
    assert config.agent_name == "site-a"
    assert config.archive.url == "https://archive.example"
    assert config.archive.token.reveal() == TOKEN
    assert config.exporter.url == DEFAULT_EXPORTER_URL
    assert config.upload.interval == 900.0
    assert config.checkin.interval == 3600.0
    assert config.outbox.max_bytes == 256 * MiB
    assert config.web.listen_address is None
    assert config.signing.public_key is None


def test_the_error_class_is_both_ours_and_the_exporters(folder: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(folder, "agent: {}\n")
    assert isinstance(caught.value, PullSyncError)
    assert isinstance(caught.value, ExporterConfigError)


def test_every_problem_is_reported_at_once_with_its_path(folder: Path) -> None:
    found = problems(
        folder,
        """
agent: {name: "site a"}
archive:
  url: http://archive.example
  token_file: token
  spki_pin: [abc]
  proxy_url: "http://user:pw@proxy:3128"
exporter: {url: "http://192.0.2.1:9269"}
outbox: {max_bytes: 10}
upload: {interval: 0s, max_batch_snapshots: 20000}
uplod: {}
web: {listen_address: ":9270"}
""",
    )
    text = "\n".join(found)
    assert "uplod: unknown key (did you mean 'upload'?)" in text
    assert "archive.spki_pin: unknown key (did you mean 'spki_pins'?)" in text
    assert "agent.name: must be 1-64 letters" in text
    assert "archive.url: must be https://" in text
    assert "'http://archive.example'" in text
    assert "archive.proxy_url: must not carry a user or password" in text
    assert "exporter.url: must be a loopback address" in text
    assert "outbox.max_bytes: must be a size like 256MiB" in text
    assert "upload.interval: must be more than zero. Got: '0s'" in text
    assert "upload.max_batch_snapshots: must be an integer from 1 to 10,000" in text
    assert "web.listen_address: must be a loopback host:port" in text
    assert "pw" not in text.replace("password", "")


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8443", "http://[::1]:8443/archive", "https://archive.example/base/"],
)
def test_archive_urls_allowed(folder: Path, url: str) -> None:
    config = parse(folder, f'agent: {{name: a}}\narchive: {{url: "{url}", token_file: token}}\n')
    assert config.archive.endpoint("/api/v1/snapshots").endswith("/api/v1/snapshots")
    assert "//api" not in config.archive.endpoint("/api/v1/snapshots")


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8443",  # a name: resolved at run time, so not provably loopback
        "http://10.0.0.1",
        "ftp://archive.example",
        "https://user:pw@archive.example",
        "https://archive.example/?token=x",
        "https://archive.example:99999",
        "archive.example",
    ],
)
def test_archive_urls_refused(folder: Path, url: str) -> None:
    found = problems(folder, f'agent: {{name: a}}\narchive: {{url: "{url}", token_file: token}}\n')
    assert any(line.startswith("archive.url: ") for line in found), found


def test_the_token_comes_from_a_file_only_and_is_never_printed(folder: Path) -> None:
    found = problems(folder, 'agent: {name: a}\narchive: {url: "https://a.example", token: x}\n')
    assert "archive.token: unknown key (did you mean 'token_file'?)" in found
    assert "archive.token_file: is required: a file holding the agent's token" in found
    config = parse(folder, MINIMAL)
    assert TOKEN not in repr(config)
    assert TOKEN not in "\n".join(describe(config))


def test_a_secret_written_where_it_does_not_belong_is_not_quoted(folder: Path) -> None:
    (folder / "password").write_text("hunter2-exporter-password\n")
    found = problems(
        folder,
        MINIMAL + "exporter: {username: hunter2-exporter-password:x, password_file: password}\n",
    )
    assert found
    assert all("hunter2-exporter-password" not in line for line in found)


def test_missing_token_file_names_the_path(folder: Path) -> None:
    found = problems(
        folder, 'agent: {name: a}\narchive: {url: "https://a.example", token_file: nope}\n'
    )
    assert found == [
        f"archive.token_file: cannot read {str(folder / 'nope')!r}: No such file or directory"
    ]


def test_tls_keys_only_for_https(folder: Path) -> None:
    found = problems(
        folder,
        'agent: {name: a}\narchive: {url: "http://127.0.0.1:1", token_file: token,'
        " ca_file: ca.pem}\n",
    )
    assert found == ["archive.ca_file: only for an https:// archive.url"]


def test_client_cert_and_key_go_together(folder: Path) -> None:
    found = problems(
        folder, MINIMAL.replace("token_file: token", "token_file: token, client_cert_file: c.pem")
    )
    assert found == ["archive.client_key_file: give client_cert_file and client_key_file together"]


def test_spki_pins(folder: Path) -> None:
    pin = base64.b64encode(hashlib.sha256(b"spki").digest()).decode()
    config = parse(
        folder,
        MINIMAL.replace(
            "token_file: token", f'token_file: token, spki_pins: ["{pin}", "sha256/{pin}"]'
        ),
    )
    assert config.archive.spki_pins == (hashlib.sha256(b"spki").digest(),) * 2
    found = problems(
        folder, MINIMAL.replace("token_file: token", 'token_file: token, spki_pins: ["abc", 5]')
    )
    assert [line.split(":")[0] for line in found] == [
        "archive.spki_pins[0]",
        "archive.spki_pins[1]",
    ]


def test_signing_key_as_pem_or_raw_base64(folder: Path) -> None:
    signer = Signer()
    (folder / "key.pem").write_bytes(signer.public_pem)
    (folder / "key.b64").write_text(base64.b64encode(signer.public).decode() + "\n")
    (folder / "bad.key").write_text("not a key\n")
    for name in ("key.pem", "key.b64"):
        config = parse(folder, MINIMAL + f"signing: {{public_key_file: {name}}}\n")
        assert config.signing.public_key == signer.public
    found = problems(folder, MINIMAL + "signing: {public_key_file: bad.key}\n")
    assert found == [
        "signing.public_key_file: must hold an Ed25519 public key: PEM, or the base64 of its"
        " 32 raw bytes"
    ]


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1MiB", MiB),
        ("256MiB", 256 * MiB),
        ("1GiB", 1024 * MiB),
        ("500MB", 500_000_000),
        (2 * MiB, 2 * MiB),
    ],
)
def test_outbox_sizes(folder: Path, text: object, size: int) -> None:
    shown = f'"{text}"' if isinstance(text, str) else str(text)
    config = parse(folder, MINIMAL + f"outbox: {{path: o.db, max_bytes: {shown}}}\n")
    assert config.outbox.max_bytes == size
    assert config.outbox.path == folder / "o.db"


def test_metrics_listener_is_loopback_only(folder: Path) -> None:
    assert (
        parse(folder, MINIMAL + 'web: {listen_address: "[::1]:9270"}\n').web.listen_address
        == "[::1]:9270"
    )
    for bad in ("0.0.0.0:9270", "192.0.2.1:9270", "localhost:9270", "127.0.0.1"):
        assert problems(folder, MINIMAL + f'web: {{listen_address: "{bad}"}}\n')


def test_load_config_reads_relative_paths_beside_the_file(folder: Path) -> None:
    path = folder / "pull-sync.yml"
    path.write_text(MINIMAL + "outbox: {path: data/outbox.db}\n")
    assert load_config(path).outbox.path == folder / "data" / "outbox.db"
    with pytest.raises(ConfigError) as caught:
        load_config(folder / "missing.yml")
    assert "cannot read the file" in str(caught.value)


def test_yaml_errors_do_not_quote_the_line(folder: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(folder, 'agent: {name: a}\narchive: {url: "https://a", token_file: [\n')
    assert "line" in str(caught.value)
