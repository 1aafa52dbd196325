"""jsforce 3, unmodified, against mock_sf over plain HTTP: arrays, upsert, limits, search,
a raw composite request and query (tests/clients/jsforce, installed by `make node-deps`)."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

HARNESS = Path(__file__).resolve().parents[1] / "clients" / "jsforce"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(
    NODE is None or not (HARNESS / "node_modules" / "jsforce").is_dir(),
    reason="jsforce is not installed: run `make node-deps` (needs node and npm)",
)


@pytest.fixture
def http_url(app: Flask) -> Iterator[str]:
    """mock_sf served over HTTP on a free port in a thread (jsforce keeps the scheme)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    server.server_close()


def test_jsforce_drives_collections_upsert_limits_search_composite_and_query(
    api: Any, idp: Any, http_url: str
) -> None:
    token = api.token_for(idp.ADA_SUB)
    run = subprocess.run(
        [str(NODE), "harness.mjs", http_url, token],
        cwd=HARNESS,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)

    good, bad = seen["created"]
    assert (good["success"], good["errors"]) == (True, [])
    assert (bad["success"], bad["errors"][0]["statusCode"]) == (False, "STRING_TOO_LONG")
    case_id = good["id"]
    assert seen["updated"] == [{"id": case_id, "success": True, "errors": []}]
    first, second = seen["retrieved"]
    assert (first["Id"], first["Priority"], second["Subject"]) == (
        case_id,
        "High",
        "Jsforce lectern",
    )
    assert seen["upsertCreated"]["created"] is True
    assert seen["upsertUpdated"]["created"] is False
    assert seen["upsertUpdated"]["id"] == seen["upsertCreated"]["id"]
    assert seen["limits"]["DailyApiRequests"]["Max"] == 15000
    assert [r["Subject"] for r in seen["search"]["searchRecords"]] == [
        "Jsforce clicker",
        "Jsforce lectern",
        "Jsforce upsert",
    ]
    new_case, new_comment = seen["composite"]["compositeResponse"]
    assert (new_case["httpStatusCode"], new_comment["httpStatusCode"]) == (201, 201)
    assert [(r["Subject"], r["Priority"]) for r in seen["query"]["records"]] == [
        ("Jsforce clicker", "High"),
        ("Jsforce composite", "Medium"),
        ("Jsforce lectern", "Medium"),
        ("Jsforce upsert", "Low"),
    ]
    assert seen["destroyed"] == [{"id": second["Id"], "success": True, "errors": []}]
    assert seen["notFound"] == {
        "errorCode": "NOT_FOUND",
        "message": "The requested resource does not exist",
    }
