"""When the web config's TLS server certificate expires, and the warning that says so.

Why only a warning: an expired certificate still serves (Prometheus's own
toolkit starts with one too) and a client that checks will refuse it, which
shows in `up`. Refusing to start would take down `/metrics` over plain
monitoring of a date. So `--dry-run` and start-up warn, naming the file and
its notAfter date, from `EXPIRY_WARNING_DAYS` before the end on, and
`printer_exporter_tls_certificate_expiry_timestamp_seconds{file}` lets an
alert rule warn in time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from cryptography import x509

from exporter.web.security import WebConfigFile

EXPIRY_WARNING_DAYS: Final = 30


def certificate_not_after(path: Path) -> float:
    """The notAfter of the first certificate in a PEM file, as unix time.

    Raises ValueError when the file holds no certificate that `cryptography` reads,
    OSError when it cannot be read.
    """
    certificates = x509.load_pem_x509_certificates(path.read_bytes())
    return certificates[0].not_valid_after_utc.timestamp()


def tls_certificate_expiry(web: WebConfigFile | None) -> dict[str, float]:
    """file -> notAfter of the server certificate; empty without TLS.

    The file was loaded by `load_web_config` already; one this module cannot
    parse again is left out (the warnings say so) rather than stopping start-up.
    """
    tls = web.tls_server_config if web is not None else None
    if tls is None:
        return {}
    try:
        return {str(tls.cert_file): certificate_not_after(tls.cert_file)}
    except (OSError, ValueError):
        return {}


def expiry_warnings(
    web: WebConfigFile | None, expiry: Mapping[str, float], now: float
) -> list[str]:
    """One line per certificate that expired or expires within `EXPIRY_WARNING_DAYS`."""
    lines = []
    tls = web.tls_server_config if web is not None else None
    if tls is not None and str(tls.cert_file) not in expiry:
        lines.append(f"TLS certificate {tls.cert_file}: cannot read its notAfter date")
    for file, not_after in sorted(expiry.items()):
        date = datetime.fromtimestamp(not_after, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        days = (not_after - now) / 86400
        if days < 0:
            lines.append(
                f"TLS certificate {file} expired on {date}: clients that verify it will "
                "refuse to connect; serving it anyway"
            )
        elif days < EXPIRY_WARNING_DAYS:
            lines.append(f"TLS certificate {file} expires on {date}, in {days:.0f} days")
    return lines
