"""OIDC UserInfo callout: how a handler learns profile claims an access token does not carry."""

from __future__ import annotations

from typing import Any

import requests


def fetch_userinfo(url: str, access_token: str, timeout: float = 5) -> dict[str, Any]:
    """GET the UserInfo endpoint with the subject's access token; raise on any failure."""
    response = requests.get(
        url,
        timeout=timeout,
        headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
    )
    response.raise_for_status()
    claims = response.json()
    if not isinstance(claims, dict):
        raise ValueError("userinfo response is not a JSON object")
    return claims
