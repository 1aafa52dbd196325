"""The SAML signing credential: a self-signed X.509 certificate for the IdP's RSA key.

The certificate is made once into the instance folder for the key the IdP signs JWTs with, and
loaded once at start. SPs pin it from metadata, so it outlives a JWT key rotation: it is only
remade when the key it certifies is gone from the key file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from flask import Flask
from flask import current_app
from jwt.algorithms import RSAAlgorithm

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


def _rsa_keys(keys_path: Path) -> list[rsa.RSAPrivateKey]:
    """The private RSA keys of the IdP's JWK key file, newest-first as the file lists them."""
    found = []
    for jwk in json.loads(keys_path.read_text()).get("keys", []):
        key = RSAAlgorithm.from_jwk(jwk)
        if isinstance(key, rsa.RSAPrivateKey):
            found.append(key)
    return found


def _same_key(key: rsa.RSAPrivateKey, cert: x509.Certificate) -> bool:
    public = cert.public_key()
    return (
        isinstance(public, rsa.RSAPublicKey)
        and public.public_numbers() == key.public_key().public_numbers()
    )


def load_or_create(instance_path: Path, keys_path: Path, active_kid: str) -> SigningCredential:
    """The certificate in the instance folder with its key, made for the active key if needed."""
    cert_path = instance_path / CERT_FILE
    candidates = _rsa_keys(keys_path)
    if cert_path.exists():
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        for key in candidates:
            if _same_key(key, cert):
                return SigningCredential(key, cert)
    key = _active_key(keys_path, active_kid)
    cert = self_signed_certificate(key)
    tmp = cert_path.with_suffix(".tmp")
    tmp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    os.replace(tmp, cert_path)
    return SigningCredential(key, cert)


def _active_key(keys_path: Path, kid: str) -> rsa.RSAPrivateKey:
    jwks: list[dict[str, Any]] = json.loads(keys_path.read_text()).get("keys", [])
    for jwk in jwks:
        if jwk.get("kid") == kid:
            key = RSAAlgorithm.from_jwk(jwk)
            if isinstance(key, rsa.RSAPrivateKey):
                return key
    raise ValueError(f"signing key {kid!r} not found in {keys_path}")


def init_app(app: Flask, active_kid: str) -> None:
    """Load (or create) the credential once."""
    app.extensions["mock_idp.saml_credential"] = load_or_create(
        Path(app.instance_path), Path(app.config["SIGNING_KEYS_PATH"]), active_kid
    )


def signing_credential() -> SigningCredential:
    """The current app's SAML signing credential."""
    return current_app.extensions["mock_idp.saml_credential"]
