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
            "SELECT Id FROM Case WHERE Subject LIKE",
            errors.MalformedQuery,
            "unexpected token: '<EOF>'",
        ),
        ("SELECT", errors.MalformedQuery, "unexpected token: '<EOF>'"),
        (
            "SELECT Id FROM Case LIMIT 99999999999999999999",
            errors.NumberOutsideValidRange,
            "99999999999999999999 is outside the valid range of integers",
        ),
        (
            "SELECT Id FROM Case WHERE CreatedDate = LAST_N_DAYS:2147483648",
            errors.NumberOutsideValidRange,
            "2147483648 is outside the valid range of integers",
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


# ---------------------------------------------------------------- the round-2 grammar


def test_parses_relationships_in_like_dates_and_count() -> None:
    text = (
        "SELECT Subject, Contact.Name FROM Case WHERE Status IN ('New', 'Working') AND"
        " Type NOT IN ('Other') AND Subject LIKE 'Mic%'"
        " AND CreatedDate >= 2024-05-01T12:00:00+02:00"
        " AND CreatedDate < LAST_N_DAYS:7"
    )
    query = soql.parse(text)
    assert [field.name for field in query.fields] == ["Subject", "Contact.Name"]
    status_in, type_not_in, like, after, relative = query.where.operands
    assert status_in.op == "IN" and [v.value for v in status_in.value] == ["New", "Working"]
    assert type_not_in.op == "NOT IN"
    assert (like.op, like.value.value) == ("LIKE", "Mic%")
    assert after.value.kind == "datetime"
    assert after.value.value.isoformat() == "2024-05-01T10:00:00"  # UTC, naive like the columns
    assert relative.value == soql.Literal("relative", ("LAST_N_DAYS", 7), text.index("LAST_N"))
    count = soql.parse("select count() from Case")
    assert (count.count, count.fields) == (True, ())


def test_relationships_compile_to_outer_joins_on_aliases() -> None:
    sql, _ = compiled_sql(
        "SELECT Owner.Name, CreatedBy.Name FROM Case WHERE Contact.Email = 'a@b.example'"
    )
    assert 'LEFT OUTER JOIN "user" AS rel_owner ON rel_owner.id = "case".owner_id' in sql
    assert 'LEFT OUTER JOIN "user" AS rel_createdby' in sql
    assert "LEFT OUTER JOIN contact AS rel_contact" in sql


def test_not_equal_and_not_in_also_match_null() -> None:
    sql, _ = compiled_sql("SELECT Id FROM Case WHERE Type != 'Other'")
    assert '"case".type IS NULL' in sql
    sql, _ = compiled_sql("SELECT Id FROM Case WHERE Type NOT IN ('Other')")
    assert '"case".type IS NULL' in sql
    sql, _ = compiled_sql("SELECT Id FROM Case WHERE Type IN ('Other', null)")
    assert '"case".type IS NULL' in sql


def test_like_binds_the_pattern_with_an_escape() -> None:
    sql, params = compiled_sql(r"SELECT Id FROM Case WHERE Subject LIKE '50\%%'")
    assert "LIKE lower(:param_1) ESCAPE '\\'" in sql
    assert params["param_1"] == r"50\%%"


def test_relative_dates_are_whole_utc_days() -> None:
    from datetime import datetime

    now = datetime(2026, 3, 10, 15, 30)
    assert soql.relative_span(("TODAY", None), now) == (
        datetime(2026, 3, 10),
        datetime(2026, 3, 11),
    )
    assert soql.relative_span(("LAST_N_DAYS", 3), now) == (
        datetime(2026, 3, 7),
        datetime(2026, 3, 11),
    )
    # NEXT_N_DAYS starts tomorrow (SOQL reference, "Date Formats and Date Literals").
    assert soql.relative_span(("NEXT_N_DAYS", 1), now) == (
        datetime(2026, 3, 11),
        datetime(2026, 3, 12),
    )


@pytest.mark.parametrize(
    ("text", "error", "detail"),
    [
        (
            "SELECT Foo.Name FROM Case",
            errors.InvalidField,
            "Didn't understand relationship 'Foo' in field path. If you are attempting to use a"
            " custom relationship, be sure to append the '__r' after the custom relationship name."
            " Please reference your WSDL or the describe call for the appropriate names.",
        ),
        (
            "SELECT Contact.Nope FROM Case",
            errors.InvalidField,
            "No such column 'Nope' on entity 'Contact'. If you are attempting to use a custom"
            " field, be sure to append the '__c' after the custom field name. Please reference"
            " your WSDL or the describe call for the appropriate names.",
        ),
        (
            "SELECT Contact.Name, contact.name FROM Case",
            errors.InvalidField,
            "duplicate field selected: Contact.Name",
        ),
        (
            "SELECT Id FROM Case WHERE CreatedDate > 2024-01-01",
            errors.InvalidQueryFilterOperator,
            "value of filter criterion for field 'CreatedDate' must be of type dateTime and should"
            " not be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Case WHERE CreatedDate > '2024-01-01T00:00:00Z'",
            errors.InvalidQueryFilterOperator,
            "value of filter criterion for field 'CreatedDate' must be of type dateTime and should"
            " not be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Case WHERE Subject = TODAY",
            errors.InvalidQueryFilterOperator,
            "value of filter criterion for field 'Subject' must be of type string and should be"
            " enclosed in quotes",
        ),
        (
            "SELECT Id FROM Case WHERE IsClosed LIKE 'x'",
            errors.InvalidQueryFilterOperator,
            "invalid operator on boolean field: IsClosed",
        ),
        (
            "SELECT Id FROM Case WHERE ContactId LIKE '003%'",
            errors.InvalidQueryFilterOperator,
            "invalid operator on reference field: ContactId",
        ),
        (
            "SELECT Id FROM Case OFFSET 2001",
            errors.NumberOutsideValidRange,
            "Maximum SOQL offset allowed is 2000",
        ),
    ],
)
def test_round_two_semantic_errors(text: str, error: type[errors.RestError], detail: str) -> None:
    with pytest.raises(error) as caught:
        soql.compile_soql(text)
    assert caught.value.message.endswith(detail)


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("SELECT Id FROM Case WHERE Status IN ()", ")"),
        ("SELECT Id FROM Case WHERE Status NOT = 'New'", "="),
        ("SELECT Id FROM Case WHERE CreatedDate > 2024-13-01T00:00:00Z", "2024-13-01T00:00:00Z"),
        ("SELECT Id FROM Case WHERE CreatedDate > LAST_N_DAYS", "<EOF>"),
        ("SELECT COUNT(), Id FROM Case", ","),
    ],
)
def test_round_two_malformed_queries(text: str, token: str) -> None:
    with pytest.raises(errors.MalformedQuery) as caught:
        soql.compile_soql(text)
    assert caught.value.message.endswith(f"\nunexpected token: '{token}'")


