"""Scalar values in the config: durations, numbers, names and host:port.

Each parser takes whatever YAML produced (str, int, float, bool, None, a list, a
mapping, a date) and returns a typed value or raises `Invalid`. The message says
what was expected and ends with the bad value, so the caller only prefixes the
YAML path. Values are shown with `show()`, which truncates: an error must stay
one readable line even when someone pasted a megabyte into a field.

YAML 1.1 quirks matter here: `on`, `off`, `yes` and `no` are booleans and
`1:30` is the integer 90, so every parser is strict about type (a bool is never
a number, even though Python says it is an int).
"""

from __future__ import annotations

import math
import re
from ipaddress import ip_address
from urllib.parse import urlsplit

from exporter.snmp.types import format_target
from exporter.yamlcheck import show


class Invalid(ValueError):
    """One bad value. The caller adds the YAML path in front of the message."""


def parse_username(value: object) -> str:
    """An HTTP user name (the EWS credentials, pull_sync's archive login): basic auth ends
    the name at the first ':', so one is refused rather than silently cut."""
    if not isinstance(value, str) or not value or ":" in value or len(value) > 128:
        raise Invalid(f"must be a user name of 1 to 128 characters without ':'. Got: {show(value)}")
    return value


# --- durations ---------------------------------------------------------------

_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_UNIT_RANK = {unit: rank for rank, unit in enumerate(_UNITS)}
# Nine digits per part keep int() far from its digit limit and any float overflow.
_DURATION = re.compile(r"(?:\d{1,9}(?:ms|d|h|m|s))+")
_DURATION_PART = re.compile(r"(\d{1,9})(ms|d|h|m|s)")
_SECONDS = re.compile(r"\d{1,9}(?:\.\d{1,9})?")


def parse_duration(value: object) -> float:
    """`30s`, `5m`, `1h30m`, `500ms`, `1d`, or a plain number of seconds -> seconds > 0.

    Units go from largest to smallest, each at most once, as in Prometheus.
    """
    expected = f"must be a duration like 60s or 5m. Got: {show(value)}"
    if isinstance(value, bool):
        raise Invalid(expected)
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        seconds = _duration_text(value.strip(), expected)
    else:
        raise Invalid(expected)
    if math.isnan(seconds) or math.isinf(seconds):
        raise Invalid(expected)
    if seconds <= 0:
        raise Invalid(f"must be more than zero. Got: {show(value)}")
    return seconds


def _duration_text(text: str, expected: str) -> float:
    if _SECONDS.fullmatch(text):
        return float(text)
    if not _DURATION.fullmatch(text):
        raise Invalid(expected)
    seconds, last_rank = 0.0, -1
    for number, unit in _DURATION_PART.findall(text):
        if _UNIT_RANK[unit] <= last_rank:
            raise Invalid(f"units must go from largest to smallest, each once. Got: {text!r}")
        last_rank = _UNIT_RANK[unit]
        seconds += int(number) * _UNITS[unit]
    return seconds


