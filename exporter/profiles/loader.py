"""Load the profile database: YAML files -> frozen `Database`.

Strict, in the snmp_exporter manner: unknown keys are rejected, and every
problem names the file, the path inside it and the bad value, for example
`ricoh.yaml: profiles[0].tables[0].rows[2].keys: must be an integer or a
list of integers. Got: 'x'`.
All problems of a database are collected before anything is raised, so
`printer-exporter profiles check DIR` can list them in one go.

Where the files come from: the YAML files shipped in this package, then an
optional override directory (pull_sync delivers updates there). An override
file replaces the shipped file of the same name; new names are added. The
override directory must hold its own `_database.yaml`; when its `version` is
older than the shipped one the whole override is ignored (a stale update must
not roll back newer shipped profiles) and a note says so.

Inheritance: `extends: parent` starts from the parent's mapping. Lists of
counters, tables, derived counters and packed strings are merged by their
`name`/`id`/`oid` (a child entry replaces the parent's entry of the same key,
new ones are appended); `identity` and `supplies` merge per key; every other
key is the child's when given. `match` is never inherited.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from exporter.profiles.checks import NAME, Ctx, ProfileError, unknown_keys
from exporter.profiles.model import SCHEMA_VERSION, Database, Profile
from exporter.profiles.validate import validate_profile
from exporter.yamlcheck import DocumentError, load

__all__ = ["PACKAGE_DIR", "ProfileError", "load_database", "load_directory", "version_key"]

PACKAGE_DIR: Final = Path(__file__).resolve().parent
DATABASE_FILE: Final = "_database.yaml"
_VERSION: Final = re.compile(r"^\d+(?:\.\d+)*$")
_MERGE_KEYS: Final = {"counters": "name", "tables": "id", "derived": "name", "packed": "oid"}


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


# --- files ------------------------------------------------------------------------------


def _read_yaml(path: Path, problems: list[str]) -> Any:
    """The file's YAML document, read and parsed as every YAML file of the project is."""
    try:
        return load(path, source=path.name)
    except DocumentError as error:
        problems.extend(error.lines())
    return None


def _read_header(path: Path, problems: list[str]) -> tuple[str, int] | None:
    if not path.is_file():
        problems.append(f"{DATABASE_FILE}: missing in {path.parent}")
        return None
    before = len(problems)
    doc = _read_yaml(path, problems)
    if doc is None:
        if len(problems) == before:
            problems.append(f"{path.name}: empty")
        return None
    ctx = Ctx(path.name, problems)
    if not isinstance(doc, dict):
        ctx.fail("", "must be a mapping", doc)
        return None
    unknown_keys(ctx, "", doc, {"schema", "version", "description"})
    schema, version = doc.get("schema"), doc.get("version")
    if schema != SCHEMA_VERSION:
        ctx.fail("schema", f"this exporter reads schema {SCHEMA_VERSION}", schema)
    if not isinstance(version, str) or not _VERSION.match(version):
        ctx.fail("version", "must be a dotted version string such as '2026.11.22.1'", version)
        return None
    return version, SCHEMA_VERSION


def _profile_files(directory: Path) -> dict[str, Path]:
    return {p.name: p for p in sorted(directory.glob("*.yaml")) if p.name != DATABASE_FILE}


def load_database(override_dir: Path | None = None, *, base_dir: Path = PACKAGE_DIR) -> Database:
    """The shipped database with `override_dir` applied unless older. Raises ProfileError."""
    problems: list[str] = []
    notes: list[str] = []
    header = _read_header(base_dir / DATABASE_FILE, problems)
    files = _profile_files(base_dir)
    version = header[0] if header else "0"
    directories = [str(base_dir)]
    if override_dir is not None:
        over_problems: list[str] = []
        over = _read_header(override_dir / DATABASE_FILE, over_problems)
        problems.extend(f"override: {p}" for p in over_problems)
        if over is not None and version_key(over[0]) < version_key(version):
            notes.append(
                f"override {override_dir} has version {over[0]}, older than the shipped "
                f"{version}: ignored"
            )
        elif over is not None:
            files.update(_profile_files(override_dir))
            version = over[0]
            directories.append(str(override_dir))
    profiles = _load_profiles(files, problems)
    if problems:
        raise ProfileError(problems)
    return Database(version, SCHEMA_VERSION, profiles, tuple(directories), tuple(notes))


