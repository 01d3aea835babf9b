"""Remote settings (`remote:`): merged only within the site's allow-list, checked as one config."""

from __future__ import annotations

from pathlib import Path

import pytest

from exporter.config import ConfigError, check_remote, load_config, summarize

SITE = """
credentials:
  - {name: office, version: 2c, community: office-secret}
targets: [192.0.2.1]
discovery: {ranges: [192.0.2.0/28], credentials: [office]}
poll: {interval: 60s}
remote:
  file: remote.yml
  allowed_cidrs: [192.0.2.0/24, 198.51.100.0/24]
  allowed_settings: [targets, discovery.ranges, poll.interval]
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    path = tmp_path / "printer-exporter.yml"
    path.write_text(SITE)
    return path


def _problems(site: Path, remote: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        check_remote(site, remote)
    return list(caught.value.lines())


def test_no_remote_file_yet_is_the_local_config(site: Path) -> None:
    config = load_config(site)
    assert [t.address for t in config.targets] == ["192.0.2.1:161"]
    assert config.remote.file == site.parent / "remote.yml"
    assert config.remote.allowed_settings == ("targets", "discovery.ranges", "poll.interval")


def test_allowed_settings_are_merged(site: Path) -> None:
    remote = """
targets:
  - {address: 198.51.100.7, name: Reception, credentials: [office]}
discovery: {ranges: [198.51.100.0/28]}
poll: {interval: 5m}
"""
    config = check_remote(site, remote)
    assert [t.address for t in config.targets] == ["192.0.2.1:161", "198.51.100.7:161"]
    assert [r.text for r in config.discovery.ranges] == ["192.0.2.0/28", "198.51.100.0/28"]
    assert config.poll.interval == 300.0
    (site.parent / "remote.yml").write_text(remote)
    assert load_config(site) == config  # the file the exporter reads gives the same
    assert any("remote" in line for line in summarize(config))


@pytest.mark.parametrize(
    ("remote", "expected"),
    [
        (
            "targets: [203.0.113.5]",
            "targets[0].address: 203.0.113.5 is outside remote.allowed_cidrs"
            " (192.0.2.0/24, 198.51.100.0/24)",
        ),
        (
            "targets: [printer.example]",
            "targets[0].address: remote targets must be IP addresses",
        ),
        (
            "discovery: {ranges: [192.0.2.0/23]}",
            "discovery.ranges[0]: 192.0.2.0/23 is outside remote.allowed_cidrs",
        ),
        (
            "discovery: {exclude: [192.0.2.9]}",
            "discovery.exclude: may not be set remotely; remote.allowed_settings allows:"
            " targets, discovery.ranges, poll.interval",
        ),
        ("credentials: [{name: x, version: 2c, community: y}]", "credentials: unknown key"),
        (
            "targets: [{address: 192.0.2.9, credentials: [remote-only]}]",
            "targets[0].credentials[0]: unknown credential set 'remote-only'; defined: office",
        ),
        ("poll: {interval: 1s}", "poll.interval: must be more than poll.timeout"),
        ("[1, 2]", "must be a mapping. Got: a list"),
    ],
)
def test_what_the_allow_list_refuses(site: Path, remote: str, expected: str) -> None:
    problems = _problems(site, remote)
    assert any(expected in line for line in problems), problems
    assert all("remote.yml" in line for line in problems)


def test_a_remote_duplicate_of_a_local_target_is_refused(site: Path) -> None:
    problems = _problems(site, "targets: [192.0.2.1]")
    assert any("duplicate of targets[0]" in line for line in problems), problems


def test_nothing_may_be_set_remotely_unless_the_site_allows_it(tmp_path: Path) -> None:
    site = tmp_path / "site.yml"
    site.write_text("remote: {file: remote.yml}\n")
    problems = _problems(site, "poll: {interval: 5m}")
    assert problems == [
        f"{tmp_path}/remote.yml: poll.interval: may not be set remotely;"
        " remote.allowed_settings allows: none"
    ]


def test_remote_text_without_a_remote_section_is_refused(tmp_path: Path) -> None:
    site = tmp_path / "site.yml"
    site.write_text("targets: [192.0.2.1]\n")
    assert _problems(site, "poll: {interval: 5m}") == [
        f"{site}: remote.file: must be set to accept remote settings"
    ]


def test_the_remote_section_itself_is_checked(tmp_path: Path) -> None:
    site = tmp_path / "site.yml"
    site.write_text("remote: {allowed_settings: [credentials], allowed_cidrs: [nope]}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(site)
    text = "\n".join(caught.value.problems)
    assert "remote.allowed_settings[0]: must be one of targets, discovery.ranges" in text
    assert "remote.allowed_cidrs[0]: must be a CIDR" in text


def test_an_empty_list_needs_no_permission(site: Path) -> None:
    config = check_remote(site, "targets: []\ndiscovery: {exclude: [], ranges: []}")
    assert [t.address for t in config.targets] == ["192.0.2.1:161"]
