"""``GET vNN.N/search?q=``: SOSL over Cases, with sharing ANDed in (REST API "Search").

Grammar (keywords case-insensitive; ``[]`` optional, ``{}`` repeated, quoted braces literal)::

    search     := FIND '{' term '}' [IN (ALL | NAME) FIELDS] [RETURNING object] [LIMIT int]
    object     := Case [( field {, field} [WHERE cond] [ORDER BY order {, order}]
                        [LIMIT int] [OFFSET int] )]
    term       := and {OR and}
    and        := unary {[AND] unary}                  (juxtaposed words: all must appear)
    unary      := NOT unary | ( term ) | word | "phrase"

The object's field list, WHERE, ORDER BY, LIMIT and OFFSET are SOQL's (``soql.Parser`` and its
compiler), so errors there read as in a query; a syntax error anywhere is MALFORMED_SEARCH.
Inside the braces ``? & | ! { } [ ] ( ) ^ ~ * : \\ " ' + -`` are reserved: ``\\`` escapes one;
``*`` (any run) and ``?`` (one character) are wildcards, ignored at the start of a word; ``"``
quotes a phrase; ``(`` ``)`` group; any other unescaped one is MALFORMED_SEARCH.

Matching as Salesforce's index does it: text splits into words at spaces and punctuation;
a word matches a whole word, case-insensitively, in Subject, Description or CaseNumber (ALL
FIELDS, the default) or Subject (NAME FIELDS); a phrase matches consecutive words in one field.
Results: with no ORDER BY, relevance, approximated as Subject matches first, then the most
recently modified; at most 2,000 rows; OFFSET at most 2,000. A term with fewer than two
characters besides wildcards is refused; one over 4,000 characters loses its operators (its
words are ORed) and one over 10,000 returns nothing, as the SOSL reference says.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import func
from sqlalchemy import literal
from sqlalchemy import or_

from mock_sf.models import Case
from mock_sf.models import User
from mock_sf.models import db
from mock_sf.rest import records
from mock_sf.rest.describe import CASE
from mock_sf.rest.describe import get_sobject
from mock_sf.rest.errors import InvalidType
from mock_sf.rest.errors import MalformedQuery
from mock_sf.rest.errors import MalformedSearch
from mock_sf.rest.errors import RestError
from mock_sf.rest.soql import MAX_NESTING
from mock_sf.rest.soql import Compiler
from mock_sf.rest.soql import FieldRef
from mock_sf.rest.soql import Parser
from mock_sf.rest.soql import Query
from mock_sf.rest.soql import query_error

MAX_RESULTS = 2000  # SOSL returns at most 2,000 rows
MIN_TERM_CHARACTERS = 2
OPERATOR_FREE_LENGTH = 4000  # longer terms lose their operators (words ORed)
MAX_TERM_LENGTH = 10000  # longer terms return no rows
FIRST_VERSION_WITH_SEARCH_RECORDS = 37  # older versions answer a bare array
RESERVED = frozenset("?&|!{}[]()^~*:\\\"'+-")
WILDCARDS = frozenset("*?")
# Searched fields per search group, by API name; CaseNumber is matched in its 8-digit form.
SEARCH_GROUPS = {"ALL": ("CaseNumber", "Subject", "Description"), "NAME": ("Subject",)}
SHORT_TERM = "search term must be longer than one character"
# The SQL prefilter ANDs at most this many literal fragments (SQLite bounds expression depth).
MAX_PREFILTER_FRAGMENTS = 8
_WORD = re.compile(r"[^\W_]+")
# The searched columns, labelled apart from the selected fields.
SEARCHED = {
    "CaseNumber": Case.case_number.label("__search_number"),
    "Subject": Case.subject.label("__search_subject"),
    "Description": Case.description.label("__search_description"),
}
RANK_SUBJECT = Case.subject.label("__search_rank_subject")
MODIFIED = Case.last_modified_date.label("__search_modified")

# ---------------------------------------------------------------- the search term


@dataclass(frozen=True)
class Lexeme:
    """A piece of the search term: word, phrase (both as their raw characters), ( ) or eof."""

    kind: str
    chars: tuple[tuple[str, bool], ...]  # (character, is_wildcard)
    pos: int

    @property
    def text(self) -> str:
        return "".join(char for char, _ in self.chars)

    @property
    def operator(self) -> str | None:
        """AND, OR or NOT when the word is one, unquoted and unescaped."""
        if self.kind != "word" or any(wild for _, wild in self.chars):
            return None
        upper = self.text.upper()
        return upper if upper in ("AND", "OR", "NOT") else None


@dataclass(frozen=True)
class Words:
    """Consecutive words to find, each an fnmatch pattern (one word, or a phrase)."""

    patterns: tuple[str, ...]


@dataclass(frozen=True)
class AllOf:
    operands: tuple[Term, ...]


@dataclass(frozen=True)
class AnyOf:
    operands: tuple[Term, ...]


@dataclass(frozen=True)
class NoneOf:
    operand: Term


Term = Words | AllOf | AnyOf | NoneOf
NOTHING = AnyOf(())  # the term of a search that returns no rows


def lex_term(sosl: str, start: int) -> tuple[list[Lexeme], int]:
    """The lexemes between ``{`` (at ``start``) and its ``}``, and the offset after the ``}``."""
    lexemes: list[Lexeme] = []
    pos = start + 1
    word: list[tuple[str, bool]] = []
    word_pos = pos

    def flush() -> None:
        if word:
            lexemes.append(Lexeme("word", tuple(word), word_pos))
            word.clear()

    while True:
        if pos >= len(sosl):
            raise mismatched(sosl, pos, "<EOF>", "}")
        char = sosl[pos]
        if char == "}":
            flush()
            lexemes.append(Lexeme("eof", (), pos))
            return lexemes, pos + 1
        if not word:
            word_pos = pos
        if char.isspace():
            flush()
        elif char == '"':
            flush()
            phrase, pos = lex_phrase(sosl, pos)
            lexemes.append(phrase)
            continue
        elif char in "()":
            flush()
            lexemes.append(Lexeme(char, ((char, False),), pos))
        elif char == "\\":
            if pos + 1 >= len(sosl):
                raise mismatched(sosl, pos + 1, "<EOF>", "}")
            word.append((sosl[pos + 1], False))
            pos += 1
        elif char in WILDCARDS:
            word.append((char, True))
        elif char in RESERVED:
            raise mismatched(sosl, pos, char, "}")
        else:
            word.append((char, False))
        pos += 1


def lex_phrase(sosl: str, start: int) -> tuple[Lexeme, int]:
    """A quoted phrase from its opening ``"``; inside it only ``\\`` and ``"`` are special."""
    chars: list[tuple[str, bool]] = []
    pos = start + 1
    while True:
        if pos >= len(sosl):
            raise mismatched(sosl, pos, "<EOF>", '"')
        char = sosl[pos]
        if char == '"':
            return Lexeme("phrase", tuple(chars), start), pos + 1
        if char == "\\" and pos + 1 < len(sosl):
            chars.append((sosl[pos + 1], False))
            pos += 2
            continue
        chars.append((char, char in WILDCARDS))
        pos += 1


def mismatched(sosl: str, pos: int, found: str, expected: str) -> RestError:
    return query_error(
        sosl, pos, MalformedSearch, f"mismatched character '{found}' expecting '{expected}'"
    )


def patterns_of(lexeme: Lexeme) -> tuple[str, ...]:
    """The word patterns of a word or phrase: split where the index splits text (spaces and
    punctuation), wildcards kept (fnmatch ``*``/``?``), leading ones dropped, casefolded."""
    patterns: list[str] = []
    current: list[str] = []
    for char, wild in (*lexeme.chars, (" ", False)):
        if wild:
            if current:  # a wildcard that starts a word is ignored
                current.append(char)
        elif _WORD.fullmatch(char):
            current.append(char.casefold())
        elif current:
            patterns.append("".join(current))
            current = []
    return tuple(patterns)


class TermParser:
    """Recursive descent over the term's lexemes; OR binds loosest, juxtaposition is AND."""

    def __init__(self, sosl: str, lexemes: list[Lexeme], *, operators: bool) -> None:
        self.sosl = sosl
        self.lexemes = lexemes
        self.index = 0
        self.depth = 0
        self.operators = operators

    @property
    def current(self) -> Lexeme:
        return self.lexemes[self.index]

    def at(self, operator: str) -> bool:
        return self.operators and self.current.operator == operator

    def unexpected(self) -> RestError:
        lexeme = self.current
        text = "}" if lexeme.kind == "eof" else lexeme.text
        return query_error(self.sosl, lexeme.pos, MalformedSearch, f"unexpected token: '{text}'")

    def parse(self) -> Term | None:
        if not self.operators:
            # Past 4,000 characters Salesforce drops the operators: every word is an option.
            words = [x for x in self.lexemes if x.kind in ("word", "phrase") and not x.operator]
            found = [patterns_of(x) for x in words]
            return AnyOf(tuple(Words(p) for p in found if p)) if any(found) else None
        term = self.term()
        if self.current.kind != "eof":
            raise self.unexpected()
        return term

    def term(self) -> Term | None:
        options = [self.conjunction()]
        while self.at("OR"):
            self.index += 1
            options.append(self.conjunction())
        return combine(AnyOf, options)

    def conjunction(self) -> Term | None:
        parts = [self.unary()]
        while self.current.kind not in ("eof", ")") and not self.at("OR"):
            if self.at("AND"):
                self.index += 1
            parts.append(self.unary())
        return combine(AllOf, parts)

    def unary(self) -> Term | None:
        lexeme = self.current
        if self.at("NOT") or lexeme.kind == "(":
            if self.depth >= MAX_NESTING:
                raise self.unexpected()
            self.depth += 1
            self.index += 1
            if lexeme.kind == "(":
                inner = self.term()
                if self.current.kind != ")":
                    raise self.unexpected()
                self.index += 1
            else:
                operand = self.unary()
                inner = NoneOf(operand) if operand is not None else None
            self.depth -= 1
            return inner
        if lexeme.kind not in ("word", "phrase") or lexeme.operator in ("AND", "OR"):
            raise self.unexpected()
        self.index += 1
        patterns = patterns_of(lexeme)
        return Words(patterns) if patterns else None  # punctuation alone finds nothing to add


