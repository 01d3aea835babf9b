"""Applying a bundle: the exporter's own checks first, atomic files, reload, and restore.

These run the real `exporter.config.check_remote` and the real profile loader
against a real exporter config on disk; only the reload is a fake.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from exporter.config import load_config
from exporter.profiles import PACKAGE_DIR
from pull_sync.apply import Applier, remote_text, write_atomic
from pull_sync.bundle import Bundle, parse_bundle
from pull_sync.errors import ApplyFailed, BundleRejected, ExporterError

SITE = """
credentials:
  - {name: office, version: 2c, community: office-secret}
targets: [192.0.2.1]
remote:
  file: remote.yml
  allowed_cidrs: [192.0.2.0/24]
  allowed_settings: [targets, discovery.ranges, poll.interval]
profiles:
  override_dir: profiles
"""
PREVIOUS = b"# the last good remote file\ntargets:\n- {address: 192.0.2.5}\n"
ZEBRA = (PACKAGE_DIR / "zebra.yaml").read_text()


class Reloads:
    """The exporter's /-/reload: scripted answers, and the remote file as each reload saw it."""

    def __init__(self, site: Path, *answers: tuple[bool, str] | Exception) -> None:
        self.site = site
        self.answers = list(answers)
        self.seen: list[bytes | None] = []

    async def __call__(self) -> tuple[bool, str]:
        remote = self.site.parent / "remote.yml"
        self.seen.append(remote.read_bytes() if remote.exists() else None)
        answer = self.answers.pop(0) if self.answers else (True, "config reloaded")
        if isinstance(answer, Exception):
            raise answer
        return answer


OPERATORS_DATABASE = "schema: 1\nversion: '2000.1.1'\n"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """The operator's exporter config, and the (older, so ignored) profile directory it names:
    the exporter refuses an override_dir that does not exist."""
    path = tmp_path / "printer-exporter.yml"
    path.write_text(SITE)
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "_database.yaml").write_text(OPERATORS_DATABASE)
    return path


def make_bundle(settings: dict[str, Any] | None = None, profiles: Any = None) -> Bundle:
    doc: dict[str, Any] = {
        "schema": "archive-config/1",
        "agent": "site-a",
        "version": 7,
        "issued_at": "2026-12-04T21:00:00Z",
        "not_after": "2026-12-11T21:00:00Z",
        "settings": settings if settings is not None else {},
    }
    if profiles is not None:
        doc["profiles"] = profiles
    data = json.dumps(doc).encode()
    return parse_bundle(
        data, agent="site-a", applied_version=0, now=datetime(2026, 12, 5, tzinfo=UTC)
    )


GOOD = {
    "targets": [{"address": "192.0.2.10", "name": "Reception", "credentials": ["office"]}],
    "discovery": {"ranges": ["192.0.2.64/26"], "exclude": []},
    "poll": {"interval": "5m"},
    "upload": {"interval": "15m"},
}


async def test_a_good_bundle_is_written_and_the_exporter_reloaded(site: Path) -> None:
    reload = Reloads(site)
    summary = await Applier(site, reload).apply(make_bundle(GOOD), None)
    assert summary.startswith("applied remote settings")
    remote = site.parent / "remote.yml"
    assert reload.seen == [remote.read_bytes()]
    config = load_config(site)  # the exporter, loading what was written, agrees
    assert [t.address for t in config.targets] == ["192.0.2.1:161", "192.0.2.10:161"]
    assert [r.text for r in config.discovery.ranges] == ["192.0.2.64/26"]
    assert config.poll.interval == 300.0
    assert not [p for p in site.parent.iterdir() if p.name.endswith(".tmp")]


async def test_nothing_changed_means_no_reload(site: Path) -> None:
    reload = Reloads(site)
    applier = Applier(site, reload)
    await applier.apply(make_bundle(GOOD), None)
    assert await applier.apply(make_bundle(GOOD), None) == "nothing changed for the exporter"
    assert len(reload.seen) == 1


@pytest.mark.parametrize(
    ("settings", "reason"),
    [
        ({"targets": [{"address": "198.51.100.7"}]}, "outside remote.allowed_cidrs"),
        ({"discovery": {"ranges": ["192.0.0.0/16"]}}, "outside remote.allowed_cidrs"),
        ({"discovery": {"interval": "2h"}}, "may not be set remotely"),
        ({"targets": [{"address": "192.0.2.10", "credentials": ["nope"]}]}, "nope"),
        ({"targets": [{"address": "printer.example"}]}, "must be IP addresses"),
        ({"poll": {"interval": "forever"}}, "poll.interval"),
        ({"targets": [{"address": "192.0.2.1"}]}, "192.0.2.1"),  # repeats a local target
    ],
)
async def test_settings_the_exporter_refuses_are_rejected_before_anything_is_written(
    site: Path, settings: dict[str, Any], reason: str
) -> None:
    remote = site.parent / "remote.yml"
    remote.write_bytes(PREVIOUS)
    reload = Reloads(site)
    with pytest.raises(BundleRejected) as caught:
        await Applier(site, reload).apply(make_bundle(settings), None)
    assert reason in str(caught.value)
    assert "office-secret" not in str(caught.value)
    assert remote.read_bytes() == PREVIOUS
    assert reload.seen == []


@pytest.mark.parametrize("previous", [PREVIOUS, None])
async def test_a_refused_reload_restores_the_previous_file_byte_for_byte(
    site: Path, previous: bytes | None
) -> None:
    remote = site.parent / "remote.yml"
    if previous is not None:
        remote.write_bytes(previous)
    reload = Reloads(site, (False, "500: poll.interval: must be at least 1s"))
    with pytest.raises(ApplyFailed) as caught:
        await Applier(site, reload).apply(make_bundle(GOOD), None)
    assert "did not take the new config (500: poll.interval" in str(caught.value)
    assert not caught.value.retry
    assert (remote.read_bytes() if remote.exists() else None) == previous
    assert len(reload.seen) == 2  # the new file, then the previous one again
    assert reload.seen[1] == previous


