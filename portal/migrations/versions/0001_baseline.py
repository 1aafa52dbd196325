"""Baseline: the portal's schema as it was when migrations began; catches up older databases.

Revision ID: 0001
Revises:
Create Date: 2026-12-02

Written from autogenerate against an empty database, as tables of a frozen ``metadata`` (not
the live models, which move on). A database from before Alembic (tables, no alembic_version)
gets the tables it lacks and keeps its users (a table unchanged since the first release);
its login sessions, drafts and inspector steps are disposable, so such a table whose columns
differ is started afresh (speakers log in again), as ``init-db`` used to do.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

DISPOSABLE_TABLES = ("login_session", "draft", "inspector_step")

metadata = sa.MetaData()

sa.Table(
    "draft",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("owner", sa.String(length=64), nullable=False),
    sa.Column("form", sa.String(length=255), nullable=False),
    sa.Column("fields", sa.JSON(), nullable=False),
    sa.Column("saved_at", sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("owner", "form"),
    sa.Index("ix_draft_owner", "owner"),
)

sa.Table(
    "inspector_step",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("flow_id", sa.String(length=43), nullable=False),
    sa.Column("at", sa.Double(), nullable=False),
    sa.Column("kind", sa.String(length=40), nullable=False),
    sa.Column("sender", sa.String(length=80), nullable=False),
    sa.Column("receiver", sa.String(length=80), nullable=False),
    sa.Column("method", sa.String(length=10), nullable=False),
    sa.Column("url", sa.String(length=2048), nullable=False),
    sa.Column("status", sa.Integer(), nullable=True),
    sa.Column("latency_ms", sa.Double(), nullable=True),
    sa.Column("details", sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_inspector_step_at", "at"),
    sa.Index("ix_inspector_step_flow", "flow_id", "id"),
)

sa.Table(
    "saml_seen_assertion",
    metadata,
    sa.Column("assertion_id", sa.String(length=255), nullable=False),
    sa.Column("expires_at", sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint("assertion_id"),
)

sa.Table(
    "user",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("sub", sa.String(length=255), nullable=False),
    sa.Column("email", sa.String(length=320), nullable=False),
    sa.Column("name", sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("sub"),
)

sa.Table(
    "login_session",
    metadata,
    sa.Column("id", sa.String(length=64), nullable=False),
    sa.Column("user_id", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("protocol", sa.String(length=8), nullable=False),
    sa.Column("idp_access_token", sa.Text(), nullable=True),
    sa.Column("idp_access_token_expires_at", sa.Integer(), nullable=True),
    sa.Column("idp_id_token", sa.Text(), nullable=True),
    sa.Column("idp_refresh_token", sa.Text(), nullable=True),
    sa.Column("idp_access_token_sent", sa.Boolean(), nullable=False),
    sa.Column("saml_assertion", sa.Text(), nullable=True),
    sa.Column("saml_not_on_or_after", sa.Integer(), nullable=True),
    sa.Column("saml_assertion_sent", sa.Boolean(), nullable=False),
    sa.Column("saml_name_id", sa.String(length=255), nullable=True),
    sa.Column("saml_name_id_format", sa.String(length=255), nullable=True),
    sa.Column("saml_session_index", sa.String(length=255), nullable=True),
    sa.Column("renewal_lease", sa.String(length=32), nullable=True),
    sa.Column("renewal_lease_until", sa.Integer(), nullable=True),
    sa.Column("sf_access_token", sa.Text(), nullable=True),
    sa.Column("sf_refresh_token", sa.Text(), nullable=True),
    sa.Column("sf_instance_url", sa.String(length=255), nullable=True),
    sa.Column("sf_identity_url", sa.String(length=255), nullable=True),
    sa.Column("sf_user_id", sa.String(length=18), nullable=True),
    sa.Column("sf_contact_id", sa.String(length=18), nullable=True),
    sa.Column("sf_issued_at", sa.String(length=20), nullable=True),
    sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_login_session_saml_name_id", "saml_name_id"),
    sa.Index("ix_login_session_user_id", "user_id"),
)


def upgrade() -> None:
    """Create the schema; on a database from before Alembic, only the tables it lacks."""
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    for name in DISPOSABLE_TABLES:
        if inspector.has_table(name):
            stored = {column["name"] for column in inspector.get_columns(name)}
            if stored != set(metadata.tables[name].columns.keys()):
                op.drop_table(name)
    metadata.create_all(bind, checkfirst=True)


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
