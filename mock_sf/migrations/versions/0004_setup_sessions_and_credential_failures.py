"""Setup admin sessions kept server-side (the cookie names a row), and wrong Setup passwords and
client secrets counted per principal and client address.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 13:03:25.786015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credential_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("principal", sa.String(length=255), nullable=False),
        sa.Column("remote_addr", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("credential_failure", schema=None) as batch_op:
        batch_op.create_index(
            "ix_credential_failure_address", ["kind", "remote_addr", "created_at"]
        )
        batch_op.create_index(batch_op.f("ix_credential_failure_created_at"), ["created_at"])
        batch_op.create_index(
            "ix_credential_failure_principal", ["kind", "principal", "remote_addr", "created_at"]
        )

    op.create_table(
        "setup_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=18), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("setup_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_setup_session_created_at"), ["created_at"])
        batch_op.create_index(batch_op.f("ix_setup_session_user_id"), ["user_id"])


def downgrade() -> None:
    with op.batch_alter_table("setup_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_setup_session_user_id"))
        batch_op.drop_index(batch_op.f("ix_setup_session_created_at"))

    op.drop_table("setup_session")
    with op.batch_alter_table("credential_failure", schema=None) as batch_op:
        batch_op.drop_index("ix_credential_failure_principal")
        batch_op.drop_index(batch_op.f("ix_credential_failure_created_at"))
        batch_op.drop_index("ix_credential_failure_address")

    op.drop_table("credential_failure")
