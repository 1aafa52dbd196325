"""``limits`` and ``Sforce-Limit-Info``: a per-org daily budget of REST calls kept in the DB."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from mock_sf.models import ApiUsage
from mock_sf.models import db

V = "/services/data/v66.0"


def test_limits_count_this_call_and_every_response_carries_the_usage(
    app: Flask, api: Any, idp: Any
) -> None:
    token = api.token_for(idp.ADA_SUB)
    first = api.get(f"{V}/limits", token)
    assert first.status_code == 200
    body = first.get_json()
    assert body["DailyApiRequests"] == {"Max": 15000, "Remaining": 14999}
    assert list(body) == sorted(body)
    assert all(set(entry) == {"Max", "Remaining"} for entry in body.values())
    assert first.headers["Sforce-Limit-Info"] == "api-usage=1/15000"
    query = api.get(f"{V}/query", token, query_string={"q": "SELECT Id FROM Case"})
    assert query.headers["Sforce-Limit-Info"] == "api-usage=2/15000"
    refused = api.get(f"{V}/query", token, query_string={"q": "SELECT Id FRM Case"})
    assert (refused.status_code, refused.headers["Sforce-Limit-Info"]) == (400, "api-usage=3/15000")
    # Uncounted: the version list and a call without a session still say today's usage.
    for response in (api.client.get("/services/data/"), api.client.get(f"{V}/limits")):
        assert response.headers["Sforce-Limit-Info"] == "api-usage=3/15000"
    assert api.get(f"{V}/limits", token).get_json()["DailyApiRequests"]["Remaining"] == 14996


def test_a_spent_budget_refuses_calls_until_the_next_utc_day(
    app: Flask, api: Any, idp: Any
) -> None:
    app.config["DAILY_API_REQUESTS"] = 2
    token = api.token_for(idp.ADA_SUB)
    assert api.get(f"{V}/sobjects", token).status_code == 200
    assert api.get(f"{V}/sobjects", token).status_code == 200
    refused = api.get(f"{V}/sobjects", token)
    assert (refused.status_code, refused.get_json()) == (
        403,
        [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
    )
    assert refused.headers["Sforce-Limit-Info"] == "api-usage=2/2"
    with app.app_context():
        [row] = db.session.scalars(select(ApiUsage)).all()
        assert row.calls == 2  # a refused call is not counted
        row.day -= timedelta(days=1)
        db.session.commit()
    assert api.get(f"{V}/sobjects", token).headers["Sforce-Limit-Info"] == "api-usage=1/2"
    with app.app_context():
        assert sorted(r.calls for r in db.session.scalars(select(ApiUsage))) == [1, 2]


def test_the_count_is_one_row_per_org_and_day(app: Flask, api: Any, idp: Any) -> None:
    token = api.token_for(idp.ADA_SUB)
    for _ in range(3):
        api.get(f"{V}/", token)
    with app.app_context():
        rows = db.session.scalars(select(ApiUsage)).all()
    assert [row.calls for row in rows] == [3]
    assert re.fullmatch(r"00D\w{15}", rows[0].org_id)
