"""The key the record's anchors are signed with (Ed25519), kept outside the database.

A key is given as a path to a PEM file, as the PEM text itself, or as the base64 of its 32 raw
bytes (how a secret store hands out a value). The private key signs (the service); the public key
is enough to check (``beredskab record verify``, whoever holds a journal export). ``key_id`` names
a public key in each anchor, so an anchor signed with another key is told apart from a forged one.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = ["Ed25519PrivateKey", "Ed25519PublicKey", "KeyProblem", "create_key_file", "key_id",
           "load_private_key", "load_public_key", "public_pem", "signature_valid"]


class KeyProblem(ValueError):
    """The key cannot be used; the message (Danish) says why, never the key itself."""


def _material(value: str) -> tuple[bytes, str]:
    """(bytes, 'pem' | 'raw') from a path, PEM text or base64."""
    text = value.strip()
    if not text:
        raise KeyProblem("er tom")
    if text.startswith("-----BEGIN"):
        return text.encode("ascii", "replace"), "pem"
    path = Path(text)
    if path.is_file() or text.endswith((".pem", ".key", ".pub")):
        try:
            data = path.read_bytes()
        except OSError:
            raise KeyProblem(f"filen {path} findes ikke eller kan ikke læses") from None
        if data.lstrip().startswith(b"-----BEGIN"):
            return data, "pem"
        text = data.decode("ascii", "replace").strip()
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        if os.sep in text:
            raise KeyProblem(f"filen {path} findes ikke") from None
        raise KeyProblem("er hverken en PEM-fil, PEM-tekst eller base64") from None
    if len(raw) != 32:
        raise KeyProblem(f"skal være 32 bytes i base64 (Ed25519), ikke {len(raw)}")
    return raw, "raw"


def load_private_key(value: str) -> Ed25519PrivateKey:
    data, kind = _material(value)
    if kind == "raw":
        return Ed25519PrivateKey.from_private_bytes(data)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise KeyProblem("er ikke en privat nøgle i PEM (uden adgangskode)") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyProblem("er ikke en Ed25519-nøgle")
    return key


def load_public_key(value: str) -> Ed25519PublicKey:
    """A public key; a private key's PEM is accepted too (its public half is used)."""
    data, kind = _material(value)
    if kind == "raw":
        return Ed25519PublicKey.from_public_bytes(data)
    if b"PRIVATE KEY" in data:
        return load_private_key(value).public_key()
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise KeyProblem("er ikke en offentlig nøgle i PEM") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyProblem("er ikke en Ed25519-nøgle")
    return key


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """The first 16 hex digits of the SHA-256 of the raw public key."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return hashlib.sha256(_raw_public(public)).hexdigest()[:16]


def public_pem(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def signature_valid(key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def create_key_file(path: Path) -> Ed25519PrivateKey:
    """A new private key written to ``path`` (PEM, readable by the owner only), and its public
    half next to it (``<name>.pub``). Never overwrites: an existing file is loaded instead."""
    if path.exists():
        return load_private_key(str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    path.with_suffix(".pub").write_text(public_pem(key), encoding="ascii")
    return key
