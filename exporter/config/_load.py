"""From bytes on disk to YAML data, and the one exception for a bad config.

Reading and parsing are `exporter.yamlcheck`'s, shared with every YAML file the
project reads (bounded, UTF-8, duplicate keys refused, errors by line and column
without the line's text); here they raise the config layer's own error.
"""

from __future__ import annotations

from pathlib import Path

from exporter.yamlcheck import MAX_DOCUMENT_BYTES, DocumentError, parse, read_text

MAX_CONFIG_BYTES = MAX_DOCUMENT_BYTES


class ConfigError(DocumentError):
    """A config that cannot be used, with every problem found, each naming its YAML path.

    `problems` holds one line per problem (`poll.interval: must be ...`);
    `str()` is a readable multi-line report headed by the source.
    """


def read_config_text(path: Path) -> str:
    """The file's text, refusing one over MAX_CONFIG_BYTES or not UTF-8. Raise ConfigError."""
    try:
        return read_text(path)
    except DocumentError as error:
        raise ConfigError(error.problems, error.source) from None


def load_yaml(text: str, source: str) -> object:
    """One YAML document -> plain data. Raise ConfigError with the line, never the line's text."""
    try:
        return parse(text, source)
    except DocumentError as error:
        raise ConfigError(error.problems, error.source) from None
