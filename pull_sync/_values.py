"""Scalar values of the sidecar config: sizes, URLs, listen addresses, pins, keys.

Each parser takes what YAML produced and returns a typed value or raises the
exporter's `Invalid` with a message that ends in the bad value, so the caller
adds only the key path (the exporter's `_values` convention). The network rules
live here: the archive is `https://` (plain `http://` only to a loopback IP
literal), and the exporter and the metrics listener are loopback IP literals. A
name such as `localhost` is refused because it is resolved at run time, and the
rule must hold whatever the resolver says.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from urllib.parse import urlsplit

from exporter.config._checker import Converter
from exporter.config._values import (
    Invalid,
    check_duration_bounds,
    parse_duration,
    port_number,
    split_host_port,
)
from exporter.yamlcheck import show

MiB = 1024 * 1024
DEFAULT_EXPORTER_URL = "http://127.0.0.1:9269"


def duration(low: float, high: float) -> Converter:
    def convert(value: object) -> float:
        return check_duration_bounds(parse_duration(value), value, low, high)

    return convert


_SIZE = re.compile(r"(\d{1,12})\s*(B|KiB|MiB|GiB|kB|MB|GB)?")
_SIZE_UNITS = {
    None: 1,
    "B": 1,
    "KiB": 1024,
    "MiB": MiB,
    "GiB": 1024 * MiB,
    "kB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
}
_MIN_OUTBOX, _MAX_OUTBOX = MiB, 1024 * 1024 * MiB


def parse_size(value: object) -> int:
    """`256MiB`, `1GiB`, `500MB` or a plain number of bytes -> bytes, from 1 MiB to 1 TiB."""
    expected = f"must be a size like 256MiB or 1GiB, from 1MiB to 1TiB. Got: {show(value)}"
    if isinstance(value, bool):
        raise Invalid(expected)
    if isinstance(value, int):
        size = value
    elif isinstance(value, str) and (match := _SIZE.fullmatch(value.strip())):
        size = int(match[1]) * _SIZE_UNITS[match[2]]
    else:
        raise Invalid(expected)
    if not _MIN_OUTBOX <= size <= _MAX_OUTBOX:
        raise Invalid(expected)
    return size


def _loopback_host(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_archive_url(value: object) -> str:
    """`https://host[:port][/prefix]`; `http://` only to a loopback IP literal."""
    expected = f"must be an https:// URL like 'https://archive.example'. Got: {show(value)}"
    if not isinstance(value, str) or not value.strip():
        raise Invalid(expected)
    url = value.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise Invalid(expected) from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise Invalid(expected)
    if parts.username is not None or parts.password is not None:
        raise Invalid(f"must not carry a user or password; use token_file. Got: {show(url)}")
    if parts.query or parts.fragment:
        raise Invalid(f"must not have a query or fragment. Got: {show(url)}")
    if parts.scheme == "http" and not _loopback_host(parts.hostname):
        raise Invalid(
            "must be https:// (plain http:// is allowed only to a loopback address such as"
            f" 127.0.0.1, e.g. a local TLS proxy). Got: {show(url)}"
        )
    return url


def parse_loopback_url(value: object) -> str:
    """The exporter's URL: http(s) to 127.0.0.0/8 or [::1], since snapshots never cross hosts."""
    expected = (
        f"must be an http:// URL to a loopback address like {DEFAULT_EXPORTER_URL!r}."
        f" Got: {show(value)}"
    )
    if not isinstance(value, str):
        raise Invalid(expected)
    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018
    except ValueError:
        raise Invalid(expected) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(expected)
    if parts.username is not None or parts.query or parts.fragment:
        raise Invalid(expected)
    if not _loopback_host(parts.hostname):
        raise Invalid(
            f"must be a loopback address (127.0.0.1 or [::1]): the snapshot API is served"
            f" to loopback clients only. Got: {show(value)}"
        )
    return value.strip()


def parse_proxy_url(value: object) -> str:
    expected = (
        f"must be an http:// or https:// proxy URL like 'http://proxy:3128'. Got: {show(value)}"
    )
    if not isinstance(value, str):
        raise Invalid(expected)
    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018
    except ValueError:
        raise Invalid(expected) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(expected)
    if parts.username is not None or parts.password is not None:
        raise Invalid(
            "must not carry a user or password: a config file is the wrong place for them"
            " (proxy authentication is not supported yet)"
        )
    return value.strip()


def parse_loopback_listen(value: object) -> str:
    expected = (
        f"must be a loopback host:port like '127.0.0.1:9270' or '[::1]:9270'. Got: {show(value)}"
    )
    if not isinstance(value, str):
        raise Invalid(expected)
    try:
        host, port = split_host_port(value.strip())
    except Invalid:
        raise Invalid(expected) from None
    if port is None or port_number(port) is None or not _loopback_host(host):
        raise Invalid(expected)
    return value.strip()


def parse_spki_pin(value: object) -> bytes:
    """A pin as `openssl ... | openssl dgst -sha256 -binary | base64` prints it."""
    expected = f"must be the base64 of a SHA-256 digest (44 characters). Got: {show(value)}"
    if not isinstance(value, str):
        raise Invalid(expected)
    text = value.strip().removeprefix("sha256/")
    try:
        digest = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid(expected) from None
    if len(digest) != 32:
        raise Invalid(expected)
    return digest


def read_public_key(text: str) -> bytes:
    """An Ed25519 public key as PEM (SubjectPublicKeyInfo) or as base64 of its 32 raw bytes."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raise Invalid("is not a PEM public key") from None
        if not isinstance(key, Ed25519PublicKey):
            raise Invalid("is a PEM public key, but not an Ed25519 one")
        return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise Invalid("must hold an Ed25519 public key: PEM, or the base64 of its 32 raw bytes")
    return raw
