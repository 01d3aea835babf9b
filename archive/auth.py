"""Credentials: agent bearer tokens and admin passwords. Pure; no HTTP, no database.

Agent tokens (docs/archive-api.md): `pa1_` + 32 random bytes in URL-safe
base64 without padding (43 characters). The prefix makes a leaked token easy
to grep for. The archive stores only the token's SHA-256: a random 256-bit
value needs no slow hash, and a lookup by hash is one index probe, so the
stored value is useless to whoever reads the database, and the time a lookup
takes says nothing about how close a guess was.

Admin passwords are bcrypt hashes (cost `BCRYPT_COST`); a password longer than
bcrypt's 72-byte input is refused rather than silently cut. An unknown user
name is checked against a decoy hash of the same cost, so a wrong name costs
as much time as a wrong password.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from typing import Final

import bcrypt

from exporter.secret import Secret

TOKEN_PREFIX: Final = "pa1_"
TOKEN_RE: Final = re.compile(r"pa1_[A-Za-z0-9_-]{43}")
BCRYPT_COST: Final = 12
MAX_PASSWORD_BYTES: Final = 72
MIN_PASSWORD_CHARS: Final = 12
NAME_RE: Final = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
"""Agent and admin names: lower-case letters, digits, `.`, `_`, `-`; at most 64."""


def check_name(name: str, what: str) -> str:
    """`name` if it is a valid agent or admin name, else ValueError naming it."""
    if not NAME_RE.fullmatch(name):
        raise ValueError(
            f"{what} name must be 1-64 of a-z 0-9 . _ - starting with a letter or digit, "
            f"got {name[:80]!r}"
        )
    return name


def new_token() -> Secret:
    """A fresh agent token; shown to the operator once, then only its hash is kept."""
    raw = secrets.token_bytes(32)
    return Secret(TOKEN_PREFIX + base64.urlsafe_b64encode(raw).rstrip(b"=").decode())


def token_digest(token: Secret) -> str | None:
    """The hex SHA-256 the archive stores for `token`, or None when it is not a token
    of our format (so garbage never reaches the database)."""
    value = token.reveal()
    if not TOKEN_RE.fullmatch(value):
        return None
    return hashlib.sha256(value.encode("ascii")).hexdigest()


def same_digest(a: str, b: str) -> bool:
    """Constant-time comparison of two hex digests."""
    return hmac.compare_digest(a.encode(), b.encode())


def bearer_token(header: str | None) -> Secret | None:
    """The token of an `Authorization: Bearer ...` header, or None."""
    if header is None:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return Secret(value.strip())


def basic_credentials(header: str | None) -> tuple[str, Secret] | None:
    """(user, password) of an `Authorization: Basic ...` header, or None."""
    if header is None:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, Secret(password)) if colon else None


def hash_password(password: Secret, cost: int = BCRYPT_COST) -> str:
    """A bcrypt hash for a new admin password; ValueError if it is unusable."""
    value = password.reveal().encode("utf-8")
    if len(password.reveal()) < MIN_PASSWORD_CHARS:
        raise ValueError(f"password must be at least {MIN_PASSWORD_CHARS} characters")
    if len(value) > MAX_PASSWORD_BYTES:
        raise ValueError(f"password must be at most {MAX_PASSWORD_BYTES} bytes (bcrypt's limit)")
    return bcrypt.hashpw(value, bcrypt.gensalt(rounds=cost)).decode("ascii")


def check_password(password: Secret, hashed: str) -> bool:
    """True when `password` matches the bcrypt `hashed`. Slow on purpose (~0.2 s)."""
    value = password.reveal().encode("utf-8")
    if len(value) > MAX_PASSWORD_BYTES:
        return False
    try:
        return bcrypt.checkpw(value, hashed.encode("ascii"))
    except ValueError:
        return False


def decoy_hash(cost: int = BCRYPT_COST) -> str:
    """A hash of a random password, checked when the user name is unknown."""
    return bcrypt.hashpw(secrets.token_bytes(16), bcrypt.gensalt(rounds=cost)).decode("ascii")
