"""The login's tokens are encrypted at rest (portal/token_vault.py): no table holds one in
plaintext, keys rotate, every worker derives the same key, and a row no key opens ends the login
with what the speaker typed kept as a draft, never a 500."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine
from sqlalchemy import inspect
from sqlalchemy import select
from sqlalchemy import text

from portal import create_app
from portal import migrations
from portal.models import LoginSession
from portal.models import db
from portal.token_vault import DERIVATION_INFO
from portal.token_vault import EXTENSION
from portal.token_vault import TokenVault
from portal.token_vault import UnreadableToken
from portal.token_vault import derived_key
from portal.token_vault import keys_from_settings
from tests import schema_checks
from tests.portal.conftest import IDP_URL
from tests.portal.conftest import PORTAL_URL
from tests.portal.conftest import SF_URL
from tests.portal.conftest import Speaker
from tests.portal.test_auth import log_in

TOKEN_COLUMNS = (
    "idp_access_token",
    "idp_id_token",
    "idp_refresh_token",
    "saml_assertion",
    "sf_access_token",
    "sf_refresh_token",
)
TYPED = {"subject": "Lapel microphone", "description": "Room A, Friday 10:00", "priority": "High"}
NEW_CASE = {"Referer": "http://portal.test/support/cases/new"}
OLD_KEY, NEW_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def start_worker(app: Flask, client: FlaskClient, **settings: Any) -> tuple[Flask, FlaskClient]:
    """Another process of the portal on the same instance folder and database, started with
    these settings, and the speaker's browser (its cookie) talking to it."""
    worker = create_app(
        {
            "TESTING": True,
            "PORTAL_URL": PORTAL_URL,
            "IDP_URL": IDP_URL,
            "SF_URL": SF_URL,
            "DATABASE_URL": app.config["DATABASE_URL"],
            **settings,
        }
    )
    browser = worker.test_client()
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    if cookie is not None:
        browser.set_cookie(cookie.key, cookie.value)
    return worker, browser


def stored_rows(app: Flask) -> list[dict[str, Any]]:
    """Every row of every table of the portal's database, as SQL returns it (no ORM types)."""
    with app.app_context():
        names = inspect(db.engine).get_table_names()
        with db.engine.connect() as connection:
            return [
                dict(row._mapping)
                for name in names
                for row in connection.execute(text(f'SELECT * FROM "{name}"'))
            ]


def stored_tokens(app: Flask, login_id: str) -> dict[str, str | None]:
    """The token columns of one login as stored: the ciphertexts."""
    with app.app_context(), db.engine.connect() as connection:
        row = connection.execute(
            text(f"SELECT {', '.join(TOKEN_COLUMNS)} FROM login_session WHERE id = :id"),
            {"id": login_id},
        ).one()
    return dict(row._mapping)


def damage(app: Flask, login_id: str, column: str, value: str) -> None:
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(
            text(f"UPDATE login_session SET {column} = :value WHERE id = :id"),
            {"value": value, "id": login_id},
        )


def logins(app: Flask) -> list[str]:
    with app.app_context(), db.engine.connect() as connection:
        return list(connection.execute(text("SELECT id FROM login_session")).scalars())


def test_no_table_holds_a_token_of_a_login_and_its_salesforce_session(
    app, client, idp, idp_key, salesforce, org
) -> None:
    salesforce.route(
        "POST", org.token_endpoint, (200, {**org.token_body(), "refresh_token": "sf-refresh-1"})
    )
    assert log_in(client, idp, idp_key).location == "/support"

    support = client.get("/support")  # the exchange: the Salesforce session is stored too

    assert support.status_code == 200 and "Travel reimbursement form" in support.text
    with app.app_context():
        (login,) = db.session.scalars(select(LoginSession)).all()
        tokens = {column: getattr(login, column) for column in TOKEN_COLUMNS}
    assert tokens["idp_access_token"] == "idp-access-token"
    assert tokens["idp_refresh_token"] == "idp-refresh-token"
    assert tokens["idp_id_token"].count(".") == 2
    assert tokens["sf_access_token"] == org.token_body()["access_token"]
    assert tokens["sf_refresh_token"] == "sf-refresh-1"
    secrets = [token for token in tokens.values() if token]
    stored = [str(value) for row in stored_rows(app) for value in row.values()]
    assert len(secrets) == 5 and stored
    assert [s[:12] for s in secrets if any(s in value for value in stored)] == []
    vault = TokenVault(keys_from_settings(None, app.config["SECRET_KEY"]))
    ciphertexts = stored_tokens(app, login.id)
    assert {c: vault.decrypt(v) for c, v in ciphertexts.items() if v} == {
        c: t for c, t in tokens.items() if t
    }


