"""PJL in the config: off by default, on per target and per discovery range, never remotely."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest

from exporter.config import (
    Config,
    ConfigError,
    PjlConfig,
    check_remote,
    parse_config,
    summarize,
)

DOCS = Path(__file__).parents[2] / "docs" / "config.md"


def parse(text: str) -> Config:
    return parse_config(textwrap.dedent(text))


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse(text)
    return list(info.value.problems)


def test_pjl_is_off_everywhere_by_default() -> None:
    config = parse("""
        targets: [192.0.2.7, {address: 192.0.2.8}]
        discovery: {ranges: [198.51.100.0/24]}
    """)
    assert config.pjl == PjlConfig(port=9100, timeout=5.0)
    assert [t.pjl for t in config.targets] == [False, False]
    assert config.discovery.pjl_ranges == ()
    for host in ("192.0.2.7", "192.0.2.8", "198.51.100.9"):
        assert config.pjl_allowed(host, 161) is None


def test_a_target_with_pjl_gets_it_and_only_at_its_own_address() -> None:
    config = parse("""
        targets:
          - {address: 192.0.2.7, pjl: true}
          - {address: 192.0.2.8, pjl: false}
        pjl: {port: 9101, timeout: 2s}
    """)
    assert config.pjl_allowed("192.0.2.7", 161) == PjlConfig(port=9101, timeout=2.0)
    assert config.pjl_allowed("192.0.2.7", 1161) is None  # another SNMP port: another target
    assert config.pjl_allowed("192.0.2.8", 161) is None
    assert config.pjl_allowed("192.0.2.9", 161) is None


def test_a_range_with_pjl_covers_what_the_sweep_finds_there() -> None:
    config = parse("""
        credentials:
          - {name: public, version: 2c, community: public}
          - {name: copiers, version: 2c, community: copiers}
        targets: [198.51.100.5]
        discovery:
          ranges:
            - 192.0.2.0/25
            - {range: 198.51.100.0/24, credentials: [copiers], pjl: true}
          exclude: [198.51.100.200]
    """)
    discovery = config.discovery
    assert [r.text for r in discovery.pjl_ranges] == ["198.51.100.0/24"]
    assert discovery.credentials_of(discovery.pjl_ranges[0]) == ("copiers",)
    assert config.pjl_allowed("198.51.100.9", 161) == PjlConfig()
    assert config.pjl_allowed("198.51.100.9", 1161) is None  # not the discovery port
    assert config.pjl_allowed("198.51.100.200", 161) is None  # excluded
    assert config.pjl_allowed("192.0.2.9", 161) is None  # a range without pjl
    # A configured target keeps its own settings, never its range's.
    assert config.pjl_allowed("198.51.100.5", 161) is None


def test_a_range_may_set_pjl_without_credentials() -> None:
    config = parse("discovery: {ranges: [{range: 192.0.2.0/28, pjl: true}]}")
    assert config.discovery.range_credentials == ()
    assert config.pjl_allowed("192.0.2.3", 161) == PjlConfig()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "targets: [{address: 192.0.2.7, pjl: yes please}]",
            "targets[0].pjl: must be true or false. Got: 'yes please'",
        ),
        (
            "targets: [{address: 192.0.2.7, pjl: 1}]",
            "targets[0].pjl: must be true or false. Got: 1",
        ),
        (
            "discovery: {ranges: [{range: 192.0.2.0/28, pjl: 'true'}]}",
            "discovery.ranges[0].pjl: must be true or false. Got: 'true'",
        ),
        (
            "discovery: {ranges: [{range: 192.0.2.0/28, pjl_port: 9100}]}",
            "discovery.ranges[0].pjl_port: unknown key;"
            " expected one of range, credentials, pjl, ews",
        ),
        (
            "discovery: {ranges: [{range: 192.0.2.0/24, pjl: true}, 192.0.2.0/28]}",
            "discovery.ranges: '192.0.2.0/28' overlaps '192.0.2.0/24' but only one of them"
            " has pjl: true; split the ranges or set pjl on both",
        ),
        ("pjl: {port: 0}", "pjl.port: must be a port number from 1 to 65535. Got: 0"),
        ("pjl: {port: '9100'}", "pjl.port: must be a port number from 1 to 65535. Got: '9100'"),
        ("pjl: {prot: 9100}", "pjl.prot: unknown key (did you mean 'port'?)"),
        ("pjl: {timeout: 0s}", "pjl.timeout: must be more than zero. Got: '0s'"),
        ("pjl: {timeout: 2m}", "pjl.timeout: must be at most 1m. Got: '2m'"),
        (
            "poll: {interval: 5s, timeout: 1s}\npjl: {timeout: 5s}",
            "pjl.timeout: must be less than poll.interval (5s). Got: '5s'",
        ),
        ("pjl: true", "pjl: must be a mapping. Got: a boolean"),
    ],
)
def test_bad_pjl_settings_name_the_key_and_the_value(text: str, expected: str) -> None:
    assert problems(text) == [expected]


def test_ranges_that_agree_on_pjl_may_overlap() -> None:
    config = parse("""
        discovery:
          ranges:
            - {range: 192.0.2.0/24, pjl: true}
            - {range: 192.0.2.0/28, pjl: true}
    """)
    assert config.pjl_allowed("192.0.2.3", 161) == PjlConfig()


def test_the_config_is_frozen() -> None:
    config = parse("targets: [{address: 192.0.2.7, pjl: true}]")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.targets[0].pjl = False  # type: ignore[misc]


def test_summarize_says_where_pjl_is_on() -> None:
    config = parse("""
        targets: [{address: 192.0.2.7, pjl: true}, 192.0.2.8]
        discovery: {ranges: [{range: 198.51.100.0/24, pjl: true}]}
    """)
    assert "pjl: on for 1 target and 1 range, TCP port 9100, timeout 5s" in summarize(config)
    assert not any(line.startswith("pjl:") for line in summarize(parse("targets: [192.0.2.7]")))


SITE = """
targets: [192.0.2.1]
remote:
  file: remote.yml
  allowed_cidrs: [192.0.2.0/24]
  allowed_settings: [targets, discovery.ranges]
"""


@pytest.mark.parametrize(
    ("remote", "path"),
    [
        ("targets: [{address: 192.0.2.9, pjl: true}]", "targets[0].pjl"),
        ("discovery: {ranges: [{range: 192.0.2.16/28, pjl: true}]}", "discovery.ranges[0].pjl"),
    ],
)
def test_pjl_cannot_be_switched_on_remotely(tmp_path: Path, remote: str, path: str) -> None:
    site = tmp_path / "printer-exporter.yml"
    site.write_text(SITE)
    with pytest.raises(ConfigError) as info:
        check_remote(site, remote)
    (line,) = info.value.problems
    assert line.startswith(f"{path}: may not be set remotely: PJL goes to a raw print port")


def test_a_remote_target_without_pjl_is_still_merged(tmp_path: Path) -> None:
    site = tmp_path / "printer-exporter.yml"
    site.write_text(SITE)
    config = check_remote(site, "targets: [{address: 192.0.2.9, pjl: false}]")
    assert [t.pjl for t in config.targets] == [False, False]


@pytest.mark.parametrize("name", [f.name for f in dataclasses.fields(PjlConfig)])
def test_every_pjl_setting_is_documented(name: str) -> None:
    section = DOCS.read_text().split("## `pjl`")[1].split("\n## ")[0]
    assert f"`{name}`" in section
