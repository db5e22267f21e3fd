"""The handout: what a referral shows, computed once and rendered as HTML, PDF, text or ICS.

`build_handout` is pure: it takes the stored referral, what the backend holds now for each
listing, the moment, and the public URL, and returns everything a renderer prints. Next
sessions come from the snapshot's schedule (the handout shows what was handed over),
in each listing's own zone; an item whose listing has changed or gone since says so.

Times are printed in each listing's own zone. The handout knows the client's zone (the
referral's, else the first option's) and decides once, for every format, whether times must
name their zone: they do as soon as any timed option's zone differs from the client's (which
is also the case whenever the options mix zones); otherwise the handout says once that all
times are the client's.

A note is never part of a referral: `note` is given only for one rendering (the clinician's
own copy, printed or downloaded once).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import programs, ranking, schedule
from .models import Occurrence, SearchQuery
from .referrals import Referral, display_code, item_status
from .schemas import listing_from_trusted
from .text import links_in_use

# Listings last checked longer ago than this are marked "check before you go" (the
# LINKAGE_STALE_AFTER_DAYS setting; the views pass it).
STALE_AFTER_DAYS = 180


@dataclass(frozen=True)
class HandoutItem:
    """One option on the handout."""

    listing: dict                       # the snapshot (API listing shape)
    status: str                         # unchanged | changed | removed
    next_sessions: tuple[Occurrence, ...]
    why: tuple[str, ...]
    explainer: str | None               # plain words about the program, if known
    dead_links: tuple[dict, ...] = ()   # links on this option the last link check found gone
    stale_since: str | None = None      # ISO date of the last check, when older than the threshold


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
    note: str | None                    # for this one rendering only; never stored
    items: tuple[HandoutItem, ...]
    demo: bool                          # any option is demo data (print the banner)
    checked_on: tuple[str, ...]         # the distinct "information checked on" dates
    seven_day_goal: str | None = None   # a key of referrals.SEVEN_DAY_GOALS
    timezone: str = "Australia/Sydney"  # the client's zone
    label_zones: bool = False           # every time names its zone (some option's zone is not the client's)


def known_zone(name: str | None) -> str | None:
    """The zone name when it names a zone this machine knows, else None."""
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def client_zone(referral: Referral) -> str:
    """The client's zone: the referral's (the searched place's), else the first option's."""
    zones = [known_zone(referral.timezone)] + [known_zone(s.get("timezone")) for s in referral.items]
    return next((z for z in zones if z), "Australia/Sydney")


def last_checked(snapshot: dict) -> str | None:
    """When the listing's details were last checked (ISO date), if known."""
    value = snapshot.get("verified_at") or snapshot.get("updated_at")
    return value[:10] if value else None


def stale_since(snapshot: dict, now: datetime, stale_after_days: int = STALE_AFTER_DAYS) -> str | None:
    """The last-checked date when it is older than `stale_after_days` at `now`, else None."""
    checked = last_checked(snapshot)
    threshold = (now - timedelta(days=int(stale_after_days))).date().isoformat()
    return checked if checked and checked < threshold else None


def build_handout(referral: Referral, current: dict, now: datetime, public_url: str,
                  dead_links: dict | None = None, note: str | None = None,
                  stale_after_days: int = STALE_AFTER_DAYS) -> Handout:
    """The handout for a referral; `current` maps listing id -> (Listing, document) or None,
    `dead_links` listing id -> the links `linkage check-links` found gone, `note` is printed
    on this one copy only."""
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
            stale_since=stale_since(snapshot, now, stale_after_days),
        ))
    checked = sorted({last_checked(s) for s in referral.items} - {None})
    zone = client_zone(referral)
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
        seven_day_goal=referral.seven_day_goal,
        timezone=zone,
        # Only options that print a time count: a 24/7 line's zone changes nothing on the page.
        label_zones=any(s.get("timezone") != zone for s in referral.items if s.get("sessions")),
    )
