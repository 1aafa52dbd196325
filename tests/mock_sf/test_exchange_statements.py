"""The token exchange's SQL round trips, counted (a count, not a timing), the per-process cache of
Setup's configuration and its invalidation across processes, and the prune command."""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from mock_sf import create_app
from mock_sf.handlers.jwt import remember_jti
from mock_sf.models import ConnectedApp
from mock_sf.models import ConnectedAppProfile
from mock_sf.models import OauthTokenExchangeHandler
from mock_sf.models import Profile
from mock_sf.models import SeenJti
from mock_sf.models import db
from mock_sf.models import utcnow
from mock_sf.oauth.throttle import SubjectTokenFailure
from mock_sf.profiles import SPEAKER_COMMUNITY_USER

# Grace's first exchange: the known-user path plus the UserInfo-fed insert of her Account,
# Contact and User (profile, taken username, the Run As owner's role) and the cache of profiles.
NEW_USER_STATEMENTS = 11


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    """Every statement sent to the database, and COMMIT for each commit, while the block runs."""
    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def on_execute(*args: Any) -> None:
        seen.append(" ".join(args[2].split()))

    def on_commit(_connection: Any) -> None:
        seen.append("COMMIT")

    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "commit", on_commit)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(engine, "commit", on_commit)


def inserted_tables(seen: list[str]) -> list[str]:
    return sorted(m.group(1) for s in seen if (m := re.match(r"INSERT INTO \"?(\w+)", s)))


def test_a_known_users_exchange_is_five_statements_and_one_commit(
    app: Flask, api: Any, idp: Any
) -> None:
    assert api.exchange(idp.access_token()).status_code == 200  # the process's cache is warm
    with statements(app) as seen:
        response = api.exchange(idp.access_token())
    assert response.status_code == 200
    assert len(seen) == 6, seen
    assert seen.count("COMMIT") == 1 and seen[-1] == "COMMIT"
    assert seen[0].startswith("SELECT (SELECT config_version.version")
    assert "subject_token_failure" in seen[0]  # the throttle, in the same SELECT
    assert "credential_failure" in seen[0]  # and the client-secret throttle
    assert inserted_tables(seen) == ["exchange_attempt", "oauth_token", "seen_jti"]
    user_lookup = [s for s in seen if s.startswith("SELECT")][1]
    assert ".federation_identifier = " in user_lookup.rpartition(" WHERE ")[2]


def test_a_new_users_first_exchange(app: Flask, api: Any, idp: Any) -> None:
    assert api.exchange(idp.access_token()).status_code == 200
    with statements(app) as seen:
        response = api.exchange(idp.access_token(idp.GRACE_SUB))
    assert response.status_code == 200
    assert len(seen) - seen.count("COMMIT") == NEW_USER_STATEMENTS, seen
    assert seen.count("COMMIT") == 1
    assert inserted_tables(seen) == [
        "account",
        "contact",
        "exchange_attempt",
        "oauth_token",
        "seen_jti",
        "user",
    ]


def test_a_refused_exchange_is_logged_in_one_commit(app: Flask, api: Any, idp: Any) -> None:
    assert api.exchange(idp.access_token()).status_code == 200
    with statements(app) as seen:
        response = api.exchange(idp.access_token(aud="api://other"))
    assert response.status_code == 400
    assert seen.count("COMMIT") == 1
    assert inserted_tables(seen) == ["exchange_attempt", "subject_token_failure"]


def test_the_cache_is_loaded_once_per_version(app: Flask, api: Any, idp: Any) -> None:
    with statements(app) as cold:
        assert api.exchange(idp.access_token()).status_code == 200
    with statements(app) as warm:
        assert api.exchange(idp.access_token()).status_code == 200
    assert len(cold) > len(warm) == 6


@pytest.fixture
def other_process(app: Flask) -> Flask:
    """A second mock_sf on the same database: its own cache, as another worker or host has."""
    keys = ("DATABASE_URL", "IDP_URL", "SF_URL", "SIGNING_KEY_FILE", "ARGON2_PROFILE")
    return create_app({"TESTING": True, "SECRET_KEY": "test", **{k: app.config[k] for k in keys}})


def _disable_exchange() -> None:
    db.session.scalar(select(ConnectedApp)).is_token_exchange_enabled = False


def _disable_exchange_by_statement() -> None:
    db.session.execute(update(ConnectedApp).values(is_token_exchange_enabled=False))


def _disable_handler() -> None:
    db.session.scalar(select(OauthTokenExchangeHandler)).is_enabled = False


