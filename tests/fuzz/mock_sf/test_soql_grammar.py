"""SOQL generated from the grammar in mock_sf/rest/soql.py's docstring, and near misses of it.

Valid queries draw objects, fields and relationships from describe, every operator, literals of
each kind (huge numbers, dates and datetimes at the ends of the calendar, relative dates with
huge n), NOT chains and nested parentheses past the parser's limit, aggregates with GROUP BY and
HAVING, child subqueries, ORDER BY, LIMIT and OFFSET. Near-valid ones are the same queries with
a token dropped, doubled, swapped or replaced. Every one answers 200 or a 400 in the REST
dialect with one of the parser's codes, never 5xx, and changes nothing stored; SOSL's RETURNING
clause (the same parser) too.
"""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from mock_sf.rest.describe import PARENTS
from mock_sf.rest.describe import SOBJECTS
from mock_sf.rest.soql import MAX_NESTING
from mock_sf.rest.soql import RELATIVE_DATES
from mock_sf.rest.soql import RELATIVE_N_DATES
from tests.fuzz.harness import differences
from tests.fuzz.harness import fuzz_settings

ERROR_CODES = {
    "MALFORMED_QUERY",
    "MALFORMED_SEARCH",
    "INVALID_FIELD",
    "INVALID_TYPE",
    "INVALID_QUERY_FILTER_OPERATOR",
    "NUMBER_OUTSIDE_VALID_RANGE",
    "MALFORMED_ID",
}
OBJECTS = ("Case", "CaseComment", "User", "Contact", "Account")
CHILDREN = {
    "Case": {"CaseComments": "CaseComment"},
    "Account": {"Cases": "Case", "Contacts": "Contact"},
    "Contact": {"Cases": "Case"},
}
AGGREGATES = ("COUNT", "COUNT_DISTINCT", "MIN", "MAX", "SUM", "AVG")
OPERATORS = ("=", "!=", "<>", "<", "<=", ">", ">=")
MODES = ("SECURITY_ENFORCED", "USER_MODE", "SYSTEM_MODE")
TOKEN = re.compile(r"'(?:\\.|[^'\\])*'|\w[\w.:-]*|[^\s\w]")
JUNK = "( ) , ' : = NOT AND OR IN SELECT FROM WHERE LIMIT \\ % 2026-13-45 COUNT()".split()
JUNK += ["9" * 70, "FIELDS(ALL)", "ORDER BY", "GROUP BY"]


def keyword(word: str) -> st.SearchStrategy[str]:
    """A keyword in upper, lower or its own case (SOQL keywords are case-insensitive)."""
    return st.sampled_from([word, word.lower(), word.capitalize()])


def field_names(name: str) -> list[str]:
    """An object's fields, and its parents' fields through each relationship (one level)."""
    sobject = SOBJECTS[name.lower()]
    names = [field.name for field in sobject.fields]
    for field in sobject.fields:
        parent = PARENTS.get(field.reference_to or "")
        if field.relationship_name and parent is not None:
            names += [f"{field.relationship_name}.{other.name}" for other in parent.fields[:6]]
    return names


def fields(name: str) -> st.SearchStrategy[str]:
    """A field of the object, one time in ten one it lacks."""
    lacking = st.sampled_from(["Nope", "Contact.Nope", "Id.Id", "a" * 300, "Case", "x__c"])
    return st.integers(0, 9).flatmap(
        lambda n: lacking if n == 9 else st.sampled_from(field_names(name))
    )


def quoted(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


STRINGS = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30).map(
    quoted
) | st.sampled_from(["'%'", "'\\%'", "'\\_x'", "'500000000000001AAA'", "'\\u0041'", "''"])
NUMBERS = st.one_of(
    st.integers(-(2**40), 2**40).map(str),
    st.integers(10**18, 10**80).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
    st.sampled_from(["2147483647", "2147483648", "-0", "0.5", "9" * 64, "9" * 65]),
)
DATES = st.dates().map(lambda day: day.isoformat())
OFFSETS = st.sampled_from(["Z", "+00:00", "-14:00", "+23:59", "+05:30"])
DATETIMES = st.builds(
    lambda moment, offset, millis: (
        moment.strftime("%Y-%m-%dT%H:%M:%S")
        + (f".{moment.microsecond // 1000:03d}" if millis else "")
        + offset
    ),
    st.datetimes(),
    OFFSETS,
    st.booleans(),
).map(lambda text: text.rjust(len(text), "0"))
RELATIVE = st.sampled_from(sorted(RELATIVE_DATES)) | st.builds(
    "{}:{}".format,
    st.sampled_from(sorted(RELATIVE_N_DATES)),
    st.integers(0, 10**12) | st.just(2**31),
)
LITERALS = st.one_of(
    STRINGS,
    NUMBERS,
    keyword("TRUE"),
    keyword("FALSE"),
    keyword("NULL"),
    DATES,
    DATETIMES,
    RELATIVE,
)


