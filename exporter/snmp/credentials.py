"""SNMP credential sets: what a user writes in config, free of pysnmp types.

A site usually has a few credential sets (the default `public`, the one IT set
on the copiers, a v3 user for the new fleet). Devices are tried against the
sets in order and the set that answered is remembered per device, so the
steady state costs one round trip, not one per set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeVar

from exporter.secret import Secret

SnmpVersion = Literal[1, 2, 3]
SecurityLevel = Literal["noAuthNoPriv", "authNoPriv", "authPriv"]
AuthProtocol = Literal["MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"]
PrivProtocol = Literal["DES", "3DES", "AES", "AES192", "AES256"]

AUTH_PROTOCOLS: tuple[AuthProtocol, ...] = ("MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512")
_P = TypeVar("_P", bound=str)

PRIV_PROTOCOLS: tuple[PrivProtocol, ...] = ("DES", "3DES", "AES", "AES192", "AES256")


class CredentialError(ValueError):
    """A credential set that cannot work, named by its set and field."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """One named credential set. Build with `community()` or `usm()` to get validation."""

    name: str
    version: SnmpVersion
    community_string: Secret | None = None
    username: str | None = None
    security_level: SecurityLevel = "noAuthNoPriv"
    auth_protocol: AuthProtocol | None = None
    auth_key: Secret | None = None
    priv_protocol: PrivProtocol | None = None
    priv_key: Secret | None = None
    context_name: str = ""

    def describe(self) -> str:
        """A log-safe one-liner: version and user, never a key or community."""
        if self.version != 3:
            return f"{self.name} (v{'1' if self.version == 1 else '2c'})"
        return f"{self.name} (v3 user {self.username!r}, {self.security_level})"


def community(name: str, value: str, *, version: Literal[1, 2] = 2) -> Credentials:
    if not value:
        raise CredentialError(f"credentials {name!r}: community must not be empty")
    return Credentials(name=name, version=version, community_string=Secret(value))


def usm(
    name: str,
    username: str,
    *,
    auth_protocol: str | None = None,
    auth_key: str | None = None,
    priv_protocol: str | None = None,
    priv_key: str | None = None,
    context_name: str = "",
) -> Credentials:
    """An SNMPv3 user. The security level follows from which keys are given."""
    if not username:
        raise CredentialError(f"credentials {name!r}: username must not be empty")
    auth = _pick(name, "auth_protocol", auth_protocol, AUTH_PROTOCOLS)
    priv = _pick(name, "priv_protocol", priv_protocol, PRIV_PROTOCOLS)
    if priv is not None and auth is None:
        raise CredentialError(f"credentials {name!r}: priv_protocol needs an auth_protocol too")
    for proto, key, field in ((auth, auth_key, "auth_key"), (priv, priv_key, "priv_key")):
        if proto is not None and (key is None or len(key) < 8):
            raise CredentialError(
                f"credentials {name!r}: {field} must be at least 8 characters (RFC 3414)"
            )
        if proto is None and key:
            raise CredentialError(f"credentials {name!r}: {field} given without its protocol")
    level: SecurityLevel = "authPriv" if priv else "authNoPriv" if auth else "noAuthNoPriv"
    return Credentials(
        name=name,
        version=3,
        username=username,
        security_level=level,
        auth_protocol=auth,
        auth_key=Secret(auth_key) if auth and auth_key else None,
        priv_protocol=priv,
        priv_key=Secret(priv_key) if priv and priv_key else None,
        context_name=context_name,
    )


_ALIASES = {"SHA1": "SHA", "AES128": "AES", "DES3": "3DES", "TRIPLEDES": "3DES"}


def is_protocol_name(value: str, allowed: tuple[str, ...]) -> bool:
    """Whether `value` names one of `allowed` (or none) in any spelling `usm()` accepts."""
    try:
        _pick("", "", value, allowed)
    except CredentialError:
        return False
    return True


def _pick(name: str, field: str, value: str | None, allowed: tuple[_P, ...]) -> _P | None:
    """A protocol name in any common spelling ('sha-256', 'AES128', 'none') -> canonical."""
    if value is None:
        return None
    key = value.strip().upper().replace("-", "").replace("_", "")
    if key in ("", "NONE"):
        return None
    key = _ALIASES.get(key, key)
    for candidate in allowed:
        if candidate == key:
            return candidate
    raise CredentialError(
        f"credentials {name!r}: {field} must be one of {', '.join(allowed)}. Got: {value!r}"
    )
