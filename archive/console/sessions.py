"""Console sessions and the sign-in lockout, kept in the database. No HTTP here.

    sid, csrf = open_session(engine, "alice", now, client="192.0.2.7")   # after bcrypt said yes
    session = find_session(engine, sid, now, rules)                       # None: sign in again
    close_session(engine, sid)                                            # sign-out

    if is_locked(engine, failure_keys(name, address), now, rules): ...
    record_failure(engine, failure_keys(name, address), now, rules)

Why in the database: the archive keeps nothing in a process between requests,
so several processes behind one PostgreSQL share sessions and lockouts
without sticky sessions.

Sessions. The id is `secrets.token_urlsafe(32)` (256 random bits), sent only
in the cookie; the table keeps its SHA-256, so a copy of the database (a
backup, a stolen dump) opens no session. A session ends when it has been idle
for `Rules.idle`, when it is `Rules.absolute` old, at sign-out, and when its
admin's password changes (the row keeps a fingerprint of the bcrypt hash it
was opened under, compared at every lookup) or the admin is deleted (the
foreign key cascades). Each session has its own CSRF token, put in every form.

Lockout. Each failed sign-in is a row per key it counts against: the user
name typed and the client address, both hashed (a password typed into the
name field never lands in the database). A name with `Rules.name_failures`
failures within `Rules.window` is locked, and so is an address with
`Rules.address_failures`, whether or not the name is an admin's: a locked
unknown name and a locked admin behave alike, so the lockout tells nothing
about which names exist. An attempt refused while locked is not counted, so
a lock lifts at most `Rules.window` after the failure that set it, and a
success clears the name's failures.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import Engine, delete, func, insert, or_, select, update
from sqlalchemy.sql import ColumnElement

from archive import db
from archive.tables import admins, console_sessions, login_failures

SESSION_ID_RE: Final = re.compile(r"[A-Za-z0-9_-]{43}")
"""What `secrets.token_urlsafe(32)` gives; any other cookie value never reaches the db."""


@dataclass(frozen=True, slots=True)
class Rules:
    """How long sessions live and when sign-in locks (docs/archive.md, "Console")."""

    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)
    touch_every: timedelta = timedelta(seconds=60)
    """A session's last use is written at most this often: a page view is not a write."""
    name_failures: int = 5
    address_failures: int = 20
    window: timedelta = timedelta(minutes=15)

    def __post_init__(self) -> None:
        for name in ("idle", "absolute", "window"):
            value: timedelta = getattr(self, name)
            if value <= timedelta(0):
                raise ValueError(f"{name} must be positive, got {value}")
        for name in ("name_failures", "address_failures"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in console session, as a request finds it."""

    admin: str
    csrf: str
    created_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True, slots=True)
class FailureKey:
    kind: str
    """`name` or `address`."""
    sha256: str
    limit: int


def session_digest(session_id: str) -> str | None:
    """The stored form of a session id, or None when it is not one of ours."""
    if not SESSION_ID_RE.fullmatch(session_id):
        return None
    return hashlib.sha256(session_id.encode("ascii")).hexdigest()


def _password_fp(password_bcrypt: str) -> str:
    return hashlib.sha256(password_bcrypt.encode("ascii")).hexdigest()


def open_session(
    engine: Engine, admin: str, now: datetime, rules: Rules, client: str | None = None
) -> tuple[str, str]:
    """A new session for `admin` (whose password was just checked): (session id, CSRF token).

    Also deletes every expired session, so the table holds only live ones."""
    session_id = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    digest = session_digest(session_id)
    assert digest is not None
    with db.write(engine) as conn:
        row = conn.execute(
            select(admins.c.id, admins.c.password_bcrypt).where(admins.c.name == admin)
        ).first()
        if row is None:
            raise LookupError(f"no admin named {admin!r}")
        conn.execute(delete(console_sessions).where(_expired(now, rules)))
        conn.execute(
            insert(console_sessions).values(
                id_sha256=digest,
                admin_id=row[0],
                password_fp=_password_fp(str(row[1])),
                csrf_token=csrf,
                created_at=now,
                last_seen_at=now,
                client=client[:64] if client else None,
            )
        )
    return session_id, csrf


def _expired(now: datetime, rules: Rules) -> ColumnElement[bool]:
    return or_(
        console_sessions.c.last_seen_at <= now - rules.idle,
        console_sessions.c.created_at <= now - rules.absolute,
    )


def find_session(engine: Engine, session_id: str, now: datetime, rules: Rules) -> Session | None:
    """The live session of a cookie value, or None (unknown, expired, or its admin's
    password changed; an ended session's row is deleted). Notes the use, at most once
    per `rules.touch_every`."""
    digest = session_digest(session_id)
    if digest is None:
        return None
    query = (
        select(
            admins.c.name,
            admins.c.password_bcrypt,
            console_sessions.c.password_fp,
            console_sessions.c.csrf_token,
            console_sessions.c.created_at,
            console_sessions.c.last_seen_at,
        )
        .join(admins, admins.c.id == console_sessions.c.admin_id)
        .where(console_sessions.c.id_sha256 == digest)
    )
    with db.read(engine) as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    name, hashed, fingerprint, csrf, created, seen = row
    live = (
        hmac.compare_digest(str(fingerprint), _password_fp(str(hashed)))
        and now - seen < rules.idle
        and now - created < rules.absolute
    )
    if not live:
        close_session(engine, session_id)
        return None
    if now - seen >= rules.touch_every:
        with db.write(engine) as conn:
            conn.execute(
                update(console_sessions)
                .where(console_sessions.c.id_sha256 == digest)
                .values(last_seen_at=now)
            )
        seen = now
    return Session(str(name), str(csrf), created, seen)


def close_session(engine: Engine, session_id: str) -> None:
    """Delete a session (sign-out, or one found expired). Unknown ids are fine."""
    digest = session_digest(session_id)
    if digest is None:
        return
    with db.write(engine) as conn:
        conn.execute(delete(console_sessions).where(console_sessions.c.id_sha256 == digest))


def same_token(a: str, b: str) -> bool:
    """Constant-time comparison of two CSRF tokens (False when either is empty)."""
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())


# --- the lockout ------------------------------------------------------------------------


def failure_keys(name: str, address: str | None, rules: Rules) -> tuple[FailureKey, ...]:
    """The keys a sign-in attempt counts against: the name typed (as typed, so that
    every name is treated alike), and the client address when it is known."""
    keys = [FailureKey("name", _key("name", name[:256]), rules.name_failures)]
    if address:
        keys.append(FailureKey("address", _key("address", address), rules.address_failures))
    return tuple(keys)


def _key(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}\0{value}".encode("utf-8", "replace")).hexdigest()


def is_locked(
    engine: Engine, keys: tuple[FailureKey, ...], now: datetime, rules: Rules
) -> FailureKey | None:
    """The first key that has reached its limit within the window, or None."""
    since = now - rules.window
    with db.read(engine) as conn:
        for key in keys:
            count = conn.execute(
                select(func.count())
                .select_from(login_failures)
                .where(login_failures.c.key_sha256 == key.sha256, login_failures.c.at > since)
            ).scalar_one()
            if int(count) >= key.limit:
                return key
    return None


def record_failure(
    engine: Engine, keys: tuple[FailureKey, ...], now: datetime, rules: Rules
) -> FailureKey | None:
    """Count a failed sign-in against every key; returns the first key it locked (the
    failure that reached the limit), or None. Rows older than the window are deleted,
    so the table stays as small as the attack rate times the window."""
    with db.write(engine) as conn:
        conn.execute(delete(login_failures).where(login_failures.c.at <= now - rules.window))
        conn.execute(
            insert(login_failures),
            [{"kind": key.kind, "key_sha256": key.sha256, "at": now} for key in keys],
        )
    return is_locked(engine, keys, now, rules)


def clear_failures(engine: Engine, key: FailureKey) -> None:
    """Forget a key's failures (its name signed in)."""
    with db.write(engine) as conn:
        conn.execute(delete(login_failures).where(login_failures.c.key_sha256 == key.sha256))


@dataclass(frozen=True, slots=True)
class SignInActivity:
    """What the console shows the dealer about attempts on it."""

    failures: int
    """Failed sign-ins within the window (counted once each, by their name row)."""
    locked_names: int
    locked_addresses: int


def activity(engine: Engine, now: datetime, rules: Rules) -> SignInActivity:
    since = now - rules.window
    recent = login_failures.c.at > since
    per_key = (
        select(login_failures.c.kind, func.count().label("n"))
        .where(recent)
        .group_by(login_failures.c.kind, login_failures.c.key_sha256)
        .subquery()
    )
    with db.read(engine) as conn:
        rows = conn.execute(select(per_key.c.kind, per_key.c.n)).all()
    failures = sum(int(n) for kind, n in rows if kind == "name")
    names = sum(1 for kind, n in rows if kind == "name" and int(n) >= rules.name_failures)
    addresses = sum(1 for kind, n in rows if kind == "address" and int(n) >= rules.address_failures)
    return SignInActivity(failures, names, addresses)
