"""Salesforce record ids: 15-char case-sensitive base-62 with a key prefix, 18-char with checksum.

Checksum (contract §6.5): split the 15-char id into three 5-char chunks; in each, set bit i when
char i is an uppercase letter; map each 5-bit value into ``A..Z0..5`` and append.
"""

from __future__ import annotations

import re
import secrets
import string

BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
SUFFIX_ALPHABET = string.ascii_uppercase + "012345"

KEY_PREFIXES = {
    "Account": "001",
    "Contact": "003",
    "User": "005",
    "Organization": "00D",
    "CaseComment": "00a",
    "Profile": "00e",
    "Group": "00G",
    "Case": "500",
    "Network": "0DB",
    "PermissionSet": "0PS",
}

_ID15 = re.compile(r"[0-9A-Za-z]{15}")
_ID18 = re.compile(r"[0-9A-Za-z]{15}[A-Z0-5]{3}")


class MalformedId(ValueError):
    """The text is not a well-formed 15/18-char id (or not of the expected object)."""


def checksum(id15: str) -> str:
    """The 3-char suffix that makes a 15-char id case-insensitively unique."""
    suffix = ""
    for start in (0, 5, 10):
        bits = 0
        for i, char in enumerate(id15[start : start + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << i
        suffix += SUFFIX_ALPHABET[bits]
    return suffix


def to18(id15: str) -> str:
    """Append the checksum to a 15-char id."""
    return id15 + checksum(id15)


def new_id(prefix: str) -> str:
    """A fresh 18-char id with the given key prefix and a random base-62 body."""
    body = "".join(secrets.choice(BASE62) for _ in range(15 - len(prefix)))
    return to18(prefix + body)


def looks_like_id(raw: str) -> bool:
    """15 or 18 base-62 characters, whatever the checksum or object."""
    return bool(_ID15.fullmatch(raw) or re.fullmatch(r"[0-9A-Za-z]{18}", raw))


def normalize(raw: str, prefix: str | None = None) -> str:
    """Return the 18-char form of a 15- or 18-char id; raise MalformedId if it is not one."""
    if _ID15.fullmatch(raw):
        full = to18(raw)
    elif _ID18.fullmatch(raw) and checksum(raw[:15]) == raw[15:]:
        full = raw
    else:
        raise MalformedId(raw)
    if prefix is not None and not full.startswith(prefix):
        raise MalformedId(raw)
    return full
