"""Everything that can go wrong reading a printer's embedded web server, as one hierarchy.

    EwsError                  anything below; catch this to cost only the EWS part of a poll
    ├── EwsConnectError       no TCP connection: refused, unreachable, a name that does not resolve
    ├── EwsTimeout            the device's deadline passed (a slow drip ends here too)
    ├── EwsClosed             the device closed or reset the connection mid-exchange
    ├── EwsTlsError           the TLS handshake failed or the certificate is not trusted
    │   └── EwsPinMismatch    the certificate is not the one pinned for this target
    ├── EwsAuthError          401 or 403: no credential, or the wrong one
    ├── EwsRedirectError      a redirect off the host, to another scheme or port, or too many
    ├── EwsHttpError          any other answer that is not a page (4xx, 5xx, an unknown encoding)
    ├── EwsTooLarge           a page past the size limit, counted after decompression
    └── EwsParseError         a page that is not the XML, HTML, JSON or CSV its spec expects

Connection-level errors (connect, timeout, TLS) end the device's read: every
other page would fail the same way. The others cost only their page. Every
message names the device and the page, and never a credential.
"""

from __future__ import annotations


class EwsError(Exception):
    """An EWS exchange or page that gave nothing usable."""


class EwsConnectError(EwsError):
    """The TCP connection to the web server could not be opened."""


class EwsTimeout(EwsError):
    """The device's deadline passed before the page was read."""


class EwsClosed(EwsError):
    """The device closed or reset the connection before the page was complete."""


class EwsTlsError(EwsError):
    """The TLS handshake failed, or the server's certificate is not trusted."""


class EwsPinMismatch(EwsTlsError):
    """The server's certificate is not the one pinned for this target; nothing was sent."""


class EwsAuthError(EwsError):
    """The server refused the request (401, 403)."""


class EwsRedirectError(EwsError):
    """A redirect the rules do not allow: another host, scheme or port, or too many hops."""


class EwsHttpError(EwsError):
    """An answer that is not a page: another status, or an encoding this reader refuses."""


class EwsTooLarge(EwsError):
    """A page larger than the limit, raw or after decompression."""


class EwsParseError(EwsError):
    """A page that does not parse as the format its spec names."""


FATAL: tuple[type[EwsError], ...] = (EwsConnectError, EwsTimeout, EwsTlsError)
"""Errors after which no other page of the device is tried in this poll."""
