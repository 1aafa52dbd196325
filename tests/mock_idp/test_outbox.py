"""The outbox: stored mail, shown only with demo controls on."""

from __future__ import annotations

from mock_idp import outbox
from mock_idp.models import db

IDP_URL = "http://127.0.0.1:8001"


def test_outbox_json_filters_by_recipient_newest_first(app, client, accounts):
    with app.app_context():
        outbox.send("Ada@Speakers.example", "First", f"Open {IDP_URL}/a then {IDP_URL}/b.")
        outbox.send("grace@speakers.example", "Other", "No links here.")
        outbox.send("ada@speakers.example", "Second", f"Open\n{IDP_URL}/c\n")
        db.session.commit()
    response = client.get("/_demo/outbox.json", query_string={"to": "ADA@speakers.example"})
    assert response.headers["Cache-Control"] == "no-store"
    messages = response.json["messages"]
    assert [(m["to"], m["subject"], m["links"]) for m in messages] == [
        ("ada@speakers.example", "Second", [f"{IDP_URL}/c"]),
        ("ada@speakers.example", "First", [f"{IDP_URL}/a", f"{IDP_URL}/b"]),
    ]
    assert set(messages[0]) == {"id", "to", "subject", "body", "links", "created_at"}
    assert messages[0]["body"] == f"Open\n{IDP_URL}/c\n"
    assert isinstance(messages[0]["created_at"], int)
    assert len(client.get("/_demo/outbox.json").json["messages"]) == 3


def test_outbox_page_lists_messages_with_their_links(client, accounts):
    accounts.register("lin.clark@speakers.example")
    accounts.submit("/forgot-password", {"email": "ada@speakers.example"})
    page = client.get("/_demo/outbox").text
    reset = accounts.link("ada@speakers.example", "/reset-password/")
    verify = accounts.link("lin.clark@speakers.example", "/verify-email/")
    assert page.index("Reset your password") < page.index("Verify your email address")
    assert f'<a href="{IDP_URL}{reset}" rel="noreferrer">{IDP_URL}{reset}</a>' in page
    assert f'<a href="{IDP_URL}{verify}" rel="noreferrer">{IDP_URL}{verify}</a>' in page
    assert 'aria-label="Message to ada@speakers.example: Reset your password"' in page


def test_empty_outbox_says_so(client, accounts):
    assert "<p>No messages yet.</p>" in client.get("/_demo/outbox").text
