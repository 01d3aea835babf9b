"""The `credentials` section: credential sets, checked and built by the SNMP layer's own
constructors (`community`, `usm`), and the set names targets and ranges refer to.

Part of the config parser (`_parse.py`), which inherits these checks; kept apart because
credentials carry the secrets and their own rules (which keys go with which version,
what a `*_file` key means in a message).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from exporter.config._checker import Checker
from exporter.config._secrets import possible_secrets
from exporter.config._values import Invalid, parse_name, parse_snmp_version
from exporter.snmp.credentials import CredentialError, Credentials, community, usm
from exporter.yamlcheck import show

_COMMON_CREDENTIAL_KEYS = ("name", "version")
_V1_KEYS = ("community", "community_file")
_V3_KEYS = (
    "username",
    "auth_protocol",
    "auth_key",
    "auth_key_file",
    "priv_protocol",
    "priv_key",
    "priv_key_file",
    "context",
)
_V3_STRINGS = ("auth_protocol", "priv_protocol", "context")
_CREDENTIAL_KEYS = frozenset((*_COMMON_CREDENTIAL_KEYS, *_V1_KEYS, *_V3_KEYS))


class CredentialSections(Checker):
    """The checks of credential sets and of the names that refer to them."""

    def credentials(self, value: object) -> tuple[Credentials, ...]:
        items = self.items(value, "credentials")
        if not items and isinstance(value, list):
            self.add("credentials", "must list at least one set; leave the key out for the default")
        sets: list[Credentials] = []
        first_seen: dict[str, int] = {}
        for index, item in enumerate(items):
            path = f"credentials[{index}]"
            creds = self.credential_set(item, path)
            if creds is None:
                continue
            if creds.name in first_seen:
                self.add(
                    f"{path}.name",
                    f"duplicate of credentials[{first_seen[creds.name]}]: {creds.name!r}",
                )
                continue
            first_seen[creds.name] = index
            sets.append(creds)
        return tuple(sets)

    def credential_set(self, item: object, path: str) -> Credentials | None:
        """One set, built by `community()` or `usm()` so their checks apply here too."""
        before = len(self.problems)
        if isinstance(item, dict):
            self.secrets |= possible_secrets(item, _CREDENTIAL_KEYS)
        raw = self.mapping(item, path, _CREDENTIAL_KEYS)
        if raw is None:
            return None
        name = self.required(raw, path, "name", parse_name)
        version = self.required(raw, path, "version", parse_snmp_version)
        if name is None or version is None:
            return None
        only = "SNMP v1 and v2c" if version == 3 else "SNMPv3"
        for key in _V1_KEYS if version == 3 else _V3_KEYS:
            if key in raw:
                self.add(f"{path}.{key}", f"only for {only}; this set is version {_show(version)}")
        build: Callable[[], Credentials]
        if version != 3:
            value = self.secret(raw, path, "community", required=True)
            build = partial(community, name, value or "", version=1 if version == 1 else 2)
        else:
            text = self.fields(raw, path, dict.fromkeys(_V3_STRINGS, _string))
            build = partial(
                usm,
                name,
                self.required(raw, path, "username", _string) or "",
                auth_protocol=text.get("auth_protocol"),
                auth_key=self.secret(raw, path, "auth_key"),
                priv_protocol=text.get("priv_protocol"),
                priv_key=self.secret(raw, path, "priv_key"),
                context_name=text.get("context", ""),
            )
        if len(self.problems) > before:
            return None
        try:
            return build()
        except CredentialError as error:
            self.add(*_credential_problem(str(error), name, path, raw))
            return None

    def credential_names(self, value: object, path: str, known: list[str]) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            self.add(
                path,
                "must be a non-empty list of credential set names; leave it out to try all."
                f" Got: {show(value)}",
            )
            return ()
        names: list[str] = []
        for index, item in enumerate(value):
            if not isinstance(item, str) or item not in known:
                defined = ", ".join(known) or "none"
                self.add(
                    f"{path}[{index}]", f"unknown credential set {show(item)}; defined: {defined}"
                )
            elif item in names:
                self.add(f"{path}[{index}]", f"listed twice: {item!r}")
            else:
                names.append(item)
        return tuple(names)


def declared_set_names(value: object) -> list[str]:
    """Every set name written, valid set or not: a broken set should cost one error, not one
    more "unknown credential set" for each target that names it."""
    items = value if isinstance(value, list) else []
    names = [i["name"] for i in items if isinstance(i, dict) and isinstance(i.get("name"), str)]
    return list(dict.fromkeys(names))


def _show(version: int) -> str:
    return "2c" if version == 2 else str(version)


def _string(value: object) -> str:
    if not isinstance(value, str):
        raise Invalid(f"must be a string. Got: {show(value)}")
    return value


def _credential_problem(
    message: str, name: str, path: str, raw: Mapping[str, Any]
) -> tuple[str, str]:
    """A CredentialError ("credentials 'x': auth_key must be ...") -> (path, message).

    The path names the key the user wrote: `auth_key_file` when the key came from a file.
    """
    message = message.removeprefix(f"credentials {name!r}: ")
    field = message.split(" ", 1)[0]
    if field in _V1_KEYS or field in _V3_KEYS:
        written = f"{field}_file" if f"{field}_file" in raw else field
        return f"{path}.{written}", message.removeprefix(field + " ")
    return path, message