def test_a_saml_assertion_is_stored_encrypted(app, client, speaker) -> None:
    login_id = speaker.log_in()
    with app.app_context():
        login = db.session.get(LoginSession, login_id)
        login.saml_assertion = "PHNhbWxwOlJlc3BvbnNlIElEPSJfMSI-signed-assertion"
        db.session.commit()

    stored = stored_tokens(app, login_id)["saml_assertion"]

    assert stored and "signed-assertion" not in stored
    assert speaker.login_session().saml_assertion.endswith("signed-assertion")


def test_an_old_key_still_decrypts_and_the_new_one_encrypts(
    app, client, salesforce, org, monkeypatch
) -> None:
    monkeypatch.setenv("PORTAL_TOKEN_KEYS", OLD_KEY)
    first, browser = start_worker(app, client)
    old_login = Speaker(first, browser).log_in()
    assert browser.get("/support").status_code == 200  # the Salesforce session, under OLD_KEY
    monkeypatch.setenv("PORTAL_TOKEN_KEYS", f" {NEW_KEY} , {OLD_KEY} ")  # rotated: new first

    rotated, browser = start_worker(app, browser)
    support = browser.get("/support")

    assert support.status_code == 200 and "Travel reimbursement form" in support.text
    assert len(salesforce.calls("POST", org.token_endpoint)) == 1  # its session read, not redone
    new_login = Speaker(rotated, rotated.test_client()).log_in()
    old, new = TokenVault([OLD_KEY]), TokenVault([NEW_KEY])
    assert old.decrypt(stored_tokens(app, old_login)["sf_access_token"]).startswith("00D")
    assert new.decrypt(stored_tokens(app, new_login)["idp_refresh_token"]) == "idp-refresh-token-0"
    with pytest.raises(UnreadableToken):
        old.decrypt(stored_tokens(app, new_login)["idp_refresh_token"])


def test_dropping_the_old_key_ends_only_the_logins_it_encrypted(app, client, monkeypatch) -> None:
    monkeypatch.setenv("PORTAL_TOKEN_KEYS", OLD_KEY)
    first, old_browser = start_worker(app, client)
    Speaker(first, old_browser).log_in()
    monkeypatch.setenv("PORTAL_TOKEN_KEYS", f"{NEW_KEY},{OLD_KEY}")
    rotated, new_browser = start_worker(app, client)
    new_login = Speaker(rotated, new_browser).log_in()
    monkeypatch.setenv("PORTAL_TOKEN_KEYS", NEW_KEY)

    worker, old_browser = start_worker(app, old_browser)
    new_browser = start_worker(app, new_browser)[1]

    assert old_browser.get("/support").location == "/auth/login?next=/support"
    assert "Signed in as Ada Lovelace" in new_browser.get("/").text
    assert logins(worker) == [new_login]


def test_workers_with_the_same_secret_key_derive_the_same_key(app, client, speaker) -> None:
    login_id = speaker.log_in()

    worker, _ = start_worker(app, client)  # same instance folder: the same secret_key file
    stranger, _ = start_worker(app, client, SECRET_KEY="another portal's secret key")

    with worker.app_context():
        assert db.session.get(LoginSession, login_id).idp_refresh_token == "idp-refresh-token-0"
    with stranger.app_context(), pytest.raises(UnreadableToken):
        db.session.get(LoginSession, login_id)


def test_the_derived_key_is_hkdf_sha256_of_the_secret_key() -> None:
    key = derived_key("s3cret")

    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=DERIVATION_INFO)
    assert key == base64.urlsafe_b64encode(hkdf.derive(b"s3cret"))
    assert derived_key(b"s3cret") == key != derived_key("s3cret ")
    assert keys_from_settings(None, "s3cret") == keys_from_settings(" , ", "s3cret") == [key]
    assert keys_from_settings([NEW_KEY, OLD_KEY], "s3cret") == [NEW_KEY, OLD_KEY]


@pytest.mark.parametrize(
    "keys",
    ["not-a-key", f"{NEW_KEY},{NEW_KEY[:-2]}", f"{NEW_KEY},tooshort"],
    ids=["garbage", "truncated second key", "short second key"],
)
def test_a_bad_token_key_refuses_to_start_without_printing_it(app, monkeypatch, keys) -> None:
    monkeypatch.setenv("PORTAL_TOKEN_KEYS", keys)

    with pytest.raises(ValueError, match=r"TOKEN_KEYS: key \d is not a Fernet key") as refused:
        start_worker(app, app.test_client())

    assert all(key not in str(refused.value) for key in keys.split(","))


def test_a_token_is_encrypted_afresh_each_time() -> None:
    vault = TokenVault([NEW_KEY])

    first, second = vault.encrypt("idp-refresh-token"), vault.encrypt("idp-refresh-token")

    assert first != second and vault.decrypt(first) == vault.decrypt(second) == "idp-refresh-token"


