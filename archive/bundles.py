"""Config bundles (`archive-config/1`): from the operator's file to the exact bytes signed.

    spec = load_spec(Path("site-a.yaml"))          # YAML or JSON; settings, profiles
    data = build_bundle(spec, agent="site-a", version=8, issued_at=now, not_after=...)

The operator writes only what changes (`settings`, optionally `profiles`);
`config publish` fills `schema`, `agent`, `version`, `issued_at` and
`not_after`. The file may give `version` and `not_after` itself; the other
filled keys must agree if present. Checks here are what the archive can know
(shape, known setting names, no secrets); the agent checks the rest against
its own allow-list before it applies anything (docs/archive-api.md).

Why refuse secret-looking keys: remote config never carries a secret, it names
credential sets defined at the site. A bundle with a `community` key is a
mistake to catch before it is signed and sent to every check-in.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from archive.errors import UsageError
from archive.times import format_seconds, parse_instant
from exporter.yamlcheck import DocumentError, join, load, problem, unknown_key

SCHEMA: Final = "archive-config/1"
SETTINGS: Final = ("targets", "discovery", "poll", "upload", "checkin")
"""What a bundle's `settings` may hold (docs/archive-api.md); each key optional."""
TOP_KEYS: Final = ("schema", "agent", "version", "issued_at", "not_after", "settings", "profiles")
SECRET_KEYS: Final = frozenset(
    {
        "community",
        "communities",
        "password",
        "passphrase",
        "auth_key",
        "priv_key",
        "auth_password",
        "priv_password",
        "secret",
        "token",
        "private_key",
    }
)


def load_spec(path: Path) -> dict[str, Any]:
    """Read a bundle file (YAML, or JSON, which YAML reads too) -> its top-level mapping.

    Read by `exporter.yamlcheck`, as every YAML file of the project is: a key written
    twice is an error."""
    try:
        data = load(path)
    except DocumentError as error:
        raise UsageError(f"--file: {str(path)!r}: {'; '.join(error.problems)}") from None
    if not isinstance(data, dict):
        raise UsageError(f"--file: {str(path)!r} must hold a mapping with `settings`")
    return data


def load_profiles(directory: Path) -> dict[str, str]:
    """`*.yaml` files of a vendor-profile directory -> {file name: text}, for `profiles`."""
    if not directory.is_dir():
        raise UsageError(f"--profiles: {str(directory)!r} is not a directory")
    files: dict[str, str] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            files[path.name] = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise UsageError(f"--profiles: cannot read {str(path)!r}: {error}") from None
    if not files:
        raise UsageError(f"--profiles: no *.yaml files in {str(directory)!r}")
    return files


def build_bundle(
    spec: dict[str, Any],
    *,
    agent: str,
    version: int,
    issued_at: datetime,
    not_after: datetime,
) -> bytes:
    """The bundle's JSON bytes, checked; `UsageError` naming the key and value otherwise."""
    for key in spec:
        if key not in TOP_KEYS:
            raise UsageError(problem(join("", key), unknown_key(key, TOP_KEYS)))
    if spec.get("schema", SCHEMA) != SCHEMA:
        raise UsageError(problem("schema", f"must be {SCHEMA!r}", spec["schema"]))
    if spec.get("agent", agent) != agent:
        raise UsageError(f"agent: the file names {spec['agent']!r}, publishing for {agent!r}")
    if "issued_at" in spec:
        raise UsageError("issued_at: set by `config publish` at signing; remove it")
    if not_after <= issued_at:
        raise UsageError(f"not_after: {format_seconds(not_after)} is not after issued_at")
    settings = spec.get("settings", {})
    if not isinstance(settings, dict):
        raise UsageError(problem("settings", "must be a mapping", settings))
    for key in settings:
        if key not in SETTINGS:
            raise UsageError(problem(join("settings", key), unknown_key(key, SETTINGS)))
    _no_secrets(settings, "settings")
    bundle: dict[str, Any] = {
        "schema": SCHEMA,
        "agent": agent,
        "version": version,
        "issued_at": format_seconds(issued_at),
        "not_after": format_seconds(not_after),
        "settings": settings,
    }
    if "profiles" in spec:
        bundle["profiles"] = _profiles(spec["profiles"])
    try:
        return json.dumps(bundle, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError) as error:
        raise UsageError(f"settings: cannot be written as JSON: {error}") from None


def spec_version(spec: dict[str, Any]) -> int | None:
    """The `version` the file asks for, checked, or None to take the next one."""
    value = spec.get("version")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < 2**63:
        raise UsageError(problem("version", "must be a positive integer", value))
    return value


def spec_not_after(spec: dict[str, Any]) -> datetime | None:
    """The `not_after` the file asks for, or None for the default validity."""
    value = spec.get("not_after")
    if value is None:
        return None
    if isinstance(value, datetime):  # YAML reads an unquoted timestamp as one
        text = value.isoformat() if value.tzinfo else value.isoformat() + "Z"
    else:
        text = str(value)
    try:
        return parse_instant(text)
    except ValueError as error:
        raise UsageError(f"not_after: {error}") from None


def _profiles(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UsageError(problem("profiles", "must be a mapping", value))
    for key in value:
        if key not in ("version", "files"):
            raise UsageError(problem(join("profiles", key), unknown_key(key, ("version", "files"))))
    version, files = value.get("version"), value.get("files")
    if not isinstance(version, str) or not version:
        raise UsageError(problem("profiles.version", "must be a non-empty string", version))
    if not isinstance(files, dict) or not files:
        raise UsageError("profiles.files: must map file names to YAML text")
    for name, text in files.items():
        if not isinstance(name, str) or not name.endswith(".yaml") or "/" in name:
            raise UsageError(f"profiles.files: {name!r} must be a plain file name ending .yaml")
        if name.startswith(".") or "\\" in name:
            raise UsageError(f"profiles.files: {name!r} must be a plain file name ending .yaml")
        if not isinstance(text, str):
            raise UsageError(f"profiles.files.{name}: must be the file's text")
    return {"version": version, "files": files}


def _no_secrets(value: object, path: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if str(key).lower() in SECRET_KEYS:
                raise UsageError(
                    f"{path}.{key}: remote config never carries a secret; name a credential "
                    "set defined in the site's exporter config instead"
                )
            _no_secrets(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _no_secrets(item, f"{path}[{index}]")
