"""The config as the rest of the exporter sees it: frozen dataclasses and their defaults.

Every default lives here, on its field, and nowhere else. The parser passes only
the keys a file sets, so an absent key gets exactly the value written here, and
`Config()` is the config of an empty file. docs/config.md lists the same
defaults; a test checks that every field here is documented there.

Durations are float seconds, as asyncio wants them. Secrets are `Secret`, so a
repr of the whole `Config` (in a log line, a traceback, a test failure) never
shows one.
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from exporter import icmp
from exporter.config._privacy import MaskMode, Shard, mask_target
from exporter.config._values import format_host_port
from exporter.config.ranges import AddressRange
from exporter.secret import Secret
from exporter.snmp import SnmpOptions
from exporter.snmp.credentials import Credentials, community

DEFAULT_CREDENTIALS: tuple[Credentials, ...] = (community("public", "public"),)
"""Used only when a config has no `credentials` key at all. `public` is not a secret:
it is the read-only community nearly every printer ships with, and a default config
sends nothing anywhere. Writing any `credentials` list replaces it entirely, so a
site that turned `public` off never has the agent trying it."""

DEFAULT_LISTEN_ADDRESS = ":9269"
SNMP_PORT = 161
PJL_PORT = 9100
EWS_PORTS = {"http": 80, "https": 443}
EwsScheme = Literal["http", "https"]


@dataclass(frozen=True, slots=True)
class TlsPin:
    """A device's certificate (`certificate`) or public key (`spki`), pinned by its SHA-256:
    what lets the EWS reader trust a self-signed printer certificate, for that device only."""

    kind: Literal["certificate", "spki"]
    digest: bytes

    def __str__(self) -> str:
        if self.kind == "certificate":
            return "sha256:" + self.digest.hex(":").upper()
        return "sha256/" + base64.b64encode(self.digest).decode()


@dataclass(frozen=True, slots=True)
class HttpCredentials:
    """A named user and password for a printer's web server (basic or digest auth)."""

    name: str
    username: str
    password: Secret
    auth: Literal["basic", "digest"] = "digest"


@dataclass(frozen=True, slots=True)
class EwsTarget:
    """A target's own `ews:` keys; None means the `ews` section's value."""

    scheme: EwsScheme | None = None
    port: int | None = None
    tls_fingerprint: TlsPin | None = None
    credentials: str | None = None
    profile: str | None = None
    """The profile whose pages to read when SNMP cannot say which (it did not answer)."""


@dataclass(frozen=True, slots=True)
class Target:
    """One device to poll. `credentials` names sets to try in order; empty means all."""

    host: str
    port: int = SNMP_PORT
    credentials: tuple[str, ...] = ()
    name: str | None = None
    pjl: bool = False
    """Read PJL on the raw print port where SNMP leaves gaps. Off by default: a device
    that does not speak PJL may print what is sent there."""
    ews: EwsTarget | None = None
    """Read the embedded web server where SNMP leaves gaps; None (the default) means never."""

    @property
    def address(self) -> str:
        """The canonical `host:port`, used as the `target` label and the shard key."""
        return format_host_port(self.host, self.port)


LARGE_RANGE = 1 << 16
"""A range bigger than a /16 needs `allow_large_ranges` (`--allow-large-range` for
`discover`): it is usually a typo, /8 written for /24."""


@dataclass(frozen=True, slots=True)
class DiscoveryConfig:
    """Sweeps that find printers. No `ranges`, no sweep: the default sends nothing."""

    ranges: tuple[AddressRange, ...] = ()
    exclude: tuple[AddressRange, ...] = ()
    port: int = SNMP_PORT
    interval: float = 3600.0
    rate: float = 200.0
    timeout: float = 1.0
    retries: int = 1
    credentials: tuple[str, ...] = ()
    """The sets tried in every range that names none of its own; empty means all."""
    allow_large_ranges: bool = False
    max_addresses: int = 65536
    range_credentials: tuple[tuple[AddressRange, tuple[str, ...]], ...] = ()
    """Ranges written with their own `credentials`: only those sets are ever sent there."""
    pjl_ranges: tuple[AddressRange, ...] = ()
    """Ranges written with `pjl: true`: the printers found there may be read over PJL."""
    ews_ranges: tuple[AddressRange, ...] = ()
    """Ranges written with `ews: true`: the printers found there may be read over HTTP."""

    @property
    def enabled(self) -> bool:
        return bool(self.ranges)

    def credentials_of(self, span: AddressRange) -> tuple[str, ...]:
        """The set names one range may be swept and polled with (empty: all sets)."""
        for written, names in self.range_credentials:
            if written == span:
                return names
        return self.credentials

    def scopes(self) -> tuple[tuple[tuple[str, ...], tuple[AddressRange, ...]], ...]:
        """The ranges grouped by the credential sets allowed in them, in config order.

        A sweep runs once per group, so a community meant for one range never
        reaches an address of another."""
        groups: dict[tuple[str, ...], list[AddressRange]] = {}
        for span in self.ranges:
            groups.setdefault(self.credentials_of(span), []).append(span)
        return tuple((names, tuple(spans)) for names, spans in groups.items())

    def range_of(self, host: str) -> AddressRange | None:
        """The first range that holds `host`, or None when it is in none or is excluded:
        what discovery may send a device is decided by that range alone."""
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return None
        if any(_within(span, ip) for span in self.exclude):
            return None
        return next((span for span in self.ranges if _within(span, ip)), None)

    def credentials_for(self, host: str) -> tuple[str, ...] | None:
        """The set names allowed for a device at `host`, found by discovery; None when
        `host` is in no range or is excluded (discovery may send it nothing)."""
        span = self.range_of(host)
        return self.credentials_of(span) if span is not None else None

    def pjl_for(self, host: str) -> bool:
        """Whether a device at `host`, found by discovery, may be read over PJL: its range
        says `pjl: true` (overlapping ranges must agree, so the first one decides)."""
        span = self.range_of(host)
        return span is not None and span in self.pjl_ranges

    def ews_for(self, host: str) -> bool:
        """Whether a device at `host`, found by discovery, may have its web server read:
        its range says `ews: true` (overlapping ranges must agree, as for `pjl`)."""
        span = self.range_of(host)
        return span is not None and span in self.ews_ranges


