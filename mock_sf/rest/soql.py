"""SOQL: a tokenizer and recursive-descent parser to an AST, and a compiler to SQLAlchemy Core
with bound parameters (values never become SQL text).

Supported now: ``SELECT f, ... FROM Obj [WHERE cond] [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...]
[LIMIT n] [OFFSET n]`` where ``cond`` is comparisons (``= != <> < <= > >=``) against string,
number, boolean or NULL literals, joined by AND or OR (mixing them needs parentheses, as in
SOQL), with NOT and parentheses. IN, LIKE, date literals, relationships and COUNT() come later.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import func
from sqlalchemy import not_
from sqlalchemy import or_

from mock_sf import ids
from mock_sf.rest.describe import Field
from mock_sf.rest.describe import SObject
from mock_sf.rest.describe import get_sobject
from mock_sf.rest.errors import InvalidField
from mock_sf.rest.errors import InvalidQueryFilterOperator
from mock_sf.rest.errors import InvalidType
from mock_sf.rest.errors import MalformedQuery
from mock_sf.rest.errors import RestError
from mock_sf.rest.records import select_fields

# ---------------------------------------------------------------- tokens

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:\\.|[^'\\])*')
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<op>!=|<>|<=|>=|=|<|>)
  | (?P<punct>[,()])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_.]*)
    """,
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


@dataclass(frozen=True)
class Token:
    """A lexeme with its kind and offset in the query text."""

    kind: str  # string | number | op | punct | ident | eof
    text: str
    pos: int


def tokenize(soql: str) -> list[Token]:
    """Split a query into tokens; an unknown character is a MALFORMED_QUERY."""
    tokens: list[Token] = []
    pos = 0
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
    """The value of a quoted SOQL string literal."""
    body = literal[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), body)


# ---------------------------------------------------------------- AST


@dataclass(frozen=True)
class FieldRef:
    name: str
    pos: int


@dataclass(frozen=True)
class Literal:
    kind: str  # string | number | boolean | null
    value: Any
    pos: int


@dataclass(frozen=True)
class Comparison:
    field: FieldRef
    op: str
    value: Literal


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
    field: FieldRef
    descending: bool = False
    nulls: str | None = None  # FIRST | LAST


@dataclass(frozen=True)
class Query:
    fields: tuple[FieldRef, ...]
    sobject: str
    sobject_pos: int
    where: Condition | None = None
    order_by: tuple[OrderItem, ...] = ()
    limit: int | None = None
    offset: int | None = None


# ---------------------------------------------------------------- parser


class Parser:
    """Recursive descent over the token list; keywords are case-insensitive."""

    def __init__(self, soql: str) -> None:
        self.soql = soql
        self.tokens = tokenize(soql)
        self.index = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.current
        self.index += 1
        return token

    def at_keyword(self, *words: str) -> bool:
        return self.current.kind == "ident" and self.current.text.upper() in words

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
        """query := SELECT fields FROM ident [WHERE] [ORDER BY] [LIMIT] [OFFSET] EOF."""
        self.expect_keyword("SELECT")
        fields = [self.field_ref()]
        while self.current.kind == "punct" and self.current.text == ",":
            self.advance()
            fields.append(self.field_ref())
        self.expect_keyword("FROM")
        sobject = self.expect("ident")
        where = None
        if self.at_keyword("WHERE"):
            self.advance()
            where = self.condition()
        order_by: list[OrderItem] = []
        if self.at_keyword("ORDER"):
            self.advance()
            self.expect_keyword("BY")
            order_by.append(self.order_item())
            while self.current.kind == "punct" and self.current.text == ",":
                self.advance()
                order_by.append(self.order_item())
        limit = self.integer_clause("LIMIT")
        offset = self.integer_clause("OFFSET")
        self.expect("eof")
        return Query(
            tuple(fields), sobject.text, sobject.pos, where, tuple(order_by), limit, offset
        )

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
        if self.at_keyword("NOT"):
            self.advance()
            return Not(self.unary())
        if self.current.kind == "punct" and self.current.text == "(":
            self.advance()
            inner = self.condition()
            self.expect("punct", ")")
            return inner
        field = self.field_ref()
        op = self.expect("op").text
        return Comparison(field, "!=" if op == "<>" else op, self.literal())

    def literal(self) -> Literal:
        token = self.current
        if token.kind == "string":
            self.advance()
            return Literal("string", unescape(token.text), token.pos)
        if token.kind == "number":
            self.advance()
            return Literal(
                "number", float(token.text) if "." in token.text else int(token.text), token.pos
            )
        if self.at_keyword("NULL"):
            self.advance()
            return Literal("null", None, token.pos)
        if self.at_keyword("TRUE", "FALSE"):
            self.advance()
            return Literal("boolean", token.text.upper() == "TRUE", token.pos)
        raise self.unexpected()

    def order_item(self) -> OrderItem:
        field = self.field_ref()
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
        return int(token.text)


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
    }
)


