"""docs/profiles.md names every OID the shipped profiles read, with its source.

The page is written from the YAML by hand; this holds the two together, so a profile
cannot gain an OID that the page (and so its public source) does not mention.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROFILES = sorted(p for p in (ROOT / "exporter" / "profiles").glob("*.yaml") if p.name[0] != "_")
_OID = re.compile(r"\b1\.3\.6\.1(?:\.\d+)+\b")


def oids_read(path: Path) -> set[str]:
    """Every OID in the file's YAML, comments left out (they may cite OIDs not read)."""
    text = "\n".join(line.split("#", 1)[0] for line in path.read_text().splitlines())
    return set(_OID.findall(text))


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.name)
def test_every_oid_a_profile_reads_is_on_the_page(path: Path) -> None:
    page = (ROOT / "docs" / "profiles.md").read_text()
    assert oids_read(path), f"{path.name} reads no OID?"
    assert sorted(o for o in oids_read(path) if o not in page) == []


def test_the_finder_sees_oids_and_skips_comments(tmp_path: Path) -> None:
    sample = tmp_path / "x.yaml"
    sample.write_text("a: {oid: 1.3.6.1.4.1.9.9.1.0}  # 1.3.6.1.4.1.9.9.2.0 is not read\n")
    assert oids_read(sample) == {"1.3.6.1.4.1.9.9.1.0"}
