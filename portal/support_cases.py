"""A speaker's Support Cases in Salesforce: SOQL, SOSL and record calls (no Flask).

Listing uses SOQL with LIMIT/OFFSET paging and one GROUP BY query for the status counts;
searching uses SOSL, because Case.Description is a long text area that SOQL cannot filter. Field
limits and picklist values come from describe (cached per org), so a changed org needs no code
change.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from .errors import CaseNotFound
from .salesforce import SalesforceApiError
from .sf_session import SalesforceSession

PAGE_SIZE = 20
MAX_OFFSET = 2000  # SOQL and SOSL refuse a larger OFFSET
STATUS_FILTERS = ("open", "closed", "all")
LIST_FIELDS = "Id, CaseNumber, Subject, Status, Priority, CreatedDate, LastModifiedDate"
CASE_FIELDS = [
    "Id",
    "CaseNumber",
    "Subject",
    "Description",
    "Status",
    "Priority",
    "IsClosed",
    "ContactId",
    "CreatedDate",
    "LastModifiedDate",
    "ClosedDate",
]
CASE_ID = re.compile(r"500[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?")
SALESFORCE_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")
# SOSL reserved characters (SOSL reference, "FIND"): each is escaped with a backslash.
SOSL_RESERVED = re.compile(r"""([?&|!{}\[\]()^~*:\\"'+\-])""")
SOSL_OPERATORS = frozenset({"AND", "OR", "NOT"})
DESCRIBE_SECONDS = 600


@dataclass(frozen=True)
class FieldRules:
    """What describe says of the fields a speaker fills in."""

    subject_max: int
    description_max: int
    comment_max: int
    priorities: tuple[str, ...]
    default_priority: str | None
    open_status: str  # the default Status: what a reopened case goes back to
    closed_status: str


@dataclass(frozen=True)
class CasePage:
    """One page of a speaker's cases, as the list shows it."""

    cases: list[dict[str, Any]]
    page: int
    has_next: bool
    status: str
    search: str
    counts: dict[str, int]
    note: str | None = None  # why a search found nothing without running, or failed

    @property
    def total(self) -> int | None:
        """How many cases match, when known (a search does not count)."""
        return None if self.search else self.counts[self.status]

    @property
    def pages(self) -> int | None:
        total = self.total
        return None if total is None else max(1, -(-total // PAGE_SIZE))


class CaseDesk:
    """The cases of the speaker behind one Salesforce session."""

    def __init__(self, session: SalesforceSession) -> None:
        self.session = session

    def counts(self) -> dict[str, int]:
        """How many of her cases are open, closed, and in all."""
        # One aggregate query, not a COUNT() per status: one REST call fewer on every list.
        soql = f"SELECT IsClosed, COUNT(Id) n FROM Case WHERE {self._mine()} GROUP BY IsClosed"
        groups = self.session.call(lambda api: api.query(soql))
        counted = {bool(group["IsClosed"]): int(group["n"]) for group in groups}
        open_, closed = counted.get(False, 0), counted.get(True, 0)
        return {"open": open_, "closed": closed, "all": open_ + closed}

    def page(self, status: str = "open", search: str = "", page: int = 1) -> CasePage:
        """Her cases with that status (open, closed, all), newest change first, one page."""
        status = status if status in STATUS_FILTERS else "open"
        page = max(1, min(page, MAX_OFFSET // PAGE_SIZE + 1))
        where = self._mine() + {
            "open": " AND IsClosed = false",
            "closed": " AND IsClosed = true",
        }.get(status, "")
        # One more than a page tells whether there is a next one.
        tail = (
            f"ORDER BY LastModifiedDate DESC LIMIT {PAGE_SIZE + 1} OFFSET {(page - 1) * PAGE_SIZE}"
        )
        note = None
        if search and not searchable(search):
            records, note = [], "Type at least two letters or digits to search."
        elif search:
            sosl = (
                f"FIND {{{sosl_term(search)}}} IN ALL FIELDS "
                f"RETURNING Case({LIST_FIELDS} WHERE {where} {tail})"
            )
            try:
                records = self.session.call(lambda api: api.search(sosl))
            except SalesforceApiError as exc:
                if exc.status != 400:
                    raise
                # Salesforce refused the search words themselves: say so over an empty list.
                records, note = [], f"Salesforce could not search for that: {exc.message}"
        else:
            soql = f"SELECT {LIST_FIELDS} FROM Case WHERE {where} {tail}"
            records = self.session.call(lambda api: api.query_page(soql))["records"]
        return CasePage(
            cases=records[:PAGE_SIZE],
            page=page,
            has_next=len(records) > PAGE_SIZE,
            status=status,
            search=search,
            counts=self.counts(),
            note=note,
        )

    def case(self, case_id: str) -> dict[str, Any]:
        """One of her cases with its published comments, oldest first; else CaseNotFound."""
        case = self._own_case(case_id)
        soql = (
            "SELECT Id, CommentBody, CreatedDate, CreatedBy.Name FROM CaseComment "
            f"WHERE ParentId = '{case['Id']}' AND IsPublished = true ORDER BY CreatedDate ASC"
        )
        case["comments"] = self.session.call(lambda api: api.query(soql))
        return case

    def create(self, subject: str, description: str, priority: str) -> dict[str, str]:
        """Open a case on her contact; its Id and CaseNumber."""
        values = {
            "Subject": subject,
            "Description": description,
            "Priority": priority,
            "Origin": "Web",
            "ContactId": self.session.contact_id,
        }
        case_id = self.session.call(lambda api: api.create("Case", values))
        return self.session.call(lambda api: api.get("Case", case_id, ["Id", "CaseNumber"]))

    def comment(self, case_id: str, body: str) -> None:
        """Add a published comment to one of her cases."""
        case = self._own_case(case_id)
        values = {"ParentId": case["Id"], "CommentBody": body, "IsPublished": True}
        self.session.call(lambda api: api.create("CaseComment", values))

    def set_closed(self, case_id: str, closed: bool) -> dict[str, Any]:
        """Close one of her cases, or reopen it; the case as it was before."""
        case = self._own_case(case_id)
        rules = self.rules()
        status = rules.closed_status if closed else rules.open_status
        self.session.call(lambda api: api.update("Case", case["Id"], {"Status": status}))
        return case

    def rules(self) -> FieldRules:
        """Field lengths and picklists from describe, cached per org."""
        return DESCRIBES.get(self.session.instance_url, lambda: self._describe_rules())

    def _describe_rules(self) -> FieldRules:
        case = fields_by_name(self.session.call(lambda api: api.describe("Case")))
        comment = fields_by_name(self.session.call(lambda api: api.describe("CaseComment")))
        priorities = active_values(case["Priority"])
        statuses = case["Status"].get("picklistValues") or []
        closed = next(
            (
                entry["value"]
                for entry in statuses
                if entry.get("active") and entry["value"] == "Closed"
            ),
            "Closed",
        )
        return FieldRules(
            subject_max=int(case["Subject"]["length"]),
            description_max=int(case["Description"]["length"]),
            comment_max=int(comment["CommentBody"]["length"]),
            priorities=tuple(priorities),
            default_priority=default_value(case["Priority"]),
            open_status=default_value(case["Status"]) or active_values(case["Status"])[0],
            closed_status=closed,
        )

    def _own_case(self, case_id: str) -> dict[str, Any]:
        if not CASE_ID.fullmatch(case_id):
            raise CaseNotFound("malformed_id", f"{case_id!r} is not a Case id.")
        try:
            case = self.session.call(lambda api: api.get("Case", case_id, CASE_FIELDS))
        except SalesforceApiError as exc:
            if exc.status in (400, 404):
                raise CaseNotFound(exc.error_code, exc.message) from exc
            raise
        # Sharing may show an account-mate's case; the portal shows a speaker her own only.
        if case.get("ContactId") != self.session.contact_id:
            raise CaseNotFound("not_her_case", f"Case {case_id} is not on her contact.")
        return case

    def _mine(self) -> str:
        contact_id = self.session.contact_id
        if not SALESFORCE_ID.fullmatch(contact_id or ""):
            raise ValueError(f"not a Salesforce id: {contact_id!r}")
        return f"ContactId = '{contact_id}'"


def searchable(text: str) -> bool:
    """SOSL needs a term of two letters or digits at least."""
    return sum(char.isalnum() for char in text) >= 2


def sosl_term(text: str) -> str:
    """The speaker's words as a SOSL term: reserved characters escaped, AND/OR/NOT quoted."""
    words = SOSL_RESERVED.sub(r"\\\1", " ".join(text.split())).split(" ")
    return " ".join(f'"{w}"' if w.upper() in SOSL_OPERATORS else w for w in words)


def fields_by_name(describe: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {field["name"]: field for field in describe.get("fields", [])}


def active_values(field: dict[str, Any]) -> list[str]:
    return [entry["value"] for entry in field.get("picklistValues") or [] if entry.get("active")]


def default_value(field: dict[str, Any]) -> str | None:
    entries = field.get("picklistValues") or []
    return next((e["value"] for e in entries if e.get("active") and e.get("defaultValue")), None)


class DescribeCache:
    """Describe results per org for a few minutes: they change when an admin edits the org."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._entries: dict[str, tuple[float, FieldRules]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, load: Any) -> FieldRules:
        with self._lock:
            entry = self._entries.get(key)
        if entry and time.monotonic() - entry[0] < self.seconds:
            return entry[1]
        rules = load()
        with self._lock:
            self._entries[key] = (time.monotonic(), rules)
        return rules

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


DESCRIBES = DescribeCache(DESCRIBE_SECONDS)
