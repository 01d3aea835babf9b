"""Signed config bundles: verify the signature over the exact bytes, then check what they say.

    data = verify_envelope(body, public_key)           # BundleRejected if not signed by us
    bundle = parse_bundle(data, agent="site-a", applied_version=6, now=now)

Order matters. The envelope is verified against the pinned Ed25519 key before
the bundle's JSON is parsed at all, so a forged bundle never reaches a parser's
corner cases. Then, in this order: the schema, the agent name, the version
(strictly greater than the last one applied, so a captured old bundle cannot
roll a site back), the validity window, and the shape of every section. What
the exporter's part may contain (addresses inside the site's allowed CIDRs,
settings remote may change, credential names defined locally) is the
exporter's own check, `exporter.config.check_remote`, run by `apply`.

Every function here is pure: no clock, no files. Each rejection is one
`BundleRejected` whose message is the line reported back to the archive.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from exporter.config._values import Invalid, check_duration_bounds, parse_duration
from exporter.yamlcheck import show
from pull_sync.errors import BundleRejected

BUNDLE_SCHEMA = "archive-config/1"
EXPORTER_SECTIONS = ("targets", "discovery", "poll")
SIDECAR_SECTIONS = ("upload", "checkin")
REMOTE_INTERVAL_BOUNDS = {"upload": (60.0, 86400.0), "checkin": (60.0, 7 * 86400.0)}
"""A bundle may set pull_sync's own intervals, but not below a minute: a central mistake
must not turn every site into a flood of uploads."""
MAX_PROFILE_FILES = 500
MAX_PROFILE_BYTES = 8 * 1024 * 1024
PROFILE_FILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\.yaml")
"""A plain file name: no path separator, no leading dot, nothing but `.yaml`."""
RESERVED_PROFILE_FILE = "_database.yaml"
_PROFILES_VERSION = re.compile(r"\d{1,9}(?:\.\d{1,9}){0,7}")
_KEYS = ("schema", "agent", "version", "issued_at", "not_after", "settings", "profiles")


@dataclass(frozen=True, slots=True)
class Profiles:
    version: str
    files: tuple[tuple[str, str], ...]
    """(file name, YAML text), sorted by name."""


@dataclass(frozen=True, slots=True)
class Bundle:
    """A verified, checked bundle."""

    agent: str
    version: int
    hash: str
    issued_at: datetime
    not_after: datetime
    exporter_settings: dict[str, Any]
    """`targets`, `discovery`, `poll` as the bundle gave them, for the remote file."""
    upload_interval: float | None
    checkin_interval: float | None
    profiles: Profiles | None


def bundle_hash(data: bytes) -> str:
    """`sha256:<hex>` of the bundle bytes: the ETag the archive sends and the hash we report."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def key_id(public_key: bytes) -> str:
    """The first 16 hex digits of SHA-256 of the raw 32-byte public key (archive-api/1)."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def verify_envelope(body: bytes, public_key: bytes) -> bytes:
    """The bundle bytes of an envelope signed with `public_key`, or BundleRejected."""
    try:
        envelope = json.loads(body)
    except ValueError:
        raise BundleRejected("the envelope is not JSON") from None
    if not isinstance(envelope, dict):
        raise BundleRejected("the envelope is not a JSON object")
    fields = {}
    for name in ("bundle", "signature", "key_id"):
        value = envelope.get(name)
        if not isinstance(value, str):
            raise BundleRejected(f"the envelope has no {name!r} string")
        fields[name] = value
    ours = key_id(public_key)
    if fields["key_id"] != ours:
        raise BundleRejected(
            f"signed with an unknown key {show(fields['key_id'])}; this agent trusts key {ours}"
        )
    try:
        data = base64.b64decode(fields["bundle"], validate=True)
        signature = base64.b64decode(fields["signature"], validate=True)
    except (binascii.Error, ValueError):
        raise BundleRejected("the envelope's bundle or signature is not base64") from None
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, data)
    except InvalidSignature:
        raise BundleRejected("bad signature: the bundle was not signed by the pinned key") from None
    return data


def envelope_hash(body: bytes) -> str:
    """The hash to report for an envelope we could not verify: of its bundle if readable."""
    try:
        envelope = json.loads(body)
        return bundle_hash(base64.b64decode(envelope["bundle"], validate=True))
    except (ValueError, KeyError, TypeError, binascii.Error):
        return bundle_hash(body)


def parse_bundle(data: bytes, *, agent: str, applied_version: int, now: datetime) -> Bundle:
    """Verified bundle bytes -> Bundle, or BundleRejected with the first reason found."""
    try:
        doc = json.loads(data)
    except ValueError:
        raise BundleRejected("the bundle is not JSON") from None
    if not isinstance(doc, dict):
        raise BundleRejected("the bundle is not a JSON object")
    unknown = sorted(str(key) for key in doc if key not in _KEYS)
    if unknown:
        raise BundleRejected(f"unknown key {show(unknown[0])} in the bundle")
    if doc.get("schema") != BUNDLE_SCHEMA:
        raise BundleRejected(f"schema must be {BUNDLE_SCHEMA!r}. Got: {show(doc.get('schema'))}")
    if doc.get("agent") != agent:
        raise BundleRejected(f"meant for agent {show(doc.get('agent'))}, this is {agent!r}")
    version = doc.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise BundleRejected(f"version must be a positive integer. Got: {show(version)}")
    if version <= applied_version:
        raise BundleRejected(
            f"version {version} is not newer than version {applied_version}, applied already"
        )
    issued_at = _time(doc, "issued_at")
    not_after = _time(doc, "not_after")
    if not_after <= now:
        raise BundleRejected(f"expired: not_after {doc['not_after']} has passed")
    if issued_at >= not_after:
        raise BundleRejected("issued_at is not before not_after")
    settings = doc.get("settings", {})
    if not isinstance(settings, dict):
        raise BundleRejected(f"settings must be an object. Got: {show(settings)}")
    unknown = sorted(
        str(key) for key in settings if key not in (*EXPORTER_SECTIONS, *SIDECAR_SECTIONS)
    )
    if unknown:
        raise BundleRejected(f"settings.{unknown[0]}: not a setting remote can change")
    intervals = {name: _interval(settings, name) for name in SIDECAR_SECTIONS}
    return Bundle(
        agent=agent,
        version=version,
        hash=bundle_hash(data),
        issued_at=issued_at,
        not_after=not_after,
        exporter_settings={k: settings[k] for k in EXPORTER_SECTIONS if k in settings},
        upload_interval=intervals["upload"],
        checkin_interval=intervals["checkin"],
        profiles=_profiles(doc.get("profiles")),
    )


def _time(doc: dict[str, Any], key: str) -> datetime:
    value = doc.get(key)
    if not isinstance(value, str):
        raise BundleRejected(f"{key} must be an RFC 3339 time. Got: {show(value)}")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise BundleRejected(f"{key} must be an RFC 3339 time. Got: {show(value)}") from None
    if when.tzinfo is None:
        raise BundleRejected(f"{key} must carry a time zone (Z). Got: {show(value)}")
    return when


def _interval(settings: dict[str, Any], section: str) -> float | None:
    if section not in settings:
        return None
    value = settings[section]
    if not isinstance(value, dict) or set(value) - {"interval"}:
        raise BundleRejected(f"settings.{section} may hold only 'interval'")
    if "interval" not in value:
        return None
    low, high = REMOTE_INTERVAL_BOUNDS[section]
    try:
        return check_duration_bounds(
            parse_duration(value["interval"]), value["interval"], low, high
        )
    except Invalid as error:
        raise BundleRejected(f"settings.{section}.interval: {error}") from None


def _profiles(value: object) -> Profiles | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"version", "files"}:
        raise BundleRejected("profiles must be {'version': ..., 'files': {...}}")
    version = value.get("version")
    if not isinstance(version, str) or not _PROFILES_VERSION.fullmatch(version):
        raise BundleRejected(
            f"profiles.version must be a dotted version like '2026.12.1'. Got: {show(version)}"
        )
    files = value.get("files")
    if not isinstance(files, dict) or not files:
        raise BundleRejected("profiles.files must be a non-empty object of name: YAML text")
    if len(files) > MAX_PROFILE_FILES:
        raise BundleRejected(f"profiles.files holds more than {MAX_PROFILE_FILES} files")
    total = 0
    for name, text in files.items():
        if name == RESERVED_PROFILE_FILE:
            raise BundleRejected(
                f"profiles.files: {name} is written by pull-sync from profiles.version"
            )
        if not isinstance(name, str) or not PROFILE_FILE.fullmatch(name):
            raise BundleRejected(
                f"profiles.files: {show(name)} is not a plain file name ending in .yaml"
            )
        if not isinstance(text, str):
            raise BundleRejected(f"profiles.files.{name}: must be YAML text")
        total += len(text.encode("utf-8", "surrogatepass"))
    if total > MAX_PROFILE_BYTES:
        raise BundleRejected(f"profiles.files hold more than {MAX_PROFILE_BYTES:,} bytes")
    return Profiles(version, tuple(sorted(files.items())))