def _within(span: AddressRange, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return span.first.version == ip.version and int(span.first) <= int(ip) <= int(span.last)


_SNMP_DEFAULTS: Final = SnmpOptions()
"""The SNMP defaults are the client's (`SnmpOptions`), declared once there."""


@dataclass(frozen=True, slots=True)
class PollConfig:
    """The poll schedule and per-request SNMP behaviour (the fields of `SnmpOptions`)."""

    interval: float = 60.0
    jitter: float = 0.1
    timeout: float = _SNMP_DEFAULTS.timeout
    retries: int = _SNMP_DEFAULTS.retries
    concurrency: int = 32
    max_repetitions: int = _SNMP_DEFAULTS.max_repetitions
    walk_timeout: float = _SNMP_DEFAULTS.walk_timeout


@dataclass(frozen=True, slots=True)
class PjlConfig:
    """How PJL is read where a target or a discovery range enables it (nowhere by default)."""

    port: int = PJL_PORT
    timeout: float = 5.0
    """The whole exchange with one device: connect, ask, read every reply."""


@dataclass(frozen=True, slots=True)
class EwsConfig:
    """How embedded web servers are read where a target or a range enables it (nowhere by
    default), and the named credentials a target may use there."""

    scheme: EwsScheme = "https"
    port: int | None = None
    """None: 443 for https, 80 for http."""
    timeout: float = 10.0
    """Everything one device's pages may take in one poll: connect, TLS, every request."""
    max_page_bytes: int = 2 * 1024 * 1024
    """Per page, counted after decompression (a gzip bomb stops here)."""
    max_redirects: int = 3
    https_upgrade: bool = False
    """Follow a redirect from http to https on the same host (port 443)."""
    ca_file: Path | None = None
    """CA certificates to verify printers' certificates with, besides the system's."""
    credentials: tuple[HttpCredentials, ...] = ()


@dataclass(frozen=True, slots=True)
class EwsSettings:
    """How one device's web server is read: the `ews` section with the target's own keys."""

    scheme: EwsScheme
    port: int
    timeout: float
    max_page_bytes: int
    max_redirects: int
    https_upgrade: bool
    ca_file: Path | None = None
    tls_fingerprint: TlsPin | None = None
    credentials: HttpCredentials | None = None
    profile: str | None = None


@dataclass(frozen=True, slots=True)
class IcmpConfig:
    """The ICMP echo sent beside each poll (exporter/icmp.py): it tells a printer that is
    off from one whose SNMP is silent. Polled targets only: ICMP never sweeps."""

    enabled: bool = True
    count: int = icmp.COUNT
    timeout: float = icmp.TIMEOUT
    """How long each echo waits for its reply (the defaults are the pinger's, in icmp.py)."""


@dataclass(frozen=True, slots=True)
class PrivacyConfig:
    """Whether and how the `target` text is masked wherever it leaves the exporter."""

    mask_ips: bool = False
    mask_mode: MaskMode = "hash"
    salt: Secret | None = None

    def mask(self, target: str) -> str:
        """`target` as it may be shown: unchanged unless `mask_ips` is on."""
        if not self.mask_ips:
            return target
        return mask_target(target, self.mask_mode, self.salt)


@dataclass(frozen=True, slots=True)
class SnapshotApiConfig:
    loopback_only: bool = True


@dataclass(frozen=True, slots=True)
class WebConfig:
    listen_address: str = DEFAULT_LISTEN_ADDRESS
    snapshot_api: SnapshotApiConfig = field(default_factory=SnapshotApiConfig)
    external_url: str | None = None
    """Where people reach the exporter, behind a proxy; its path is the route prefix."""
    route_prefix: str | None = None
    """The path the pages are served under, when it differs from `external_url`'s."""
    probe: bool = True
    """Whether GET /probe may poll a configured target or range address now."""


@dataclass(frozen=True, slots=True)
class ProfilesConfig:
    override_dir: Path | None = None


REMOTE_SETTINGS: tuple[str, ...] = (
    "targets",
    "discovery.ranges",
    "discovery.exclude",
    "discovery.interval",
    "poll.interval",
)
"""Everything a central archive may ever change (through pull_sync), if the site allows it."""


@dataclass(frozen=True, slots=True)
class RemoteConfig:
    """Settings that pull_sync writes from signed remote config, and what they may change.

    Remote settings live in their own file, never in this one, and are merged
    only within what the site allows here: nothing by default.
    """

    file: Path | None = None
    allowed_cidrs: tuple[AddressRange, ...] = ()
    """Every remote target address and range must lie inside one of these."""
    allowed_settings: tuple[str, ...] = ()
    """Which of `REMOTE_SETTINGS` the remote file may set."""


@dataclass(frozen=True, slots=True)
class Config:
    """A whole, valid config. Build it with `parse_config` or `load_config`."""

    credentials: tuple[Credentials, ...] = DEFAULT_CREDENTIALS
    targets: tuple[Target, ...] = ()
    discovery: DiscoveryConfig = field(default_factory=DiscoveryConfig)
    poll: PollConfig = field(default_factory=PollConfig)
    pjl: PjlConfig = field(default_factory=PjlConfig)
    ews: EwsConfig = field(default_factory=EwsConfig)
    icmp: IcmpConfig = field(default_factory=IcmpConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    shard: Shard = field(default_factory=Shard)
    web: WebConfig = field(default_factory=WebConfig)
    profiles: ProfilesConfig = field(default_factory=ProfilesConfig)
    remote: RemoteConfig = field(default_factory=RemoteConfig)

    def credentials_allowed(self, host: str, port: int) -> tuple[Credentials, ...] | None:
        """The credential sets that may ever be sent to `host:port`, or None for none.

        The one rule for where a credential may go (docs/config.md, "Where credentials
        go"): a configured target gets its own sets and nothing else, even when a
        sweep also finds it; any other address gets the sets of the discovery range
        it lies in, and only on the discovery port; everything else gets nothing.
        """
        address = format_host_port(host, port)
        for target in self.targets:
            if target.address == address:
                return self.credential_sets(target.credentials)
        if port != self.discovery.port:
            return None
        names = self.discovery.credentials_for(host)
        return None if names is None else self.credential_sets(names)

    def pjl_allowed(self, host: str, port: int) -> PjlConfig | None:
        """How PJL may be read from the device polled at `host:port`, or None: never.

        The same shape as `credentials_allowed`: a configured target only with its
        own `pjl: true` (never a range's, even when a sweep also finds it); any
        other device only when found on the discovery port in a range with
        `pjl: true`. A raw print port prints what it receives, so it is opt-in.
        """
        address = format_host_port(host, port)
        for target in self.targets:
            if target.address == address:
                return self.pjl if target.pjl else None
        if port != self.discovery.port or not self.discovery.pjl_for(host):
            return None
        return self.pjl

    def ews_allowed(self, host: str, port: int) -> EwsSettings | None:
        """How the web server of the device polled at `host:port` may be read, or None: never.

        The rule of `pjl_allowed`: a configured target only with its own `ews:`
        (never a range's); any other device only when found on the discovery port
        in a range with `ews: true`, and then with the section's settings alone.
        """
        address = format_host_port(host, port)
        for target in self.targets:
            if target.address == address:
                return None if target.ews is None else self._ews_settings(target.ews)
        if port != self.discovery.port or not self.discovery.ews_for(host):
            return None
        return self._ews_settings(EwsTarget())

    def _ews_settings(self, own: EwsTarget) -> EwsSettings:
        ews = self.ews
        scheme = own.scheme or ews.scheme
        by_name = {creds.name: creds for creds in ews.credentials}
        return EwsSettings(
            scheme=scheme,
            port=own.port or ews.port or EWS_PORTS[scheme],
            timeout=ews.timeout,
            max_page_bytes=ews.max_page_bytes,
            max_redirects=ews.max_redirects,
            https_upgrade=ews.https_upgrade,
            ca_file=ews.ca_file,
            tls_fingerprint=own.tls_fingerprint,
            credentials=by_name.get(own.credentials) if own.credentials else None,
            profile=own.profile,
        )

    def credential_sets(self, names: Sequence[str] = ()) -> tuple[Credentials, ...]:
        """The sets to try for a target or a sweep, in order: the named ones, or all.

        Names are checked when the config is parsed, so an unknown one here is a bug
        and raises KeyError.
        """
        if not names:
            return self.credentials
        by_name = {creds.name: creds for creds in self.credentials}
        return tuple(by_name[name] for name in names)
