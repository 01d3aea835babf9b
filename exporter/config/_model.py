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

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from exporter.config._privacy import MaskMode, Shard, mask_target
from exporter.config._values import format_host_port
from exporter.config.ranges import AddressRange
from exporter.secret import Secret
from exporter.snmp.credentials import Credentials, community

DEFAULT_CREDENTIALS: tuple[Credentials, ...] = (community("public", "public"),)
"""Used only when a config has no `credentials` key at all. `public` is not a secret:
it is the read-only community nearly every printer ships with, and a default config
sends nothing anywhere. Writing any `credentials` list replaces it entirely, so a
site that turned `public` off never has the agent trying it."""

DEFAULT_LISTEN_ADDRESS = ":9269"
SNMP_PORT = 161


@dataclass(frozen=True, slots=True)
class Target:
    """One device to poll. `credentials` names sets to try in order; empty means all."""

    host: str
    port: int = SNMP_PORT
    credentials: tuple[str, ...] = ()
    name: str | None = None

    @property
    def address(self) -> str:
        """The canonical `host:port`, used as the `target` label and the shard key."""
        return format_host_port(self.host, self.port)


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
    allow_large_ranges: bool = False
    max_addresses: int = 65536

    @property
    def enabled(self) -> bool:
        return bool(self.ranges)


@dataclass(frozen=True, slots=True)
class PollConfig:
    """The poll schedule and per-request SNMP behaviour (the fields of `SnmpOptions`)."""

    interval: float = 60.0
    jitter: float = 0.1
    timeout: float = 2.0
    retries: int = 1
    concurrency: int = 32
    max_repetitions: int = 25
    walk_timeout: float = 30.0


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


@dataclass(frozen=True, slots=True)
class ProfilesConfig:
    override_dir: Path | None = None


@dataclass(frozen=True, slots=True)
class Config:
    """A whole, valid config. Build it with `parse_config` or `load_config`."""

    credentials: tuple[Credentials, ...] = DEFAULT_CREDENTIALS
    targets: tuple[Target, ...] = ()
    discovery: DiscoveryConfig = field(default_factory=DiscoveryConfig)
    poll: PollConfig = field(default_factory=PollConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    shard: Shard = field(default_factory=Shard)
    web: WebConfig = field(default_factory=WebConfig)
    profiles: ProfilesConfig = field(default_factory=ProfilesConfig)

    def credential_sets(self, names: Sequence[str] = ()) -> tuple[Credentials, ...]:
        """The sets to try for a target or a sweep, in order: the named ones, or all.

        Names are checked when the config is parsed, so an unknown one here is a bug
        and raises KeyError.
        """
        if not names:
            return self.credentials
        by_name = {creds.name: creds for creds in self.credentials}
        return tuple(by_name[name] for name in names)
