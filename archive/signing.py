"""Ed25519 signing of config bundles: key files, key ids, and the signed envelope.

The signing key lives with the operator (`printer-archive keygen`, then
`config publish --key FILE` on the operator's machine); the archive server
stores and serves envelopes and never needs the private key, so a breach of
the server cannot push a config to a site. The signature is over the bundle's
exact bytes (docs/archive-api.md): no canonical-JSON step that two
implementations could do differently.

    key_id = first 16 hex digits of SHA-256(raw 32-byte public key)
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from archive.errors import SigningError, UsageError

PRIVATE_NAME: Final = "archive-signing.key"
PUBLIC_NAME: Final = "archive-signing.pub"
MAX_KEY_FILE: Final = 64 * 1024


@dataclass(frozen=True, slots=True)
class Envelope:
    """What `GET /api/v1/config` serves, before base64."""

    bundle: bytes
    signature: bytes
    key_id: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.bundle).hexdigest()

    @property
    def etag(self) -> str:
        return f'"sha256:{self.sha256}"'

    def to_json(self) -> dict[str, str]:
        return {
            "bundle": base64.b64encode(self.bundle).decode("ascii"),
            "signature": base64.b64encode(self.signature).decode("ascii"),
            "key_id": self.key_id,
        }


def raw_public(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public: Ed25519PublicKey) -> str:
    return hashlib.sha256(raw_public(public)).hexdigest()[:16]


def sign(private: Ed25519PrivateKey, bundle: bytes) -> Envelope:
    return Envelope(bundle, private.sign(bundle), key_id(private.public_key()))


def verify(public: Ed25519PublicKey, envelope: Envelope) -> bool:
    """True when `envelope` is signed by `public`'s key (what an agent checks first)."""
    if envelope.key_id != key_id(public):
        return False
    try:
        public.verify(envelope.signature, envelope.bundle)
    except InvalidSignature:
        return False
    return True


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """An unencrypted PKCS#8 PEM Ed25519 private key (what `keygen` writes)."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_KEY_FILE + 1)
    except OSError as error:
        raise SigningError(f"--key: cannot read {str(path)!r}: {error.strerror}") from None
    if len(data) > MAX_KEY_FILE:
        raise SigningError(f"--key: {str(path)!r} is too large to be a key file")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise SigningError(
            f"--key: {str(path)!r} is not an unencrypted PEM private key ({type(error).__name__})"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningError(f"--key: {str(path)!r} is not an Ed25519 key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A PEM SubjectPublicKeyInfo Ed25519 public key (what `keygen` writes beside it)."""
    try:
        key = serialization.load_pem_public_key(path.read_bytes()[:MAX_KEY_FILE])
    except (OSError, ValueError, UnsupportedAlgorithm) as error:
        raise SigningError(f"cannot read public key {str(path)!r}: {error}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningError(f"{str(path)!r} is not an Ed25519 public key")
    return key


def generate(out_dir: Path) -> tuple[Path, Path, Ed25519PublicKey]:
    """Write a new key pair into `out_dir`: the private key 0600 (created so, never
    widened), the public key 0644. Refuses to overwrite either file."""
    private_path, public_path = out_dir / PRIVATE_NAME, out_dir / PUBLIC_NAME
    for path in (private_path, public_path):
        if path.exists():
            raise UsageError(f"--out: {str(path)!r} exists; refusing to overwrite a key")
    try:
        out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as error:
        raise UsageError(f"--out: cannot create {str(out_dir)!r}: {error.strerror}") from None
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _write_new(private_path, private_pem, 0o600)
    _write_new(public_path, public_pem, 0o644)
    return private_path, public_path, key.public_key()


def _write_new(path: Path, data: bytes, mode: int) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except OSError as error:
        raise UsageError(f"--out: cannot create {str(path)!r}: {error.strerror}") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(path, mode)  # the umask may have narrowed it; never widen past `mode`
