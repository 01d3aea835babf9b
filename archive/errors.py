"""The archive's one exception hierarchy. Callers catch a whole category:

    ArchiveError
     ├── InputError              what someone sent or typed is wrong; never our fault
     │    ├── BadRequest         an HTTP request the API refuses (`.status`: 400, 401,
     │    │                      404, 413, 415 or 422), answered `{"error": reason}`
     │    └── UsageError         a CLI argument or input file that cannot be used
     ├── SigningError            a signing key that cannot be read or used
     └── StorageError           the database cannot be reached, or its schema is not ours

Why so few: the HTTP layer needs exactly two answers, "you are wrong" (4xx with
the reason) and "we are down" (503, retry later), and the CLI two exit codes.
Every message is one line that names the key or field and the bad value, and
never quotes a secret (a token, a password, a DSN's password).
"""

from __future__ import annotations


class ArchiveError(Exception):
    """Anything the archive refuses or cannot do, with a one-line reason."""


class InputError(ArchiveError):
    """Input from outside (a request, a command line, a file) that is wrong."""


class BadRequest(InputError):
    """An HTTP request the API refuses; `status` is the 4xx code to answer with."""

    def __init__(self, status: int, reason: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = headers or {}


class UsageError(InputError):
    """A command-line argument or input file that cannot be used (exit status 2)."""


class SigningError(ArchiveError):
    """A signing key file that cannot be read, or is not an Ed25519 key."""


class StorageError(ArchiveError):
    """The database is unreachable, refused us, or is at a schema we do not know."""
