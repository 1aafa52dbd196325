"""REST API errors as types: each renders as Salesforce's array ``[{"message","errorCode"}]``."""

from __future__ import annotations

from json import JSONDecodeError
from typing import Any

from flask import Response
from flask import json

JSON_CONTENT_TYPE = "application/json;charset=UTF-8"  # jsforce needs ^application/json(;|$)


class RestError(Exception):
    """Base of every /services/data error."""

    error_code = "UNKNOWN_EXCEPTION"
    message = "An unexpected error occurred."
    status_code = 400

    def __init__(self, message: str | None = None, fields: list[str] | None = None) -> None:
        if message is not None:
            self.message = message
        self.fields = fields
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        """One element of the error array."""
        body: dict[str, Any] = {"message": self.message, "errorCode": self.error_code}
        if self.fields is not None:
            body["fields"] = self.fields
        return body


class InvalidSessionId(RestError):
    error_code = "INVALID_SESSION_ID"
    message = "Session expired or invalid"
    status_code = 401


class NotFound(RestError):
    error_code = "NOT_FOUND"
    message = "The requested resource does not exist"
    status_code = 404


class ApiDisabledForOrg(RestError):
    """The user has API Enabled neither from her profile nor from a permission set."""

    error_code = "API_DISABLED_FOR_ORG"
    message = "The REST API is not enabled for this Organization."
    status_code = 403


class Gone(RestError):
    """A retired API version (7.0-30.0 as of Summer '25)."""

    error_code = "GONE"
    status_code = 410


class MethodNotAllowed(RestError):
    error_code = "METHOD_NOT_ALLOWED"
    status_code = 405


class UnknownException(RestError):
    status_code = 500


class ServerUnavailable(RestError):
    """503: the org cannot serve the request now (down for maintenance, overloaded)."""

    error_code = "SERVER_UNAVAILABLE"
    message = "The server is unavailable to handle the request. Try again later."
    status_code = 503


class MalformedQuery(RestError):
    error_code = "MALFORMED_QUERY"


class MalformedSearch(RestError):
    error_code = "MALFORMED_SEARCH"


class InvalidType(RestError):
    error_code = "INVALID_TYPE"


class InvalidField(RestError):
    error_code = "INVALID_FIELD"


class InvalidFieldForInsertUpdate(RestError):
    error_code = "INVALID_FIELD_FOR_INSERT_UPDATE"


class InvalidQueryFilterOperator(RestError):
    error_code = "INVALID_QUERY_FILTER_OPERATOR"


class MalformedId(RestError):
    error_code = "MALFORMED_ID"


class RequiredFieldMissing(RestError):
    error_code = "REQUIRED_FIELD_MISSING"


class StringTooLong(RestError):
    error_code = "STRING_TOO_LONG"


class InvalidPicklistValue(RestError):
    error_code = "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


class InsufficientAccessOnCrossReference(RestError):
    error_code = "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY"


class JsonParserError(RestError):
    error_code = "JSON_PARSER_ERROR"


def load_json(text: str) -> Any:
    """A request body's JSON, or JSON_PARSER_ERROR (also for nesting or numbers too deep or long
    for Python's parser, which would otherwise be a 500)."""
    try:
        return json.loads(text)
    except JSONDecodeError as exc:
        raise JsonParserError(f"{exc.msg} at [line:{exc.lineno}, column:{exc.colno}]") from exc
    except RecursionError as exc:
        raise JsonParserError("The JSON is nested too deeply") from exc
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise JsonParserError(f"Unparseable JSON: {str(exc)[:100]}") from exc


class NumberOutsideValidRange(RestError):
    error_code = "NUMBER_OUTSIDE_VALID_RANGE"


class InvalidQueryLocator(RestError):
    error_code = "INVALID_QUERY_LOCATOR"
    message = "invalid query locator"


class EntityIsDeleted(RestError):
    error_code = "ENTITY_IS_DELETED"
    message = "entity is deleted"
    status_code = 404


class InactiveOwnerOrUser(RestError):
    error_code = "INACTIVE_OWNER_OR_USER"


class DuplicateValue(RestError):
    error_code = "DUPLICATE_VALUE"


class RequestLimitExceeded(RestError):
    error_code = "REQUEST_LIMIT_EXCEEDED"
    message = "TotalRequests Limit exceeded."
    status_code = 403


class MissingArgument(RestError):
    error_code = "MISSING_ARGUMENT"


class ExceededIdLimit(RestError):
    error_code = "EXCEEDED_ID_LIMIT"
    message = "record limit reached. cannot submit more than 200 records into this call"


class InvalidInput(RestError):
    error_code = "INVALID_INPUT"


class InsufficientAccessOrReadonly(RestError):
    error_code = "INSUFFICIENT_ACCESS_OR_READONLY"
    message = "insufficient access rights on object id"


class AllOrNoneRolledBack(RestError):
    error_code = "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    message = (
        "Record rolled back because not all records were valid and the request was using"
        " AllOrNone header"
    )


class ProcessingHalted(RestError):
    error_code = "PROCESSING_HALTED"
    message = (
        "The transaction was rolled back since another operation in the same transaction failed."
    )


def json_response(data: Any, status: int = 200) -> Response:
    """A REST JSON response with Salesforce's exact content type."""
    return Response(json.dumps(data), status=status, content_type=JSON_CONTENT_TYPE)


def render_rest_error(exc: RestError) -> Response:
    """The one renderer for the REST dialect."""
    return json_response([exc.to_dict()], exc.status_code)
