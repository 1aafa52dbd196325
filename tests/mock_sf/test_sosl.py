"""GET /services/data/vNN.N/search?q=<SOSL> over Cases: matching, relevance, RETURNING as SOQL,
sharing, limits, errors; and the speaker's case calls the portal's search page relies on."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update

from mock_sf.models import Case
from mock_sf.models import User
from mock_sf.models import db
from mock_sf.models import utcnow

V = "/services/data/v66.0"
SEARCH = f"{V}/search"
CASES = f"{V}/sobjects/Case/"
COMMENTS = f"{V}/sobjects/CaseComment/"
# (subject, description, hours since last modified)
ADA_SEARCH_CASES = (
    ("Lanyard too short", "The badge hangs at my knees.", 5),
    ("Badge misprinted", "My name is spelled wrong; the lanyard is fine.", 1),
    ("Slides for room B", "Need an HDMI-to-USB-C adapter, and a clicker.", 3),
    ("Visa letter", "Embassy wants the invitation letter by Friday", 4),
)


def search(api: Any, token: str, q: str | None, path: str = SEARCH) -> Any:
    query_string = {} if q is None else {"q": q}
    return api.client.get(
        path, query_string=query_string, headers={"Authorization": f"Bearer {token}"}
    )


def subjects(api: Any, token: str, q: str) -> list[str]:
    response = search(api, token, q)
    assert response.status_code == 200, response.get_json()
    return [record["Subject"] for record in response.get_json()["searchRecords"]]


def user_of(app: Flask, username: str) -> User:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        db.session.expunge(user)
        return user


@pytest.fixture
def ada(app: Flask, api: Any, idp: Any) -> str:
    """Ada's token, with four more cases of hers modified at known times."""
    token = api.token_for(idp.ADA_SUB)
    now = utcnow()
    for subject, description, hours in ADA_SEARCH_CASES:
        body = {"Subject": subject, "Description": description}
        case_id = api.post(CASES, token, json=body).get_json()["id"]
        with app.app_context():
            db.session.execute(
                update(Case)
                .where(Case.id == case_id)
                .values(last_modified_date=now - timedelta(hours=hours))
            )
            db.session.commit()
    return token


def test_the_portal_search_shape(app: Flask, api: Any, ada: str) -> None:
    q = (
        "FIND {lanyard} IN ALL FIELDS RETURNING Case(Id, CaseNumber, Subject, Status, Contact.Name"
        " WHERE IsClosed = false)"
    )
    response = search(api, ada, q)
    assert response.status_code == 200
    assert response.content_type == "application/json;charset=UTF-8"
    body = response.get_json()
    assert list(body) == ["searchRecords"]
    first, second = body["searchRecords"]
    assert list(first) == ["attributes", "Id", "CaseNumber", "Subject", "Status", "Contact"]
    assert first["attributes"] == {"type": "Case", "url": f"{CASES.rstrip('/')}/{first['Id']}"}
    assert first["Contact"]["Name"] == "Ada Lovelace"
    assert first["Contact"]["attributes"]["type"] == "Contact"
    # Relevance: the Subject match first, then the Description match.
    assert (first["Subject"], second["Subject"]) == ("Lanyard too short", "Badge misprinted")
    assert len(first["CaseNumber"]) == 8


def test_without_returning_only_ids_come_back(api: Any, ada: str) -> None:
    for q in ("FIND {lanyard}", "find {LANYARD} returning case"):
        records = search(api, ada, q).get_json()["searchRecords"]
        assert [list(r) for r in records] == [["attributes", "Id"], ["attributes", "Id"]]


