"""The handout: what a referral shows, computed once and rendered as HTML, PDF, text or ICS.

`build_handout` is pure: it takes the stored referral, what the backend holds now for each
listing, the moment, and the public URL, and returns everything a renderer prints. Next
sessions come from the snapshot's schedule (the handout shows what was handed over),
in each listing's own zone; an item whose listing has changed or gone since says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from . import programs, ranking, schedule
from .models import Occurrence, SearchQuery
from .referrals import Referral, display_code, item_status
from .schemas import listing_from_trusted
from .text import links_in_use


@dataclass(frozen=True)
class HandoutItem:
    """One option on the handout."""

    listing: dict                       # the snapshot (API listing shape)
    status: str                         # unchanged | changed | removed
    next_sessions: tuple[Occurrence, ...]
    why: tuple[str, ...]
    explainer: str | None               # plain words about the program, if known
    dead_links: tuple[dict, ...] = ()   # links on this option the last link check found gone


@dataclass(frozen=True)
class Handout:
    """Everything a handout renderer needs."""

    code: str
    display_code: str
    url: str                            # the handout's public URL (for the QR code and SMS)
    created_at: datetime
    expires_at: datetime
    goal: str | None
    language: str
    note: str | None
    items: tuple[HandoutItem, ...]
    demo: bool                          # any option is demo data (print the banner)
    checked_on: tuple[str, ...]         # the distinct "information checked on" dates


def build_handout(referral: Referral, current: dict, now: datetime, public_url: str,
                  dead_links: dict | None = None, note: str | None = None) -> Handout:
    """The handout for a referral; `current` maps listing id -> (Listing, document) or None,
    `dead_links` listing id -> the links `linkage check-links` found gone."""
    base = public_url.rstrip("/")
    query = SearchQuery(at=now, goals=(referral.goal,) if referral.goal else ())
    items = []
    for snapshot in referral.items:
        listing = listing_from_trusted(snapshot)
        found = current.get(snapshot["id"])
        status = item_status(snapshot, *(found if found else (None, None)))
        sessions = schedule.next_occurrences(listing, now, count=3)
        stance = programs.stance_for(listing.program)
        items.append(HandoutItem(
            listing=snapshot,
            status=status,
            next_sessions=sessions,
            why=ranking.reasons(listing, query, None, sessions),
            explainer=stance.explainer if stance else None,
            dead_links=tuple(links_in_use(snapshot.get("contact") or {}, (dead_links or {}).get(snapshot["id"], ()))),
        ))
    checked = sorted({s.get("verified_at") or s.get("updated_at") for s in referral.items} - {None})
    return Handout(
        code=referral.code,
        display_code=display_code(referral.code),
        url=f"{base}/r/{display_code(referral.code)}",
        created_at=referral.created_at,
        expires_at=referral.expires_at,
        goal=referral.goal,
        language=referral.language,
        note=note,  # for one copy only: a referral never holds a note
        items=tuple(items),
        demo=any((s.get("source") or {}).get("name", "").startswith("Demo data") for s in referral.items),
        checked_on=tuple(checked),
    )
