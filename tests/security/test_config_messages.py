"""Config errors never quote a secret, wherever it was written, and count honestly."""

from __future__ import annotations

import pytest

from exporter.config import ConfigError, parse_config

SECRET = "Xk9-pasted-secret-77"
LONG = "L" * 30 + "-a-very-long-pasted-secret-" + "Q" * 40


def _error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    return caught.value


@pytest.mark.parametrize(
    "text",
    [
        # the community pasted where the version goes
        f"credentials: [{{name: office, version: '{SECRET}'}}]",
        f"credentials: [{{name: office, version: '{LONG}'}}]",
        # where the protocol goes
        f"credentials: [{{name: v3, version: 3, username: u, auth_protocol: '{SECRET}'}}]",
        # as a set's name
        f"credentials: [{{name: '{SECRET} x', version: 2c, community: c}}]",
        # as a key of its own
        f"credentials: [{{name: office, version: 2c, community: c, '{SECRET}': null}}]",
        # the community named where a set name is expected
        f"credentials: [{{name: office, version: 2c, community: '{SECRET}'}}]\n"
        f"targets: [{{address: 192.0.2.1, credentials: ['{SECRET}']}}]",
        f"credentials: [{{name: office, version: 2c, community: '{LONG}'}}]\n"
        f"discovery: {{credentials: ['{LONG}'], ranges: [192.0.2.0/28]}}",
        # a v3 key where a target's name goes
        f"credentials: [{{name: v3, version: 3, username: u, auth_protocol: SHA,"
        f" auth_key: '{SECRET}'}}]\ntargets: [{{address: 192.0.2.1, name: 5, credentials:"
        f" ['{SECRET}']}}]",
    ],
)
def test_a_secret_in_the_wrong_place_is_never_quoted(text: str) -> None:
    error = _error(text)
    report = "\n".join([str(error), *error.problems, *error.lines()])
    assert SECRET not in report
    assert LONG[:20] not in report
    assert "<secret>" in report or "unknown key" in report or "must be" in report


def test_valid_names_and_protocols_are_still_quoted() -> None:
    error = _error(
        "credentials: [{name: office, version: 2c, community: s3cret-community}]\n"
        "targets: [{address: 192.0.2.1, credentials: [ofice]}]"
    )
    assert error.problems == (
        "targets[0].credentials[0]: unknown credential set 'ofice'; defined: office",
    )


def test_the_count_is_the_number_of_problems_not_the_number_kept() -> None:
    """100,000 bad targets were reported as "1000 problems"."""
    targets = ", ".join(f"'not a host {i}'" for i in range(100_000))
    error = _error(f"targets: [{targets}]")
    assert error.total == 100_000
    report = str(error)
    assert report.startswith("<string>: 100,000 problems")
    assert report.rstrip().endswith("... and 99,950 more")