def combine(kind: type[AllOf] | type[AnyOf], parts: Sequence[Term | None]) -> Term | None:
    """AND/OR of the parts that say something (a lone part stands for itself)."""
    present = tuple(part for part in parts if part is not None)
    if not present:
        return None
    return present[0] if len(present) == 1 else kind(present)


def literal_length(lexemes: Sequence[Lexeme]) -> int:
    """Letters and digits of the term, operators aside (wildcards and punctuation don't count)."""
    return sum(
        sum(1 for char, wild in x.chars if not wild and _WORD.fullmatch(char))
        for x in lexemes
        if x.kind in ("word", "phrase") and x.operator is None
    )


# ---------------------------------------------------------------- matching


class FieldText:
    """One field's words, as the index would hold them."""

    def __init__(self, text: str | None) -> None:
        self.words = _WORD.findall((text or "").casefold())
        self.vocabulary = frozenset(self.words)
        self.joined = f" {' '.join(self.words)} "

    def has(self, patterns: tuple[str, ...]) -> bool:
        if not any(WILDCARDS & set(p) for p in patterns):
            return f" {' '.join(patterns)} " in self.joined
        first = word_matcher(patterns[0])
        if len(patterns) == 1:
            return any(first(word) for word in self.vocabulary)
        rest = [word_matcher(p) for p in patterns[1:]]
        last_start = len(self.words) - len(patterns)
        return any(
            first(self.words[i])
            and all(match(self.words[i + 1 + j]) for j, match in enumerate(rest))
            for i in range(last_start + 1)
        )


