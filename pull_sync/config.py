"""The sidecar's YAML config, checked into frozen dataclasses.

    config = load_config(Path("/etc/pull-sync.yml"))

Strict like the exporter's, and with the exporter's own reader and checker: an
unknown key is an error with a typo suggestion, every error names its YAML path
and the bad value, all problems are reported at once, and secrets (the archive
token, the exporter's basic-auth password) come from files and print as
`<secret>`. Every default is written once, on its dataclass field below;
docs/pull_sync.md lists the same keys.

Where remote settings go is not configured here: the exporter's own config says
it (`remote.file`, `profiles.override_dir`), and `exporter.config_file` points
at that config. One place for a path means the sidecar and the exporter can
never disagree about it.

Network rules are checked here, when the file is read, not later: see `_values`
for the scalar parsers (sizes, URLs, listen addresses, pins, the signing key).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exporter.config import format_duration
from exporter.config._checker import Checker, Converter
from exporter.config._values import Invalid, parse_int, parse_name, parse_username
from exporter.secret import Secret
from exporter.yamlcheck import DocumentError, kind, parse, read_text, show
from pull_sync._values import DEFAULT_EXPORTER_URL as DEFAULT_EXPORTER_URL
from pull_sync._values import MiB as MiB
from pull_sync._values import (
    duration,
    parse_archive_url,
    parse_loopback_listen,
    parse_loopback_url,
    parse_proxy_url,
    parse_size,
    parse_spki_pin,
    read_public_key,
)
from pull_sync.errors import ConfigError

UPLOAD_INTERVAL_BOUNDS = (1.0, 86400.0)
CHECKIN_INTERVAL_BOUNDS = (1.0, 7 * 86400.0)
"""The smallest intervals are for tests and demos; a bundle may not go below a minute
(see bundle.py), so only the site's own file can ask for a busy schedule."""
MAX_BATCH_SNAPSHOTS = 10_000
"""The archive's limit per batch (docs/archive-api.md)."""


@dataclass(frozen=True, slots=True)
class ArchiveConfig:
    """Where batches go and check-ins come from, and how the connection is secured."""

    url: str
    token: Secret
    ca_file: Path | None = None
    """CA bundle that replaces the system trust store for the archive's certificate."""
    client_cert_file: Path | None = None
    client_key_file: Path | None = None
    spki_pins: tuple[bytes, ...] = ()
    """SHA-256 digests of accepted server SubjectPublicKeyInfo; empty: no pinning."""
    proxy_url: str | None = None
    timeout: float = 30.0

    def endpoint(self, path: str) -> str:
        return self.url.rstrip("/") + path


@dataclass(frozen=True, slots=True)
class ExporterConfig:
    """The local exporter: where to read snapshots, where to reload, which config it runs."""

    url: str = DEFAULT_EXPORTER_URL
    config_file: Path | None = None
    """The exporter's config: remote settings are checked against it before they are written."""
    ca_file: Path | None = None
    """For an exporter served over TLS with its own CA (`--web.config.file`)."""
    username: str | None = None
    password: Secret | None = None
    """Basic auth, when the exporter's web config requires it."""
    timeout: float = 60.0

    def endpoint(self, path: str) -> str:
        return self.url.rstrip("/") + path


@dataclass(frozen=True, slots=True)
class SigningConfig:
    public_key: bytes | None = None
    """The raw 32-byte Ed25519 public key bundles must be signed with; None: no check-in."""


@dataclass(frozen=True, slots=True)
class OutboxConfig:
    path: Path = Path("pull-sync-outbox.db")
    max_bytes: int = 256 * MiB


@dataclass(frozen=True, slots=True)
class UploadConfig:
    interval: float = 900.0
    max_batch_snapshots: int = 1000
    backoff_base: float = 1.0
    backoff_max: float = 900.0


@dataclass(frozen=True, slots=True)
class CheckinConfig:
    interval: float = 3600.0


@dataclass(frozen=True, slots=True)
class WebConfig:
    listen_address: str | None = None
    """`127.0.0.1:PORT` or `[::1]:PORT` for /metrics; None: no listener at all."""