# ---------------------------------------------------------------- date literals

D = __import__("datetime").datetime
NEW_YEAR = D(2026, 1, 1, 5, 0)  # a Thursday
LEAP_DAY = D(2024, 2, 29, 23, 59)  # a Thursday; its week began Sunday 2024-02-25


@pytest.mark.parametrize(
    ("now", "literal", "start", "end"),
    [
        (NEW_YEAR, ("THIS_WEEK", None), D(2025, 12, 28), D(2026, 1, 4)),
        (NEW_YEAR, ("LAST_WEEK", None), D(2025, 12, 21), D(2025, 12, 28)),
        (NEW_YEAR, ("NEXT_WEEK", None), D(2026, 1, 4), D(2026, 1, 11)),
        (NEW_YEAR, ("LAST_MONTH", None), D(2025, 12, 1), D(2026, 1, 1)),
        (NEW_YEAR, ("THIS_MONTH", None), D(2026, 1, 1), D(2026, 2, 1)),
        (NEW_YEAR, ("NEXT_MONTH", None), D(2026, 2, 1), D(2026, 3, 1)),
        (NEW_YEAR, ("LAST_QUARTER", None), D(2025, 10, 1), D(2026, 1, 1)),
        (NEW_YEAR, ("THIS_QUARTER", None), D(2026, 1, 1), D(2026, 4, 1)),
        (NEW_YEAR, ("NEXT_QUARTER", None), D(2026, 4, 1), D(2026, 7, 1)),
        (NEW_YEAR, ("LAST_YEAR", None), D(2025, 1, 1), D(2026, 1, 1)),
        (NEW_YEAR, ("THIS_YEAR", None), D(2026, 1, 1), D(2027, 1, 1)),
        (NEW_YEAR, ("NEXT_YEAR", None), D(2027, 1, 1), D(2028, 1, 1)),
        (NEW_YEAR, ("YESTERDAY", None), D(2025, 12, 31), D(2026, 1, 1)),
        (NEW_YEAR, ("LAST_90_DAYS", None), D(2025, 10, 3), D(2026, 1, 2)),
        (NEW_YEAR, ("NEXT_90_DAYS", None), D(2026, 1, 2), D(2026, 4, 2)),
        (NEW_YEAR, ("THIS_FISCAL_YEAR", None), D(2026, 1, 1), D(2027, 1, 1)),
        (LEAP_DAY, ("NEXT_MONTH", None), D(2024, 3, 1), D(2024, 4, 1)),
        (LEAP_DAY, ("TOMORROW", None), D(2024, 3, 1), D(2024, 3, 2)),
        (LEAP_DAY, ("N_DAYS_AGO", 3), D(2024, 2, 26), D(2024, 2, 27)),
        (LEAP_DAY, ("LAST_N_WEEKS", 2), D(2024, 2, 11), D(2024, 2, 25)),
        (LEAP_DAY, ("NEXT_N_WEEKS", 1), D(2024, 3, 3), D(2024, 3, 10)),
        (LEAP_DAY, ("N_WEEKS_AGO", 1), D(2024, 2, 18), D(2024, 2, 25)),
        (LEAP_DAY, ("LAST_N_MONTHS", 2), D(2023, 12, 1), D(2024, 2, 1)),
        (LEAP_DAY, ("NEXT_N_MONTHS", 11), D(2024, 3, 1), D(2025, 2, 1)),
        (LEAP_DAY, ("N_MONTHS_AGO", 1), D(2024, 1, 1), D(2024, 2, 1)),
        (LEAP_DAY, ("LAST_N_QUARTERS", 1), D(2023, 10, 1), D(2024, 1, 1)),
        (LEAP_DAY, ("NEXT_N_QUARTERS", 2), D(2024, 4, 1), D(2024, 10, 1)),
        (LEAP_DAY, ("N_QUARTERS_AGO", 4), D(2023, 1, 1), D(2023, 4, 1)),
        (LEAP_DAY, ("THIS_FISCAL_QUARTER", None), D(2024, 1, 1), D(2024, 4, 1)),
        (LEAP_DAY, ("LAST_N_YEARS", 2), D(2022, 1, 1), D(2024, 1, 1)),
        (LEAP_DAY, ("NEXT_N_YEARS", 1), D(2025, 1, 1), D(2026, 1, 1)),
        (LEAP_DAY, ("N_YEARS_AGO", 1), D(2023, 1, 1), D(2024, 1, 1)),
        (LEAP_DAY, ("N_FISCAL_YEARS_AGO", 1), D(2023, 1, 1), D(2024, 1, 1)),
        (D(2026, 3, 8), ("THIS_WEEK", None), D(2026, 3, 8), D(2026, 3, 15)),  # a Sunday
        (NEW_YEAR, ("LAST_N_YEARS", 2147483647), D.min, D(2026, 1, 1)),
        (NEW_YEAR, ("NEXT_N_WEEKS", 2147483647), D(2026, 1, 4), D.max),
        (NEW_YEAR, ("LAST_N_DAYS", 2147483647), D.min, D(2026, 1, 2)),
    ],
)
def test_date_literal_spans(now: Any, literal: Any, start: Any, end: Any) -> None:
    assert soql.relative_span(literal, now) == (start, end)