UNREADABLE = {
    "key changed": None,
    "damaged ciphertext": "gAAAAABdamaged",
    "plaintext (an older worker)": "idp-refresh-token-0",
    "not ASCII": "gAAAAAB\u00e9t\u00e9",
}


@pytest.mark.parametrize("damaged", list(UNREADABLE.values()), ids=list(UNREADABLE))
def test_an_unreadable_login_is_ended_and_the_typed_case_kept_as_a_draft(
    app, client, speaker, salesforce, org, damaged
) -> None:
    login_id = speaker.log_in()
    csrf = speaker.csrf_token()
    if damaged is None:
        app, client = start_worker(app, client, TOKEN_KEYS=NEW_KEY)  # restarted with a new key
    else:
        damage(app, login_id, "idp_refresh_token", damaged)

    response = client.post("/support/cases", data={**TYPED, "csrf_token": csrf}, headers=NEW_CASE)

    assert (response.status_code, response.location) == (302, "/auth/login?next=/support/cases/new")
    assert salesforce.calls("POST", f"{org.data}/sobjects/Case/") == []
    assert logins(app) == []
    Speaker(app, client).log_in()  # she logs in again: the form is as she left it
    page = client.get("/support/cases/new").text
    assert "Not sent yet." in page and 'value="Lapel microphone"' in page
    assert "Room A, Friday 10:00</textarea>" in page


def test_an_unreadable_login_on_an_htmx_request_gets_hx_redirect(app, client, speaker) -> None:
    login_id = speaker.log_in()
    csrf = speaker.csrf_token()
    damage(app, login_id, "sf_access_token", "gAAAAABdamaged")

    response = client.post(
        "/support/cases",
        data={**TYPED, "csrf_token": csrf},
        headers={"HX-Request": "true", "HX-Current-URL": "http://portal.test/support/cases/new"},
    )

    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == "/auth/login?next=/support/cases/new"


def test_a_login_that_becomes_unreadable_mid_request_is_ended_not_a_500(
    app, client, speaker, salesforce, org
) -> None:
    """Loaded fine, then reloaded after a commit and no longer readable (another worker with
    another key wrote it meanwhile): the login ends as any ended login does."""
    login_id = speaker.log_in()

    def exchange(_request: Any) -> tuple[int, dict[str, str]]:
        damage(app, login_id, "idp_refresh_token", "gAAAAABwritten-with-another-key")
        return 200, org.token_body()

    salesforce.route("POST", org.token_endpoint, exchange)

    response = client.get("/support")

    assert (response.status_code, response.location) == (302, "/auth/login?next=/support")
    assert logins(app) == []


def test_init_db_ends_the_plaintext_logins_of_before_and_keeps_users_and_drafts(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    for name in ("PORTAL_URL", "IDP_URL", "SF_URL", "PORTAL_DATABASE_URL", "PORTAL_TOKEN_KEYS"):
        monkeypatch.delenv(name, raising=False)
    engine = create_engine(database_url)
    with engine.begin() as connection:  # a database of the release before: revision 0001
        migrations.upgrade(connection, "0001")
        connection.execute(text("INSERT INTO \"user\" VALUES (1, 'kept', 'a@x', 'A')"))
        connection.execute(
            text(
                "INSERT INTO login_session (id, user_id, created_at, protocol,"
                " idp_access_token, idp_refresh_token, sf_access_token, idp_access_token_sent,"
                " saml_assertion_sent) VALUES ('old', 1, '2026-01-01', 'oidc', 'plain-access',"
                " 'plain-refresh', '00D!plain-sf', false, false)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO draft (owner, form, fields, saved_at) VALUES"
                " ('browser', '/support/cases', '{\"subject\": \"Mic\"}', '2026-01-01')"
            )
        )
    app = create_app({"TESTING": True, "DATABASE_URL": database_url})

    result = app.test_cli_runner().invoke(args=["init-db"])

    assert result.exit_code == 0, result.output
    with app.app_context():
        db.engine.dispose()
    assert schema_checks.version(database_url) == schema_checks.head(migrations.alembic_config())
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM login_session")).scalar_one() == 0
        assert connection.execute(text('SELECT sub FROM "user"')).scalar_one() == "kept"
        assert connection.execute(text("SELECT owner FROM draft")).scalar_one() == "browser"
    engine.dispose()


def test_the_hot_path_decrypts_each_stored_token_once_per_process(
    app, client, speaker, salesforce, monkeypatch
) -> None:
    """Every request reads its login's row, tokens and all: the decryptions are remembered."""
    speaker.log_in()
    client.get("/support")
    vault = app.extensions[EXTENSION]
    opened: list[str] = []
    decrypt = vault._fernet.decrypt
    monkeypatch.setattr(
        vault._fernet, "decrypt", lambda token: opened.append(token) or decrypt(token)
    )

    for _ in range(3):
        assert client.get("/support").status_code == 200

    assert opened == []
