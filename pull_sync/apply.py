"""Apply a checked bundle to the exporter: files written atomically, a reload, and a way back.

    applier = Applier(exporter_config_file, reload=exporter.reload)
    summary = await applier.apply(bundle, current_profiles_version)

Where things go is read from the exporter's own config: `remote.file` for the
settings, `profiles.override_dir` for vendor profiles. The operator's config
file itself is never written.

The sequence, and why:

1. The exporter's part of the bundle becomes YAML text, and
   `exporter.config.check_remote` checks it with the exporter's own rules and
   the site's allow-list before anything is written. The exporter checks again
   when it loads the file (defence in depth).
2. Profiles are written into a fresh directory and loaded with the exporter's
   profile loader there, still before anything the exporter reads changes.
3. The remote file is replaced by write-temp, fsync, rename, fsync-directory:
   after a crash it is the old file or the new one, whole. The profile
   directory is a symlink swapped the same way (a directory cannot be replaced
   by rename; a symlink can, atomically).
4. `POST /-/reload`. If the exporter refuses, the previous remote file (the
   same bytes, or no file) and the previous profile directory are put back and
   the exporter reloaded again, so the files on disk match what it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from exporter.config import ConfigError as ExporterConfigError
from exporter.config import check_remote, parse_config, read_config_text
from exporter.profiles import ProfileError
from exporter.profiles.loader import DATABASE_FILE, load_database
from exporter.profiles.model import SCHEMA_VERSION as PROFILES_SCHEMA
from pull_sync.bundle import Bundle, Profiles
from pull_sync.errors import ApplyFailed, BundleRejected, ExporterError

log = logging.getLogger("pull_sync.apply")

Reload = Callable[[], Awaitable[tuple[bool, str]]]
CheckRemote = Callable[[Path, str], object]
_HEADER = (
    "# Written by pull-sync from a signed config bundle; edits here are overwritten.\n"
    "# The exporter merges it within remote.allowed_cidrs and remote.allowed_settings.\n"
)
_MAX_PROBLEMS_SHOWN = 3


@dataclass(frozen=True, slots=True)
class Places:
    """Where the exporter reads remote settings and profile overrides (None: not set)."""

    remote_file: Path | None
    profiles_dir: Path | None


def locate(exporter_config: Path) -> Places:
    """Read the two paths from the exporter's config (without merging the remote file)."""
    try:
        config = parse_config(
            read_config_text(exporter_config),
            str(exporter_config),
            base_dir=exporter_config.parent,
        )
    except ExporterConfigError as error:
        raise ApplyFailed(f"the exporter config is not valid: {_problems(error)}") from None
    return Places(config.remote.file, config.profiles.override_dir)


def remote_text(settings: Mapping[str, Any]) -> str:
    """The remote file for the exporter part of a bundle. Empty lists are left out: the
    exporter appends remote lists to local ones, so an empty one changes nothing."""
    kept: dict[str, Any] = {}
    for section, value in settings.items():
        if isinstance(value, dict):
            inner = {k: v for k, v in value.items() if v != [] and v is not None}
            if inner:
                kept[section] = inner
        elif value != [] and value is not None:
            kept[section] = value
    body = yaml.safe_dump(kept, sort_keys=False, allow_unicode=True) if kept else "{}\n"
    return _HEADER + body


class Applier:
    def __init__(
        self,
        exporter_config: Path | None,
        reload: Reload,
        *,
        check: CheckRemote = check_remote,
    ) -> None:
        self._config = exporter_config
        self._reload = reload
        self._check = check

    async def apply(self, bundle: Bundle, profiles_version: str | None) -> str:
        """Apply the bundle's exporter settings and profiles; a one-line summary.

        Raise BundleRejected when the content is not allowed (nothing written),
        ApplyFailed when the exporter refused it or could not be asked (the
        previous files are back in place).
        """
        places = self._places(bundle)
        text = None
        if places.remote_file is not None:
            text = remote_text(bundle.exporter_settings)
            assert self._config is not None
            try:
                await asyncio.to_thread(self._check, self._config, text)
            except ExporterConfigError as error:
                raise BundleRejected(f"the exporter refuses it: {_problems(error)}") from None
        staged = None
        profiles = bundle.profiles
        if profiles is not None and profiles.version != profiles_version:
            assert places.profiles_dir is not None
            try:
                staged = await asyncio.to_thread(stage_profiles, places.profiles_dir, profiles)
            except OSError as error:
                raise ApplyFailed(f"cannot write the profiles: {error}", retry=True) from None
        return await self._commit(places, text, staged, profiles)

    def _places(self, bundle: Bundle) -> Places:
        wants_profiles = bundle.profiles is not None
        if self._config is None:
            if bundle.exporter_settings or wants_profiles:
                raise BundleRejected(
                    "exporter.config_file is not set in the pull-sync config, so remote"
                    " settings cannot be checked; none are applied"
                )
            return Places(None, None)
        places = locate(self._config)
        if bundle.exporter_settings and places.remote_file is None:
            raise BundleRejected(
                f"the exporter config {self._config} sets no remote.file: this site"
                " takes no remote settings"
            )
        if wants_profiles and places.profiles_dir is None:
            raise BundleRejected(
                f"the exporter config {self._config} sets no profiles.override_dir:"
                " this site takes no profile updates"
            )
        return places

    async def _commit(
        self, places: Places, text: str | None, staged: Path | None, profiles: Profiles | None
    ) -> str:
        remote = places.remote_file
        before = read_optional(remote) if remote is not None else None
        new = text.encode() if text is not None else None
        if before is None and new == remote_text({}).encode():
            new = None  # no file and no settings are the same thing to the exporter
        changed = remote is not None and new is not None and before != new
        if not changed and staged is None:
            return "nothing changed for the exporter"
        swap = _Swap()
        try:
            if changed and remote is not None and new is not None:
                write_atomic(remote, new)
            if staged is not None:
                assert places.profiles_dir is not None
                swap.previous = swap_profiles(places.profiles_dir, staged)
                swap.done = True
        except OSError as error:
            self._restore(places, before, changed, swap, staged)
            raise ApplyFailed(f"cannot write the new files: {error}", retry=True) from None
        try:
            ok, message = await self._reload()
        except ExporterError as error:
            ok, message, retry = False, str(error), True
        else:
            retry = False
        if ok:
            if swap.previous is not None:
                remove_managed(places.profiles_dir, swap.previous)
            parts = ["remote settings" if changed else ""]
            if staged is not None and profiles is not None:
                parts.append(f"profiles {profiles.version}")
            return f"applied {' and '.join(p for p in parts if p)}; exporter: {message}"
        self._restore(places, before, changed, swap, staged)
        try:
            again, again_message = await self._reload()
        except ExporterError as error:
            again, again_message = False, str(error)
        if not again:
            log.error("reload after restoring the previous config failed too: %s", again_message)
        raise ApplyFailed(
            f"the exporter did not take the new config ({message}); the previous one is restored",
            retry=retry,
        )

    def _restore(
        self,
        places: Places,
        before: bytes | None,
        changed: bool,
        swap: _Swap,
        staged: Path | None,
    ) -> None:
        if changed and places.remote_file is not None:
            restore_file(places.remote_file, before)
        if staged is not None and places.profiles_dir is not None:
            if swap.done:
                unswap_profiles(places.profiles_dir, swap.previous)
            shutil.rmtree(staged, ignore_errors=True)


