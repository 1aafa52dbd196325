"""The SOQL tokenizer, parser and compiler."""

from __future__ import annotations

from typing import Any

import pytest

from mock_sf.rest import errors
from mock_sf.rest import soql

PORTAL_QUERY = (
    "SELECT Id, CaseNumber, Subject, Status, Priority, CreatedDate FROM Case "
    "WHERE ContactId = '003000000000001' ORDER BY CreatedDate DESC"
)


def test_parses_the_portal_query() -> None:
    query = soql.parse(PORTAL_QUERY)
    assert [field.name for field in query.fields] == [
        "Id",
        "CaseNumber",
        "Subject",
        "Status",
        "Priority",
        "CreatedDate",
    ]
    assert query.sobject == "Case"
    at = PORTAL_QUERY.index
    assert query.where == soql.Comparison(
        soql.FieldRef("ContactId", at("ContactId")),
        "=",
        soql.Literal("string", "003000000000001", at("'003")),
    )
    assert query.order_by == (
        soql.OrderItem(soql.FieldRef("CreatedDate", at("CreatedDate DESC")), True, None),
    )
    assert query.limit is None


def test_keywords_are_case_insensitive_and_precedence_uses_parentheses() -> None:
    text = (
        "select Id from case where (Status = 'New' or Status = 'Working') and not IsClosed = true "
        "order by CaseNumber asc nulls last limit 5 offset 2"
    )
    query = soql.parse(text)
    assert isinstance(query.where, soql.BoolOp) and query.where.op == "AND"
    inner, negated = query.where.operands
    assert isinstance(inner, soql.BoolOp) and inner.op == "OR"
    assert negated == soql.Not(
        soql.Comparison(
            soql.FieldRef("IsClosed", text.index("IsClosed")),
            "=",
            soql.Literal("boolean", True, text.index("true")),
        )
    )
    assert query.order_by[0].nulls == "LAST"
    assert (query.limit, query.offset) == (5, 2)


def test_string_escapes() -> None:
    query = soql.parse(r"SELECT Id FROM Case WHERE Subject = 'It\'s a \\ test\n'")
    assert query.where.value.value == "It's a \\ test\n"


@pytest.mark.parametrize(
    ("text", "error", "detail"),
    [
        ("SELECT Id FRM Case", errors.MalformedQuery, "unexpected token: 'FRM'"),
        ("SELECT FROM Case", errors.MalformedQuery, "unexpected token: 'FROM'"),
        ("SELECT Id FROM Case WHERE", errors.MalformedQuery, "unexpected token: '<EOF>'"),
        (
            "SELECT Id FROM Case WHERE Subject = 'open",
            errors.MalformedQuery,
            "unexpected token: '''",
        ),
        (
            "SELECT Id FROM Case WHERE Status = 'New' AND Status = 'Working' OR Subject = 'x'",
            errors.MalformedQuery,
            "unexpected token: 'OR'",
        ),
        ("SELECT Id FROM Case LIMIT 1.5", errors.MalformedQuery, "unexpected token: '1.5'"),
        ("SELECT Id FROM Case; DROP TABLE case", errors.MalformedQuery, "unexpected token: ';'"),
        (
            "SELECT Id FROM Case WHERE Subject LIKE 'x%'",
            errors.MalformedQuery,
            "unexpected token: 'LIKE'",
        ),
    ],
)
def test_malformed_queries(text: str, error: type[errors.RestError], detail: str) -> None:
    with pytest.raises(error) as caught:
        soql.compile_soql(text)
    assert caught.value.message.endswith("\n" + detail)


def test_error_message_points_at_the_token() -> None:
    with pytest.raises(errors.MalformedQuery) as caught:
        soql.parse("SELECT Id FRM Case")
    assert caught.value.message == (
        "\nSELECT Id FRM Case\n          ^\nERROR at Row:1:Column:11\nunexpected token: 'FRM'"
    )


@pytest.mark.parametrize(
    ("text", "error", "detail"),
    [
        (
            "SELECT Id, Foo FROM Case",
            errors.InvalidField,
            "No such column 'Foo' on entity 'Case'. If you are attempting to use a custom field,"
            " be sure to append the '__c' after the custom field name. Please reference your WSDL"
            " or the describe call for the appropriate names.",
        ),
        (
            "SELECT Id FROM Acount",
            errors.InvalidType,
            "sObject type 'Acount' is not supported. If you are attempting to use a custom object,"
            " be sure to append the '__c' after the entity name. Please reference your WSDL or the"
            " describe call for the appropriate names.",
        ),
        ("SELECT Id, id FROM Case", errors.InvalidField, "duplicate field selected: Id"),
        (
            "SELECT Id FROM Case WHERE ContactId = 'nope'",
            errors.InvalidQueryFilterOperator,
            "invalid ID field: nope",
        ),
        (
            "SELECT Id FROM Case WHERE IsClosed = 'true'",
            errors.InvalidQueryFilterOperator,
            "value of filter criterion for field 'IsClosed' must be of type boolean and should not"
            " be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Case WHERE Subject = 5",
            errors.InvalidQueryFilterOperator,
            "value of filter criterion for field 'Subject' must be of type string and should be"
            " enclosed in quotes",
        ),
        (
            "SELECT Id FROM Case WHERE Description = 'x'",
            errors.InvalidField,
            "field 'Description' can not be filtered in a query call",
        ),
    ],
)
def test_semantic_errors(text: str, error: type[errors.RestError], detail: str) -> None:
    with pytest.raises(error) as caught:
        soql.compile_soql(text)
    assert caught.value.message.endswith("\n" + detail)


def compiled_sql(text: str) -> tuple[str, dict[str, Any]]:
    compiled = soql.compile_soql(text).stmt.compile()
    return str(compiled), compiled.params


def test_values_are_bound_parameters_never_sql_text() -> None:
    attack = "x' OR '1'='1"
    escaped = attack.replace("'", "\\'")
    sql, params = compiled_sql(f"SELECT Id FROM Case WHERE Subject = '{escaped}'")
    assert attack not in sql
    assert "OR" not in sql
    assert attack in params.values()


def test_fifteen_char_ids_are_compared_in_their_18_char_form() -> None:
    _, params = compiled_sql("SELECT Id FROM Case WHERE ContactId = '001M000000qfPyS'")
    assert "001M000000qfPySIAU" in params.values()


def test_null_comparisons_become_is_null() -> None:
    sql, _ = compiled_sql("SELECT Id FROM Case WHERE ContactId = NULL OR AccountId != NULL")
    assert "contact_id IS NULL" in sql and "account_id IS NOT NULL" in sql
