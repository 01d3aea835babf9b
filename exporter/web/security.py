"""The `--web.config.file` of the Prometheus exporter-toolkit: TLS, client certificates,
response headers and bcrypt basic auth, for a Starlette app served by uvicorn.

Why this format and not our own flags: operators already write these files for
node_exporter and snmp_exporter, and one file format for every exporter on a
host is one less thing to get wrong. The file is checked strictly, like
exporter-toolkit's `UnmarshalStrict`: an unknown key is an error, every error
names its key and the bad value, and all of a file's problems are reported at
once. Options that uvicorn and Python's `ssl` cannot honour are refused with
the reason (`UNSUPPORTED`), never silently ignored: a config that asks for
client SAN checks must not run without them. See docs/web.md.

Errors. One: `WebConfigError`, a `exporter.config.ConfigError` (so `--dry-run`
reports both files alike), raised by `load_web_config` and `parse_web_config`.

Differences from exporter-toolkit, all documented in docs/web.md:
- the file is read at start-up, not on every request; restart to pick up new
  certificates or users;
- `client_auth_type` maps onto `ssl.CERT_NONE/OPTIONAL/REQUIRED`:
  `RequestClientCert` never asks for a certificate (the app reads none, so
  every client is let in either way), and `RequireAnyClientCert` also verifies
  the certificate against `client_ca_file` (Python cannot require one without
  verifying it);
- `http2` is accepted and has no effect: uvicorn speaks HTTP/1.1 only.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import os
import secrets
import ssl
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal

import anyio.to_thread
import bcrypt
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from exporter.config import ConfigError
from exporter.secret import Secret
from exporter.yamlcheck import MISSING, DocumentError, join, load, problem, show, unknown_key

ClientAuthType = Literal[
    "NoClientCert",
    "RequestClientCert",
    "RequireAnyClientCert",
    "VerifyClientCertIfGiven",
    "RequireAndVerifyClientCert",
]

CLIENT_AUTH: Final[Mapping[str, tuple[ClientAuthType, ssl.VerifyMode]]] = {
    "NoClientCert": ("NoClientCert", ssl.CERT_NONE),
    "RequestClientCert": ("RequestClientCert", ssl.CERT_NONE),
    "RequireAnyClientCert": ("RequireAnyClientCert", ssl.CERT_REQUIRED),
    "RequireClientCert": ("RequireAnyClientCert", ssl.CERT_REQUIRED),  # toolkit's old name
    "VerifyClientCertIfGiven": ("VerifyClientCertIfGiven", ssl.CERT_OPTIONAL),
    "RequireAndVerifyClientCert": ("RequireAndVerifyClientCert", ssl.CERT_REQUIRED),
}
"""exporter-toolkit name -> (canonical name, the `ssl` verify mode uvicorn is given)."""

TLS_VERSIONS: Final[Mapping[str, ssl.TLSVersion]] = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}

GO_CIPHERS: Final[Mapping[str, str | None]] = {
    "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
    # TLS 1.3 suites: Go does not let them be configured either; accepted, no effect.
    "TLS_AES_128_GCM_SHA256": None,
    "TLS_AES_256_GCM_SHA384": None,
    "TLS_CHACHA20_POLY1305_SHA256": None,
}
"""Go's `tls.CipherSuites()` names (what the toolkit accepts) -> OpenSSL names."""

HEADER_VALUES: Final[Mapping[str, tuple[str, ...]]] = {
    "Strict-Transport-Security": (),
    "X-Content-Type-Options": ("nosniff",),
    "X-Frame-Options": ("deny", "sameorigin"),
    "X-XSS-Protection": (),
    "Content-Security-Policy": (),
}
"""The headers exporter-toolkit lets a user set, and their allowed values (empty: any)."""

