"""Remote settings: the file pull_sync writes from a signed bundle, merged within the allow-list.

Why a second file and not an edit of the operator's own: the site's config is
the operator's, comments and all, and the remote part must be easy to see,
diff and throw away. Why the exporter checks the allow-list too, though
pull_sync checked it before writing the file: defence in depth. Whatever
writes that file, the exporter never polls an address, or sweeps a range,
outside what `remote.allowed_cidrs` allows, nor lets the file change a setting
`remote.allowed_settings` does not name. Secrets cannot come this way at all:
a remote target names credential sets defined in the site's own file. Nor can
PJL: a remote target or range with `pjl: true` is refused, since bytes sent to
a raw print port may print.

Merging appends remote targets and ranges to the local ones and lets a
remote interval replace the local one. The merged data is then checked as one
config, so every cross-field rule (duplicates, address budget, timeout below
interval) holds for the result.
"""

from __future__ import annotations

import copy
import ipaddress
from pathlib import Path
from typing import Any

from exporter.config._checker import Checker
from exporter.config._load import ConfigError, load_yaml
from exporter.config._model import Config
from exporter.config._parse import parse_data
from exporter.config.ranges import AddressRange, IPAddress
from exporter.yamlcheck import show

_SHAPE: dict[str, tuple[str, ...]] = {
    "targets": (),
    "discovery": ("ranges", "exclude", "interval"),
    "poll": ("interval",),
}


def merge_remote(local_data: object, local: Config, remote_text: str, source: str) -> object:
    """`local_data` (the site's YAML data) with the remote settings merged in.

    Raises ConfigError, naming the remote file, for a remote file that is not
    valid, sets what it may not, or reaches outside the allowed CIDRs.
    """
    remote = load_yaml(remote_text, source)
    if remote is None:
        return local_data
    checker = Checker(_base_dir(local))
    settings = _settings(checker, remote, local)
    if checker.problems:
        raise ConfigError(checker.problems, source, total=checker.count)
    base = local_data if isinstance(local_data, dict) else {}
    _check_values(settings, base, local, source)
    merged: dict[str, Any] = copy.deepcopy(base)
    for path, value in settings.items():
        section, _, key = path.partition(".")
        if not key:
            merged[section] = [*(merged.get(section) or []), *value]
            continue
        merged[section] = dict(merged.get(section) or {})
        if key in ("ranges", "exclude"):
            merged[section][key] = [*(merged[section].get(key) or []), *value]
        else:
            merged[section][key] = value
    return merged


def _settings(checker: Checker, remote: object, local: Config) -> dict[str, Any]:
    """The remote file's settings by dotted path, each one checked against the allow-list."""
    top = checker.mapping(remote, "", tuple(_SHAPE))
    if top is None:
        return {}
    found: dict[str, Any] = {}
    for section, keys in _SHAPE.items():
        if section not in top:
            continue
        if not keys:
            found[section] = checker.items(top[section], section)
            continue
        inner = checker.mapping(top[section], section, keys)
        for key, value in (inner or {}).items():
            found[f"{section}.{key}"] = value
    # An empty list changes nothing (lists are appended), so it needs no permission.
    found = {path: value for path, value in found.items() if value != []}
    for path in found:
        if path not in local.remote.allowed_settings:
            allowed = ", ".join(local.remote.allowed_settings) or "none"
            checker.add(path, f"may not be set remotely; remote.allowed_settings allows: {allowed}")
    return found


def _check_values(
    settings: dict[str, Any], base: dict[str, Any], local: Config, source: str
) -> None:
    """Check the remote values as a config of their own (messages name the remote file),
    then every address and range against `remote.allowed_cidrs`."""
    alone: dict[str, Any] = {"targets": settings.get("targets", [])}
    if "credentials" in base:
        alone["credentials"] = base["credentials"]
    discovery = {k.partition(".")[2]: v for k, v in settings.items() if k.startswith("discovery.")}
    if discovery:
        written = base.get("discovery")
        local_discovery: dict[str, Any] = written if isinstance(written, dict) else {}
        for key in ("allow_large_ranges", "max_addresses"):
            if key in local_discovery:
                discovery[key] = local_discovery[key]
        alone["discovery"] = discovery
    if "poll.interval" in settings:
        alone["poll"] = {"interval": settings["poll.interval"]}
    checked = parse_data(alone, source, _base_dir(local))
    problems = _pjl_problems(checked)
    allowed = local.remote.allowed_cidrs
    for index, target in enumerate(checked.targets):
        try:
            ip = ipaddress.ip_address(target.host)
        except ValueError:
            problems.append(
                f"targets[{index}].address: remote targets must be IP addresses, so that"
                f" remote.allowed_cidrs can be checked. Got: {show(target.host)}"
            )
            continue
        if not any(_inside(ip, ip, span) for span in allowed):
            problems.append(f"targets[{index}].address: {target.host} {_outside(local)}")
    for index, span in enumerate(checked.discovery.ranges):
        if not any(_inside(span.first, span.last, cidr) for cidr in allowed):
            problems.append(f"discovery.ranges[{index}]: {span.text} {_outside(local)}")
    if problems:
        raise ConfigError(problems, source)


_NO_REMOTE_PJL = (
    "may not be set remotely: PJL goes to a raw print port, where a device that does not"
    " speak it may print; enable it in the site's own file"
)


_NO_REMOTE_EWS = (
    "may not be set remotely: reading a web server sends its credentials and trusts its"
    " pinned certificate; enable it in the site's own file"
)


def _pjl_problems(checked: Config) -> list[str]:
    """PJL and EWS are never switched on from afar: the site's own file is the only place."""
    problems = [
        f"targets[{index}].pjl: {_NO_REMOTE_PJL}"
        for index, target in enumerate(checked.targets)
        if target.pjl
    ]
    problems += [
        f"discovery.ranges[{index}].pjl: {_NO_REMOTE_PJL}"
        for index, span in enumerate(checked.discovery.ranges)
        if span in checked.discovery.pjl_ranges
    ]
    problems += [
        f"targets[{index}].ews: {_NO_REMOTE_EWS}"
        for index, target in enumerate(checked.targets)
        if target.ews is not None
    ]
    problems += [
        f"discovery.ranges[{index}].ews: {_NO_REMOTE_EWS}"
        for index, span in enumerate(checked.discovery.ranges)
        if span in checked.discovery.ews_ranges
    ]
    return problems


def _inside(first: IPAddress, last: IPAddress, span: AddressRange) -> bool:
    return (
        span.first.version == first.version
        and int(span.first) <= int(first)
        and int(last) <= int(span.last)
    )


def _outside(local: Config) -> str:
    cidrs = ", ".join(span.text for span in local.remote.allowed_cidrs) or "none"
    return f"is outside remote.allowed_cidrs ({cidrs})"


def _base_dir(local: Config) -> Path:
    """Where relative paths in the remote file would resolve: beside it."""
    return local.remote.file.parent if local.remote.file else Path()
