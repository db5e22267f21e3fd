"""Domain objects: what a listing is, what a search asks, what a search returns.

All are frozen dataclasses: built once at the edge (schemas, params), then only read.
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Callable, TypeVar

Frozen = TypeVar("Frozen")


@dataclass(frozen=True)
class Location:
    """Where an in-person listing meets; `approximate` when only the town is known."""

    address: str | None
    locality: str | None
    state: str | None
    postcode: str | None
    country: str
    lat: float
    lon: float
    approximate: bool = False


@dataclass(frozen=True)
class Session:
    """A weekly (or monthly, "first Saturday") session in the listing's local time."""

    weekday: str
    start: str
    end: str
    monthly: str | None = None


@dataclass(frozen=True)
class Contact:
    """How to reach or join a listing."""

    phone: str | None = None
    email: str | None = None
    website: str | None = None
    conference_url: str | None = None
    conference_phone: str | None = None
    registration_url: str | None = None


@dataclass(frozen=True)
class FirstVisit:
    """What a newcomer may want to know before going."""

    can_attend_while_using: bool | None = None
    camera_optional: bool | None = None
    no_need_to_speak: bool | None = None
    what_to_expect: str | None = None


@dataclass(frozen=True)
class Source:
    """Where a listing came from and under which licence."""

    name: str
    url: str | None = None
    licence: str | None = None


@dataclass(frozen=True)
class Listing:
    """One group meeting, treatment service or helpline."""

    id: str
    kind: str
    name: str
    description: str
    program: str | None
    approach: str
    goals: tuple[str, ...]
    substances: tuple[str, ...]
    formats: tuple[str, ...]
    audiences: tuple[str, ...]
    facilitation: str | None
    languages: tuple[str, ...]
    location: Location | None
    service_area: tuple[str, ...]
    timezone: str
    sessions: tuple[Session, ...]
    open_24_7: bool
    contact: Contact
    registration_required: bool
    open_meeting: bool
    cost: str
    referral: str
    accessibility: tuple[str, ...]
    first_visit: FirstVisit
    source: Source
    updated_at: str | None
    verified_at: str | None
    status: str
    # Other feeds that list the same meeting (kept when duplicates are merged on import).
    also_from: tuple[Source, ...] = ()

    def remote_covers(self, place: "Place") -> bool:
        """True when the listing is online or by phone and its service area covers the place."""
        if not self.service_area or "in_person" in self.formats and len(self.formats) == 1:
            return False
        area = set(self.service_area)
        return bool((place.country and place.country in area) or (place.state and place.state in area))

    @property
    def is_demo(self) -> bool:
        """True for the fictional demo records, which pages must label as such."""
        return self.source.name.startswith("Demo data")


@dataclass(frozen=True)
class Place:
    """A resolved search location: what the person typed, where it is, how sure we are."""

    query: str
    name: str
    lat: float
    lon: float
    state: str | None = None
    country: str = "AU"
    postcode: str | None = None
    timezone: str | None = None
    approximate: bool = False
    alternatives: tuple[str, ...] = ()


@dataclass(frozen=True)
class SearchQuery:
    """Everything a search asks for, cleaned and resolved; nothing downstream reads the request."""

    at: datetime
    place: Place | None = None
    radius_km: float = 25.0
    formats: tuple[str, ...] = ()
    goals: tuple[str, ...] = ()
    substances: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    approaches: tuple[str, ...] = ()
    audiences: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    days: tuple[str, ...] = ()
    # Parts of the day (vocab.TIMES_OF_DAY) on the searcher's clock (backends.time_of_day.time_windows);
    # with `days`, (day, part) pairs.
    times: tuple[str, ...] = ()
    starts_within: int | None = None
    # Asked for "tonight" (already turned into `starts_within`); kept for the echo.
    tonight: bool = False
    open_now: bool = False
    text: str | None = None
    viewer_tz: str | None = None
    sort: str = "best"
    page: int = 1
    per_page: int = 20
    warnings: tuple[str, ...] = ()

    @property
    def needs_schedule(self) -> bool:
        """True when matching depends on session times, not just stored fields."""
        return bool(self.starts_within is not None or self.open_now)

    @property
    def reaches_remote(self) -> bool:
        """True unless the search asked only for in-person options. Online and phone options
        covering the place count whatever the distance; asked for in person only, a hybrid
        meeting 120 km away is simply too far."""
        return not self.formats or any(f in ("online", "phone") for f in self.formats)

    @functools.cached_property  # read for every hit of a page (service.search.reasons)
    def filter_goals(self) -> tuple[str, ...]:
        """Goals that restrict results; "undecided" welcomes every option."""
        return tuple(g for g in self.goals if g != "undecided") if self.goals else ()


