"""The exporter's YAML config, checked into frozen dataclasses.

    config = load_config(Path("/etc/printer-exporter.yml"))     # or parse_config(text)
    for target in config.targets:
        sets = config.credential_sets(target.credentials)

Strict, the way snmp_exporter is: an unknown key is an error, every error names
its YAML path and the bad value, and all of a file's problems are reported at
once. An empty file is a valid config that scans nothing: no targets, no
discovery ranges. See docs/config.md for every key.

Errors. There is one: `ConfigError(ValueError)`, raised by `load_config` and
`parse_config` for anything wrong with a config, including a file that cannot
be read. `.problems` holds one `path: message` line per problem. The range,
shard and mask helpers raise plain `ValueError` for bad input.

`load_yaml` and `read_config_text` are the strict YAML reader (size limit,
duplicate keys refused, no line quoted in errors) for other YAML files such as
`--web.config.file`; `format_host_port` writes the canonical target text.

Layout: `_model` holds the dataclasses and every default, `_parse` the checks,
`_load` the file and YAML handling, `_values` the scalar parsers, `ranges` the
discovery address arithmetic and `_privacy` masking and sharding.
"""

from __future__ import annotations

from pathlib import Path

from exporter.config._load import MAX_CONFIG_BYTES, ConfigError, load_yaml, read_config_text
from exporter.config._model import (
    DEFAULT_CREDENTIALS,
    DEFAULT_LISTEN_ADDRESS,
    LARGE_RANGE,
    SNMP_PORT,
    Config,
    DiscoveryConfig,
    EwsConfig,
    EwsSettings,
    EwsTarget,
    HttpCredentials,
    IcmpConfig,
    PjlConfig,
    PollConfig,
    PrivacyConfig,
    ProfilesConfig,
    RemoteConfig,
    SnapshotApiConfig,
    Target,
    TlsPin,
    WebConfig,
)
from exporter.config._parse import parse_data
from exporter.config._privacy import MaskMode, Shard, in_shard, mask_target, parse_shard, shard_of
from exporter.config._remote import merge_remote
from exporter.config._values import (
    format_duration,
    format_host_port,
    parse_duration,
    parse_host_port,
)
from exporter.config.ranges import AddressRange, IPAddress, count_addresses, expand, parse_range

__all__ = [
    "DEFAULT_CREDENTIALS",
    "DEFAULT_LISTEN_ADDRESS",
    "LARGE_RANGE",
    "MAX_CONFIG_BYTES",
    "SNMP_PORT",
    "AddressRange",
    "Config",
    "ConfigError",
    "DiscoveryConfig",
    "EwsConfig",
    "EwsSettings",
    "EwsTarget",
    "HttpCredentials",
    "IPAddress",
    "IcmpConfig",
    "MaskMode",
    "PjlConfig",
    "PollConfig",
    "PrivacyConfig",
    "ProfilesConfig",
    "RemoteConfig",
    "Shard",
    "SnapshotApiConfig",
    "Target",
    "TlsPin",
    "WebConfig",
    "check_config",
    "check_remote",
    "count_addresses",
    "expand",
    "format_duration",
    "format_host_port",
    "in_shard",
    "load_config",
    "load_yaml",
    "mask_target",
    "parse_config",
    "parse_duration",
    "parse_host_port",
    "parse_range",
    "parse_shard",
    "read_config_text",
    "shard_of",
    "summarize",
]


def parse_config(text: str, source: str = "<string>", *, base_dir: Path | None = None) -> Config:
    """YAML text -> Config. Raise ConfigError listing every problem.

    `source` names the text in messages. Relative `*_file` and `override_dir` paths
    are resolved against `base_dir` (default: the working directory).
    """
    return parse_data(load_yaml(text, source), source, base_dir or Path())


