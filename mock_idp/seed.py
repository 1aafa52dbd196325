"""`flask --app mock_idp init-db [--demo]`: migrate the schema and seed the demo directory."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from mock_idp import migrations
from mock_idp import users
from mock_idp.models import Client
from mock_idp.models import User
from mock_idp.models import db
from mock_idp.models import sha256_hex
from mock_idp.saml import sp as saml_sp

DEMO_FILE = Path(__file__).with_name("speakers.toml")


def load_demo(path: Path, config: Mapping[str, Any]) -> dict[str, Any]:
    """The demo data with peer URL placeholders filled from config."""
    data = tomllib.loads(path.read_text())
    for client in data.get("clients", []):
        client["redirect_uris"] = [
            uri.replace("{PORTAL_URL}", config["PORTAL_URL"]) for uri in client["redirect_uris"]
        ]
        client["post_logout_redirect_uris"] = [
            uri.replace("{PORTAL_URL}", config["PORTAL_URL"])
            for uri in client.get("post_logout_redirect_uris", [])
        ]
    return data


def seed_demo(data: Mapping[str, Any]) -> None:
    """Insert what is missing, looked up by natural key; existing rows keep their hashes."""
    for entry in data.get("users", []):
        if db.session.get(User, entry["id"]) is None:
            users.create_user(
                user_id=entry["id"],
                email=entry["email"],
                password=entry["password"],
                given_name=entry["given_name"],
                family_name=entry["family_name"],
                company=entry.get("company"),
                speaker_id=entry.get("speaker_id"),
                talks=entry.get("talks", []),
            )
    for entry in data.get("clients", []):
        client = db.session.get(Client, entry["client_id"])
        if client is None:
            client = Client(client_id=entry["client_id"])
            db.session.add(client)
        # Unsalted digests are deterministic, so a re-run writes identical values: no change.
        secret = entry.get("client_secret")  # absent for public clients (method none)
        client.secret_hash = sha256_hex(secret) if secret else None
        client.name = entry["name"]
        client.redirect_uris = list(entry["redirect_uris"])  # follows a changed PORTAL_URL
        client.scopes = list(entry["scopes"])
        client.grant_types = list(entry["grant_types"])
        client.token_endpoint_auth_method = entry.get(
            "token_endpoint_auth_method", "client_secret_basic" if secret else "none"
        )
        client.post_logout_redirect_uris = list(entry.get("post_logout_redirect_uris", []))
        client.introspects_for = list(entry.get("introspects_for", []))
    saml_sp.seed(data.get("saml_sps", []), current_app.config)
    db.session.commit()


@click.command("init-db")
@with_appcontext
@click.option("--demo", is_flag=True, help="Also seed the demo speakers and the portal client.")
def init_db_command(demo: bool) -> None:
    """Migrate the schema to head (idempotent) and optionally seed the demo data (idempotent)."""
    with db.engine.begin() as connection:
        migrations.upgrade(connection)  # a database from before Alembic too (0001)
    if demo:
        seed_demo(load_demo(DEMO_FILE, current_app.config))
