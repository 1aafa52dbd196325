"""Salesforce 15/18-char ids (contract §6.5)."""

from __future__ import annotations

import pytest

from mock_sf import ids


@pytest.mark.parametrize(
    ("id15", "suffix"),
    [
        ("a0RE000000IJmcN", "MAT"),
        ("001M000000qfPyS", "IAU"),
        ("AbCdEfGhIjKlMnO", "VKV"),
        ("aBcDEfgHIJKLMNO", "025"),
    ],
)
def test_checksum_matches_contract_vectors(id15: str, suffix: str) -> None:
    assert ids.checksum(id15) == suffix
    assert ids.to18(id15) == id15 + suffix


@pytest.mark.parametrize("sobject", ["Case", "User", "Contact", "Account", "Organization"])
def test_new_ids_carry_the_key_prefix_and_a_valid_checksum(sobject: str) -> None:
    new = ids.new_id(ids.KEY_PREFIXES[sobject])
    assert len(new) == 18
    assert new.startswith(ids.KEY_PREFIXES[sobject])
    assert ids.normalize(new) == new
    assert ids.normalize(new[:15]) == new  # 15 -> 18 round trip


def test_prefixes_are_salesforce_key_prefixes() -> None:
    assert ids.KEY_PREFIXES["Case"] == "500"
    assert ids.KEY_PREFIXES["User"] == "005"
    assert ids.KEY_PREFIXES["Contact"] == "003"
    assert ids.KEY_PREFIXES["Account"] == "001"
    assert ids.KEY_PREFIXES["Organization"] == "00D"
    assert ids.KEY_PREFIXES["CaseComment"] == "00a"
    assert ids.KEY_PREFIXES["Network"] == "0DB"


@pytest.mark.parametrize(
    "raw",
    [
        "001M000000qfPySIAV",  # wrong checksum
        "001M000000qfPyS-AU",  # bad character
        "001M000000qfPy",  # 14 chars
        "001M000000qfPySIAUX",  # 19 chars
        "' OR 1=1 --",
        "",
    ],
)
def test_malformed_ids_are_refused(raw: str) -> None:
    with pytest.raises(ids.MalformedId):
        ids.normalize(raw)


def test_an_id_of_another_object_is_refused_when_a_prefix_is_required() -> None:
    with pytest.raises(ids.MalformedId):
        ids.normalize("001M000000qfPySIAU", "500")
