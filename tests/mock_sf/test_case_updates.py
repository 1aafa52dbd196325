"""sobjects/Case PATCH and DELETE, sobjects/CaseComment, describe (contract §6.2-6.4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from mock_sf.models import Case
from mock_sf.models import CaseComment
from mock_sf.models import ConnectedApp
from mock_sf.models import Organization
from mock_sf.models import User
from mock_sf.models import db
from mock_sf.models import utcnow
from mock_sf.oauth.tokens import issue_access_token

V = "/services/data/v66.0"
CASES = f"{V}/sobjects/Case/"
COMMENTS = f"{V}/sobjects/CaseComment/"


def call(api: Any, method: str, path: str, token: str, **kwargs: Any) -> Any:
    return api.client.open(
        path, method=method, headers={"Authorization": f"Bearer {token}"}, **kwargs
    )


def read_only_error(*fields: str) -> dict[str, Any]:
    """Salesforce's INVALID_FIELD_FOR_INSERT_UPDATE for fields the user may not write."""
    return {
        "message": f"Unable to create/update fields: {', '.join(fields)}. Please check the"
        " security settings of this field and verify that it is read/write for your profile or"
        " permission set.",
        "errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
        "fields": list(fields),
    }


@pytest.fixture
def ada_case(api: Any, idp: Any) -> tuple[str, str]:
    """Ada's token and a fresh case of hers."""
    token = api.token_for(idp.ADA_SUB)
    body = {"Subject": "Mic", "SuppliedName": "Ada", "SuppliedEmail": "ada@speakers.example"}
    return token, api.post(CASES, token, json=body).get_json()["id"]


def test_patch_updates_and_closes(app: Flask, api: Any, ada_case: tuple[str, str]) -> None:
    token, case_id = ada_case
    before = api.get(f"{CASES}{case_id}", token).get_json()
    response = call(
        api, "PATCH", f"{CASES}{case_id}", token, json={"Status": "Closed", "Reason": "Other"}
    )
    assert (response.status_code, response.data) == (204, b"")
    after = api.get(f"{CASES}{case_id}", token).get_json()
    assert (after["Status"], after["Reason"], after["IsClosed"]) == ("Closed", "Other", True)
    assert after["ClosedDate"] is not None and after["ClosedDate"].endswith("+0000")
    assert after["LastModifiedDate"] >= before["LastModifiedDate"]
    assert (after["SuppliedName"], after["Subject"]) == ("Ada", "Mic")
    call(api, "PATCH", f"{CASES}{case_id}", token, json={"Status": "Working"})
    reopened = api.get(f"{CASES}{case_id}", token).get_json()
    assert (reopened["IsClosed"], reopened["ClosedDate"]) == (False, None)


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (
            {"SuppliedEmail": "x@example.org"},
            400,
            {
                "message": "Unable to create/update fields: SuppliedEmail. Please check the"
                " security settings of this field and verify that it is read/write for your"
                " profile or permission set.",
                "errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
                "fields": ["SuppliedEmail"],
            },
        ),
        (
            {"CaseNumber": "1"},
            400,
            {
                "message": "Unable to create/update fields: CaseNumber. Please check the"
                " security settings of this field and verify that it is read/write for your"
                " profile or permission set.",
                "errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
                "fields": ["CaseNumber"],
            },
        ),
        (
            {"Id": "500000000000001AAA"},
            400,
            {
                "message": "The Id field should not be specified in the sobject data.",
                "errorCode": "INVALID_FIELD",
            },
        ),
        (
            {"Priority": "P" * 41},
            400,
            {
                "message": f"Priority: data value too large: {'P' * 40}... (max length=40)",
                "errorCode": "STRING_TOO_LONG",
                "fields": ["Priority"],
            },
        ),
        (
            {"Status": ""},
            400,
            {
                "message": "Required fields are missing: [Status]",
                "errorCode": "REQUIRED_FIELD_MISSING",
                "fields": ["Status"],
            },
        ),
        (
            {"OwnerId": None},
            400,
            {
                "message": "Required fields are missing: [OwnerId]",
                "errorCode": "REQUIRED_FIELD_MISSING",
                "fields": ["OwnerId"],
            },
        ),
        (
            {"Subject": True},
            400,
            {
                "message": "Cannot deserialize instance of string from bool value for field"
                " Subject",
                "errorCode": "JSON_PARSER_ERROR",
            },
        ),
    ],
    ids=[
        "create-only",
        "read-only",
        "Id",
        "long picklist value",
        "null status",
        "null owner",
        "bool",
    ],
)
def test_patch_errors(
    api: Any, ada_case: tuple[str, str], body: dict[str, Any], status: int, error: Any
) -> None:
    token, case_id = ada_case
    response = call(api, "PATCH", f"{CASES}{case_id}", token, json=body)
    assert (response.status_code, response.get_json()) == (status, [error])


