"""``/services/data``: versions, resources, sobjects, query and search, on My Domain and again
under the Experience Cloud site path. Supported versions only (retired ones answer 410, unknown
ones 404); trailing slash optional on every route; errors always as Salesforce's JSON array.
"""

from __future__ import annotations

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import current_app
from flask import g
from flask import request
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from werkzeug.routing import BaseConverter

from mock_sf import ids
from mock_sf.models import Organization
from mock_sf.models import db
from mock_sf.rest import collections
from mock_sf.rest import composite
from mock_sf.rest import describe
from mock_sf.rest import limits
from mock_sf.rest import query
from mock_sf.rest import sobjects
from mock_sf.rest import sosl
from mock_sf.rest import upsert
from mock_sf.rest import versions
from mock_sf.rest.auth import authenticate
from mock_sf.rest.errors import NotFound
from mock_sf.rest.errors import RestError
from mock_sf.rest.errors import json_response
from mock_sf.rest.errors import render_rest_error


class VersionConverter(BaseConverter):
    """``v66.0`` -> ``"66.0"``."""

    regex = r"v\d+\.\d"

    def to_python(self, value: str) -> str:
        return value[1:]

    def to_url(self, value: str) -> str:
        return f"v{value}"


bp = Blueprint("rest", __name__, url_prefix="/services/data")
bp.record_once(lambda state: state.app.url_map.converters.setdefault("version", VersionConverter))
bp.register_error_handler(RestError, render_rest_error)
bp.register_error_handler(upsert.MultipleMatches, lambda exc: json_response(exc.urls, 300))
SITE_BLUEPRINT = "rest_site"
PUBLIC_VIEWS = frozenset({"list_versions"})


def init_app(app: Flask) -> None:
    """The REST API on My Domain and, as Salesforce serves it, under the site path prefix."""
    app.register_blueprint(bp)
    prefix = (app.config.get("SITE_PATH_PREFIX") or "").strip("/")
    if prefix:
        app.register_blueprint(bp, name=SITE_BLUEPRINT, url_prefix=f"/{prefix}/services/data")


def view_name() -> str:
    """The endpoint without its blueprint (the same view answers on both prefixes)."""
    return (request.endpoint or "").rpartition(".")[2]


@bp.before_request
def check_version_and_session() -> None:
    """A supported version, then a live session for every resource but the version list, and
    each call is counted."""
    version = (request.view_args or {}).get("version")
    if version is not None:
        versions.check_version(version, current_app.config["API_MAX_VERSION"])
    if view_name() not in PUBLIC_VIEWS:
        g.sf_user = authenticate(request.headers.get("Authorization")).user
        g.api_usage = limits.count_call(org_id(), current_app.config["DAILY_API_REQUESTS"])


def org_id() -> str:
    """The one org this mock serves."""
    return db.session.scalar(_ORG_ID) or ""


_ORG_ID = select(Organization.id)  # built once: every REST call reads it


@bp.after_request
def end_transaction(response: Response) -> Response:
    """One transaction per call: a success commits, an error rolls back what it wrote."""
    if response.status_code < 400:
        db.session.commit()
    else:
        db.session.rollback()
    return response


@bp.after_request
def limit_info(response: Response) -> Response:
    """``Sforce-Limit-Info`` on every response, uncounted calls showing today's usage."""
    if g.get("database_unavailable"):  # the usage is in the database: no header this time
        return response
    try:
        usage = g.get("api_usage") or limits.current_usage(
            org_id(), current_app.config["DAILY_API_REQUESTS"]
        )
    except OperationalError as exc:  # the version list needs no database, only this header
        current_app.logger.error("database unavailable: %s", exc.orig or exc)
        return response
    response.headers["Sforce-Limit-Info"] = usage.header
    return response


@bp.get("/", strict_slashes=False)
def list_versions() -> Response:
    """The API versions (no auth)."""
    return json_response(versions.versions(current_app.config["API_MAX_VERSION"]))


