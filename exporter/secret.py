"""A string that never prints.

SNMP communities and v3 keys pass through config objects, log lines, reprs,
tracebacks and JSON. Wrapping them in `Secret` means none of those paths can
leak one by accident: every way of turning it into text gives `<secret>`, and
the one deliberate way out is `reveal()`, easy to grep for.
"""

from __future__ import annotations

import hmac
from typing import Any, NoReturn


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("Secret takes a str")
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('<secret>')"

    def __str__(self) -> str:
        return "<secret>"

    def __format__(self, spec: str) -> str:
        return "<secret>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret is not picklable")

    def __getstate__(self) -> Any:
        raise TypeError("a Secret is not picklable")
