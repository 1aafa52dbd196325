"""The IdP session's public name, `sid`, carried by authorization codes, grants and ID tokens.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07

RP-initiated logout posted from the client's site arrives without the IdP's SameSite=Lax cookie;
the id_token_hint's `sid` (OIDC Front-Channel Logout §3) then names the session to end. Sessions,
codes and grants of before have none: they end by the cookie, as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("idp_sessions") as batch:
        batch.add_column(sa.Column("sid", sa.String(length=32), nullable=True))
        batch.create_unique_constraint(batch.f("uq_idp_sessions_sid"), ["sid"])
    with op.batch_alter_table("authorization_codes") as batch:
        batch.add_column(sa.Column("sid", sa.String(length=32), nullable=True))
    with op.batch_alter_table("oidc_grant_families") as batch:
        batch.add_column(sa.Column("sid", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("oidc_grant_families") as batch:
        batch.drop_column("sid")
    with op.batch_alter_table("authorization_codes") as batch:
        batch.drop_column("sid")
    with op.batch_alter_table("idp_sessions") as batch:
        batch.drop_constraint(batch.f("uq_idp_sessions_sid"), type_="unique")
        batch.drop_column("sid")
