"""The security scorecard: forge tokens (faked here with real broken JWTs) run in-process
against the enabled handler; default configuration rejects every broken variant by its check."""

from __future__ import annotations

import re
from typing import Any

import jwt
import pytest
from flask import Flask
from sqlalchemy import func
from sqlalchemy import select

from mock_sf.models import ExchangeAttempt
from mock_sf.models import OauthTokenExchangeHandler
from mock_sf.models import SeenJti
from mock_sf.models import User
from mock_sf.models import db
from mock_sf.setup.scorecard import ForgeClient
from mock_sf.setup.scorecard import ForgeError
from mock_sf.setup.scorecard import Variant
from tests.mock_sf.forge import IDP_URL
from tests.mock_sf.forge import TOKEN_TYPES
from tests.mock_sf.forge import VARIANTS
from tests.mock_sf.forge import FakeForge

ROW = re.compile(
    r'<tr class="status-(\w+)" data-variant="([\w/]+)">.*?<td class="verdict">([^<]*)</td>', re.S
)


def run_scorecard(setup_admin: Any) -> tuple[int, dict[str, tuple[str, str]], str]:
    """POST the scorecard form; (status, {kind/variant: (status, verdict)}, page)."""
    response = setup_admin.post("/setup/scorecard/run", {"app_id": "1"})
    page = response.get_data(as_text=True)
    rows = {variant: (status, verdict) for status, variant, verdict in ROW.findall(page)}
    return response.status_code, rows, page


def test_default_configuration_rejects_every_broken_variant_by_its_check(
    setup_admin: Any, forge: FakeForge
) -> None:
    status, rows, page = run_scorecard(setup_admin)
    assert status == 200
    expected = {
        f"{kind}/{name}": ("pass", "accepted" if check is None else f"rejected by {check}")
        for kind, name, check in VARIANTS
    }
    assert rows == expected
    assert f"SpeakerPortal: {len(VARIANTS)} as expected, 0 failed" in page
    assert "maps to Ada Lovelace (ada@speakers.example)" in page


def test_tokens_are_asked_for_with_the_audiences_this_org_expects(
    setup_admin: Any, forge: FakeForge
) -> None:
    run_scorecard(setup_admin)
    audiences = {(body["kind"], body["audience"]) for body in forge.requests if body}
    assert audiences == {
        ("access_token", "api://default"),
        ("id_token", "speaker-portal"),
        ("jwt", "api://default"),
    }


def test_the_run_consumes_no_jti_and_leaves_no_trace(
    app: Flask, setup_admin: Any, forge: FakeForge, api: Any
) -> None:
    run_scorecard(setup_admin)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SeenJti)) == 0
        assert db.session.scalar(select(func.count()).select_from(ExchangeAttempt)) == 0
    # The very token the scorecard accepted is still good for one real exchange.
    assert api.exchange(forge.minted[("access_token", "valid")]).status_code == 200


def test_a_weakened_check_shows_the_broken_token_as_accepted(
    app: Flask, setup_admin: Any, forge: FakeForge
) -> None:
    app.config["JWT_LEEWAY"] = 24 * 3600  # a skew so large that expired tokens pass
    _, rows, page = run_scorecard(setup_admin)
    assert rows["access_token/expired"] == ("fail", "ACCEPTED")
    assert rows["id_token/expired"] == ("fail", "ACCEPTED")
    assert rows["access_token/not_yet_valid"] == ("fail", "ACCEPTED")
    assert rows["access_token/wrong_audience"] == ("pass", "rejected by audience")
    assert f"SpeakerPortal: {len(VARIANTS) - 3} as expected, 3 failed" in page


def test_a_refused_valid_token_is_shown_as_refused(
    app: Flask, setup_admin: Any, forge: FakeForge
) -> None:
    app.config["TRUSTED_ISSUERS"][0]["algorithms"] = ["ES256"]  # the IdP signs RS256
    _, rows, page = run_scorecard(setup_admin)
    assert rows["access_token/valid"] == ("fail", "refused")
    assert "alg_allowlist: alg not allowed: &#39;RS256&#39;" in page
    assert rows["access_token/expired"] == ("warn", "rejected by alg_allowlist (expected expiry)")


def test_a_token_type_no_handler_supports_is_not_run(
    app: Flask, setup_admin: Any, forge: FakeForge
) -> None:
    with app.app_context():
        handler = db.session.scalar(select(OauthTokenExchangeHandler))
        handler.supports_id_token = False
        db.session.commit()
    _, rows, page = run_scorecard(setup_admin)
    assert rows["id_token/valid"] == ("skip", "not run")
    assert "no enabled handler of SpeakerPortal supports ID_TOKEN" in page
    assert rows["access_token/valid"] == ("pass", "accepted")