@dataclass(frozen=True, slots=True)
class SidecarConfig:
    """A whole, valid sidecar config. Build it with `load_config` or `parse_config`."""

    agent_name: str
    archive: ArchiveConfig
    exporter: ExporterConfig = field(default_factory=ExporterConfig)
    signing: SigningConfig = field(default_factory=SigningConfig)
    outbox: OutboxConfig = field(default_factory=OutboxConfig)
    upload: UploadConfig = field(default_factory=UploadConfig)
    checkin: CheckinConfig = field(default_factory=CheckinConfig)
    web: WebConfig = field(default_factory=WebConfig)


def load_config(path: Path) -> SidecarConfig:
    """Read and check a sidecar config; relative paths in it are relative to the file."""
    try:
        text = read_text(path)
    except DocumentError as error:
        raise ConfigError(error.problems, error.source) from None
    return parse_config(text, str(path), base_dir=path.parent)


def parse_config(
    text: str, source: str = "<string>", *, base_dir: Path | None = None
) -> SidecarConfig:
    """YAML text -> SidecarConfig, or ConfigError listing every problem."""
    try:
        data = parse(text, source)
    except DocumentError as error:
        raise ConfigError(error.problems, source) from None
    parser = _Parser(base_dir or Path())
    config = parser.config(data)
    if parser.problems or config is None:
        raise ConfigError(parser.scrubbed(), source, total=parser.count)
    return config


# --- the schema --------------------------------------------------------------------------

_SECTIONS = ("agent", "archive", "exporter", "signing", "outbox", "upload", "checkin", "web")
_ARCHIVE_KEYS = (
    "url",
    "token_file",
    "ca_file",
    "client_cert_file",
    "client_key_file",
    "spki_pins",
    "proxy_url",
    "timeout",
)
_EXPORTER_KEYS = ("url", "config_file", "ca_file", "username", "password_file", "timeout")
_UPLOAD: dict[str, Converter] = {
    "interval": duration(*UPLOAD_INTERVAL_BOUNDS),
    "max_batch_snapshots": lambda value: parse_int(value, 1, MAX_BATCH_SNAPSHOTS),
    "backoff_base": duration(0.01, 60),
    "backoff_max": duration(1, 86400),
}


