"""Case sharing for external users: by contact or account (``CASE_SHARING``), in queries, gets,
updates, deletes, creates and CaseComments; never across accounts."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from sqlalchemy import select

from mock_sf import create_app
from mock_sf.models import Account
from mock_sf.models import Contact
from mock_sf.models import User
from mock_sf.models import db
from mock_sf.profiles import profile_named

V = "/services/data/v66.0"
ISSUER = "http://127.0.0.1:18001/oauth2/default"
BOB_SUB = "00u1bob1demo1speaker"  # a second speaker at Ada's company, already linked
NOT_FOUND = [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]


@pytest.fixture(params=["contact_or_account", "contact"])
def mode(request: pytest.FixtureRequest, app: Flask) -> str:
    app.config["CASE_SHARING"] = request.param
    return request.param


@pytest.fixture
def bob(app: Flask) -> dict[str, str]:
    """Bob Babbage: a community user with his own contact at Ada's account."""
    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.name == "Analytical Engines Ltd"))
        contact = Contact(first_name="Bob", last_name="Babbage", email="bob@x.example")
        contact.account = account
        user = User(
            username="bob@x.example",
            email="bob@x.example",
            last_name="Babbage",
            user_type="CspLitePortal",
            federation_identifier=f"{ISSUER}|{BOB_SUB}",
            contact=contact,
            account=account,
            profile=profile_named("Speaker Community User"),
        )
        db.session.add(user)
        db.session.commit()
        return {"contact_id": contact.id, "account_id": account.id}


def ids_seen(api: Any, token: str) -> set[str]:
    soql = quote("SELECT Id, Subject FROM Case")
    body = api.get(f"{V}/query?q={soql}", token).get_json()
    return {record["Subject"] for record in body["records"]}


