"""pull_sync: the site's sidecar that carries the exporter's snapshots to a central archive.

    pull-sync --config.file pull-sync.yml

It collects `/api/v1/snapshot` from the local exporter every upload interval,
queues each collection in a durable, bounded SQLite outbox, and uploads the
batches oldest first with an idempotency key fixed at queueing, retrying with
backoff until the archive confirms. Every check-in interval it pulls a signed
config bundle, checks it, hands the exporter's part to the exporter through a
separate remote-settings file and a reload, and confirms the outcome back. It
never accepts a connection from outside: the only listener is an optional
/metrics on loopback. See docs/pull_sync.md.

Layout, one job per module: `config` (the YAML; `_values` its scalar parsers),
`outbox` (SQLite queue), `batches` (snapshot list -> gzip bodies), `transport`
(TLS, pin, proxy),
`archive` (the agent API), `exporter_api` (the local exporter), `backoff`,
`upload` (the drain loop), `bundle` (signature and checks), `apply` (files,
reload, restore), `checkin`, `metrics`, `service` (the schedule), `cli`.
Errors: `errors` holds the one tree.
"""

from __future__ import annotations

from exporter import __version__

__all__ = ["__version__"]