def test_sharing_holds_for_get_update_and_delete(api: Any, idp: Any, ada_case: Any) -> None:
    _, case_id = ada_case
    grace = api.token_for(idp.GRACE_SUB)
    for method, kwargs in (("GET", {}), ("PATCH", {"json": {"Subject": "x"}}), ("DELETE", {})):
        response = call(api, method, f"{CASES}{case_id}", grace, **kwargs)
        assert response.status_code == 404, method
        assert response.get_json() == [
            {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
        ]
    malformed = call(api, "PATCH", f"{CASES}500000000000001AAB", grace, json={"Subject": "x"})
    assert malformed.get_json()[0]["errorCode"] == "MALFORMED_ID"


def test_case_comments(app: Flask, api: Any, idp: Any, ada_case: tuple[str, str]) -> None:
    token, case_id = ada_case
    created = api.post(
        COMMENTS, token, json={"ParentId": case_id[:15], "CommentBody": "Still broken"}
    )
    assert created.status_code == 201
    comment_id = created.get_json()["id"]
    assert comment_id.startswith("00a") and len(comment_id) == 18
    record = api.get(f"{COMMENTS}{comment_id}", token).get_json()
    assert record["attributes"] == {"type": "CaseComment", "url": f"{COMMENTS}{comment_id}"}
    assert (record["ParentId"], record["CommentBody"], record["IsPublished"]) == (
        case_id,
        "Still broken",
        False,
    )
    q = (
        "SELECT CommentBody, Parent.Subject, CreatedBy.Name FROM CaseComment"
        f" WHERE ParentId = '{case_id}'"
    )
    [row] = api.get(f"{V}/query", token, query_string={"q": q}).get_json()["records"]
    assert row["Parent"]["Subject"] == "Mic"
    assert row["CreatedBy"] == {
        "attributes": {"type": "User", "url": row["CreatedBy"]["attributes"]["url"]},
        "Name": "Ada Lovelace",
    }


def test_an_external_user_sees_published_comments_and_her_own(
    app: Flask, api: Any, idp: Any, ada_case: tuple[str, str]
) -> None:
    token, case_id = ada_case
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "admin@sf.example"))
        for body, published in (("internal note", False), ("we ordered one", True)):
            db.session.add(
                CaseComment(
                    parent_id=case_id,
                    comment_body=body,
                    is_published=published,
                    created_by_id=admin.id,
                    last_modified_by_id=admin.id,
                )
            )
        db.session.commit()
    api.post(COMMENTS, token, json={"ParentId": case_id, "CommentBody": "mine"})
    q = "SELECT CommentBody FROM CaseComment ORDER BY CreatedDate"
    body = api.get(f"{V}/query", token, query_string={"q": q}).get_json()
    assert sorted(r["CommentBody"] for r in body["records"]) == ["mine", "we ordered one"]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            {"CommentBody": "x"},
            {
                "message": "Required fields are missing: [ParentId]",
                "errorCode": "REQUIRED_FIELD_MISSING",
                "fields": ["ParentId"],
            },
        ),
        (
            {"ParentId": "{case}", "CommentBody": "x" * 4001},
            {
                "message": f"Body: data value too large: {'x' * 40}... (max length=4000)",
                "errorCode": "STRING_TOO_LONG",
                "fields": ["CommentBody"],
            },
        ),
        (
            {"ParentId": "{case}", "CommentBody": "x", "IsPublished": "yes"},
            {
                "message": "Cannot deserialize instance of boolean from str value for field"
                " IsPublished",
                "errorCode": "JSON_PARSER_ERROR",
            },
        ),
        (
            {"ParentId": "{grace_case}", "CommentBody": "x"},
            {
                "message": "insufficient access rights on cross-reference id: {grace_case}",
                "errorCode": "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
                "fields": [],
            },
        ),
    ],
    ids=["no parent", "too long", "not a boolean", "someone else's case"],
)
def test_case_comment_errors(
    api: Any, idp: Any, ada_case: tuple[str, str], body: dict[str, Any], error: dict[str, Any]
) -> None:
    token, case_id = ada_case
    grace = api.token_for(idp.GRACE_SUB)
    grace_case = api.post(CASES, grace, json={"Subject": "Visa"}).get_json()["id"]
    values = {"case": case_id, "grace_case": grace_case}
    filled = {k: v.format(**values) if isinstance(v, str) else v for k, v in body.items()}
    expected = {k: v.format(**values) if isinstance(v, str) else v for k, v in error.items()}
    response = api.post(COMMENTS, token, json=filled)
    assert (response.status_code, response.get_json()) == (400, [expected])