@bp.get("/<version:version>/", strict_slashes=False)
def list_resources(version: str) -> Response:
    """The resources of one version, with the caller's absolute identity URL."""
    identity = f"{current_app.config['SF_URL']}/id/{org_id()}/{g.sf_user.id}"
    return json_response(versions.resources(version, identity))


@bp.get("/<version:version>/limits/", strict_slashes=False)
def get_limits(version: str) -> Response:
    """The org's limits, DailyApiRequests counting this call."""
    return json_response(limits.limits(g.api_usage))


@bp.get("/<version:version>/query/", strict_slashes=False)
@bp.get("/<version:version>/queryAll/", strict_slashes=False, endpoint="run_query_all")
def run_query(version: str) -> Response:
    """SOQL query (queryAll: soft-deleted records too), first batch."""
    resource = "queryAll" if view_name() == "run_query_all" else "query"
    return json_response(
        query.run_query(
            request.args.get("q"),
            g.sf_user,
            version,
            include_deleted=resource == "queryAll",
            batch=query.batch_size(current_app.config, request.headers.get("Sforce-Query-Options")),
            lifetime_seconds=current_app.config["QUERY_LOCATOR_LIFETIME"],
            resource=resource,
        )
    )


@bp.get("/<version:version>/query/<locator>", strict_slashes=False)
@bp.get("/<version:version>/queryAll/<locator>", strict_slashes=False, endpoint="query_more_all")
def query_more(version: str, locator: str) -> Response:
    """The next batch at a ``nextRecordsUrl``."""
    resource = "queryAll" if view_name() == "query_more_all" else "query"
    lifetime = current_app.config["QUERY_LOCATOR_LIFETIME"]
    return json_response(
        query.query_more(locator, g.sf_user, version, lifetime_seconds=lifetime, resource=resource)
    )


@bp.get("/<version:version>/search/", strict_slashes=False)
def run_search(version: str) -> Response:
    """SOSL search over the Cases the caller may see."""
    return json_response(sosl.run_search(request.args.get("q"), g.sf_user, version))


@bp.get("/<version:version>/sobjects/", strict_slashes=False)
def list_sobjects(version: str) -> Response:
    """The objects this mock serves."""
    return json_response(describe.global_describe(version))


@bp.get("/<version:version>/sobjects/<sobject>/", strict_slashes=False)
def sobject_info(version: str, sobject: str) -> Response:
    """Basic information about one object."""
    return json_response(describe.basic_info(sobject, version))


@bp.get("/<version:version>/sobjects/<sobject>/describe/", strict_slashes=False)
def describe_sobject(version: str, sobject: str) -> Response:
    """Full describe: fields with types, lengths, picklist values."""
    return json_response(describe.full_describe(sobject, version, g.sf_user))


@bp.post("/<version:version>/sobjects/<sobject>/", strict_slashes=False)
def create_record(version: str, sobject: str) -> Response:
    """Create a record (Case, CaseComment)."""
    create = sobjects.CREATORS.get(sobject.lower())
    if create is None:
        raise NotFound()
    body = sobjects.parse_body(request.get_data(as_text=True), describe.described(sobject))
    record_id = create(body, g.sf_user)
    return json_response({"id": record_id, "errors": [], "success": True}, 201)


@bp.patch("/<version:version>/sobjects/<sobject>/<record_id>/", strict_slashes=False)
def update_record(version: str, sobject: str, record_id: str) -> Response:
    """Update a Case: 204 No Content."""
    update = sobjects.UPDATERS.get(sobject.lower())
    if update is None:
        raise NotFound()
    body = sobjects.parse_body(request.get_data(as_text=True), describe.described(sobject))
    update(id_in_path(record_id), body, g.sf_user)
    return Response(status=204)


@bp.delete("/<version:version>/sobjects/<sobject>/<record_id>/", strict_slashes=False)
def delete_record(version: str, sobject: str, record_id: str) -> Response:
    """Delete a Case (to the recycle bin): 204 No Content."""
    delete = sobjects.DELETERS.get(sobject.lower())
    if delete is None:
        raise NotFound()
    delete(id_in_path(record_id), g.sf_user)
    return Response(status=204)


