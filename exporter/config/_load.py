"""From bytes on disk to checked YAML data, and the one exception for a bad config.

The file is bounded (4 MiB) before it is parsed, and parsed with a SafeLoader
that also refuses duplicate keys: YAML lets the last one win silently, and
`community` written twice is exactly the mistake nobody sees. YAML errors are
reported by line and column only, without PyYAML's snippet of the offending
line: that line may hold a community or a v3 key.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import yaml

MAX_CONFIG_BYTES = 4 * 1024 * 1024
"""A config that lists every printer of a large site is well under 1 MiB."""
_MAX_SHOWN = 50
_MERGE_TAG = "tag:yaml.org,2002:merge"


class ConfigError(ValueError):
    """A config that cannot be used, with every problem found, each naming its YAML path.

    `problems` holds one line per problem (`poll.interval: must be ...`);
    `str()` is a readable multi-line report headed by the source.
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
        shown = [f"  {problem}" for problem in self.problems[:_MAX_SHOWN]]
        if self.total > len(shown):
            shown.append(f"  ... and {self.total - len(shown):,} more")
        return "\n".join([f"{self.source}: {self.total:,} problems", *shown])

    def __str__(self) -> str:
        return self._render()


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key written twice in one mapping (merge keys `<<` aside)."""

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
                    None, None, f"duplicate key {_short(key)}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:56] + "...'"


def read_config_text(path: Path) -> str:
    """The file's text, refusing one over MAX_CONFIG_BYTES or not UTF-8. Raise ConfigError."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_CONFIG_BYTES + 1)
    except OSError as error:
        raise ConfigError([f"cannot read the file: {error.strerror or error}"], str(path)) from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError([f"larger than {MAX_CONFIG_BYTES // 1024 // 1024} MiB"], str(path))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ConfigError([f"not UTF-8 text (byte {error.start})"], str(path)) from None


def load_yaml(text: str, source: str) -> object:
    """One YAML document -> plain data. Raise ConfigError with the line, never the line's text."""
    if (
        len(text) > MAX_CONFIG_BYTES
        or len(text.encode("utf-8", "surrogatepass")) > MAX_CONFIG_BYTES
    ):
        raise ConfigError([f"larger than {MAX_CONFIG_BYTES // 1024 // 1024} MiB"], source)
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        raise ConfigError([_describe(error)], source) from None
    except yaml.YAMLError as error:
        raise ConfigError([f"not valid YAML: {_clip(str(error))}"], source) from None
    except RecursionError:
        raise ConfigError(["not valid YAML: nested too deeply"], source) from None
    except (ValueError, OverflowError, TypeError) as error:
        # PyYAML's own constructors raise these, e.g. for an integer of 5,000 digits.
        raise ConfigError([f"not valid YAML: {_clip(str(error))}"], source) from None


def _describe(error: yaml.MarkedYAMLError) -> str:
    mark = error.problem_mark or error.context_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    what = ", ".join(part for part in (error.context, error.problem) if part)
    return f"{where}{_clip(what)}"


def _clip(text: str) -> str:
    first_line = text.strip().splitlines()[0] if text.strip() else "not valid YAML"
    return first_line if len(first_line) <= 200 else first_line[:197] + "..."
