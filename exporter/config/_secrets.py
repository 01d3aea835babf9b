"""Which strings written in a credential set may be secrets, so that no message quotes them.

A community pasted where the version goes, an auth key written as a key of its
own, a password typed where a set's name belongs: the config checker cannot
know what a user meant, only what is valid. So inside a credential set every
string is treated as a possible secret except the values that are valid for a
field that is not secret (a set name, a version, a protocol) and file paths
(the user needs them to fix the error, and they are not the secret).
`Checker.scrubbed` then replaces each of these strings wherever a message
would quote it.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Mapping

from exporter.config._values import Invalid, parse_name, parse_snmp_version
from exporter.snmp.credentials import AUTH_PROTOCOLS, PRIV_PROTOCOLS, is_protocol_name


def possible_secrets(item: Mapping[object, object], keys: Collection[str]) -> set[str]:
    """The strings of one credential set (`keys`: the keys a set may have) that may be
    secrets: every value not valid for a non-secret field, and every key that is neither
    a known key nor a typo of one (a secret written as a key: `s3cret:` on its own line)."""
    found: set[str] = set()
    for key, value in item.items():
        if isinstance(key, str) and key not in keys and not difflib.get_close_matches(key, keys, 1):
            found.add(key)
        if not isinstance(value, str) or (isinstance(key, str) and key.endswith("_file")):
            continue
        check = _NOT_SECRET.get(key) if isinstance(key, str) else None
        if check is None or not check(value):
            found.add(value)
    return found


def _valid(convert: Callable[[object], object]) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        try:
            convert(value)
        except Invalid:
            return False
        return True

    return check


_NOT_SECRET: Mapping[str, Callable[[str], bool]] = {
    "name": _valid(parse_name),
    "version": _valid(parse_snmp_version),
    "auth_protocol": lambda value: is_protocol_name(value, AUTH_PROTOCOLS),
    "priv_protocol": lambda value: is_protocol_name(value, PRIV_PROTOCOLS),
}
"""Credential keys whose valid values are not secret (and are quoted in messages)."""