@dataclass
class _Swap:
    """Whether the profile link was swapped, and what it pointed at before (None: nothing)."""

    done: bool = False
    previous: Path | None = None


# --- files -----------------------------------------------------------------------------


def read_optional(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace `path` with `data` so that a crash leaves the old file or the new one."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)


def restore_file(path: Path, before: bytes | None) -> None:
    """Put back exactly what was there: the same bytes, or no file."""
    try:
        if before is None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            fsync_dir(path.parent)
        else:
            write_atomic(path, before)
    except OSError as error:
        log.error("cannot restore %s: %s", path, error)


def stage_profiles(profiles_dir: Path, profiles: Profiles) -> Path:
    """Write the profile files into a new directory beside `profiles_dir` and load them
    with the exporter's loader. Raise BundleRejected if the exporter would refuse them."""
    parent = profiles_dir.parent
    parent.mkdir(parents=True, exist_ok=True)
    staged = parent / f".{profiles_dir.name}-{profiles.version}-{secrets.token_hex(4)}"
    staged.mkdir(mode=0o755)
    try:
        header = (
            "# Written by pull-sync from a signed config bundle.\n"
            f"schema: {PROFILES_SCHEMA}\nversion: {profiles.version!r}\n"
        )
        files = [(DATABASE_FILE, header), *profiles.files]
        for name, text in files:
            fd = os.open(staged / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                view = memoryview(text.encode("utf-8"))
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(staged)
        try:
            load_database(staged)
        except ProfileError as error:
            shown = "; ".join(error.problems[:_MAX_PROBLEMS_SHOWN])
            raise BundleRejected(f"the exporter refuses the profiles: {shown}") from None
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return staged


def swap_profiles(profiles_dir: Path, staged: Path) -> Path | None:
    """Point `profiles_dir` (a symlink we own) at `staged`; return what it pointed at.

    A real directory found there (the operator's, before pull-sync managed it) is
    moved aside to `.NAME-original` first, and returned as the previous target.
    """
    previous: Path | None = None
    if profiles_dir.is_symlink():
        previous = profiles_dir.parent / os.readlink(profiles_dir)
    elif profiles_dir.exists():
        previous = profiles_dir.parent / f".{profiles_dir.name}-original"
        if previous.exists():
            raise OSError(f"{previous} exists; move it away to let pull-sync manage profiles")
        os.rename(profiles_dir, previous)
    _point(profiles_dir, staged)
    return previous


def unswap_profiles(profiles_dir: Path, previous: Path | None) -> None:
    """Undo `swap_profiles`: the previous target, the operator's own directory, or nothing."""
    try:
        if previous is None or previous.name == f".{profiles_dir.name}-original":
            if profiles_dir.is_symlink():
                profiles_dir.unlink()
            if previous is not None:
                os.rename(previous, profiles_dir)
            fsync_dir(profiles_dir.parent)
        else:
            _point(profiles_dir, previous)
    except OSError as error:
        log.error("cannot restore %s: %s", profiles_dir, error)


def _point(link: Path, target: Path) -> None:
    tmp = link.parent / f".{link.name}.{secrets.token_hex(4)}.link"
    os.symlink(target.name, tmp)
    try:
        os.replace(tmp, link)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(link.parent)


def remove_managed(profiles_dir: Path | None, previous: Path) -> None:
    """Delete a profile directory pull-sync wrote and no longer uses (never the original)."""
    if profiles_dir is None or previous.parent != profiles_dir.parent:
        return
    if previous.name.startswith(f".{profiles_dir.name}-") and not previous.name.endswith(
        "-original"
    ):
        shutil.rmtree(previous, ignore_errors=True)


def _problems(error: ExporterConfigError) -> str:
    shown = "; ".join(error.problems[:_MAX_PROBLEMS_SHOWN])
    more = len(error.problems) - _MAX_PROBLEMS_SHOWN
    return shown + (f"; and {more} more" if more > 0 else "")
