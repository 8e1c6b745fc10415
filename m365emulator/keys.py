"""RSA signing keys and their public JSON Web Keys, as Entra ID and the Bot Framework publish them."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


@dataclass(frozen=True)
class SigningKey:
    """A private RSA key with its key id and a self-signed certificate (for x5c/x5t)."""

    private_key: rsa.RSAPrivateKey
    kid: str
    certificate_der: bytes

    @classmethod
    def generate(cls, subject: str = "m365emulator") -> "SigningKey":
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        numbers = private_key.public_key().public_numbers()
        # RFC 7638 thumbprint as the key id.
        thumbprint_input = json.dumps(
            {"e": _b64url(_int_bytes(numbers.e)), "kty": "RSA", "n": _b64url(_int_bytes(numbers.n))},
            separators=(",", ":"),
            sort_keys=True,
        ).encode()
        kid = _b64url(hashlib.sha256(thumbprint_input).digest())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        now = dt.datetime.now(dt.timezone.utc)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(private_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365))
            .sign(private_key, hashes.SHA256())
        )
        return cls(private_key, kid, certificate.public_bytes(serialization.Encoding.DER))

    @property
    def private_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def public_jwk(self, **extra) -> dict:
        numbers = self.private_key.public_key().public_numbers()
        jwk = {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": _b64url(hashlib.sha1(self.certificate_der).digest()),
            "n": _b64url(_int_bytes(numbers.n)),
            "e": _b64url(_int_bytes(numbers.e)),
            "x5c": [base64.b64encode(self.certificate_der).decode("ascii")],
        }
        jwk.update(extra)
        return jwk


@lru_cache(maxsize=None)
def shared_key(purpose: str) -> SigningKey:
    """One key per purpose per process ("aad", "botframework", "botframework-webchat", "rogue").

    Generating RSA keys is slow, so emulators in one test run share them.
    """
    return SigningKey.generate(subject=f"m365emulator-{purpose}")
