"""Hostile values for form fuzzing: text of every kind, the classics of injection, and sizes past
every field's limit."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

CLASSICS = [
    "",
    " ",
    "\x00",
    "\r\nSet-Cookie: planted=1",
    "' OR '1'='1' --",
    "<script>alert(1)</script>",
    "{{7*7}}${7*7}",
    "../../../../etc/passwd",
    "%00%0d%0a",
    "javascript:alert(1)",
    "http://[::1",
    "http://127.0.0.1:1/",
    "ada@speakers.example",
    " ADA@Speakers.Example ",
    "a@b",
    "\u202egnp.exe",
    "\U0001f642" * 300,
    "x" * 5_000,
    "9" * 400,
    "null",
    "[]",
    "{}",
]
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60)
HOSTILE = st.one_of(TEXT, st.sampled_from(CLASSICS), st.integers().map(str))


def form_value(valid: Any) -> st.SearchStrategy[Any]:
    """A field's value: the valid one (drawn first: Hypothesis starts small), a hostile one, or
    the field given twice."""
    plain = st.just(valid) if not isinstance(valid, st.SearchStrategy) else valid
    return st.one_of(plain, HOSTILE, st.lists(st.one_of(plain, HOSTILE), min_size=2, max_size=2))


@st.composite
def form(draw: Any, fields: dict[str, Any]) -> dict[str, Any]:
    """Some of `fields` (valid or hostile values; a valid None leaves an optional field out),
    and now and then a field nobody asked for."""
    data = {}
    for name, valid in fields.items():
        if draw(st.integers(0, 5)) < 5:  # mostly present
            value = draw(form_value(valid))
            if value is not None:  # a valid value of None: an optional field left out
                data[name] = value
    if draw(st.integers(0, 4)) == 4:
        data[draw(HOSTILE.filter(bool))] = draw(HOSTILE)
    return data
