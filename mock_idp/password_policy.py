"""The password policy for new and reset passwords (NIST SP 800-63B §5.1.1.2 in miniature)."""

from __future__ import annotations

MAX_LENGTH = 1024  # long enough for any passphrase, short enough to bound hashing work

# A small deny-list of passwords that meet the length rule and still fall first to guessing.
COMMON_PASSWORDS = frozenset(
    {
        "password1234",
        "password12345",
        "password123456",
        "passwordpassword",
        "password1234!",
        "123456789012",
        "1234567890123",
        "12345678901234",
        "123456123456",
        "098765432109",
        "qwerty123456",
        "qwertyuiop12",
        "qwertyuiop123",
        "qwertyuiopasdf",
        "1q2w3e4r5t6y",
        "1qaz2wsx3edc",
        "1qaz2wsx3edc4rfv",
        "iloveyou1234",
        "letmein12345",
        "welcome12345",
        "welcome123456",
        "administrator",
        "abc123abc123",
        "abcdefghijkl",
        "monkey123456",
        "football1234",
        "baseball1234",
        "sunshine1234",
        "princess1234",
        "trustno1trustno1",
        "correcthorsebatterystaple",
        "speakerportal",
        "speaker-portal",
    }
)


def problems(password: str, email: str, min_length: int) -> list[str]:
    """Why `password` is not acceptable for the account `email` (empty when it is)."""
    if len(password) < min_length:
        return [f"Use at least {min_length} characters."]
    if len(password) > MAX_LENGTH:
        return [f"Use at most {MAX_LENGTH} characters."]
    folded = password.strip().casefold()
    address = email.strip().casefold()
    if folded in {address, address.partition("@")[0]}:
        return ["Do not use your email address as your password."]
    if folded in COMMON_PASSWORDS or len(set(folded)) == 1:
        return ["This password is too common. Choose one that is harder to guess."]
    return []
