"""Discovery address ranges: parse them, count them and walk them without a list.

A range is kept as its first and last address, whether it was written as a
CIDR (`192.0.2.0/24`), a dash range (`192.0.2.10-192.0.2.20` or
`192.0.2.10-20`) or one address. Intervals make the two questions discovery
asks cheap for any size: how many addresses are left after the exclusions
(`count_addresses`, arithmetic only), and which ones (`expand`, an iterator
that yields one address at a time, so a /8 costs no memory).

A CIDR that is swept (not excluded) loses the addresses no printer can hold,
the way `ip_network(...).hosts()` does: an IPv4 network's network and broadcast
addresses (a directed broadcast would reach every host on the segment), and an
IPv6 network's Subnet-Router anycast address.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from ipaddress import (
    IPv4Address,
    IPv4Network,
    IPv6Address,
    IPv6Network,
    ip_address,
    ip_network,
)

from exporter.config._values import Invalid
from exporter.yamlcheck import show

IPAddress = IPv4Address | IPv6Address

MIN_IPV6_PREFIX = 120
"""The widest IPv6 CIDR that may be swept (256 addresses). Sweeping IPv6 does not
find printers (a /64 holds 2**64 addresses); list IPv6 printers as targets."""

_FORBIDDEN: tuple[IPv4Network | IPv6Network, ...] = (
    IPv4Network("0.0.0.0/8"),  # "this network": not a destination
    IPv4Network("224.0.0.0/4"),  # multicast: one packet, many answers
    IPv4Network("240.0.0.0/4"),  # reserved, and 255.255.255.255 broadcast
    IPv6Network("::/128"),  # unspecified
    IPv6Network("ff00::/8"),  # multicast
)
"""Never swept: one SNMP packet to these reaches no host or many hosts."""


@dataclass(frozen=True, slots=True)
class AddressRange:
    """An inclusive span of addresses of one family, with the text it was written as."""

    text: str
    first: IPAddress
    last: IPAddress

    @property
    def size(self) -> int:
        return int(self.last) - int(self.first) + 1

    def __str__(self) -> str:
        return self.text


def parse_range(text: str, *, sweep: bool = True) -> AddressRange:
    """Parse one range. `sweep=False` is for exclusions: the whole span, no safety checks.

    Raises `Invalid` (a ValueError) naming the text.
    """
    try:
        first, last, written = _span(text.strip(), sweep)
    except Invalid as error:
        raise Invalid(f"{error}. Got: {show(text)}") from None
    if sweep:
        for network in _FORBIDDEN:
            if network.version == first.version and _overlaps(first, last, network):
                raise Invalid(f"must not include {network} (not unicast). Got: {show(text)}")
    return AddressRange(text=written, first=first, last=last)


def _span(text: str, sweep: bool) -> tuple[IPAddress, IPAddress, str]:
    if "/" in text:
        return _cidr(text, sweep)
    if "-" in text:
        return _dash(text)
    try:
        address = ip_address(text)
    except ValueError:
        raise Invalid(
            "must be a CIDR like 192.0.2.0/24, a range like 192.0.2.10-192.0.2.20"
            " or 192.0.2.10-20, or one address"
        ) from None
    return address, address, str(address)


def _cidr(text: str, sweep: bool) -> tuple[IPAddress, IPAddress, str]:
    try:
        network = ip_network(text, strict=False)
    except ValueError:
        raise Invalid("not a CIDR") from None
    if str(network.network_address) != str(ip_address(text.partition("/")[0])):
        raise Invalid(f"has host bits set; the network is {network}")
    first, last = network.network_address, network.broadcast_address
    if sweep and network.version == 6 and network.prefixlen < MIN_IPV6_PREFIX:
        raise Invalid(f"IPv6 ranges must be /{MIN_IPV6_PREFIX} or narrower")
    if sweep and network.num_addresses > 2 and network.version == 4:
        first, last = first + 1, last - 1
    elif sweep and network.num_addresses > 2:
        first = first + 1
    return first, last, str(network)


def _dash(text: str) -> tuple[IPAddress, IPAddress, str]:
    left, _, right = (part.strip() for part in text.partition("-"))
    try:
        first = IPv4Address(left)
        if right.isascii() and right.isdigit() and len(right) <= 3:
            # 192.0.2.10-20: the shorthand for the last octet.
            last = IPv4Address(left.rsplit(".", 1)[0] + "." + right)
        else:
            last = IPv4Address(right)
    except ValueError:
        raise Invalid(
            "dash ranges are IPv4 only, like 192.0.2.10-192.0.2.20 or 192.0.2.10-20"
        ) from None
    if last < first:
        raise Invalid("the range ends before it starts")
    return first, last, f"{first}-{last}"


def _overlaps(first: IPAddress, last: IPAddress, network: IPv4Network | IPv6Network) -> bool:
    return int(first) <= int(network.broadcast_address) and int(network.network_address) <= int(
        last
    )


def _ranges(items: Iterable[AddressRange | str], sweep: bool) -> list[AddressRange]:
    return [
        item if isinstance(item, AddressRange) else parse_range(item, sweep=sweep) for item in items
    ]


def _merged(ranges: Iterable[AddressRange], version: int) -> list[tuple[int, int]]:
    """The ranges of one family as sorted, disjoint, non-adjacent (first, last) integer pairs."""
    spans = sorted((int(r.first), int(r.last)) for r in ranges if r.first.version == version)
    merged: list[tuple[int, int]] = []
    for first, last in spans:
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def _subtract(
    keep: list[tuple[int, int]], drop: list[tuple[int, int]]
) -> Iterator[tuple[int, int]]:
    """`keep` minus `drop`, both sorted and disjoint, in one pass."""
    index = 0
    for first, last in keep:
        start = first
        while index < len(drop) and drop[index][1] < start:
            index += 1
        probe = index
        while probe < len(drop) and drop[probe][0] <= last:
            if drop[probe][0] > start:
                yield start, drop[probe][0] - 1
            start = max(start, drop[probe][1] + 1)
            probe += 1
        if start <= last:
            yield start, last


def _spans(
    ranges: Iterable[AddressRange | str], exclude: Iterable[AddressRange | str]
) -> Iterator[tuple[int, int, int]]:
    swept, excluded = _ranges(ranges, sweep=True), _ranges(exclude, sweep=False)
    for version in (4, 6):
        for first, last in _subtract(_merged(swept, version), _merged(excluded, version)):
            yield version, first, last


def count_addresses(
    ranges: Iterable[AddressRange | str], exclude: Iterable[AddressRange | str] = ()
) -> int:
    """How many distinct addresses `expand` would yield, computed without walking them."""
    return sum(last - first + 1 for _, first, last in _spans(ranges, exclude))


def expand(
    ranges: Iterable[AddressRange | str], exclude: Iterable[AddressRange | str] = ()
) -> Iterator[IPAddress]:
    """Every address in `ranges` and not in `exclude`, each once, IPv4 then IPv6, ascending.

    Overlapping ranges are merged. Strings are parsed with `parse_range`, here and not at
    the first address. Lazy: the caller decides how many to take and how fast, and
    `operator.length_hint` on the result says how many are left.
    """
    return _Addresses(list(_spans(ranges, exclude)))


class _Addresses(Iterator[IPAddress]):
    """`expand`'s iterator: one address at a time, and a count of those still to come.

    Why the count: a sweep reports progress against a total, and without it would have
    to list the range to know it (a /8 is 16 million addresses).
    """

    __slots__ = ("_left", "_walk")

    def __init__(self, spans: list[tuple[int, int, int]]) -> None:
        self._left = sum(last - first + 1 for _, first, last in spans)
        self._walk = _walk(spans)

    def __next__(self) -> IPAddress:
        address = next(self._walk)
        self._left -= 1
        return address

    def __length_hint__(self) -> int:
        return self._left


def _walk(spans: list[tuple[int, int, int]]) -> Iterator[IPAddress]:
    for version, first, last in spans:
        make = IPv4Address if version == 4 else IPv6Address
        for number in range(first, last + 1):
            yield make(number)
