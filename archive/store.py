"""Everything the archive reads and writes besides snapshots (those are `archive.ingest`):
agents and their tokens, admins, signed config bundles, the announced agent release.

Functions take an `Engine` and run one transaction each, so a caller (a
request handler, a CLI command) never holds a transaction across anything
slow. Database failures leave as `StorageError` (`archive.db`); a name that
is taken or unknown is a `UsageError` naming it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from archive import db
from archive.auth import check_name, new_token, token_digest
from archive.errors import UsageError
from archive.signing import Envelope
from archive.tables import LATEST_AGENT_RELEASE, admins, agents, config_bundles, settings
from archive.times import utcnow
from exporter.secret import Secret

RELEASE_RE: Final = re.compile(r"[0-9][0-9A-Za-z.+_-]{0,63}")
"""An agent release as pip and packagers write it: `1.4.0`, `2.0.0rc1`, `1.4.0+deb12`."""


@dataclass(frozen=True, slots=True)
class AgentRef:
    """The agent a request authenticated as."""

    id: int
    name: str


@dataclass(frozen=True, slots=True)
class AgentInfo:
    """A row of `GET /api/v1/agents` and `printer-archive agent list`."""

    name: str
    created_at: datetime
    last_checkin_at: datetime | None
    last_upload_at: datetime | None
    agent_version: str | None
    config_version: int | None
    config_hash: str | None
    config_status: str | None
    config_error: str | None
    config_reported_at: datetime | None
    published_version: int | None
    snapshots_stored: int


def _checked(name: str, what: str) -> str:
    try:
        return check_name(name, what)
    except ValueError as error:
        raise UsageError(str(error)) from None


# --- agents -----------------------------------------------------------------------------


def add_agent(engine: Engine, name: str) -> Secret:
    """Create agent `name`; returns its token, which is not stored and cannot be shown again."""
    _checked(name, "agent")
    token = new_token()
    digest = token_digest(token)
    assert digest is not None
    try:
        with db.write(engine) as conn:
            conn.execute(insert(agents).values(name=name, token_sha256=digest, created_at=utcnow()))
    except IntegrityError:
        raise UsageError(
            f"agent {name!r} exists; `agent token {name}` gives it a new token"
        ) from None
    return token


def rotate_token(engine: Engine, name: str) -> Secret:
    """A new token for agent `name`; the old one stops working at once."""
    token = new_token()
    digest = token_digest(token)
    with db.write(engine) as conn:
        done = conn.execute(
            update(agents).where(agents.c.name == name).values(token_sha256=digest)
        ).rowcount
    if not done:
        raise UsageError(f"no agent named {name!r}; `agent list` shows them")
    return token


def agent_by_token(engine: Engine, token: Secret) -> AgentRef | None:
    """The agent whose token this is, or None. Looked up by the token's SHA-256, so the
    time taken does not depend on how much of a guess was right."""
    digest = token_digest(token)
    if digest is None:
        return None
    with db.read(engine) as conn:
        row = conn.execute(
            select(agents.c.id, agents.c.name).where(agents.c.token_sha256 == digest)
        ).first()
    return None if row is None else AgentRef(int(row[0]), str(row[1]))


def agent_id(engine: Engine, name: str) -> int:
    with db.read(engine) as conn:
        found = conn.execute(select(agents.c.id).where(agents.c.name == name)).scalar()
    if found is None:
        raise UsageError(f"no agent named {name!r}; `agent list` shows them")
    return int(found)


def record_checkin(engine: Engine, agent: int, version: str | None) -> None:
    values: dict[str, Any] = {"last_checkin_at": utcnow()}
    if version is not None:
        values["agent_version"] = version
    with db.write(engine) as conn:
        conn.execute(update(agents).where(agents.c.id == agent).values(**values))


def record_status(
    engine: Engine,
    agent: int,
    *,
    version: int,
    sha256: str,
    status: str,
    error: str | None,
    agent_version: str | None,
) -> None:
    """Keep the latest confirm-back of an agent (only the latest: it is a state, not a log)."""
    values: dict[str, Any] = {
        "config_version": version,
        "config_hash": sha256,
        "config_status": status,
        "config_error": error,
        "config_reported_at": utcnow(),
    }
    if agent_version is not None:
        values["agent_version"] = agent_version
    with db.write(engine) as conn:
        conn.execute(update(agents).where(agents.c.id == agent).values(**values))


def list_agents(engine: Engine) -> list[AgentInfo]:
    published = (
        select(config_bundles.c.agent_id, func.max(config_bundles.c.version).label("v"))
        .group_by(config_bundles.c.agent_id)
        .subquery()
    )
    query = (
        select(
            agents.c.name,
            agents.c.created_at,
            agents.c.last_checkin_at,
            agents.c.last_upload_at,
            agents.c.agent_version,
            agents.c.config_version,
            agents.c.config_hash,
            agents.c.config_status,
            agents.c.config_error,
            agents.c.config_reported_at,
            published.c.v.label("published_version"),
            agents.c.snapshots_stored,
        )
        .outerjoin(published, published.c.agent_id == agents.c.id)
        .order_by(agents.c.name)
    )
    with db.read(engine) as conn:
        return [AgentInfo(**dict(row._mapping)) for row in conn.execute(query)]


# --- admins -----------------------------------------------------------------------------


def add_admin(engine: Engine, name: str, password_bcrypt: str, *, replace: bool = False) -> None:
    """Create admin `name` (or, with `replace`, set a new password for it)."""
    _checked(name, "admin")
    with db.write(engine) as conn:
        exists = conn.execute(select(admins.c.id).where(admins.c.name == name)).first()
        if exists is not None and not replace:
            raise UsageError(f"admin {name!r} exists; add --replace to set a new password")
        if exists is not None:
            conn.execute(
                update(admins).where(admins.c.name == name).values(password_bcrypt=password_bcrypt)
            )
        else:
            conn.execute(
                insert(admins).values(
                    name=name, password_bcrypt=password_bcrypt, created_at=utcnow()
                )
            )


def admin_hash(engine: Engine, name: str) -> str | None:
    with db.read(engine) as conn:
        found = conn.execute(select(admins.c.password_bcrypt).where(admins.c.name == name)).scalar()
    return None if found is None else str(found)


def admin_names(engine: Engine) -> list[str]:
    with db.read(engine) as conn:
        return [str(n) for n in conn.execute(select(admins.c.name).order_by(admins.c.name))]


# --- config bundles ---------------------------------------------------------------------


def publish_bundle(
    engine: Engine,
    agent_name: str,
    make: Callable[[int], Envelope],
    version: int | None = None,
) -> tuple[int, Envelope]:
    """Store a new signed bundle for `agent_name`. `make(version)` builds and signs it once
    the version is known: the one given, which must be above the last, or last + 1.

    The unique `(agent, version)` constraint makes two publishers racing on one
    agent fail cleanly instead of storing two bundles of the same version.
    """
    try:
        with db.write(engine) as conn:
            found = conn.execute(select(agents.c.id).where(agents.c.name == agent_name)).scalar()
            if found is None:
                raise UsageError(f"--agent: no agent named {agent_name!r}; `agent list`")
            last = conn.execute(
                select(func.max(config_bundles.c.version)).where(config_bundles.c.agent_id == found)
            ).scalar()
            last = int(last or 0)
            if version is None:
                version = last + 1
            elif version <= last:
                raise UsageError(
                    f"version: {version} is not above {last}, the last published for "
                    f"{agent_name!r}; an agent applies only a newer version"
                )
            envelope = make(version)
            conn.execute(
                insert(config_bundles).values(
                    agent_id=found,
                    version=version,
                    bundle=envelope.bundle,
                    signature=envelope.signature,
                    key_id=envelope.key_id,
                    sha256=envelope.sha256,
                    published_at=utcnow(),
                )
            )
    except IntegrityError:
        raise UsageError(f"version {version} was published for {agent_name!r} meanwhile") from None
    return version, envelope


def latest_bundle(engine: Engine, agent: int) -> Envelope | None:
    """The newest bundle published for an agent (the highest version)."""
    with db.read(engine) as conn:
        row = conn.execute(
            select(config_bundles.c.bundle, config_bundles.c.signature, config_bundles.c.key_id)
            .where(config_bundles.c.agent_id == agent)
            .order_by(config_bundles.c.version.desc())
            .limit(1)
        ).first()
    return None if row is None else Envelope(bytes(row[0]), bytes(row[1]), str(row[2]))


# --- the announced agent release --------------------------------------------------------


def set_release(engine: Engine, version: str | None) -> None:
    """Announce `version` as the newest agent release (None withdraws the announcement)."""
    if version is not None and not RELEASE_RE.fullmatch(version):
        raise UsageError(
            f"VERSION: must start with a digit, then up to 63 of 0-9 A-Z a-z . + _ -, "
            f"got {version[:80]!r}"
        )
    with db.write(engine) as conn:
        conn.execute(settings.delete().where(settings.c.key == LATEST_AGENT_RELEASE))
        if version is not None:
            conn.execute(insert(settings).values(key=LATEST_AGENT_RELEASE, value=version))


def get_release(engine: Engine) -> str | None:
    with db.read(engine) as conn:
        found = conn.execute(
            select(settings.c.value).where(settings.c.key == LATEST_AGENT_RELEASE)
        ).scalar()
    return None if found is None else str(found)