def test_default_order_is_subject_matches_then_most_recently_modified(api: Any, ada: str) -> None:
    # "letter" in Visa's subject; "badge" in one subject and one description.
    assert subjects(api, ada, "FIND {badge OR letter} RETURNING Case(Subject)") == [
        "Badge misprinted",  # subject, modified 1 h ago
        "Visa letter",  # subject, 4 h ago
        "Lanyard too short",  # description only
    ]
    ordered = "FIND {badge OR letter} RETURNING Case(Subject ORDER BY Subject DESC)"
    assert subjects(api, ada, ordered) == ["Visa letter", "Lanyard too short", "Badge misprinted"]


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("lanyard", ["Lanyard too short", "Badge misprinted"]),
        ("LanYard", ["Lanyard too short", "Badge misprinted"]),
        ("lan", []),  # whole words only
        ("lan*", ["Lanyard too short", "Badge misprinted"]),
        ("misprint*", ["Badge misprinted"]),
        ("b?dge", ["Badge misprinted", "Lanyard too short"]),
        ("l*d", ["Lanyard too short", "Badge misprinted"]),
        ("*hdmi", ["Slides for room B"]),  # a leading wildcard is ignored
        ("lanyard knees", ["Lanyard too short"]),  # every word, in any searched field
        ("lanyard AND knees", ["Lanyard too short"]),
        ("lanyard AND NOT knees", ["Badge misprinted"]),
        ("visa OR clicker", ["Visa letter", "Slides for room B"]),
        ("(visa OR slides) room", ["Slides for room B"]),
        ('"invitation letter"', ["Visa letter"]),
        ('"letter invitation"', []),
        ('"spelled wrong the lanyard"', ["Badge misprinted"]),  # punctuation separates words
        ("usb\\-c", ["Slides for room B"]),  # an escaped hyphen is punctuation, like the text's
        ("hdmi\\-to\\-usb", ["Slides for room B"]),
        ("friday\\!", ["Visa letter"]),
        ('"and" or "or"', ["Slides for room B"]),  # quoted, operators are words
        ("\\(knees\\)", ["Lanyard too short"]),
    ],
)
def test_matching(api: Any, ada: str, term: str, expected: list[str]) -> None:
    assert subjects(api, ada, f"FIND {{{term}}} RETURNING Case(Subject)") == expected


def test_search_groups(app: Flask, api: Any, ada: str) -> None:
    in_description = "FIND {{knees}} IN {group} FIELDS RETURNING Case(Subject)"
    assert subjects(api, ada, in_description.format(group="ALL")) == ["Lanyard too short"]
    assert subjects(api, ada, in_description.format(group="name")) == []
    assert subjects(api, ada, "FIND {visa} IN NAME FIELDS RETURNING Case(Subject)") == [
        "Visa letter"
    ]
    # CaseNumber is searched in ALL FIELDS, in its 8-digit form.
    [case_number] = [
        r["CaseNumber"]
        for r in search(api, ada, "FIND {visa} RETURNING Case(CaseNumber)").get_json()[
            "searchRecords"
        ]
    ]
    assert subjects(api, ada, f"FIND {{{case_number}}} RETURNING Case(Subject)") == ["Visa letter"]
    assert (
        subjects(api, ada, f"FIND {{{case_number}}} IN NAME FIELDS RETURNING Case(Subject)") == []
    )


def test_returning_clause_is_soql(app: Flask, api: Any, ada: str) -> None:
    base = "FIND {{lanyard OR visa OR slides}} RETURNING Case(Subject{rest})"
    assert subjects(api, ada, base.format(rest=" ORDER BY Subject")) == [
        "Badge misprinted",
        "Lanyard too short",
        "Slides for room B",
        "Visa letter",
    ]
    assert subjects(api, ada, base.format(rest=" WHERE Subject LIKE '%b%' ORDER BY Subject")) == [
        "Badge misprinted",
        "Slides for room B",
    ]
    assert subjects(api, ada, base.format(rest=" ORDER BY Subject LIMIT 2 OFFSET 1")) == [
        "Lanyard too short",
        "Slides for room B",
    ]
    top_limit = "FIND {lanyard OR visa OR slides} RETURNING Case(Subject ORDER BY Subject) LIMIT 1"
    assert subjects(api, ada, top_limit) == ["Badge misprinted"]


def test_a_speaker_only_finds_cases_she_may_see(app: Flask, api: Any, idp: Any, ada: str) -> None:
    grace = api.token_for(idp.GRACE_SUB)
    body = {"Subject": "Lanyard for my co-speaker", "Description": "Visa too"}
    api.post(CASES, grace, json=body)
    assert subjects(api, grace, "FIND {lanyard OR visa} RETURNING Case(Subject)") == [
        "Lanyard for my co-speaker"
    ]
    assert "Lanyard for my co-speaker" not in subjects(
        api, ada, "FIND {lanyard OR visa} RETURNING Case(Subject)"
    )


def test_deleted_cases_are_not_found(api: Any, ada: str) -> None:
    [visa] = search(api, ada, "FIND {visa}").get_json()["searchRecords"]
    api.client.delete(f"{CASES}{visa['Id']}", headers={"Authorization": f"Bearer {ada}"})
    assert search(api, ada, "FIND {visa}").get_json() == {"searchRecords": []}


