"""login_session.idp_access_token_sent becomes idp_token_sent: ID tokens are single use too.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07

mock_idp's ID tokens now carry a jti, which mock_sf's handler spends at the exchange like an
access token's, so the flag says whether this login's token set (access or ID token) was sent.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("login_session") as batch:
        batch.alter_column("idp_access_token_sent", new_column_name="idp_token_sent")


def downgrade() -> None:
    with op.batch_alter_table("login_session") as batch:
        batch.alter_column("idp_token_sent", new_column_name="idp_access_token_sent")
