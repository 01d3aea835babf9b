"""`printer-archive` as an operator runs it (subprocesses), against a served archive."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import stat
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from archive import db, signing
from archive.cli import parse_duration
from archive.errors import UsageError
from tests.archive.conftest import batch_body, cli, serve, snapshot


@pytest.fixture
def db_env(tmp_path: Path) -> dict[str, str]:
    return {"PRINTER_ARCHIVE_DB": f"sqlite:///{tmp_path / 'archive.db'}"}


def ok(*args: str, env: dict[str, str], stdin: str | None = None) -> str:
    run = cli(*args, env=env, stdin=stdin)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    out: str = run.stdout
    return out


def test_agent_add_prints_the_token_last_and_it_works(db_url: str) -> None:
    out = ok("agent", "add", "site-a", "--db", db_url, env={})
    token = out.strip().splitlines()[-1]
    assert token.startswith("pa1_")
    assert len(token) == 47
    engine = db.open_engine(db_url)
    with serve(engine) as url:
        response = httpx.post(
            f"{url}/api/v1/snapshots",
            content=batch_body([snapshot()]),
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "cli-1"},
        )
    assert response.status_code == 200
    assert token not in str(db.describe(engine.url))
    listing = ok("agent", "list", "--db", db_url, "--output", "json", env={})
    (agent,) = json.loads(listing)["agents"]
    assert agent["name"] == "site-a"
    assert agent["snapshots_stored"] == 1
    engine.dispose()
    again = cli("agent", "add", "site-a", "--db", db_url)
    assert again.returncode == 2
    assert "exists" in again.stderr


def test_the_database_never_holds_a_token(tmp_path: Path, db_env: dict[str, str]) -> None:
    token = ok("agent", "add", "site-a", env=db_env).strip().splitlines()[-1]
    rotated = ok("agent", "token", "site-a", env=db_env).strip().splitlines()[-1]
    assert rotated != token
    raw = (tmp_path / "archive.db").read_bytes()
    for secret in (token, rotated):
        assert secret.encode() not in raw
        assert secret[4:].encode() not in raw


def test_bad_agent_names_are_usage_errors(db_env: dict[str, str]) -> None:
    run = cli("agent", "add", "Site A", env=db_env)
    assert run.returncode == 2
    assert "agent name must be" in run.stderr


def test_admin_add_reads_the_password_from_stdin_or_a_file(
    tmp_path: Path, db_env: dict[str, str]
) -> None:
    ok("admin", "add", "alice", "--bcrypt-cost", "4", env=db_env, stdin="long enough password\n")
    short = cli("admin", "add", "bob", "--bcrypt-cost", "4", env=db_env, stdin="short\n")
    assert short.returncode == 2
    assert "at least 12" in short.stderr
    secret_file = tmp_path / "pw"
    secret_file.write_text("another long password\nsecond line ignored\n")
    ok(
        "admin",
        "add",
        "alice",
        "--replace",
        "--password-file",
        str(secret_file),
        "--bcrypt-cost",
        "4",
        env=db_env,
    )
    engine = db.open_engine(db_env["PRINTER_ARCHIVE_DB"])
    with serve(engine) as url:
        good = httpx.get(f"{url}/api/v1/agents", auth=("alice", "another long password"))
        old = httpx.get(f"{url}/api/v1/agents", auth=("alice", "long enough password"))
    assert good.status_code == 200
    assert old.status_code == 401
    raw = Path(db_env["PRINTER_ARCHIVE_DB"].removeprefix("sqlite:///")).read_bytes()
    assert b"another long password" not in raw
    engine.dispose()


def test_keygen_writes_a_private_key_only_its_owner_reads(tmp_path: Path) -> None:
    out = ok("keygen", "--out", str(tmp_path / "keys"), env={})
    private = tmp_path / "keys" / signing.PRIVATE_NAME
    public = tmp_path / "keys" / signing.PUBLIC_NAME
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(public).st_mode) == 0o644
    key = signing.load_private_key(private)
    assert signing.key_id(key.public_key()) in out
    raw = out.strip().splitlines()[-1].rsplit(" ", 1)[-1]
    assert Ed25519PublicKey.from_public_bytes(base64.b64decode(raw)) == key.public_key()
    assert signing.load_public_key(public) == key.public_key()
    again = cli("keygen", "--out", str(tmp_path / "keys"))
    assert again.returncode == 2
    assert "refusing to overwrite" in again.stderr
    assert private.read_bytes() == private.read_bytes()


def test_publish_then_check_in(tmp_path: Path, db_env: dict[str, str]) -> None:
    ok("keygen", "--out", str(tmp_path / "keys"), env={})
    key = tmp_path / "keys" / signing.PRIVATE_NAME
    token = ok("agent", "add", "site-a", env=db_env).strip().splitlines()[-1]
    spec = tmp_path / "site-a.yaml"
    spec.write_text(
        "settings:\n"
        "  targets: [{address: 192.0.2.10, name: Reception, credentials: [office]}]\n"
        "  discovery: {ranges: [192.0.2.0/24], interval: 1h}\n"
    )
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "acme.yaml").write_text("vendor: acme\n")
    out = ok(
        "config",
        "publish",
        "--agent",
        "site-a",
        "--file",
        str(spec),
        "--key",
        str(key),
        "--valid-for",
        "2d",
        "--profiles",
        str(profiles),
        "--profiles-version",
        "2026.12.1",
        env=db_env,
    )
    assert "version 1" in out
    ok(
        "config",
        "publish",
        "--agent",
        "site-a",
        "--file",
        str(spec),
        "--key",
        str(key),
        "--version",
        "5",
        env=db_env,
    )
    engine = db.open_engine(db_env["PRINTER_ARCHIVE_DB"])
    with serve(engine) as url:
        response = httpx.get(f"{url}/api/v1/config", headers={"Authorization": f"Bearer {token}"})
    engine.dispose()
    envelope = signing.Envelope(
        base64.b64decode(response.json()["bundle"]),
        base64.b64decode(response.json()["signature"]),
        response.json()["key_id"],
    )
    assert signing.verify(
        signing.load_public_key(tmp_path / "keys" / signing.PUBLIC_NAME), envelope
    )
    bundle = json.loads(envelope.bundle)
    assert bundle["version"] == 5
    assert bundle["schema"] == "archive-config/1"
    assert bundle["settings"]["targets"][0]["credentials"] == ["office"]
    assert "profiles" not in bundle  # only version 1 shipped them


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("settings: {poll: {interval: 5m}, community: public}\n", "settings.community"),
        (
            "settings:\n  targets: [{address: 192.0.2.1, community: public}]\n",
            "settings.targets[0].community",
        ),
        ("settings: {polling: {}}\n", "settings.polling: unknown key (did you mean 'poll'?)"),
        ("setings: {}\n", "setings: unknown key"),
        ("agent: site-b\nsettings: {}\n", "agent: the file names 'site-b'"),
        ("schema: archive-config/2\n", "schema: must be"),
        ("issued_at: 2026-01-01T00:00:00Z\n", "issued_at: set by"),
        ("version: -1\n", "version: must be a positive integer"),
        ("not_after: 2000-01-01T00:00:00Z\n", "not_after"),
        ("settings: [1, 2]\n", "settings: must be a mapping"),
        ("settings: {}\nsettings: {}\n", "--file"),
        ("profiles: {version: '1', files: {'../x.yaml': ''}}\n", "plain file name"),
        ("- just a list\n", "must hold a mapping"),
    ],
)
def test_publish_refuses_bad_bundle_files(
    tmp_path: Path, db_env: dict[str, str], content: str, message: str
) -> None:
    ok("keygen", "--out", str(tmp_path / "keys"), env={})
    ok("agent", "add", "site-a", env=db_env)
    spec = tmp_path / "bundle.yaml"
    spec.write_text(content)
    run = cli(
        "config",
        "publish",
        "--agent",
        "site-a",
        "--file",
        str(spec),
        "--key",
        str(tmp_path / "keys" / signing.PRIVATE_NAME),
        env=db_env,
    )
    assert run.returncode == 2, run.stdout
    assert message in run.stderr
    assert "public" not in run.stderr or "community" in message


def test_publish_refuses_a_key_that_is_not_ed25519(tmp_path: Path, db_env: dict[str, str]) -> None:
    ok("agent", "add", "site-a", env=db_env)
    spec = tmp_path / "b.yaml"
    spec.write_text("settings: {}\n")
    bad = tmp_path / "bad.key"
    bad.write_text("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    run = cli(
        "config", "publish", "--agent", "site-a", "--file", str(spec), "--key", str(bad), env=db_env
    )
    assert run.returncode == 1
    assert "not an unencrypted PEM private key" in run.stderr
    missing = cli(
        "config", "publish", "--agent", "nobody", "--file", str(spec), "--key", str(bad), env=db_env
    )
    assert missing.returncode == 1


def test_export_and_release_commands(db_env: dict[str, str]) -> None:
    token = ok("agent", "add", "site-a", env=db_env).strip().splitlines()[-1]
    engine = db.open_engine(db_env["PRINTER_ARCHIVE_DB"])
    docs = [
        snapshot(taken_at="2026-12-01T08:00:00Z", counters=[("total", 100)]),
        snapshot(taken_at="2026-12-02T08:00:00Z", counters=[("total", 175)]),
    ]
    ok("release", "announce", "2.1.0", env=db_env)
    with serve(engine) as url:
        response = httpx.post(
            f"{url}/api/v1/snapshots",
            content=batch_body(docs),
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "x"},
        )
    engine.dispose()
    assert response.headers["X-Archive-Latest-Agent"] == "2.1.0"
    assert ok("release", "show", env=db_env).strip() == "2.1.0"
    ok("release", "withdraw", env=db_env)
    assert "none" in ok("release", "show", env=db_env)
    bad = cli("release", "announce", "v1; rm -rf", env=db_env)
    assert bad.returncode == 2
    out = ok("export", "--from", "2026-12-01", "--to", "2026-12-31", "--format", "csv", env=db_env)
    (row,) = csv.DictReader(io.StringIO(out))
    assert (row["agent"], row["counter"], row["pages"], row["first_value"]) == (
        "site-a",
        "total",
        "75",
        "100",
    )
    data = json.loads(
        ok("export", "--from", "2026-12-01", "--to", "2026-12-31", "--format", "json", env=db_env)
    )
    assert data["rows"][0]["pages"] == 75
    backwards = cli("export", "--from", "2026-12-31", "--to", "2026-12-01", env=db_env)
    assert backwards.returncode == 2


def test_every_command_teaches_with_examples() -> None:
    for args in (
        (),
        ("serve",),
        ("agent", "add"),
        ("admin", "add"),
        ("config", "publish"),
        ("export",),
    ):
        out = ok(*args, "--help", env={})
        assert "examples:" in out, args


def test_missing_db_is_a_usage_error() -> None:
    run = cli("agent", "list", env={"PRINTER_ARCHIVE_DB": ""})
    assert run.returncode == 2
    assert "--db is required" in run.stderr


def test_serve_refuses_toolkit_basic_auth(tmp_path: Path, db_env: dict[str, str]) -> None:
    web = tmp_path / "web.yml"
    web.write_text("basic_auth_users:\n  alice: $2b$12$" + "a" * 53 + "\n")
    run = cli(
        "serve", "--web.config.file", str(web), "--web.listen-address", "127.0.0.1:0", env=db_env
    )
    assert run.returncode == 2
    assert "admin add" in run.stderr


@pytest.mark.parametrize(("text", "hours"), [("7d", 168), ("12h", 12), ("90m", 1.5)])
def test_durations(text: str, hours: float) -> None:
    assert parse_duration(text).total_seconds() == hours * 3600


@pytest.mark.parametrize("text", ["", "0d", "7", "1w", "-1d", "1.5h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(UsageError):
        parse_duration(text)
