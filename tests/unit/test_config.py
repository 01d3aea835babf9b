"""The config: defaults, every rule and its message, secrets, ranges, shards and masks.

Everything here only parses. No address below is ever contacted; ranges use the
documentation networks (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24,
2001:db8::/32) and loopback, and a line holding a private-range literal is
marked `# parse-only`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import re
import textwrap
from collections import Counter
from ipaddress import IPv4Address, IPv6Address, ip_address
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.config import (
    DEFAULT_LISTEN_ADDRESS,
    MAX_CONFIG_BYTES,
    Config,
    ConfigError,
    DiscoveryConfig,
    PollConfig,
    PrivacyConfig,
    ProfilesConfig,
    RemoteConfig,
    Shard,
    SnapshotApiConfig,
    Target,
    WebConfig,
    check_config,
    count_addresses,
    expand,
    format_duration,
    in_shard,
    load_config,
    mask_target,
    parse_config,
    parse_duration,
    parse_range,
    parse_shard,
    shard_of,
    summarize,
)
from exporter.secret import Secret

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "printer-exporter.yml"
DOCS = ROOT / "docs" / "config.md"

COMMUNITY = "c0mmunity-s3cret"
AUTH_KEY = "auth-key-s3cret"
PRIV_KEY = "priv-key-s3cret"
SALT = "salt-s3cret-0123456789"
SECRETS = (COMMUNITY, AUTH_KEY, PRIV_KEY, SALT)


def parse(text: str, base_dir: Path | None = None) -> Config:
    return parse_config(textwrap.dedent(text), base_dir=base_dir)


def problems(text: str, base_dir: Path | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse(text, base_dir)
    return list(info.value.problems)


# --- the default config scans nothing -----------------------------------------


@pytest.mark.parametrize(
    "text", ["", "\n", "# only a comment\n", "---\n", "{}\n", "poll:\n", "credentials:\n"]
)
def test_an_empty_config_is_the_default(text: str) -> None:
    assert parse_config(text) == Config()


def test_the_default_config_scans_nothing() -> None:
    config = Config()
    assert config.targets == ()
    assert config.discovery.ranges == ()
    assert not config.discovery.enabled
    assert list(expand(config.discovery.ranges, config.discovery.exclude)) == []
    assert count_addresses(config.discovery.ranges) == 0
    assert "nothing to poll: add targets or discovery.ranges" in summarize(config)


def test_the_example_config_parses_and_scans_nothing() -> None:
    config = load_config(EXAMPLE)
    assert config.targets == ()
    assert config.discovery.ranges == ()
    assert check_config(EXAMPLE) == []


def test_the_example_config_uncommented_uses_only_documentation_and_loopback_ranges() -> None:
    # Every commented-out line of the example, uncommented, is still a valid config,
    # and every range it would sweep is a documentation or loopback network.
    text = EXAMPLE.read_text()
    uncommented = "\n".join(
        re.sub(r"^(\s*)# ?(\s*)(?=[a-z_]+:|- )", r"\1\2", line) for line in text.splitlines()
    )
    config = parse_config(uncommented, base_dir=ROOT)
    assert config.targets
    assert config.discovery.ranges
    allowed = [ip_address(n) for n in ("192.0.2.0", "198.51.100.0", "203.0.113.0")]
    for address in expand(config.discovery.ranges):
        assert address.is_loopback or any(int(address) >> 8 == int(a) >> 8 for a in allowed)


def test_defaults() -> None:
    config = Config()
    assert [c.describe() for c in config.credentials] == ["public (v2c)"]
    assert config.credentials[0].community_string == Secret("public")
    assert config.poll == PollConfig(
        interval=60,
        jitter=0.1,
        timeout=2,
        retries=1,
        concurrency=32,
        max_repetitions=25,
        walk_timeout=30,
    )
    assert config.discovery.port == 161
    assert config.discovery.interval == 3600
    assert config.discovery.rate == 200
    assert config.discovery.max_addresses == 65536
    assert config.discovery.allow_large_ranges is False
    assert config.privacy == PrivacyConfig(mask_ips=False, mask_mode="hash", salt=None)
    assert config.shard == Shard(0, 1)
    assert config.web == WebConfig(DEFAULT_LISTEN_ADDRESS, SnapshotApiConfig(loopback_only=True))
    assert DEFAULT_LISTEN_ADDRESS == ":9269"
    assert config.profiles == ProfilesConfig(override_dir=None)


def test_writing_credentials_replaces_the_default_public_set() -> None:
    config = parse("""
        credentials:
          - {name: office, version: 2c, community: c0mmunity-s3cret}
    """)
    assert [c.name for c in config.credentials] == ["office"]


def test_a_full_config() -> None:
    config = parse(f"""
        credentials:
          - name: office
            version: 2c
            community: {COMMUNITY}
          - name: old
            version: 1
            community: public
          - name: fleet
            version: 3
            username: monitor
            auth_protocol: sha256
            auth_key: {AUTH_KEY}
            priv_protocol: AES
            priv_key: {PRIV_KEY}
            context: ctx
        targets:
          - 192.0.2.7
          - address: "[2001:db8::7]:1161"
            name: Reception MFP
            credentials: [fleet, office]
        discovery:
          ranges: [192.0.2.0/24, 198.51.100.10-20]
          exclude: [192.0.2.128/25]
          port: 1161
          interval: 2h
          rate: 50
          timeout: 500ms
          retries: 0
          credentials: [office]
          max_addresses: 1000
        poll:
          interval: 5m
          jitter: 0.25
          timeout: 3s
          retries: 2
          concurrency: 8
          max_repetitions: 10
          walk_timeout: 1m
        privacy:
          mask_ips: true
          mask_mode: last_octet
        shard: 1/3
        web:
          listen_address: 127.0.0.1:9269
          snapshot_api: {{loopback_only: true}}
    """)
    fleet = config.credentials[2]
    assert (fleet.version, fleet.username, fleet.security_level) == (3, "monitor", "authPriv")
    assert (fleet.auth_protocol, fleet.priv_protocol, fleet.context_name) == (
        "SHA256",
        "AES",
        "ctx",
    )
    assert fleet.auth_key == Secret(AUTH_KEY)
    assert config.credentials[1].version == 1
    assert config.targets == (
        Target("192.0.2.7", 161),
        Target("2001:db8::7", 1161, credentials=("fleet", "office"), name="Reception MFP"),
    )
    assert [t.address for t in config.targets] == ["192.0.2.7:161", "[2001:db8::7]:1161"]
    assert [c.name for c in config.credential_sets(config.targets[1].credentials)] == [
        "fleet",
        "office",
    ]
    assert [c.name for c in config.credential_sets(config.targets[0].credentials)] == [
        "office",
        "old",
        "fleet",
    ]
    discovery = config.discovery
    assert count_addresses(discovery.ranges, discovery.exclude) == 127 + 11
    assert (discovery.port, discovery.interval, discovery.rate) == (1161, 7200, 50)
    assert (discovery.timeout, discovery.retries, discovery.credentials) == (0.5, 0, ("office",))
    assert config.poll == PollConfig(300, 0.25, 3, 2, 8, 10, 60)
    assert config.privacy.mask("192.0.2.7:161") == "x.x.x.7:161"
    assert config.shard == Shard(1, 3)
    assert config.web.listen_address == "127.0.0.1:9269"


# --- errors name the path and the value ------------------------------------------

ERRORS = [
    # structure
    ("- a\n", "the top level must be a mapping of sections. Got: a list"),
    ("just text\n", "the top level must be a mapping of sections. Got: a string"),
    (
        "intervall: 1m\n",
        "intervall: unknown key; expected one of credentials, targets, discovery, poll, privacy,"
        " shard, web, profiles, remote, pjl, ews, icmp",
    ),
    ("polll: {}\n", "polll: unknown key (did you mean 'poll'?)"),
    ("poll: {intervall: 1m}\n", "poll.intervall: unknown key (did you mean 'interval'?)"),
    ("poll: [1m]\n", "poll: must be a mapping. Got: a list"),
    (
        "poll: {1: 2}\n",
        "poll.1: unknown key; expected one of interval, jitter, timeout, retries, concurrency,"
        " max_repetitions, walk_timeout",
    ),
    ("targets: 192.0.2.7\n", "targets: must be a list. Got: a string"),
    # poll
    ("poll: {interval: fast}\n", "poll.interval: must be a duration like 60s or 5m. Got: 'fast'"),
    ("poll: {interval: -5}\n", "poll.interval: must be more than zero. Got: -5"),
    ("poll: {interval: 0s}\n", "poll.interval: must be more than zero. Got: '0s'"),
    ("poll: {interval: -1m}\n", "poll.interval: must be a duration like 60s or 5m. Got: '-1m'"),
    ("poll: {interval: 500ms}\n", "poll.interval: must be at least 1s. Got: '500ms'"),
    ("poll: {interval: 2d}\n", "poll.interval: must be at most 1d. Got: '2d'"),
    (
        "poll: {interval: 30m1h}\n",
        "poll.interval: units must go from largest to smallest, each once. Got: '30m1h'",
    ),
    ("poll: {interval: yes}\n", "poll.interval: must be a duration like 60s or 5m. Got: True"),
    ("poll: {interval: .nan}\n", "poll.interval: must be a duration like 60s or 5m. Got: nan"),
    (
        "poll: {jitter: 5s}\n",
        "poll.jitter: must be a fraction of poll.interval from 0 to 1, like 0.1. Got: '5s'",
    ),
    (
        "poll: {jitter: 1.5}\n",
        "poll.jitter: must be a fraction of poll.interval from 0 to 1, like 0.1. Got: 1.5",
    ),
    ("poll: {timeout: 2m}\n", "poll.timeout: must be at most 1m. Got: '2m'"),
    (
        "poll: {interval: 5s, timeout: 5s}\n",
        "poll.timeout: must be less than poll.interval (5s). Got: '5s'",
    ),
    ("poll: {interval: 2s}\n", "poll.interval: must be more than poll.timeout (2s). Got: '2s'"),
    ("poll: {retries: -1}\n", "poll.retries: must be an integer from 0 to 10. Got: -1"),
    ("poll: {retries: 1.5}\n", "poll.retries: must be an integer from 0 to 10. Got: 1.5"),
    ("poll: {retries: '1'}\n", "poll.retries: must be an integer from 0 to 10. Got: '1'"),
    ("poll: {concurrency: 0}\n", "poll.concurrency: must be an integer from 1 to 1,024. Got: 0"),
    (
        "poll: {max_repetitions: 500}\n",
        "poll.max_repetitions: must be an integer from 1 to 200. Got: 500",
    ),
    ("poll: {walk_timeout: 0}\n", "poll.walk_timeout: must be more than zero. Got: 0"),
    # targets
    (
        "targets: [{address: '10.0.0.1:99999'}]\n",  # parse-only
        "targets[0].address: not a host[:port]: '10.0.0.1:99999' (port must be 1-65535)",
    ),  # parse-only
    (
        "targets: ['192.0.2.7:0']\n",
        "targets[0]: not a host[:port]: '192.0.2.7:0' (port must be 1-65535)",
    ),
    (
        "targets: ['192.0.2.300']\n",
        "targets[0]: not a host[:port]: '192.0.2.300' (not a valid IP address)",
    ),
    (
        "targets: ['printer one']\n",
        "targets[0]: not a host[:port]: 'printer one' (not an IP address or DNS name)",
    ),
    (
        "targets: ['[192.0.2.7]:161']\n",
        "targets[0]: not a host[:port]: '[192.0.2.7]:161' (brackets are for IPv6 addresses)",
    ),
    (
        "targets: ['[2001:db8::7']\n",
        "targets[0]: not a host[:port]: '[2001:db8::7' (IPv6 addresses with a port are written"
        " [addr]:port)",
    ),
    (
        "targets: ['printer.example:']\n",
        "targets[0]: not a host[:port]: 'printer.example:' (port must be 1-65535)",
    ),
    (
        "targets: [161]\n",
        "targets[0]: must be a host[:port] string or a mapping with an address. Got: an integer",
    ),
    ("targets: [{name: x}]\n", "targets[0].address: is required"),
    (
        "targets: [{address: 192.0.2.7, port: 161}]\n",
        "targets[0].port: unknown key; expected one of address, credentials, name, pjl, ews",
    ),
    (
        "targets: [192.0.2.7, '192.0.2.7:161']\n",
        "targets[1]: duplicate of targets[0]: '192.0.2.7:161'",
    ),
    (
        "targets: [{address: 192.0.2.7, credentials: [ofice]}]\n",
        "targets[0].credentials[0]: unknown credential set 'ofice'; defined: public",
    ),
    (
        "targets: [{address: 192.0.2.7, credentials: []}]\n",
        "targets[0].credentials: must be a non-empty list of credential set names; leave it out"
        " to try all. Got: a list",
    ),
    (
        "targets: [{address: 192.0.2.7, credentials: [public, public]}]\n",
        "targets[0].credentials[1]: listed twice: 'public'",
    ),
    (
        "targets: [{address: 192.0.2.7, name: ''}]\n",
        "targets[0].name: must be one line of 1 to 128 characters. Got: ''",
    ),
    # credentials
    (
        "credentials: []\n",
        "credentials: must list at least one set; leave the key out for the default",
    ),
    ("credentials: [{version: 2c, community: x}]\n", "credentials[0].name: is required"),
    ("credentials: [{name: a, community: x}]\n", "credentials[0].version: is required"),
    (
        "credentials: [{name: 'a b', version: 2c, community: x}]\n",
        "credentials[0].name: must be 1-64 letters, digits, '.', '_' or '-', starting with a"
        " letter or digit. Got: <secret>",  # a bad name may be a pasted secret
    ),
    (
        "credentials: [{name: a, version: 4, community: x}]\n",
        "credentials[0].version: must be 1, 2c or 3. Got: 4",
    ),
    (
        "credentials: [{name: a, version: v2c, community: x}]\n",
        "credentials[0].version: must be 1, 2c or 3. Got: <secret>",
    ),
    (
        "credentials: [{name: a, version: 2c}]\n",
        "credentials[0]: community or community_file is required",
    ),
    (
        "credentials: [{name: a, version: 2c, community: ''}]\n",
        "credentials[0].community: must not be empty",
    ),
    (
        "credentials: [{name: a, version: 2c, community: x, username: u}]\n",
        "credentials[0].username: only for SNMPv3; this set is version 2c",
    ),
    (
        "credentials: [{name: a, version: 3, username: u, community: x}]\n",
        "credentials[0].community: only for SNMP v1 and v2c; this set is version 3",
    ),
    ("credentials: [{name: a, version: 3}]\n", "credentials[0].username: is required"),
    (
        "credentials: [{name: a, version: 3, username: u, auth_protocol: SHA, auth_key: short}]\n",
        "credentials[0].auth_key: must be at least 8 characters (RFC 3414)",
    ),
    (
        "credentials: [{name: a, version: 3, username: u, auth_protocol: SHA1024, auth_key:"
        " '12345678'}]\n",
        "credentials[0].auth_protocol: must be one of MD5, SHA, SHA224, SHA256, SHA384, SHA512."
        " Got: <secret>",
    ),
    (
        "credentials: [{name: a, version: 3, username: u, priv_protocol: AES, priv_key:"
        " 12345678}]\n",
        "credentials[0].priv_key: must be a string; quote it in YAML. Got: an integer",
    ),
    (
        "credentials: [{name: a, version: 3, username: u, priv_protocol: AES, priv_key:"
        " '12345678'}]\n",
        "credentials[0].priv_protocol: needs an auth_protocol too",
    ),
    (
        "credentials: [{name: a, version: 2c, community: x, community_file: y}]\n",
        "credentials[0].community: give community or community_file, not both",
    ),
    (
        "credentials: [{name: a, version: 2c, community: x}, {name: a, version: 1, community:"
        " y}]\n",
        "credentials[1].name: duplicate of credentials[0]: 'a'",
    ),
    # discovery
    (
        "discovery: {ranges: [192.0.2.5/24]}\n",
        "discovery.ranges[0]: has host bits set; the network is 192.0.2.0/24. Got: '192.0.2.5/24'",
    ),
    (
        "discovery: {ranges: [192.0.2.0/33]}\n",
        "discovery.ranges[0]: not a CIDR. Got: '192.0.2.0/33'",
    ),
    (
        "discovery: {ranges: [192.0.2.20-10]}\n",
        "discovery.ranges[0]: the range ends before it starts. Got: '192.0.2.20-10'",
    ),
    (
        "discovery: {ranges: ['2001:db8::1-2001:db8::9']}\n",
        "discovery.ranges[0]: dash ranges are IPv4 only, like 192.0.2.10-192.0.2.20 or"
        " 192.0.2.10-20. Got: '2001:db8::1-2001:db8::9'",
    ),
    (
        "discovery: {ranges: ['2001:db8::/64']}\n",
        "discovery.ranges[0]: IPv6 ranges must be /120 or narrower. Got: '2001:db8::/64'",
    ),
    (
        "discovery: {ranges: [224.0.0.0/24]}\n",
        "discovery.ranges[0]: must not include 224.0.0.0/4 (not unicast). Got: '224.0.0.0/24'",
    ),
    (
        "discovery: {ranges: [255.255.255.255]}\n",
        "discovery.ranges[0]: must not include 240.0.0.0/4 (not unicast). Got: '255.255.255.255'",
    ),
    (
        "discovery: {ranges: [printers]}\n",
        "discovery.ranges[0]: must be a CIDR like 192.0.2.0/24, a range like"
        " 192.0.2.10-192.0.2.20 or 192.0.2.10-20, or one address. Got: 'printers'",
    ),
    (
        "discovery: {ranges: [24]}\n",
        "discovery.ranges[0]: must be a string like '192.0.2.0/24' or a mapping with range"
        " and credentials. Got: 24",
    ),
    (
        "discovery: {ranges: [127.0.0.0/8]}\n",
        "discovery.ranges[0]: '127.0.0.0/8' has 16,777,214 addresses, more than a /16 (65,536);"
        " set discovery.allow_large_ranges: true to allow it",
    ),
    (
        "discovery: {ranges: [127.0.0.0/15], allow_large_ranges: true}\n",
        "discovery.ranges: 131,070 addresses after exclusions, more than discovery.max_addresses"
        " (65,536)",
    ),
    (
        "discovery: {ranges: [192.0.2.0/24], max_addresses: 100}\n",
        "discovery.ranges: 254 addresses after exclusions, more than discovery.max_addresses (100)",
    ),
    (
        "discovery: {max_addresses: 100000000}\n",
        "discovery.max_addresses: must be an integer from 1 to 16,777,216. Got: 100000000",
    ),
    ("discovery: {port: 0}\n", "discovery.port: must be a port number from 1 to 65535. Got: 0"),
    (
        "discovery: {port: '161'}\n",
        "discovery.port: must be a port number from 1 to 65535. Got: '161'",
    ),
    ("discovery: {interval: 5s}\n", "discovery.interval: must be at least 1m. Got: '5s'"),
    (
        "discovery: {rate: 0}\n",
        "discovery.rate: must be a number above 0 and at most 10,000. Got: 0",
    ),
    (
        "discovery: {allow_large_ranges: 'yes'}\n",
        "discovery.allow_large_ranges: must be true or false. Got: 'yes'",
    ),
    (
        "discovery: {credentials: [nope]}\n",
        "discovery.credentials[0]: unknown credential set 'nope'; defined: public",
    ),
    # privacy, shard, web, profiles
    (
        "privacy: {mask_ips: true}\n",
        "privacy.salt_file: is required when mask_ips is true and mask_mode is hash. Create one"
        " with `head -c 32 /dev/urandom | base64 > salt` and keep it: a new salt renames every"
        " masked target",
    ),
    (
        "privacy: {mask_mode: sha1}\n",
        "privacy.mask_mode: must be one of hash, last_octet. Got: 'sha1'",
    ),
    ("privacy: {salt: short}\n", "privacy.salt: must be at least 16 characters"),
    ("shard: 2/2\n", "shard: must be i/n with 0 <= i < n <= 1024, like 0/2. Got: '2/2'"),
    ("shard: 0/0\n", "shard: must be i/n with 0 <= i < n <= 1024, like 0/2. Got: '0/0'"),
    ("shard: 1\n", "shard: must be i/n, like '0/2'. Got: 1"),
    (
        "web: {listen_address: '9269'}\n",
        "web.listen_address: must be [host]:port, like ':9269' or '127.0.0.1:9269'. Got: '9269'",
    ),
    (
        "web: {listen_address: ':0'}\n",
        "web.listen_address: must be [host]:port, like ':9269' or '127.0.0.1:9269'. Got: ':0'",
    ),
    (
        "web: {snapshot_api: {loopback_only: no-thanks}}\n",
        "web.snapshot_api.loopback_only: must be true or false. Got: 'no-thanks'",
    ),
    (
        "web: {snapshot_api: {loopback: true}}\n",
        "web.snapshot_api.loopback: unknown key (did you mean 'loopback_only'?)",
    ),
    ("profiles: {override_dir: 7}\n", "profiles.override_dir: must be a directory path. Got: 7"),
    (
        "web: {external_url: mps.example/printers}\n",
        "web.external_url: must be an absolute http(s) URL, like"
        " 'https://mps.example/printers'. Got: 'mps.example/printers'",
    ),
    (
        "web: {external_url: 'ftp://mps.example/'}\n",
        "web.external_url: must be an absolute http(s) URL, like"
        " 'https://mps.example/printers'. Got: 'ftp://mps.example/'",
    ),
    (
        "web: {route_prefix: printers}\n",
        "web.route_prefix: must be a path like '/printers'. Got: 'printers'",
    ),
    ("web: {probe: sometimes}\n", "web.probe: must be true or false. Got: 'sometimes'"),
]


@pytest.mark.parametrize(("text", "expected"), ERRORS)
def test_errors_name_the_path_and_the_value(text: str, expected: str) -> None:
    assert problems(text) == [expected]


def test_the_briefs_example_messages_verbatim() -> None:
    found = problems("""
        targets:
          - 192.0.2.1
          - 192.0.2.2
          - 192.0.2.3
          - address: "10.0.0.1:99999"  # parse-only
        poll:
          interval: fast
    """)
    bad_port = "'10.0.0.1:99999'"  # parse-only
    assert found == [
        f"targets[3].address: not a host[:port]: {bad_port} (port must be 1-65535)",
        "poll.interval: must be a duration like 60s or 5m. Got: 'fast'",
    ]


def test_every_problem_is_reported_at_once_in_a_readable_report() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config("poll: {interval: fast, retries: -1}\nshard: 9/2\nweb: {port: 1}\n", "x.yml")
    error = info.value
    assert len(error.problems) == 4
    assert str(error) == "\n".join(
        [
            "x.yml: 4 problems",
            "  poll.interval: must be a duration like 60s or 5m. Got: 'fast'",
            "  poll.retries: must be an integer from 0 to 10. Got: -1",
            "  shard: must be i/n with 0 <= i < n <= 1024, like 0/2. Got: '9/2'",
            "  web.port: unknown key; expected one of listen_address, snapshot_api,"
            " external_url, route_prefix, probe",
        ]
    )
    assert (
        error.lines()[0] == "x.yml: poll.interval: must be a duration like 60s or 5m. Got: 'fast'"
    )
    assert isinstance(error, ValueError)


def test_one_problem_is_one_line() -> None:
    with pytest.raises(ConfigError, match=r"^x\.yml: shard: must be i/n"):
        parse_config("shard: 9/2\n", "x.yml")


def test_a_broken_credential_set_costs_one_error_not_one_per_reference() -> None:
    found = problems("""
        credentials:
          - {name: office, version: 5, community: x}
        targets:
          - {address: 192.0.2.7, credentials: [office]}
        discovery:
          credentials: [office]
    """)
    assert found == ["credentials[0].version: must be 1, 2c or 3. Got: 5"]


def test_a_flood_of_errors_is_bounded() -> None:
    text = "targets:\n" + "".join(f"  - 'bad host {i}'\n" for i in range(5000))
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    assert len(info.value.problems) == 1000
    assert info.value.total == 5000
    assert str(info.value).endswith("  ... and 4,950 more")


def test_long_values_are_clipped_in_messages() -> None:
    [message] = problems(f"poll: {{interval: '{'x' * 5000}'}}\n")
    assert len(message) < 120
    assert message.endswith("...'")


# --- YAML itself -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("poll:\n  interval: 1m\n  interval: 2m\n", "line 3, column 3: duplicate key 'interval'"),
        ("poll: {}\npoll: {}\n", "line 2, column 1: duplicate key 'poll'"),
        (
            "credentials:\n  - name: a\n    version: 2c\n    community: x\n    community: y\n",
            "line 5, column 5: duplicate key 'community'",
        ),
        (
            "poll: [\n",
            "line 2, column 1: while parsing a flow node, expected the node content, but found"
            " '<stream end>'",
        ),
        (
            "a: b\n---\nc: d\n",
            "line 2, column 1: expected a single document in the stream,"
            " but found another document",
        ),
        (
            "poll: !!python/object:os.system {}\n",
            "line 1, column 7: could not determine a constructor for the tag"
            " 'tag:yaml.org,2002:python/object:os.system'",
        ),
        ("? [a]\n: b\n", "line 1, column 3: found a key that is a list or mapping"),
        ("a: *nothing\n", "line 1, column 4: found undefined alias 'nothing'"),
        (
            "poll: {interval: " + "9" * 5000 + "}\n",
            "not valid YAML: Exceeds the limit (4300 digits) for integer string conversion:"
            " value has 5000 digits; use sys.set_int_max_str_digits() to increase the limit",
        ),
        ("[" * 5000, "not valid YAML: nested too deeply"),
    ],
)
def test_yaml_errors_give_the_line(text: str, expected: str) -> None:
    assert problems(text) == [expected]


def test_merge_keys_may_be_overridden() -> None:
    config = parse("""
        poll:
          <<: {interval: 5m, timeout: 1s}
          timeout: 3s
    """)
    assert (config.poll.interval, config.poll.timeout) == (300, 3)


def test_yaml_errors_never_quote_the_line() -> None:
    # PyYAML's message would show the offending line, community and all.
    with pytest.raises(ConfigError) as info:
        parse_config(f'credentials:\n  - {{name: a, version: 2c, community: "{COMMUNITY}\n')
    assert COMMUNITY not in str(info.value)
    assert str(info.value).startswith("<string>: line ")


def test_a_config_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    text = "# " + "x" * MAX_CONFIG_BYTES + "\n"
    assert problems(text) == ["larger than 4 MiB"]
    path = tmp_path / "big.yml"
    path.write_text(text)
    assert check_config(path) == [f"{path}: larger than 4 MiB"]


def test_file_errors_are_config_errors(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yml"
    assert check_config(missing) == [f"{missing}: cannot read the file: No such file or directory"]
    latin1 = tmp_path / "latin1.yml"
    latin1.write_bytes(b"web: {listen_address: ':9269'} # caf\xe9\n")
    offset = len(b"web: {listen_address: ':9269'} # caf")
    assert check_config(latin1) == [f"{latin1}: not UTF-8 text (byte {offset})"]
    bom = tmp_path / "bom.yml"
    bom.write_bytes(b"\xef\xbb\xbfshard: 0/2\n")
    assert load_config(bom).shard == Shard(0, 2)


def test_yaml_quirks_are_caught_not_guessed() -> None:
    # YAML 1.1 reads `no` as false and 1:30 as the integer 90.
    assert problems("credentials: [{name: a, version: 2c, community: no}]\n") == [
        "credentials[0].community: must be a string; quote it in YAML. Got: a boolean"
    ]
    assert parse("poll: {interval: 1:30}\n").poll.interval == 90


# --- secrets never print ---------------------------------------------------------

SECRET_CONFIG = f"""
credentials:
  - {{name: office, version: 2c, community: {COMMUNITY}}}
  - name: fleet
    version: 3
    username: monitor
    auth_protocol: SHA256
    auth_key: {AUTH_KEY}
    priv_protocol: AES256
    priv_key: {PRIV_KEY}