@bp.get("/<version:version>/sobjects/<sobject>/<record_id>/", strict_slashes=False)
def get_record(version: str, sobject: str, record_id: str) -> Response:
    """Retrieve one record, optionally only ``?fields=``."""
    raw_id = id_in_path(record_id)
    record = sobjects.get_record(sobject, raw_id, request.args.get("fields"), g.sf_user, version)
    return json_response(record)


def id_in_path(segment: str) -> str:
    """A record path's last segment; one that is no id at all is read as an external id field
    that does not exist (404), as Salesforce answers, while an id of another object stays a 400
    MALFORMED_ID."""
    if not ids.looks_like_id(segment):
        raise upsert.not_accessible(segment)
    return segment


@bp.route(
    "/<version:version>/sobjects/<sobject>/<field>/<path:value>",
    methods=["GET", "PATCH", "DELETE"],
    strict_slashes=False,
)
def by_external_id(version: str, sobject: str, field: str, value: str) -> Response:
    """A record by External ID (or ``Id``): GET it, upsert it (PATCH), DELETE it."""
    if request.method == "GET":
        return json_response(upsert.get_by_external_id(sobject, field, value, g.sf_user, version))
    if request.method == "DELETE":
        upsert.delete_by_external_id(sobject, field, value, g.sf_user, version)
        return Response(status=204)
    body = sobjects.parse_body(request.get_data(as_text=True), describe.described(sobject))
    done = upsert.upsert(sobject, field, value, body, g.sf_user, version)
    if done.created:
        return json_response(done.result(version), 201)
    if float(version) < upsert.CREATED_FLAG_VERSION:
        return Response(status=204)
    return json_response(done.result(version), 200)


@bp.post("/<version:version>/sobjects/<sobject>/Id/", strict_slashes=False)
def create_by_null_id(version: str, sobject: str) -> Response:
    """``POST sobjects/Case/Id``: a create, Id being the external id with a null value."""
    return create_record(version, sobject)


@bp.route(
    "/<version:version>/composite/sobjects/",
    methods=["POST", "PATCH", "DELETE"],
    strict_slashes=False,
)
def sobject_collection(version: str) -> Response:
    """sObject Collections: create (POST), update (PATCH), delete (DELETE ?ids=)."""
    if request.method == "DELETE":
        args = request.args
        results = collections.delete(args.get("ids"), args.get("allOrNone"), g.sf_user)
    elif request.method == "PATCH":
        results = collections.update(request.get_data(as_text=True), g.sf_user)
    else:
        results = collections.create(request.get_data(as_text=True), g.sf_user)
    return json_response(results)


@bp.route(
    "/<version:version>/composite/sobjects/<sobject>/",
    methods=["GET", "POST"],
    strict_slashes=False,
)
def retrieve_collection(version: str, sobject: str) -> Response:
    """Retrieve records by id: ``?ids=&fields=``, or POST ``{"ids", "fields"}`` for long lists."""
    if request.method == "POST":
        raw_ids, raw_fields = collections.retrieve_body(request.get_data(as_text=True))
    else:
        raw_ids, raw_fields = request.args.get("ids"), request.args.get("fields")
    return json_response(collections.retrieve(sobject, raw_ids, raw_fields, g.sf_user, version))


@bp.patch("/<version:version>/composite/sobjects/<sobject>/<field>/", strict_slashes=False)
def upsert_collection(version: str, sobject: str, field: str) -> Response:
    """Upsert up to 200 records by an External ID field."""
    text = request.get_data(as_text=True)
    return json_response(collections.upsert_many(text, sobject, field, g.sf_user, version))


@bp.post("/<version:version>/composite/", strict_slashes=False)
def run_composite(version: str) -> Response:
    """Composite: subrequests with references between them, counted as one call."""
    return json_response(composite.run(request.get_data(as_text=True)))
