"""The config schema: YAML data -> `Config`, or one `ConfigError` listing every problem.

Each section is checked on its own and a bad value costs only its own field, so
one run reports everything (see `_checker`). The limits here, the smallest and
largest sensible value of each field, are validation rules, not defaults:
defaults live in `_model`. Cross-field rules (a timeout shorter than its
interval, a sweep within its address budget) follow each section.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from exporter import icmp
from exporter.config._checker import Converter
from exporter.config._credential_sets import CredentialSections, declared_set_names
from exporter.config._ews import check_targets, declared_names, parse_section, parse_target
from exporter.config._load import ConfigError
from exporter.config._model import (
    LARGE_RANGE,
    REMOTE_SETTINGS,
    SNMP_PORT,
    Config,
    DiscoveryConfig,
    EwsTarget,
    IcmpConfig,
    PjlConfig,
    PollConfig,
    PrivacyConfig,
    ProfilesConfig,
    RemoteConfig,
    SnapshotApiConfig,
    Target,
    WebConfig,
)
from exporter.config._privacy import MASK_MODES, Shard, parse_shard
from exporter.config._values import (
    Invalid,
    check_duration_bounds,
    format_duration,
    parse_bool,
    parse_duration,
    parse_external_url,
    parse_fraction,
    parse_host_port,
    parse_int,
    parse_listen_address,
    parse_port,
    parse_positive_number,
    parse_route_prefix,
    parse_text,
)
from exporter.config.ranges import AddressRange, count_addresses, parse_range
from exporter.secret import Secret
from exporter.yamlcheck import kind, show

MAX_ADDRESSES_CEILING = 1 << 24
MAX_TARGETS = 100_000
MIN_SALT_CHARS = 16


def _duration(low: float, high: float) -> Converter:
    def convert(value: object) -> float:
        return check_duration_bounds(parse_duration(value), value, low, high)

    return convert


def _int(low: int, high: int) -> Converter:
    return lambda value: parse_int(value, low, high)


_POLL: dict[str, Converter] = {
    "interval": _duration(1, 86400),
    "jitter": parse_fraction,
    "timeout": _duration(0.1, 60),
    "retries": _int(0, 10),
    "concurrency": _int(1, 1024),
    "max_repetitions": _int(1, 200),
    "walk_timeout": _duration(1, 600),
}
_DISCOVERY: dict[str, Converter] = {
    "port": parse_port,
    "interval": _duration(60, 7 * 86400),
    "rate": lambda value: parse_positive_number(value, 10_000),
    "timeout": _duration(0.1, 60),
    "retries": _int(0, 5),
    "allow_large_ranges": parse_bool,
    "max_addresses": _int(1, MAX_ADDRESSES_CEILING),
}
_DISCOVERY_KEYS = ("ranges", "exclude", *_DISCOVERY, "credentials")
_PJL: dict[str, Converter] = {
    "port": parse_port,
    "timeout": _duration(0.1, 60),
}
_ICMP: dict[str, Converter] = {
    "enabled": parse_bool,
    "count": _int(1, icmp.MAX_COUNT),
    "timeout": _duration(0.1, icmp.MAX_TIMEOUT),
}
_WEB_KEYS = ("listen_address", "snapshot_api", "external_url", "route_prefix", "probe")
_TARGET_KEYS = ("address", "credentials", "name", "pjl", "ews")
_RANGE_KEYS = ("range", "credentials", "pjl", "ews")
_SECTIONS = (
    "credentials",
    "targets",
    "discovery",
    "poll",
    "privacy",
    "shard",
    "web",
    "profiles",
    "remote",
    "pjl",
    "ews",
    "icmp",
)


def parse_data(data: object, source: str, base_dir: Path) -> Config:
    """Checked YAML data -> Config, or ConfigError listing every problem."""
    parser = _Parser(base_dir)
    config = parser.config(data)
    if parser.problems or config is None:
        raise ConfigError(parser.scrubbed(), source, total=parser.count)
    return config


class _Parser(CredentialSections):
    ews_names: list[str]
    """Credential names of the `ews` section, which targets' `ews.credentials` may name."""
    ews_targets: dict[int, EwsTarget]

    def config(self, data: object) -> Config | None:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            self.add("", f"the top level must be a mapping of sections. Got: {kind(data)}")
            return None
        raw = self.mapping(data, "", _SECTIONS)
        assert raw is not None
        kwargs: dict[str, Any] = {}
        if "credentials" in raw:
            kwargs["credentials"] = self.credentials(raw["credentials"])
            names = declared_set_names(raw["credentials"])
        else:
            names = [creds.name for creds in Config().credentials]
        self.ews_names = declared_names(raw.get("ews"))
        self.ews_targets = {}
        if "targets" in raw:
            kwargs["targets"] = self.targets(raw["targets"], names)
        if "discovery" in raw:
            kwargs["discovery"] = self.discovery(raw["discovery"], names)
        sections: dict[str, Callable[[object], object]] = {
            "poll": self.poll,
            "privacy": self.privacy,
            "shard": self.shard,
            "web": self.web,
            "profiles": self.profiles,
            "remote": self.remote,
        }
        for key, parse in sections.items():
            if key in raw:
                kwargs[key] = parse(raw[key])
        if "pjl" in raw:
            kwargs["pjl"] = self.pjl(raw["pjl"], kwargs.get("poll", PollConfig()))
        if "icmp" in raw:
            kwargs["icmp"] = self.icmp(raw["icmp"])
        if "ews" in raw:
            kwargs["ews"] = parse_section(self, raw["ews"], kwargs.get("poll", PollConfig()))
        config = Config(**kwargs)
        check_targets(self, self.ews_targets, config.ews)
        return config

    # --- targets and discovery -----------------------------------------------------

    def targets(self, value: object, names: list[str]) -> tuple[Target, ...]:
        items = self.items(value, "targets")
        if len(items) > MAX_TARGETS:
            self.add("targets", f"at most {MAX_TARGETS:,} targets. Got: {len(items):,}")
            return ()
        targets: list[Target] = []
        first_seen: dict[str, int] = {}
        for index, item in enumerate(items):
            path = f"targets[{index}]"
            target = self.target(item, path, names)
            if target is None:
                continue
            if target.address in first_seen:
                self.add(
                    path, f"duplicate of targets[{first_seen[target.address]}]: {target.address!r}"
                )
                continue
            first_seen[target.address] = index
            targets.append(target)
        return tuple(targets)

    def target(self, item: object, path: str, names: list[str]) -> Target | None:
        if isinstance(item, str):
            try:
                host, port = _target_address(item)
            except Invalid as error:
                self.add(path, str(error))
                return None
            return Target(host, port)
        if not isinstance(item, dict):
            self.add(
                path,
                f"must be a host[:port] string or a mapping with an address. Got: {kind(item)}",
            )
            return None
        raw = self.mapping(item, path, _TARGET_KEYS)
        if raw is None:
            return None
        host_port = self.required(raw, path, "address", _target_address)
        extra = self.fields(raw, path, {"name": parse_text, "pjl": parse_bool})
        ews = (
            parse_target(self, raw["ews"], f"{path}.ews", self.ews_names) if "ews" in raw else None
        )
        if ews is not None:
            self.ews_targets[int(path.removeprefix("targets[").rstrip("]"))] = ews
        credentials = (
            self.credential_names(raw["credentials"], f"{path}.credentials", names)
            if "credentials" in raw
            else ()
        )
        if host_port is None:
            return None
        return Target(
            host_port[0],
            host_port[1],
            credentials=credentials,
            name=extra.get("name"),
            pjl=extra.get("pjl", False),
            ews=ews,
        )

    def discovery(self, value: object, names: list[str]) -> DiscoveryConfig:
        raw = self.mapping(value, "discovery", _DISCOVERY_KEYS)
        if raw is None:
            return DiscoveryConfig()
        kwargs = self.fields(raw, "discovery", _DISCOVERY)
        if "credentials" in raw:
            kwargs["credentials"] = self.credential_names(
                raw["credentials"], "discovery.credentials", names
            )
        discovery = DiscoveryConfig(**kwargs)
        largest = None if discovery.allow_large_ranges else LARGE_RANGE
        scoped: list[tuple[AddressRange, tuple[str, ...]]] = []
        pjl: list[AddressRange] = []
        ews: list[AddressRange] = []
        ranges = self.ranges(
            raw.get("ranges"), "discovery.ranges", largest, names, scoped, pjl, ews=ews
        )
        exclude = self.ranges(raw.get("exclude"), "discovery.exclude", None, sweep=False)
        self.overlaps(ranges, dict(scoped), discovery.credentials, frozenset(pjl))
        self.overlaps(ranges, {}, (), frozenset(ews), flag="ews")
        total = count_addresses(ranges, exclude)
        if total > discovery.max_addresses:
            self.add(
                "discovery.ranges",
                f"{total:,} addresses after exclusions, more than"
                f" discovery.max_addresses ({discovery.max_addresses:,})",
            )
        return replace(
            discovery,
            ranges=ranges,
            exclude=exclude,
            range_credentials=tuple(scoped),
            pjl_ranges=tuple(pjl),
            ews_ranges=tuple(ews),
        )

    def ranges(
        self,
        value: object,
        path: str,
        largest: int | None,
        names: list[str] | None = None,
        scoped: list[tuple[AddressRange, tuple[str, ...]]] | None = None,
        pjl: list[AddressRange] | None = None,
        *,
        sweep: bool = True,
        ews: list[AddressRange] | None = None,
    ) -> tuple[AddressRange, ...]:
        """Range strings; with `scoped`, also `{range: ..., credentials: [...], pjl: true}`
        mappings, whose credential names are appended to `scoped` and, with `pjl: true`,
        whose range is appended to `pjl`."""
        spans: list[AddressRange] = []
        for index, item in enumerate(self.items(value, path)):
            where = f"{path}[{index}]"
            credentials: tuple[str, ...] = ()
            with_pjl = with_ews = False
            if isinstance(item, dict) and scoped is not None:
                raw = self.mapping(item, where, _RANGE_KEYS)
                if raw is None:
                    continue
                flags = self.fields(raw, where, {"pjl": parse_bool, "ews": parse_bool})
                with_pjl, with_ews = flags.get("pjl", False), flags.get("ews", False)
                if "credentials" in raw:
                    credentials = self.credential_names(
                        raw["credentials"], f"{where}.credentials", names or []
                    )
                if "range" not in raw:
                    self.add(f"{where}.range", "is required")
                    continue
                item, where = raw["range"], f"{where}.range"
            if not isinstance(item, str):
                shape = " or a mapping with range and credentials" if scoped is not None else ""
                self.add(where, f"must be a string like '192.0.2.0/24'{shape}. Got: {show(item)}")
                continue
            try:
                span = parse_range(item, sweep=sweep)
            except Invalid as error:
                self.add(where, str(error))
                continue
            if largest is not None and span.size > largest:
                self.add(
                    where,
                    f"{span.text!r} has {span.size:,} addresses, more than a /16 ({largest:,});"
                    " set discovery.allow_large_ranges: true to allow it",
                )
                continue
            spans.append(span)
            if credentials and scoped is not None:
                scoped.append((span, credentials))
            if with_pjl and pjl is not None:
                pjl.append(span)
            if with_ews and ews is not None:
                ews.append(span)
        return tuple(spans)

    def overlaps(
        self,
        ranges: tuple[AddressRange, ...],
        scoped: Mapping[AddressRange, tuple[str, ...]],
        default: tuple[str, ...],
        pjl: frozenset[AddressRange] = frozenset(),
        *,
        flag: str = "pjl",
    ) -> None:
        """Two ranges that share addresses must allow the same sets, and agree on `pjl`:
        otherwise which credentials an address may receive, and whether it is sent PJL,
        would depend on the order of the list.

        Sorted by first address, each range is compared with the one reaching
        furthest before it, so a long list costs n log n, not n squared."""
        reach: AddressRange | None = None
        for span in sorted(ranges, key=lambda r: (r.first.version, int(r.first))):
            if (
                reach is not None
                and reach.first.version == span.first.version
                and int(span.first) <= int(reach.last)
                and scoped.get(reach, default) != scoped.get(span, default)
            ):
                self.add(
                    "discovery.ranges",
                    f"{span.text!r} overlaps {reach.text!r} but allows other credential"
                    " sets; split the ranges or give both the same credentials",
                )
            elif (
                reach is not None
                and reach.first.version == span.first.version
                and int(span.first) <= int(reach.last)
                and (reach in pjl) != (span in pjl)
            ):
                self.add(
                    "discovery.ranges",
                    f"{span.text!r} overlaps {reach.text!r} but only one of them has"
                    f" {flag}: true; split the ranges or set {flag} on both",
                )
            if (
                reach is None
                or reach.first.version != span.first.version
                or int(span.last) > int(reach.last)
            ):
                reach = span

    # --- the small sections ----------------------------------------------------------

    def pjl(self, value: object, poll: PollConfig) -> PjlConfig:
        """The PJL port and deadline. Which devices get PJL is per target and per range."""
        raw = self.mapping(value, "pjl", _PJL)
        if raw is None:
            return PjlConfig()
        pjl = PjlConfig(**self.fields(raw, "pjl", _PJL))
        if "timeout" in raw and pjl.timeout >= poll.interval:
            limit = f"less than poll.interval ({format_duration(poll.interval)})"
            self.add("pjl.timeout", f"must be {limit}. Got: {show(raw['timeout'])}")
        return pjl

    def icmp(self, value: object) -> IcmpConfig:
        """Whether, and how, each poll sends an ICMP echo beside its SNMP read."""
        raw = self.mapping(value, "icmp", _ICMP)
        if raw is None:
            return IcmpConfig()
        return IcmpConfig(**self.fields(raw, "icmp", _ICMP))

    def poll(self, value: object) -> PollConfig:
        raw = self.mapping(value, "poll", _POLL)
        if raw is None:
            return PollConfig()
        poll = PollConfig(**self.fields(raw, "poll", _POLL))
        if poll.timeout >= poll.interval:
            if "timeout" in raw:
                limit = f"less than poll.interval ({format_duration(poll.interval)})"
                self.add("poll.timeout", f"must be {limit}. Got: {show(raw['timeout'])}")
            else:
                limit = f"more than poll.timeout ({format_duration(poll.timeout)})"
                self.add("poll.interval", f"must be {limit}. Got: {show(raw['interval'])}")
        return poll

    def privacy(self, value: object) -> PrivacyConfig:
        raw = self.mapping(value, "privacy", ("mask_ips", "mask_mode", "salt", "salt_file"))
        if raw is None:
            return PrivacyConfig()
        kwargs = self.fields(raw, "privacy", {"mask_ips": parse_bool, "mask_mode": _mask_mode})
        salt = self.secret(raw, "privacy", "salt")
        if salt is not None and len(salt) < MIN_SALT_CHARS:
            where = "privacy.salt" if "salt" in raw else "privacy.salt_file"
            self.add(where, f"must be at least {MIN_SALT_CHARS} characters")
            salt = None
        privacy = PrivacyConfig(**kwargs, salt=Secret(salt) if salt else None)
        given = "salt" in raw or "salt_file" in raw
        if privacy.mask_ips and privacy.mask_mode == "hash" and not given:
            self.add(
                "privacy.salt_file",
                "is required when mask_ips is true and mask_mode is hash. Create one with"
                " `head -c 32 /dev/urandom | base64 > salt` and keep it: a new salt renames"
                " every masked target",
            )
        return privacy

    def shard(self, value: object) -> Shard:
        try:
            if not isinstance(value, str):
                raise ValueError(f"must be i/n, like '0/2'. Got: {show(value)}")
            return parse_shard(value)
        except ValueError as error:
            self.add("shard", str(error))
            return Shard()

    def web(self, value: object) -> WebConfig:
        raw = self.mapping(
            value,
            "web",
            ("listen_address", "snapshot_api", "external_url", "route_prefix", "probe"),
        )
        if raw is None:
            return WebConfig()
        kwargs = self.fields(
            raw,
            "web",
            {
                "listen_address": parse_listen_address,
                "external_url": parse_external_url,
                "route_prefix": parse_route_prefix,
                "probe": parse_bool,
            },
        )
        if "snapshot_api" in raw:
            api = self.mapping(raw["snapshot_api"], "web.snapshot_api", ("loopback_only",))
            if api is not None:
                kwargs["snapshot_api"] = SnapshotApiConfig(
                    **self.fields(api, "web.snapshot_api", {"loopback_only": parse_bool})
                )
        return WebConfig(**kwargs)

    def remote(self, value: object) -> RemoteConfig:
        raw = self.mapping(value, "remote", ("file", "allowed_cidrs", "allowed_settings"))
        if raw is None:
            return RemoteConfig()
        file = None
        if "file" in raw:
            if isinstance(raw["file"], str) and raw["file"]:
                file = self.base_dir / raw["file"]
            else:
                self.add("remote.file", f"must be a file path. Got: {show(raw['file'])}")
        cidrs = self.ranges(raw.get("allowed_cidrs"), "remote.allowed_cidrs", None, sweep=False)
        settings: list[str] = []
        for index, item in enumerate(
            self.items(raw.get("allowed_settings"), "remote.allowed_settings")
        ):
            if item not in REMOTE_SETTINGS:
                self.add(
                    f"remote.allowed_settings[{index}]",
                    f"must be one of {', '.join(REMOTE_SETTINGS)}. Got: {show(item)}",
                )
            elif item not in settings:
                settings.append(item)
        return RemoteConfig(file, cidrs, tuple(settings))

    def profiles(self, value: object) -> ProfilesConfig:
        raw = self.mapping(value, "profiles", ("override_dir",))
        if raw is None or "override_dir" not in raw:
            return ProfilesConfig()
        directory = raw["override_dir"]
        if not isinstance(directory, str) or not directory:
            self.add("profiles.override_dir", f"must be a directory path. Got: {show(directory)}")
            return ProfilesConfig()
        path = self.base_dir / directory
        if not path.is_dir():
            self.add("profiles.override_dir", f"not a directory: {str(path)!r}")
            return ProfilesConfig()
        return ProfilesConfig(override_dir=path)


# --- converters and messages ------------------------------------------------------------


def _target_address(value: object) -> tuple[str, int]:
    return parse_host_port(value, SNMP_PORT)


def _mask_mode(value: object) -> str:
    if value not in MASK_MODES:
        raise Invalid(f"must be one of {', '.join(MASK_MODES)}. Got: {show(value)}")
    return str(value)
