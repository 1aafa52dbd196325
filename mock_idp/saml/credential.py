"""The SAML signing credential: a self-signed X.509 certificate for the IdP's RSA key.

The certificate is made once into the instance folder for the key the IdP signs JWTs with, and
loaded once at start. SPs pin it from metadata, so it outlives a JWT key rotation: it is only
remade when the key it certifies is gone from the key file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from flask import Flask
from flask import current_app

from mock_idp.keys import file_lock

CERT_FILE = "saml-signing-cert.pem"
CERT_DAYS = 3650
SUBJECT = "mock-idp DEV-ONLY SAML signing"


@dataclass(frozen=True)
class SigningCredential:
    """Private key and certificate, parsed once."""

    key: rsa.RSAPrivateKey
    cert: x509.Certificate

    @property
    def cert_pem(self) -> str:
        """The certificate as PEM text."""
        return self.cert.public_bytes(serialization.Encoding.PEM).decode("ascii")

    @property
    def cert_base64(self) -> str:
        """The certificate's DER in base64, as ds:X509Certificate carries it."""
        return "".join(self.cert_pem.strip().splitlines()[1:-1])


def self_signed_certificate(key: rsa.RSAPrivateKey, common_name: str = SUBJECT) -> x509.Certificate:
    """A self-signed certificate for `key` (SAML trusts it by pinning, not by chain)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=CERT_DAYS))
        .sign(key, hashes.SHA256())
    )


def _same_key(key: rsa.RSAPrivateKey, cert: x509.Certificate) -> bool:
    public = cert.public_key()
    return (
        isinstance(public, rsa.RSAPublicKey)
        and public.public_numbers() == key.public_key().public_numbers()
    )


def load_or_create(instance_path: Path, keys: list[rsa.RSAPrivateKey]) -> SigningCredential:
    """The certificate in the instance folder with its key, made for the active key if needed.

    `keys` are the IdP's parsed private keys, active first: they are parsed once, by the key store.
    """
    cert_path = instance_path / CERT_FILE
    found = _certifying(cert_path, keys)
    if found is not None:
        return found
    # One maker at a time, so workers starting at once publish (and pin) the same certificate.
    with file_lock(cert_path):
        found = _certifying(cert_path, keys)
        if found is not None:
            return found
        key = keys[0]
        cert = self_signed_certificate(key)
        tmp = cert_path.with_name(f".{cert_path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        os.replace(tmp, cert_path)
        return SigningCredential(key, cert)


def _certifying(cert_path: Path, keys: list[rsa.RSAPrivateKey]) -> SigningCredential | None:
    """The stored certificate with the key it certifies, if it certifies one of `keys`."""
    if not cert_path.exists():
        return None
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = next((key for key in keys if _same_key(key, cert)), None)
    return SigningCredential(key, cert) if key is not None else None


def init_app(app: Flask) -> None:
    """Load (or create) the credential once, from the key store's already parsed keys."""
    app.extensions["mock_idp.saml_credential"] = load_or_create(
        Path(app.instance_path), app.extensions["mock_idp.keys"].private_keys()
    )


def signing_credential() -> SigningCredential:
    """The current app's SAML signing credential."""
    return current_app.extensions["mock_idp.saml_credential"]
