"""``POST composite``: up to 25 subrequests in one call (one API call against the budget), each
able to use an earlier one's result through ``@{referenceId.path}``.

A subrequest runs through the app's own REST routes, in a request context of its own inside
the caller's application context: the same session user (so the same sharing), the same
database transaction. With ``allOrNone`` the first failure rolls everything back and every
other subrequest answers PROCESSING_HALTED; without it each subrequest commits on its own and
one that refers to a failed one is not run.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from flask import Response
from flask import current_app
from flask import g
from flask import request
from werkzeug.exceptions import MethodNotAllowed as RoutingMethodNotAllowed
from werkzeug.exceptions import NotFound as RoutingNotFound

from mock_sf.models import db
from mock_sf.rest import collections
from mock_sf.rest.errors import InvalidInput
from mock_sf.rest.errors import JsonParserError
from mock_sf.rest.errors import MethodNotAllowed
from mock_sf.rest.errors import NotFound
from mock_sf.rest.errors import ProcessingHalted
from mock_sf.rest.errors import RestError
from mock_sf.rest.errors import json_response
from mock_sf.rest.errors import load_json
from mock_sf.rest.errors import render_rest_error
from mock_sf.rest.upsert import MultipleMatches
from mock_sf.rest.versions import check_version

MAX_SUBREQUESTS = 25
METHODS = frozenset({"GET", "POST", "PATCH", "PUT", "DELETE"})
INHERITED_HEADERS = frozenset({"accept", "authorization", "content-type"})
REFERENCE_ID = re.compile(r"[A-Za-z0-9_]+")
# @{refId.id}, @{refId.records[0].Id}: a referenceId, then .name and [n] steps.
REFERENCE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")
STEP = re.compile(r"\.([A-Za-z0-9_]+)|\[(\d+)\]")
NOT_DISPATCHED = frozenset({"rest.run_composite"})


class LimitExceeded(RestError):
    error_code = "LIMIT_EXCEEDED"


class InvalidReference(ProcessingHalted):
    """A reference to a subrequest that failed, did not run, or has no such value."""

    def __init__(self, expression: str, reference_id: str) -> None:
        super().__init__(
            f"Invalid reference specified. No value for {expression} found in {reference_id}."
            f" Provided referenceId ('{reference_id}') is either invalid or isn't in the right"
            " order."
        )


@dataclass(frozen=True)
class Subrequest:
    """One entry of ``compositeRequest``."""

    method: str
    url: str
    reference_id: str
    body: Any
    headers: dict[str, str]


@dataclass(frozen=True)
class Result:
    """A subrequest's outcome as ``compositeResponse`` lists it."""

    body: Any
    status: int
    headers: dict[str, str]
    reference_id: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "body": self.body,
            "httpHeaders": self.headers,
            "httpStatusCode": self.status,
            "referenceId": self.reference_id,
        }


def parse(text: str) -> tuple[bool, list[Subrequest]]:
    """``{"allOrNone", "collateSubrequests", "compositeRequest": [...]}``."""
    body = load_json(text)
    if not isinstance(body, dict) or not isinstance(body.get("compositeRequest"), list):
        raise InvalidInput("A compositeRequest array is required")
    entries = body["compositeRequest"]
    if len(entries) > MAX_SUBREQUESTS:
        raise LimitExceeded(f"Maximum number of subrequests exceeded: {MAX_SUBREQUESTS}")
    subrequests: list[Subrequest] = []
    for entry in entries:
        subrequests.append(subrequest(entry, {s.reference_id for s in subrequests}))
    return bool(body.get("allOrNone", False)), subrequests


def subrequest(entry: Any, seen: set[str]) -> Subrequest:
    """One checked subrequest: method, url, a unique referenceId of letters, digits and _."""
    if not isinstance(entry, dict):
        raise JsonParserError("Each subrequest must be a JSON object")
    method, url, reference_id = entry.get("method"), entry.get("url"), entry.get("referenceId")
    if method not in METHODS:
        raise InvalidInput(f"Invalid method for a subrequest: {method}")
    if not isinstance(url, str) or not url.startswith("/services/data/"):
        raise InvalidInput(f"Invalid url for a subrequest: {url}")
    if not isinstance(reference_id, str) or not REFERENCE_ID.fullmatch(reference_id):
        raise InvalidInput(f"Invalid referenceId for a subrequest: {reference_id}")
    if reference_id in seen:
        raise InvalidInput(f"Duplicate referenceId provided in the request: {reference_id}")
    headers = entry.get("httpHeaders") or {}
    if not isinstance(headers, dict) or INHERITED_HEADERS & {str(k).lower() for k in headers}:
        raise InvalidInput("Accept, Authorization and Content-Type are inherited by subrequests")
    return Subrequest(method, url, reference_id, entry.get("body"), {**headers})


