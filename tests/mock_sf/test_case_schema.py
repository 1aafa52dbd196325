"""The Case schema as the Object Reference documents it: AccountId, OwnerId, ParentId,
IsEscalated, Comments, Portal_Request_Id__c; and the upgrade of an older database."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import MetaData
from sqlalchemy import Table
from sqlalchemy import create_engine
from sqlalchemy import inspect
from sqlalchemy import select
from sqlalchemy import text

from mock_sf import create_app
from mock_sf import migrations
from mock_sf.models import Case
from mock_sf.models import CaseComment
from mock_sf.models import User
from mock_sf.models import db
from tests import schema_checks
from tests.mock_sf.test_case_updates import read_only_error

V = "/services/data/v66.0"
CASES = f"{V}/sobjects/Case/"


def user(app: Flask, username: str) -> User:
    with app.app_context():
        found = db.session.scalar(select(User).where(User.username == username))
        db.session.expunge(found)
        return found


def call(api: Any, method: str, path: str, token: str, **kwargs: Any) -> Any:
    return api.client.open(
        path, method=method, headers={"Authorization": f"Bearer {token}"}, **kwargs
    )


def test_describe_lists_the_documented_case_fields(api: Any, idp: Any) -> None:
    body = api.get(f"{CASES}describe", api.token_for(idp.ADA_SUB)).get_json()
    fields = {field["name"]: field for field in body["fields"]}
    summary = {
        name: (fields[name]["type"], fields[name]["createable"], fields[name]["updateable"])
        for name in ("AccountId", "OwnerId", "ParentId", "IsEscalated", "Comments", "Subject")
    }
    assert summary == {
        "AccountId": ("reference", True, False),  # hers to set on a new case, not to change
        "OwnerId": ("reference", True, True),
        "ParentId": ("reference", True, True),
        "IsEscalated": ("boolean", True, True),
        "Comments": ("textarea", True, True),
        "Subject": ("string", True, True),
    }
    assert (fields["ParentId"]["referenceTo"], fields["ParentId"]["relationshipName"]) == (
        ["Case"],
        "Parent",
    )
    assert (fields["IsEscalated"]["defaultValue"], fields["IsEscalated"]["nillable"]) == (
        False,
        False,
    )
    assert (fields["Comments"]["length"], fields["Comments"]["filterable"]) == (4000, False)
    external = fields["Portal_Request_Id__c"]
    assert (external["externalId"], external["unique"], external["custom"]) == (True, True, True)
    assert (external["type"], external["length"]) == ("string", 64)
    assert fields["Subject"]["externalId"] is False
    assert {fields[name]["length"] for name in ("Status", "Priority", "Origin", "Type")} == {40}


def test_an_internal_user_sets_account_owner_parent_and_escalation(
    app: Flask, api: Any, idp: Any, admin_token: str
) -> None:
    api.token_for(idp.ADA_SUB)  # creates Ada
    ada = user(app, "ada@speakers.example")
    parent = api.post(CASES, admin_token, json={"Subject": "Venue"}).get_json()["id"]
    body = {
        "Subject": "Projector",
        "AccountId": ada.account_id,
        "OwnerId": ada.id,
        "ParentId": parent,
        "IsEscalated": True,
    }
    created = api.post(CASES, admin_token, json=body)
    assert created.status_code == 201, created.get_json()
    case_id = created.get_json()["id"]
    fields = "AccountId,OwnerId,ParentId,IsEscalated,ContactId,CreatedById"
    record = api.get(f"{CASES}{case_id}", admin_token, query_string={"fields": fields}).get_json()
    admin = user(app, "admin@sf.example")
    assert (record["AccountId"], record["OwnerId"], record["ParentId"]) == (
        ada.account_id,
        ada.id,
        parent,
    )
    assert (record["IsEscalated"], record["ContactId"], record["CreatedById"]) == (
        True,
        None,
        admin.id,
    )
    q = f"SELECT Parent.Subject, Owner.Name FROM Case WHERE Id = '{case_id}'"
    [row] = api.get(f"{V}/query", admin_token, query_string={"q": q}).get_json()["records"]
    assert (row["Parent"]["Subject"], row["Owner"]["Name"]) == ("Venue", "Ada Lovelace")
    patched = call(
        api, "PATCH", f"{CASES}{case_id}", admin_token, json={"ParentId": None, "OwnerId": admin.id}
    )
    assert patched.status_code == 204
    after = api.get(f"{CASES}{case_id}", admin_token).get_json()
    assert (after["ParentId"], after["OwnerId"], after["IsEscalated"]) == (None, admin.id, True)


def test_is_escalated_defaults_to_false_and_comments_become_a_private_case_comment(
    app: Flask, api: Any, idp: Any
) -> None:
    token = api.token_for(idp.ADA_SUB)
    case_id = api.post(CASES, token, json={"Subject": "Mic", "Comments": "first"}).get_json()["id"]
    record = api.get(f"{CASES}{case_id}", token).get_json()
    assert (record["IsEscalated"], record["Comments"]) == (False, None)
    assert call(
        api, "PATCH", f"{CASES}{case_id}", token, json={"Comments": "more"}
    ).status_code == (204)
    with app.app_context():
        comments = db.session.execute(
            select(CaseComment.comment_body, CaseComment.is_published)
            .where(CaseComment.parent_id == case_id)
            .order_by(CaseComment.comment_body)
        ).all()
    assert [tuple(c) for c in comments] == [("first", False), ("more", False)]
    refused = api.get(
        f"{V}/query", token, query_string={"q": "SELECT Id FROM Case WHERE Comments = 'x'"}
    )
    assert refused.get_json()[0]["errorCode"] == "INVALID_FIELD"


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        (
            "OwnerId",
            "{admin}",
            {
                "message": "insufficient access rights on cross-reference id: {admin}",
                "errorCode": "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
                "fields": [],
            },
        ),
        (
            "OwnerId",
            "nope",
            {
                "message": "Owner ID: id value of incorrect type: nope",
                "errorCode": "MALFORMED_ID",
                "fields": ["OwnerId"],
            },
        ),
        (
            "AccountId",
            "{grace_account}",
            {
                "message": "insufficient access rights on cross-reference id: {grace_account}",
                "errorCode": "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
                "fields": [],
            },
        ),
        (
            "ParentId",
            "{grace_case}",
            {
                "message": "insufficient access rights on cross-reference id: {grace_case}",
                "errorCode": "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
                "fields": [],
            },
        ),
        (
            "ParentId",
            "001M000000qfPySIAU",
            {
                "message": "Parent Case ID: id value of incorrect type: 001M000000qfPySIAU",
                "errorCode": "MALFORMED_ID",
                "fields": ["ParentId"],
            },
        ),
        (
            "IsEscalated",
            "yes",
            {
                "message": "Cannot deserialize instance of boolean from str value for field"
                " IsEscalated",
                "errorCode": "JSON_PARSER_ERROR",
            },
        ),
        (
            "Comments",
            "c" * 4001,
            {
                "message": f"Internal Comments: data value too large: {'c' * 40}..."
                " (max length=4000)",
                "errorCode": "STRING_TOO_LONG",
                "fields": ["Comments"],
            },
        ),
    ],
    ids=[
        "another owner",
        "malformed owner",
        "foreign account",
        "invisible parent",
        "parent of another object",
        "escalated not a boolean",
        "long comment",
    ],
)
@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_an_external_user_is_refused_references_outside_her_reach(
    app: Flask,
    api: Any,
    idp: Any,
    admin_token: str,
    method: str,
    field: str,
    value: str,
    error: dict[str, Any],
) -> None:
    token = api.token_for(idp.ADA_SUB)
    grace = api.token_for(idp.GRACE_SUB)
    values = {
        "admin": user(app, "admin@sf.example").id,
        "grace_account": user(app, "grace@speakers.example").account_id,
        "grace_case": api.post(CASES, grace, json={"Subject": "Visa"}).get_json()["id"],
    }
    body = {field: value.format(**values)}
    if method == "POST":
        response = api.post(CASES, token, json={"Subject": "x", **body})
    else:
        case_id = api.post(CASES, token, json={"Subject": "x"}).get_json()["id"]
        response = call(api, "PATCH", f"{CASES}{case_id}", token, json=body)
        if field == "AccountId":  # read-only to her on an existing case, whatever the value
            error = read_only_error("AccountId")
    expected = {k: v.format(**values) if isinstance(v, str) else v for k, v in error.items()}
    assert (response.status_code, response.get_json()) == (400, [expected])


def test_an_inactive_owner_is_refused(app: Flask, api: Any, idp: Any, admin_token: str) -> None:
    api.token_for(idp.GRACE_SUB)
    with app.app_context():
        grace = db.session.scalar(select(User).where(User.username == "grace@speakers.example"))
        grace.is_active = False
        grace_id = grace.id
        db.session.commit()
    response = api.post(CASES, admin_token, json={"Subject": "x", "OwnerId": grace_id})
    assert (response.status_code, response.get_json()) == (
        400,
        [
            {
                "message": f"operation performed with inactive user [{grace_id}] as owner of case",
                "errorCode": "INACTIVE_OWNER_OR_USER",
                "fields": [],
            }
        ],
    )


def test_she_may_name_herself_owner_and_her_own_account(app: Flask, api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    ada = user(app, "ada@speakers.example")
    body = {"Subject": "x", "OwnerId": ada.id, "AccountId": ada.account_id}
    assert api.post(CASES, token, json=body).status_code == 201


def test_a_refused_patch_changes_nothing(app: Flask, api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    case_id = api.post(CASES, token, json={"Subject": "before"}).get_json()["id"]
    response = call(
        api, "PATCH", f"{CASES}{case_id}", token, json={"Subject": "after", "OwnerId": "nope"}
    )
    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(Case, case_id).subject == "before"


NEW_CASE_COLUMNS = ("is_escalated", "parent_id", "portal_request_id")


def test_init_db_upgrades_an_older_case_table(tmp_path: Any, sf_signing_key_file: str) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    older = MetaData()  # the baseline's tables (a database from before Alembic) without them
    for table in schema_checks.baseline(migrations.alembic_config()).sorted_tables:
        kept = [c for c in table.columns if table.name != "case" or c.name not in NEW_CASE_COLUMNS]
        Table(table.name, older, *(column._copy() for column in kept))
    engine = create_engine(url)
    older.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            text(
                'INSERT INTO "user" (id, username, email, last_name, locale, user_type,'
                " is_active, created_date) VALUES ('005000000000001AAA', 'u@x', 'u@x', 'U',"
                " 'en_US', 'Standard', 1, '2024-01-01')"
            )
        )
        connection.execute(
            text(
                'INSERT INTO "case" (id, case_number, status, owner_id, is_closed, is_deleted,'
                " created_date, created_by_id, last_modified_date, last_modified_by_id,"
                " system_modstamp) VALUES ('500000000000001AAA', 1000, 'New',"
                " '005000000000001AAA', 0, 0, '2024-01-01', '005000000000001AAA', '2024-01-01',"
                " '005000000000001AAA', '2024-01-01')"
            )
        )
    engine.dispose()
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "DATABASE_URL": url,
            "ARGON2_PROFILE": "CHEAPEST",
            "SIGNING_KEY_FILE": sf_signing_key_file,
        }
    )
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        columns = {column["name"] for column in inspect(db.engine).get_columns("case")}
        assert set(NEW_CASE_COLUMNS) <= columns
        indexes = {index["name"]: index for index in inspect(db.engine).get_indexes("case")}
        assert indexes["ix_case_portal_request_id"]["unique"]
        assert db.session.get(Case, "500000000000001AAA").is_escalated is False
        db.engine.dispose()
