"""`printer-archive`: the command line of the reference central archive.

Flags follow Prometheus conventions (`--web.listen-address`, `--web.config.file`,
`--log.level`). Every command prints its result on stdout and an error as one
line on stderr: exit 0 on success, 1 when the database or a key failed, 2 for
a usage error. Secrets never go through argv: passwords come from stdin or a
file, and the database URL may come from `PRINTER_ARCHIVE_DB` instead of `--db`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import getpass
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Final, TextIO

from sqlalchemy import Engine

from archive import auth, bundles, db, export, signing, store
from archive.errors import ArchiveError, InputError, UsageError
from archive.store import AgentInfo
from archive.times import format_seconds, parse_bound, utcnow
from exporter.logs import setup_logging
from exporter.secret import Secret
from exporter.table import columns

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DB_ENV: Final = "PRINTER_ARCHIVE_DB"
DEFAULT_LISTEN: Final = ":9270"
DEFAULT_VALIDITY: Final = "7d"

log = logging.getLogger("archive")

_MAIN_EPILOG = """\
examples:
  export PRINTER_ARCHIVE_DB=sqlite:////var/lib/printer-archive/archive.db
  printer-archive serve --web.listen-address :9270 --web.config.file web.yml
  printer-archive agent add site-a          # prints the token for the site's pull_sync
  printer-archive admin add alice < pw.txt  # the password from stdin, never argv
  printer-archive keygen --out ~/archive-keys
  printer-archive config publish --agent site-a --file site-a.yaml \\
      --key ~/archive-keys/archive-signing.key
  printer-archive export --from 2026-12-01 --to 2026-12-31 --format csv > dec.csv

