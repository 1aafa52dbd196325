"""HTTPS for mock_sf: a local DEV-ONLY CA and a server certificate for 127.0.0.1 signed by it.

Salesforce is HTTPS-only and simple-salesforce always speaks https, so clients get the CA file
(``ca.pem``) by config. ``flask --app mock_sf tls-cert`` writes the files once into the instance
folder (idempotent) and prints their paths; the launcher then serves with
``flask run --cert server.pem --key server-key.pem``.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import click
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.oid import NameOID
from flask import Flask
from flask import current_app
from flask.cli import with_appcontext

HOST = "127.0.0.1"  # always the IP, never localhost: the certificate has an IP SAN only
CA_DAYS = 10 * 365
SERVER_DAYS = 397  # the longest leaf lifetime browsers accept
RENEW_BEFORE = timedelta(days=1)


@dataclass(frozen=True)
class TlsPaths:
    """Where the CA and server files live."""

    ca: Path
    ca_key: Path
    cert: Path
    key: Path


def tls_paths(app: Flask) -> TlsPaths:
    """Configured paths (TLS_CA_PATH, TLS_CA_KEY_PATH, TLS_CERT_PATH, TLS_KEY_PATH) or defaults
    in the instance folder."""
    instance = Path(app.instance_path)
    config = app.config

    def pick(key: str, name: str) -> Path:
        return Path(config.get(key) or instance / name)

    return TlsPaths(
        pick("TLS_CA_PATH", "ca.pem"),
        pick("TLS_CA_KEY_PATH", "ca-key.pem"),
        pick("TLS_CERT_PATH", "server.pem"),
        pick("TLS_KEY_PATH", "server-key.pem"),
    )


def ensure_certificates(paths: TlsPaths, host: str = HOST) -> bool:
    """Create what is missing or expiring (CA first); return True when anything was written."""
    now = datetime.now(UTC)
    written = False
    ca_cert = _load_cert(paths.ca)
    ca_key = _load_key(paths.ca_key)
    if ca_cert is None or ca_key is None or ca_cert.not_valid_after_utc - now < RENEW_BEFORE:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = _ca_certificate(ca_key, now)
        _write_key(paths.ca_key, ca_key)
        _write(paths.ca, ca_cert.public_bytes(serialization.Encoding.PEM))
        written = True
    server_cert = _load_cert(paths.cert)
    if (
        written
        or server_cert is None
        or _load_key(paths.key) is None
        or server_cert.issuer != ca_cert.subject
        or server_cert.not_valid_after_utc - now < RENEW_BEFORE
    ):
        server_key = ec.generate_private_key(ec.SECP256R1())
        server_cert = _server_certificate(server_key, ca_key, ca_cert, host, now)
        _write_key(paths.key, server_key)
        _write(paths.cert, server_cert.public_bytes(serialization.Encoding.PEM))
        written = True
    return written


def server_ssl_context(paths: TlsPaths) -> ssl.SSLContext:
    """A server context for werkzeug's ``make_server(..., ssl_context=...)``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(paths.cert, paths.key)
    return context


@click.command("tls-cert")
@with_appcontext
def tls_cert_command() -> None:
    """Write the local CA and the 127.0.0.1 server certificate (once); print their paths."""
    paths = tls_paths(current_app)  # type: ignore[arg-type]
    written = ensure_certificates(paths)
    click.echo(f"{'created' if written else 'kept'} mock_sf DEV-ONLY TLS files:")
    click.echo(f"ca: {paths.ca}")
    click.echo(f"cert: {paths.cert}")
    click.echo(f"key: {paths.key}")


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Speaker Portal mock_sf"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _ca_certificate(key: ec.EllipticCurvePrivateKey, now: datetime) -> x509.Certificate:
    name = _name(f"mock_sf DEV-ONLY local CA {now:%Y%m%d%H%M%S}")
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def _server_certificate(
    key: ec.EllipticCurvePrivateKey,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    host: str,
    now: datetime,
) -> x509.Certificate:
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(_name(host))
        .issuer_name(ca_cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=SERVER_DAYS))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )


def _load_cert(path: Path) -> x509.Certificate | None:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (FileNotFoundError, ValueError):
        return None


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey | None:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (FileNotFoundError, ValueError):
        return None
    return key if isinstance(key, ec.EllipticCurvePrivateKey) else None


def _write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write atomically (rename), so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write(path, pem, 0o600)
