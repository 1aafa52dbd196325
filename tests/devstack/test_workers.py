"""Several workers on one instance folder agree on its keys, as gunicorn starts them (no server)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

import jwt
import pytest

import mock_idp.config
import mock_sf.config
import portal.config
from mock_idp import create_app as create_idp
from mock_idp.keys import KeyStore
from mock_idp.keys import generate_jwk
from mock_idp.saml import credential

CLAIMS = {"iss": "i", "sub": "s", "aud": "a", "exp": 2_000_000_000, "iat": 1}
KEYS = "/oauth2/default/v1/keys"


@pytest.mark.parametrize(
    ("module", "load"),
    [
        (mock_idp.config, mock_idp.config.load_or_create_secret_key),
        (portal.config, portal.config.load_secret_key),
        (mock_sf.config, mock_sf.config.persistent_secret_key),
    ],
    ids=["mock_idp", "portal", "mock_sf"],
)
def test_a_worker_that_loses_the_race_for_the_secret_key_uses_the_winners(
    module, load: Callable[[Path], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "secret_key"
    real = module.secrets.token_hex

    def other_worker_first(n: int = 32) -> str:
        if not path.exists():
            path.write_text("the-other-workers-key")  # it writes while this one generates
        return real(n)

    monkeypatch.setattr(module.secrets, "token_hex", other_worker_first)

    assert load(path) == "the-other-workers-key"
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no temp file left behind


def test_a_worker_that_loses_the_race_for_the_signing_key_uses_the_winners(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "signing-keys.json"
    winner = generate_jwk()

    def other_worker_first(taken: set[str] | None = None) -> dict[str, object]:
        path.write_text(json.dumps({"keys": [winner]}))  # finished while this one generated
        return {**winner, "kid": "the-loser"}

    monkeypatch.setattr("mock_idp.keys.generate_jwk", other_worker_first)

    assert KeyStore.load_or_create(path).kid == winner["kid"]
    assert [p.name for p in tmp_path.iterdir()] == ["signing-keys.json"]


def test_rotations_by_two_workers_at_once_lose_neither_new_key(tmp_path: Path) -> None:
    path = tmp_path / "signing-keys.json"
    first = KeyStore.load_or_create(path)
    workers = [first, KeyStore(json.loads(path.read_text())["keys"], path=path)]
    start = threading.Barrier(len(workers))
    new_kids: list[str] = []

    def rotate(store: KeyStore) -> None:
        start.wait()
        new_kids.append(store.rotate(retire_after=2_000_000_000))

    threads = [threading.Thread(target=rotate, args=(store,)) for store in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    stored = [entry["kid"] for entry in json.loads(path.read_text())["keys"]]
    assert set(new_kids) < set(stored) and len(stored) == 3


def test_a_token_signed_by_a_worker_that_just_rotated_verifies_at_every_worker(
    tmp_path: Path,
) -> None:
    path = tmp_path / "signing-keys.json"
    rotating = KeyStore.load_or_create(path)
    other = KeyStore(json.loads(path.read_text())["keys"], path=path)
    other.refresh_if_changed()  # it has just looked: the next look would be a second away
    rotating.rotate(retire_after=2_000_000_000)

    token = rotating.sign(CLAIMS, "at+jwt")

    assert other.public_key_for(token) is not None  # no "unknown kid" for up to a second
    assert jwt.get_unverified_header(token)["kid"] == other.kid


def test_every_worker_publishes_a_rotation_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDP_INSTANCE_PATH", str(tmp_path))
    for name in ("IDP_URL", "IDP_DATABASE_URL", "IDP_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    workers = [create_idp({"TESTING": True, "PASSWORD_HASH_PROFILE": "cheap"}) for _ in "ab"]
    serving = workers[1].test_client()
    serving.get(KEYS)  # its key store has looked at the file just now

    new_kid = workers[0].extensions["mock_idp.keys"].rotate(retire_after=2_000_000_000)

    assert serving.get(KEYS).json["keys"][0]["kid"] == new_kid


def test_workers_starting_at_once_publish_one_saml_certificate(tmp_path: Path) -> None:
    keys = KeyStore.load_or_create(tmp_path / "signing-keys.json").private_keys()
    start = threading.Barrier(4)
    serials: list[int] = []

    def load() -> None:
        start.wait()
        serials.append(credential.load_or_create(tmp_path, keys).cert.serial_number)

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(serials) == 4 and len(set(serials)) == 1