UNSUPPORTED: Final[Mapping[str, str]] = {
    "tls_server_config.cert": "inline PEM is not supported: put it in a file, use cert_file",
    "tls_server_config.key": "inline PEM is not supported: put it in a file, use key_file",
    "tls_server_config.client_ca": "inline PEM is not supported: use client_ca_file",
    "tls_server_config.client_allowed_sans": "not supported: uvicorn does not hand the "
    "client certificate to the application; issue client certificates from a dedicated CA "
    "and use RequireAndVerifyClientCert",
    "tls_server_config.curve_preferences": "not supported: Python's ssl module cannot set a "
    "list of curves; OpenSSL's defaults (X25519, P-256, P-384, P-521) apply",
    "rate_limit": "not supported: put a reverse proxy in front if you need rate limiting",
}
"""exporter-toolkit options we refuse, with why, so a config never runs weaker than written."""

_TLS_KEYS: Final = (
    "cert_file",
    "key_file",
    "client_auth_type",
    "client_ca_file",
    "min_version",
    "max_version",
    "cipher_suites",
    "prefer_server_cipher_suites",
)
_MAX_HEADER_VALUE: Final = 4096
_BCRYPT_PREFIXES: Final = ("$2a$", "$2b$", "$2y$")


class WebConfigError(ConfigError):
    """A web config file that cannot be used; `.problems` has one `key: message` per problem."""


@dataclass(frozen=True, slots=True)
class TlsServerConfig:
    cert_file: Path
    key_file: Path
    client_auth_type: ClientAuthType = "NoClientCert"
    client_ca_file: Path | None = None
    min_version: str = "TLS12"
    max_version: str = "TLS13"
    cipher_suites: tuple[str, ...] = ()
    """Go names, in preference order; empty means OpenSSL's defaults."""
    prefer_server_cipher_suites: bool = True

    @property
    def cert_reqs(self) -> ssl.VerifyMode:
        return CLIENT_AUTH[self.client_auth_type][1]


@dataclass(frozen=True, slots=True)
class HttpServerConfig:
    http2: bool = True
    """Accepted for compatibility; uvicorn serves HTTP/1.1 only."""
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class WebConfigFile:
    """A checked `--web.config.file`. The default (no file) is plain HTTP without auth.

    Not the config's `web:` section (`exporter.config.WebConfig`: where to listen, what
    to serve); `web.app.WebSettings` is what the app runs with, built from both.
    """

    tls_server_config: TlsServerConfig | None = None
    http_server_config: HttpServerConfig = field(default_factory=HttpServerConfig)
    basic_auth_users: Mapping[str, Secret] = field(default_factory=lambda: MappingProxyType({}))
    """user -> bcrypt hash; the hashes print as `<secret>`."""


# --- loading and checking ------------------------------------------------------


def load_web_config(path: Path) -> WebConfigFile:
    """Read and check a web config file; relative file names are relative to the file."""
    try:
        data = load(path)
    except DocumentError as error:
        raise WebConfigError(error.problems, error.source) from None
    return parse_web_config(data, base_dir=path.parent, source=str(path))


def parse_web_config(data: object, *, base_dir: Path, source: str = "<string>") -> WebConfigFile:
    """Check plain YAML data; raise WebConfigError listing every problem."""
    problems: list[str] = []
    config = _Parser(problems, base_dir).config(data)
    if problems or config is None:
        raise WebConfigError(problems or ["not a web config"], source)
    return config


