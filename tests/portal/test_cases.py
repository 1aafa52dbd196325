"""The Support pages against a fake org: list, filter, search, paging, case page, forms."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from portal.cases import opened

HTMX = {"HX-Request": "true", "HX-Current-URL": "http://portal.test/support"}


def soql_sent(transport, org, path: str = "query") -> list[str]:
    return [
        parse_qs(urlsplit(r.url).query)["q"][0]
        for r in transport.calls("GET", f"{org.data}/{path}")
    ]


def listed(transport, org) -> str:
    """The last list query sent (not the counts)."""
    return [q for q in soql_sent(transport, org) if "LIMIT" in q][-1]


def add_cases(salesforce, org, count: int, closed: bool = False) -> None:
    for n in range(count):
        stamp = f"2026-04-{1 + n // 24:02d}T{n % 24:02d}:00:00.000+0000"
        salesforce.cases.cases.append(
            org.case(f"{2000 + n:08d}", f"Case {n}", stamp, closed=closed)
        )


def test_support_lists_open_cases_newest_change_first_with_links(client, speaker, salesforce, org):
    speaker.log_in()

    body = client.get("/support").get_data(as_text=True)

    assert "<h1>Support cases</h1>" in body
    assert body.index("Travel reimbursement form") < body.index("Projector adapter for room B")
    case_id = org.case("00001001", "x")["Id"]
    assert f'<a href="/support/cases/{case_id}">Travel reimbursement form</a>' in body
    assert '<th scope="col">Last updated</th>' in body
    assert '<time datetime="2026-05-02T09:00:00.000+0000">2026-05-02 09:00 UTC</time>' in body
    assert "LIMIT 21 OFFSET 0" in listed(salesforce, org)


def test_status_tabs_count_and_filter(client, speaker, salesforce, org) -> None:
    add_cases(salesforce, org, 3, closed=True)
    speaker.log_in()

    open_page = client.get("/support").get_data(as_text=True)
    closed_page = client.get("/support?status=closed").get_data(as_text=True)
    all_page = client.get("/support?status=all").get_data(as_text=True)

    counts = re.findall(r'<span class="count">(\d+)</span>', open_page)
    assert counts == ["2", "3", "5"]
    assert "Travel reimbursement form" in open_page and "Case 0" not in open_page
    assert "Case 0" in closed_page and "Travel reimbursement form" not in closed_page
    assert "Case 0" in all_page and "Travel reimbursement form" in all_page
    assert re.search(r'href="/support\?status=closed"[^>]*aria-current="page"', closed_page)
    assert any("IsClosed = true" in q and "LIMIT" in q for q in soql_sent(salesforce, org))


def test_45_cases_page_by_20(client, speaker, salesforce, org) -> None:
    salesforce.cases.cases.clear()
    add_cases(salesforce, org, 45)
    speaker.log_in()

    first = client.get("/support").get_data(as_text=True)
    third = client.get("/support?page=3").get_data(as_text=True)

    assert first.count('<td data-label="Case">') == 20
    assert "Page 1 of 3" in first and 'rel="next" href="/support?status=open&amp;page=2"' in first
    assert third.count('<td data-label="Case">') == 5
    assert "Page 3 of 3" in third and 'rel="next"' not in third and 'rel="prev"' in third
    assert "LIMIT 21 OFFSET 40" in listed(salesforce, org)
    numbers = re.findall(r'<td data-label="Case">(\d+)</td>', first + third)
    assert len(set(numbers)) == 25


@pytest.mark.parametrize("page", ["0", "-3", "junk", "99999999999999999999"])
def test_odd_page_numbers_show_a_page(client, speaker, salesforce, page) -> None:
    speaker.log_in()

    assert client.get(f"/support?page={page}").status_code == 200


def test_search_uses_sosl_over_subject_and_description(client, speaker, salesforce, org) -> None:
    speaker.log_in()

    body = client.get("/support?q=About: projector").get_data(as_text=True)

    assert "Projector adapter for room B" in body and "Travel reimbursement" not in body
    (sosl,) = soql_sent(salesforce, org, "search")
    assert sosl.startswith("FIND {About\\: projector} IN ALL FIELDS RETURNING Case(")
    assert f"ContactId = '{org.contact_id}'" in sosl and "IsClosed = false" in sosl
    assert "clear search" in body


def test_a_search_with_no_match_says_so(client, speaker, salesforce) -> None:
    speaker.log_in()

    assert "No cases match your search." in client.get("/support?q=zebra").get_data(as_text=True)


def test_htmx_gets_the_list_alone(client, speaker, salesforce) -> None:
    speaker.log_in()

    body = client.get("/support?status=all", headers={**HTMX, "HX-Target": "case-list"}).get_data(
        as_text=True
    )

    assert body.lstrip().startswith('<div id="case-list"') and "<h1>" not in body


def test_the_case_page_shows_the_case_and_its_published_comments(client, speaker, salesforce, org):
    case = org.case("00001001", "x")
    salesforce.cases.comments.append(
        {
            "ParentId": case["Id"],
            "CommentBody": "We ordered the form.",
            "CreatedDate": "2026-05-03T10:00:00.000+0000",
            "CreatedBy": {"Name": "Support Agent"},
        }
    )
    speaker.log_in()

    body = client.get(f"/support/cases/{case['Id']}").get_data(as_text=True)

    assert '<span class="case-number">Case 00001001</span> Travel reimbursement form' in body
    assert "About: Travel reimbursement form" in body
    assert "<strong>Support Agent</strong>" in body and "We ordered the form." in body
    assert "Close case" in body
    comments_soql = [q for q in soql_sent(salesforce, org) if "CaseComment" in q]
    assert comments_soql and "IsPublished = true" in comments_soql[0]


@pytest.mark.parametrize(
    "case_id",
    ["500000000009999AA", "not-an-id", "003000000000001AAA", "50000000000000x' OR '1'='1"],
    ids=["unknown", "malformed", "not a case", "injection"],
)
def test_an_unknown_or_malformed_case_is_not_found(client, speaker, salesforce, case_id) -> None:
    speaker.log_in()

    response = client.get(f"/support/cases/{case_id}")

    assert response.status_code == 404
    assert "Case not found" in response.get_data(as_text=True)


def test_another_speakers_case_is_not_found(client, speaker, salesforce, org) -> None:
    other = org.case("00009000", "Grace's visa letter", contact_id="003000000000002AAA")
    salesforce.cases.cases.append(other)
    speaker.log_in()

    response = client.get(f"/support/cases/{other['Id']}")
    commented = client.post(
        f"/support/cases/{other['Id']}/comments",
        data={"csrf_token": speaker.csrf_token(), "body": "Hi"},
    )

    assert response.status_code == 404 and "Grace" not in response.get_data(as_text=True)
    assert commented.status_code == 404
    assert salesforce.cases.comments == []


def test_a_comment_is_added_published(client, speaker, salesforce, org) -> None:
    case = org.case("00001001", "x")
    speaker.log_in()

    response = client.post(
        f"/support/cases/{case['Id']}/comments",
        data={"csrf_token": speaker.csrf_token(), "body": "  Any news?  "},
    )

    assert (response.status_code, response.location) == (
        303,
        f"/support/cases/{case['Id']}#comments",
    )
    (comment,) = salesforce.cases.comments
    assert (comment["CommentBody"], comment["IsPublished"]) == ("Any news?", True)
    page = client.get(f"/support/cases/{case['Id']}").get_data(as_text=True)
    assert "Comment added." in page and "Any news?" in page


def test_an_empty_comment_is_refused_in_words(client, speaker, salesforce, org) -> None:
    case = org.case("00001001", "x")
    speaker.log_in()

    response = client.post(
        f"/support/cases/{case['Id']}/comments",
        data={"csrf_token": speaker.csrf_token(), "body": " "},
    )

    assert response.status_code == 422
    assert "Write a comment first." in response.get_data(as_text=True)
    assert salesforce.cases.comments == []


def test_close_and_reopen(client, speaker, salesforce, org) -> None:
    case = org.case("00001001", "x")
    speaker.log_in()
    token = speaker.csrf_token()

    closed = client.post(f"/support/cases/{case['Id']}/close", data={"csrf_token": token})
    closed_page = client.get(f"/support/cases/{case['Id']}").get_data(as_text=True)
    reopened = client.post(f"/support/cases/{case['Id']}/reopen", data={"csrf_token": token})

    assert closed.status_code == reopened.status_code == 303
    assert "Case closed." in closed_page and "Reopen case" in closed_page
    updates = [
        json.loads(r.body)
        for r in salesforce.calls("PATCH", f"{org.data}/sobjects/Case/{case['Id']}")
    ]
    assert updates == [{"Status": "Closed"}, {"Status": "New"}]  # New: describe's default Status


def test_close_requires_csrf(client, speaker, salesforce, org) -> None:
    speaker.log_in()

    response = client.post(f"/support/cases/{org.case('00001001', 'x')['Id']}/close")

    assert response.status_code == 400
    assert (
        salesforce.calls("PATCH", f"{org.data}/sobjects/Case/{org.case('00001001', 'x')['Id']}")
        == []
    )


def test_create_opens_the_new_case_page(client, speaker, salesforce, org) -> None:
    speaker.log_in()
    form = {
        "csrf_token": speaker.csrf_token(),
        "subject": "  Microphone for my talk ",
        "description": "A lapel mic, please.",
        "priority": "High",
    }

    response = client.post("/support/cases", data=form)

    new = salesforce.cases.cases[-1]
    assert (response.status_code, response.location) == (303, f"/support/cases/{new['Id']}")
    assert {k: new[k] for k in ("Subject", "Description", "Priority", "Origin", "ContactId")} == {
        "Subject": "Microphone for my talk",
        "Description": "A lapel mic, please.",
        "Priority": "High",
        "Origin": "Web",
        "ContactId": org.contact_id,
    }
    page = client.get(response.location).get_data(as_text=True)
    assert f"Case {new['CaseNumber']} created." in page


def test_the_new_case_form_takes_its_choices_from_describe(client, speaker, salesforce) -> None:
    speaker.log_in()

    body = client.get("/support/cases/new").get_data(as_text=True)

    assert re.findall(r"<option[^>]*>(\w+)</option>", body) == ["High", "Medium", "Low"]
    assert '<option selected value="Medium">' in body
    assert "maxlength" not in body  # a message, never silent truncation


@pytest.mark.parametrize(
    ("subject", "priority", "message"),
    [
        ("", "High", "Enter a subject."),
        ("    ", "High", "Enter a subject."),
        (
            "x" * 256,
            "High",
            "Keep the subject to 255 characters or fewer (Salesforce&#39;s limit).",
        ),
        ("Mic", "Urgent", "Choose one of the priorities listed."),
    ],
    ids=["empty", "blank", "too long", "bad priority"],
)
def test_invalid_input_is_refused_with_the_typed_values_kept(
    client, speaker, salesforce, org, subject, priority, message
) -> None:
    speaker.log_in()
    form = {
        "csrf_token": speaker.csrf_token(),
        "subject": subject,
        "description": "Typed <carefully>",
        "priority": priority,
    }

    response = client.post("/support/cases", data=form)

    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert '<p class="field-error" id="' in body and message in body
    assert 'role="alert" tabindex="-1" data-autofocus' in body
    assert 'aria-invalid="true"' in body
    assert "Typed &lt;carefully&gt;</textarea>" in body
    if subject.strip():
        assert f'value="{subject}"' in body
    assert salesforce.calls("POST", f"{org.data}/sobjects/Case/") == []


def test_field_limits_follow_describe(client, speaker, salesforce, org) -> None:
    describe = salesforce.routes[("GET", f"{org.data}/sobjects/Case/describe")][0][1]
    describe["fields"][0] = {"name": "Subject", "length": 80, "picklistValues": []}
    speaker.log_in()
    form = {"csrf_token": speaker.csrf_token(), "subject": "x" * 81, "priority": "High"}

    body = client.post("/support/cases", data=form).get_data(as_text=True)

    assert "Keep the subject to 80 characters or fewer" in body


def test_salesforce_validation_error_is_shown_over_the_form(client, speaker, salesforce, org):
    error = [{"message": "Subject: data value too large", "errorCode": "STRING_TOO_LONG"}]
    salesforce.route("POST", f"{org.data}/sobjects/Case/", (400, error))
    speaker.log_in()
    form = {"csrf_token": speaker.csrf_token(), "subject": "Mic stand", "priority": "Medium"}

    response = client.post("/support/cases", data=form)

    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Subject: data value too large" in body and "<code>STRING_TOO_LONG</code>" in body
    assert 'value="Mic stand"' in body


def test_create_without_csrf_token_keeps_the_typed_text(client, speaker, salesforce, org) -> None:
    speaker.log_in()

    response = client.post(
        "/support/cases", data={"subject": "Mic", "description": "Mine", "priority": "High"}
    )

    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "This form had expired" in body and 'value="Mic"' in body and "Mine</textarea>" in body
    assert salesforce.calls("POST", f"{org.data}/sobjects/Case/") == []


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("2026-05-01T12:34:56.000+0000", "2026-05-01 12:34 UTC"),
        ("2026-05-01T12:34:56.000+0200", "2026-05-01 10:34 UTC"),
        ("yesterday", "yesterday"),
        (None, ""),
    ],
)
def test_dates_are_shown_in_utc(value, shown) -> None:
    assert opened(value) == shown


def test_describe_is_asked_once_per_org(client, speaker, salesforce, org) -> None:
    speaker.log_in()

    client.get("/support/cases/new")
    client.post("/support/cases", data={"csrf_token": speaker.csrf_token(), "subject": "Mic"})

    assert len(salesforce.calls("GET", f"{org.data}/sobjects/Case/describe")) == 1


def test_a_one_letter_search_asks_for_more_and_sends_nothing(client, speaker, salesforce, org):
    speaker.log_in()

    response = client.get("/support?q=a")

    assert response.status_code == 200
    assert "Type at least two letters or digits to search." in response.get_data(as_text=True)
    assert salesforce.calls("GET", f"{org.data}/search") == []


@pytest.mark.parametrize(
    ("typed", "term"),
    [
        ("not working", '"not" working'),
        ("AND or", '"AND" "or"'),
        ("usb-c {cable}", "usb\\-c \\{cable\\}"),
        ('say "hi"*', 'say \\"hi\\"\\*'),
    ],
)
def test_search_words_are_searched_for_not_obeyed(client, speaker, salesforce, org, typed, term):
    speaker.log_in()

    client.get("/support", query_string={"q": typed})

    (sosl,) = soql_sent(salesforce, org, "search")
    assert sosl.startswith(f"FIND {{{term}}} IN ALL FIELDS")


def test_a_search_salesforce_refuses_says_so_over_an_empty_list(client, speaker, salesforce, org):
    refusal = [{"errorCode": "MALFORMED_SEARCH", "message": "search term too complex"}]
    salesforce.route("GET", f"{org.data}/search", (400, refusal))
    speaker.log_in()

    response = client.get("/support?q=projector")

    assert response.status_code == 200
    assert "Salesforce could not search for that: search term too complex" in response.get_data(
        as_text=True
    )


@pytest.mark.parametrize(
    ("code", "status", "title"),
    [
        ("API_DISABLED_FOR_ORG", 502, "Salesforce is not set up for speakers yet"),
        ("REQUEST_LIMIT_EXCEEDED", 503, "Salesforce is busy"),
    ],
)
def test_an_org_refusal_no_retry_fixes_says_who_can_fix_it(
    client, speaker, salesforce, org, code, status, title
):
    refusal = (403, [{"message": "refused", "errorCode": code}])
    salesforce.route("GET", f"{org.data}/sobjects/User/{org.user_id}", refusal)
    salesforce.route("GET", f"{org.data}/query", refusal)
    speaker.log_in()

    response = client.get("/support")

    body = response.get_data(as_text=True)
    assert response.status_code == status
    assert title in body and f"<code>{code}</code>" in body
