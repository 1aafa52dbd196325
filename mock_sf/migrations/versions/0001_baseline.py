"""Baseline: mock_sf's schema as it was when migrations began; catches up older databases.

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
    "account",
    metadata,
    sa.Column("id", sa.String(length=18), nullable=False),
    sa.Column("name", sa.String(length=255), nullable=False),
    sa.Column("created_date", sa.DateTime(), nullable=False),
    sa.Column("phone", sa.String(length=40), nullable=True),
    sa.Column("website", sa.String(length=255), nullable=True),
    sa.Column("number_of_employees", sa.Integer(), nullable=True),
    sa.Column("last_modified_date", sa.DateTime(), nullable=True),
    sa.Column("system_modstamp", sa.DateTime(), nullable=True),
    sa.Column("owner_id", sa.String(length=18), nullable=True),
    sa.Column("created_by_id", sa.String(length=18), nullable=True),
    sa.ForeignKeyConstraint(["created_by_id"], ["user.id"], use_alter=True),
    sa.ForeignKeyConstraint(["owner_id"], ["user.id"], use_alter=True),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_account_name", "name"),
)

sa.Table(
    "connected_app",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("developer_name", sa.String(length=80), nullable=False),
    sa.Column("consumer_key", sa.String(length=255), nullable=False),
    sa.Column("consumer_secret", sa.String(length=255), nullable=False),
    sa.Column("is_token_exchange_enabled", sa.Boolean(), nullable=False),
    sa.Column("is_secret_required_for_token_exchange", sa.Boolean(), nullable=False),
    sa.Column(
        "is_secret_required_for_refresh_token",
        sa.Boolean(),
        server_default=sa.true(),
        nullable=False,
    ),
    sa.Column(
        "is_refresh_token_rotation_enabled", sa.Boolean(), server_default=sa.false(), nullable=False
    ),
    sa.Column("scopes", sa.String(length=255), nullable=False),
    sa.Column("permitted_users", sa.String(length=40), nullable=True),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("consumer_key"),
    sa.UniqueConstraint("developer_name"),
)

sa.Table(
    "network",
    metadata,
    sa.Column("id", sa.String(length=18), nullable=False),
    sa.Column("name", sa.String(length=80), nullable=False),
    sa.Column("url_path_prefix", sa.String(length=80), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("url_path_prefix"),
)

sa.Table(
    "organization",
    metadata,
    sa.Column("id", sa.String(length=18), nullable=False),
    sa.Column("name", sa.String(length=80), nullable=False),
    sa.PrimaryKeyConstraint("id"),
)

sa.Table(
    "permission_set",
    metadata,
    sa.Column("id", sa.String(length=18), nullable=False),
    sa.Column("name", sa.String(length=80), nullable=False),
    sa.Column("label", sa.String(length=80), nullable=False),
    sa.Column("api_enabled", sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("name"),
)

sa.Table(
    "profile",
    metadata,
    sa.Column("id", sa.String(length=18), nullable=False),
    sa.Column("name", sa.String(length=255), nullable=False),
    sa.Column("user_license", sa.String(length=80), nullable=False),
    sa.Column("api_enabled", sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column("is_custom", sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("name"),
)

sa.Table(
    "seen_jti",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("issuer", sa.String(length=512), nullable=False),
    sa.Column("jti", sa.String(length=255), nullable=False),
    sa.Column("expires_at", sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("issuer", "jti"),
    sa.Index("ix_seen_jti_expires_at", "expires_at"),
)

sa.Table(
    "subject_token_failure",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("client_id", sa.String(length=255), nullable=False),
    sa.Column("remote_addr", sa.String(length=64), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_subject_token_failure_created_at", "created_at"),
)

sa.Table(
    "api_usage",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("org_id", sa.String(length=18), nullable=False),
    sa.Column("day", sa.Date(), nullable=False),
    sa.Column("calls", sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(["org_id"], ["organization.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("org_id", "day"),
)

sa.Table(
    "connected_app_profile",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("app_id", sa.Integer(), nullable=False),
    sa.Column("profile_id", sa.String(length=18), nullable=False),
    sa.ForeignKeyConstraint(["app_id"], ["connected_app.id"]),
    sa.ForeignKeyConstraint(["profile_id"], ["profile.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("app_id", "profile_id"),
)

sa.Table(
    "contact",
    metadata,
    sa.Column("id", sa.String(length=18), nullable=False),
    sa.Column("first_name", sa.String(length=40), nullable=True),
    sa.Column("last_name", sa.String(length=80), nullable=False),
    sa.Column("email", sa.String(length=80), nullable=True),
    sa.Column("account_id", sa.String(length=18), nullable=True),
    sa.Column("created_date", sa.DateTime(), nullable=False),
    sa.Column("phone", sa.String(length=40), nullable=True),
    sa.Column("title", sa.String(length=128), nullable=True),
    sa.Column("last_modified_date", sa.DateTime(), nullable=True),
    sa.Column("system_modstamp", sa.DateTime(), nullable=True),
    sa.Column("owner_id", sa.String(length=18), nullable=True),
    sa.Column("created_by_id", sa.String(length=18), nullable=True),
    sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
    sa.ForeignKeyConstraint(["created_by_id"], ["user.id"], use_alter=True),
    sa.ForeignKeyConstraint(["owner_id"], ["user.id"], use_alter=True),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_contact_email", "email"),
)

sa.Table(
    "oauth_token_exchange_handler",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("developer_name", sa.String(length=80), nullable=False),
    sa.Column("master_label", sa.String(length=80), nullable=False),
    sa.Column("handler_class", sa.String(length=255), nullable=False),
    sa.Column("is_enabled", sa.Boolean(), nullable=False),
    sa.Column("is_user_creation_allowed", sa.Boolean(), nullable=False),
    sa.Column("supports_access_token", sa.Boolean(), nullable=False),
    sa.Column("supports_refresh_token", sa.Boolean(), nullable=False),
    sa.Column("supports_id_token", sa.Boolean(), nullable=False),
    sa.Column("supports_saml2", sa.Boolean(), nullable=False),
    sa.Column("supports_jwt", sa.Boolean(), nullable=False),
    sa.Column("jit_profile_id", sa.String(length=18), nullable=True),
    sa.ForeignKeyConstraint(["jit_profile_id"], ["profile.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("developer_name"),
)

sa.Table(
    "user",
    metadata,
    sa.Column("id", sa.String(length=18), nullable=False),
    sa.Column("username", sa.String(length=80), nullable=False),
    sa.Column("email", sa.String(length=128), nullable=False),
    sa.Column("first_name", sa.String(length=40), nullable=True),
    sa.Column("last_name", sa.String(length=80), nullable=False),
    sa.Column("alias", sa.String(length=8), nullable=True),
    sa.Column("locale", sa.String(length=40), nullable=False),
    sa.Column("user_type", sa.String(length=40), nullable=False),
    sa.Column("is_active", sa.Boolean(), nullable=False),
    sa.Column("contact_id", sa.String(length=18), nullable=True),
    sa.Column("account_id", sa.String(length=18), nullable=True),
    sa.Column("federation_identifier", sa.String(length=512), nullable=True),
    sa.Column("password_hash", sa.String(length=255), nullable=True),
    sa.Column("created_date", sa.DateTime(), nullable=False),
    sa.Column("profile_id", sa.String(length=18), nullable=True),
    sa.Column("created_by_id", sa.String(length=18), nullable=True),
    sa.Column("user_role", sa.String(length=80), nullable=True),
    sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
    sa.ForeignKeyConstraint(["contact_id"], ["contact.id"]),
    sa.ForeignKeyConstraint(["created_by_id"], ["user.id"]),
    sa.ForeignKeyConstraint(["profile_id"], ["profile.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("federation_identifier"),
    sa.UniqueConstraint("username"),
)

sa.Table(
    "case",
    metadata,
    sa.Column("id", sa.String(length=18), nullable=False),
    sa.Column("case_number", sa.Integer(), nullable=False),
    sa.Column("subject", sa.String(length=255), nullable=True),
    sa.Column("description", sa.Text(), nullable=True),
    sa.Column("status", sa.String(length=40), nullable=False),
    sa.Column("priority", sa.String(length=40), nullable=True),
    sa.Column("origin", sa.String(length=40), nullable=True),
    sa.Column("type", sa.String(length=40), nullable=True),
    sa.Column("reason", sa.String(length=40), nullable=True),
    sa.Column("supplied_name", sa.String(length=80), nullable=True),
    sa.Column("supplied_email", sa.String(length=80), nullable=True),
    sa.Column("supplied_phone", sa.String(length=40), nullable=True),
    sa.Column("supplied_company", sa.String(length=80), nullable=True),
    sa.Column("contact_id", sa.String(length=18), nullable=True),
    sa.Column("account_id", sa.String(length=18), nullable=True),
    sa.Column("owner_id", sa.String(length=18), nullable=False),
    sa.Column("is_closed", sa.Boolean(), nullable=False),
    sa.Column("closed_date", sa.DateTime(), nullable=True),
    sa.Column("is_escalated", sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column("parent_id", sa.String(length=18), nullable=True),
    sa.Column("portal_request_id", sa.String(length=64), nullable=True),
    sa.Column("is_deleted", sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column("created_date", sa.DateTime(), nullable=False),
    sa.Column("created_by_id", sa.String(length=18), nullable=False),
    sa.Column("last_modified_date", sa.DateTime(), nullable=False),
    sa.Column("last_modified_by_id", sa.String(length=18), nullable=False),
    sa.Column("system_modstamp", sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
    sa.ForeignKeyConstraint(["contact_id"], ["contact.id"]),
    sa.ForeignKeyConstraint(["created_by_id"], ["user.id"]),
    sa.ForeignKeyConstraint(["last_modified_by_id"], ["user.id"]),
    sa.ForeignKeyConstraint(["owner_id"], ["user.id"]),
    sa.ForeignKeyConstraint(["parent_id"], ["case.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("case_number"),
    sa.Index("ix_case_contact_id", "contact_id"),
    sa.Index("ix_case_parent_id", "parent_id"),
    sa.Index("ix_case_portal_request_id", "portal_request_id", unique=True),
)

sa.Table(
    "exchange_attempt",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("client_id", sa.String(length=255), nullable=True),
    sa.Column("app_id", sa.Integer(), nullable=True),
    sa.Column("handler", sa.String(length=80), nullable=True),
    sa.Column("token_type", sa.String(length=255), nullable=True),
    sa.Column("user_id", sa.String(length=18), nullable=True),
    sa.Column("outcome", sa.String(length=16), nullable=False),
    sa.Column("error", sa.String(length=64), nullable=True),
    sa.Column("reason", sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(["app_id"], ["connected_app.id"]),
    sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_exchange_attempt_created_at", "created_at"),
)

sa.Table(
    "oauth_approval",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("user_id", sa.String(length=18), nullable=False),
    sa.Column("app_id", sa.Integer(), nullable=False),
    sa.Column("approved_at", sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(["app_id"], ["connected_app.id"]),
    sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("user_id", "app_id"),
)

sa.Table(
    "oauth_refresh_token",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("token_hash", sa.String(length=64), nullable=False),
    sa.Column("user_id", sa.String(length=18), nullable=False),
    sa.Column("app_id", sa.Integer(), nullable=False),
    sa.Column("scopes", sa.String(length=255), nullable=False),
    sa.Column("network_id", sa.String(length=18), nullable=True),
    sa.Column("issued_at", sa.DateTime(), nullable=False),
    sa.Column("revoked_at", sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(["app_id"], ["connected_app.id"]),
    sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("token_hash"),
)

sa.Table(
    "oauth_token",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("token_hash", sa.String(length=64), nullable=False),
    sa.Column("user_id", sa.String(length=18), nullable=False),
    sa.Column("app_id", sa.Integer(), nullable=False),
    sa.Column("scopes", sa.String(length=255), nullable=False),
    sa.Column("issued_at", sa.DateTime(), nullable=False),
    sa.Column("expires_at", sa.DateTime(), nullable=False),
    sa.Column("refresh_token_id", sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(["app_id"], ["connected_app.id"]),
    sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("token_hash"),
    sa.Index("ix_oauth_token_refresh_token_id", "refresh_token_id"),
)

sa.Table(
    "oauth_token_exch_handler_app",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("handler_id", sa.Integer(), nullable=False),
    sa.Column("app_id", sa.Integer(), nullable=False),
    sa.Column("run_as_user_id", sa.String(length=18), nullable=True),
    sa.Column("is_default", sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(["app_id"], ["connected_app.id"]),
    sa.ForeignKeyConstraint(["handler_id"], ["oauth_token_exchange_handler.id"]),
    sa.ForeignKeyConstraint(["run_as_user_id"], ["user.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("handler_id", "app_id"),
)

sa.Table(
    "permission_set_assignment",
    metadata,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("assignee_id", sa.String(length=18), nullable=False),
    sa.Column("permission_set_id", sa.String(length=18), nullable=False),
    sa.ForeignKeyConstraint(["assignee_id"], ["user.id"]),
    sa.ForeignKeyConstraint(["permission_set_id"], ["permission_set.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.UniqueConstraint("assignee_id", "permission_set_id"),
    sa.Index("ix_permission_set_assignment_assignee_id", "assignee_id"),
)

sa.Table(
    "query_locator",
    metadata,
    sa.Column("id", sa.String(length=18), nullable=False),
    sa.Column("user_id", sa.String(length=18), nullable=False),
    sa.Column("soql", sa.Text(), nullable=False),
    sa.Column("include_deleted", sa.Boolean(), nullable=False),
    sa.Column("batch_size", sa.Integer(), nullable=False),
    sa.Column("record_ids", sa.Text(), nullable=False),
    sa.Column("expires_at", sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_query_locator_expires_at", "expires_at"),
    sa.Index("ix_query_locator_user_id", "user_id"),
)

sa.Table(
    "case_comment",
    metadata,
    sa.Column("id", sa.String(length=18), nullable=False),
    sa.Column("parent_id", sa.String(length=18), nullable=False),
    sa.Column("comment_body", sa.Text(), nullable=True),
    sa.Column("is_published", sa.Boolean(), nullable=False),
    sa.Column("is_deleted", sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column("created_date", sa.DateTime(), nullable=False),
    sa.Column("created_by_id", sa.String(length=18), nullable=False),
    sa.Column("last_modified_date", sa.DateTime(), nullable=False),
    sa.Column("last_modified_by_id", sa.String(length=18), nullable=False),
    sa.Column("system_modstamp", sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(["created_by_id"], ["user.id"]),
    sa.ForeignKeyConstraint(["last_modified_by_id"], ["user.id"]),
    sa.ForeignKeyConstraint(["parent_id"], ["case.id"]),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_case_comment_parent_id", "parent_id"),
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