@st.composite
def comparison(draw: Any, name: str, aggregates: bool = False) -> str:
    """operand op value | operand [NOT] IN (values) | operand LIKE 'pattern'."""
    operand = draw(fields(name))
    if aggregates and draw(st.booleans()):
        operand = f"{draw(st.sampled_from(AGGREGATES))}({operand})"
    form = draw(st.sampled_from(["op", "in", "not in", "like"]))
    if form == "op":
        return f"{operand} {draw(st.sampled_from(OPERATORS))} {draw(LITERALS)}"
    if form == "like":
        return f"{operand} {draw(keyword('LIKE'))} {draw(STRINGS)}"
    values = draw(st.lists(LITERALS, min_size=1, max_size=4))
    return f"{operand} {form.upper()} ({', '.join(values)})"


def condition(name: str, aggregates: bool = False) -> st.SearchStrategy[str]:
    """cond: comparisons joined by one of AND/OR, NOT, parentheses; and long NOT and
    parenthesis chains around the parser's nesting limit and far past it."""
    base = comparison(name, aggregates)
    tree = st.recursive(
        base,
        lambda inner: st.one_of(
            inner.map(lambda cond: f"NOT {cond}"),
            inner.map(lambda cond: f"({cond})"),
            st.builds(
                lambda op, parts: f" {op} ".join(f"({part})" for part in parts),
                st.sampled_from(["AND", "OR"]),
                st.lists(inner, min_size=2, max_size=3),
            ),
        ),
        max_leaves=6,
    )
    chains = st.builds(
        lambda depth, cond, nots: (
            "NOT " * depth + cond if nots else "(" * depth + cond + ")" * depth
        ),
        st.integers(MAX_NESTING - 3, MAX_NESTING + 3) | st.integers(0, 300),
        base,
        st.booleans(),
    )
    return st.one_of(tree, tree, tree, chains)


@st.composite
def order_by(draw: Any, name: str, aggregates: bool = False) -> str:
    items = []
    for _ in range(draw(st.integers(1, 2))):
        operand = draw(fields(name))
        if aggregates and draw(st.booleans()):
            operand = f"{draw(st.sampled_from(AGGREGATES))}({operand})"
        direction = draw(st.sampled_from(["", " ASC", " DESC"]))
        nulls = draw(st.sampled_from(["", " NULLS FIRST", " NULLS LAST"]))
        items.append(operand + direction + nulls)
    return " ORDER BY " + ", ".join(items)


INTEGERS = st.integers(0, 2500) | st.integers(2**31 - 2, 2**31 + 2) | st.integers(0, 10**30)


@st.composite
def subquery(draw: Any, name: str) -> str:
    relationship, child = draw(st.sampled_from(sorted(CHILDREN[name].items())))
    items = draw(st.lists(fields(child), min_size=1, max_size=3))
    text = f"(SELECT {', '.join(items)} FROM {relationship}"
    if draw(st.booleans()):
        text += f" WHERE {draw(condition(child))}"
    if draw(st.booleans()):
        text += draw(order_by(child))
    if draw(st.booleans()):
        text += f" LIMIT {draw(INTEGERS)}"
    return text + ")"


@st.composite
def soql(draw: Any) -> str:
    """query := SELECT select FROM object [WHERE] [WITH] [GROUP BY [HAVING]] [ORDER BY]
    [LIMIT] [OFFSET]."""
    name = draw(st.sampled_from(OBJECTS))
    grouped = draw(st.integers(0, 3)) == 0
    if grouped:
        group = draw(st.lists(fields(name), min_size=1, max_size=2))
        aggregates = [
            f"{draw(st.sampled_from(AGGREGATES))}({draw(fields(name))})"
            + draw(st.sampled_from(["", " n", " total"]))
            for _ in range(draw(st.integers(1, 2)))
        ]
        select = ", ".join(group + aggregates)
    else:
        kind = draw(st.sampled_from(["fields", "fields", "count", "group", "tolabel"]))
        if kind == "count":
            select = "COUNT()"
        elif kind == "group":
            select = f"FIELDS({draw(st.sampled_from(['ALL', 'CUSTOM', 'STANDARD']))})"
        else:
            items = draw(st.lists(fields(name), min_size=1, max_size=4))
            if kind == "tolabel":
                items.append(f"toLabel({draw(fields(name))})")
            if name in CHILDREN and draw(st.booleans()):
                items.append(draw(subquery(name)))
            select = ", ".join(items)
    text = f"{draw(keyword('SELECT'))} {select} {draw(keyword('FROM'))} {name}"
    if draw(st.booleans()):
        text += f" {draw(keyword('WHERE'))} {draw(condition(name))}"
    if draw(st.integers(0, 5)) == 0:
        text += f" WITH {draw(st.sampled_from(MODES))}"
    if grouped:
        text += f" GROUP BY {', '.join(group)}"
        if draw(st.booleans()):
            text += f" HAVING {draw(condition(name, aggregates=True))}"
    if draw(st.booleans()):
        text += draw(order_by(name, aggregates=grouped))
    if draw(st.booleans()):
        text += f" LIMIT {draw(INTEGERS)}"
    if draw(st.integers(0, 3)) == 0:
        text += f" OFFSET {draw(INTEGERS)}"
    return text