def word_matcher(pattern: str) -> Callable[[str], bool]:
    """A whole-word test; fnmatch's regexes don't backtrack catastrophically."""
    if not WILDCARDS & set(pattern):
        return pattern.__eq__
    compiled = re.compile(fnmatch.translate(pattern))
    return lambda word: compiled.match(word) is not None


def matches(term: Term, fields: Sequence[FieldText]) -> bool:
    if isinstance(term, Words):
        return any(field.has(term.patterns) for field in fields)
    if isinstance(term, AllOf):
        return all(matches(part, fields) for part in term.operands)
    if isinstance(term, AnyOf):
        return any(matches(part, fields) for part in term.operands)
    return not matches(term.operand, fields)


def required_fragments(term: Term) -> frozenset[str]:
    """Literal pieces every match must contain (a cheap SQL LIKE prefilter before matching)."""
    if isinstance(term, Words):
        pieces = (re.split(r"[*?]", pattern)[0] for pattern in term.patterns)
        return frozenset(piece for piece in pieces if piece)
    if isinstance(term, AllOf):
        return frozenset().union(*(required_fragments(part) for part in term.operands))
    if isinstance(term, AnyOf):
        sets = [required_fragments(part) for part in term.operands]
        return frozenset.intersection(*sets) if sets else frozenset()
    return frozenset()