class _Parser(Checker):
    def config(self, data: object) -> SidecarConfig | None:
        if not isinstance(data, dict):
            self.add("", f"the top level must be a mapping of sections. Got: {kind(data)}")
            return None
        raw = self.mapping(data, "", _SECTIONS)
        assert raw is not None
        name = self.agent(raw.get("agent"))
        archive = self.archive(raw.get("archive"))
        kwargs: dict[str, Any] = {}
        if "exporter" in raw:
            kwargs["exporter"] = self.exporter(raw["exporter"])
        if "signing" in raw:
            kwargs["signing"] = self.signing(raw["signing"])
        if "outbox" in raw:
            kwargs["outbox"] = self.outbox(raw["outbox"])
        if "upload" in raw:
            kwargs["upload"] = self.upload(raw["upload"])
        if "checkin" in raw:
            section = self.mapping(raw["checkin"], "checkin", ("interval",)) or {}
            fields = self.fields(
                section, "checkin", {"interval": duration(*CHECKIN_INTERVAL_BOUNDS)}
            )
            kwargs["checkin"] = CheckinConfig(**fields)
        if "web" in raw:
            section = self.mapping(raw["web"], "web", ("listen_address",)) or {}
            fields = self.fields(section, "web", {"listen_address": parse_loopback_listen})
            kwargs["web"] = WebConfig(**fields)
        if name is None or archive is None:
            return None
        return SidecarConfig(agent_name=name, archive=archive, **kwargs)

    def agent(self, value: object) -> str | None:
        raw = self.mapping(value, "agent", ("name",))
        if raw is None:
            return None
        name: str | None = self.required(raw, "agent", "name", parse_name)
        return name

    def archive(self, value: object) -> ArchiveConfig | None:
        if value is None:
            self.add("archive", "is required: archive.url and archive.token_file")
            return None
        raw = self.mapping(value, "archive", _ARCHIVE_KEYS)
        if raw is None:
            return None
        url = self.required(raw, "archive", "url", parse_archive_url)
        if "token_file" not in raw:
            self.add("archive.token_file", "is required: a file holding the agent's token")
        token = self.secret(raw, "archive", "token")
        kwargs: dict[str, Any] = self.fields(
            raw,
            "archive",
            {
                "ca_file": self.path,
                "client_cert_file": self.path,
                "client_key_file": self.path,
                "proxy_url": parse_proxy_url,
                "timeout": duration(1, 600),
            },
        )
        if ("client_cert_file" in raw) != ("client_key_file" in raw):
            self.add(
                "archive.client_key_file", "give client_cert_file and client_key_file together"
            )
        if "spki_pins" in raw:
            pins = []
            for index, item in enumerate(self.items(raw["spki_pins"], "archive.spki_pins")):
                try:
                    pins.append(parse_spki_pin(item))
                except Invalid as error:
                    self.add(f"archive.spki_pins[{index}]", str(error))
            kwargs["spki_pins"] = tuple(pins)
        if isinstance(url, str) and url.startswith("http://"):
            for key in ("ca_file", "client_cert_file", "spki_pins"):
                if key in raw:
                    self.add(f"archive.{key}", "only for an https:// archive.url")
        if url is None or token is None:
            return None
        return ArchiveConfig(url=url, token=Secret(token), **kwargs)

    def exporter(self, value: object) -> ExporterConfig:
        raw = self.mapping(value, "exporter", _EXPORTER_KEYS) or {}
        kwargs: dict[str, Any] = self.fields(
            raw,
            "exporter",
            {
                "url": parse_loopback_url,
                "config_file": self.path,
                "ca_file": self.path,
                "username": parse_username,
                "timeout": duration(1, 600),
            },
        )
        password = self.secret(raw, "exporter", "password")
        if password is not None:
            kwargs["password"] = Secret(password)
        if ("username" in raw) != ("password_file" in raw):
            self.add("exporter.username", "give username and password_file together")
        return ExporterConfig(**kwargs)

    def signing(self, value: object) -> SigningConfig:
        raw = self.mapping(value, "signing", ("public_key_file",)) or {}
        if "public_key_file" not in raw:
            return SigningConfig()
        path = "signing.public_key_file"
        text = self.secret_file(raw["public_key_file"], path)
        if text is None:
            return SigningConfig()
        try:
            return SigningConfig(public_key=read_public_key(text))
        except Invalid as error:
            self.add(path, str(error))
            return SigningConfig()

    def outbox(self, value: object) -> OutboxConfig:
        raw = self.mapping(value, "outbox", ("path", "max_bytes")) or {}
        fields = self.fields(raw, "outbox", {"path": self.path, "max_bytes": parse_size})
        return OutboxConfig(**fields)

    def upload(self, value: object) -> UploadConfig:
        raw = self.mapping(value, "upload", tuple(_UPLOAD)) or {}
        fields = self.fields(raw, "upload", _UPLOAD)
        config = UploadConfig(**fields)
        if config.backoff_base > config.backoff_max:
            self.add("upload.backoff_base", "must not be more than upload.backoff_max")
        return config

    def path(self, value: object) -> Path:
        if not isinstance(value, str) or not value or "\x00" in value:
            raise Invalid(f"must be a file path. Got: {show(value)}")
        return self.base_dir / value


def describe(config: SidecarConfig) -> list[str]:
    """What a config will do, in lines safe to print: never the token or a password."""
    archive, exporter = config.archive, config.exporter
    lines = [
        f"agent: {config.agent_name}",
        f"archive: {archive.url}"
        + (f" via proxy {archive.proxy_url}" if archive.proxy_url else "")
        + (f", {len(archive.spki_pins)} pinned key(s)" if archive.spki_pins else "")
        + (", client certificate" if archive.client_cert_file else ""),
        f"exporter: {exporter.url}",
        f"outbox: {config.outbox.path} (at most {config.outbox.max_bytes / MiB:,.0f} MiB)",
        f"upload: every {_seconds(config.upload.interval)}",
    ]
    if config.signing.public_key is None:
        lines.append("check-in: off (no signing.public_key_file)")
    else:
        lines.append(f"check-in: every {_seconds(config.checkin.interval)}")
        if exporter.config_file is None:
            lines.append("remote settings: refused (no exporter.config_file)")
    lines.append(f"metrics: {config.web.listen_address or 'off'}")
    return lines


def _seconds(seconds: float) -> str:
    return format_duration(seconds)
