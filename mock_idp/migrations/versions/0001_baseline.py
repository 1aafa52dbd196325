"""Baseline: mock_idp's schema as it was when migrations began; catches up older databases.

Revision ID: 0001
Revises:
Create Date: 2026-12-02

Written from autogenerate against an empty database, as tables of a frozen ``metadata`` (not
the live models, which move on). A database from before Alembic (tables, no alembic_version)
gets the tables it lacks and the columns and indexes its tables lack, as the hand-written
upgrade in ``init-db`` used to do; every later change is a revision of its own.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

metadata = sa.MetaData()

sa.Table(
    "clients",
    metadata,
    sa.Column("client_id", sa.String(length=100), nullable=False),
    sa.Column("secret_hash", sa.String(length=64), nullable=True),
    sa.Column("name", sa.String(length=200), nullable=False),
    sa.Column("redirect_uris", sa.JSON(), nullable=False),
    sa.Column("scopes", sa.JSON(), nullable=False),
    sa.Column("grant_types", sa.JSON(), nullable=False),
    sa.Column(
        "token_endpoint_auth_method",
        sa.String(length=40),
        server_default="client_secret_basic",
        nullable=False,
    ),
    sa.Column("post_logout_redirect_uris", sa.JSON(), server_default="[]", nullable=False),
    sa.Column("introspects_for", sa.JSON(), server_default="[]", nullable=False),
    sa.Column("created_at", sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint("client_id"),
)

sa.Table(
    "login_failures",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("scope", sa.String(length=10), nullable=False),
    sa.Column("key", sa.String(length=254), nullable=False),
    sa.Column("at", sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_login_failures_at", "at"),
    sa.Index("ix_login_failures_key", "key"),
)

sa.Table(
    "login_locks",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("scope", sa.String(length=10), nullable=False),
    sa.Column("key", sa.String(length=254), nullable=False),
    sa.Column("until", sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_login_locks_key", "key"),
)

sa.Table(
    "outbox_messages",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("to", sa.String(length=254), nullable=False),
    sa.Column("subject", sa.String(length=200), nullable=False),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("created_at", sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_outbox_messages_to", "to"),
)

sa.Table(
    "saml_logouts",
    metadata,
    sa.Column("id", sa.String(length=40), nullable=False),
    sa.Column("session_index", sa.String(length=40), nullable=False),
    sa.Column("initiator_entity_id", sa.String(length=1000), nullable=True),
    sa.Column("initiator_request_id", sa.String(length=200), nullable=True),
    sa.Column("initiator_binding", sa.String(length=10), nullable=True),
    sa.Column("relay_state", sa.String(length=80), nullable=True),
    sa.Column("started_at", sa.Integer(), nullable=False),
    sa.Column("finished_at", sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint("id"),
)

sa.Table(
    "saml_service_providers",
    metadata,
    sa.Column("entity_id", sa.String(length=1000), nullable=False),
    sa.Column("name", sa.String(length=200), nullable=False),
    sa.Column("acs_urls", sa.JSON(), nullable=False),
    sa.Column("slo_url", sa.String(length=2000), nullable=True),
    sa.Column("sign_response", sa.Boolean(), nullable=False),
    sa.Column("sign_assertion", sa.Boolean(), nullable=False),
    sa.Column("nameid_format", sa.String(length=20), nullable=False),
    sa.Column("certificate", sa.Text(), nullable=True),
    sa.Column("slo_binding", sa.String(length=10), server_default="redirect", nullable=False),
    sa.Column("want_requests_signed", sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column("exchange_audience", sa.String(length=1000), nullable=True),
    sa.Column("exchange_recipient", sa.String(length=2000), nullable=True),
    sa.PrimaryKeyConstraint("entity_id"),
)

sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.String(length=20), nullable=False),
    sa.Column("email", sa.String(length=254), nullable=False),
    sa.Column("email_verified", sa.Boolean(), nullable=False),
    sa.Column("password_hash", sa.String(length=200), nullable=False),
    sa.Column("given_name", sa.String(length=100), nullable=False),
    sa.Column("family_name", sa.String(length=100), nullable=False),
    sa.Column("company", sa.String(length=200), nullable=True),
    sa.Column("speaker_id", sa.String(length=40), nullable=True),
    sa.Column("talks", sa.JSON(), nullable=False),
    sa.Column("created_at", sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("email"),
)

sa.Table(
    "authorization_codes",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("code_hash", sa.String(length=64), nullable=False),
    sa.Column("client_id", sa.String(length=100), nullable=False),
    sa.Column("user_id", sa.String(length=20), nullable=False),
    sa.Column("redirect_uri", sa.String(length=2000), nullable=False),
    sa.Column("scope", sa.String(length=500), nullable=False),
    sa.Column("nonce", sa.String(length=500), nullable=True),
    sa.Column("code_challenge", sa.String(length=128), nullable=False),
    sa.Column("auth_time", sa.Integer(), nullable=False),
    sa.Column("expires_at", sa.Integer(), nullable=False),
    sa.Column("consumed_at", sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(["client_id"], ["clients.client_id"], ondelete="CASCADE"),
    sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("code_hash"),
)

sa.Table(
    "email_links",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("token_hash", sa.String(length=64), nullable=False),
    sa.Column("purpose", sa.String(length=20), nullable=False),
    sa.Column("user_id", sa.String(length=20), nullable=False),
    sa.Column("created_at", sa.Integer(), nullable=False),
    sa.Column("expires_at", sa.Integer(), nullable=False),
    sa.Column("used_at", sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("token_hash"),
    sa.Index("ix_email_links_user_id", "user_id"),
)

sa.Table(
    "oidc_grant_families",
    metadata,
    sa.Column("id", sa.String(length=40), nullable=False),
    sa.Column("client_id", sa.String(length=100), nullable=False),
    sa.Column("user_id", sa.String(length=20), nullable=False),
    sa.Column("scope", sa.String(length=500), nullable=False),
    sa.Column("auth_time", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.Integer(), nullable=False),
    sa.Column("expires_at", sa.Integer(), nullable=False),
    sa.Column("revoked_at", sa.Integer(), nullable=True),
    sa.Column("revoked_reason", sa.String(length=40), nullable=True),
    sa.Column("code_hash", sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(["client_id"], ["clients.client_id"], ondelete="CASCADE"),
    sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_oidc_grant_families_code_hash", "code_hash"),
)

sa.Table(
    "saml_logout_legs",
    metadata,
    sa.Column("request_id", sa.String(length=40), nullable=False),
    sa.Column("logout_id", sa.String(length=40), nullable=False),
    sa.Column("position", sa.Integer(), nullable=False),
    sa.Column("sp_entity_id", sa.String(length=1000), nullable=False),
    sa.Column("name_id", sa.String(length=254), nullable=False),
    sa.Column("name_id_format", sa.String(length=200), nullable=False),
    sa.Column("sent_at", sa.Integer(), nullable=True),
    sa.Column("answered_at", sa.Integer(), nullable=True),
    sa.Column("outcome", sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(["logout_id"], ["saml_logouts.id"], ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("request_id"),
    sa.Index("ix_saml_logout_legs_logout_id", "logout_id"),
)

sa.Table(
    "saml_sessions",
    metadata,
    sa.Column("session_index", sa.String(length=40), nullable=False),
    sa.Column("user_id", sa.String(length=20), nullable=False),
    sa.Column("created_at", sa.Integer(), nullable=False),
    sa.Column("ended_at", sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("session_index"),
)

sa.Table(
    "oidc_access_tokens",
    metadata,
    sa.Column("jti", sa.String(length=64), nullable=False),
    sa.Column("client_id", sa.String(length=100), nullable=False),
    sa.Column("family_id", sa.String(length=40), nullable=True),
    sa.Column("expires_at", sa.Integer(), nullable=False),
    sa.Column("revoked_at", sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(["family_id"], ["oidc_grant_families.id"], ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("jti"),
    sa.Index("ix_oidc_access_tokens_family_id", "family_id"),
)

sa.Table(
    "oidc_refresh_tokens",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("token_hash", sa.String(length=64), nullable=False),
    sa.Column("jti", sa.String(length=40), nullable=False),
    sa.Column("family_id", sa.String(length=40), nullable=False),
    sa.Column("issued_at", sa.Integer(), nullable=False),
    sa.Column("expires_at", sa.Integer(), nullable=False),
    sa.Column("used_at", sa.Integer(), nullable=True),
    sa.Column("revoked_at", sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(["family_id"], ["oidc_grant_families.id"], ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("jti"),
    sa.UniqueConstraint("token_hash"),
    sa.Index("ix_oidc_refresh_tokens_family_id", "family_id"),
)

sa.Table(
    "saml_session_participants",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("session_index", sa.String(length=40), nullable=False),
    sa.Column("sp_entity_id", sa.String(length=1000), nullable=False),
    sa.Column("name_id", sa.String(length=254), nullable=False),
    sa.Column("name_id_format", sa.String(length=200), nullable=False),
    sa.Column("signed_in_at", sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(["session_index"], ["saml_sessions.session_index"], ondelete="CASCADE"),
    sa.ForeignKeyConstraint(
        ["sp_entity_id"], ["saml_service_providers.entity_id"], ondelete="CASCADE"
    ),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("session_index", "sp_entity_id"),
    sa.Index("ix_saml_session_participants_session_index", "session_index"),
)


def upgrade() -> None:
    """Create the schema; on a database from before Alembic, add only what it lacks."""
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    existing = [table for table in metadata.sorted_tables if inspector.has_table(table.name)]
    missing = [table for table in metadata.sorted_tables if table not in existing]
    if missing:
        metadata.create_all(bind, tables=missing)
    for table in existing:
        catch_up(bind, inspector, table)


def catch_up(bind: sa.Connection, inspector: sa.Inspector, table: sa.Table) -> None:
    """Add the columns and indexes an older ``table`` lacks (each added one nullable or
    with a server default, so ``ADD COLUMN`` suffices on SQLite and PostgreSQL alike)."""
    present = {column["name"] for column in inspector.get_columns(table.name)}
    added = {column.name for column in table.columns if column.name not in present}
    for column in table.columns:
        if column.name not in added:
            continue
        if not column.nullable and column.server_default is None:
            raise RuntimeError(f"cannot add NOT NULL column {table.name}.{column.name}")
        op.add_column(table.name, column._copy())
    # SQLite cannot add a constraint to a table; the column works without it, as it did before.
    if bind.dialect.name != "sqlite":
        for key in table.foreign_key_constraints:
            if added.intersection(key.column_keys):
                op.create_foreign_key(
                    None,
                    table.name,
                    key.referred_table.name,
                    key.column_keys,
                    [element.column.name for element in key.elements],
                )
    indexes = {index["name"] for index in inspector.get_indexes(table.name)}
    for index in table.indexes:
        if index.name not in indexes:
            columns = [column.name for column in index.columns]
            op.create_index(index.name, table.name, columns, unique=index.unique)


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