def parse(soql: str) -> Query:
    """Parse a SOQL query into its AST."""
    return Parser(soql).parse()


# ---------------------------------------------------------------- compiler


@dataclass(frozen=True)
class CompiledQuery:
    """A statement ready to run, and what it selects."""

    sobject: SObject
    fields: tuple[Field, ...]
    stmt: Select[Any]


class Compiler:
    """AST -> SQLAlchemy Core, resolving API names through the describe table."""

    def __init__(self, soql: str, query: Query) -> None:
        self.soql = soql
        self.query = query
        sobject = get_sobject(query.sobject)
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

    def compile(self) -> CompiledQuery:
        fields: list[Field] = []
        for ref in self.query.fields:
            field = self.resolve(ref)
            if field in fields:
                raise query_error(
                    self.soql, ref.pos, InvalidField, f"duplicate field selected: {field.name}"
                )
            fields.append(field)
        stmt = select_fields(self.sobject, fields)
        if self.query.where is not None:
            stmt = stmt.where(self.condition(self.query.where))
        for item in self.query.order_by:
            column = self.resolve(item.field).column
            clause = column.desc() if item.descending else column.asc()
            if item.nulls:
                clause = clause.nulls_first() if item.nulls == "FIRST" else clause.nulls_last()
            stmt = stmt.order_by(clause)
        if self.query.limit is not None:
            stmt = stmt.limit(self.query.limit)
        if self.query.offset is not None:
            stmt = stmt.offset(self.query.offset)
        return CompiledQuery(self.sobject, tuple(fields), stmt)

    def resolve(self, ref: FieldRef) -> Field:
        field = self.sobject.field(ref.name)
        if field is None:
            raise query_error(
                self.soql, ref.pos, InvalidField, no_such_column(ref.name, self.sobject.name)
            )
        return field

    def condition(self, node: Condition) -> ColumnElement[bool]:
        if isinstance(node, BoolOp):
            parts = [self.condition(operand) for operand in node.operands]
            return and_(*parts) if node.op == "AND" else or_(*parts)
        if isinstance(node, Not):
            return not_(self.condition(node.operand))
        return self.comparison(node)

    def comparison(self, node: Comparison) -> ColumnElement[bool]:
        field = self.resolve(node.field)
        if not field.filterable:
            raise query_error(
                self.soql,
                node.field.pos,
                InvalidField,
                f"field '{field.name}' can not be filtered in a query call",
            )
        column, value = field.column, node.value
        if value.kind == "null":
            if node.op not in ("=", "!="):
                raise self.filter_error(value, "invalid operator on null")
            return column.is_(None) if node.op == "=" else column.is_not(None)
        bound = self.coerce(field, value)
        if field.type in ("string", "picklist"):
            # SOQL compares text case-insensitively.
            column, bound = func.lower(column), func.lower(bound)
        operators = {
            "=": column.__eq__,
            "!=": column.__ne__,
            "<": column.__lt__,
            "<=": column.__le__,
            ">": column.__gt__,
            ">=": column.__ge__,
        }
        if field.type == "boolean" and node.op not in ("=", "!="):
            raise self.filter_error(value, f"invalid operator on boolean field: {field.name}")
        return operators[node.op](bound)

    def coerce(self, field: Field, value: Literal) -> Any:
        """The Python value to bind, after SOQL's type rules for the field."""
        if field.type == "boolean":
            if value.kind != "boolean":
                raise self.type_error(field, value, "boolean", quoted=False)
            return value.value
        if field.type == "datetime":
            raise self.type_error(field, value, "dateTime", quoted=False)  # date literals: later
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