class _Parser:
    def __init__(self, problems: list[str], base_dir: Path) -> None:
        self.problems = problems
        self.base_dir = base_dir

    def fail(self, key: str, message: str, value: object = MISSING) -> None:
        self.problems.append(problem(key, message, value))

    def mapping(self, value: object, key: str, allowed: tuple[str, ...]) -> dict[str, object]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(key, "must be a mapping", value)
            return {}
        out: dict[str, object] = {}
        for name, item in value.items():
            path = join(key, name)
            if path in UNSUPPORTED:
                self.fail(path, UNSUPPORTED[path])
            elif name not in allowed:
                self.fail(path, unknown_key(name, allowed))
            else:
                out[str(name)] = item
        return out

    def config(self, data: object) -> WebConfigFile | None:
        top = self.mapping(
            data, "", ("tls_server_config", "http_server_config", "basic_auth_users")
        )
        tls = self.tls(top.get("tls_server_config"))
        http = self.http(top.get("http_server_config"))
        users = self.users(top.get("basic_auth_users"))
        if self.problems:
            return None
        return WebConfigFile(tls, http, users)

    def string(self, value: object, key: str) -> str | None:
        if not isinstance(value, str) or not value:
            self.fail(key, "must be a non-empty string", value)
            return None
        return value

    def file(self, value: object, key: str) -> Path | None:
        text = self.string(value, key)
        if text is None:
            return None
        path = Path(text) if os.path.isabs(text) else self.base_dir / text
        if not path.is_file():
            self.fail(key, f"no such file: {text!r}")
            return None
        return path

    def tls(self, value: object) -> TlsServerConfig | None:
        key = "tls_server_config"
        raw = self.mapping(value, key, _TLS_KEYS)
        if not raw:
            return None  # as in the toolkit: an empty section means plain HTTP
        before = len(self.problems)
        cert = self.file(raw.get("cert_file"), f"{key}.cert_file")
        tls_key = self.file(raw.get("key_file"), f"{key}.key_file")
        auth_name = raw.get("client_auth_type", "NoClientCert")
        auth: ClientAuthType = "NoClientCert"
        if isinstance(auth_name, str) and auth_name in CLIENT_AUTH:
            auth = CLIENT_AUTH[auth_name][0]
        else:
            names = ", ".join(n for n in CLIENT_AUTH if n != "RequireClientCert")
            self.fail(f"{key}.client_auth_type", f"must be one of {names}", auth_name)
        ca = None
        if "client_ca_file" in raw:
            ca = self.file(raw["client_ca_file"], f"{key}.client_ca_file")
            if auth in ("NoClientCert", "RequestClientCert"):
                self.fail(
                    f"{key}.client_ca_file",
                    f"is set but client_auth_type {auth} verifies no client certificate",
                )
        elif auth not in ("NoClientCert", "RequestClientCert"):
            self.fail(
                f"{key}.client_ca_file",
                f"is required with client_auth_type {auth}: Python verifies every client "
                "certificate it asks for, against this CA",
            )
        versions = [self.version(raw, f"{key}.{n}", n, d) for n, d in _VERSION_DEFAULTS]
        ciphers = self.ciphers(raw.get("cipher_suites", []), f"{key}.cipher_suites")
        prefer = raw.get("prefer_server_cipher_suites", True)
        if not isinstance(prefer, bool):
            self.fail(f"{key}.prefer_server_cipher_suites", "must be true or false", prefer)
        if versions[0] and versions[1] and TLS_VERSIONS[versions[0]] > TLS_VERSIONS[versions[1]]:
            self.fail(f"{key}.min_version", f"{versions[0]} is above max_version {versions[1]}")
        if len(self.problems) > before or cert is None or tls_key is None:
            return None
        low, high = versions[0] or "TLS12", versions[1] or "TLS13"
        config = TlsServerConfig(cert, tls_key, auth, ca, low, high, ciphers, bool(prefer))
        self.try_context(config)
        return config

    def version(self, raw: dict[str, object], key: str, name: str, default: str) -> str | None:
        value = raw.get(name, default)
        if isinstance(value, str) and value in TLS_VERSIONS:
            return value
        self.fail(key, f"must be one of {', '.join(TLS_VERSIONS)}", value)
        return None

    def ciphers(self, value: object, key: str) -> tuple[str, ...]:
        if not isinstance(value, list):
            self.fail(key, "must be a list of cipher names", value)
            return ()
        for name in value:
            if not isinstance(name, str) or name not in GO_CIPHERS:
                self.fail(key, f"unknown cipher {show(name)}; see docs/web.md for the names")
        return tuple(str(name) for name in value)

    def try_context(self, tls: TlsServerConfig) -> None:
        """Load the files the way the server will, so a bad key fails `--dry-run`, not start-up."""
        try:
            make_ssl_context(tls)
        except (ssl.SSLError, OSError, ValueError) as error:
            self.fail("tls_server_config", f"cannot use the certificate files: {error}")

    def http(self, value: object) -> HttpServerConfig:
        key = "http_server_config"
        raw = self.mapping(value, key, ("http2", "headers"))
        http2 = raw.get("http2", True)
        if not isinstance(http2, bool):
            self.fail(f"{key}.http2", "must be true or false", http2)
        headers: dict[str, str] = {}
        raw_headers = raw.get("headers") or {}
        if not isinstance(raw_headers, dict):
            self.fail(f"{key}.headers", "must be a mapping", raw_headers)
            raw_headers = {}
        for name, header_value in raw_headers.items():
            path = join(f"{key}.headers", name)
            allowed = HEADER_VALUES.get(name) if isinstance(name, str) else None
            if allowed is None:
                self.fail(path, unknown_key(name, tuple(HEADER_VALUES)))
            elif not isinstance(header_value, str) or not _header_ok(header_value):
                self.fail(path, "must be a one-line string", header_value)
            elif allowed and header_value not in allowed:
                self.fail(path, f"must be one of {', '.join(allowed)}", header_value)
            elif header_value:  # blank means unset, as in the toolkit
                headers[str(name)] = header_value
        return HttpServerConfig(http2 is not False, MappingProxyType(headers))

    def users(self, value: object) -> Mapping[str, Secret]:
        key = "basic_auth_users"
        raw = self.mapping(value, key, ()) if not isinstance(value, dict) else value
        users: dict[str, Secret] = {}
        for name, hashed in raw.items():
            path = join(key, name)
            if not isinstance(name, str) or not name or ":" in name:
                self.fail(key, "user names must be non-empty strings without ':'", name)
            elif not isinstance(hashed, str) or not _is_bcrypt(hashed):
                # Never echo the value: a user may have put a plain password here.
                self.fail(path, "must be a bcrypt hash ($2a$, $2b$ or $2y$). Got: <secret>")
            else:
                users[name] = Secret(hashed)
        return MappingProxyType(users)