def test_versions_before_37_answer_a_bare_array(api: Any, ada: str) -> None:
    body = search(api, ada, "FIND {visa}", path="/services/data/v36.0/search/").get_json()
    assert isinstance(body, list) and len(body) == 1
    assert body[0]["attributes"]["url"].startswith("/services/data/v36.0/sobjects/Case/")


def test_resources_list_search(api: Any, ada: str) -> None:
    assert api.get(f"{V}/", ada).get_json()["search"] == f"{V}/search"


def test_long_terms_lose_operators_then_find_nothing(api: Any, ada: str) -> None:
    def find(term: str) -> list[str]:
        return subjects(api, ada, f"FIND {{{term}}} RETURNING Case(Subject)")

    padding = " qqq" * 990
    assert len("visa AND zzz" + padding) <= 4000
    assert find("visa AND zzz" + padding) == []
    longer = "visa AND zzz" + padding + " qqq" * 10
    assert 4000 < len(longer) <= 10000
    assert find(longer) == ["Visa letter"]  # the words are ORed
    longest = "visa " + "q" * 10000
    assert find(longest) == []


def add_cases(app: Flask, count: int) -> None:
    """Insert Ada cases directly (fast), CaseNumbers after the seed's."""
    with app.app_context():
        ada = db.session.scalar(select(User).where(User.username == "ada@speakers.example"))
        start = db.session.scalar(select(db.func.max(Case.case_number))) + 1
        now = utcnow()
        rows = [
            {
                "id": f"500{i:012d}AAA",
                "case_number": start + i,
                "subject": f"Bulk {i:04d}",
                "description": "bulk import",
                "status": "New",
                "priority": "Low",
                "contact_id": ada.contact_id,
                "account_id": ada.account_id,
                "owner_id": ada.id,
                "created_date": now - timedelta(minutes=i),
                "created_by_id": ada.id,
                "last_modified_date": now - timedelta(minutes=i),
                "last_modified_by_id": ada.id,
                "system_modstamp": now,
            }
            for i in range(count)
        ]
        db.session.execute(insert(Case), rows)
        db.session.commit()


