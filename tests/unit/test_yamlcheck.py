"""Every YAML file the project reads follows the same rules, in the same words.

One test per rule, run over each reader: the exporter's config, the web config, the
profile database, pull_sync's config and the archive's bundle spec. A reader that
grows its own loader or message style fails here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from archive.bundles import build_bundle, load_spec
from archive.errors import UsageError
from exporter.config import ConfigError, load_config
from exporter.profiles import ProfileError
from exporter.profiles.loader import load_directory
from exporter.web.security import load_web_config
from exporter.yamlcheck import DocumentError, join, load, parse, problem, show, unknown_key
from pull_sync.config import load_config as load_sidecar_config

Reader = Callable[[Path, str], None]
"""Writes the text where its reader looks, reads it, and lets the reader's error out."""


def _exporter(tmp_path: Path, text: str) -> None:
    path = tmp_path / "printer-exporter.yml"
    path.write_text(text)
    load_config(path)


def _web(tmp_path: Path, text: str) -> None:
    path = tmp_path / "web.yml"
    path.write_text(text)
    load_web_config(path)


def _profiles(tmp_path: Path, text: str) -> None:
    (tmp_path / "_database.yaml").write_text('schema: 1\nversion: "1"\n')
    (tmp_path / "acme.yaml").write_text(text)
    load_directory(tmp_path)


def _sidecar(tmp_path: Path, text: str) -> None:
    path = tmp_path / "pull-sync.yml"
    path.write_text(text)
    load_sidecar_config(path)


def _bundle(tmp_path: Path, text: str) -> None:
    path = tmp_path / "site-a.yaml"
    path.write_text(text)
    now = datetime(2026, 12, 5, tzinfo=UTC)
    build_bundle(load_spec(path), agent="a", version=1, issued_at=now, not_after=now + timedelta(1))


ERRORS = (ConfigError, ProfileError, UsageError)

# Each reader with: a top-level key written twice, and a typo of a real key at `path`.
CASES: dict[str, tuple[Reader, str, str, str]] = {
    "config": (_exporter, "poll: {}\npoll: {}\n", "polll: {}\n", "polll"),
    "web config": (
        _web,
        "http_server_config: {}\nhttp_server_config: {}\n",
        "http_server_confg: {}\n",
        "http_server_confg",
    ),
    "profile database": (
        _profiles,
        "profiles: []\nprofiles: []\n",
        "profiles:\n  - name: acme\n    vendor: Ricoh\n    match: [{manufacturer: Ricoh}]\n"
        "    countres: []\n",
        "acme.yaml: profiles[0].countres",
    ),
    "pull_sync config": (_sidecar, "upload: {}\nupload: {}\n", "uplod: {}\n", "uplod"),
    "archive bundle": (_bundle, "settings: {}\nsettings: {}\n", "setings: {}\n", "setings"),
}


def _message(reader: Reader, tmp_path: Path, text: str) -> str:
    with pytest.raises(ERRORS) as caught:
        reader(tmp_path, text)
    return str(caught.value)


@pytest.mark.parametrize("name", CASES)
def test_a_key_written_twice_is_refused_by_every_reader(name: str, tmp_path: Path) -> None:
    reader, twice, _, _ = CASES[name]
    message = _message(reader, tmp_path, twice)
    assert "line 2, column 1: " in message, message
    assert "duplicate key" in message, message


@pytest.mark.parametrize("name", CASES)
def test_every_reader_suggests_the_key_a_typo_meant(name: str, tmp_path: Path) -> None:
    reader, _, typo, path = CASES[name]
    message = _message(reader, tmp_path, typo)
    assert f"{path}: unknown key (did you mean '" in message, message


def test_a_problem_has_one_shape() -> None:
    assert problem("poll.interval", "must be a duration", "soon") == (
        "poll.interval: must be a duration. Got: 'soon'"
    )
    assert problem("", "must be a mapping", [1]) == "must be a mapping. Got: a list"
    assert problem("targets[0]", "is required") == "targets[0]: is required"
    assert join("poll", "x" * 100).startswith("poll.'xxx")
    assert show("x" * 1000).endswith("...'")
    assert len(show("x" * 1000)) == 60
    assert unknown_key("intervall", ("interval", "timeout")) == (
        "unknown key (did you mean 'interval'?)"
    )
    assert unknown_key(3, ("interval",)) == "unknown key; expected one of interval"


def test_a_syntax_error_names_the_line_and_never_quotes_it() -> None:
    with pytest.raises(DocumentError) as caught:
        parse("targets:\n  - community: s3cret-community\n    bad: [\n", "f.yml")
    assert "line 4, column 1" in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_a_file_that_is_too_large_or_not_utf8_is_refused_before_parsing(tmp_path: Path) -> None:
    big = tmp_path / "big.yml"
    big.write_bytes(b"#" * (4 * 1024 * 1024 + 1))
    with pytest.raises(DocumentError, match="larger than 4 MiB"):
        load(big)
    latin = tmp_path / "latin.yml"
    latin.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(DocumentError, match=r"not UTF-8 text \(byte 9\)"):
        load(latin)
    with pytest.raises(DocumentError, match="cannot read the file"):
        load(tmp_path / "missing.yml")
