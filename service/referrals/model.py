"""Referrals: a clinician's chosen options, frozen as a handout, with anonymous outcomes.

Nothing about the client is stored, by design: a referral holds snapshots of the chosen
listings and structured choices only (the goal, a seven-day goal picked from a short list, the
language and the client's time zone). There is no field for free text: a note a clinician
writes for the client stays in the clinician's browser and is printed onto the client's copy
there, or into a PDF rendered for that one download (see `views/referrals.py`). Outcomes are
counts per listing.

Pure functions here (codes, choice warnings, change detection); storage lives in
`referral_store.py`.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from service.domain import vocab
from service.domain.models import Listing

# Crockford's base32: no I, L, O or U, so a code copied from paper is not misread.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_READ_AS = {"I": "1", "L": "1", "O": "0", "U": "V"}
CODE_BITS = 75  # 15 characters of 5 bits: well past the 64 bits an attacker would have to guess
CODE_CHARS = CODE_BITS // 5
MAX_ITEMS = 12
MAX_NOTE = 500  # a note printed onto one copy (never stored)
DEFAULT_LIFETIME = timedelta(days=90)
OUTCOMES = ("attended", "not_yet", "not_for_me")

# The short list a client picks one goal for the next seven days from (key -> English words;
# the handout translates the words). A choice, never free text, so it can be stored.
SEVEN_DAY_GOALS = {
    "go_to_one_meeting": "Go to one meeting or group",
    "call_one_service": "Call one service",
    "try_online_or_phone": "Try one online or phone session",
    "see_gp_again": "Book a follow-up with my GP or clinician",
    "count_days": "Keep count of using or drinking days",
    "tell_someone": "Tell one person I trust about my plan",
}


def new_code() -> str:
    """A fresh unguessable code (75 random bits), as 15 base32 characters."""
    number = secrets.randbits(CODE_BITS)
    return "".join(_ALPHABET[(number >> (5 * i)) & 31] for i in reversed(range(CODE_CHARS)))


def normalise_code(text: str) -> str | None:
    """A code as typed (any case, dashes or spaces, O for 0) in its stored form; None if malformed.

    Only the spaces and dashes a person types between groups are dropped: a tab, a line break
    or any other control character makes the code malformed, so it never reaches a header."""
    cleaned = "".join(_READ_AS.get(ch, ch) for ch in re.sub(r"[ -]", "", text.upper()))
    if len(cleaned) != CODE_CHARS or any(ch not in _ALPHABET for ch in cleaned):
        return None
    return cleaned


def display_code(code: str) -> str:
    """A code grouped for reading aloud or typing: ABCDE-FGHJK-MNPQR."""
    return "-".join(code[i:i + 5] for i in range(0, len(code), 5))


@dataclass(frozen=True)
class Referral:
    """A stored referral: snapshots of the listings as they were when it was made."""

    code: str
    created_at: datetime
    expires_at: datetime
    goal: str | None
    language: str
    items: tuple[dict, ...]          # dumped listings (the API's listing shape)
    place: dict | None = None        # rough place of the options, for suggestions only
    warnings: tuple[str, ...] = field(default=())
    seven_day_goal: str | None = None  # a key of SEVEN_DAY_GOALS
    timezone: str | None = None        # the client's zone (the searched place's), for labelling times

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


def _in_sentence(label: str) -> str:
    """A label inside a sentence: first letter lower-cased, acronyms kept ("self-management (CBT-based tools)")."""
    return label[:1].lower() + label[1:]


def choice_warning(chosen: list[Listing], asked_formats: tuple[str, ...] = ()) -> tuple[str, set[str]] | None:
    """When every option is alike in format or approach, say so and what kind of option to add.

    `asked_formats` are the formats the search was limited to: a format the clinician left out
    is never advised. Returns (message, what a suggestion must differ in: "format", "approach",
    "kind").
    """
    if len(chosen) < 2:
        return None
    formats = {tuple(sorted(x.formats)) for x in chosen}
    approaches = {x.approach for x in chosen}
    kinds = {x.kind for x in chosen}
    allowed = set(asked_formats or vocab.FORMATS)
    lacking = set()
    advice = []
    if len(formats) == 1:
        have = next(iter(formats))
        missing = [f for f in vocab.FORMATS if f in allowed and f not in have]
        if missing:
            lacking.add("format")
            only = " and ".join(vocab.label(f).lower() for f in have)
            remote = [f for f in missing if f in vocab.REMOTE_FORMATS]
            other = ("an " + " or ".join(vocab.label(f).lower().replace("by ", "") for f in remote) + " option"
                     if remote else "an in-person option")
            advice.append(f"every option is {only}; consider {other}")
    if len(approaches) == 1:
        lacking.add("approach")
        approach = next(iter(approaches))
        other = "a non-12-step group (e.g. SMART Recovery)" if approach == "twelve_step" else "a different approach"
        advice.append(f"every option is {_in_sentence(vocab.label(approach))}; consider {other}")
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