async def test_an_unreachable_exporter_restores_and_asks_for_a_retry(site: Path) -> None:
    remote = site.parent / "remote.yml"
    remote.write_bytes(PREVIOUS)
    reload = Reloads(site, ExporterError("cannot reach http://127.0.0.1:9269/-/reload"))
    with pytest.raises(ApplyFailed) as caught:
        await Applier(site, reload).apply(make_bundle(GOOD), None)
    assert caught.value.retry
    assert remote.read_bytes() == PREVIOUS


async def test_without_an_exporter_config_remote_settings_are_refused(tmp_path: Path) -> None:
    with pytest.raises(BundleRejected, match=r"exporter\.config_file is not set"):
        await Applier(None, Reloads(tmp_path)).apply(make_bundle(GOOD), None)
    # A bundle with only pull_sync's own intervals needs no exporter config.
    summary = await Applier(None, Reloads(tmp_path)).apply(
        make_bundle({"upload": {"interval": "30m"}}), None
    )
    assert summary == "nothing changed for the exporter"


async def test_a_site_without_remote_file_takes_no_remote_settings(tmp_path: Path) -> None:
    site = tmp_path / "printer-exporter.yml"
    site.write_text("targets: [192.0.2.1]\n")
    with pytest.raises(BundleRejected, match=r"sets no remote\.file"):
        await Applier(site, Reloads(site)).apply(make_bundle(GOOD), None)


async def test_an_empty_bundle_clears_earlier_remote_settings(site: Path) -> None:
    applier = Applier(site, Reloads(site))
    await applier.apply(make_bundle(GOOD), None)
    await applier.apply(make_bundle({}), None)
    assert [t.address for t in load_config(site).targets] == ["192.0.2.1:161"]


def test_remote_text_leaves_out_empty_lists() -> None:
    text = remote_text({"discovery": {"ranges": ["192.0.2.0/24"], "exclude": []}, "targets": []})
    assert "exclude" not in text
    assert "targets" not in text
    assert text.startswith("# Written by pull-sync")


# --- profiles ------------------------------------------------------------------------------


def profiles(version: str = "2099.1.1", text: str = ZEBRA) -> dict[str, Any]:
    return {"version": version, "files": {"zebra.yaml": text}}


async def test_profiles_are_written_validated_and_swapped_in(site: Path) -> None:
    reload = Reloads(site)
    applier = Applier(site, reload)
    summary = await applier.apply(make_bundle(profiles=profiles()), None)
    assert "profiles 2099.1.1" in summary
    link = site.parent / "profiles"
    assert link.is_symlink()
    assert (link / "zebra.yaml").read_text() == ZEBRA
    assert "version: '2099.1.1'" in (link / "_database.yaml").read_text()
    first = link.resolve()
    await applier.apply(make_bundle(profiles=profiles("2099.1.2")), "2099.1.1")
    assert link.resolve() != first
    assert not first.exists()  # the version replaced is cleaned up
    assert len(reload.seen) == 2
    original = site.parent / ".profiles-original"  # the operator's directory, kept aside
    assert (original / "_database.yaml").read_text() == OPERATORS_DATABASE


async def test_same_profiles_version_is_not_rewritten(site: Path) -> None:
    reload = Reloads(site)
    result = await Applier(site, reload).apply(make_bundle(profiles=profiles()), "2099.1.1")
    assert result == "nothing changed for the exporter"
    assert not (site.parent / "profiles").is_symlink()


async def test_invalid_profiles_are_rejected_before_the_swap(site: Path) -> None:
    reload = Reloads(site)
    with pytest.raises(BundleRejected, match="the exporter refuses the profiles"):
        await Applier(site, reload).apply(
            make_bundle(profiles=profiles(text="profiles: [{nonsense: 1}]\n")), None
        )
    assert not (site.parent / "profiles").is_symlink()
    assert sorted(p.name for p in site.parent.iterdir()) == ["printer-exporter.yml", "profiles"]
    assert reload.seen == []


async def test_a_refused_reload_puts_the_operators_profile_directory_back(site: Path) -> None:
    own = site.parent / "profiles"
    reload = Reloads(site, (False, "500: profiles broken"))
    with pytest.raises(ApplyFailed):
        await Applier(site, reload).apply(make_bundle(profiles=profiles()), None)
    assert own.is_dir()
    assert not own.is_symlink()
    assert (own / "_database.yaml").read_text() == OPERATORS_DATABASE
    assert sorted(p.name for p in site.parent.iterdir()) == ["printer-exporter.yml", "profiles"]


async def test_a_refused_reload_points_the_link_back(site: Path) -> None:
    applier = Applier(site, Reloads(site))
    await applier.apply(make_bundle(profiles=profiles("2099.1.1")), None)
    link = site.parent / "profiles"
    before = link.resolve()
    failing = Applier(site, Reloads(site, (False, "500: no")))
    with pytest.raises(ApplyFailed):
        await failing.apply(make_bundle(profiles=profiles("2099.1.2")), "2099.1.1")
    assert link.resolve() == before
    assert "2099.1.1" in (link / "_database.yaml").read_text()
    managed = [p.name for p in site.parent.iterdir() if p.name.startswith(".profiles-")]
    assert sorted(managed) == [".profiles-2099.1.1-" + before.name[-8:], ".profiles-original"]


def test_write_atomic_replaces_whole(tmp_path: Path) -> None:
    path = tmp_path / "f"
    write_atomic(path, b"one")
    write_atomic(path, b"two")
    assert path.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]