def format_duration(seconds: float) -> str:
    """The inverse of `parse_duration`, to the millisecond: 90 -> '1m30s', 0.5 -> '500ms'."""
    millis = round(seconds * 1000)
    if millis <= 0:
        return "0s"
    parts = []
    for unit in _UNITS:
        size = round(_UNITS[unit] * 1000)
        count, millis = divmod(millis, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def check_duration_bounds(seconds: float, original: object, low: float, high: float) -> float:
    if seconds < low:
        raise Invalid(f"must be at least {format_duration(low)}. Got: {show(original)}")
    if seconds > high:
        raise Invalid(f"must be at most {format_duration(high)}. Got: {show(original)}")
    return seconds


# --- numbers, booleans, names ------------------------------------------------


def parse_int(value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Invalid(f"must be an integer from {low:,} to {high:,}. Got: {show(value)}")
    return value


def parse_port(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise Invalid(f"must be a port number from 1 to 65535. Got: {show(value)}")
    return value


def parse_positive_number(value: object, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= high:
        raise Invalid(f"must be a number above 0 and at most {high:,g}. Got: {show(value)}")
    return float(value)


def parse_fraction(value: object) -> float:
    """A fraction from 0 to 1. A duration here is a common slip, so say what it is relative to."""
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1:
        return float(value)
    raise Invalid(f"must be a fraction of poll.interval from 0 to 1, like 0.1. Got: {show(value)}")


def parse_bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"must be true or false. Got: {show(value)}")
    return value


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def parse_name(value: object) -> str:
    """A credential set name: short, plain, safe in logs and in remote config."""
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise Invalid(
            "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit. "
            f"Got: {show(value)}"
        )
    return value


def parse_text(value: object, max_length: int = 128) -> str:
    """Free text such as a display name: a non-empty, single-line string."""
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value) > max_length
        or any(ch in value for ch in "\r\n\x00")
    ):
        raise Invalid(f"must be one line of 1 to {max_length} characters. Got: {show(value)}")
    return value.strip()


# --- host:port -----------------------------------------------------------------

_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_HOSTNAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


def canonical_host(host: str) -> str:
    """An IP address in its compressed form, or a DNS name in lower case. Raise Invalid."""
    try:
        return str(ip_address(host))
    except ValueError:
        pass
    name = host.lower().removesuffix(".")
    if len(name) > 253 or not _HOSTNAME.fullmatch(name):
        raise Invalid("not an IP address or DNS name")
    if name.rsplit(".", 1)[-1].isdigit():
        # '10.0.0.999' is a mistyped address, not a host called '999'.
        raise Invalid("not a valid IP address")
    return name


def split_host_port(text: str) -> tuple[str, str | None]:
    """'host', 'host:port', '[v6]:port', '[v6]' or a bare IPv6 address -> (host, port text)."""
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise Invalid("IPv6 addresses with a port are written [addr]:port")
        return host, rest[1:] if rest else None
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, port
    return text, None


def parse_host_port(value: object, default_port: int) -> tuple[str, int]:
    """A target address -> (canonical host, port). The port defaults to `default_port`."""
    if not isinstance(value, str):
        raise Invalid(
            f"must be a string like 'printer.example' or '192.0.2.7:161'. Got: {show(value)}"
        )
    try:
        host_text, port_text = split_host_port(value.strip())
        host = canonical_host(host_text)
        if value.strip().startswith("[") and ":" not in host:
            raise Invalid("brackets are for IPv6 addresses")
        if port_text is None:
            return host, default_port
        port = port_number(port_text)
        if port is None:
            raise Invalid("port must be 1-65535")
        return host, port
    except Invalid as error:
        raise Invalid(f"not a host[:port]: {show(value)} ({error})") from None


format_host_port = format_target
"""The canonical target text, the `target` label: '192.0.2.7:161', '[2001:db8::7]:161'.
One function for config, clients and metrics, so a device has one key everywhere."""


def parse_listen_address(value: object) -> str:
    """'[host]:port' for an HTTP listener; an empty host means every interface."""
    expected = f"must be [host]:port, like ':9269' or '127.0.0.1:9269'. Got: {show(value)}"
    if not isinstance(value, str):
        raise Invalid(expected)
    try:
        host, port = split_host_port(value)
        if host:
            canonical_host(host)
    except Invalid:
        raise Invalid(expected) from None
    if port is None or port_number(port) is None:
        raise Invalid(expected)
    return value


def parse_external_url(value: object) -> str:
    """The URL people reach the exporter at (behind a proxy): absolute, http or https."""
    expected = (
        f"must be an absolute http(s) URL, like 'https://mps.example/printers'. Got: {show(value)}"
    )
    if not isinstance(value, str) or any(c.isspace() for c in value):
        raise Invalid(expected)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise Invalid(expected)
    return value


def parse_route_prefix(value: object) -> str:
    """A path the pages are served under, like '/printers' (the proxy strips nothing)."""
    expected = f"must be a path like '/printers'. Got: {show(value)}"
    if not isinstance(value, str) or not _ROUTE_PREFIX.fullmatch(value):
        raise Invalid(expected)
    return value


_ROUTE_PREFIX = re.compile(r"/[A-Za-z0-9._~/-]*")
_PORT = re.compile(r"[0-9]{1,5}")


def port_number(text: str) -> int | None:
    """'161' -> 161; anything else -> None, including '0' and non-ASCII digits."""
    if not _PORT.fullmatch(text) or not 1 <= int(text) <= 65535:
        return None
    return int(text)


_SNMP_VERSIONS: dict[object, int] = {1: 1, "1": 1, 2: 2, "2": 2, "2c": 2, 3: 3, "3": 3}


def parse_snmp_version(value: object) -> int:
    """1, 2c (or 2) or 3, as YAML may write them (a number or a string) -> 1, 2 or 3."""
    if isinstance(value, bool) or not isinstance(value, int | str) or value not in _SNMP_VERSIONS:
        raise Invalid(f"must be 1, 2c or 3. Got: {show(value)}")
    return _SNMP_VERSIONS[value]
