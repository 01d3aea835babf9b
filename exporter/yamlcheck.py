"""YAML files as the project reads every one of them: bounded, strict, one message style.

The exporter's config, its web config, the profile database, pull_sync's config and
the archive's bundle specs all come through here, so a user meets the same rules and
the same messages whichever file they got wrong:

- A file is bounded (4 MiB) before it is parsed, and must be UTF-8.
- A key written twice in one mapping is refused. YAML lets the last one win silently,
  and `community` written twice is exactly the mistake nobody sees.
- A problem reads `path: message. Got: value`, the value cut to one line by `show`,
  and an unknown key suggests the known key it is closest to.
- A YAML syntax error gives the line and column, never PyYAML's snippet of the line:
  that line may hold a community or a v3 key.

What each file means is checked by its own layer (`config/_parse.py`,
`web/security.py`, `profiles/validate.py`); this module holds only what they share.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Hashable, Sequence
from pathlib import Path
from typing import Any, Final

import yaml

MAX_DOCUMENT_BYTES: Final = 4 * 1024 * 1024
"""A config that lists every printer of a large site is well under 1 MiB."""
_SHOW_LIMIT: Final = 60
_MAX_REPORTED: Final = 50
"""Problems a report prints; `DocumentError.total` still counts them all."""
_MERGE_TAG: Final = "tag:yaml.org,2002:merge"
MISSING: Final[Any] = ...
"""`problem(..., value=MISSING)`: the message quotes no value."""


class DocumentError(ValueError):
    """A file that cannot be used, with every problem found, each naming its YAML path.

    `problems` holds one line per problem (`poll.interval: must be ...`);
    `str()` is a readable multi-line report headed by the source. Each layer
    raises its own subclass (`ConfigError`, `WebConfigError`).
    """

    def __init__(
        self, problems: Sequence[str], source: str = "<string>", *, total: int | None = None
    ) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        self.source = source
        self.total = max(total or 0, len(self.problems))
        """How many problems were found; `problems` may keep only the first of them."""
        super().__init__(self._render())

    def lines(self) -> list[str]:
        """One self-contained line per problem: `source: path: message`."""
        return [f"{self.source}: {problem}" for problem in self.problems]

    def _render(self) -> str:
        if self.total == 1:
            return f"{self.source}: {self.problems[0]}"
        shown = [f"  {problem}" for problem in self.problems[:_MAX_REPORTED]]
        if self.total > len(shown):
            shown.append(f"  ... and {self.total - len(shown):,} more")
        return "\n".join([f"{self.source}: {self.total:,} problems", *shown])

    def __str__(self) -> str:
        return self._render()


# --- reading and parsing ----------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """A safe loader that refuses a key written twice in one mapping (merge keys aside).

    The pure-Python loader, never libyaml's `CSafeLoader`: libyaml words its errors
    differently and says less (an undefined alias without its name), and whether
    PyYAML was built with it differs by install, so the same file would get
    different messages on two sites. Its speed is not needed: the whole profile
    database parses in about 50 ms, once at start and on a reload.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[Hashable] = set()
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                raise yaml.constructor.ConstructorError(
                    None, None, "found a key that is a list or mapping", key_node.start_mark
                )
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {show(key)}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_text(path: Path, source: str | None = None) -> str:
    """The file's text, refusing one over MAX_DOCUMENT_BYTES or not UTF-8.

    Raise DocumentError under `source` (the path unless given).
    """
    where = str(path) if source is None else source
    try:
        with path.open("rb") as file:
            data = file.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as error:
        raise DocumentError([f"cannot read the file: {error.strerror or error}"], where) from None
    if len(data) > MAX_DOCUMENT_BYTES:
        raise DocumentError([_too_large()], where)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DocumentError([f"not UTF-8 text (byte {error.start})"], where) from None


def parse(text: str, source: str) -> object:
    """One YAML document -> plain data. Raise DocumentError with the line, never its text."""
    if (
        len(text) > MAX_DOCUMENT_BYTES
        or len(text.encode("utf-8", "surrogatepass")) > MAX_DOCUMENT_BYTES
    ):
        raise DocumentError([_too_large()], source)
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        raise DocumentError([_describe(error)], source) from None
    except yaml.YAMLError as error:
        raise DocumentError([f"not valid YAML: {_clip(str(error))}"], source) from None
    except RecursionError:
        raise DocumentError(["not valid YAML: nested too deeply"], source) from None
    except (ValueError, OverflowError, TypeError) as error:
        # PyYAML's own constructors raise these, e.g. for an integer of 5,000 digits.
        raise DocumentError([f"not valid YAML: {_clip(str(error))}"], source) from None


def load(path: Path, source: str | None = None) -> object:
    """`parse(read_text(path))`: a file's one YAML document, or DocumentError."""
    where = str(path) if source is None else source
    return parse(read_text(path, where), where)


def _too_large() -> str:
    return f"larger than {MAX_DOCUMENT_BYTES // 1024 // 1024} MiB"


def _describe(error: yaml.MarkedYAMLError) -> str:
    mark = error.problem_mark or error.context_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    what = ", ".join(part for part in (error.context, error.problem) if part)
    return f"{where}{_clip(what)}"


def _clip(text: str) -> str:
    first_line = text.strip().splitlines()[0] if text.strip() else "not valid YAML"
    return first_line if len(first_line) <= 200 else first_line[:197] + "..."


# --- the message style ------------------------------------------------------------------


_KINDS: Final = (
    (bool, "a boolean"),  # before int: in Python a bool is an int, in YAML it is not
    (int, "an integer"),
    (float, "a number"),
    (str, "a string"),
    (list, "a list"),
    (dict, "a mapping"),
)


def kind(value: object) -> str:
    """The YAML name of a value's type: what a user wrote, not what Python calls it."""
    if value is None:
        return "null"
    for python_type, name in _KINDS:
        if isinstance(value, python_type):
            return name
    return type(value).__name__


def show(value: object) -> str:
    """A short repr of a scalar, or the kind of a container; never longer than a line."""
    if isinstance(value, list | dict):
        return kind(value)
    text = repr(value)
    if len(text) > _SHOW_LIMIT:
        return text[: _SHOW_LIMIT - 4] + ("...'" if isinstance(value, str) else "...")
    return text


def problem(path: str, message: str, value: object = MISSING) -> str:
    """`path: message. Got: value`, the one shape of every problem in every file."""
    text = message if value is MISSING else f"{message}. Got: {show(value)}"
    return f"{path}: {text}" if path else text


def join(path: str, key: object) -> str:
    """The YAML path of `key` inside `path`; a key that is no short string is shown."""
    text = key if isinstance(key, str) and len(key) <= _SHOW_LIMIT else show(key)
    return f"{path}.{text}" if path else str(text)


def unknown_key(key: object, allowed: Collection[str]) -> str:
    """The message for a key the schema does not have, naming the one meant if it is close."""
    close = difflib.get_close_matches(key, allowed, n=1) if isinstance(key, str) else []
    if close:
        return f"unknown key (did you mean {close[0]!r}?)"
    return f"unknown key; expected one of {', '.join(allowed)}"
