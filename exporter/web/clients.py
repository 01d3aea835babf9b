"""Who sent a request: the client address a request is judged by, whether it came from
another site, and who may read the snapshot API.

Kept apart from the web config and auth (`security`): these rules read only the
connection and its headers, and the archive's console applies them too.
"""

from __future__ import annotations

import ipaddress
from typing import Final
from urllib.parse import urlsplit

from starlette.datastructures import Headers

# --- who sent a request --------------------------------------------------------------

FORWARDING_HEADERS: Final = ("x-forwarded-for", "forwarded", "x-real-ip")
"""Headers by which a proxy says it forwards for someone else."""


def client_host(peer: str | None, headers: Headers) -> str | None:
    """The address a request is judged by (the snapshot API's loopback rule), or None when
    it cannot be known.

    - No forwarding header (`FORWARDING_HEADERS`): the TCP peer.
    - Forwarding headers from a loopback peer (the only proxies trusted: one on this
      host) with X-Forwarded-For: the last address in it that is not loopback, so a
      client cannot pose as local by sending its own header through a proxy that
      appends; when every hop is loopback, the first.
    - Anything else: None. A proxy that is not on loopback, or that says it forwards
      (Forwarded, X-Real-IP) without X-Forwarded-For, hides its client, and a hidden
      client must never count as local just because the proxy is.
    """
    if not any(name in headers for name in FORWARDING_HEADERS):
        return peer
    if not is_loopback(peer):
        return None
    hops = [
        hop.strip()
        for value in headers.getlist("x-forwarded-for")
        for hop in value.split(",")
        if hop.strip()
    ]
    for hop in reversed(hops):
        if not is_loopback(hop):
            return hop
    return hops[0] if hops else None


_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


def _origin(scheme: str, netloc: str) -> tuple[str, int | None] | None:
    """(host, port) of `netloc`, the scheme's default port when none is written."""
    try:
        parts = urlsplit(f"{scheme}://{netloc}")
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    return parts.hostname.lower(), port if port is not None else _DEFAULT_PORTS.get(scheme)


def cross_origin(headers: Headers, external_url: str | None = None) -> bool:
    """True for a request a browser sent on behalf of another site's page (CSRF).

    Browsers say so in `Sec-Fetch-Site` (anything but same-origin or none), or
    older ones by an `Origin` whose host and port are neither the `Host` the
    request was sent to nor `external_url`'s. `Origin: null` (sandboxed frames,
    files) is cross-origin. A request with neither header (curl, Prometheus
    tooling) is not a browser's, and passes.
    """
    site = headers.get("sec-fetch-site")
    if site is not None:
        return site.strip().lower() not in ("same-origin", "none")
    origin = headers.get("origin")
    if origin is None:
        return False
    scheme, sep, netloc = origin.strip().partition("://")
    asked = _origin(scheme.lower(), netloc) if sep and "/" not in netloc else None
    if asked is None:
        return True
    own = {_origin(scheme.lower(), headers.get("host", ""))}
    if external_url:
        parts = urlsplit(external_url)
        own.add(_origin(parts.scheme.lower(), parts.netloc))
    return asked not in own


# --- who may read /api/v1/snapshot -------------------------------------------------


def is_loopback(host: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and their IPv4-mapped forms; False for names and None."""
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def snapshot_api_allowed(client: str | None, authenticated: bool, loopback_only: bool) -> bool:
    """The snapshot API's rule: anyone when not restricted, else loopback or basic auth.
    `client` is `client_host(...)`: None (unknown) is not loopback."""
    return not loopback_only or authenticated or is_loopback(client)
