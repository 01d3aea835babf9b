"""No secret leaves through the archive's logs, answers or database: tokens, admin
passwords, and the database password, whatever a client sends (at debug log level)."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest

from tests.archive.conftest import archive_process, batch_body, cli, snapshot

pytestmark = pytest.mark.integration

PASSWORD = "s3cret admin passphrase"


def test_secrets_stay_out_of_logs_answers_and_the_database(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    env = {"PRINTER_ARCHIVE_DB": f"sqlite:///{path}"}
    added = cli("agent", "add", "site-a", env=env)
    token = added.stdout.strip().splitlines()[-1]
    assert (
        cli("admin", "add", "alice", "--bcrypt-cost", "4", env=env, stdin=PASSWORD).returncode == 0
    )
    log = tmp_path / "archive.log"
    answers: list[str] = []
    with (
        archive_process(env["PRINTER_ARCHIVE_DB"], log, log_level="debug") as archive,
        httpx.Client(base_url=archive.url, timeout=60) as client,
    ):
        good = {"Authorization": f"Bearer {token}", "Idempotency-Key": "k1"}
        for response in (
            client.post("/api/v1/snapshots", content=batch_body([snapshot()]), headers=good),
            client.post("/api/v1/snapshots", content=b"{", headers=good),
            client.post(
                "/api/v1/snapshots",
                content=b"{}",
                headers={"Authorization": f"Bearer {token[:-1]}x", "Idempotency-Key": "k"},
            ),
            client.get("/api/v1/config", headers={"Authorization": f"Bearer {token}"}),
            client.get("/api/v1/agents", auth=("alice", PASSWORD)),
            client.get("/api/v1/agents", auth=("alice", PASSWORD + "x")),
            client.get("/api/v1/agents", auth=(PASSWORD, PASSWORD)),  # password as name
            client.get(
                "/api/v1/agents",
                headers={"Authorization": "Basic " + base64.b64encode(b"\xff:x").decode()},
            ),
            client.get("/api/v1/agents", headers={"Authorization": f"Bearer {token}"}),
        ):
            assert response.status_code < 500
            answers.append(response.text)
            answers.append(str(response.headers))
    text = log.read_text()
    assert "admin sign-in failed" in text  # the log did record the failures
    leaked = {
        "token": token,
        "token body": token[4:],
        "password": PASSWORD,
    }
    for name, secret in leaked.items():
        assert secret not in text, f"{name} in the log"
        assert all(secret not in answer for answer in answers), f"{name} in an answer"
        assert secret.encode() not in path.read_bytes(), f"{name} in the database"


def test_database_password_is_not_printed(tmp_path: Path) -> None:
    run = cli("agent", "list", "--db", "postgresql://archive:hunter2@127.0.0.1:9/none")
    assert run.returncode == 1
    assert "hunter2" not in run.stderr + run.stdout
