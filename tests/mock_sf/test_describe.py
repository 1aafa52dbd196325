"""sobjects/ and sobjects/{name}/describe for Contact and Account, child relationships, and the
Contact/Account columns an older database gains."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import text

from mock_sf import migrations
from mock_sf.models import db
from tests import schema_checks

V = "/services/data/v66.0"


def test_contact_and_account_are_listed_and_described(api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    listing = {s["name"]: s for s in api.get(f"{V}/sobjects/", token).get_json()["sobjects"]}
    for name, prefix in (("Contact", "003"), ("Account", "001")):
        summary = listing[name]
        assert (summary["keyPrefix"], summary["queryable"], summary["retrieveable"]) == (
            prefix,
            True,
            True,
        )
        assert (summary["createable"], summary["updateable"], summary["deletable"]) == (
            False,
            False,
            False,
        )
    contact = api.get(f"{V}/sobjects/Contact/describe", token).get_json()
    assert [f["name"] for f in contact["fields"]] == [
        "Id",
        "AccountId",
        "LastName",
        "FirstName",
        "Name",
        "Phone",
        "Email",
        "Title",
        "CreatedDate",
        "LastModifiedDate",
        "SystemModstamp",
    ]
    account = api.get(f"{V}/sobjects/Account/describe", token).get_json()
    employees = next(f for f in account["fields"] if f["name"] == "NumberOfEmployees")
    assert (employees["type"], employees["length"], employees["groupable"]) == ("int", 0, True)
    assert [c["relationshipName"] for c in account["childRelationships"]] == ["Cases", "Contacts"]


def test_case_describe_lists_its_case_comments(api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    case = api.get(f"{V}/sobjects/Case/describe", token).get_json()
    assert case["childRelationships"] == [
        {
            "cascadeDelete": True,
            "childSObject": "CaseComment",
            "deprecatedAndHidden": False,
            "field": "ParentId",
            "junctionIdListNames": [],
            "junctionReferenceTo": [],
            "relationshipName": "CaseComments",
            "restrictedDelete": False,
        }
    ]
    fields = {f["name"]: f for f in case["fields"]}
    assert (fields["Status"]["groupable"], fields["Status"]["aggregatable"]) == (True, True)
    assert (fields["CreatedDate"]["groupable"], fields["CreatedDate"]["aggregatable"]) == (
        False,
        True,
    )
    assert (fields["Description"]["groupable"], fields["Description"]["aggregatable"]) == (
        False,
        False,
    )
    user = api.get(f"{V}/sobjects/User/describe", token).get_json()
    assert user["childRelationships"] == []


def test_init_db_adds_the_contact_and_account_columns(app: Flask, api: Any, idp: Any) -> None:
    with app.app_context():
        for table, column in (
            ("contact", "phone"),
            ("contact", "title"),
            ("contact", "last_modified_date"),
            ("account", "website"),
            ("account", "number_of_employees"),
        ):
            db.session.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
        schema_checks.before_alembic(migrations.alembic_config(), db.session.connection())
        db.session.commit()
        db.engine.dispose()
    result = app.test_cli_runner().invoke(args=["init-db", "--demo"])
    assert result.exit_code == 0, result.output
    token = api.token_for(idp.ADA_SUB)
    q = "SELECT Name, Title, LastModifiedDate, Account.Website FROM Contact"
    body = api.get(f"{V}/query", token, query_string={"q": q}).get_json()
    [ada] = body["records"]
    assert (ada["Name"], ada["Title"], ada["LastModifiedDate"], ada["Account"]["Website"]) == (
        "Ada Lovelace",
        None,
        None,  # rows older than the column have no value
        None,
    )