@pytest.mark.parametrize(
    "text",
    [
        "THIS_MONTH",
        "last_quarter",
        "NEXT_N_FISCAL_QUARTERS:2",
        "N_DAYS_AGO:0",
        "LAST_N_MONTHS:12",
        "NEXT_FISCAL_YEAR",
    ],
)
def test_date_literals_parse(text: str) -> None:
    query = soql.parse(f"SELECT Id FROM Case WHERE CreatedDate = {text}")
    keyword, _, n = text.upper().partition(":")
    assert query.where.value.value == (keyword, int(n) if n else None)


@pytest.mark.parametrize(
    ("text", "token"),
    [("THIS_MONTH:2", ":"), ("N_DAYS_AGO", "<EOF>"), ("LAST_N_WEEKS:-1", "-1")],
)
def test_malformed_date_literals(text: str, token: str) -> None:
    with pytest.raises(errors.MalformedQuery) as caught:
        soql.parse(f"SELECT Id FROM Case WHERE CreatedDate = {text}")
    assert caught.value.message.endswith(f"\nunexpected token: '{token}'")


# ---------------------------------------------------------------- aggregates, subqueries, FIELDS


def test_parses_aggregates_subqueries_fields_and_with() -> None:
    text = (
        "SELECT Status s, COUNT(Id), toLabel(Priority), FIELDS(STANDARD),"
        " (SELECT Id FROM CaseComments ORDER BY CreatedDate LIMIT 5) FROM Case"
        " WITH USER_MODE GROUP BY Status HAVING COUNT(Id) > 1 ORDER BY COUNT(Id) DESC"
    )
    query = soql.parse(text)
    aliased, count, label, fields, sub = query.fields
    assert aliased == soql.Aliased(
        soql.FieldRef("Status", text.index("Status s")), "s", text.index("s,")
    )
    assert count == soql.Aggregate(
        "COUNT", soql.FieldRef("Id", text.index("Id)")), text.index("COUNT")
    )
    assert isinstance(label, soql.ToLabel) and label.field.name == "Priority"
    assert fields == soql.FieldsGroup("STANDARD", text.index("FIELDS"))
    assert isinstance(sub, soql.SubQuery)
    assert (sub.query.sobject, sub.query.limit) == ("CaseComments", 5)
    assert query.security == "USER_MODE"
    assert [ref.name for ref in query.group_by] == ["Status"]
    assert isinstance(query.having.field, soql.Aggregate)
    assert isinstance(query.order_by[0].field, soql.Aggregate) and query.order_by[0].descending