def load_config(path: Path, *, remote_text: str | None = None) -> Config:
    """Read and parse a config file; relative paths in it are relative to the file.

    With `remote.file` set, the remote settings in that file (or `remote_text`, a
    candidate for it) are merged in, within the allow-list (see `_remote`). A
    missing remote file means no remote settings yet, not an error.
    """
    data = load_yaml(read_config_text(path), str(path))
    config = parse_data(data, str(path), path.parent)
    remote = config.remote.file
    if remote is None:
        if remote_text is not None:
            raise ConfigError(["remote.file: must be set to accept remote settings"], str(path))
        return config
    if remote_text is None:
        if not remote.exists():
            return config
        remote_text = read_config_text(remote)
    merged = merge_remote(data, config, remote_text, str(remote))
    return parse_data(merged, f"{path} with {remote}", path.parent)


def check_remote(path: Path, remote_text: str) -> Config:
    """The config `path` would load with `remote_text` as its remote file, or ConfigError.

    For pull_sync: check a remote bundle's settings with the exporter's own rules
    and allow-list before writing them where the exporter will read them.
    """
    return load_config(path, remote_text=remote_text)


def check_config(path: Path) -> list[str]:
    """For `--dry-run`: the problems with a config file, one line each; empty if it is good."""
    try:
        load_config(path)
    except ConfigError as error:
        return error.lines()
    return []


def summarize(config: Config) -> list[str]:
    """What a config will do, in a few lines a user can check before starting it.

    Log-safe: names and versions of credential sets, never a community or key.
    """
    sets = ", ".join(creds.describe() for creds in config.credentials)
    lines = [f"credential sets, tried in order: {sets}", f"targets: {len(config.targets)}"]
    discovery = config.discovery
    if discovery.enabled:
        total = count_addresses(discovery.ranges, discovery.exclude)
        lines.append(
            f"discovery: {total:,} addresses from {_count(discovery.ranges, 'range')}"
            f" less {_count(discovery.exclude, 'exclusion')}, port {discovery.port},"
            f" every {format_duration(discovery.interval)}, at most {discovery.rate:g} packets/s"
        )
    else:
        lines.append("discovery: off (no ranges)")
    if not config.targets and not discovery.enabled:
        lines.append("nothing to poll: add targets or discovery.ranges")
    poll = config.poll
    lines.append(
        f"poll: every {format_duration(poll.interval)}, timeout {format_duration(poll.timeout)},"
        f" retries {poll.retries}, concurrency {poll.concurrency}"
    )
    pjl_targets = sum(target.pjl for target in config.targets)
    pjl_ranges = len(discovery.pjl_ranges) if discovery.enabled else 0
    if pjl_targets or pjl_ranges:
        lines.append(
            f"pjl: on for {_plural(pjl_targets, 'target')} and"
            f" {_plural(pjl_ranges, 'range')}, TCP port {config.pjl.port},"
            f" timeout {format_duration(config.pjl.timeout)}"
        )
    ews_targets = sum(target.ews is not None for target in config.targets)
    ews_ranges = len(discovery.ews_ranges) if discovery.enabled else 0
    if ews_targets or ews_ranges:
        ews = config.ews
        lines.append(
            f"ews: on for {_plural(ews_targets, 'target')} and {_plural(ews_ranges, 'range')},"
            f" {ews.scheme} by default, timeout {format_duration(ews.timeout)},"
            f" {_plural(len(ews.credentials), 'credential set')}"
        )
    if config.shard.count > 1:
        lines.append(f"shard: {config.shard} (this exporter polls about 1/{config.shard.count})")
    if config.privacy.mask_ips:
        lines.append(f"privacy: targets masked ({config.privacy.mask_mode})")
    lines.append(f"web: listening on {config.web.listen_address}")
    remote = config.remote
    if remote.file is not None:
        allowed = ", ".join(remote.allowed_settings) or "nothing"
        cidrs = ", ".join(span.text for span in remote.allowed_cidrs) or "none"
        state = "present" if remote.file.exists() else "none yet"
        lines.append(
            f"remote settings: from {remote.file} ({state}); may change {allowed}, within {cidrs}"
        )
    return lines


def _count(items: tuple[object, ...], noun: str) -> str:
    return _plural(len(items), noun)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")
