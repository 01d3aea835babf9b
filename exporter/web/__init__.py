"""HTTP for the exporter: the Starlette app, its uvicorn config and the web config file.

    from exporter.web import WebSettings, build_app, load_web_config, uvicorn_config

    app = build_app(service, WebSettings())
    server = uvicorn.Server(uvicorn_config(app, ":9269", load_web_config(path)))
    await server.serve()            # in the exporter's own loop, beside the poller

`service` is anything that fits `WebService` (the running exporter). See docs/web.md.
"""

from __future__ import annotations

from exporter.web.app import (
    METRICS_CONTENT_TYPE,
    ProbeRefused,
    WebService,
    WebSettings,
    build_app,
    secure_app,
    split_listen_address,
    uvicorn_config,
)
from exporter.web.security import (
    HttpServerConfig,
    TlsServerConfig,
    WebConfig,
    WebConfigError,
    load_web_config,
    parse_web_config,
)

__all__ = [
    "METRICS_CONTENT_TYPE",
    "HttpServerConfig",
    "ProbeRefused",
    "TlsServerConfig",
    "WebConfig",
    "WebConfigError",
    "WebService",
    "WebSettings",
    "build_app",
    "load_web_config",
    "parse_web_config",
    "secure_app",
    "split_listen_address",
    "uvicorn_config",
]
