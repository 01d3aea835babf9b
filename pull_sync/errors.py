"""Every error pull_sync raises, in one tree, so a caller can catch a whole category.

    PullSyncError
    ├── ConfigError        the sidecar config cannot be used (also an exporter ConfigError,
    │                      so `--dry-run` reports it like the exporter's own)
    ├── OutboxError        the outbox database cannot be used
    │   └── DiskFull       no space left: the new batch is not queued, nothing queued is lost
    ├── ArchiveError       a request to the archive did not succeed
    │   ├── TransientError worth retrying later: connection, timeout, 408, 425, 429, 5xx
    │   │   └── TlsError   the TLS handshake failed: CA, expiry, name, client certificate
    │   │       └── PinMismatch  the server key is not pinned; closed before any request
    │   ├── AgentRefused   the archive refuses this agent (401, 403, 404, 407): every
    │   │                  request would fail the same way, so batches stay queued
    │   └── BatchRefused   the archive refuses this one request for good (any other 4xx)
    ├── ExporterError      the local exporter did not answer as expected
    ├── BundleRejected     a signed config bundle that must not be applied
    └── ApplyFailed        a good bundle could not be applied; the last good state is back

Why AgentRefused is apart from BatchRefused: a revoked token or a wrong URL makes
every batch fail with a 4xx. Moving each one to the dead-letter table would empty
the outbox of good data for a problem the operator fixes in the config.
"""

from __future__ import annotations

from exporter.config import ConfigError as _ExporterConfigError


class PullSyncError(Exception):
    """The root: anything pull_sync raises on purpose."""


class ConfigError(PullSyncError, _ExporterConfigError):
    """A sidecar config that cannot be used; `.problems` has one `path: message` line each."""


class OutboxError(PullSyncError):
    """The outbox database cannot be opened, read or written."""


class DiskFull(OutboxError):
    """The disk (or the database's page budget) is full: nothing new could be written."""


class ArchiveError(PullSyncError):
    """A request to the archive did not succeed. `status` is the HTTP status, if any."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class TransientError(ArchiveError):
    """Worth retrying later. `retry_after` is the server's Retry-After in seconds, if any."""

    def __init__(
        self, message: str, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, status)
        self.retry_after = retry_after


class TlsError(TransientError):
    """The TLS handshake failed: no request left this process."""


class PinMismatch(TlsError):
    """The server's public key matches no `archive.spki_pins` entry."""


class AgentRefused(ArchiveError):
    """The archive refuses this agent, not one request: fix the token or the URL."""


class BatchRefused(ArchiveError):
    """The archive refused this request for good; sending it again would fail again."""


class ExporterError(PullSyncError):
    """The local exporter could not be reached or gave an answer we cannot use."""


class BundleRejected(PullSyncError):
    """A config bundle that must not be applied; the message is the one-line reason."""


class ApplyFailed(PullSyncError):
    """A bundle passed every check but could not be applied; the previous state is restored.

    `retry` is true when the cause was passing (the exporter was not answering, a
    write failed), so the same bundle is tried again at the next check-in; false
    when the exporter refused it, so it is not.
    """

    def __init__(self, message: str, *, retry: bool = False) -> None:
        super().__init__(message)
        self.retry = retry
