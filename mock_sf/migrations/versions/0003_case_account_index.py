"""An index on Case.AccountId: the default sharing matches a speaker's cases by account too.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 02:19:28.615032
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_account_id"), ["account_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_account_id"))
