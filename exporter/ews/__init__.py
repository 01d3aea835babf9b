"""The embedded web server (EWS) as a fallback source: a small, data-driven HTTP reader.

    from exporter.ews import EwsClient, read_ews

Which pages to read and how to pick each value is data: the `ews:` section of
a vendor profile (exporter/profiles/SCHEMA.md). `client` (over `transport`) is
the only module here that opens a socket; `documents` is pure parsing and
`fallback` merges what was read into a snapshot, SNMP first. Nothing is ever
sent to a device unless the config enables EWS for it (`Config.ews_allowed`).
"""

from __future__ import annotations

from exporter.ews.client import EwsClient, Fetched, Page
from exporter.ews.documents import Document, parse
from exporter.ews.errors import (
    EwsAuthError,
    EwsClosed,
    EwsConnectError,
    EwsError,
    EwsHttpError,
    EwsParseError,
    EwsPinMismatch,
    EwsRedirectError,
    EwsTimeout,
    EwsTlsError,
    EwsTooLarge,
)
from exporter.ews.fallback import merge, read_ews, wanted
from exporter.ews.transport import Traffic

__all__ = [
    "Document",
    "EwsAuthError",
    "EwsClient",
    "EwsClosed",
    "EwsConnectError",
    "EwsError",
    "EwsHttpError",
    "EwsParseError",
    "EwsPinMismatch",
    "EwsRedirectError",
    "EwsTimeout",
    "EwsTlsError",
    "EwsTooLarge",
    "Fetched",
    "Page",
    "Traffic",
    "merge",
    "parse",
    "read_ews",
    "wanted",
]
