"""The handout: what a referral shows, computed once and rendered as HTML, PDF, text or ICS.

`build_handout` is pure: it takes the stored referral, what the backend holds now for each
listing, the moment, and the public URL, and returns everything a renderer prints. Next
sessions come from the snapshot's schedule (the handout shows what was handed over),
in each listing's own zone; an item whose listing has changed or gone since says so.

Whose time comes first depends on where the client will be: an option joined from wherever
the client is (online or by phone only, `remote_only`) gives its times in the client's zone,
its own after; an option the client goes to gives the place's own time (`lead_zone`). The
handout knows the client's zone (the referral's, else the first option's) and decides once,
for every format, whether times must name their zone: they do as soon as any timed option's
own zone differs from the client's (so a Perth client reads "Sat 4pm Perth time" for a
Brisbane meeting online, never a bare "4pm" a Brisbane page would contradict); otherwise the
handout says once that all times are the client's.

Dates (made on, works until, last checked) are the client's calendar dates, not UTC's: at
05:14 on 5 Dec in Sydney the handout was made on 5 Dec.

A note is never part of a referral: `note` is given only for one rendering (the clinician's
own copy, printed or downloaded once).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from service.domain import programs, schedule
from service.domain.models import Occurrence, Reason, SearchQuery
from service.referrals.model import Referral, display_code, item_status
from service.domain.schemas import listing_from_trusted
from service.domain.text import links_in_use
from service.domain.zones import known_zone
from service.search.reasons import reasons

# Listings last checked longer ago than this are marked "check before you go" (the
# LINKAGE_STALE_AFTER_DAYS setting; the views pass it).
STALE_AFTER_DAYS = 180


@dataclass(frozen=True)
class HandoutItem:
    """One option on the handout."""

    listing: dict                       # the snapshot (API listing shape)
    status: str                         # unchanged | changed | removed
    next_sessions: tuple[Occurrence, ...]
    why: tuple[Reason, ...]             # why it fits (as data; the renderer writes the words)
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


def client_zone(referral: Referral) -> str:
    """The client's zone: the referral's (the searched place's), else the first option's."""
    zones = [known_zone(referral.timezone)] + [known_zone(s.get("timezone")) for s in referral.items]
    return next((z for z in zones if z), "Australia/Sydney")


def local_date(value: str | None, zone_name: str) -> str | None:
    """An ISO date or timestamp as the ISO date it was in `zone_name`: a timestamp with an
    offset ("2026-12-04T18:14:00+00:00") is moved to the zone first (5 Dec in Sydney); a
    plain date, or a timestamp without an offset, is already someone's date and is kept."""
    if not value:
        return None
    text = str(value).strip()
    if len(text) > 10:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return text[:10]
        if moment.tzinfo is not None:
            return moment.astimezone(ZoneInfo(zone_name)).date().isoformat()
    return text[:10]


def last_checked(snapshot: dict, zone_name: str = "Australia/Sydney") -> str | None:
    """When the listing's details were last checked (ISO date in `zone_name`), if known."""
    return local_date(snapshot.get("verified_at") or snapshot.get("updated_at"), zone_name)


def stale_since(snapshot: dict, now: datetime, stale_after_days: int = STALE_AFTER_DAYS,
                zone_name: str = "Australia/Sydney") -> str | None:
    """The last-checked date when it is older than `stale_after_days` at `now` (dates in
    `zone_name`, the client's), else None."""
    checked = last_checked(snapshot, zone_name)
    threshold = (now.astimezone(ZoneInfo(zone_name)) - timedelta(days=stale_after_days)).date().isoformat()
    return checked if checked and checked < threshold else None


def remote_only(snapshot: dict) -> bool:
    """True when the option is joined from wherever the client is (online or by phone only)."""
    formats = snapshot.get("formats") or ()
    return bool(formats) and "in_person" not in formats


def hours_shift(snapshot: dict, client: str, at: datetime) -> int:
    """Minutes to add to the option's clock to read the client's at `at` (0 in the same zone)."""
    zone_name = known_zone(snapshot.get("timezone")) or client
    if zone_name == client:
        return 0
    theirs = at.astimezone(ZoneInfo(client)).utcoffset()
    ours = at.astimezone(ZoneInfo(zone_name)).utcoffset()
    return int((theirs - ours).total_seconds() // 60)


def clock_minutes(hhmm: str) -> int:
    """Minutes since midnight of a schedule's "HH:MM" (ValueError when it is not one)."""
    hours, mins = str(hhmm).split(":")
    return int(hours) * 60 + int(mins)


def hours_move_cleanly(snapshot: dict, shift: int) -> bool:
    """True when every opening-hours span, moved by `shift` minutes, still starts and ends on
    one day (the day may change as a whole, except for a monthly rule: "first Mon" moved to
    Tuesday is not "first Tue"); a span the move would split over midnight is not."""
    for session in snapshot.get("sessions") or ():
        try:
            first, last = clock_minutes(session.get("start") or ""), clock_minutes(session.get("end") or "")
        except ValueError:
            continue
        if not first < last:
            return False
        moved = (first + shift) // (24 * 60), (last + shift - 1) // (24 * 60)
        if moved[0] != moved[1] or (moved[0] and session.get("monthly")):
            return False
    return True


def keeps_hours(snapshot: dict) -> bool:
    """True for a service or helpline with opening hours (not sessions one goes to)."""
    return snapshot.get("kind") != "group" and bool(snapshot.get("sessions"))


def lead_zone(snapshot: dict, client: str, at: datetime) -> str:
    """The zone an option's times are given in first: the client's for an option joined from
    wherever they are (unless its opening hours cannot be moved there without splitting a
    span over midnight), else the place's own (the client goes there)."""
    own = known_zone(snapshot.get("timezone")) or client
    if own == client or not remote_only(snapshot):
        return own
    if keeps_hours(snapshot) and not hours_move_cleanly(snapshot, hours_shift(snapshot, client, at)):
        return own
    return client


def build_handout(referral: Referral, current: dict, now: datetime, public_url: str,
                  dead_links: dict | None = None, note: str | None = None,
                  stale_after_days: int = STALE_AFTER_DAYS) -> Handout:
    """The handout for a referral; `current` maps listing id -> (Listing, document) or None,
    `dead_links` listing id -> the links `linkage check-links` found gone, `note` is printed
    on this one copy only."""
    base = public_url.rstrip("/")
    zone = client_zone(referral)
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
            why=reasons(listing, query, None, sessions),
            explainer=stance.explainer if stance else None,
            dead_links=tuple(links_in_use(snapshot.get("contact") or {}, (dead_links or {}).get(snapshot["id"], ()))),
            stale_since=stale_since(snapshot, now, stale_after_days, zone),
        ))
    checked = sorted({last_checked(s, zone) for s in referral.items} - {None})
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
