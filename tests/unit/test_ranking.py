"""Scoring, reasons and facets as pure functions."""

import math
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from service.domain import facets
from service.domain import geo
from service.domain import ordering
from service.search import reasons
from service.search import scoring
from service.domain import schedule
from service.domain.models import Place, Reason, SearchQuery, Session
from service.render.reasons import reason_text

AT = datetime(2026, 11, 26, 8, 0, tzinfo=timezone.utc)
SYDNEY = Place(query="2000", name="Sydney", lat=-33.8688, lon=151.2093, state="NSW")


def test_great_circle_matches_geopy():
    from geopy.distance import great_circle

    expected = great_circle((-33.8688, 151.2093), (-37.8136, 144.9631)).km
    assert geo.great_circle_km(-33.8688, 151.2093, -37.8136, 144.9631) == pytest.approx(expected, rel=1e-9)


def test_distance_weight_is_gaussian_with_offset():
    assert ordering.distance_weight(0.0) == 1.0
    assert ordering.distance_weight(1.0) == 1.0
    assert ordering.distance_weight(11.0) == pytest.approx(0.5)
    weights = [ordering.distance_weight(d) for d in (2, 5, 10, 20, 40)]
    assert weights == sorted(weights, reverse=True)


def test_remote_counts_as_remote_equivalent_distance():
    assert ordering.distance_weight(None) == ordering.distance_weight(ordering.RANKING["remote_equivalent_km"])


def test_text_relevance_raises_the_score():
    assert ordering.best_score(5.0, 3.0, True) > ordering.best_score(5.0, 0.0, True)
    assert ordering.text_weight(0) == 1.0 and ordering.text_weight(1e9) < 1 + ordering.RANKING["text_weight"] + 1e-9


def test_soonest_key_orders_in_progress_first_and_unscheduled_last():
    keys = [ordering.soonest_key(m) for m in (None, 30.0, -10.0, 0.0)]
    assert sorted(keys) == [-10.0, 0.0, 30.0, math.inf]


def test_reasons_name_goal_distance_format_and_soonness(demo_listings):
    listing = next(x for x in demo_listings if x.program == "SMART Recovery" and "online" in x.formats
                   and "in_person" not in x.formats and x.sessions and "everyone" in x.audiences)
    query = SearchQuery(at=AT, place=SYDNEY, goals=("moderation",), formats=("online",))
    hit = scoring.rank_hit(scoring.Hit(listing=listing, distance_km=None), query)
    assert hit.why[0] == Reason("fits_goal", ("moderation",))
    assert reason_text(hit.why[0]) == "Fits the goal: cutting down"
    assert any(reason_text(reason).startswith("Online") for reason in hit.why)
    near = next(x for x in demo_listings if "in_person" in x.formats and x.location)
    ranked = scoring.rank_hit(scoring.Hit(listing=near, distance_km=3.14159), query)
    # The distance as reported (to the metre), written with one decimal.
    assert Reason("distance_km", (3.142,)) in ranked.why
    assert "3.1 km away" in [reason_text(reason) for reason in ranked.why]


def test_reasons_for_undecided(demo_listings):
    listing = next(x for x in demo_listings if len(x.goals) > 1)
    query = SearchQuery(at=AT, goals=("undecided",))
    assert Reason("welcomes_undecided") in reasons.reasons(listing, query, None, ())


def test_reasons_say_starts_soon(demo_listings):
    listing = next(x for x in demo_listings if x.sessions and not x.open_24_7)
    first = schedule.next_occurrences(listing, AT, 1)[0]
    before = first.start.astimezone(timezone.utc).replace(second=0) - timedelta(minutes=45)
    query = SearchQuery(at=before)
    assert Reason("starts_in", (45,)) in scoring.rank_hit(scoring.Hit(listing, None), query).why


def test_facets_count_every_value(demo_listings):
    counted = facets.facet_counts(demo_listings)
    assert sum(counted["kind"].values()) == len(demo_listings)
    assert counted["format"]["online"] == sum("online" in x.formats for x in demo_listings)
    assert set(counted) == {"format", "goal", "kind", "approach"}
    empty = facets.facet_counts([])
    assert all(v == 0 for group in empty.values() for v in group.values())


def test_remote_covers_by_country_or_state(demo_listings):
    national = next(x for x in demo_listings if x.service_area == ("AU",) and "in_person" not in x.formats)
    assert national.remote_covers(SYDNEY)
    assert not national.remote_covers(replace(SYDNEY, country="CA", state="AB"))
    in_person = next(x for x in demo_listings if x.formats == ("in_person",))
    assert not in_person.remote_covers(SYDNEY)


