"""Checking YAML data against a schema while collecting every problem with its path.

A user fixing a config wants the whole list at once. So nothing here raises:
`Checker` notes a problem (`poll.interval: must be ...`) and returns what it
could read, and the caller carries on with defaults and raises once at the end.
`_parse` holds the schema itself; this is the machinery every section shares.

Secrets come inline (`community: ...`) or from a file (`community_file: ...`),
the way Prometheus does it (`password_file`). A file is read when the config is
loaded, so again on every reload; one trailing newline is dropped. There is no
`${ENV}` expansion: a file is what Docker, Kubernetes and systemd credentials
deliver, it does not leak into child processes or `docker inspect`, and one
mechanism is easier to audit than two. No message here ever shows a secret.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

from exporter.config._values import Invalid
from exporter.yamlcheck import join, kind, show, unknown_key

Converter = Callable[[object], Any]
"""Turns one YAML value into a typed one, or raises Invalid."""

MAX_SECRET_FILE_BYTES = 64 * 1024
_MAX_PROBLEMS = 1000
"""Messages kept: enough for any real file; bounds the work for a pasted megabyte of
nonsense. The count goes on past it, so the report says how many there were."""
_SHOWN_CHARS = 55
"""How much of a long string `_values.show` quotes before cutting it."""


class Checker:
    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir
        """Where relative file paths in the config are resolved: the config file's folder."""
        self.problems: list[str] = []
        self.count = 0
        """Every problem found, including those past the `_MAX_PROBLEMS` kept as text."""
        self.secrets: set[str] = set()
        """Strings that may be secret; `scrubbed` removes them from the messages."""

    def add(self, path: str, message: str) -> None:
        self.count += 1
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(f"{path}: {message}" if path else message)

    def scrubbed(self) -> list[str]:
        """The problems with every registered secret replaced by `<secret>`.

        Messages quote bad values, and a secret can sit where it does not belong:
        a community pasted into `version`, or written where a set's name goes.
        Whatever was written as (or near) a secret is never quoted back, even
        cut short the way long values are (`show` keeps the first 55 characters).
        """
        if not self.secrets:
            return self.problems
        patterns = []
        for secret in sorted(self.secrets, key=len, reverse=True):
            if len(secret) < 4:
                # Only where it is quoted, or every message would lose its short words.
                patterns.append(re.escape(repr(secret)))
                continue
            quoted = repr(secret[:_SHOWN_CHARS])[:-1]  # 'abc... as `show` cuts it
            patterns += [re.escape(repr(secret)), re.escape(quoted), re.escape(secret)]
        combined = re.compile("|".join(patterns))
        return [combined.sub("<secret>", problem) for problem in self.problems]

    def mapping(self, value: object, path: str, allowed: Collection[str]) -> dict[str, Any] | None:
        """A section's mapping with unknown keys reported; null keys count as absent."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.add(path, f"must be a mapping. Got: {kind(value)}")
            return None
        known: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(key, str) and key in allowed:
                if item is not None:
                    known[key] = item
            else:
                self.add(join(path, key), unknown_key(key, allowed))
        return known

    def fields(
        self, raw: Mapping[str, Any], path: str, spec: Mapping[str, Converter]
    ) -> dict[str, Any]:
        """Convert the keys in `spec` that `raw` has; a bad one is noted and left out."""
        out: dict[str, Any] = {}
        for key, convert in spec.items():
            if key in raw:
                try:
                    out[key] = convert(raw[key])
                except Invalid as error:
                    self.add(join(path, key), str(error))
        return out

    def items(self, value: object, path: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.add(path, f"must be a list. Got: {kind(value)}")
            return []
        return value

    def required(self, raw: Mapping[str, Any], path: str, key: str, convert: Converter) -> Any:
        if key not in raw:
            self.add(f"{path}.{key}", "is required")
            return None
        return self.fields(raw, path, {key: convert}).get(key)

    def secret(
        self, raw: Mapping[str, Any], path: str, key: str, *, required: bool = False
    ) -> str | None:
        """An inline secret or the contents of `<key>_file`. Never shows the value."""
        file_key = f"{key}_file"
        if key in raw and file_key in raw:
            self.add(f"{path}.{key}", f"give {key} or {file_key}, not both")
            return None
        if file_key in raw:
            text = self.secret_file(raw[file_key], f"{path}.{file_key}")
            if text is not None:
                self.secrets.add(text)
            return text
        if key in raw:
            value = raw[key]
            if not isinstance(value, str):
                self.add(f"{path}.{key}", f"must be a string; quote it in YAML. Got: {kind(value)}")
                return None
            self.secrets.add(value)
            return value
        if required:
            self.add(path, f"{key} or {file_key} is required")
        return None

    def secret_file(self, value: object, path: str) -> str | None:
        if not isinstance(value, str) or not value:
            self.add(path, f"must be a file path. Got: {show(value)}")
            return None
        file = self.base_dir / value
        try:
            with file.open("rb") as handle:
                data = handle.read(MAX_SECRET_FILE_BYTES + 1)
        except OSError as error:
            self.add(path, f"cannot read {str(file)!r}: {error.strerror or error}")
            return None
        if len(data) > MAX_SECRET_FILE_BYTES:
            self.add(path, f"{str(file)!r} is larger than {MAX_SECRET_FILE_BYTES // 1024} KiB")
            return None
        try:
            text = data.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            self.add(path, f"{str(file)!r} is not UTF-8 text")
            return None
        if not text:
            self.add(path, f"{str(file)!r} is empty")
            return None
        return text