def prefilter(term: Term, group: Sequence[str]) -> ColumnElement[bool] | None:
    """``lower(field) LIKE '%piece%'`` over the searched text fields, for the longest pieces."""
    # Digits may be a CaseNumber (stored as an integer) and non-ASCII text lowercases
    # differently in SQLite: neither can narrow the rows safely.
    usable = sorted(
        (
            piece
            for piece in required_fragments(term)
            if piece.isascii() and not ("CaseNumber" in group and piece.isdigit())
        ),
        key=len,
        reverse=True,
    )[:MAX_PREFILTER_FRAGMENTS]
    if not usable:
        return None
    columns = [SEARCHED[name].element for name in group if name != "CaseNumber"]
    conditions = []
    for piece in usable:
        pattern = "%" + re.sub(r"([\\%_])", r"\\\1", piece) + "%"
        conditions.append(
            or_(*(func.lower(column).like(literal(pattern), escape="\\") for column in columns))
        )
    return and_(*conditions)


# ---------------------------------------------------------------- the statement


@dataclass(frozen=True)
class Search:
    """A parsed SOSL statement: what to find, where, and the RETURNING object as a SOQL AST."""

    term: Term
    group: tuple[str, ...]
    query: Query
    limit: int | None
    ordered: bool


def parse(sosl: str) -> Search:
    """Parse a SOSL statement; SOQL syntax errors in it become MALFORMED_SEARCH."""
    try:
        return _parse(sosl)
    except MalformedQuery as exc:
        raise MalformedSearch(exc.message) from None


