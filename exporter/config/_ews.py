"""The `ews` section and a target's `ews:` key: where and how printers' web servers are read.

Kept apart from `_parse` because its rules are its own: TLS pins, HTTP credentials
with their secrets, and the checks that tie a target's keys to the section's
(a pin needs https, a basic-auth password never goes over plain http).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

from exporter.config._checker import Checker, Converter
from exporter.config._model import EwsConfig, EwsTarget, HttpCredentials, PollConfig, TlsPin
from exporter.config._secrets import possible_secrets
from exporter.config._values import (
    Invalid,
    check_duration_bounds,
    format_duration,
    parse_bool,
    parse_duration,
    parse_int,
    parse_name,
    parse_port,
    parse_username,
)
from exporter.secret import Secret
from exporter.yamlcheck import show

_HEX_PIN = re.compile(r"(?:[0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}")
_PIN_HELP = (
    "must be 'sha256:' and the certificate's SHA-256 in hex (openssl x509 -noout"
    " -fingerprint -sha256), or 'sha256/' and the base64 SHA-256 of its public key"
)
SCHEMES = ("http", "https")
AUTH_KINDS = ("basic", "digest")
SECTION_KEYS = (
    "scheme",
    "port",
    "timeout",
    "max_page_bytes",
    "max_redirects",
    "https_upgrade",
    "ca_file",
    "credentials",
)
TARGET_KEYS = ("scheme", "port", "tls_fingerprint", "credentials", "profile")
_CREDENTIAL_KEYS = ("name", "username", "password", "password_file", "auth")
_PROFILE = re.compile(r"^[a-z][a-z0-9_]*$")


def parse_scheme(value: object) -> str:
    if value not in SCHEMES:
        raise Invalid(f"must be http or https. Got: {show(value)}")
    return str(value)


def parse_pin(value: object) -> TlsPin:
    if not isinstance(value, str):
        raise Invalid(f"{_PIN_HELP}. Got: {show(value)}")
    text = value.strip()
    if text.lower().startswith("sha256:") and _HEX_PIN.fullmatch(text[7:]):
        return TlsPin("certificate", bytes.fromhex(text[7:].replace(":", "")))
    if text.startswith("sha256/"):
        try:
            digest = base64.b64decode(text[7:], validate=True)
        except (binascii.Error, ValueError):
            digest = b""
        if len(digest) == 32:
            return TlsPin("spki", digest)
    raise Invalid(f"{_PIN_HELP}. Got: {show(value)}")


def _profile_name(value: object) -> str:
    if not isinstance(value, str) or not _PROFILE.match(value):
        raise Invalid(f"must be a profile name such as 'hp'. Got: {show(value)}")
    return value


def _auth(value: object) -> str:
    if value not in AUTH_KINDS:
        raise Invalid(f"must be basic or digest. Got: {show(value)}")
    return str(value)


def _duration(low: float, high: float) -> Converter:
    def convert(value: object) -> float:
        return check_duration_bounds(parse_duration(value), value, low, high)

    return convert


_SECTION: dict[str, Converter] = {
    "scheme": parse_scheme,
    "port": parse_port,
    "timeout": _duration(0.5, 120),
    "max_page_bytes": lambda value: parse_int(value, 64 * 1024, 64 * 1024 * 1024),
    "max_redirects": lambda value: parse_int(value, 0, 10),
    "https_upgrade": parse_bool,
}
_TARGET: dict[str, Converter] = {
    "scheme": parse_scheme,
    "port": parse_port,
    "tls_fingerprint": parse_pin,
    "profile": _profile_name,
}


def declared_names(section: object) -> list[str]:
    """The credential names the section declares, read before targets are (they name them)."""
    raw = section.get("credentials") if isinstance(section, dict) else None
    items = raw if isinstance(raw, list) else []
    names = [i["name"] for i in items if isinstance(i, dict) and isinstance(i.get("name"), str)]
    return list(dict.fromkeys(names))


def parse_section(checker: Checker, value: object, poll: PollConfig) -> EwsConfig:
    raw = checker.mapping(value, "ews", SECTION_KEYS)
    if raw is None:
        return EwsConfig()
    kwargs = checker.fields(raw, "ews", _SECTION)
    if "timeout" in kwargs and kwargs["timeout"] >= poll.interval:
        limit = f"less than poll.interval ({format_duration(poll.interval)})"
        checker.add("ews.timeout", f"must be {limit}. Got: {show(raw['timeout'])}")
    if "ca_file" in raw:
        path = raw["ca_file"]
        file = checker.base_dir / path if isinstance(path, str) and path else None
        if file is None or not file.is_file():
            checker.add(
                "ews.ca_file", f"must be a readable file of PEM certificates. Got: {show(path)}"
            )
        else:
            kwargs["ca_file"] = file
    if "credentials" in raw:
        kwargs["credentials"] = _credentials(checker, raw["credentials"])
    return EwsConfig(**kwargs)


def _credentials(checker: Checker, value: object) -> tuple[HttpCredentials, ...]:
    out: list[HttpCredentials] = []
    seen: set[str] = set()
    for index, item in enumerate(checker.items(value, "ews.credentials")):
        path = f"ews.credentials[{index}]"
        if isinstance(item, dict):
            found = possible_secrets(item, _CREDENTIAL_KEYS)
            checker.secrets |= found - set(AUTH_KINDS)  # `basic` is not a password
        raw = checker.mapping(item, path, _CREDENTIAL_KEYS)
        if raw is None:
            continue
        name = checker.required(raw, path, "name", parse_name)
        username = checker.required(raw, path, "username", parse_username)
        password = checker.secret(raw, path, "password", required=True)
        auth = checker.fields(raw, path, {"auth": _auth}).get("auth", "digest")
        if name is None or username is None or password is None:
            continue
        if name in seen:
            checker.add(f"{path}.name", f"listed twice: {name!r}")
            continue
        seen.add(name)
        out.append(HttpCredentials(name, username, Secret(password), auth))
    return tuple(out)


def parse_target(checker: Checker, value: object, path: str, names: list[str]) -> EwsTarget | None:
    """`ews: true`, `ews: false`, or a mapping of the target's own keys."""
    if isinstance(value, bool):
        return EwsTarget() if value else None
    raw = checker.mapping(value, path, TARGET_KEYS)
    if raw is None:
        return None
    kwargs: dict[str, Any] = checker.fields(raw, path, _TARGET)
    if "credentials" in raw:
        name = raw["credentials"]
        if not isinstance(name, str) or name not in names:
            defined = ", ".join(names) or "none"
            checker.add(
                f"{path}.credentials",
                f"unknown ews credential set {show(name)}; defined in ews.credentials: {defined}",
            )
        else:
            kwargs["credentials"] = name
    return EwsTarget(**kwargs)


def check_targets(checker: Checker, targets: Mapping[int, EwsTarget], section: EwsConfig) -> None:
    """What only the two together can say: a pin needs https, and a password sent with
    basic auth (readable by anyone on the path) never goes over plain http."""
    by_name = {creds.name: creds for creds in section.credentials}
    for index, own in targets.items():
        scheme = own.scheme or section.scheme
        path = f"targets[{index}].ews"
        if own.tls_fingerprint is not None and scheme != "https":
            checker.add(f"{path}.tls_fingerprint", "pins a TLS certificate: needs scheme https")
        creds = by_name.get(own.credentials or "")
        if creds is not None and creds.auth == "basic" and scheme != "https":
            checker.add(
                f"{path}.credentials",
                f"{creds.name!r} uses basic auth, which sends the password readable over"
                " plain http; use https, or digest auth",
            )
