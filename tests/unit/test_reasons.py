""""Why it fits" as data (`service.search.reasons`) and in English words (`service.render.reasons`).

The listings and searches are built by hand; every expected reason and every expected
sentence is worked out from the rules and written here literally. The clock: Monday
23 November 2026, 7:00 pm in Sydney (UTC+11, daylight time, far from a clock change).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from service.domain.models import (Contact, FirstVisit, Listing, Location, Occurrence, Place, Reason, SearchQuery,
                                   Source)
from service.render.reasons import audience_words, reason_text
from service.search.reasons import reasons

SYDNEY = ZoneInfo("Australia/Sydney")
AT = datetime(2026, 11, 23, 19, 0, tzinfo=SYDNEY)
HERE = Place(query="2000", name="Sydney", lat=-33.87, lon=151.21, state="NSW")

# An online group for everyone, serving NSW, that fits no search in particular: it costs
# money, is not 24/7, and names only what each case below changes.
BASE = Listing(
    id="test:reasons", kind="group", name="Test", description="A test listing.", program=None,
    approach="secular_peer", goals=("moderation",), substances=("alcohol",), formats=("online",),
    audiences=("everyone",), facilitation=None, languages=("en",), location=None,
    service_area=("NSW",), timezone="Australia/Sydney", sessions=(), open_24_7=False,
    contact=Contact(conference_url="https://example.org/meet"), registration_required=False,
    open_meeting=True, cost="fee", referral="self", accessibility=(), first_visit=FirstVisit(),
    source=Source(name="Test feed"), updated_at="2026-11-01", verified_at="2026-11-01", status="active",
)
IN_PERSON = replace(BASE, formats=("in_person",), service_area=(), location=Location(
    address="1 George St", locality="Sydney", state="NSW", postcode="2000", country="AU", lat=-33.87, lon=151.21))


def session_in(minutes: float, *, running: bool = False) -> Occurrence:
    """A one-hour session starting `minutes` after AT."""
    start = AT + timedelta(minutes=minutes)
    return Occurrence(start=start, end=start + timedelta(hours=1), in_progress=running)


# --- Reasons as data ----------------------------------------------------------------

@pytest.mark.parametrize("listing, query, distance, sessions, expected", [
    # Nothing asked and nothing notable: no reasons (an online-only listing still says where).
    (IN_PERSON, SearchQuery(at=AT), None, (), ()),
    # For particular groups, not asked for: whom it is for, in the listing's order, and never the goal.
    (replace(BASE, audiences=("women", "lgbtiq"), formats=("in_person",)),
     SearchQuery(at=AT, goals=("moderation",)), None, (),
     (Reason("only_for", ("women", "lgbtiq")),)),
    # The goals asked for that the listing has, in the search's order; "undecided" is not one.
    (replace(IN_PERSON, goals=("moderation", "abstinence", "harm_reduction")),
     SearchQuery(at=AT, goals=("abstinence", "undecided", "moderation")), None, (),
     (Reason("fits_goal", ("abstinence", "moderation")),)),
    # Undecided: welcomed by a listing with more than one goal...
    (replace(IN_PERSON, goals=("moderation", "abstinence")), SearchQuery(at=AT, goals=("undecided",)), None, (),
     (Reason("welcomes_undecided"),)),
    # ...or one that says people may come while still using; not by one with one goal that does not.
    (replace(IN_PERSON, first_visit=FirstVisit(can_attend_while_using=True)),
     SearchQuery(at=AT, goals=("undecided",)), None, (), (Reason("welcomes_undecided"),)),
    (IN_PERSON, SearchQuery(at=AT, goals=("undecided",)), None, (), ()),
    # Substances asked for that the listing focuses on, in the search's order.
    (replace(IN_PERSON, substances=("alcohol", "methamphetamine", "cannabis")),
     SearchQuery(at=AT, substances=("methamphetamine", "opioids", "alcohol")), None, (),
     (Reason("focus_on", ("methamphetamine", "alcohol")),)),
    # Not focused on what was asked, but open to any substance.
    (replace(IN_PERSON, substances=("any",)), SearchQuery(at=AT, substances=("opioids",)), None, (),
     (Reason("any_substance"),)),
    # ...which goes without saying when no substance was asked.
    (replace(IN_PERSON, substances=("any",)), SearchQuery(at=AT), None, (), ()),
    # The distance as given, for an in-person listing when a place was searched...
    (IN_PERSON, SearchQuery(at=AT, place=HERE), 1.046, (), (Reason("distance_km", (1.046,)),)),
    # ...and not without a place, nor for a listing that is not in person.
    (IN_PERSON, SearchQuery(at=AT), 1.046, (), ()),
    (replace(BASE, service_area=()), SearchQuery(at=AT, place=HERE), 1.046, (),
     (Reason("available_remotely", (("online",), ())),)),
    # Online and by phone only: how, and where it is available.
    (replace(BASE, formats=("online", "phone"), service_area=("NSW", "VIC")), SearchQuery(at=AT), None, (),
     (Reason("available_remotely", (("online", "phone"), ("NSW", "VIC"))),)),
    # A hybrid meeting says it is online only when online was asked for.
    (replace(IN_PERSON, formats=("in_person", "online"), service_area=("NSW",)),
     SearchQuery(at=AT, place=HERE), 3.0, (), (Reason("distance_km", (3.0,)),)),
    (replace(IN_PERSON, formats=("in_person", "online"), service_area=("NSW",)),
     SearchQuery(at=AT, place=HERE, formats=("online",)), 3.0, (),
     (Reason("distance_km", (3.0,)), Reason("available_remotely", (("online",), ("NSW",))))),
    # Audiences asked for that the listing serves: not "only for", but "for".
    (replace(IN_PERSON, audiences=("women", "young_people")),
     SearchQuery(at=AT, audiences=("young_people",), goals=("moderation",)), None, (),
     (Reason("fits_goal", ("moderation",)), Reason("for_audience", ("young_people",)))),
    # Languages asked for that are spoken there, in the search's order.
    (replace(IN_PERSON, languages=("en", "vi", "ar")), SearchQuery(at=AT, languages=("ar", "zh", "vi")), None, (),
     (Reason("in_language", ("ar", "vi")),)),
    # Open 24/7 says so, and nothing of its next session.
    (replace(IN_PERSON, open_24_7=True), SearchQuery(at=AT), None, (session_in(10),), (Reason("open_24_7"),)),
    # A session running now; one starting within two hours, in whole minutes (at least one).
    (IN_PERSON, SearchQuery(at=AT), None, (session_in(-10, running=True),), (Reason("on_now"),)),
    (IN_PERSON, SearchQuery(at=AT), None, (session_in(65), session_in(5)), (Reason("starts_in", (65,)),)),
    (IN_PERSON, SearchQuery(at=AT), None, (session_in(59.99),), (Reason("starts_in", (59,)),)),
    (IN_PERSON, SearchQuery(at=AT), None, (session_in(0.5),), (Reason("starts_in", (1,)),)),
    (IN_PERSON, SearchQuery(at=AT), None, (session_in(120),), (Reason("starts_in", (120,)),)),
    (IN_PERSON, SearchQuery(at=AT), None, (session_in(120.5),), ()),
    # Free costs nothing, and says so last.
    (replace(IN_PERSON, cost="free"), SearchQuery(at=AT), None, (), (Reason("free"),)),
])
def test_reasons_as_data(listing, query, distance, sessions, expected):
    assert reasons(listing, query, distance, sessions) == expected


def test_reasons_come_most_important_first():
    listing = replace(BASE, formats=("in_person", "online"), location=IN_PERSON.location,
                      goals=("moderation", "abstinence"), substances=("any",), audiences=("women",),
                      languages=("en", "vi"), cost="free")
    query = SearchQuery(at=AT, place=HERE, goals=("moderation",), substances=("cannabis",), formats=("online",),
                        audiences=("women",), languages=("vi",))
    assert reasons(listing, query, 2.5, (session_in(30),)) == (
        Reason("fits_goal", ("moderation",)),
        Reason("any_substance"),
        Reason("distance_km", (2.5,)),
        Reason("available_remotely", (("online",), ("NSW",))),
        Reason("for_audience", ("women",)),
        Reason("in_language", ("vi",)),
        Reason("starts_in", (30,)),
        Reason("free"),
    )


# --- The English words ----------------------------------------------------------------

@pytest.mark.parametrize("reason, words", [
    (Reason("only_for", ("women",)), "Only for women"),
    (Reason("only_for", ("family_friends", "cald")),
     "Only for family and friends, culturally and linguistically diverse communities"),
    (Reason("only_for", ("lgbtiq", "aboriginal_torres_strait_islander")),
     "Only for LGBTIQ+ people, Aboriginal and Torres Strait Islander people"),
    (Reason("fits_goal", ("moderation",)), "Fits the goal: cutting down"),
    (Reason("fits_goal", ("abstinence", "harm_reduction")), "Fits the goal: stopping completely, using more safely"),
    (Reason("welcomes_undecided"), "Welcomes people still deciding on a goal"),
    (Reason("focus_on", ("methamphetamine", "alcohol")), "Focus on methamphetamine, alcohol"),
    (Reason("any_substance"), "Open to any substance"),
    # One decimal, as Python writes it: 1.046 -> 1.0, 3.142 -> 3.1, 0.25 -> 0.2 (half to even), 12 -> 12.0.
    (Reason("distance_km", (1.046,)), "1.0 km away"),
    (Reason("distance_km", (3.142,)), "3.1 km away"),
    (Reason("distance_km", (0.25,)), "0.2 km away"),
    (Reason("distance_km", (12.0,)), "12.0 km away"),
    (Reason("available_remotely", (("online",), ("NSW",))), "Online — available in NSW"),
    (Reason("available_remotely", (("online", "phone"), ("NSW", "VIC"))),
     "Online and By phone — available in NSW, VIC"),
    (Reason("available_remotely", (("phone",), ())), "By phone — available in anywhere"),
    (Reason("for_audience", ("young_people",)), "For young people"),
    (Reason("for_audience", ("lgbtiq", "women")), "For LGBTIQ+ people, women"),
    (Reason("in_language", ("ar", "vi")), "In ar, vi"),
    (Reason("open_24_7"), "Open 24/7"),
    (Reason("on_now"), "On now"),
    (Reason("starts_in", (1,)), "Starts in 1 min"),
    (Reason("starts_in", (59,)), "Starts in 59 min"),
    (Reason("starts_in", (60,)), "Starts in 1 h 00 min"),
    (Reason("starts_in", (65,)), "Starts in 1 h 05 min"),
    (Reason("starts_in", (120,)), "Starts in 2 h 00 min"),
    (Reason("free"), "Free"),
])
def test_english_words_for_each_reason(reason, words):
    assert reason_text(reason) == words


@pytest.mark.parametrize("audience, words", [
    ("women", "women"),
    ("family_friends", "family and friends"),
    ("lgbtiq", "LGBTIQ+ people"),
    ("aboriginal_torres_strait_islander", "Aboriginal and Torres Strait Islander people"),
])
def test_audiences_keep_proper_nouns_inside_a_sentence(audience, words):
    assert audience_words(audience) == words


def test_every_code_the_search_gives_has_words():
    listing = replace(BASE, formats=("in_person", "online"), location=IN_PERSON.location, substances=("any",),
                      audiences=("women",), languages=("vi",), cost="free")
    query = SearchQuery(at=AT, place=HERE, goals=("moderation",), substances=("alcohol",), formats=("online",),
                        audiences=("women",), languages=("vi",))
    for reason in reasons(listing, query, 1.0, (session_in(5),)):
        assert reason_text(reason)


def test_an_unknown_code_is_an_error_not_silence():
    with pytest.raises(ValueError, match="no_such_reason"):
        reason_text(Reason("no_such_reason"))