_VERSION_DEFAULTS: Final = (("min_version", "TLS12"), ("max_version", "TLS13"))


def _header_ok(value: str) -> bool:
    return len(value) <= _MAX_HEADER_VALUE and value.isprintable()


def _is_bcrypt(value: str) -> bool:
    if not value.startswith(_BCRYPT_PREFIXES) or len(value) != 60:
        return False
    cost = value[4:6]
    return cost.isdigit() and 4 <= int(cost) <= 31 and value[6] == "$"


# --- TLS for uvicorn -----------------------------------------------------------


def make_ssl_context(tls: TlsServerConfig) -> ssl.SSLContext:
    """The server context, built as uvicorn's default factory does and then tuned."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls.cert_file, tls.key_file)
    context.verify_mode = tls.cert_reqs
    if tls.client_ca_file is not None and tls.cert_reqs != ssl.CERT_NONE:
        context.load_verify_locations(tls.client_ca_file)
    return _tune(tls, context)


def _tune(tls: TlsServerConfig, context: ssl.SSLContext) -> ssl.SSLContext:
    context.minimum_version = TLS_VERSIONS[tls.min_version]
    context.maximum_version = TLS_VERSIONS[tls.max_version]
    names = [n for n in (GO_CIPHERS[c] for c in tls.cipher_suites) if n is not None]
    if names:
        context.set_ciphers(":".join(names))
    if not tls.prefer_server_cipher_suites:
        context.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    return context


def _factory(
    tls: TlsServerConfig, _config: object, default: Callable[[], ssl.SSLContext]
) -> ssl.SSLContext:
    return _tune(tls, default())


def uvicorn_tls_options(tls: TlsServerConfig | None) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.Config`: files, client verification, and a
    context factory for what uvicorn has no option for (versions, ciphers)."""
    if tls is None:
        return {}
    verify = tls.cert_reqs != ssl.CERT_NONE
    return {
        "ssl_certfile": str(tls.cert_file),
        "ssl_keyfile": str(tls.key_file),
        "ssl_cert_reqs": tls.cert_reqs,
        "ssl_ca_certs": str(tls.client_ca_file) if verify and tls.client_ca_file else None,
        "ssl_context_factory": functools.partial(_factory, tls),
    }


