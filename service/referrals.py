"""Referrals: a clinician's chosen options, frozen as a handout, with anonymous outcomes.

Nothing about the client is stored: a referral holds snapshots of the chosen listings, the
goal and language of the handout, and an optional short clinician note from which phone
numbers and email addresses are removed. Outcomes are counts per listing.

Pure functions here (codes, note scrubbing, choice warnings, change detection); storage
lives in `referral_store.py`.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from . import vocab
from .models import Listing

# Crockford's base32: no I, L, O or U, so a code copied from paper is not misread.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_READ_AS = {"I": "1", "L": "1", "O": "0", "U": "V"}
CODE_BITS = 75  # 15 characters of 5 bits: well past the 64 bits an attacker would have to guess
CODE_CHARS = CODE_BITS // 5
MAX_ITEMS = 12
MAX_NOTE = 500
DEFAULT_LIFETIME = timedelta(days=90)
OUTCOMES = ("attended", "not_yet", "not_for_me")

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
# Phone numbers: runs of 8+ digits with spaces, dots, dashes or brackets between (AU mobiles
# and landlines, +61 forms, 1800 numbers); shorter numbers (times, session counts) stay.
_PHONE = re.compile(r"(?<!\w)\+?\(?\d(?:[\s().-]*\d){7,}(?!\w)")


def new_code() -> str:
    """A fresh unguessable code (75 random bits), as 15 base32 characters."""
    number = secrets.randbits(CODE_BITS)
    return "".join(_ALPHABET[(number >> (5 * i)) & 31] for i in reversed(range(CODE_CHARS)))


def normalise_code(text: str) -> str | None:
    """A code as typed (any case, dashes or spaces, O for 0) in its stored form; None if malformed."""
    cleaned = "".join(_READ_AS.get(ch, ch) for ch in re.sub(r"[\s-]", "", text.upper()))
    if len(cleaned) != CODE_CHARS or any(ch not in _ALPHABET for ch in cleaned):
        return None
    return cleaned


def display_code(code: str) -> str:
    """A code grouped for reading aloud or typing: ABCDE-FGHJK-MNPQR."""
    return "-".join(code[i:i + 5] for i in range(0, len(code), 5))


def scrub_note(note: str | None) -> tuple[str | None, list[str]]:
    """The note without phone numbers or email addresses, and a warning when any were removed."""
    if not note:
        return None, []
    text = note.strip()
    scrubbed = _EMAIL.sub("[removed]", text)
    scrubbed = _PHONE.sub("[removed]", scrubbed)
    warnings = []
    if scrubbed != text:
        warnings.append("The note contained a phone number or email address; it was removed, because "
                        "referrals store nothing that identifies the person.")
    return scrubbed or None, warnings


@dataclass(frozen=True)
class Referral:
    """A stored referral: snapshots of the listings as they were when it was made."""

    code: str
    created_at: datetime
    expires_at: datetime
    goal: str | None
    language: str
    note: str | None
    items: tuple[dict, ...]          # dumped listings (the API's listing shape)
    place: dict | None = None        # rough place of the options, for suggestions only
    warnings: tuple[str, ...] = field(default=())

    @property
    def listing_ids(self) -> list[str]:
        """Ids of the chosen listings, in the clinician's order."""
        return [item["id"] for item in self.items]

    def expired(self, now: datetime) -> bool:
        """True once past its expiry."""
        return now >= self.expires_at


def item_status(snapshot: dict, current: Listing | None, current_document: dict | None) -> str:
    """"unchanged", "changed" (the listing was edited since) or "removed" (gone or inactive)."""
    if current is None or current.status == "inactive":
        return "removed"
    return "unchanged" if current_document == snapshot else "changed"


def choice_warning(chosen: list[Listing]) -> tuple[str, set[str]] | None:
    """When every option is alike in format or approach, say so and what kind of option to add.

    Returns (message, what a suggestion must differ in: "format", "approach", "kind").
    """
    if len(chosen) < 2:
        return None
    formats = {tuple(sorted(x.formats)) for x in chosen}
    approaches = {x.approach for x in chosen}
    kinds = {x.kind for x in chosen}
    lacking = set()
    advice = []
    if len(formats) == 1:
        lacking.add("format")
        only = " and ".join(vocab.label(f).lower() for f in next(iter(formats)))
        other = "an online or phone option" if "online" not in next(iter(formats)) else "an in-person option"
        advice.append(f"every option is {only}; consider {other}")
    if len(approaches) == 1:
        lacking.add("approach")
        approach = next(iter(approaches))
        other = "a non-12-step group (e.g. SMART Recovery)" if approach == "twelve_step" else "a different approach"
        advice.append(f"every option is {vocab.label(approach).lower()}; consider {other}")
    if kinds == {"group"}:
        lacking.add("kind")
        advice.append("groups work well alongside treatment; consider a treatment service")
    if not advice:
        return None
    return "Choice: " + "; ".join(advice) + ".", lacking


def differs(candidate: Listing, chosen: list[Listing], lacking: set[str]) -> bool:
    """True when a candidate adds what the chosen options lack."""
    if candidate.id in {x.id for x in chosen} or candidate.status != "active":
        return False
    if "format" in lacking and set(candidate.formats) - {f for x in chosen for f in x.formats}:
        return True
    if "approach" in lacking and candidate.approach not in {x.approach for x in chosen}:
        return True
    if "kind" in lacking and candidate.kind == "service":
        return True
    return False


def expiry(now: datetime, lifetime: timedelta = DEFAULT_LIFETIME) -> datetime:
    """When a referral made now expires."""
    return now + lifetime