privacy: {{mask_ips: true, salt: {SALT}}}
"""


def test_secrets_never_appear_in_repr_or_str() -> None:
    config = parse_config(SECRET_CONFIG)
    for text in (repr(config), str(config), "\n".join(summarize(config)), f"{config}"):
        for secret in SECRETS:
            assert secret not in text
    assert config.credentials[0].community_string is not None
    assert config.credentials[0].community_string.reveal() == COMMUNITY
    assert config.credentials[1].priv_key == Secret(PRIV_KEY)
    assert config.privacy.salt == Secret(SALT)


@pytest.mark.parametrize(
    "text",
    [
        SECRET_CONFIG + "poll: {interval: fast}\n",
        SECRET_CONFIG.replace("version: 3", "version: 4"),
        SECRET_CONFIG.replace("AES256", "ROT13"),
        SECRET_CONFIG.replace("username: monitor", "community: x"),
        f"credentials: [{{name: a, version: 3, username: u, auth_protocol: SHA, auth_key:"
        f" {AUTH_KEY[:5]}}}]\n",
        f"credentials: [{{name: a, version: 3, username: u, auth_key: {AUTH_KEY}}}]\n",
        f"credentials: [{{name: a, version: 2c, community: {COMMUNITY}, bogus: {COMMUNITY}}}]\n",
        f"credentials: [{{name: a, version: 2c, community: [{COMMUNITY}]}}]\n",
        f"credentials: [{{name: a, version: 2c, community: {COMMUNITY}, community_file: x}}]\n",
        f"privacy: {{salt: {SALT[:10]}}}\n",
    ],
)
def test_secrets_never_appear_in_errors(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    report = str(info.value) + repr(info.value.problems)
    for secret in (*SECRETS, AUTH_KEY[:5], SALT[:10]):
        assert secret not in report


def test_an_unknown_key_beside_a_secret_does_not_echo_its_value() -> None:
    # The unknown key's *name* is shown, never its value.
    assert problems(
        f"credentials: [{{name: a, version: 2c, community: x, comunity: {COMMUNITY}}}]\n"
    ) == ["credentials[0].comunity: unknown key (did you mean 'community'?)"]


def test_secrets_from_files_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "community").write_text(COMMUNITY + "\n")
    (tmp_path / "secrets" / "auth").write_text(AUTH_KEY + "\r\n")
    (tmp_path / "priv").write_text(PRIV_KEY)
    (tmp_path / "salt").write_text(SALT)
    path = tmp_path / "printer-exporter.yml"
    path.write_text(
        textwrap.dedent(f"""
            credentials:
              - {{name: office, version: 2c, community_file: secrets/community}}
              - name: fleet
                version: 3
                username: monitor
                auth_protocol: SHA
                auth_key_file: secrets/auth
                priv_protocol: AES
                priv_key_file: {tmp_path / "priv"}
            privacy: {{mask_ips: true, salt_file: salt}}
        """)
    )
    config = load_config(path)
    assert config.credentials[0].community_string == Secret(COMMUNITY)
    assert config.credentials[1].auth_key == Secret(AUTH_KEY)
    assert config.credentials[1].priv_key == Secret(PRIV_KEY)
    assert config.privacy.salt == Secret(SALT)
    assert all(secret not in repr(config) for secret in SECRETS)


def test_secret_file_problems(tmp_path: Path) -> None:
    (tmp_path / "empty").write_text("\n")
    (tmp_path / "short").write_text("abc")
    (tmp_path / "binary").write_bytes(b"\xff\xfe")
    (tmp_path / "huge").write_text("x" * 70_000)
    found = problems(
        """
        credentials:
          - {name: a, version: 2c, community_file: missing}
          - {name: b, version: 2c, community_file: empty}
          - {name: c, version: 2c, community_file: binary}
          - {name: d, version: 2c, community_file: huge}
          - {name: e, version: 2c, community_file: ''}
          - {name: f, version: 3, username: u, auth_protocol: MD5, auth_key_file: short}
        """,
        base_dir=tmp_path,
    )
    assert found == [
        f"credentials[0].community_file: cannot read '{tmp_path}/missing': No such file or"
        f" directory",
        f"credentials[1].community_file: '{tmp_path}/empty' is empty",
        f"credentials[2].community_file: '{tmp_path}/binary' is not UTF-8 text",
        f"credentials[3].community_file: '{tmp_path}/huge' is larger than 64 KiB",
        "credentials[4].community_file: must be a file path. Got: ''",
        "credentials[5].auth_key_file: must be at least 8 characters (RFC 3414)",
    ]


# --- credential versions ------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "version"), [("1", 1), ("'1'", 1), ("2", 2), ("2c", 2), ("'2'", 2), ("3", 3)]
)
def test_versions(written: str, version: int) -> None:
    extra = "username: u" if version == 3 else "community: x"
    config = parse(f"credentials: [{{name: a, version: {written}, {extra}}}]\n")
    assert config.credentials[0].version == version


@pytest.mark.parametrize("written", ["4", "0", "true", "2.0", "v3", "[3]", "{a: 1}", "'3c'"])
def test_bad_versions(written: str) -> None:
    [message] = problems(f"credentials: [{{name: a, version: {written}, community: x}}]\n")
    assert message.startswith("credentials[0].version: must be 1, 2c or 3. Got: ")


# --- durations -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("30s", 30),
        ("5m", 300),
        ("1h", 3600),
        ("1h30m", 5400),
        ("1d2h3m4s5ms", 93784.005),
        ("500ms", 0.5),
        (" 10s ", 10),
        ("45", 45),
        ("2.5", 2.5),
        (45, 45),
        (0.25, 0.25),
    ],
)
def test_durations(value: object, seconds: float) -> None:
    assert parse_duration(value) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "value",
    ["", "s", "5", "1.5s", "5 m", "5M", "1w", "1h1h", "1m1h", "-5s", "0", 0, -1, True, None, [],
     float("inf"), "9999999999s"],
)  # fmt: skip
def test_bad_durations(value: object) -> None:
    if value == "5":
        assert parse_duration(value) == 5  # a plain number of seconds is fine
        return
    with pytest.raises(ValueError, match="must"):
        parse_duration(value)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.5, "500ms"),
        (1, "1s"),
        (60, "1m"),
        (90, "1m30s"),
        (3600, "1h"),
        (93784.005, "1d2h3m4s5ms"),
    ],
)
def test_format_duration_round_trips(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == pytest.approx(seconds)


@given(st.integers(min_value=1, max_value=10**9))
def test_format_duration_round_trips_any_millisecond_count(millis: int) -> None:
    assert round(parse_duration(format_duration(millis / 1000)) * 1000) == millis


# --- targets ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "address"),
    [
        ("192.0.2.7", "192.0.2.7:161"),
        ("192.0.2.7:1161", "192.0.2.7:1161"),
        ("'[2001:db8::7]:1161'", "[2001:db8::7]:1161"),
        ("'[2001:DB8:0::7]'", "[2001:db8::7]:161"),
        ("'2001:db8::7'", "[2001:db8::7]:161"),
        ("'[::1]:161'", "[::1]:161"),
        ("Printer-3.Example.", "printer-3.example:161"),
        ("printer_3:16100", "printer_3:16100"),
        ("127.0.0.1:16100", "127.0.0.1:16100"),
    ],
)
def test_target_addresses_are_canonical(written: str, address: str) -> None:
    config = parse(f"targets: [{written}]\n")
    assert config.targets[0].address == address


def test_the_same_device_written_twice_is_caught_after_canonicalising() -> None:
    assert problems("targets: ['[2001:db8::7]:161', '2001:DB8::7']\n") == [
        "targets[1]: duplicate of targets[0]: '[2001:db8::7]:161'"
    ]


# --- ranges ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("192.0.2.0/24", "192.0.2.1", "192.0.2.254"),  # no network or broadcast address
        ("192.0.2.0/30", "192.0.2.1", "192.0.2.2"),
        ("192.0.2.0/31", "192.0.2.0", "192.0.2.1"),
        ("192.0.2.7/32", "192.0.2.7", "192.0.2.7"),
        ("192.0.2.7", "192.0.2.7", "192.0.2.7"),
        ("198.51.100.10-198.51.100.20", "198.51.100.10", "198.51.100.20"),
        ("198.51.100.10 - 198.51.100.20", "198.51.100.10", "198.51.100.20"),
        ("198.51.100.10-20", "198.51.100.10", "198.51.100.20"),
        ("198.51.100.250-203.0.113.5", "198.51.100.250", "203.0.113.5"),
        ("2001:db8::/120", "2001:db8::1", "2001:db8::ff"),  # no Subnet-Router anycast
        ("2001:db8::7", "2001:db8::7", "2001:db8::7"),
        ("127.0.0.0/16", "127.0.0.1", "127.0.255.254"),
    ],
)
def test_parse_range(text: str, first: str, last: str) -> None:
    span = parse_range(text)
    assert (span.first, span.last) == (ip_address(first), ip_address(last))


def test_exclusions_keep_the_whole_span() -> None:
    span = parse_range("192.0.2.0/24", sweep=False)
    assert (str(span.first), str(span.last), span.size) == ("192.0.2.0", "192.0.2.255", 256)
    assert parse_range("224.0.0.0/4", sweep=False).size == 2**28  # excluding is always safe


def test_expand_and_count_with_exclusions_and_overlaps() -> None:
    ranges = ["192.0.2.0/28", "192.0.2.10-20", "2001:db8::/126", "192.0.2.100"]
    exclude = ["192.0.2.4-192.0.2.5", "192.0.2.15/32", "198.51.100.0/24", "2001:db8::2"]
    addresses = list(expand(ranges, exclude))
    expected_v4 = [n for n in range(1, 21) if n not in (4, 5, 15)] + [100]
    assert addresses == [IPv4Address(f"192.0.2.{n}") for n in expected_v4] + [
        IPv6Address("2001:db8::1"),
        IPv6Address("2001:db8::3"),
    ]
    assert count_addresses(ranges, exclude) == len(addresses) == 20


def test_huge_ranges_are_counted_and_walked_without_a_list() -> None:
    ranges = [parse_range("127.0.0.0/8")]
    assert count_addresses(ranges, ["127.0.0.0/9"]) == 2**23 - 1
    first = list(itertools.islice(expand(ranges, ["127.0.0.0/24"]), 3))
    assert first == [IPv4Address("127.0.1.0"), IPv4Address("127.0.1.1"), IPv4Address("127.0.1.2")]


def test_large_ranges_need_allow_large_ranges() -> None:
    text = "discovery: {ranges: [127.0.0.0/15], max_addresses: 200000%s}\n"
    assert problems(text % "")[0].startswith("discovery.ranges[0]: '127.0.0.0/15' has 131,070")
    config = parse(text % ", allow_large_ranges: true")
    assert count_addresses(config.discovery.ranges) == 131070
    # a /16 needs no flag
    assert parse("discovery: {ranges: [127.1.0.0/16]}\n").discovery.enabled
    assert parse("discovery: {ranges: [127.0.0.0-127.0.255.255]}\n").discovery.enabled


def test_max_addresses_counts_after_exclusions() -> None:
    config = parse("""
        discovery:
          ranges: [192.0.2.0/24, 198.51.100.0/24]
          exclude: [198.51.100.0/24]
          max_addresses: 254
    """)
    assert count_addresses(config.discovery.ranges, config.discovery.exclude) == 254


def test_ipv6_ranges_up_to_slash_120() -> None:
    assert parse_range("2001:db8::100/120").size == 255
    with pytest.raises(ValueError, match="/120 or narrower"):
        parse_range("2001:db8::/119")


small_v4 = st.builds(
    lambda net, a, b: f"{net}.{min(a, b)}-{max(a, b)}",
    st.sampled_from(["192.0.2", "198.51.100", "203.0.113"]),
    st.integers(0, 255),
    st.integers(0, 255),
) | st.builds(
    lambda net, n, p: f"{net}.{n - n % 2 ** (32 - p)}/{p}",
    st.sampled_from(["192.0.2", "198.51.100", "203.0.113"]),
    st.integers(0, 255),
    st.integers(24, 32),
)


def _as_set(texts: list[str], sweep: bool) -> set[int]:
    spans = [parse_range(t, sweep=sweep) for t in texts]
    return {n for s in spans for n in range(int(s.first), int(s.last) + 1)}


@given(st.lists(small_v4, max_size=6), st.lists(small_v4, max_size=6))
def test_expand_is_set_difference_and_count_agrees(ranges: list[str], exclude: list[str]) -> None:
    expected = sorted(_as_set(ranges, True) - _as_set(exclude, False))
    addresses = [int(a) for a in expand(ranges, exclude)]
    assert addresses == expected
    assert count_addresses(ranges, exclude) == len(expected)


# --- shards ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shard"), [("0/1", Shard(0, 1)), ("1/3", Shard(1, 3)), (" 2/3 ", Shard(2, 3))]
)
def test_parse_shard(text: str, shard: Shard) -> None:
    assert parse_shard(text) == shard
    assert str(shard) == text.strip()


@pytest.mark.parametrize(
    "text", ["", "1", "3/3", "-1/3", "1/0", "1/2/3", "a/b", "0/99999", "1 / 2"]
)
def test_bad_shards(text: str) -> None:
    with pytest.raises(ValueError, match="must be i/n"):
        parse_shard(text)


def test_every_target_is_in_exactly_one_shard_and_shards_are_even() -> None:
    targets = [f"127.0.{i // 256}.{i % 256}:161" for i in range(4096)]
    shards = [Shard(i, 4) for i in range(4)]
    owners: Counter[int] = Counter()
    for target in targets:
        mine = [s.index for s in shards if in_shard(target, s)]
        assert len(mine) == 1
        owners[mine[0]] += 1
    assert all(900 < count < 1150 for count in owners.values()), owners


PINNED_SHARDS = [538, 361]


def test_the_shard_hash_is_stable_across_processes_and_versions() -> None:
    # Exporters of one site must agree; these values must never change.
    assert [shard_of("192.0.2.7:161", 1000), shard_of("[2001:db8::7]:161", 1000)] == PINNED_SHARDS
    assert all(in_shard(t, Shard()) for t in ("192.0.2.7:161", "", "x"))


# --- masking ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "masked"),
    [
        ("192.0.2.7:161", "x.x.x.7:161"),
        ("192.0.2.7", "x.x.x.7"),
        ("[2001:db8::a7]:1161", "[x::a7]:1161"),
        ("2001:db8::7", "[x::7]"),
        ("Printer7.corp.example:161", "printer7.x:161"),
        ("printer7", "printer7"),
        ("not a target", "x"),
        ("192.0.2.7:99999", "x"),
    ],
)
def test_mask_last_octet(target: str, masked: str) -> None:
    assert mask_target(target, "last_octet") == masked


def test_mask_hash_is_stable_salted_and_keeps_the_port() -> None:
    salt, other = Secret(SALT), Secret(SALT + "x")
    masked = mask_target("192.0.2.7:161", "hash", salt)
    assert re.fullmatch(r"h-[0-9a-f]{12}:161", masked)
    assert mask_target("192.0.2.7:161", "hash", salt) == masked
    assert mask_target("192.0.2.7", "hash", salt) == masked.removesuffix(":161")
    assert mask_target("192.0.2.7:1161", "hash", salt) == masked.replace(":161", ":1161")
    assert mask_target("192.0.2.7:161", "hash", other) != masked
    assert mask_target("192.0.2.8:161", "hash", salt) != masked
    assert mask_target("[2001:DB8::7]:161", "hash", salt) == mask_target(
        "[2001:db8::7]:161", "hash", salt
    )
    with pytest.raises(ValueError, match="needs a salt"):
        mask_target("192.0.2.7:161", "hash")
    with pytest.raises(ValueError, match="mask mode must be"):
        mask_target("192.0.2.7:161", "rot13")  # type: ignore[arg-type]


def test_privacy_mask_is_a_no_op_until_turned_on() -> None:
    assert PrivacyConfig().mask("192.0.2.7:161") == "192.0.2.7:161"
    on = PrivacyConfig(mask_ips=True, salt=Secret(SALT))
    assert on.mask("192.0.2.7:161").startswith("h-")


@given(st.ip_addresses(v=4), st.integers(1, 65535))
def test_a_masked_ipv4_target_never_shows_its_network(address: IPv4Address, port: int) -> None:
    target = f"{address}:{port}"
    hashed = mask_target(target, "hash", Secret(SALT))
    assert str(address) not in hashed
    network = str(address).rsplit(".", 1)[0]
    assert network not in mask_target(target, "last_octet")


# --- web and profiles ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address", [":9269", "127.0.0.1:9269", "[::1]:9269", "localhost:8080", "0.0.0.0:9269"]
)
def test_listen_addresses(address: str) -> None:
    assert parse(f"web: {{listen_address: '{address}'}}\n").web.listen_address == address


def test_profiles_override_dir_is_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "profiles.d").mkdir()
    config = parse("profiles: {override_dir: profiles.d}\n", base_dir=tmp_path)
    assert config.profiles.override_dir == tmp_path / "profiles.d"
    assert problems("profiles: {override_dir: nope}\n", base_dir=tmp_path) == [
        f"profiles.override_dir: not a directory: '{tmp_path}/nope'"
    ]


# --- check_config, summarize, docs ---------------------------------------------------------


def test_check_config(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.yml", tmp_path / "bad.yml"
    good.write_text("targets: [192.0.2.7]\n")
    bad.write_text("targets: [192.0.2.7]\npoll: {interval: fast}\nshard: 3\n")
    assert check_config(good) == []
    assert check_config(bad) == [
        f"{bad}: poll.interval: must be a duration like 60s or 5m. Got: 'fast'",
        f"{bad}: shard: must be i/n, like '0/2'. Got: 3",
    ]


def test_summarize_says_what_will_be_swept() -> None:
    config = parse("""
        targets: [192.0.2.7]
        discovery: {ranges: [192.0.2.0/24], exclude: [192.0.2.7]}
        shard: 0/2
    """)
    assert summarize(config) == [
        "credential sets, tried in order: public (v2c)",
        "targets: 1",
        "discovery: 253 addresses from 1 range less 1 exclusion, port 161, every 1h,"
        " at most 200 packets/s",
        "poll: every 1m, timeout 2s, retries 1, concurrency 32",
        "shard: 0/2 (this exporter polls about 1/2)",
        "web: listening on :9269",
    ]


@pytest.mark.parametrize(
    "section",
    [
        DiscoveryConfig,
        PollConfig,
        PrivacyConfig,
        WebConfig,
        SnapshotApiConfig,
        ProfilesConfig,
        RemoteConfig,
    ],
)
def test_every_setting_is_documented(section: type) -> None:
    docs = DOCS.read_text()
    for field in dataclasses.fields(section):
        assert f"`{field.name}`" in docs, f"{section.__name__}.{field.name} is not in {DOCS}"


def test_every_documented_error_message_is_real() -> None:
    # The error examples in docs/config.md sit between two markers; each is tested above.
    block = DOCS.read_text().split("<!-- errors -->")[1]
    shown = [line for line in block.splitlines() if line and not line.startswith("```")]
    assert shown
    assert set(shown) <= {expected for _, expected in ERRORS}


# --- robustness -----------------------------------------------------------------------------

_KEYS = [
    "credentials", "targets", "discovery", "poll", "privacy", "shard", "web", "profiles", "name",
    "version", "community", "username", "auth_key", "auth_protocol", "priv_protocol", "context",
    "address", "ranges", "exclude", "interval", "timeout", "jitter", "rate", "max_addresses",
    "allow_large_ranges", "mask_ips", "mask_mode", "listen_address", "snapshot_api", "override_dir",
]  # fmt: skip
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.sampled_from(["2c", "1/2", "0/0", "5m", "1h30m", "192.0.2.0/24", "192.0.2.1-9", "[::1]:1",
                     "2001:db8::/120", "SHA", "AES", "hash", "public", "127.0.0.0/8", ""]),
    st.text(max_size=20),
)  # fmt: skip
_YAML_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(_KEYS) | st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300)
@given(st.dictionaries(st.sampled_from(_KEYS), _YAML_VALUES, max_size=6))
def test_structured_nonsense_only_ever_raises_config_error(data: dict[str, object]) -> None:
    text = yaml.safe_dump(data)
    with contextlib.suppress(ConfigError):
        parse_config(text)


@settings(max_examples=300)
@given(st.lists(st.sampled_from([*":-[]{}?&*!|>'\"%@`#,\n ab12./\\\t", *_KEYS])).map("".join))
def test_arbitrary_text_only_ever_raises_config_error(text: str) -> None:
    with contextlib.suppress(ConfigError):
        parse_config(text)


@given(st.text(max_size=200))
def test_any_unicode_only_ever_raises_config_error(text: str) -> None:
    with contextlib.suppress(ConfigError):
        parse_config(text)


def test_the_web_keys_reach_the_app() -> None:
    """external_url, route_prefix and probe were settable by no key or flag before."""
    from exporter.daemon import web_settings

    config = parse(
        "web: {external_url: 'https://mps.example/site-7', probe: false,"
        " snapshot_api: {loopback_only: false}}\n"
    )
    settings = web_settings(config)
    assert (settings.external_url, settings.probe_enabled, settings.prefix) == (
        "https://mps.example/site-7",
        False,
        "/site-7",
    )
    assert not settings.snapshot_api_loopback_only
    assert web_settings(parse("web: {route_prefix: /printers}\n")).prefix == "/printers"
    default = web_settings(parse(""))
    assert (default.probe_enabled, default.prefix, default.snapshot_api_loopback_only) == (
        True,
        "",
        True,
    )