def new_case(api: Any, token: str, subject: str, **fields: str) -> str:
    response = api.post(f"{V}/sobjects/Case/", token, json={"Subject": subject, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


ADA_SEEDED = {"Projector adapter for room B", "Travel reimbursement form"}


def test_colleagues_see_each_others_cases_only_by_account(
    api: Any, idp: Any, bob: dict[str, str], mode: str
) -> None:
    ada, bob_token = api.token_for(idp.ADA_SUB), api.token_for(BOB_SUB)
    bobs = new_case(api, bob_token, "Bob's clicker")
    by_account = mode == "contact_or_account"
    assert ids_seen(api, ada) == ADA_SEEDED | ({"Bob's clicker"} if by_account else set())
    assert ids_seen(api, bob_token) == {"Bob's clicker"} | (ADA_SEEDED if by_account else set())

    got = api.get(f"{V}/sobjects/Case/{bobs}", ada)
    patched = api.client.patch(
        f"{V}/sobjects/Case/{bobs}",
        json={"Status": "Working"},
        headers={"Authorization": f"Bearer {ada}"},
    )
    if by_account:
        assert got.get_json()["Subject"] == "Bob's clicker"
        assert patched.status_code == 204
    else:
        assert (got.status_code, got.get_json()) == (404, NOT_FOUND)
        assert (patched.status_code, patched.get_json()) == (404, NOT_FOUND)


def test_comments_follow_their_case(api: Any, idp: Any, bob: dict[str, str], mode: str) -> None:
    ada, bob_token = api.token_for(idp.ADA_SUB), api.token_for(BOB_SUB)
    bobs = new_case(api, bob_token, "Bob's clicker")
    comment = {"ParentId": bobs, "CommentBody": "Spare batteries?", "IsPublished": True}
    response = api.post(f"{V}/sobjects/CaseComment/", ada, json=comment)
    if mode == "contact_or_account":
        assert response.status_code == 201
        soql = quote("SELECT CommentBody FROM CaseComment")
        records = api.get(f"{V}/query?q={soql}", bob_token).get_json()["records"]
        assert [record["CommentBody"] for record in records] == ["Spare batteries?"]
    else:
        assert response.get_json() == [
            {
                "message": f"insufficient access rights on cross-reference id: {bobs}",
                "errorCode": "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
                "fields": [],
            }
        ]


def test_a_case_for_a_colleagues_contact(
    app: Flask, api: Any, idp: Any, bob: dict[str, str], mode: str
) -> None:
    ada = api.token_for(idp.ADA_SUB)
    body = {"Subject": "For Bob", "ContactId": bob["contact_id"]}
    response = api.post(f"{V}/sobjects/Case/", ada, json=body)
    if mode == "contact_or_account":
        assert response.status_code == 201
        record = api.get(f"{V}/sobjects/Case/{response.get_json()['id']}", ada).get_json()
        assert (record["ContactId"], record["AccountId"]) == (bob["contact_id"], bob["account_id"])
    else:
        assert response.get_json() == [
            {
                "message": f"insufficient access rights on cross-reference id: {bob['contact_id']}",
                "errorCode": "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
                "fields": [],
            }
        ]


def test_never_across_accounts(
    app: Flask, api: Any, idp: Any, bob: dict[str, str], mode: str
) -> None:
    ada = api.token_for(idp.ADA_SUB)
    grace = api.token_for(idp.GRACE_SUB)  # just in time, with her own account
    graces = new_case(api, grace, "Grace's HDMI")
    adas = new_case(api, ada, "Ada's water")
    assert ids_seen(api, grace) == {"Grace's HDMI"}
    assert "Grace's HDMI" not in ids_seen(api, ada)
    for token, case_id in ((ada, graces), (grace, adas)):
        got = api.get(f"{V}/sobjects/Case/{case_id}", token)
        assert (got.status_code, got.get_json()) == (404, NOT_FOUND)
        deleted = api.client.delete(
            f"{V}/sobjects/Case/{case_id}", headers={"Authorization": f"Bearer {token}"}
        )
        assert (deleted.status_code, deleted.get_json()) == (404, NOT_FOUND)
    with app.app_context():
        grace_contact = db.session.scalar(
            select(User.contact_id).where(User.username == "grace@speakers.example")
        )
    refused = api.post(
        f"{V}/sobjects/Case/", ada, json={"Subject": "x", "ContactId": grace_contact}
    )
    assert refused.get_json()[0]["errorCode"] == "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY"


def query(api: Any, token: str, soql: str) -> list[dict[str, Any]]:
    response = api.get(f"{V}/query", token, query_string={"q": soql})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["records"]


def test_contacts_and_accounts_per_sharing(
    app: Flask, api: Any, idp: Any, bob: dict[str, str], mode: str
) -> None:
    """Her own contact and account; her colleagues' contacts only when shared by account;
    never another account's."""
    ada = api.token_for(idp.ADA_SUB)
    grace = api.token_for(idp.GRACE_SUB)
    by_account = mode == "contact_or_account"
    names = [r["Name"] for r in query(api, ada, "SELECT Name FROM Contact ORDER BY LastName")]
    assert names == (["Bob Babbage", "Ada Lovelace"] if by_account else ["Ada Lovelace"])
    assert [r["Name"] for r in query(api, ada, "SELECT Name FROM Account")] == [
        "Analytical Engines Ltd"
    ]
    assert [r["Name"] for r in query(api, grace, "SELECT Name FROM Contact")] == ["Grace Hopper"]
    with app.app_context():
        ada_user = db.session.scalar(select(User).where(User.username == "ada@speakers.example"))
        grace_user = db.session.scalar(
            select(User).where(User.username == "grace@speakers.example")
        )
        own = (ada_user.contact_id, ada_user.account_id)
        graces = (grace_user.contact_id, grace_user.account_id)
    contact = api.get(f"{V}/sobjects/Contact/{own[0]}", ada).get_json()
    assert (contact["attributes"]["type"], contact["Name"], contact["AccountId"]) == (
        "Contact",
        "Ada Lovelace",
        own[1],
    )
    account = api.get(f"{V}/sobjects/Account/{own[1]}?fields=Name,Phone", ada).get_json()
    assert account == {
        "attributes": {"type": "Account", "url": f"{V}/sobjects/Account/{own[1]}"},
        "Name": "Analytical Engines Ltd",
        "Phone": None,
    }
    colleague = api.get(f"{V}/sobjects/Contact/{bob['contact_id']}", ada)
    assert colleague.status_code == (200 if by_account else 404)
    for path in (f"Contact/{graces[0]}", f"Account/{graces[1]}"):
        got = api.get(f"{V}/sobjects/{path}", ada)
        assert (got.status_code, got.get_json()) == (404, NOT_FOUND)
    # Children follow the child's sharing too.
    [with_children] = query(
        api, ada, "SELECT Name, (SELECT LastName FROM Contacts ORDER BY LastName) FROM Account"
    )
    expected = ["Babbage", "Lovelace"] if by_account else ["Lovelace"]
    assert [c["LastName"] for c in with_children["Contacts"]["records"]] == expected


def test_internal_users_see_every_contact_and_account(
    app: Flask, api: Any, idp: Any, bob: dict[str, str]
) -> None:
    from tests.mock_sf.test_case_updates import admin_token

    api.token_for(idp.GRACE_SUB)
    admin = admin_token(app)
    assert len(query(api, admin, "SELECT Id FROM Contact")) == 3
    assert sorted(r["Name"] for r in query(api, admin, "SELECT Name FROM Account")) == [
        "Analytical Engines Ltd",
        "Compilers Inc",
    ]


def test_an_unknown_sharing_mode_fails_at_start(tmp_path: Any) -> None:
    with pytest.raises(ValueError) as excinfo:
        create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "test",
                "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
                "CASE_SHARING": "account",
            }
        )
    assert str(excinfo.value) == (
        "CASE_SHARING must be one of contact_or_account, contact, not 'account'"
    )