def load_directory(directory: Path) -> Database:
    """Exactly the files of one directory, as a database of its own (for `profiles check`)."""
    return load_database(base_dir=directory)


# --- profiles ---------------------------------------------------------------------------


def _load_profiles(files: Mapping[str, Path], problems: list[str]) -> tuple[Profile, ...]:
    raw: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for filename, path in files.items():
        doc = _read_yaml(path, problems)
        ctx = Ctx(filename, problems)
        if not isinstance(doc, dict) or not isinstance(doc.get("profiles"), list):
            ctx.fail("", "must be a mapping with a 'profiles' list", doc)
            continue
        unknown_keys(ctx, "", doc, {"profiles", "description"})
        for i, item in enumerate(doc["profiles"]):
            path_text = f"profiles[{i}]"
            if not isinstance(item, dict):
                ctx.fail(path_text, "must be a mapping", item)
                continue
            name = item.get("name")
            if not isinstance(name, str) or not NAME.match(name):
                ctx.fail(f"{path_text}.name", "must be a lower_snake_case name", name)
                continue
            if name in raw:
                ctx.fail(f"{path_text}.name", f"duplicate profile (also in {raw[name][0]})", name)
                continue
            raw[name] = (filename, path_text, item)
    out: list[Profile] = []
    for name, (filename, path_text, _item) in raw.items():
        ctx = Ctx(filename, problems)
        merged = _resolve(name, raw, ctx, path_text)
        if merged is not None:
            profile = validate_profile(ctx, path_text, filename, merged)
            if profile is not None:
                out.append(profile)
    return tuple(out)


def _resolve(
    name: str, raw: Mapping[str, tuple[str, str, dict[str, Any]]], ctx: Ctx, path: str
) -> dict[str, Any] | None:
    """The profile's mapping with its `extends` chain merged in (parent first)."""
    chain: list[dict[str, Any]] = []
    seen: set[str] = set()
    current: str | None = name
    while current is not None:
        if current in seen:
            ctx.fail(f"{path}.extends", "inheritance cycle", " -> ".join([*seen, current]))
            return None
        seen.add(current)
        entry = raw.get(current)
        if entry is None:
            ctx.fail(f"{path}.extends", "no such profile", current)
            return None
        chain.append(entry[2])
        parent = entry[2].get("extends")
        if parent is not None and not isinstance(parent, str):
            ctx.fail(f"{path}.extends", "must be a profile name", parent)
            return None
        current = parent
    merged: dict[str, Any] = {}
    for layer in reversed(chain):
        merged = _merge(merged, layer)
    merged["match"] = chain[0].get("match", [])
    merged["extends"] = chain[0].get("extends")
    return merged


def _merge(parent: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    out = dict(parent)
    for key, value in child.items():
        old = out.get(key)
        if key in _MERGE_KEYS and isinstance(old, list) and isinstance(value, list):
            ident = _MERGE_KEYS[key]
            merged = list(old)
            for item in value:
                pos = _find(merged, ident, item)
                if pos is None:
                    merged.append(item)
                else:
                    merged[pos] = item
            out[key] = merged
        elif key in ("identity", "supplies") and isinstance(old, dict) and isinstance(value, dict):
            out[key] = {**old, **value}
        else:
            out[key] = value
    return out


def _find(items: list[Any], ident: str, item: Any) -> int | None:
    """Where a list already holds an entry with the same identifying key as `item`."""
    if not isinstance(item, dict):
        return None
    for i, existing in enumerate(items):
        if isinstance(existing, dict) and existing.get(ident) == item.get(ident):
            return i
    return None
