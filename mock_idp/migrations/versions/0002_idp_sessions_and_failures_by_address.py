"""IdP sessions kept server-side (the cookie names a row), and sign-in failures and locks per
account and client address (a column for the address).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 12:58:16.332268

Locks written before this revision under scope "account" now read as the all-address ceiling's
locks: they lapse within LOGIN_LOCKOUT as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idp_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=20), nullable=False),
        sa.Column("auth_time", sa.Double(), nullable=False),
        sa.Column("created_at", sa.Integer(), nullable=False),
        sa.Column("ended_at", sa.Integer(), nullable=True),
        sa.Column("saml_session_index", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("idp_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_idp_sessions_created_at"), ["created_at"])
        batch_op.create_index(
            batch_op.f("ix_idp_sessions_saml_session_index"), ["saml_session_index"]
        )
        batch_op.create_index(batch_op.f("ix_idp_sessions_user_id"), ["user_id"])

    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address", sa.String(length=254), nullable=True))

    with op.batch_alter_table("login_locks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address", sa.String(length=254), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("login_locks", schema=None) as batch_op:
        batch_op.drop_column("address")

    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_column("address")

    with op.batch_alter_table("idp_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idp_sessions_user_id"))
        batch_op.drop_index(batch_op.f("ix_idp_sessions_saml_session_index"))
        batch_op.drop_index(batch_op.f("ix_idp_sessions_created_at"))

    op.drop_table("idp_sessions")
