"""The committed OpenAPI document: valid, served as committed, true to the routes, and
fuzzed with schemathesis against a real server on both backends (no 5xx, every answer as
documented, auth enforced)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine
from starlette.routing import Route

from archive import db, store
from archive.app import OPENAPI, build_app
from tests.archive.conftest import (
    ADMIN,
    ADMIN_PASSWORD,
    add_admin,
    serve,
)

pytestmark = pytest.mark.integration

DOCUMENT: dict[str, Any] = json.loads(OPENAPI.read_text())
AGENT_PATHS = {"/api/v1/snapshots", "/api/v1/config", "/api/v1/config/status"}
ADMIN_PATHS = {"/api/v1/agents", "/api/v1/export"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
    ignored_auth,
]

SCHEMA = schemathesis.openapi.from_path(OPENAPI)
SCHEMA.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=80,
    deterministic=True,  # the same cases on every run and machine
    database="none",
)


def test_document_is_valid_openapi_3() -> None:
    validate(DOCUMENT)
    assert DOCUMENT["openapi"].startswith("3.")


def test_every_route_is_documented_and_every_documented_route_exists(tmp_path: Path) -> None:
    app = build_app(db.open_engine(f"sqlite:///{tmp_path / 'a.db'}"), decoy_cost=4)
    routed = {
        (route.path, method.lower())
        for route in app.routes
        if isinstance(route, Route)
        for method in (route.methods or ())
        if method != "HEAD"
    }
    documented = {(path, method) for path, item in DOCUMENT["paths"].items() for method in item}
    assert routed == documented


def test_security_matches_the_routes() -> None:
    for path, item in DOCUMENT["paths"].items():
        for operation in item.values():
            schemes = {name for entry in operation.get("security", []) for name in entry}
            expected = (
                {"agentToken"}
                if path in AGENT_PATHS
                else {"adminBasic"}
                if path in ADMIN_PATHS
                else set()
            )
            assert schemes == expected, path


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzzed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, str]]]:
    """A served archive with an agent and an admin: (url, headers per path)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'archive.db'}"
    else:
        url = request.getfixturevalue("postgres").new_database()
    engine: Engine = db.open_engine(url)
    db.upgrade(engine)
    token = store.add_agent(engine, "fuzz-site")
    add_admin(engine)
    basic = base64.b64encode(f"{ADMIN}:{ADMIN_PASSWORD}".encode()).decode()
    with serve(engine) as base:
        yield base, {"agent": f"Bearer {token.reveal()}", "admin": f"Basic {basic}"}
    engine.dispose()


def test_served_document_is_the_committed_one(fuzzed: tuple[str, dict[str, str]]) -> None:
    response = httpx.get(f"{fuzzed[0]}/openapi.json")
    assert response.status_code == 200
    assert response.content == OPENAPI.read_bytes()


@SCHEMA.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_api_fuzz(case: schemathesis.Case[Any], fuzzed: tuple[str, dict[str, str]]) -> None:
    base, credentials = fuzzed
    path = case.operation.path
    headers = {}
    if path in AGENT_PATHS:
        headers["Authorization"] = credentials["agent"]
    elif path in ADMIN_PATHS:
        headers["Authorization"] = credentials["admin"]
    case.call_and_validate(base_url=base, headers=headers, checks=CHECKS, timeout=60)