def test_a_variant_the_forge_cannot_mint_is_not_run(setup_admin: Any, forge: FakeForge) -> None:
    forge.broken.add(("jwt", "valid"))
    _, rows, page = run_scorecard(setup_admin)
    assert rows["jwt/valid"] == ("skip", "not run")
    assert "the forge could not mint it: For a refresh token" in page


def test_an_unreachable_idp_gives_a_friendly_message(setup_admin: Any, forge: FakeForge) -> None:
    forge.reachable = False
    status, rows, page = run_scorecard(setup_admin)
    assert status == 502
    assert rows == {}
    assert (
        "The IdP is not reachable at http://127.0.0.1:18001 "
        "(http://127.0.0.1:18001/_demo/forge/variants: ConnectionError)" in page
    )


def test_a_valid_token_for_an_unlinked_subject_is_accepted_but_flagged(
    app: Flask, setup_admin: Any, forge: FakeForge
) -> None:
    with app.app_context():
        ada = db.session.scalar(select(User).where(User.username == "ada@speakers.example"))
        ada.federation_identifier = None
        db.session.commit()
    _, rows, page = run_scorecard(setup_admin)
    assert rows["access_token/valid"] == ("warn", "accepted")
    assert "valid, but no existing user maps to its subject" in page


def test_the_scorecard_needs_an_admin(client: Any, forge: FakeForge) -> None:
    assert client.get("/setup/scorecard").status_code == 302
    assert client.post("/setup/scorecard/run", data={"app_id": "1"}).status_code == 400  # CSRF
    assert forge.requests == []


def test_the_scorecard_form_refuses_an_unknown_app(setup_admin: Any, forge: FakeForge) -> None:
    response = setup_admin.post("/setup/scorecard/run", {"app_id": "999"})
    assert response.status_code == 400
    assert "Not a valid choice" in response.get_data(as_text=True)
    assert forge.requests == []


def test_forge_client_reads_the_variant_list_in_either_shape() -> None:
    entry = {"kind": "saml2", "variant": "unsigned", "expect": "reject", "check": "signature"}
    for payload in ({"variants": [entry]}, [entry]):
        client = ForgeClient(IDP_URL + "/", fetch=lambda *args, payload=payload: payload)
        assert client.variants() == [Variant("saml2", "unsigned", "reject", "signature")]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"variants": "nope"}, "the variant list is not a JSON list"),
        ({"variants": [{"kind": "jwt"}]}, "malformed variant entry: KeyError('variant')"),
    ],
)
def test_forge_client_refuses_a_malformed_variant_list(payload: Any, message: str) -> None:
    client = ForgeClient(IDP_URL, fetch=lambda *args: payload)
    with pytest.raises(ForgeError) as excinfo:
        client.variants()
    assert str(excinfo.value) == message


def test_forge_client_posts_kind_variant_user_and_audience() -> None:
    calls: list[tuple[Any, ...]] = []

    def fetch(*args: Any) -> dict[str, str]:
        calls.append(args)
        return {"token": "t", "token_type": TOKEN_TYPES["jwt"]}

    client = ForgeClient(IDP_URL, fetch=fetch, timeout=3)
    variant = Variant("jwt", "valid", "accept", None)
    client.forge(variant, "ada@speakers.example", None)
    client.forge(variant, "ada@speakers.example", "api://default")
    assert calls == [
        (
            "POST",
            f"{IDP_URL}/_demo/forge",
            {"kind": "jwt", "variant": "valid", "user": "ada@speakers.example"},
            3,
        ),
        (
            "POST",
            f"{IDP_URL}/_demo/forge",
            {
                "kind": "jwt",
                "variant": "valid",
                "user": "ada@speakers.example",
                "audience": "api://default",
            },
            3,
        ),
    ]


def test_decoded_checks_match_pyjwt_errors() -> None:
    """The handler maps PyJWT's errors to the forge's check names."""
    from mock_sf.handlers.jwt import pyjwt_check

    assert pyjwt_check(jwt.ExpiredSignatureError()) == "expiry"
    assert pyjwt_check(jwt.ImmatureSignatureError("The token is not yet valid (nbf)")) == (
        "not_before"
    )
    assert pyjwt_check(jwt.ImmatureSignatureError("The token is not yet valid (iat)")) == (
        "issued_at"
    )
    assert pyjwt_check(jwt.MissingRequiredClaimError("exp")) == "exp_required"
    assert pyjwt_check(jwt.InvalidSignatureError()) == "signature"
    assert pyjwt_check(jwt.DecodeError()) == "malformed"
