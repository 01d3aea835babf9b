"""Serving the archive: the exporter's hardened uvicorn server, its web config file for TLS.

    config = uvicorn_config(build_app(engine), "0.0.0.0:9270", load_archive_web_config(path))
    WebServer(config).run()

Why the exporter's server (`exporter.web.server`): it already enforces what
issue 7 asked of any server this project runs: a header timeout counted from
accept (TLS handshake included), a request timeout, a connection cap under the
fd limit, and throttled logging of connection trouble. The archive takes it
with limits of its own (`ARCHIVE_LIMITS`): a slow site link may need minutes
to send an 8 MiB batch.

The `--web.config.file` is the exporter-toolkit format the exporter reads
(TLS, client certificates for mTLS, response headers). Its `basic_auth_users`
is refused here: toolkit basic auth guards every route, which would lock
agents (bearer tokens) out; the archive's admins live in its database
(`printer-archive admin add`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from starlette.types import ASGIApp

from archive.errors import UsageError
from exporter.web import WebConfigError, WebConfigFile, WebLimits, WebServer, load_web_config
from exporter.web.security import HeadersMiddleware
from exporter.web.server import GuardedConfig, guarded_config

ARCHIVE_LIMITS: Final = WebLimits(request_timeout=300.0, max_connections=1024)
"""Header timeout, keep-alive, backlog and head size as the exporter's (docs/web.md);
five minutes per request, for an 8 MiB batch over a slow uplink."""

__all__ = ["ARCHIVE_LIMITS", "WebServer", "load_archive_web_config", "uvicorn_config"]


def load_archive_web_config(path: Path | None) -> WebConfigFile:
    """The checked `--web.config.file` (plain HTTP when None); UsageError if unusable."""
    if path is None:
        return WebConfigFile()
    try:
        config = load_web_config(path)
    except WebConfigError as error:
        raise UsageError(f"--web.config.file: {'; '.join(error.problems)}") from None
    if config.basic_auth_users:
        raise UsageError(
            "--web.config.file: basic_auth_users is not used by the archive (it would lock "
            "agents out); add admins with `printer-archive admin add NAME`"
        )
    return config


def uvicorn_config(
    app: ASGIApp,
    listen_address: str,
    web_config: WebConfigFile | None = None,
    limits: WebLimits = ARCHIVE_LIMITS,
) -> GuardedConfig:
    """A guarded uvicorn config for the archive app on `listen_address` (`host:port`)."""
    web = web_config or WebConfigFile()
    try:
        return guarded_config(
            HeadersMiddleware(app, web.http_server_config.headers),
            listen_address,
            web,
            limits,
            graceful_shutdown=10,
        )
    except ValueError as error:
        raise UsageError(f"--web.listen-address: {error}") from None