@dataclass(frozen=True)
class Occurrence:
    """One concrete session: aware datetimes in the listing's zone."""

    start: datetime
    end: datetime
    in_progress: bool


@dataclass(frozen=True)
class Hit:
    """A listing matched by a backend, with what the backend knows of the match."""

    listing: Listing
    distance_km: float | None
    text_score: float = 0.0
    # The listing as stored (what dump_listing gives), so rendering need not dump it again.
    document: dict | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Reason:
    """One reason a listing fits a search, as data: a `code` and the `values` it names
    (vocabulary codes, numbers), never words. `service.render.reasons` writes the words, in
    the reader's language.

    The codes and their values, most important first as `service.search.reasons` gives them:
    only_for (audience codes), fits_goal (goal codes), welcomes_undecided (), focus_on
    (substance codes), any_substance (), distance_km (km, to the metre),
    available_remotely ((remote format codes), (service area codes, none for anywhere)),
    for_audience (audience codes), in_language (language codes), open_24_7 (), on_now (),
    starts_in (whole minutes), free ().
    """

    code: str
    values: tuple = ()


@dataclass(frozen=True)
class RankedHit:
    """A hit after the post-search steps: next sessions, open now, reasons."""

    listing: Listing
    distance_km: float | None
    next_sessions: tuple[Occurrence, ...]
    open_now: bool
    why: tuple[Reason, ...]
    # False for a listing restricted to particular audiences (pages head those "For particular groups").
    for_everyone: bool = True
    document: dict | None = field(default=None, compare=False, repr=False)


def maker(cls: type[Frozen]) -> Callable[[dict], Frozen]:
    """A function giving `cls(**values)` for one of the frozen dataclasses above, several
    times quicker when `values` names every field and nothing else (as a stored listing's
    JSON and a validated record do): a frozen dataclass's __init__ sets each field through a
    call to object.__setattr__, which for a listing and its parts was most of rebuilding it
    from the index. Here the instance's __dict__ takes the values in one update, in field
    order, as __init__ would have left it (no class here has a __post_init__, slots or a
    field kept out of __init__). Any other set of keys goes to the class itself, which
    fills defaults or raises as usual."""
    if hasattr(cls, "__post_init__") or hasattr(cls, "__slots__") or not all(f.init for f in fields(cls)):
        raise TypeError(f"{cls.__name__}: its __init__ does more than set its fields")
    names = tuple(f.name for f in fields(cls))
    every_name = frozenset(names)
    # The values in field order, read in one call (itemgetter of one name gives no tuple).
    in_order = operator.itemgetter(*names) if len(names) > 1 else (lambda values: (values[names[0]],))
    blank = object.__new__

    def make(values: dict) -> Frozen:
        if tuple(values) == names:  # every field, in order (a stored listing's JSON)
            made = blank(cls)
            made.__dict__.update(values)
        elif values.keys() == every_name:  # every field, in another order
            made = blank(cls)
            made.__dict__.update(zip(names, in_order(values)))
        else:
            return cls(**values)
        return made

    make.__doc__ = f"{cls.__name__}(**values), quickly (see `maker`)."
    return make