Every command takes --db URL (sqlite:///PATH or postgresql://USER@HOST/DB),
or reads it from $PRINTER_ARCHIVE_DB so a password stays out of the process list.
`printer-archive COMMAND --help` teaches each command. Docs: docs/archive.md.
"""

_SERVE_EPILOG = """\
examples:
  printer-archive serve --db sqlite:///archive.db
  printer-archive serve --db postgresql://archive@db.example/archive \\
      --web.listen-address 0.0.0.0:9270 --web.config.file web.yml

The schema is migrated first (as `db upgrade`). Then check:
  curl -s localhost:9270/-/ready
Agents upload to /api/v1/snapshots; admins read /api/v1/agents and /api/v1/export.
TLS and mTLS come from --web.config.file (the exporter-toolkit format, docs/web.md).
"""

_AGENT_EPILOG = """\
examples:
  printer-archive agent add site-a --db sqlite:///archive.db
      -> the token, once, as the last line: put it in the site's pull-sync config
  printer-archive agent list --db sqlite:///archive.db
  printer-archive agent token site-a --db ...   # a new token; the old one stops working
"""

_ADMIN_EPILOG = """\
examples:
  printer-archive admin add alice --db sqlite:///archive.db          # asks twice
  printf '%s\\n' "$PW" | printer-archive admin add alice --db ...    # from stdin
  printer-archive admin add alice --password-file /run/secrets/pw --replace

Passwords: at least 12 characters, at most 72 bytes (bcrypt). Never on the command line.
"""

_PUBLISH_EPILOG = """\
examples:
  printer-archive config publish --agent site-a --file site-a.yaml \\
      --key ~/archive-keys/archive-signing.key --db sqlite:///archive.db

site-a.yaml holds what the site should change, for example:
  settings:
    discovery: {ranges: ["192.0.2.0/24"], interval: 1h}
    poll: {interval: 5m}
publish fills schema, agent, version (the last + 1), issued_at and not_after (+7d),
signs the exact JSON bytes with the Ed25519 key and stores the envelope. The key
stays on this machine: the server never needs it. The agent applies the bundle at
its next check-in, and `agent list` shows its answer.
"""

_EXPORT_EPILOG = """\
examples:
  printer-archive export --from 2026-12-01 --to 2026-12-31 --format csv > december.csv
  printer-archive export --from 2026-12-01T00:00:00Z --to 2026-12-08T00:00:00Z --format json

A date is a whole UTC day (--to includes it); a time is taken as written; the
period is [from, to). One row per agent, device, counter and unit: first and last
reading, pages between them, and flags (wrapped, reset, counter_event).
"""


# --- shared arguments -------------------------------------------------------------------


def _db_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="URL",
        default=os.environ.get(DB_ENV),
        help=f"sqlite:///PATH or postgresql://USER@HOST/DB (default: ${DB_ENV})",
    )


def _log_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log.level", dest="log_level", default="info", choices=("debug", "info", "warn", "error")
    )
    parser.add_argument(
        "--log.format", dest="log_format", default="logfmt", choices=("logfmt", "json")
    )


def _engine(args: argparse.Namespace) -> Engine:
    if not args.db:
        raise UsageError(f"--db is required (or set ${DB_ENV})")
    return db.open_engine(args.db)


def _ready_engine(args: argparse.Namespace) -> Engine:
    """An engine on a database at this code's schema (migrated first if needed)."""
    engine = _engine(args)
    db.upgrade(engine)
    return engine


# --- commands ---------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    from archive.app import build_app
    from archive.server import WebServer, load_archive_web_config, uvicorn_config

    web = load_archive_web_config(args.web_config_file)
    engine = _engine(args)
    revision = db.upgrade(engine)
    config = uvicorn_config(build_app(engine), args.web_listen_address, web)
    log.info(
        "printer-archive listening on %s (%s), database %s at schema %s",
        args.web_listen_address,
        "https" if web.tls_server_config else "http",
        db.describe(engine.url),
        revision,
    )
    asyncio.run(WebServer(config).serve())
    engine.dispose()
    return EXIT_OK


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    engine = _engine(args)
    revision = db.upgrade(engine)
    print(f"database {db.describe(engine.url)} is at schema {revision}")
    return EXIT_OK


def cmd_agent_add(args: argparse.Namespace) -> int:
    token = store.add_agent(_ready_engine(args), args.name)
    print(f"agent {args.name} added. Its token is shown this once; the archive keeps only")
    print("its SHA-256. Give it to the site's pull_sync (its token file), then run")
    print("`printer-archive agent list` to see the agent check in. The token:")
    print(token.reveal())
    return EXIT_OK


def cmd_agent_token(args: argparse.Namespace) -> int:
    token = store.rotate_token(_ready_engine(args), args.name)
    print(f"agent {args.name} has a new token; the old one no longer works. The token:")
    print(token.reveal())
    return EXIT_OK


def cmd_agent_list(args: argparse.Namespace) -> int:
    from archive.app import agent_json

    rows = store.list_agents(_ready_engine(args))
    if args.output == "json":
        print(json.dumps({"agents": [agent_json(r) for r in rows]}, indent=2))
        return EXIT_OK
    print(_agent_table(rows))
    return EXIT_OK


def _agent_table(rows: Sequence[AgentInfo]) -> str:
    def when(value: object) -> str:
        return "-" if value is None else format_seconds(value)  # type: ignore[arg-type]

    header = ("NAME", "LAST CHECK-IN", "LAST UPLOAD", "VERSION", "CONFIG", "SNAPSHOTS")
    table = [header]
    for row in rows:
        config = "-"
        if row.config_status is not None:
            config = f"v{row.config_version} {row.config_status}"
        if row.published_version is not None and row.published_version != row.config_version:
            config += f" (v{row.published_version} published)"
        table.append(
            (
                row.name,
                when(row.last_checkin_at),
                when(row.last_upload_at),
                row.agent_version or "-",
                config,
                str(row.snapshots_stored),
            )
        )
    lines = columns(table[0], table[1:]).splitlines()
    failed = [r for r in rows if r.config_status == "failed" and r.config_error]
    lines += [f"{r.name}: config v{r.config_version} failed: {r.config_error}" for r in failed]
    if not rows:
        lines.append("(no agents yet: `printer-archive agent add NAME`)")
    return "\n".join(lines)


def cmd_admin_add(args: argparse.Namespace) -> int:
    password = _read_password(args.password_file, sys.stdin)
    try:
        hashed = auth.hash_password(password, args.bcrypt_cost)
    except ValueError as error:
        raise UsageError(str(error)) from None
    store.add_admin(_ready_engine(args), args.name, hashed, replace=args.replace)
    print(f"admin {args.name} {'updated' if args.replace else 'added'}; sign in with HTTP basic")
    return EXIT_OK


def _read_password(path: Path | None, stdin: TextIO) -> Secret:
    """From a file (its first line), else a terminal prompt (asked twice), else stdin."""
    if path is not None:
        try:
            with path.open(encoding="utf-8") as handle:
                line = handle.readline(4096)
        except (OSError, UnicodeDecodeError) as error:
            raise UsageError(f"--password-file: cannot read {str(path)!r}: {error}") from None
        return Secret(line.rstrip("\r\n"))
    if stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise UsageError("the two passwords differ")
        return Secret(first)
    return Secret(stdin.readline(4096).rstrip("\r\n"))


def cmd_keygen(args: argparse.Namespace) -> int:
    private, public, key = signing.generate(args.out)
    raw = base64.b64encode(signing.raw_public(key)).decode("ascii")
    print(f"private key: {private} (mode 0600; keep it off the archive server)")
    print(f"public key:  {public}")
    print(f"key id:      {signing.key_id(key)}")
    print(f"raw public key (base64), to pin in each site's pull-sync config: {raw}")
    return EXIT_OK


def cmd_config_publish(args: argparse.Namespace) -> int:
    spec = bundles.load_spec(args.file)
    if args.profiles is not None:
        if "profiles" in spec:
            raise UsageError("--profiles: the bundle file has profiles already")
        if not args.profiles_version:
            raise UsageError("--profiles-version is required with --profiles")
        files = bundles.load_profiles(args.profiles)
        spec = {**spec, "profiles": {"version": args.profiles_version, "files": files}}
    key = signing.load_private_key(args.key)
    issued = utcnow()
    not_after = bundles.spec_not_after(spec) or issued + parse_duration(args.valid_for)
    wanted = args.version if args.version is not None else bundles.spec_version(spec)
    spec = {k: v for k, v in spec.items() if k not in ("version", "not_after")}

    def make(version: int) -> signing.Envelope:
        data = bundles.build_bundle(
            spec, agent=args.agent, version=version, issued_at=issued, not_after=not_after
        )
        return signing.sign(key, data)

    version, envelope = store.publish_bundle(_ready_engine(args), args.agent, make, wanted)
    print(
        f"published config version {version} for agent {args.agent}: {len(envelope.bundle)} "
        f"bytes, sha256:{envelope.sha256}, key id {envelope.key_id}, valid until "
        f"{format_seconds(not_after)}"
    )
    print("the agent takes it at its next check-in; `printer-archive agent list` shows its answer")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    try:
        start = parse_bound(args.start, end=False)
        end = parse_bound(args.end, end=True)
    except ValueError as error:
        raise UsageError(f"--from/--to: {error}") from None
    if end <= start:
        raise UsageError(f"--to ({args.end}) must be after --from ({args.start})")
    rows = export.billing_rows(_ready_engine(args), start, end)
    if args.format == "csv":
        sys.stdout.write(export.to_csv(rows, start, end))
    else:
        print(json.dumps(export.to_json(rows, start, end), indent=2))
    return EXIT_OK


def cmd_release_announce(args: argparse.Namespace) -> int:
    store.set_release(_ready_engine(args), args.version)
    print(f"agents now see X-Archive-Latest-Agent: {args.version} on their next request")
    return EXIT_OK


def cmd_release_withdraw(args: argparse.Namespace) -> int:
    store.set_release(_ready_engine(args), None)
    print("no agent release is announced any more")
    return EXIT_OK


def cmd_release_show(args: argparse.Namespace) -> int:
    print(store.get_release(_ready_engine(args)) or "(none announced)")
    return EXIT_OK


_DURATION = re.compile(r"(\d{1,6})([smhd])")


def parse_duration(text: str) -> timedelta:
    """`30m`, `12h`, `7d` -> timedelta; InputError naming the value otherwise."""
    found = _DURATION.fullmatch(text.strip())
    if not found or int(found.group(1)) == 0:
        raise UsageError(f"--valid-for: a duration like 12h or 7d, got {text!r}")
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[found.group(2)]
    return timedelta(**{unit: int(found.group(1))})


# --- the parser -------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="printer-archive",
        description="The reference central archive for printer-exporter sites: ingests "
        "pull_sync uploads, serves signed config bundles, exports meter reads for billing.",
        epilog=_MAIN_EPILOG,
        formatter_class=raw,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(
        parent: argparse._SubParsersAction[argparse.ArgumentParser],
        name: str,
        func: Callable[[argparse.Namespace], int],
        help_text: str,
        epilog: str | None = None,
        database: bool = True,
    ) -> argparse.ArgumentParser:
        sub = parent.add_parser(
            name, help=help_text, description=help_text, epilog=epilog, formatter_class=raw
        )
        sub.set_defaults(func=func)
        _log_args(sub)
        if database:
            _db_arg(sub)
        return sub

    serve = command(commands, "serve", cmd_serve, "serve the archive API", _SERVE_EPILOG)
    serve.add_argument(
        "--web.listen-address",
        dest="web_listen_address",
        default=DEFAULT_LISTEN,
        metavar="HOST:PORT",
        help=f"address to listen on (default {DEFAULT_LISTEN}: every IPv4 interface)",
    )
    serve.add_argument(
        "--web.config.file",
        dest="web_config_file",
        type=Path,
        metavar="FILE",
        help="exporter-toolkit web config: TLS, client certificates (mTLS), headers",
    )

    database = commands.add_parser("db", help="database schema").add_subparsers(
        dest="db_command", metavar="ACTION", required=True
    )
    command(database, "upgrade", cmd_db_upgrade, "migrate the schema to this version's")

    agent = commands.add_parser(
        "agent", help="sites that upload", epilog=_AGENT_EPILOG, formatter_class=raw
    ).add_subparsers(dest="agent_command", metavar="ACTION", required=True)
    add = command(agent, "add", cmd_agent_add, "add an agent; prints its token once", _AGENT_EPILOG)
    add.add_argument("name", metavar="NAME", help="the site's name: a-z 0-9 . _ -")
    token = command(agent, "token", cmd_agent_token, "give an agent a new token", _AGENT_EPILOG)
    token.add_argument("name", metavar="NAME")
    listing = command(agent, "list", cmd_agent_list, "agents and their health", _AGENT_EPILOG)
    listing.add_argument("--output", choices=("table", "json"), default="table")

    admin = commands.add_parser("admin", help="console and admin API accounts").add_subparsers(
        dest="admin_command", metavar="ACTION", required=True
    )
    admin_add = command(
        admin, "add", cmd_admin_add, "add an admin (password from stdin)", _ADMIN_EPILOG
    )
    admin_add.add_argument("name", metavar="NAME")
    admin_add.add_argument(
        "--password-file",
        type=Path,
        metavar="FILE",
        help="read the password from the first line of FILE",
    )
    admin_add.add_argument(
        "--replace", action="store_true", help="set a new password for an existing admin"
    )
    admin_add.add_argument(
        "--bcrypt-cost",
        type=int,
        default=auth.BCRYPT_COST,
        choices=range(4, 16),
        metavar="N",
        help=f"bcrypt cost, 4-15 (default {auth.BCRYPT_COST})",
    )

    config = commands.add_parser("config", help="signed config bundles").add_subparsers(
        dest="config_command", metavar="ACTION", required=True
    )
    publish = command(
        config,
        "publish",
        cmd_config_publish,
        "sign a config bundle and store it for an agent",
        _PUBLISH_EPILOG,
    )
    publish.add_argument("--agent", required=True, metavar="NAME")
    publish.add_argument(
        "--file",
        required=True,
        type=Path,
        metavar="BUNDLE",
        help="YAML or JSON: settings (and optionally profiles)",
    )
    publish.add_argument("--key", required=True, type=Path, metavar="ED25519_PRIVATE_KEY.pem")
    publish.add_argument(
        "--version", type=int, metavar="N", help="the version to publish (default: the last + 1)"
    )
    publish.add_argument(
        "--valid-for",
        default=DEFAULT_VALIDITY,
        metavar="DURATION",
        help=f"not_after = now + this (default {DEFAULT_VALIDITY})",
    )
    publish.add_argument(
        "--profiles",
        type=Path,
        metavar="DIR",
        help="ship the *.yaml vendor profiles of DIR in the bundle",
    )
    publish.add_argument("--profiles-version", metavar="VERSION")

    keygen = command(
        commands, "keygen", cmd_keygen, "write an Ed25519 signing key pair", database=False
    )
    keygen.add_argument("--out", required=True, type=Path, metavar="DIR")

    exporting = command(commands, "export", cmd_export, "meter reads for billing", _EXPORT_EPILOG)
    exporting.add_argument("--from", dest="start", required=True, metavar="DATE")
    exporting.add_argument("--to", dest="end", required=True, metavar="DATE")
    exporting.add_argument("--format", choices=("csv", "json"), default="csv")

    release = commands.add_parser("release", help="the newest agent release").add_subparsers(
        dest="release_command", metavar="ACTION", required=True
    )
    announce = command(
        release,
        "announce",
        cmd_release_announce,
        "announce VERSION to agents (X-Archive-Latest-Agent)",
    )
    announce.add_argument("version", metavar="VERSION")
    command(release, "withdraw", cmd_release_withdraw, "announce no release")
    command(release, "show", cmd_release_show, "print the announced release")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level, args.log_format)
    if args.log_level != "debug":  # Alembic narrates every plugin at info
        logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        code: int = args.func(args)
        return code
    except InputError as error:
        print(f"printer-archive: {error}", file=sys.stderr)
        return EXIT_USAGE
    except ArchiveError as error:
        print(f"printer-archive: {error}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
