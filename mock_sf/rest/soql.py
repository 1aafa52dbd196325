"""SOQL: a tokenizer and recursive-descent parser to an AST, and a compiler to SQLAlchemy Core
with bound parameters (values never become SQL text).

Grammar (keywords case-insensitive; ``[]`` optional, ``{}`` repeated)::

    query      := SELECT select FROM object [WHERE cond] [WITH mode]
                  [GROUP BY field {, field} [HAVING cond]] [ORDER BY order {, order}]
                  [LIMIT int] [OFFSET int]
    select     := COUNT ( ) | item {, item}
    item       := (field | aggregate | TOLABEL ( field )) [alias] | FIELDS ( ALL|CUSTOM|STANDARD )
                | ( SELECT subitem {, subitem} FROM childRelationship [WHERE cond]
                    [ORDER BY order {, order}] [LIMIT int] [OFFSET int] )
    aggregate  := (COUNT | COUNT_DISTINCT | MIN | MAX | SUM | AVG) ( field )
    field      := Name | Relationship.Name        e.g. Subject, Contact.Name, Owner.Name
    mode       := SECURITY_ENFORCED | USER_MODE | SYSTEM_MODE
    cond       := unary {AND unary} | unary {OR unary}     (mixing AND/OR needs parentheses)
    unary      := NOT unary | ( cond ) | operand op value | operand [NOT] IN ( value {, value} )
                | operand LIKE 'pattern'
    operand    := field | aggregate (the latter in HAVING and ORDER BY)
    op         := = | != | <> | < | <= | > | >=
    value      := 'string' | number | TRUE | FALSE | NULL | date | datetime | relative
    date       := YYYY-MM-DD
    datetime   := YYYY-MM-DDThh:mm:ss[.sss](Z | +hh:mm | -hh:mm)
    relative   := TODAY | THIS_MONTH | LAST_N_DAYS:n | N_WEEKS_AGO:n | ...  (see relative_span)
    order      := operand [ASC | DESC] [NULLS FIRST | NULLS LAST]

An alias is a word before the next item or FROM, and only aggregate queries take one. Objects:
``Case``, ``CaseComment``, ``User``, ``Contact``, ``Account``. Relationships (one level): Case
``Contact``, ``Account``, ``Owner`` (polymorphic: ``attributes.type`` is ``Name``), ``CreatedBy``,
``LastModifiedBy``; CaseComment ``Parent``, ``CreatedBy``, ``LastModifiedBy``; User and Contact
``Account``; User ``Contact``. A relationship field comes back as a nested record with
``attributes``, or null. Child relationships (one level): Case ``CaseComments``, Account
``Cases`` and ``Contacts``, Contact ``Cases``.

Semantics as in Salesforce: text compares and sorts case-insensitively; logic is two-valued
(``!=``, ``NOT IN`` and ``NOT (x = ...)`` also match NULL); picklists sort (and MIN/MAX) in
picklist order; LIKE takes ``%`` and ``_`` (``\\%``, ``\\_`` literal) on text fields only;
datetime fields take datetime values or date literals like ``THIS_MONTH``, spans of whole
UTC days (a plain ``YYYY-MM-DD`` is a type error); ``OFFSET`` is at most 2,000;
``SELECT COUNT()`` returns only ``totalSize``; aggregate queries return ``AggregateResult``
rows keyed by alias, field name or ``expr0``, ``expr1``...; ``FIELDS(ALL|CUSTOM)`` need
``LIMIT`` <= 200 (no custom fields here); ``WITH`` modes change nothing (sharing always
applies, and there is no field-level security). Errors: MALFORMED_QUERY at the token,
INVALID_FIELD, INVALID_TYPE, INVALID_QUERY_FILTER_OPERATOR, NUMBER_OUTSIDE_VALID_RANGE.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import case
from sqlalchemy import false
from sqlalchemy import func
from sqlalchemy import inspect
from sqlalchemy import literal
from sqlalchemy import not_
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.util import ClauseAdapter

from mock_sf import ids
from mock_sf.models import utcnow
from mock_sf.rest.describe import PARENTS
from mock_sf.rest.describe import Field
from mock_sf.rest.describe import SObject
from mock_sf.rest.describe import get_sobject
from mock_sf.rest.describe import picklist
from mock_sf.rest.errors import InvalidField
from mock_sf.rest.errors import InvalidQueryFilterOperator
from mock_sf.rest.errors import InvalidType
from mock_sf.rest.errors import MalformedQuery
from mock_sf.rest.errors import NumberOutsideValidRange
from mock_sf.rest.errors import RestError

MAX_OFFSET = 2000
MAX_FIELDS_LIMIT = 200  # FIELDS(ALL) and FIELDS(CUSTOM) need LIMIT n with n <= 200
# SOQL integers are 32-bit: a larger LIMIT or LAST_N_DAYS:n is out of range, not an overflow.
MAX_INTEGER = 2**31 - 1
MAX_NUMBER_LENGTH = 64  # characters of a numeric literal; a double's 17 digits fit many times
# Nested parentheses and NOTs recurse: bound them so junk input is a 400, never a RecursionError.
# Each level compiles to one to three levels of SQL, and SQLite's parser overflows its stack past
# about 60 of those (30 NOTs did): 20 leaves room for the sharing filter around the WHERE.
MAX_NESTING = 20

# ---------------------------------------------------------------- tokens

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:\\.|[^'\\])*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2}))?)
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<op>!=|<>|<=|>=|=|<|>)
  | (?P<punct>[,():])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_.]*)
    """,
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_UNITS = ("MONTH", "QUARTER", "YEAR", "FISCAL_QUARTER", "FISCAL_YEAR")
RELATIVE_DATES = frozenset(
    {"TODAY", "YESTERDAY", "TOMORROW", "LAST_90_DAYS", "NEXT_90_DAYS"}
    | {f"{when}_{unit}" for when in ("LAST", "THIS", "NEXT") for unit in ("WEEK", *_UNITS)}
)
RELATIVE_N_DATES = frozenset(
    {"LAST_N_DAYS", "NEXT_N_DAYS", "N_DAYS_AGO", "LAST_N_WEEKS", "NEXT_N_WEEKS", "N_WEEKS_AGO"}
    | {f"{form}_{unit}S" for form in ("LAST_N", "NEXT_N") for unit in _UNITS}
    | {f"N_{unit}S_AGO" for unit in _UNITS}
)