def test_at_most_2000_results(app: Flask, api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    add_cases(app, 2010)
    for q in ("FIND {bulk}", "FIND {bulk} RETURNING Case(Id LIMIT 5000)", "FIND {bulk} LIMIT 9999"):
        assert len(search(api, token, q).get_json()["searchRecords"]) == 2000
    page = search(api, token, "FIND {bulk} RETURNING Case(Subject LIMIT 20 OFFSET 2000)")
    assert len(page.get_json()["searchRecords"]) == 10


def positional(q: str, token: str | None, detail: str, code: str) -> dict[str, str]:
    """The mock's ``ERROR at Row:1:Column:n`` text at ``token`` (None: just past the end)."""
    column = (q.index(token) if token is not None else len(q)) + 1
    caret = " " * (column - 1) + "^"
    return {
        "message": f"\n{q}\n{caret}\nERROR at Row:1:Column:{column}\n{detail}",
        "errorCode": code,
    }


MALFORMED = "MALFORMED_SEARCH"
NO_Q = {"message": "A search string has to be specified", "errorCode": MALFORMED}
SHORT = {"message": "search term must be longer than one character", "errorCode": MALFORMED}
NO_FOO = (
    "No such column 'Foo' on entity 'Case'. If you are attempting to use a custom field, be sure"
    " to append the '__c' after the custom field name. Please reference your WSDL or the describe"
    " call for the appropriate names."
)
# (id, q, where the caret points, detail, errorCode)
POSITIONAL: list[tuple[str, str, str | None, str, str]] = [
    ("not SOSL", "SELECT Id FROM Case", "SELECT", "unexpected token: 'SELECT'", MALFORMED),
    ("no braces", "FIND visa", "visa", "mismatched character 'v' expecting '{'", MALFORMED),
    ("unclosed brace", "FIND {visa", None, "mismatched character '<EOF>' expecting '}'", MALFORMED),
    ("unescaped colon", "FIND {re:visa}", ":", "mismatched character ':' expecting '}'", MALFORMED),
    ("unescaped hyphen", "FIND {usb-c}", "-", "mismatched character '-' expecting '}'", MALFORMED),
    ("unescaped brace", "FIND {{visa}}", "{v", "mismatched character '{' expecting '}'", MALFORMED),
    (
        "unclosed phrase",
        'FIND {"visa}',
        None,
        "mismatched character '<EOF>' expecting '\"'",
        MALFORMED,
    ),
    ("dangling OR", "FIND {visa OR}", "}", "unexpected token: '}'", MALFORMED),
    ("unbalanced parenthesis", "FIND {(visa}", "}", "unexpected token: '}'", MALFORMED),
    ("stray parenthesis", "FIND {visa)}", ")", "unexpected token: ')'", MALFORMED),
    (
        "unknown search group",
        "FIND {visa} IN EMAIL FIELDS",
        "EMAIL",
        "unexpected token: 'EMAIL'",
        MALFORMED,
    ),
    (
        "unclosed field list",
        "FIND {visa} RETURNING Case(Id",
        None,
        "unexpected token: '<EOF>'",
        MALFORMED,
    ),
    (
        "junk after the object",
        "FIND {visa} RETURNING Case WHERE",
        "WHERE",
        "unexpected token: 'WHERE'",
        MALFORMED,
    ),
    ("unknown field", "FIND {visa} RETURNING Case(Foo)", "Foo", NO_FOO, "INVALID_FIELD"),
    (
        "Description is not filterable",
        "FIND {visa} RETURNING Case(Id WHERE Description = 'x')",
        "Description",
        "field 'Description' can not be filtered in a query call",
        "INVALID_FIELD",
    ),
    (
        "unsearchable object",
        "FIND {visa} RETURNING CaseComment",
        "CaseComment",
        "sObject type 'CaseComment' is not supported in search by this mock; only Case is.",
        "INVALID_TYPE",
    ),
]
NEGATIVE: list[tuple[str, str | None, dict[str, str]]] = [
    ("no q", None, NO_Q),
    ("blank q", "  ", NO_Q),
    ("one character", "FIND {a}", SHORT),
    ("one character and a wildcard", "FIND {a*}", SHORT),
    ("only wildcards", "FIND {*?*}", SHORT),
    ("only punctuation", "FIND {..}", SHORT),
    ("empty term", "FIND {}", SHORT),
    (
        "offset over 2000",
        "FIND {visa} RETURNING Case(Id OFFSET 2001)",
        {
            "message": "Maximum SOQL offset allowed is 2000",
            "errorCode": "NUMBER_OUTSIDE_VALID_RANGE",
        },
    ),
    *((name, q, positional(q, at, detail, code)) for name, q, at, detail, code in POSITIONAL),
]


@pytest.mark.parametrize(
    ("q", "error"), [pytest.param(q, error, id=name) for name, q, error in NEGATIVE]
)
def test_search_errors(api: Any, ada: str, q: str | None, error: dict[str, str]) -> None:
    response = search(api, ada, q)
    assert (response.status_code, response.get_json()) == (400, [error])


JUNK = [
    "FIND",
    "FIND {",
    "FIND }",
    "FIND {\\",
    "FIND {ab\\",
    'FIND {"ab',
    "FIND {ab}}",
    "FIND {ab} RETURNING",
    "FIND {ab} RETURNING Case(",
    "FIND {ab} RETURNING Case()",
    "FIND {ab} RETURNING Case(Id,)",
    "FIND {ab} RETURNING Case, Case",
    "FIND {ab} LIMIT -1",
    "FIND {ab} LIMIT 99999999999",
    "FIND {ab} RETURNING Case(Id WHERE " + "(" * 5000 + "Subject = 'x'" + ")" * 5000 + ")",
    "FIND {ab} RETURNING Case(Id WHERE " + "NOT " * 5000 + "IsClosed = true)",
    "FIND {" + "(" * 5000 + "ab" + ")" * 5000 + "}",
    "FIND {" + "NOT " * 3000 + "ab}",
    "FIND {" + "a*" * 5000 + "}",
    "FIND {" + "ab " * 3333 + "}",
    'FIND {"' + "a* " * 3300 + '"}',
    "FIND {" + "x" * 10000 + "}",
    "FIND {" + "x" * 20000 + "}",
    "FIND {ab\x00cd}",
    "FIND {日本語 ß café}",
    "FIND {%_%} RETURNING Case(Subject)",
    "FIND {ab} RETURNING Case(Id WHERE Subject = '\\')",
]


@pytest.mark.parametrize("q", JUNK, ids=[f"junk{i}" for i in range(len(JUNK))])
def test_junk_is_never_a_server_error(api: Any, ada: str, q: str) -> None:
    response = search(api, ada, q)
    assert response.status_code in (200, 400), response.get_data(as_text=True)[:300]
    body = response.get_json()
    if response.status_code == 400:
        assert body[0]["errorCode"] in (
            "MALFORMED_SEARCH",
            "NUMBER_OUTSIDE_VALID_RANGE",
            "INVALID_QUERY_FILTER_OPERATOR",
        )
    else:
        assert isinstance(body["searchRecords"], list)


def test_search_needs_a_session(api: Any) -> None:
    response = api.client.get(SEARCH, query_string={"q": "FIND {visa}"})
    assert (response.status_code, response.get_json()) == (
        401,
        [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
    )


# ---------------------------------------------------------------- the rest of the portal's calls


def query(api: Any, token: str, q: str) -> Any:
    response = api.get(f"{V}/query", token, query_string={"q": q})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_speaker_closes_and_reopens_her_case(api: Any, ada: str) -> None:
    case_id = search(api, ada, "FIND {visa}").get_json()["searchRecords"][0]["Id"]
    headers = {"Authorization": f"Bearer {ada}"}
    for status, closed in (("Closed", True), ("New", False), ("Closed", True)):
        response = api.client.patch(f"{CASES}{case_id}", headers=headers, json={"Status": status})
        assert response.status_code == 204
        record = api.get(f"{CASES}{case_id}", ada).get_json()
        assert (record["Status"], record["IsClosed"]) == (status, closed)
        assert (record["ClosedDate"] is not None) == closed


def test_a_speaker_comments_publicly_and_reads_the_thread(api: Any, ada: str) -> None:
    case_id = search(api, ada, "FIND {visa}").get_json()["searchRecords"][0]["Id"]
    for body in ("first", "second"):
        created = api.post(
            COMMENTS, ada, json={"ParentId": case_id, "CommentBody": body, "IsPublished": True}
        )
        assert created.status_code == 201, created.get_json()
    thread = query(
        api,
        ada,
        "SELECT Id, CommentBody, CreatedDate, CreatedBy.Name FROM CaseComment"
        f" WHERE ParentId = '{case_id}' AND IsPublished = true ORDER BY CreatedDate ASC",
    )
    assert thread["totalSize"] == 2
    assert [r["CommentBody"] for r in thread["records"]] == ["first", "second"]
    assert list(thread["records"][0]) == [
        "attributes",
        "Id",
        "CommentBody",
        "CreatedDate",
        "CreatedBy",
    ]
    assert thread["records"][0]["CreatedBy"]["Name"] == "Ada Lovelace"


def test_a_speaker_counts_her_open_cases(app: Flask, api: Any, ada: str) -> None:
    contact_id = user_of(app, "ada@speakers.example").contact_id
    q = f"SELECT COUNT() FROM Case WHERE ContactId = '{contact_id}' AND IsClosed = false"
    assert query(api, ada, q) == {"totalSize": 6, "done": True, "records": []}


def test_a_speaker_pages_her_cases_by_last_modified(app: Flask, api: Any, ada: str) -> None:
    add_cases(app, 70)
    q = "SELECT Id, Subject FROM Case ORDER BY LastModifiedDate DESC LIMIT 20 OFFSET 40"
    body = query(api, ada, q)
    assert (body["totalSize"], body["done"]) == (20, True)
    # Bulk i is i minutes old; the six others are an hour or more old, so they come last.
    assert [r["Subject"] for r in body["records"]] == [f"Bulk {i:04d}" for i in range(40, 60)]


@pytest.mark.parametrize("nesting", ["(" * 5000 + "IsClosed = true" + ")" * 5000, "NOT " * 5000])
def test_deep_nesting_in_soql_is_a_malformed_query(api: Any, ada: str, nesting: str) -> None:
    q = f"SELECT Id FROM Case WHERE {nesting}IsClosed = true"
    response = api.get(f"{V}/query", ada, query_string={"q": q})
    assert response.status_code == 400
    [error] = response.get_json()
    assert error["errorCode"] == "MALFORMED_QUERY"
    assert error["message"].endswith("(more than 20 nested levels)")