def test_describe_lists_fields_and_picklists(api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    body = api.get(f"{CASES}describe", token).get_json()
    assert (body["name"], body["keyPrefix"], body["urls"]["describe"]) == (
        "Case",
        "500",
        f"{V}/sobjects/Case/describe",
    )
    fields = {field["name"]: field for field in body["fields"]}
    assert {"Status", "Priority", "Origin", "Type", "Reason"} <= set(fields)
    status = fields["Status"]
    assert (status["type"], status["restrictedPicklist"], status["defaultValue"]) == (
        "picklist",
        False,
        "New",
    )
    assert status["picklistValues"][0] == {
        "active": True,
        "defaultValue": True,
        "label": "New",
        "validFor": None,
        "value": "New",
    }
    assert [v["value"] for v in fields["Priority"]["picklistValues"]] == ["High", "Medium", "Low"]
    subject = fields["Subject"]
    assert (subject["length"], subject["nillable"], subject["createable"]) == (255, True, True)
    supplied = fields["SuppliedEmail"]
    assert (supplied["type"], supplied["createable"], supplied["updateable"]) == (
        "email",
        True,
        False,
    )
    number = fields["CaseNumber"]
    assert (number["type"], number["autoNumber"], number["createable"]) == ("string", True, False)
    assert fields["OwnerId"]["referenceTo"] == ["Group", "User"]
    assert fields["ContactId"]["relationshipName"] == "Contact"


def test_picklists_are_configurable(app: Flask, api: Any, idp: Any) -> None:
    app.config["CASE_PICKLISTS"] = {
        "Type": [
            "Travel",
            {"value": "AV", "label": "Audio/video"},
            {"value": "Old", "active": False},
        ]
    }
    token = api.token_for(idp.ADA_SUB)
    described = api.get(f"{CASES}describe/", token).get_json()
    [type_field] = [f for f in described["fields"] if f["name"] == "Type"]
    assert [(v["value"], v["label"], v["active"]) for v in type_field["picklistValues"]] == [
        ("Travel", "Travel", True),
        ("AV", "Audio/video", True),
        ("Old", "Old", False),
    ]
    assert api.post(CASES, token, json={"Subject": "x", "Type": "AV"}).status_code == 201
    assert api.post(CASES, token, json={"Subject": "x", "Type": "Old"}).status_code == 201
    app.config["RESTRICTED_PICKLISTS"] = True
    [type_field] = [
        f for f in api.get(f"{CASES}describe/", token).get_json()["fields"] if f["name"] == "Type"
    ]
    assert type_field["restrictedPicklist"] is True
    refused = api.post(CASES, token, json={"Subject": "x", "Type": "Old"})
    assert refused.get_json()[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


def test_sobject_list_and_basic_info(api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    listing = api.get(f"{V}/sobjects/", token).get_json()
    assert [s["name"] for s in listing["sobjects"]] == [
        "Account",
        "Case",
        "CaseComment",
        "Contact",
        "Organization",
        "User",
    ]
    info = api.get(f"{V}/sobjects/Case", token).get_json()
    assert info["objectDescribe"]["urls"]["rowTemplate"] == f"{V}/sobjects/Case/{{ID}}"
    assert info["recentItems"] == []
    assert api.get(f"{V}/sobjects/Nope/describe", token).status_code == 404


def admin_token(app: Flask) -> str:
    """A session for the internal admin, issued directly (admins do not exchange tokens)."""
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "admin@sf.example"))
        org_id = db.session.scalar(select(Organization.id))
        connected_app = db.session.scalar(select(ConnectedApp))
        raw = issue_access_token(org_id, admin, connected_app, "api", utcnow(), 3600)
        db.session.commit()
        return raw


def test_an_internal_user_sees_updates_and_deletes_any_case(
    app: Flask, api: Any, ada_case: tuple[str, str]
) -> None:
    _, case_id = ada_case
    token = admin_token(app)
    assert api.get(f"{CASES}{case_id}", token).status_code == 200
    assert (
        call(api, "PATCH", f"{CASES}{case_id}", token, json={"Priority": "Low"}).status_code == 204
    )
    assert call(api, "DELETE", f"{CASES}{case_id}", token).status_code == 204
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert (case.priority, case.is_deleted) == ("Low", True)


# Issue 10: a speaker's PATCH naming ContactId or AccountId answered 204 and changed nothing
# (null meant "her own contact" again). Both are hers to set when she opens a case, and
# read-only to her afterwards: refused, by every write path, with nothing stored changed.
SPEAKER_KEY = "fls-key"


def stored(app: Flask, case_id: str) -> tuple[Any, ...]:
    with app.app_context():
        case = db.session.get(Case, case_id)
        return (
            case.contact_id,
            case.account_id,
            case.owner_id,
            case.subject,
            case.last_modified_date,
        )


def via_sobjects(api: Any, token: str, case_id: str, body: dict[str, Any]) -> Any:
    return call(api, "PATCH", f"{CASES}{case_id}", token, json=body)


def via_upsert_by_id(api: Any, token: str, case_id: str, body: dict[str, Any]) -> Any:
    return call(api, "PATCH", f"{CASES}Id/{case_id}", token, json=body)


def via_upsert_by_key(api: Any, token: str, case_id: str, body: dict[str, Any]) -> Any:
    return call(api, "PATCH", f"{CASES}Portal_Request_Id__c/{SPEAKER_KEY}", token, json=body)


def via_collection_update(api: Any, token: str, case_id: str, body: dict[str, Any]) -> Any:
    record = {"attributes": {"type": "Case"}, "Id": case_id, **body}
    return call(api, "PATCH", f"{V}/composite/sobjects", token, json={"records": [record]})


def via_collection_upsert(api: Any, token: str, case_id: str, body: dict[str, Any]) -> Any:
    record = {"attributes": {"type": "Case"}, "Portal_Request_Id__c": SPEAKER_KEY, **body}
    path = f"{V}/composite/sobjects/Case/Portal_Request_Id__c"
    return call(api, "PATCH", path, token, json={"records": [record]})


def via_composite(api: Any, token: str, case_id: str, body: dict[str, Any]) -> Any:
    sub = {"method": "PATCH", "url": f"{CASES}{case_id}", "referenceId": "move", "body": body}
    return api.post(f"{V}/composite", token, json={"compositeRequest": [sub]})


def in_collection(error: dict[str, Any]) -> tuple[int, Any]:
    item = {
        "statusCode": error["errorCode"],
        "message": error["message"],
        "fields": error["fields"],
    }
    return 200, [{"success": False, "errors": [item]}]


WritePath = Callable[[Any, str, str, dict[str, Any]], Any]
WRITE_PATHS: list[Any] = [
    pytest.param(via_sobjects, lambda error: (400, [error]), id="sobjects PATCH"),
    pytest.param(via_upsert_by_id, lambda error: (400, [error]), id="upsert by Id"),
    pytest.param(via_upsert_by_key, lambda error: (400, [error]), id="upsert by external id"),
    pytest.param(via_collection_update, in_collection, id="collections update"),
    pytest.param(via_collection_upsert, in_collection, id="collections upsert"),
    pytest.param(
        via_composite,
        lambda error: (
            200,
            {
                "compositeResponse": [
                    {
                        "body": [error],
                        "httpHeaders": {},
                        "httpStatusCode": 400,
                        "referenceId": "move",
                    }
                ]
            },
        ),
        id="composite",
    ),
]
READ_ONLY_BODIES: list[Any] = [
    pytest.param({"ContactId": None}, ("ContactId",), id="ContactId null"),
    pytest.param({"ContactId": "{own_contact}"}, ("ContactId",), id="her own ContactId"),
    pytest.param({"ContactId": "{other_contact}"}, ("ContactId",), id="another ContactId"),
    pytest.param({"AccountId": None}, ("AccountId",), id="AccountId null"),
    pytest.param({"AccountId": "{own_account}"}, ("AccountId",), id="her own AccountId"),
    pytest.param(
        {"Subject": "moved", "ContactId": None, "AccountId": None},
        ("ContactId", "AccountId"),
        id="both beside an updateable field",
    ),
]


@pytest.mark.parametrize(("body", "fields"), READ_ONLY_BODIES)
@pytest.mark.parametrize(("write", "wire"), WRITE_PATHS)
def test_a_speaker_changing_a_cases_contact_or_account_is_refused_and_nothing_changes(
    app: Flask,
    api: Any,
    idp: Any,
    write: WritePath,
    wire: Callable[[dict[str, Any]], tuple[int, Any]],
    body: dict[str, Any],
    fields: tuple[str, ...],
) -> None:
    token = api.token_for(idp.ADA_SUB)
    api.token_for(idp.GRACE_SUB)  # another speaker, with a contact of her own
    with app.app_context():
        ada = db.session.scalar(select(User).where(User.username == "ada@speakers.example"))
        grace = db.session.scalar(select(User).where(User.username == "grace@speakers.example"))
        values = {
            "own_contact": ada.contact_id,
            "own_account": ada.account_id,
            "other_contact": grace.contact_id,
        }
    created = api.post(CASES, token, json={"Subject": "Mic", "Portal_Request_Id__c": SPEAKER_KEY})
    case_id = created.get_json()["id"]
    before = stored(app, case_id)
    sent = {name: value.format(**values) if value else value for name, value in body.items()}

    response = write(api, token, case_id, sent)

    assert (response.status_code, response.get_json()) == wire(read_only_error(*fields))
    assert stored(app, case_id) == before


def test_a_speaker_still_names_her_contact_and_account_when_she_opens_a_case(
    app: Flask, api: Any, idp: Any
) -> None:
    """The portal sends ContactId on create (contract §8): the rule is about changing it."""
    token = api.token_for(idp.ADA_SUB)
    with app.app_context():
        ada = db.session.scalar(select(User).where(User.username == "ada@speakers.example"))
    body = {"Subject": "x", "ContactId": ada.contact_id, "AccountId": ada.account_id}
    created = api.post(CASES, token, json=body)
    assert created.status_code == 201, created.get_json()
    with app.app_context():
        case = db.session.get(Case, created.get_json()["id"])
        assert (case.contact_id, case.account_id) == (ada.contact_id, ada.account_id)


def test_an_internal_user_still_moves_a_case_to_another_contact_or_to_none(
    app: Flask, api: Any, idp: Any, ada_case: tuple[str, str]
) -> None:
    _, case_id = ada_case
    api.token_for(idp.GRACE_SUB)
    token = admin_token(app)
    with app.app_context():
        grace = db.session.scalar(select(User).where(User.username == "grace@speakers.example"))
    moved = call(api, "PATCH", f"{CASES}{case_id}", token, json={"ContactId": grace.contact_id})
    assert moved.status_code == 204, moved.get_json()
    assert stored(app, case_id)[:2] == (grace.contact_id, grace.account_id)
    cleared = call(api, "PATCH", f"{CASES}{case_id}", token, json={"ContactId": None})
    assert cleared.status_code == 204, cleared.get_json()
    assert stored(app, case_id)[:2] == (None, None)


def test_describe_shows_contact_and_account_read_only_to_a_speaker_only(
    app: Flask, api: Any, idp: Any
) -> None:
    def writable(token: str) -> dict[str, tuple[bool, bool]]:
        fields = api.get(f"{CASES}describe", token).get_json()["fields"]
        return {
            f["name"]: (f["createable"], f["updateable"])
            for f in fields
            if f["name"] in ("ContactId", "AccountId", "Subject")
        }

    assert writable(api.token_for(idp.ADA_SUB)) == {
        "ContactId": (True, False),
        "AccountId": (True, False),
        "Subject": (True, True),
    }
    assert writable(admin_token(app)) == {
        "ContactId": (True, True),
        "AccountId": (True, True),
        "Subject": (True, True),
    }