def _parse(sosl: str) -> Search:
    match = re.match(r"\s*(FIND)\s*", sosl, re.IGNORECASE)
    if match is None:
        found = sosl.strip().split(None, 1)[0] if sosl.strip() else "<EOF>"
        pos = len(sosl) - len(sosl.lstrip())
        raise query_error(sosl, pos, MalformedSearch, f"unexpected token: '{found[:40]}'")
    brace = match.end()
    if brace >= len(sosl) or sosl[brace] != "{":
        raise mismatched(sosl, brace, sosl[brace] if brace < len(sosl) else "<EOF>", "{")
    lexemes, after = lex_term(sosl, brace)
    length = after - brace - 2
    if literal_length(lexemes) < MIN_TERM_CHARACTERS:
        raise MalformedSearch(SHORT_TERM)
    operators = length <= OPERATOR_FREE_LENGTH
    term = TermParser(sosl, lexemes, operators=operators).parse() or NOTHING
    if length > MAX_TERM_LENGTH:
        term = NOTHING
    parser = Parser(sosl, after)
    group = SEARCH_GROUPS["ALL"]
    if parser.at_keyword("IN"):
        parser.advance()
        if not parser.at_keyword(*SEARCH_GROUPS):
            raise parser.unexpected()
        group = SEARCH_GROUPS[parser.advance().text.upper()]
        parser.expect_keyword("FIELDS")
    query = Query((FieldRef("Id", after),), CASE.name, after)
    if parser.at_keyword("RETURNING"):
        parser.advance()
        query = returning(parser)
    limit = parser.integer_clause("LIMIT")
    parser.expect("eof")
    return Search(term, group, query, limit, bool(query.order_by))


def returning(parser: Parser) -> Query:
    """``Case [( fields [WHERE] [ORDER BY] [LIMIT] [OFFSET] )]``, by the SOQL parser's rules."""
    name = parser.expect("ident")
    sobject = get_sobject(name.text)
    if sobject is not None and sobject is not CASE:  # unknown ones: the compiler's INVALID_TYPE
        raise query_error(
            parser.soql,
            name.pos,
            InvalidType,
            f"sObject type '{name.text}' is not supported in search by this mock; only Case is.",
        )
    if not parser.at_punct("("):
        return Query((FieldRef("Id", name.pos),), name.text, name.pos)
    parser.advance()
    fields = [parser.field_ref()]
    while parser.at_punct(","):
        parser.advance()
        fields.append(parser.field_ref())
    where, order_by, limit, offset = parser.clauses()
    parser.expect("punct", ")")
    return Query(tuple(fields), name.text, name.pos, where, order_by, limit, offset)


def run_search(sosl: str | None, user: User, version: str) -> Any:
    """Matching Cases the user may see, in the REST shape of query records."""
    if not sosl or not sosl.strip():
        raise MalformedSearch("A search string has to be specified")
    search = parse(sosl)
    compiled = Compiler(sosl, search.query).compile()
    found = [] if search.term == NOTHING else hits(search, compiled.base, user)
    if not search.ordered:
        found.sort(key=lambda hit: hit[1][MODIFIED.name], reverse=True)
        found.sort(key=lambda hit: not hit[0])
    offset = compiled.offset or 0
    limits = [MAX_RESULTS] + [n for n in (compiled.limit, search.limit) if n is not None]
    rows = [mapping for _, mapping in found[offset : offset + min(limits)]]
    rendered = [records.render(compiled.sobject, compiled.selected, row, version) for row in rows]
    if int(float(version)) < FIRST_VERSION_WITH_SEARCH_RECORDS:
        return rendered
    return {"searchRecords": rendered}


def hits(search: Search, base: Select[Any], user: User) -> list[tuple[bool, Any]]:
    """(matched in Subject, row) for each visible Case the term matches, in SQL order."""
    labelled = {name: SEARCHED[name] for name in search.group}
    stmt = base.add_columns(*labelled.values(), RANK_SUBJECT, MODIFIED)
    narrowed = prefilter(search.term, search.group)
    if narrowed is not None:
        stmt = stmt.where(narrowed)
    found = []
    for row in db.session.execute(records.restrict(CASE, stmt, user)):
        mapping = row._mapping
        texts = [FieldText(searchable(name, mapping[c.name])) for name, c in labelled.items()]
        if matches(search.term, texts):
            in_subject = matches(search.term, [FieldText(mapping[RANK_SUBJECT.name])])
            found.append((in_subject, mapping))
    return found


def searchable(name: str, value: Any) -> str | None:
    """A field's text as the index sees it (CaseNumber in its 8-digit form)."""
    if value is None:
        return None
    return f"{value:08d}" if name == "CaseNumber" else str(value)