@dataclass(frozen=True)
class Token:
    """A lexeme with its kind and offset in the query text."""

    kind: str  # string | datetime | number | op | punct | ident | eof
    text: str
    pos: int


def tokenize(soql: str, start: int = 0) -> list[Token]:
    """Split a query (from ``start``) into tokens; an unknown character is a MALFORMED_QUERY."""
    tokens: list[Token] = []
    pos = start
    while pos < len(soql):
        match = _TOKEN.match(soql, pos)
        if match is None:
            raise query_error(soql, pos, MalformedQuery, f"unexpected token: '{soql[pos]}'")
        if match.lastgroup != "ws":
            tokens.append(Token(match.lastgroup or "", match.group(), pos))
        pos = match.end()
    tokens.append(Token("eof", "<EOF>", len(soql)))
    return tokens


def unescape(literal: str) -> str:
    """The value of a quoted SOQL string literal (``\\%`` and ``\\_`` stay for LIKE)."""
    body = literal[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), body)


def parse_datetime(text: str) -> datetime:
    """A SOQL datetime literal as the naive UTC datetime the columns store."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value.astimezone(UTC).replace(tzinfo=None)


# ---------------------------------------------------------------- AST


@dataclass(frozen=True)
class FieldRef:
    name: str  # "Subject" or "Contact.Name"
    pos: int


@dataclass(frozen=True)
class Aggregate:
    """``COUNT(Id)``, ``COUNT_DISTINCT(f)``, ``MIN``, ``MAX``, ``SUM``, ``AVG``."""

    function: str
    field: FieldRef
    pos: int


@dataclass(frozen=True)
class ToLabel:
    """``toLabel(Status)``: the picklist label instead of the value."""

    field: FieldRef
    pos: int


@dataclass(frozen=True)
class FieldsGroup:
    """``FIELDS(ALL | CUSTOM | STANDARD)``."""

    group: str
    pos: int


@dataclass(frozen=True)
class SubQuery:
    """``(SELECT ... FROM CaseComments ...)``: a parent-to-child relationship query."""

    query: Query
    pos: int


@dataclass(frozen=True)
class Aliased:
    """A select item with an alias (``COUNT(Id) n``); only aggregate queries take them."""

    item: FieldRef | Aggregate | ToLabel
    alias: str
    pos: int


SelectItem = FieldRef | Aggregate | ToLabel | FieldsGroup | SubQuery | Aliased


@dataclass(frozen=True)
class Literal:
    kind: str  # string | number | boolean | null | date | datetime | relative
    value: Any  # relative: (keyword, n or None)
    pos: int


@dataclass(frozen=True)
class Comparison:
    field: FieldRef | Aggregate  # an aggregate only in HAVING
    op: str  # = != < <= > >= LIKE IN NOT IN
    value: Literal | tuple[Literal, ...]


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND | OR
    operands: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    operand: Condition


Condition = Comparison | BoolOp | Not


@dataclass(frozen=True)
class OrderItem:
    field: FieldRef | Aggregate
    descending: bool = False
    nulls: str | None = None  # FIRST | LAST


@dataclass(frozen=True)
class Query:
    fields: tuple[SelectItem, ...]
    sobject: str
    sobject_pos: int
    where: Condition | None = None
    order_by: tuple[OrderItem, ...] = ()
    limit: int | None = None
    offset: int | None = None
    count: bool = False  # SELECT COUNT()
    group_by: tuple[FieldRef, ...] = ()
    having: Condition | None = None
    security: str | None = None  # WITH SECURITY_ENFORCED | USER_MODE | SYSTEM_MODE


# ---------------------------------------------------------------- parser


class Parser:
    """Recursive descent over the token list; keywords are case-insensitive."""

    def __init__(self, soql: str, start: int = 0) -> None:
        self.soql = soql
        self.tokens = tokenize(soql, start)  # SOSL's RETURNING clause starts mid-text
        self.index = 0
        self.depth = 0
        self.aggregates = False  # HAVING and ORDER BY take COUNT(Id) etc. as operands

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.current
        self.index += 1
        return token

    def at_keyword(self, *words: str) -> bool:
        return self.current.kind == "ident" and self.current.text.upper() in words

    def at_punct(self, text: str) -> bool:
        return self.current.kind == "punct" and self.current.text == text

    def peek(self, ahead: int) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]  # EOF stays EOF

    def at_call(self, *names: str) -> bool:
        """A function name followed by ``(``."""
        following = self.peek(1)
        return self.at_keyword(*names) and following.kind == "punct" and following.text == "("

    def expect_keyword(self, word: str) -> Token:
        if not self.at_keyword(word):
            raise self.unexpected()
        return self.advance()

    def expect(self, kind: str, text: str | None = None) -> Token:
        if self.current.kind != kind or (text is not None and self.current.text != text):
            raise self.unexpected()
        return self.advance()

    def unexpected(self) -> RestError:
        token = self.current
        return query_error(
            self.soql, token.pos, MalformedQuery, f"unexpected token: '{token.text}'"
        )

    def parse(self) -> Query:
        """query := SELECT select FROM ident [WHERE] [WITH] [GROUP BY [HAVING]] [ORDER BY]
        [LIMIT] [OFFSET] EOF."""
        self.expect_keyword("SELECT")
        count, fields = self.select_list(nested=False)
        self.expect_keyword("FROM")
        sobject = self.expect("ident")
        where = self.where_clause()
        security = self.with_clause()
        self.aggregates = True
        group_by, having = self.group_by_clause()
        order_by = self.order_by_clause()
        self.aggregates = False
        limit, offset = self.integer_clause("LIMIT"), self.integer_clause("OFFSET")
        self.expect("eof")
        return Query(
            fields,
            sobject.text,
            sobject.pos,
            where,
            order_by,
            limit,
            offset,
            count,
            group_by,
            having,
            security,
        )

    def clauses(self) -> tuple[Condition | None, tuple[OrderItem, ...], int | None, int | None]:
        """[WHERE] [ORDER BY] [LIMIT] [OFFSET], for subqueries and SOSL's RETURNING clause."""
        where = self.where_clause()
        order_by = self.order_by_clause()
        return where, order_by, self.integer_clause("LIMIT"), self.integer_clause("OFFSET")

    def select_list(self, *, nested: bool) -> tuple[bool, tuple[SelectItem, ...]]:
        """``COUNT()`` alone (the flag), or items; a subquery only at the top level."""
        if not nested and self.at_call("COUNT") and self.peek(2).text == ")":
            self.index += 3
            return True, ()
        items = [self.select_item(nested=nested)]
        while self.at_punct(","):
            self.advance()
            items.append(self.select_item(nested=nested))
        return False, tuple(items)

    def select_item(self, *, nested: bool) -> SelectItem:
        start = self.current
        if not nested and self.at_punct("("):
            return self.subquery()
        if self.at_call("FIELDS"):
            self.index += 2
            if not self.at_keyword("ALL", "CUSTOM", "STANDARD"):
                raise self.unexpected()
            group = self.advance().text.upper()
            self.expect("punct", ")")
            return FieldsGroup(group, start.pos)
        item: FieldRef | Aggregate | ToLabel
        if self.at_call("TOLABEL", *([] if nested else AGGREGATES)):
            self.index += 2
            field = self.field_ref()
            self.expect("punct", ")")
            name = start.text.upper()
            item = (
                ToLabel(field, start.pos)
                if name == "TOLABEL"
                else Aggregate(name, field, start.pos)
            )
        else:
            item = self.field_ref()
        # An alias is a plain word before the next item or FROM (so "Id FRM Case" stays an error).
        following = self.peek(1)
        if (
            self.current.kind == "ident"
            and self.current.text.upper() not in _RESERVED
            and (following.text == "," or following.text.upper() == "FROM")
        ):
            alias = self.advance()
            return Aliased(item, alias.text, alias.pos)
        return item

    def subquery(self) -> SubQuery:
        """``( SELECT items FROM relationship [WHERE] [ORDER BY] [LIMIT] [OFFSET] )``."""
        start = self.advance()
        self.expect_keyword("SELECT")
        _, fields = self.select_list(nested=True)
        self.expect_keyword("FROM")
        relationship = self.expect("ident")
        where, order_by, limit, offset = self.clauses()
        self.expect("punct", ")")
        query = Query(fields, relationship.text, relationship.pos, where, order_by, limit, offset)
        return SubQuery(query, start.pos)

    def where_clause(self) -> Condition | None:
        if not self.at_keyword("WHERE"):
            return None
        self.advance()
        return self.condition()

    def with_clause(self) -> str | None:
        """``WITH SECURITY_ENFORCED | USER_MODE | SYSTEM_MODE`` (no other WITH filters here)."""
        if not self.at_keyword("WITH"):
            return None
        self.advance()
        if not self.at_keyword(*SECURITY_MODES):
            raise self.unexpected()
        return self.advance().text.upper()

    def group_by_clause(self) -> tuple[tuple[FieldRef, ...], Condition | None]:
        if not self.at_keyword("GROUP"):
            return (), None
        self.advance()
        self.expect_keyword("BY")
        fields = [self.field_ref()]
        while self.at_punct(","):
            self.advance()
            fields.append(self.field_ref())
        having = None
        if self.at_keyword("HAVING"):
            self.advance()
            having = self.condition()
        return tuple(fields), having

    def order_by_clause(self) -> tuple[OrderItem, ...]:
        if not self.at_keyword("ORDER"):
            return ()
        self.advance()
        self.expect_keyword("BY")
        items = [self.order_item()]
        while self.at_punct(","):
            self.advance()
            items.append(self.order_item())
        return tuple(items)

    def operand(self) -> FieldRef | Aggregate:
        """A field, or in HAVING and ORDER BY also an aggregate call."""
        if not (self.aggregates and self.at_call(*AGGREGATES)):
            return self.field_ref()
        start = self.advance()
        self.advance()
        field = self.field_ref()
        self.expect("punct", ")")
        return Aggregate(start.text.upper(), field, start.pos)

    def field_ref(self) -> FieldRef:
        if self.current.kind != "ident" or self.current.text.upper() in _RESERVED:
            raise self.unexpected()
        token = self.advance()
        return FieldRef(token.text, token.pos)

    def condition(self) -> Condition:
        """cond := unary ((AND|OR) unary)*, with one operator per level (SOQL needs parens)."""
        operands = [self.unary()]
        op: str | None = None
        while self.at_keyword("AND", "OR"):
            if op is not None and self.current.text.upper() != op:
                raise self.unexpected()
            op = self.advance().text.upper()
            operands.append(self.unary())
        return operands[0] if op is None else BoolOp(op, tuple(operands))

    def unary(self) -> Condition:
        if self.at_keyword("NOT") or self.at_punct("("):
            return self.nested()
        field = self.operand()
        if self.at_keyword("LIKE"):
            self.advance()
            return Comparison(field, "LIKE", self.literal())
        if self.at_keyword("NOT"):
            self.advance()
            if not self.at_keyword("IN"):
                raise self.unexpected()
            self.advance()
            return Comparison(field, "NOT IN", self.value_list())
        if self.at_keyword("IN"):
            self.advance()
            return Comparison(field, "IN", self.value_list())
        op = self.expect("op").text
        return Comparison(field, "!=" if op == "<>" else op, self.literal())

    def nested(self) -> Condition:
        """``NOT unary`` or ``( cond )``, at most MAX_NESTING deep."""
        if self.depth >= MAX_NESTING:
            token = self.current
            raise query_error(
                self.soql,
                token.pos,
                MalformedQuery,
                f"unexpected token: '{token.text}' (more than {MAX_NESTING} nested levels)",
            )
        self.depth += 1
        if self.advance().text == "(":
            node = self.condition()
            self.expect("punct", ")")
        else:
            node = Not(self.unary())
        self.depth -= 1
        return node

    def value_list(self) -> tuple[Literal, ...]:
        self.expect("punct", "(")
        values = [self.literal()]
        while self.at_punct(","):
            self.advance()
            values.append(self.literal())
        self.expect("punct", ")")
        return tuple(values)

    def literal(self) -> Literal:
        token = self.current
        if token.kind == "string":
            self.advance()
            return Literal("string", unescape(token.text), token.pos)
        if token.kind == "number":
            if len(token.text) > MAX_NUMBER_LENGTH:  # int() refuses 4,300 digits with a 500
                raise query_error(
                    self.soql, token.pos, MalformedQuery, f"invalid number: '{token.text[:20]}…'"
                )
            self.advance()
            return Literal(
                "number", float(token.text) if "." in token.text else int(token.text), token.pos
            )
        if token.kind == "datetime":
            if "T" not in token.text:
                self.advance()
                return Literal("date", token.text, token.pos)
            try:
                value = parse_datetime(token.text)
            except (ValueError, OverflowError):  # not a date, or past year 9999 / before 1 in UTC
                raise self.unexpected() from None
            self.advance()
            return Literal("datetime", value, token.pos)
        if self.at_keyword("NULL"):
            self.advance()
            return Literal("null", None, token.pos)
        if self.at_keyword("TRUE", "FALSE"):
            self.advance()
            return Literal("boolean", token.text.upper() == "TRUE", token.pos)
        if self.at_keyword(*RELATIVE_DATES):
            self.advance()
            return Literal("relative", (token.text.upper(), None), token.pos)
        if self.at_keyword(*RELATIVE_N_DATES):
            self.advance()
            self.expect("punct", ":")
            amount = self.expect("number")
            if not amount.text.isdigit():
                raise query_error(
                    self.soql, amount.pos, MalformedQuery, f"unexpected token: '{amount.text}'"
                )
            return Literal("relative", (token.text.upper(), self.bounded(amount)), token.pos)
        raise self.unexpected()

    def order_item(self) -> OrderItem:
        field = self.operand()
        descending = False
        if self.at_keyword("ASC", "DESC"):
            descending = self.advance().text.upper() == "DESC"
        nulls = None
        if self.at_keyword("NULLS"):
            self.advance()
            if not self.at_keyword("FIRST", "LAST"):
                raise self.unexpected()
            nulls = self.advance().text.upper()
        return OrderItem(field, descending, nulls)

    def integer_clause(self, keyword: str) -> int | None:
        if not self.at_keyword(keyword):
            return None
        self.advance()
        token = self.expect("number")
        if not token.text.isdigit():
            raise query_error(
                self.soql, token.pos, MalformedQuery, f"unexpected token: '{token.text}'"
            )
        return self.bounded(token)

    def bounded(self, token: Token) -> int:
        digits = token.text.lstrip("0")
        if len(digits) > len(str(MAX_INTEGER)) or int(digits or "0") > MAX_INTEGER:
            raise query_error(
                self.soql,
                token.pos,
                NumberOutsideValidRange,
                f"{token.text[:20]} is outside the valid range of integers",
            )
        return int(digits or "0")


_RESERVED = frozenset(
    {
        "SELECT",
        "FROM",
        "WHERE",
        "AND",
        "OR",
        "NOT",
        "ORDER",
        "BY",
        "LIMIT",
        "OFFSET",
        "NULL",
        "TRUE",
        "FALSE",
        "LIKE",
        "IN",
        "GROUP",
        "HAVING",
        "WITH",
    }
)
AGGREGATES = frozenset({"COUNT", "COUNT_DISTINCT", "MIN", "MAX", "SUM", "AVG"})
SECURITY_MODES = frozenset({"SECURITY_ENFORCED", "USER_MODE", "SYSTEM_MODE"})


def parse(soql: str) -> Query:
    """Parse a SOQL query into its AST."""
    return Parser(soql).parse()


# ---------------------------------------------------------------- compiler


@dataclass(frozen=True)
class Relationship:
    """A parent reached through a lookup: ``Contact`` on Case, joined as an alias."""

    name: str  # as declared, e.g. "Contact"
    target: SObject
    type_name: str  # attributes.type: the target's name, or "Name" when polymorphic
    id_column: Any  # the parent's id through the alias (null: no parent)


@dataclass(frozen=True)
class Selected:
    """One selected column: the field, its SQL expression, the relationship it sits behind."""

    field: Field
    column: Any
    relationship: Relationship | None = None
    labels: tuple[tuple[str, str], ...] | None = None  # toLabel(): value -> label

    def to_api(self, value: Any) -> Any:
        """The stored value as the API shows it (the label under toLabel)."""
        if self.labels is not None and value is not None:
            return dict(self.labels).get(value, value)
        return self.field.to_api(value)


@dataclass(frozen=True)
class Output:
    """One column of an aggregate result: its key (alias or ``expr0``), SQL, and formatter."""

    key: str
    column: Any
    to_api: Callable[[Any], Any]


@dataclass(frozen=True)
class ChildQuery:
    """A parent-to-child subquery: run once per batch for all its parents (``IN``)."""

    name: str  # the relationship name, the key in each parent record
    compiled: CompiledQuery
    parent_column: Any  # the child's lookup to the parent


@dataclass(frozen=True)
class CompiledQuery:
    """A statement ready to run (without LIMIT/OFFSET, which ``stmt`` adds), and what it selects.

    Aggregate queries select ``outputs`` (no record id); others ``selected`` plus children.
    """

    sobject: SObject
    selected: tuple[Selected, ...]
    base: Select[Any]
    limit: int | None = None
    offset: int | None = None
    count: bool = False
    outputs: tuple[Output, ...] = ()
    aggregate: bool = False
    children: tuple[ChildQuery, ...] = ()

    @property
    def fields(self) -> tuple[Field, ...]:
        return tuple(item.field for item in self.selected)

    @property
    def stmt(self) -> Select[Any]:
        stmt = self.base
        if self.limit is not None:
            stmt = stmt.limit(self.limit)
        if self.offset is not None:
            stmt = stmt.offset(self.offset)
        return stmt


@dataclass
class Joins:
    """Outer joins to parents, one alias per relationship, created on first use."""

    sobject: SObject
    joined: dict[str, tuple[Relationship, Any, Any]] = dataclass_field(default_factory=dict)

    def relationship(self, lookup: Field) -> tuple[Relationship, ClauseAdapter]:
        key = lookup.name
        if key not in self.joined:
            target = PARENTS[lookup.reference_to or ""]
            alias = aliased(target.model, name=f"rel_{lookup.relationship_name}".lower())
            adapter = ClauseAdapter(inspect(alias).selectable)
            condition = adapter.traverse(target.id_column.__clause_element__()) == lookup.column
            type_name = "Name" if lookup.polymorphic else target.name
            rel = Relationship(
                lookup.relationship_name or "",
                target,
                type_name,
                adapter.traverse(target.id_column.__clause_element__()),
            )
            self.joined[key] = (rel, alias, (condition, adapter))
        rel, _, (_, adapter) = self.joined[key]
        return rel, adapter

    def apply(self, stmt: Select[Any]) -> Select[Any]:
        for _, alias, (condition, _) in self.joined.values():
            stmt = stmt.outerjoin(alias, condition)
        return stmt


class Compiler:
    """AST -> SQLAlchemy Core, resolving API names through the describe table."""

    def __init__(self, soql: str, query: Query, sobject: SObject | None = None) -> None:
        self.soql = soql
        self.query = query
        sobject = sobject or get_sobject(query.sobject)
        if sobject is None:
            raise query_error(
                soql,
                query.sobject_pos,
                InvalidType,
                f"sObject type '{query.sobject}' is not supported. If you are attempting to use"
                " a custom object, be sure to append the '__c' after the entity name. Please"
                " reference your WSDL or the describe call for the appropriate names.",
            )
        self.sobject = sobject
        self.joins = Joins(sobject)
        self.grouped: list[Selected] = []
        self.aggregating = False  # plain fields in SELECT, HAVING, ORDER BY must be grouped
        self.in_having = False

    def compile(self) -> CompiledQuery:
        items = self.expand(self.query.fields)
        if self.query.offset is not None and self.query.offset > MAX_OFFSET:
            raise NumberOutsideValidRange(f"Maximum SOQL offset allowed is {MAX_OFFSET}")
        if self.is_aggregate(items):
            return self.compile_aggregate(items)
        selected: list[Selected] = []
        children: list[ChildQuery] = []
        for item in items:
            if isinstance(item, Aliased):
                raise query_error(
                    self.soql,
                    item.pos,
                    MalformedQuery,
                    "only aggregate expressions use field aliasing",
                )
            if isinstance(item, SubQuery):
                children.append(self.child_query(item, children))
                continue
            resolved = self.select_field(item)
            ref = item.field if isinstance(item, ToLabel) else item
            if any(
                s.field is resolved.field and s.relationship == resolved.relationship
                for s in selected
            ):
                name = resolved.field.name
                if resolved.relationship is not None:
                    name = f"{resolved.relationship.name}.{name}"
                raise query_error(
                    self.soql,
                    ref.pos,
                    InvalidField,
                    f"duplicate field selected: {name}",
                )
            selected.append(resolved)
        where = self.condition(self.query.where) if self.query.where is not None else None
        order = [self.order_clause(item) for item in self.query.order_by]
        columns = [self.sobject.id_column.label(ID_LABEL)]
        columns += [item.column.label(f"c{i}") for i, item in enumerate(selected)]
        for name, (rel, _, _) in self.joins.joined.items():
            columns.append(rel.id_column.label(f"{ID_LABEL}_{name}"))
        stmt = self.joins.apply(select(*columns).select_from(self.sobject.model))
        if where is not None:
            stmt = stmt.where(where)
        stmt = stmt.order_by(*order)
        return CompiledQuery(
            self.sobject,
            tuple(selected),
            stmt,
            self.query.limit,
            self.query.offset,
            self.query.count,
            children=tuple(children),
        )

    def expand(self, items: tuple[SelectItem, ...]) -> list[SelectItem]:
        """FIELDS(...) as the fields it stands for; ALL and CUSTOM need a LIMIT of at most 200."""
        expanded: list[SelectItem] = []
        for item in items:
            if not isinstance(item, FieldsGroup):
                expanded.append(item)
                continue
            limit = self.query.limit
            if item.group != "STANDARD" and (limit is None or limit > MAX_FIELDS_LIMIT):
                raise query_error(
                    self.soql,
                    item.pos,
                    MalformedQuery,
                    f"The SOQL FIELDS function must have a LIMIT of at most {MAX_FIELDS_LIMIT}",
                )
            if item.group != "CUSTOM":  # this mock has no custom fields
                expanded += [FieldRef(field.name, item.pos) for field in self.sobject.fields]
        return expanded

    def select_field(self, item: FieldRef | ToLabel) -> Selected:
        """A field of the select list; ``toLabel`` only on picklists."""
        if isinstance(item, FieldRef):
            return self.resolve(item)
        resolved = self.resolve(item.field)
        field = resolved.field
        if field.type != "picklist":
            raise query_error(
                self.soql,
                item.field.pos,
                InvalidField,
                f"toLabel() can only be used on picklist fields: {field.name}",
            )
        entries = picklist(field.name) if field.picklist else ()
        labels = tuple((entry.value, entry.label) for entry in entries)
        return Selected(field, resolved.column, resolved.relationship, labels)

    def child_query(self, item: SubQuery, earlier: list[ChildQuery]) -> ChildQuery:
        """``(SELECT ... FROM CaseComments)``: the child object through its relationship name."""
        sub = item.query
        relationship = self.sobject.child_relationship(sub.sobject)
        child = get_sobject(relationship.child_sobject) if relationship else None
        if relationship is None or child is None:
            raise query_error(
                self.soql,
                sub.sobject_pos,
                InvalidType,
                f"Didn't understand relationship '{sub.sobject}' in FROM part of query call. If"
                " you are attempting to use a custom relationship, be sure to append the '__r'"
                " after the custom relationship name. Please reference your WSDL or the"
                " describe call for the appropriate names.",
            )
        if any(c.name == relationship.name for c in earlier):
            raise query_error(
                self.soql,
                sub.sobject_pos,
                MalformedQuery,
                f"duplicate field selected: {relationship.name}",
            )
        compiled = Compiler(self.soql, sub, child).compile()
        if compiled.aggregate:
            raise query_error(
                self.soql,
                item.pos,
                MalformedQuery,
                "Aggregate queries are not supported in subqueries",
            )
        lookup = child.field(relationship.field)
        return ChildQuery(relationship.name, compiled, lookup.column)

    # ------------------------------------------------------------ aggregates

    def is_aggregate(self, items: list[SelectItem]) -> bool:
        """GROUP BY, or an aggregate function in SELECT or ORDER BY."""

        def unwrap(item: SelectItem) -> SelectItem:
            return item.item if isinstance(item, Aliased) else item

        return (
            bool(self.query.group_by)
            or any(isinstance(unwrap(item), Aggregate) for item in items)
            or any(isinstance(item.field, Aggregate) for item in self.query.order_by)
        )

    def compile_aggregate(self, items: list[SelectItem]) -> CompiledQuery:
        """``SELECT Status, COUNT(Id) n FROM Case GROUP BY Status``: one row per group."""
        self.aggregating = True
        if self.query.count:
            raise query_error(
                self.soql,
                self.query.group_by[0].pos,
                MalformedQuery,
                "COUNT() can not be used with GROUP BY; use COUNT(fieldName) instead",
            )
        for ref in self.query.group_by:
            resolved = self.resolve(ref)
            if not resolved.field.groupable:
                raise query_error(
                    self.soql,
                    ref.pos,
                    InvalidField,
                    f"field '{resolved.field.name}' can not be grouped in a query call",
                )
            self.grouped.append(resolved)
        outputs: list[Output] = []
        unnamed = 0
        for entry in items:
            alias, item = (entry.alias, entry.item) if isinstance(entry, Aliased) else (None, entry)
            if isinstance(item, SubQuery):
                raise query_error(
                    self.soql,
                    item.pos,
                    MalformedQuery,
                    "Grouped query cannot use child relationships in the SELECT list",
                )
            if isinstance(item, Aggregate):
                column, to_api = self.aggregate(item)
                key = alias or f"expr{unnamed}"
                unnamed += alias is None
            else:
                ref = item.field if isinstance(item, ToLabel) else item
                resolved = self.group_member(ref, "Field")
                labelled = self.select_field(item) if isinstance(item, ToLabel) else resolved
                column, to_api, key = resolved.column, labelled.to_api, alias or resolved.field.name
            if any(output.key.lower() == key.lower() for output in outputs):
                pos = entry.pos if isinstance(entry, Aliased) else item.pos
                raise query_error(self.soql, pos, MalformedQuery, f"duplicate alias: {key}")
            outputs.append(Output(key, column, to_api))
        where = self.condition(self.query.where) if self.query.where is not None else None
        self.in_having = True
        having = self.condition(self.query.having) if self.query.having is not None else None
        self.in_having = False
        order = [self.order_clause(item) for item in self.query.order_by]
        columns = [output.column.label(f"c{i}") for i, output in enumerate(outputs)]
        stmt = self.joins.apply(select(*columns).select_from(self.sobject.model))
        if where is not None:
            stmt = stmt.where(where)
        stmt = stmt.group_by(*[g.column for g in self.grouped])
        if having is not None:
            stmt = stmt.having(having)
        stmt = stmt.order_by(*order)
        return CompiledQuery(
            self.sobject,
            (),
            stmt,
            self.query.limit,
            self.query.offset,
            outputs=tuple(outputs),
            aggregate=True,
        )

    def group_member(self, ref: FieldRef, what: str) -> Selected:
        """A field an aggregate query may show or sort by: one it groups by."""
        resolved = self.resolve(ref)
        if not any(
            g.field is resolved.field and g.relationship == resolved.relationship
            for g in self.grouped
        ):
            raise query_error(
                self.soql,
                ref.pos,
                MalformedQuery,
                f"{what} must be grouped or aggregated: {ref.name}",
            )
        return resolved

    def aggregate(self, node: Aggregate) -> tuple[Any, Callable[[Any], Any]]:
        """The SQL of an aggregate call and how to show its value, after its type rules."""
        resolved = self.resolve(node.field)
        field, column, function = resolved.field, resolved.column, node.function
        supported = field.aggregatable and (
            function in ("COUNT", "COUNT_DISTINCT")
            or (function in ("SUM", "AVG") and field.is_numeric)
            or (function in ("MIN", "MAX") and field.type not in ("boolean", "textarea"))
        )
        if not supported:
            raise query_error(
                self.soql,
                node.pos,
                MalformedQuery,
                f"field {field.name} does not support aggregate operator {function}",
            )
        if function == "COUNT":
            return func.count(column), int
        if function == "COUNT_DISTINCT":
            return func.count(column.distinct()), int
        if function == "SUM":
            return func.sum(column), lambda v: v
        if function == "AVG":
            return func.avg(column), lambda v: None if v is None else float(v)
        reduce = func.min if function == "MIN" else func.max
        if field.picklist and resolved.relationship is None:
            # MIN/MAX of a picklist follow the picklist's order: rank prefix, cut off again.
            entries = picklist(field.name)
            ranks = {entry.value: f"{i:05d}" for i, entry in enumerate(entries)}
            ranked = case(ranks, value=column, else_="99999") + column if ranks else column
            if ranks:
                return reduce(ranked), lambda v: None if v is None else v[5:]
        return reduce(column), field.to_api

    def resolve(self, ref: FieldRef) -> Selected:
        """A plain field, or ``Relationship.Field`` through an outer join."""
        head, dot, rest = ref.name.partition(".")
        if not dot:
            field = self.sobject.field(ref.name)
            if field is None:
                raise query_error(
                    self.soql, ref.pos, InvalidField, no_such_column(ref.name, self.sobject.name)
                )
            return Selected(field, field.column)
        lookup = self.sobject.relationship(head)
        if lookup is None or "." in rest:
            raise query_error(
                self.soql,
                ref.pos,
                InvalidField,
                f"Didn't understand relationship '{head}' in field path. If you are attempting"
                " to use a custom relationship, be sure to append the '__r' after the custom"
                " relationship name. Please reference your WSDL or the describe call for the"
                " appropriate names.",
            )
        rel, adapter = self.joins.relationship(lookup)
        field = rel.target.field(rest)
        if field is None:
            raise query_error(
                self.soql, ref.pos, InvalidField, no_such_column(rest, rel.target.name)
            )
        column = field.column
        column = adapter.traverse(getattr(column, "__clause_element__", lambda: column)())
        return Selected(field, column, rel)

    def order_clause(self, item: OrderItem) -> Any:
        if isinstance(item.field, Aggregate):
            column = self.aggregate(item.field)[0]
            clause = column.desc() if item.descending else column.asc()
            if item.nulls:
                clause = clause.nulls_first() if item.nulls == "FIRST" else clause.nulls_last()
            return clause
        if self.aggregating:
            resolved = self.group_member(item.field, "Ordered field")
        else:
            resolved = self.resolve(item.field)
        field, column = resolved.field, resolved.column
        if not field.filterable:
            raise query_error(
                self.soql,
                item.field.pos,
                InvalidField,
                f"field '{field.name}' can not be sorted in a query call",
            )
        if field.picklist and resolved.relationship is None:
            # Salesforce sorts picklists in the picklist's own order, not alphabetically.
            order = {entry.value: i for i, entry in enumerate(picklist(field.name))}
            column = case(order, value=column, else_=len(order)) if order else column
        elif field.is_text:
            column = func.lower(column)
        clause = column.desc() if item.descending else column.asc()
        if item.nulls:
            clause = clause.nulls_first() if item.nulls == "FIRST" else clause.nulls_last()
        return clause

    def condition(self, node: Condition) -> ColumnElement[bool]:
        if isinstance(node, BoolOp):
            parts = [self.condition(operand) for operand in node.operands]
            return and_(*parts) if node.op == "AND" else or_(*parts)
        if isinstance(node, Not):
            # Two-valued like SOQL: a comparison with NULL is false, so NOT of it is true.
            return not_(func.coalesce(self.condition(node.operand), false()))
        return self.comparison(node)

    def comparison(self, node: Comparison) -> ColumnElement[bool]:
        if isinstance(node.field, Aggregate):
            return self.aggregate_comparison(node.field, node)
        if self.in_having:
            resolved = self.group_member(node.field, "Field")
        else:
            resolved = self.resolve(node.field)
        field, column = resolved.field, resolved.column
        if not field.filterable:
            raise query_error(
                self.soql,
                node.field.pos,
                InvalidField,
                f"field '{field.name}' can not be filtered in a query call",
            )
        if isinstance(node.value, tuple):
            return self.membership(field, column, node.op, node.value)
        value = node.value
        if node.op == "LIKE":
            return self.like(field, column, value)
        if value.kind == "null":
            if node.op not in ("=", "!="):
                raise self.filter_error(value, "invalid operator on null")
            return column.is_(None) if node.op == "=" else column.is_not(None)
        if field.type == "boolean" and node.op not in ("=", "!="):
            raise self.filter_error(value, f"invalid operator on boolean field: {field.name}")
        if value.kind == "relative" and field.type == "datetime":
            return self.date_range(column, node.op, value)
        bound: Any = self.coerce(field, value)
        if field.is_text:
            # SOQL compares text case-insensitively.
            column, bound = func.lower(column), func.lower(literal(bound))
        operators = {
            "=": column.__eq__,
            "!=": column.__ne__,
            "<": column.__lt__,
            "<=": column.__le__,
            ">": column.__gt__,
            ">=": column.__ge__,
        }
        clause = operators[node.op](bound)
        # SOQL's != also matches records where the field is null (unlike SQL).
        return or_(clause, resolved.column.is_(None)) if node.op == "!=" else clause

    def aggregate_comparison(self, node: Aggregate, comparison: Comparison) -> ColumnElement[bool]:
        """``HAVING COUNT(Id) > 1``: counts, sums and averages take numbers; MIN/MAX the field's."""
        column, _ = self.aggregate(node)
        value = comparison.value
        if isinstance(value, tuple) or comparison.op == "LIKE":
            raise query_error(
                self.soql,
                node.pos,
                InvalidQueryFilterOperator,
                f"invalid operator on aggregate {node.function}",
            )
        if node.function in ("MIN", "MAX"):
            field = self.resolve(node.field).field
            column = (func.min if node.function == "MIN" else func.max)(
                self.resolve(node.field).column
            )
            bound: Any = self.coerce(field, value)
        elif value.kind != "number":
            raise self.filter_error(
                value,
                f"value of filter criterion for aggregate {node.function} must be of type number"
                " and should not be enclosed in quotes",
            )
        else:
            bound = value.value
        operators = {
            "=": column.__eq__,
            "!=": column.__ne__,
            "<": column.__lt__,
            "<=": column.__le__,
            ">": column.__gt__,
            ">=": column.__ge__,
        }
        return operators[comparison.op](bound)

    def membership(
        self, field: Field, column: Any, op: str, values: tuple[Literal, ...]
    ) -> ColumnElement[bool]:
        if field.type == "boolean":
            raise self.filter_error(values[0], f"invalid operator on boolean field: {field.name}")
        present = [v for v in values if v.kind != "null"]
        bound = [self.coerce(field, v) for v in present]
        compared = column
        if field.is_text:
            compared, bound = func.lower(column), [str(v).lower() for v in bound]
        has_null = len(present) != len(values)
        if op == "IN":
            clause = compared.in_(bound)
            return or_(clause, column.is_(None)) if has_null else clause
        clause = compared.not_in(bound)
        return and_(clause, column.is_not(None)) if has_null else or_(clause, column.is_(None))

    def like(self, field: Field, column: Any, value: Literal) -> ColumnElement[bool]:
        if not field.is_text:
            raise self.filter_error(value, f"invalid operator on {field.type} field: {field.name}")
        if value.kind != "string":
            raise self.type_error(field, value, "string", quoted=True)
        return func.lower(column).like(func.lower(literal(value.value)), escape="\\")

    def date_range(self, column: Any, op: str, value: Literal) -> ColumnElement[bool]:
        """A relative date is a span of whole UTC days: = inside, < before, > after it."""
        start, end = relative_span(value.value, utcnow())
        spans = {
            "=": and_(column >= start, column < end),
            "!=": or_(column < start, column >= end, column.is_(None)),
            "<": column < start,
            "<=": column < end,
            ">": column >= end,
            ">=": column >= start,
        }
        return spans[op]

    def coerce(self, field: Field, value: Literal) -> Any:
        """The Python value to bind, after SOQL's type rules for the field."""
        if field.type == "boolean":
            if value.kind != "boolean":
                raise self.type_error(field, value, "boolean", quoted=False)
            return value.value
        if field.type == "datetime":
            if value.kind != "datetime":
                raise self.type_error(field, value, "dateTime", quoted=False)
            return value.value
        if field.is_numeric:
            if value.kind != "number":
                raise self.type_error(field, value, "integer", quoted=False)
            return value.value
        if value.kind != "string":
            raise self.type_error(field, value, "string", quoted=True)
        if field.type in ("id", "reference"):
            try:
                return ids.normalize(value.value)
            except ids.MalformedId:
                raise self.filter_error(value, f"invalid ID field: {value.value}") from None
        if field.type == "autonumber":
            return int(value.value) if value.value.isdigit() else -1  # -1 matches nothing
        return value.value

    def type_error(self, field: Field, value: Literal, kind: str, *, quoted: bool) -> RestError:
        should = "should be enclosed in quotes" if quoted else "should not be enclosed in quotes"
        return self.filter_error(
            value,
            f"value of filter criterion for field '{field.name}' must be of type {kind}"
            f" and {should}",
        )

    def filter_error(self, value: Literal, message: str) -> RestError:
        return query_error(self.soql, value.pos, InvalidQueryFilterOperator, message)


ID_LABEL = "__id"
PARENT_LABEL = "__parent"  # a child row's parent id, in subqueries


# The first day of the week is the user's locale's; this mock uses en_US's (Sunday).
WEEK_START = 6  # datetime.weekday(): Monday 0 ... Sunday 6


def add_days(day: datetime, n: int) -> datetime:
    """``day`` moved by n days, clamped to the calendar instead of overflowing."""
    try:
        return day + timedelta(days=n)
    except OverflowError:
        return datetime.max if n > 0 else datetime.min


def add_months(first: datetime, n: int) -> datetime:
    """The first of the month n months from ``first`` (itself a first), clamped likewise."""
    year, month = divmod(first.year * 12 + first.month - 1 + n, 12)
    if year < datetime.min.year:
        return datetime.min
    if year > datetime.max.year:
        return datetime.max
    return datetime(year, month + 1, 1)


def relative_span(value: tuple[str, int | None], now: datetime) -> tuple[datetime, datetime]:
    """[start, end) of a date literal in UTC (the mock org's time zone).

    Days, weeks (from Sunday), months, calendar quarters and years; ``LAST_N_DAYS:n`` ends with
    today, ``NEXT_N_DAYS:n`` starts tomorrow, ``LAST_N_<unit>S:n`` ends before the current unit,
    ``NEXT_N_<unit>S:n`` starts after it, ``N_<unit>S_AGO:n`` is one unit. The fiscal year is
    the calendar year (Salesforce's default), so ``*_FISCAL_*`` literals equal the calendar ones.
    """
    keyword, n = value
    keyword = keyword.replace("FISCAL_", "")
    n = n or 0
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    week = add_days(today, -((today.weekday() - WEEK_START) % 7))
    month = today.replace(day=1)
    quarter = month.replace(month=(month.month - 1) // 3 * 3 + 1)
    year = month.replace(month=1)
    days = {
        "TODAY": (0, 1),
        "YESTERDAY": (-1, 0),
        "TOMORROW": (1, 2),
        "LAST_90_DAYS": (-90, 1),
        "NEXT_90_DAYS": (1, 91),
        "LAST_N_DAYS": (-n, 1),
        "NEXT_N_DAYS": (1, n + 1),
        "N_DAYS_AGO": (-n, -n + 1),
    }
    if keyword in days:
        start, end = days[keyword]
        return add_days(today, start), add_days(today, end)
    weeks = {
        "LAST_WEEK": (-1, 0),
        "THIS_WEEK": (0, 1),
        "NEXT_WEEK": (1, 2),
        "LAST_N_WEEKS": (-n, 0),
        "NEXT_N_WEEKS": (1, n + 1),
        "N_WEEKS_AGO": (-n, -n + 1),
    }
    if keyword in weeks:
        start, end = weeks[keyword]
        return add_days(week, 7 * start), add_days(week, 7 * end)
    unit, months = next(
        (unit, size)
        for unit, size in (("MONTH", 1), ("QUARTER", 3), ("YEAR", 12))
        if keyword.endswith((unit, unit + "S", unit + "S_AGO"))
    )
    first = {"MONTH": month, "QUARTER": quarter, "YEAR": year}[unit]
    spans = {
        f"LAST_{unit}": (-1, 0),
        f"THIS_{unit}": (0, 1),
        f"NEXT_{unit}": (1, 2),
        f"LAST_N_{unit}S": (-n, 0),
        f"NEXT_N_{unit}S": (1, n + 1),
        f"N_{unit}S_AGO": (-n, -n + 1),
    }
    start, end = spans[keyword]
    return add_months(first, months * start), add_months(first, months * end)


def compile_soql(soql: str) -> CompiledQuery:
    """Parse and compile a query."""
    return Compiler(soql, parse(soql)).compile()


def no_such_column(name: str, entity: str) -> str:
    """Salesforce's INVALID_FIELD text for an unknown field."""
    return (
        f"No such column '{name}' on entity '{entity}'. If you are attempting to use a custom"
        " field, be sure to append the '__c' after the custom field name. Please reference your"
        " WSDL or the describe call for the appropriate names."
    )


def query_error(soql: str, pos: int, error: type[RestError], detail: str) -> RestError:
    """Salesforce's positional error text: the line, a caret, ``ERROR at Row:r:Column:c``."""
    line_start = soql.rfind("\n", 0, pos) + 1
    line_end = soql.find("\n", pos)
    line = soql[line_start : line_end if line_end != -1 else len(soql)]
    row = soql.count("\n", 0, pos) + 1
    column = pos - line_start + 1
    return error(f"\n{line}\n{' ' * (column - 1)}^\nERROR at Row:{row}:Column:{column}\n{detail}")


def field_list(sobject: SObject, names: Sequence[str]) -> list[Field]:
    """Fields for ``?fields=A,B`` on a record GET; an unknown one is INVALID_FIELD."""
    fields = []
    for name in names:
        field = sobject.field(name)
        if field is None:
            raise InvalidField(no_such_column(name, sobject.name))
        if field not in fields:
            fields.append(field)
    return fields