# --- ASGI middleware -----------------------------------------------------------

AUTH_USER_KEY: Final = "printer_exporter.auth_user"
"""Scope key set by BasicAuthMiddleware to the user a request authenticated as."""


def bcrypt_cost(hashed: bytes) -> int:
    """The cost (log2 rounds) of a bcrypt hash: `$2b$12$...` -> 12."""
    return int(hashed[4:6])


def decoy_hash(hashes: Collection[bytes]) -> bytes:
    """A hash of a random password at the highest cost among `hashes` (10 when empty).

    Checked for an unknown user name, so that a wrong name costs as much time as a
    wrong password of the most expensive user: a fixed cost-10 decoy answered in
    60 ms where a cost-12 user took 236 ms, telling which names exist. Users of a
    lower cost still answer faster than an unknown name, so users should share one
    cost (docs/web.md).
    """
    cost = max((bcrypt_cost(h) for h in hashes), default=10)
    return bcrypt.hashpw(secrets.token_urlsafe(16).encode(), bcrypt.gensalt(rounds=cost))


class BasicAuthMiddleware:
    """HTTP basic auth against bcrypt hashes; every route, as in exporter-toolkit.

    Why a cache: bcrypt at cost 10 takes about 70 ms, and Prometheus sends the
    same credentials on every scrape. Like the toolkit, a successful check is
    remembered, keyed by the user and an HMAC (per-process random key) of the
    password and the stored hash, so the cache holds no password and a changed
    hash misses. Failures are not cached: each costs a bcrypt run, serialised
    on one lock and off the event loop, so guessing cannot stall the poller.
    An unknown user is checked against `decoy_hash`, made here at the users'
    highest cost (one bcrypt run at start-up).
    """

    def __init__(self, app: ASGIApp, users: Mapping[str, Secret], cache_size: int = 64) -> None:
        self.app = app
        self._users = {name.encode(): hashed.reveal().encode() for name, hashed in users.items()}
        self.decoy = decoy_hash(list(self._users.values()))
        self._key = os.urandom(32)
        self._cache: OrderedDict[bytes, None] = OrderedDict()
        self._cache_size = cache_size
        self._bcrypt_lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        credentials = _basic_credentials(Headers(scope=scope).get("authorization"))
        if credentials is not None and await self._check(*credentials):
            scope = {**scope, AUTH_USER_KEY: credentials[0].decode("utf-8", "replace")}
            await self.app(scope, receive, send)
            return
        await _send_text(send, 401, b"Unauthorized\n", [(b"www-authenticate", b"Basic")])

    async def _check(self, user: bytes, password: bytes) -> bool:
        hashed = None
        for name, candidate in self._users.items():  # constant time in the name
            if hmac.compare_digest(name, user):
                hashed = candidate
        stored = hashed if hashed is not None else self.decoy
        key = user + b"\0" + hmac.new(self._key, password + b"\0" + stored, hashlib.sha256).digest()
        if hashed is not None and key in self._cache:
            self._cache.move_to_end(key)
            return True
        ok = await anyio.to_thread.run_sync(self._bcrypt, password, stored)
        if not ok or hashed is None:
            return False
        self._cache[key] = None
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return True

    def _bcrypt(self, password: bytes, hashed: bytes) -> bool:
        with self._bcrypt_lock:
            try:
                return bcrypt.checkpw(password, hashed)
            except ValueError:  # bcrypt >= 5 refuses passwords over 72 bytes
                return False


def _basic_credentials(header: str | None) -> tuple[bytes, bytes] | None:
    if header is None:
        return None
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, colon, password = decoded.partition(b":")
    return (user, password) if colon else None


class HeadersMiddleware:
    """Sets the configured response headers on every response, overriding the app's."""

    def __init__(self, app: ASGIApp, headers: Mapping[str, str]) -> None:
        self.app = app
        self._headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        self._names = {name for name, _ in self._headers}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._headers:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() not in self._names
                ]
                message = {**message, "headers": kept + self._headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _send_text(
    send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]]
) -> None:
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
