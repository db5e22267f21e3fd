"""Why a listing fits the search, in short phrases, most important first."""

from __future__ import annotations

from datetime import datetime, timedelta

from service.domain import vocab
from service.domain.models import Listing, Occurrence, SearchQuery
from service.domain.ordering import RANKING, for_everyone, is_remote_only


def _soon_phrase(occurrence: Occurrence, at: datetime) -> str | None:
    if occurrence.in_progress:
        return "On now"
    wait = occurrence.start - at
    if wait <= timedelta(minutes=RANKING["starts_soon_minutes"]):
        mins = max(1, int(wait.total_seconds() // 60))
        return f"Starts in {mins} min" if mins < 60 else f"Starts in {mins // 60} h {mins % 60:02d} min"
    return None


def _audience(value: str) -> str:
    text = vocab.label(value)
    # Keep proper nouns and acronyms as they are ("Aboriginal", "LGBTIQ+").
    return text if value in ("lgbtiq", "aboriginal_torres_strait_islander") else text.lower()


def reasons(
    listing: Listing,
    query: SearchQuery,
    distance_km: float | None,
    occurrences: tuple[Occurrence, ...],
) -> tuple[str, ...]:
    """Short human reasons the listing fits the search, most important first.

    A listing for particular groups that the search did not ask for says whom it is for,
    first, and never that it fits the person's goal: the person may not be able to go.
    """
    why: list[str] = []
    audiences = [a for a in query.audiences if a in listing.audiences]
    restricted = not for_everyone(listing) and not audiences
    wanted_goals = [g for g in query.filter_goals if g in listing.goals]
    if restricted:
        why.append("Only for " + ", ".join(_audience(a) for a in listing.audiences))
    elif wanted_goals:
        why.append("Fits the goal: " + ", ".join(vocab.label(g).lower() for g in wanted_goals))
    elif "undecided" in query.goals and (
        len(listing.goals) > 1 or listing.first_visit.can_attend_while_using
    ):
        why.append("Welcomes people still deciding on a goal")
    substances = [s for s in query.substances if s in listing.substances]
    if substances:
        why.append("Focus on " + ", ".join(substances))
    elif query.substances and "any" in listing.substances:
        why.append("Open to any substance")
    remote = [f for f in listing.formats if f in vocab.REMOTE_FORMATS]
    if distance_km is not None and "in_person" in listing.formats and query.place:
        why.append(f"{distance_km:.1f} km away")
    if remote and (is_remote_only(listing) or set(query.formats) & set(remote)):
        area = ", ".join(listing.service_area) or "anywhere"
        why.append(" and ".join(vocab.label(f) for f in remote) + f" — available in {area}")
    if audiences:
        why.append("For " + ", ".join(_audience(a) for a in audiences))
    languages = [lang for lang in query.languages if lang in listing.languages]
    if languages:
        why.append("In " + ", ".join(languages))
    if listing.open_24_7:
        why.append("Open 24/7")
    elif occurrences:
        soon = _soon_phrase(occurrences[0], query.at)
        if soon:
            why.append(soon)
    if listing.cost == "free":
        why.append("Free")
    return tuple(why)
