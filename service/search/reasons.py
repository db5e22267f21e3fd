"""Why a listing fits the search, as data (`Reason`), most important first.

No words here: `service.render.reasons` writes each reason in the reader's language.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta

from service.domain import vocab
from service.domain.models import Listing, Occurrence, Reason, SearchQuery
from service.domain.ordering import RANKING, for_everyone, is_remote_only


# The reasons that name no values, made once: a page asks for them on nearly every hit.
_ON_NOW, _WELCOMES_UNDECIDED, _ANY_SUBSTANCE, _OPEN_24_7, _FREE = (
    Reason(code) for code in ("on_now", "welcomes_undecided", "any_substance", "open_24_7", "free"))
_STARTS_SOON = timedelta(minutes=RANKING["starts_soon_minutes"])


def _soon(occurrence: Occurrence, at: datetime) -> Reason | None:
    """On now, or starts within the "starts soon" window (in whole minutes, at least one)."""
    if occurrence.in_progress:
        return _ON_NOW
    wait = occurrence.start - at
    if wait <= _STARTS_SOON:
        return Reason("starts_in", (max(1, int(wait.total_seconds() // 60)),))
    return None


def _kept(codes: tuple[str, ...], allowed) -> tuple[str, ...]:
    """`codes` that are in `allowed`, in their own order."""
    # Most searches ask for no audience, goal, substance or language: then no generator is
    # made (this runs for every hit of every page).
    return tuple(code for code in codes if code in allowed) if codes else ()


@functools.lru_cache(maxsize=256)
def _remote_formats(formats: tuple[str, ...]) -> tuple[str, ...]:
    """The remote ones of a listing's formats, in its order (remembered: listings share a
    few combinations, and every hit of a page asks)."""
    return _kept(formats, vocab.REMOTE_FORMATS)


def reasons(
    listing: Listing,
    query: SearchQuery,
    distance_km: float | None,
    occurrences: tuple[Occurrence, ...],
) -> tuple[Reason, ...]:
    """The reasons the listing fits the search, most important first (codes: `Reason`).

    A listing for particular groups that the search did not ask for says whom it is for,
    first, and never that it fits the person's goal: the person may not be able to go.
    """
    why: list[Reason] = []
    audiences = _kept(query.audiences, listing.audiences)
    restricted = not for_everyone(listing) and not audiences
    wanted_goals = _kept(query.filter_goals, listing.goals)
    if restricted:
        why.append(Reason("only_for", tuple(listing.audiences)))
    elif wanted_goals:
        why.append(Reason("fits_goal", wanted_goals))
    elif "undecided" in query.goals and (
        len(listing.goals) > 1 or listing.first_visit.can_attend_while_using
    ):
        why.append(_WELCOMES_UNDECIDED)
    substances = _kept(query.substances, listing.substances)
    if substances:
        why.append(Reason("focus_on", substances))
    elif query.substances and "any" in listing.substances:
        why.append(_ANY_SUBSTANCE)
    remote = _remote_formats(listing.formats)
    if distance_km is not None and "in_person" in listing.formats and query.place:
        why.append(Reason("distance_km", (distance_km,)))
    if remote and (is_remote_only(listing) or set(query.formats) & set(remote)):
        why.append(Reason("available_remotely", (remote, tuple(listing.service_area))))
    if audiences:
        why.append(Reason("for_audience", audiences))
    languages = _kept(query.languages, listing.languages)
    if languages:
        why.append(Reason("in_language", languages))
    if listing.open_24_7:
        why.append(_OPEN_24_7)
    elif occurrences:
        soon = _soon(occurrences[0], query.at)
        if soon:
            why.append(soon)
    if listing.cost == "free":
        why.append(_FREE)
    return tuple(why)