SUBQUERY_FROM = (
    "Didn't understand relationship 'Comments' in FROM part of query call. If you are attempting"
    " to use a custom relationship, be sure to append the '__r' after the custom relationship"
    " name. Please reference your WSDL or the describe call for the appropriate names."
)


@pytest.mark.parametrize(
    ("text", "error", "detail"),
    [
        (
            "SELECT Subject, COUNT(Id) FROM Case GROUP BY Status",
            errors.MalformedQuery,
            "Field must be grouped or aggregated: Subject",
        ),
        (
            "SELECT Subject, COUNT(Id) FROM Case",
            errors.MalformedQuery,
            "Field must be grouped or aggregated: Subject",
        ),
        (
            "SELECT Status FROM Case GROUP BY Status ORDER BY Subject",
            errors.MalformedQuery,
            "Ordered field must be grouped or aggregated: Subject",
        ),
        (
            "SELECT Status FROM Case GROUP BY Status HAVING Subject = 'x'",
            errors.MalformedQuery,
            "Field must be grouped or aggregated: Subject",
        ),
        (
            "SELECT Id FROM Case ORDER BY COUNT(Id)",
            errors.MalformedQuery,
            "Field must be grouped or aggregated: Id",
        ),
        (
            "SELECT COUNT() FROM Case GROUP BY Status",
            errors.MalformedQuery,
            "COUNT() can not be used with GROUP BY; use COUNT(fieldName) instead",
        ),
        (
            "SELECT SUM(Subject) FROM Case",
            errors.MalformedQuery,
            "field Subject does not support aggregate operator SUM",
        ),
        (
            "SELECT AVG(CreatedDate) FROM Case",
            errors.MalformedQuery,
            "field CreatedDate does not support aggregate operator AVG",
        ),
        (
            "SELECT MAX(IsClosed) FROM Case",
            errors.MalformedQuery,
            "field IsClosed does not support aggregate operator MAX",
        ),
        (
            "SELECT COUNT(Description) FROM Case",
            errors.MalformedQuery,
            "field Description does not support aggregate operator COUNT",
        ),
        (
            "SELECT CreatedDate, COUNT(Id) FROM Case GROUP BY CreatedDate",
            errors.InvalidField,
            "field 'CreatedDate' can not be grouped in a query call",
        ),
        (
            "SELECT Status n, COUNT(Id) n FROM Case GROUP BY Status",
            errors.MalformedQuery,
            "duplicate alias: n",
        ),
        (
            "SELECT Contact.Name, Owner.Name FROM Case GROUP BY Contact.Name, Owner.Name",
            errors.MalformedQuery,
            "duplicate alias: Name",
        ),
        (
            "SELECT Id i FROM Case",
            errors.MalformedQuery,
            "only aggregate expressions use field aliasing",
        ),
        (
            "SELECT Status, (SELECT Id FROM CaseComments) FROM Case GROUP BY Status",
            errors.MalformedQuery,
            "Grouped query cannot use child relationships in the SELECT list",
        ),
        ("SELECT Id, (SELECT Id FROM Comments) FROM Case", errors.InvalidType, SUBQUERY_FROM),
        (
            "SELECT Id, (SELECT Nope FROM CaseComments) FROM Case",
            errors.InvalidField,
            soql.no_such_column("Nope", "CaseComment"),
        ),
        (
            "SELECT Id, (SELECT Id FROM CaseComments), (SELECT Id FROM casecomments) FROM Case",
            errors.MalformedQuery,
            "duplicate field selected: CaseComments",
        ),
        (
            "SELECT Id, (SELECT MAX(Id) FROM CaseComments) FROM Case",
            errors.MalformedQuery,
            "unexpected token: '('",
        ),
        (
            "SELECT FIELDS(ALL) FROM Case",
            errors.MalformedQuery,
            "The SOQL FIELDS function must have a LIMIT of at most 200",
        ),
        (
            "SELECT FIELDS(CUSTOM) FROM Case LIMIT 201",
            errors.MalformedQuery,
            "The SOQL FIELDS function must have a LIMIT of at most 200",
        ),
        (
            "SELECT Id, (SELECT FIELDS(ALL) FROM CaseComments) FROM Case",
            errors.MalformedQuery,
            "The SOQL FIELDS function must have a LIMIT of at most 200",
        ),
        (
            "SELECT Id, FIELDS(STANDARD) FROM Case",
            errors.InvalidField,
            "duplicate field selected: Id",
        ),
        (
            "SELECT toLabel(Subject) FROM Case",
            errors.InvalidField,
            "toLabel() can only be used on picklist fields: Subject",
        ),
        (
            "SELECT Status FROM Case GROUP BY Status HAVING COUNT(Id) > '1'",
            errors.InvalidQueryFilterOperator,
            "value of filter criterion for aggregate COUNT must be of type number and should not"
            " be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Account WHERE NumberOfEmployees = '5'",
            errors.InvalidQueryFilterOperator,
            "value of filter criterion for field 'NumberOfEmployees' must be of type integer and"
            " should not be enclosed in quotes",
        ),
    ],
)
def test_aggregate_subquery_and_fields_errors(
    text: str, error: type[errors.RestError], detail: str
) -> None:
    with pytest.raises(error) as caught:
        soql.compile_soql(text)
    assert caught.value.message.endswith("\n" + detail)