@st.composite
def near_soql(draw: Any) -> str:
    """A valid query with one to three tokens dropped, doubled, swapped or replaced by junk."""
    tokens = TOKEN.findall(draw(soql()))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(tokens) - 1))
        edit = draw(st.sampled_from(["drop", "double", "swap", "junk"]))
        if edit == "drop" and len(tokens) > 1:
            del tokens[at]
        elif edit == "double":
            tokens.insert(at, tokens[at])
        elif edit == "swap" and at + 1 < len(tokens):
            tokens[at], tokens[at + 1] = tokens[at + 1], tokens[at]
        else:
            tokens[at] = draw(st.sampled_from(JUNK))
    return " ".join(tokens)


def check(sf: Any, resource: str, text: str, last: dict[str, Any]) -> int:
    """Send `text`; 200, or a 400 with a parser's code in the REST dialect; nothing stored."""
    response = sf.client.get(
        f"/services/data/v66.0/{resource}",
        query_string={"q": text},
        headers={"Authorization": f"Bearer {sf.access_token}"},
    )
    after = sf.snapshot()
    before, last["snapshot"] = last["snapshot"], after
    assert response.status_code in (200, 400), (text, response.status_code, response.text)
    if response.status_code == 400:
        errors = response.get_json()
        assert isinstance(errors, list) and len(errors) == 1, (text, errors)
        assert errors[0]["errorCode"] in ERROR_CODES, (text, errors)
        assert isinstance(errors[0]["message"], str), (text, errors)
        assert differences(before, after) == {}, text
    return response.status_code


def test_queries_from_the_grammar_answer_200_or_a_query_error(sf: Any) -> None:
    last = {"snapshot": sf.snapshot()}
    statuses: list[int] = []

    @fuzz_settings(250)
    @given(text=soql(), resource=st.sampled_from(["query", "queryAll"]))
    def fuzz(text: str, resource: str) -> None:
        statuses.append(check(sf, resource, text, last))

    fuzz()
    assert statuses.count(200) >= 25, "the grammar should yield queries that run"


def test_near_misses_of_the_grammar_answer_200_or_a_query_error(sf: Any) -> None:
    last = {"snapshot": sf.snapshot()}

    @fuzz_settings(250)
    @given(text=near_soql())
    def fuzz(text: str) -> None:
        check(sf, "query", text, last)

    fuzz()


@st.composite
def sosl(draw: Any) -> str:
    """FIND {term} [IN ALL FIELDS | NAME FIELDS] RETURNING Case(fields [WHERE] [ORDER BY]
    [LIMIT]) [LIMIT]: the RETURNING clause runs through the SOQL parser."""
    term = draw(st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12))
    term = re.sub(r"([?&|!{}\[\]()^~*:\\\"'+\-])", r"\\\1", term) or "a"
    text = f"FIND {{{term}}}" + draw(st.sampled_from(["", " IN ALL FIELDS", " IN NAME FIELDS"]))
    items = draw(st.lists(fields("Case"), min_size=1, max_size=3))
    returning = ", ".join(items)
    if draw(st.booleans()):
        returning += f" WHERE {draw(condition('Case'))}"
    if draw(st.booleans()):
        returning += draw(order_by("Case"))
    if draw(st.booleans()):
        returning += f" LIMIT {draw(INTEGERS)}"
    text += f" RETURNING Case({returning})"
    if draw(st.booleans()):
        text += f" LIMIT {draw(INTEGERS)}"
    return text


def test_searches_with_a_returning_clause_answer_200_or_an_error(sf: Any) -> None:
    last = {"snapshot": sf.snapshot()}

    @fuzz_settings(120)
    @given(text=sosl())
    def fuzz(text: str) -> None:
        check(sf, "search", text, last)

    fuzz()
