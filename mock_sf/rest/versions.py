"""``GET /services/data/`` (versions, no auth) and ``GET /services/data/vNN.N/`` (resources)."""

from __future__ import annotations

from typing import Any

from mock_sf.rest.errors import Gone
from mock_sf.rest.errors import NotFound

OLDEST_VERSION = 31  # Summer '14; older API versions are retired
SEASONS = ("Spring", "Summer", "Winter")


def release_label(major: int) -> str:
    """The release name of an API version: 63 is Spring '25, 65 Winter '26, 66 Spring '26."""
    steps = major - 63
    season = SEASONS[steps % 3]
    year = 25 + steps // 3 + (1 if season == "Winter" else 0)
    return f"{season} '{year:02d}"


def versions(newest: str) -> list[dict[str, str]]:
    """The version list, oldest first, up to the configured newest one."""
    return [
        {
            "label": release_label(major),
            "url": f"/services/data/v{major}.0",
            "version": f"{major}.0",
        }
        for major in range(OLDEST_VERSION, int(float(newest)) + 1)
    ]


def resources(version: str, identity_url: str) -> dict[str, Any]:
    """The resources this mock serves under a version; ``identity`` is absolute."""
    base = f"/services/data/v{version}"
    return {
        "sobjects": f"{base}/sobjects",
        "query": f"{base}/query",
        "queryAll": f"{base}/queryAll",
        "search": f"{base}/search",
        "limits": f"{base}/limits",
        "composite": f"{base}/composite",
        "identity": identity_url,
    }


def check_version(version: str, newest: str) -> None:
    """Retired versions (30.0 and older since Summer '25) are 410, versions not yet out 404."""
    if float(version) < OLDEST_VERSION:
        raise Gone(f"API version {version} has been retired and is no longer available.")
    if float(version) > float(newest) or not version.endswith(".0"):
        raise NotFound()
