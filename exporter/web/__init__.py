"""HTTP for the exporter: the Starlette app, its uvicorn config and the web config file.

    from exporter.web import WebServer, WebSettings, build_app, load_web_config, uvicorn_config

    app = build_app(service, WebSettings())
    server = WebServer(uvicorn_config(app, ":9269", load_web_config(path)))
    await server.serve()            # in the exporter's own loop, beside the poller

`service` is anything that fits `WebService` (the running exporter). Both calls take an
optional `WebLimits` (timeouts, connection cap, body cap, reload rate); the defaults are
the documented values. See docs/web.md.
"""

from __future__ import annotations

from exporter.service import ProbeRefused
from exporter.web.app import (
    METRICS_CONTENT_TYPE,
    WebService,
    WebSettings,
    build_app,
    secure_app,
    uvicorn_config,
)
from exporter.web.limits import WebLimits
from exporter.web.security import (
    HttpServerConfig,
    TlsServerConfig,
    WebConfigError,
    WebConfigFile,
    load_web_config,
    parse_web_config,
)
from exporter.web.server import WebServer, guarded_config, split_listen_address

__all__ = [
    "METRICS_CONTENT_TYPE",
    "HttpServerConfig",
    "ProbeRefused",
    "TlsServerConfig",
    "WebConfigError",
    "WebConfigFile",
    "WebLimits",
    "WebServer",
    "WebService",
    "WebSettings",
    "build_app",
    "guarded_config",
    "load_web_config",
    "parse_web_config",
    "secure_app",
    "split_listen_address",
    "uvicorn_config",
]