def test_an_ungrouped_field_error_points_at_the_field() -> None:
    with pytest.raises(errors.MalformedQuery) as caught:
        soql.compile_soql("SELECT Status, Subject, COUNT(Id) FROM Case GROUP BY Status")
    assert "\nERROR at Row:1:Column:16\n" in caught.value.message


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("SELECT Id FROM Case WITH DATA CATEGORY Geography__c AT asia__c", "DATA"),
        ("SELECT Id, (SELECT Id, (SELECT Id FROM CaseComments) FROM CaseComments) FROM Case", "("),
        ("SELECT FIELDS(EVERYTHING) FROM Case", "EVERYTHING"),
        ("SELECT Id FROM Case WHERE COUNT(Id) > 1", "("),
        ("SELECT Id FROM Case HAVING COUNT(Id) > 1", "HAVING"),
        ("SELECT Status FROM Case GROUP BY Status WITH USER_MODE", "WITH"),
        ("SELECT Id FRM Case", "FRM"),
    ],
)
def test_aggregate_and_subquery_syntax_errors(text: str, token: str) -> None:
    with pytest.raises(errors.MalformedQuery) as caught:
        soql.compile_soql(text)
    assert caught.value.message.endswith(f"\nunexpected token: '{token}'")


@pytest.mark.parametrize("mode", ["SECURITY_ENFORCED", "USER_MODE", "SYSTEM_MODE", "user_mode"])
def test_with_security_modes_compile_like_the_plain_query(mode: str) -> None:
    plain = soql.compile_soql("SELECT Id FROM Case WHERE Status = 'New'").stmt.compile()
    secured = soql.compile_soql(f"SELECT Id FROM Case WHERE Status = 'New' WITH {mode}")
    assert str(secured.stmt.compile()) == str(plain)