def resolve(value: Any, done: dict[str, Result]) -> Any:
    """``value`` with every ``@{…}`` replaced from earlier results (a whole-string reference
    keeps the referenced JSON type)."""
    if isinstance(value, dict):
        return {key: resolve(item, done) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, done) for item in value]
    if not isinstance(value, str):
        return value
    whole = REFERENCE.fullmatch(value)
    if whole:
        return lookup(whole, done)
    return REFERENCE.sub(lambda match: str(lookup(match, done)), value)


def lookup(match: re.Match[str], done: dict[str, Result]) -> Any:
    reference_id, path = match.group(1), match.group(2)
    expression = f"{reference_id}{path}"
    result = done.get(reference_id)
    if result is None or result.status >= 400:
        raise InvalidReference(expression, reference_id)
    value = result.body
    for name, index in STEP.findall(path):
        try:
            value = value[name] if name else value[int(index)]
        except (KeyError, IndexError, TypeError):
            raise InvalidReference(expression, reference_id) from None
    if value is None:
        raise InvalidReference(expression, reference_id)
    return value


def dispatch(sub: Subrequest, url: str, body: Any) -> Result:
    """Run one subrequest through the REST routes, as the caller, in this transaction."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    data = None if body is None else json.dumps(body)
    with app.test_request_context(
        url, method=sub.method, data=data, content_type="application/json", headers=sub.headers
    ):
        response = view_response()
    raw = response.get_data(as_text=True)
    payload = json.loads(raw) if raw else None
    headers = {}
    if response.status_code == 201 and isinstance(payload, dict) and payload.get("id"):
        headers["Location"] = f"{url.partition('?')[0].rstrip('/')}/{payload['id']}"
    return Result(payload, response.status_code, headers, sub.reference_id)


def view_response() -> Response:
    """The routed view's response, errors rendered as the REST routes render them."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        if request.routing_exception is not None:
            raise request.routing_exception
        endpoint = request.url_rule.endpoint if request.url_rule else ""
        if not endpoint.startswith("rest.") or endpoint in NOT_DISPATCHED:
            raise NotFound()
        version = (request.view_args or {}).get("version")
        if version is not None:  # the before_request hook does not run for a subrequest
            check_version(version, current_app.config["API_MAX_VERSION"])
        return app.make_response(app.view_functions[endpoint](**(request.view_args or {})))
    except RoutingMethodNotAllowed as exc:
        allowed = ",".join(sorted(set(exc.valid_methods or ()) - {"OPTIONS"}))
        message = f"HTTP Method '{request.method}' not allowed. Allowed are {allowed}"
        return render_rest_error(MethodNotAllowed(message))
    except RoutingNotFound:
        return render_rest_error(NotFound())
    except MultipleMatches as exc:
        return json_response(exc.urls, 300)
    except RestError as exc:
        return render_rest_error(exc)


def failed(result: Result, all_or_none: bool) -> bool:
    """An error status; under allOrNone a collection with a failed record fails too."""
    return result.status >= 400 or (all_or_none and collections.is_collection_failure(result.body))


def halted(reference_id: str, exc: RestError | None = None) -> Result:
    return Result([(exc or ProcessingHalted()).to_dict()], 400, {}, reference_id)


def run(text: str) -> dict[str, Any]:
    """``POST composite``."""
    all_or_none, subrequests = parse(text)
    g.composite_all_or_none = all_or_none
    done: dict[str, Result] = {}
    results: list[Result] = []
    for position, sub in enumerate(subrequests):
        try:
            url, body = resolve(sub.url, done), resolve(sub.body, done)
        except InvalidReference as exc:
            result = halted(sub.reference_id, exc)
        else:
            result = dispatch(sub, url, body)
        done[sub.reference_id] = result
        results.append(result)
        if not failed(result, all_or_none):
            if not all_or_none:
                db.session.commit()
            continue
        db.session.rollback()
        if all_or_none:
            rest = [halted(s.reference_id) for s in subrequests[position + 1 :]]
            results = [r if r is result else halted(r.reference_id) for r in results] + rest
            break
    return {"compositeResponse": [r.to_dict() for r in results]}
