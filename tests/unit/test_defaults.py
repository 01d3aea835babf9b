"""Defaults declared once: the command line, the pinger and the PJL client use the config's
(or the lower layer's) values, and `--help` shows the values the flags really take."""

from __future__ import annotations

import pytest

from exporter import cli
from exporter.config import (
    DEFAULT_LISTEN_ADDRESS,
    Config,
    DiscoveryConfig,
    IcmpConfig,
    PjlConfig,
    Target,
)
from exporter.icmp import Pinger
from exporter.pjl import PjlLimits
from exporter.snmp import SnmpOptions

SWEEP = DiscoveryConfig()
SNMP = SnmpOptions()


def _help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as done:
        cli.main([*argv, "--help"])
    assert done.value.code == 0
    return " ".join(capsys.readouterr().out.split())  # argparse wraps at the terminal width


def test_discover_takes_the_sweep_defaults_of_the_config() -> None:
    args = cli.build_parser().parse_args(["discover", "192.0.2.0/24"])
    assert (args.port, args.rate, args.timeout, args.retries) == (
        SWEEP.port,
        SWEEP.rate,
        SWEEP.timeout,
        SWEEP.retries,
    )


def test_discover_help_shows_the_defaults_it_uses(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(["discover"], capsys)
    assert f"UDP port (default: {SWEEP.port})" in text
    assert f"packets per second (default: {SWEEP.rate:g})" in text
    assert f"seconds to wait for answers (default: {SWEEP.timeout:g})" in text
    assert f"extra tries per address (default: {SWEEP.retries})" in text
    assert f"more than a /16 ({SWEEP.max_addresses:,} addresses)" in text


def test_probe_takes_the_client_defaults_and_the_target_port() -> None:
    args = cli.build_parser().parse_args(["probe", "printer.example"])
    assert (args.timeout, args.retries, args.max_repetitions) == (
        SNMP.timeout,
        SNMP.retries,
        SNMP.max_repetitions,
    )
    assert args.target == ("printer.example", Target("printer.example").port)


def test_the_default_community_is_the_default_credential_set(
    capsys: pytest.CaptureFixture[str],
) -> None:
    secret = Config().credentials[0].community_string
    assert secret is not None
    assert cli.build_parser().parse_args(["probe", "h"]).community == secret.reveal()
    assert f"default: {secret.reveal()})" in _help(["discover"], capsys)


def test_the_listen_address_help_names_the_config_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert f"else {DEFAULT_LISTEN_ADDRESS})" in _help([], capsys)
    assert Config().web.listen_address == DEFAULT_LISTEN_ADDRESS


def test_a_range_past_the_sweep_cap_needs_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    """Refused before anything is sent (and a loopback range, were it not): a /15 is twice
    the default `max_addresses`."""
    assert SWEEP.max_addresses == 65536
    assert cli.main(["discover", "127.0.0.0/15"]) == cli.EXIT_USAGE
    assert f"more than a /16 ({SWEEP.max_addresses:,})" in capsys.readouterr().err


def test_the_pinger_and_the_config_share_their_defaults() -> None:
    pinger, icmp = Pinger(), IcmpConfig()
    assert (pinger.count, pinger.timeout) == (icmp.count, icmp.timeout)


def test_a_pjl_client_without_limits_waits_as_long_as_a_poll() -> None:
    assert PjlLimits().timeout == PjlConfig().timeout
