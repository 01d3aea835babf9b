"""Pure helpers behind two settings: IP masking (`privacy`) and sharding (`shard`).

Both turn a target's text into something else deterministically, with no state:
the metrics builder masks a `target` label on every collect, and every
exporter of a sharded site must agree on which targets are its own.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from ipaddress import IPv4Address, ip_address
from typing import Literal

from exporter.config._values import Invalid, canonical_host, port_number, split_host_port
from exporter.secret import Secret

MaskMode = Literal["hash", "last_octet"]
MASK_MODES: tuple[MaskMode, ...] = ("hash", "last_octet")
HASH_HEX_DIGITS = 12
"""48 bits of the HMAC: collisions among even 100,000 targets have odds below 1 in 10,000."""


def mask_target(target: str, mode: MaskMode, salt: Secret | None = None) -> str:
    """Hide the address in a target's text, keeping the port so targets stay apart.

    - `hash`: `h-` and 12 hex digits of HMAC-SHA256(salt, host), e.g. `h-5f0c2d6e9a41:161`.
      Stable for as long as the salt is, and not reversible without it. A plain hash
      would be: there are only 2**32 IPv4 addresses to try. Needs `salt`.
    - `last_octet`: `x.x.x.7:161`; IPv6 keeps its last group (`[x::7]:161`) and a DNS
      name its first label (`printer7.x:161`). Readable for a technician on site, but
      two subnets can give the same text, so prefer `hash` for a site with several.

    Text that is not a host[:port] is masked whole, so nothing unparsed slips through.
    """
    if mode not in MASK_MODES:
        raise ValueError(f"mask mode must be one of {', '.join(MASK_MODES)}. Got: {mode!r}")
    if mode == "hash" and (salt is None or not salt):
        raise ValueError("mask mode 'hash' needs a salt")
    parsed = _host_port(target)
    host, suffix = (target, "") if parsed is None else parsed
    if mode == "hash":
        assert salt is not None
        key, text = salt.reveal().encode(), host.encode("utf-8", "surrogatepass")
        return f"h-{hmac.new(key, text, hashlib.sha256).hexdigest()[:HASH_HEX_DIGITS]}{suffix}"
    return "x" if parsed is None else _keep_last_part(host) + suffix


def _host_port(target: str) -> tuple[str, str] | None:
    """(canonical host, ':port' or ''), or None for text that is not a host[:port]."""
    try:
        host_text, port_text = split_host_port(target.strip())
        host = canonical_host(host_text)
    except Invalid:
        return None
    if port_text is None:
        return host, ""
    port = port_number(port_text)
    return None if port is None else (host, f":{port}")


def _keep_last_part(host: str) -> str:
    try:
        address = ip_address(host)
    except ValueError:
        first_label, dot, _ = host.partition(".")
        if re.fullmatch(r"[a-z0-9_-]{1,63}", first_label):
            return f"{first_label}.x" if dot else first_label
        return "x"
    if isinstance(address, IPv4Address):
        return "x.x.x." + str(address).rsplit(".", 1)[1]
    return "[x::" + format(int(address) & 0xFFFF, "x") + "]"


MAX_SHARDS = 1024
_SHARD = re.compile(r"([0-9]{1,4})/([0-9]{1,4})")


@dataclass(frozen=True, slots=True)
class Shard:
    """This exporter's share of the targets: those whose hash modulo `count` is `index`."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if not (1 <= self.count <= MAX_SHARDS and 0 <= self.index < self.count):
            raise ValueError(f"shard must be i/n with 0 <= i < n <= {MAX_SHARDS}. Got: {self}")

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """'1/3' -> Shard(1, 3), for the config key and the `--shard` flag. Raise ValueError."""
    match = _SHARD.fullmatch(text.strip())
    problem = f"must be i/n with 0 <= i < n <= {MAX_SHARDS}, like 0/2. Got: {text!r}"
    if not match:
        raise ValueError(problem)
    index, count = int(match[1]), int(match[2])
    if not (1 <= count <= MAX_SHARDS and 0 <= index < count):
        raise ValueError(problem)
    return Shard(index, count)


def shard_of(target: str, count: int) -> int:
    """The shard a target belongs to: the first 8 bytes of SHA-256, modulo `count`.

    Not Python's `hash()`, which is salted per process: exporters on different
    machines, versions and restarts must agree. Pass the canonical target text
    (`Target.address`), so `192.0.2.7` and `192.0.2.7:161` land together.
    """
    digest = hashlib.sha256(target.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") % count


def in_shard(target: str, shard: Shard) -> bool:
    """Whether this exporter polls `target`. With the default shard 0/1, always true."""
    return shard.count == 1 or shard_of(target, shard.count) == shard.index
