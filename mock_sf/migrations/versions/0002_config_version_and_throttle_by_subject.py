"""The Setup configuration's version row (org_config.py) and the throttle keyed by subject.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 02:19:10.064678
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # init-db inserts the one row (1, 1); every cached Setup change bumps it.
    op.create_table(
        "config_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("subject_token_failure", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject", sa.String(length=512), nullable=True))
        batch_op.create_index(
            "ix_subject_token_failure_app", ["client_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_subject_token_failure_subject", ["client_id", "subject", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("subject_token_failure", schema=None) as batch_op:
        batch_op.drop_index("ix_subject_token_failure_subject")
        batch_op.drop_index("ix_subject_token_failure_app")
        batch_op.drop_column("subject")

    op.drop_table("config_version")