@pytest.mark.parametrize(("audiences", "asked", "tier"), [
    (("everyone",), (), 0),
    (("everyone", "cald"), (), 0),
    (("family_friends",), (), 1),
    (("women",), (), 1),
    (("family_friends",), ("family_friends",), 0),
    (("family_friends", "cald"), ("cald",), 0),
    (("everyone",), ("family_friends",), 1),
    (("women",), ("family_friends",), None),
    (("women",), ("family_friends", "women"), 0),
    (("everyone",), ("everyone",), 0),
    (("young_people",), ("everyone",), None),
])
def test_audience_tiers(audiences, asked, tier):
    assert ordering.audience_tier(audiences, SearchQuery(at=AT, audiences=asked)) == tier


@pytest.mark.parametrize(("until", "left", "rank"), [
    (30.0, 90.0, 30.0),      # starts in half an hour
    (0.0, 20.0, 0.0),        # starts this minute: not yet running, however short
    (-60.0, 60.0, -60.0),    # running, an hour left
    (-60.0, 30.0, -60.0),    # exactly half an hour left is not "under"
    (-60.0, 29.0, 120.5),    # nearly over: after everything starting within two hours
    (-1.0, 1.0, 120.5),
])
def test_a_session_nearly_over_ranks_after_those_about_to_start(until, left, rank):
    assert ordering.occurrence_minutes(until, left) == rank
    assert ordering.occurrence_minutes(120.0, 60.0) < ordering.occurrence_minutes(-60.0, 29.0) \
        < ordering.occurrence_minutes(121.0, 60.0)


def test_soonest_minutes_takes_the_next_session_when_one_is_nearly_over(demo_listings):
    # Thursday 26 Nov 2026 7:00 pm in Sydney (AEDT). One session ends at 7:10, the next starts at 7:45.
    listing = replace(next(x for x in demo_listings if x.timezone == "Australia/Sydney"), open_24_7=False, sessions=(
        Session("thu", "18:00", "19:10"), Session("thu", "19:45", "21:00")))
    assert ordering.soonest_minutes(listing, AT) == 45.0
    alone = replace(listing, sessions=listing.sessions[:1])
    assert ordering.soonest_minutes(alone, AT) == ordering.RANKING["ending_soon_ranks_as_minutes"]
    assert ordering.soonest_minutes(replace(listing, sessions=()), AT) is None
    assert ordering.soonest_minutes(replace(listing, open_24_7=True), AT) == 0.0


def test_restricted_listings_say_whom_they_are_for_not_that_they_fit(demo_listings):
    family = next(x for x in demo_listings if x.audiences == ("family_friends",) and "moderation" in x.goals)
    query = SearchQuery(at=AT, goals=("moderation",))
    why = reasons.reasons(family, query, None, ())
    assert why[0] == Reason("only_for", ("family_friends",))
    assert reason_text(why[0]) == "Only for family and friends"
    assert not any(r.code == "fits_goal" for r in why)
    undecided = reasons.reasons(family, SearchQuery(at=AT, goals=("undecided",)), None, ())
    assert Reason("welcomes_undecided") not in undecided
    asked = reasons.reasons(family, replace(query, audiences=("family_friends",)), None, ())
    assert asked[0] == Reason("fits_goal", ("moderation",)) and Reason("for_audience", ("family_friends",)) in asked
    assert [reason_text(r) for r in asked[:1]] == ["Fits the goal: cutting down"]
    assert not scoring.rank_hit(scoring.Hit(family, None), query).for_everyone


def test_focus_multiplies_best_by_thirteen_for_the_asked_substance_itself(demo_listings):
    from service.domain.ordering import best_score, focus_weight

    base = demo_listings[0]
    query = SearchQuery(at=AT, substances=("methamphetamine", "any"))
    assert focus_weight(replace(base, substances=("methamphetamine",)), query) == 13.0
    assert focus_weight(replace(base, substances=("alcohol", "methamphetamine")), query) == 13.0
    # "any" welcomes the person but is not specific to them, even when the search names it.
    assert focus_weight(replace(base, substances=("any",)), query) == 1.0
    assert focus_weight(replace(base, substances=("methamphetamine",)), SearchQuery(at=AT)) == 1.0
    # Nearness is exp(-excess^2 / (2 sigma^2)) with 2 sigma^2 = 100 / ln 2, i.e. 2^(-excess^2 / 100),
    # excess = km - 1. At 20 km: 2^(-3.61) = 0.0819; times 13 = 1.065, above a generic group at 0 km (1).
    assert best_score(20.0, 0.0, True, 13.0) == pytest.approx(13 * 2 ** -3.61, abs=1e-9)
    assert best_score(20.0, 0.0, True, 13.0) > best_score(0.0, 0.0, True)
    # At 25 km: 13 * 2^(-5.76) = 0.240, below a generic group at 15 km: 2^(-1.96) = 0.257.
    assert best_score(25.0, 0.0, True, 13.0) < best_score(15.0, 0.0, True)
