"""Login tokens are stored encrypted (token_vault.py): the login sessions of before end.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03

No column changes: a Fernet ciphertext is text, like the token it replaces. The rows of before
hold their tokens in plaintext, which the vault would refuse to decrypt; login sessions are
disposable (0001), so they are deleted rather than encrypted here, which would tie a migration to
the app's keys. Speakers log in again; their drafts stay (they belong to the browser, not to the
login). A worker of the previous release that writes a plaintext row after this ran ends that
login the same way, at its next request to a new worker.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(sa.text("DELETE FROM login_session"))


def downgrade() -> None:
    # The older release reads the columns as plaintext: encrypted rows would be sent as tokens.
    op.execute(sa.text("DELETE FROM login_session"))
