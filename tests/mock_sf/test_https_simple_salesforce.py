"""mock_sf over HTTPS with a local CA, driven by simple-salesforce as a real client would."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography import x509
from flask import Flask
from simple_salesforce import Salesforce
from simple_salesforce import SalesforceExpiredSession
from simple_salesforce import SalesforceMalformedRequest
from simple_salesforce import SalesforceResourceNotFound
from werkzeug.serving import make_server

from mock_sf import tls


def test_tls_cert_cli_is_idempotent(app: Flask, tmp_path: Path) -> None:
    app.config.update(
        TLS_CA_PATH=str(tmp_path / "tls" / "ca.pem"),
        TLS_CA_KEY_PATH=str(tmp_path / "tls" / "ca-key.pem"),
        TLS_CERT_PATH=str(tmp_path / "tls" / "server.pem"),
        TLS_KEY_PATH=str(tmp_path / "tls" / "server-key.pem"),
    )
    runner = app.test_cli_runner()
    first = runner.invoke(args=["tls-cert"])
    assert first.exit_code == 0, first.output
    assert first.output.splitlines() == [
        "created mock_sf DEV-ONLY TLS files:",
        f"ca: {tmp_path / 'tls' / 'ca.pem'}",
        f"cert: {tmp_path / 'tls' / 'server.pem'}",
        f"key: {tmp_path / 'tls' / 'server-key.pem'}",
    ]
    files = {name: (tmp_path / "tls" / name).read_bytes() for name in ("ca.pem", "server.pem")}
    second = runner.invoke(args=["tls-cert"])
    assert second.output.startswith("kept ")
    assert files == {name: (tmp_path / "tls" / name).read_bytes() for name in files}
    assert (tmp_path / "tls" / "server-key.pem").stat().st_mode & 0o777 == 0o600
    cert = x509.load_pem_x509_certificate(files["server.pem"])
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert san.get_values_for_type(x509.DNSName) == []


def test_default_paths_are_in_the_instance_folder(app: Flask) -> None:
    paths = tls.tls_paths(app)
    assert paths.ca == Path(app.instance_path) / "ca.pem"
    assert (paths.cert.name, paths.key.name) == ("server.pem", "server-key.pem")


@pytest.fixture
def https_url(app: Flask, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """mock_sf served over TLS on a free port in a thread; yields its URL and the CA file."""
    paths = tls.TlsPaths(
        tmp_path / "ca.pem", tmp_path / "ca-key.pem", tmp_path / "s.pem", tmp_path / "s-key.pem"
    )
    tls.ensure_certificates(paths)
    server = make_server("127.0.0.1", 0, app, ssl_context=tls.server_ssl_context(paths))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_port}", paths.ca
    server.shutdown()
    thread.join()
    server.server_close()


def client_session(ca: Path) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # a CA-bundle variable would override verify
    session.verify = str(ca)
    return session


def connect(api: Any, idp: Any, https: tuple[str, Path], sub: str | None = None) -> Salesforce:
    url, ca = https
    token = api.token_for(sub or idp.ADA_SUB)
    return Salesforce(
        instance_url=url, session_id=token, version="59.0", session=client_session(ca)
    )


def test_the_server_certificate_verifies_only_with_our_ca(https_url: tuple[str, Path]) -> None:
    url, ca = https_url
    assert client_session(ca).get(f"{url}/services/data/").status_code == 200
    plain = requests.Session()
    plain.trust_env = False
    with pytest.raises(requests.exceptions.SSLError):
        plain.get(f"{url}/services/data/")


def test_simple_salesforce_create_get_update_query_delete(
    app: Flask, api: Any, idp: Any, https_url: tuple[str, Path]
) -> None:
    sf = connect(api, idp, https_url)
    created = sf.Case.create({"Subject": "Clicker batteries", "Priority": "High"})
    assert (created["success"], created["errors"]) == (True, [])
    case_id = created["id"]

    record = sf.Case.get(case_id)
    assert (record["Subject"], record["Priority"], record["Status"]) == (
        "Clicker batteries",
        "High",
        "New",
    )
    assert sf.Case.update(case_id, {"Status": "Working"}) == 204
    result = sf.query(f"SELECT Id, Status, Contact.Name FROM Case WHERE Id = '{case_id}'")
    assert result["totalSize"] == 1
    [row] = result["records"]
    assert (row["Status"], row["Contact"]["Name"]) == ("Working", "Ada Lovelace")

    fields = {field["name"]: field for field in sf.Case.describe()["fields"]}
    assert [v["value"] for v in fields["Origin"]["picklistValues"]] == ["Phone", "Email", "Web"]

    assert sf.Case.delete(case_id) == 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.Case.get(case_id)
    deleted = sf.query_all(
        f"SELECT Id, IsDeleted FROM Case WHERE Id = '{case_id}'", include_deleted=True
    )
    assert [r["IsDeleted"] for r in deleted["records"]] == [True]


def test_simple_salesforce_query_all_follows_every_page(
    app: Flask, api: Any, idp: Any, https_url: tuple[str, Path]
) -> None:
    app.config["QUERY_BATCH_SIZE"] = 2
    sf = connect(api, idp, https_url)
    for i in range(5):
        sf.Case.create({"Subject": f"Room {i}"})
    first = sf.query("SELECT Subject FROM Case WHERE Subject LIKE 'Room %' ORDER BY Subject")
    assert (first["done"], len(first["records"])) == (False, 2)
    everything = sf.query_all(
        "SELECT Subject FROM Case WHERE Subject LIKE 'Room %' ORDER BY Subject"
    )
    assert everything["totalSize"] == 5 and everything["done"] is True
    assert [r["Subject"] for r in everything["records"]] == [f"Room {i}" for i in range(5)]
    iterated = sf.query_all_iter("SELECT Id FROM Case")
    assert len(list(iterated)) == 7  # her two seeded cases too


def test_simple_salesforce_errors(api: Any, idp: Any, https_url: tuple[str, Path]) -> None:
    url, ca = https_url
    expired = Salesforce(
        instance_url=url,
        session_id="00D000000000000!nope",
        version="59.0",
        session=client_session(ca),
    )
    with pytest.raises(SalesforceExpiredSession) as caught:
        expired.query("SELECT Id FROM Case")
    assert caught.value.content == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
    sf = connect(api, idp, https_url)
    with pytest.raises(SalesforceMalformedRequest) as malformed:
        sf.query("SELECT Id FRM Case")
    assert malformed.value.content[0]["errorCode"] == "MALFORMED_QUERY"


def test_simple_salesforce_limits_upsert_composite_search_and_is_sandbox(
    api: Any, idp: Any, https_url: tuple[str, Path]
) -> None:
    sf = connect(api, idp, https_url)
    limits = sf.limits()
    assert limits["DailyApiRequests"]["Max"] == 15000
    assert sf.api_usage["api-usage"].total == 15000  # parsed from Sforce-Limit-Info
    used = sf.api_usage["api-usage"].used

    assert sf.Case.upsert("Portal_Request_Id__c/req-7", {"Subject": "Stage monitor"}) == 201
    assert sf.Case.upsert("Portal_Request_Id__c/REQ-7", {"Priority": "High"}) == 200
    record = sf.Case.get_by_custom_id("Portal_Request_Id__c", "req-7")
    assert (record["Subject"], record["Priority"]) == ("Stage monitor", "High")

    composite = sf.restful(
        "composite",
        method="POST",
        json={
            "allOrNone": True,
            "compositeRequest": [
                {
                    "method": "POST",
                    "url": "/services/data/v59.0/sobjects/Case",
                    "referenceId": "newCase",
                    "body": {"Subject": "Monitor speaker"},
                },
                {
                    "method": "GET",
                    "url": "/services/data/v59.0/sobjects/Case/@{newCase.id}?fields=Subject",
                    "referenceId": "readBack",
                },
            ],
        },
    )
    created, read = composite["compositeResponse"]
    assert (created["httpStatusCode"], read["body"]["Subject"]) == (201, "Monitor speaker")

    found = sf.search("FIND {monitor} RETURNING Case(Subject ORDER BY Subject)")
    assert [r["Subject"] for r in found["searchRecords"]] == ["Monitor speaker", "Stage monitor"]
    assert [r["Id"] for r in sf.quick_search("stage")["searchRecords"]] == [record["Id"]]
    assert sf.is_sandbox() is False
    assert sf.api_usage["api-usage"].used == used + 7  # seven calls, the composite one of them