def _unauthorize_speakers() -> None:
    speakers = db.session.scalar(select(Profile.id).where(Profile.name == SPEAKER_COMMUNITY_USER))
    for row in db.session.scalars(
        select(ConnectedAppProfile).where(ConnectedAppProfile.profile_id == speakers)
    ):
        db.session.delete(row)


def _unauthorize_by_statement() -> None:
    db.session.execute(delete(ConnectedAppProfile))


def _change_the_consumer_key() -> None:
    db.session.scalar(select(ConnectedApp)).consumer_key = "renamed-portal"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_disable_exchange, ("unsupported_grant_type", "grant type not supported")),
        (_disable_exchange_by_statement, ("unsupported_grant_type", "grant type not supported")),
        (_disable_handler, ("invalid_request", "token handler not found")),
        (_unauthorize_speakers, ("invalid_grant", "user hasn't approved this consumer")),
        (_unauthorize_by_statement, ("invalid_grant", "user hasn't approved this consumer")),
        (_change_the_consumer_key, ("invalid_client_id", "client identifier invalid")),
    ],
    ids=[
        "exchange disabled",
        "exchange disabled by UPDATE",
        "handler disabled",
        "profile no longer pre-authorized",
        "pre-authorizations deleted by DELETE",
        "consumer key changed",
    ],
)
def test_a_setup_change_in_another_process_reaches_this_one(
    app: Flask,
    other_process: Flask,
    api: Any,
    idp: Any,
    change: Callable[[], None],
    expected: tuple[str, str],
) -> None:
    assert api.exchange(idp.access_token()).status_code == 200  # cached here
    with other_process.app_context():
        change()
        db.session.commit()
    response = api.exchange(idp.access_token())
    assert response.status_code == 400
    assert response.get_json() == {"error": expected[0], "error_description": expected[1]}


def test_an_unchanged_save_does_not_move_the_version(app: Flask, api: Any, idp: Any) -> None:
    assert api.exchange(idp.access_token()).status_code == 200
    with app.app_context():
        connected_app = db.session.scalar(select(ConnectedApp))
        connected_app.is_token_exchange_enabled = True  # as it is
        db.session.commit()
    with statements(app) as seen:
        assert api.exchange(idp.access_token()).status_code == 200
    assert len(seen) == 6


def test_an_expired_jti_is_taken_over_in_place(app: Flask) -> None:
    now = utcnow()
    with app.app_context():
        assert remember_jti("https://idp", "j1", now - timedelta(seconds=1))
        assert remember_jti("https://idp", "j1", now + timedelta(hours=1))  # the old one expired
        assert not remember_jti("https://idp", "j1", now + timedelta(hours=1))
        assert db.session.scalar(select(func.count()).select_from(SeenJti)) == 1


def test_prune_deletes_expired_jtis_and_old_failures(app: Flask) -> None:
    now = utcnow()
    with app.app_context():
        db.session.execute(delete(SeenJti))
        for jti, expires in (
            ("old", now - timedelta(seconds=1)),
            ("live", now + timedelta(hours=1)),
        ):
            db.session.add(SeenJti(issuer="https://idp", jti=jti, expires_at=expires))
        for age in (61, 5):
            db.session.add(
                SubjectTokenFailure(
                    client_id="speaker-portal",
                    subject="https://idp|s",
                    remote_addr="127.0.0.1",
                    created_at=now - timedelta(seconds=age),
                )
            )
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["prune"])
    assert result.exit_code == 0, result.output
    assert result.output == (
        "pruned 1 expired jti(s), 1 throttle failure(s) and 0 Setup session(s)\n"
    )
    with app.app_context():
        assert db.session.scalars(select(SeenJti.jti)).all() == ["live"]
        ages = db.session.scalars(select(SubjectTokenFailure.created_at)).all()
        assert ages == [now - timedelta(seconds=5)]


def test_a_rest_query_reads_its_caller_once_and_counts_itself_apart(
    app: Flask, api: Any, idp: Any
) -> None:
    token = api.token_for(idp.ADA_SUB)
    assert api.get("/services/data/v62.0/query?q=SELECT+Id+FROM+Case", token).status_code == 200
    with statements(app) as seen:
        response = api.get("/services/data/v62.0/query?q=SELECT+Id+FROM+Case", token)
    assert response.status_code == 200
    # The token with her user and profile; the org; the daily count (committed on its own
    # connection, so her user is not expired and read again by the sharing rule); the query.
    reads_of_users = [s for s in seen if re.search(r'\b(FROM|JOIN) "?user"?\s', s)]
    assert len(reads_of_users) == 1, seen
    assert sum(s.startswith("UPDATE api_usage") for s in seen) == 1
    assert len([s for s in seen if s != "COMMIT"]) == 4, seen
