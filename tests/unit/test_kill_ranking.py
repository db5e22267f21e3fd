"""Ranking arithmetic worked by hand: text saturation, the best score's rounding, facet
counts, sort keys, paging, the soonest rank at the nearly-over edge and with several
sessions running, and audience words as the page shows them.

Nearness is Gaussian: full weight to 1 km, half at 11 km, so at 6 km it is 0.5 ** 0.25
(0.84089641525...). Text weight is 1 + s / (s + 1). Monday 23 November 2026 in Sydney is
UTC+11 (daylight time), far from any clock change.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from service.domain import facets
from service.domain import ordering
from service.render.reasons import audience_words
from service.domain.models import Hit, Place, SearchQuery, Session
from tests.unit.test_kill_schedule import listing

SYDNEY = "Australia/Sydney"
AT = datetime(2026, 11, 23, 19, 0, tzinfo=ZoneInfo(SYDNEY))


@pytest.mark.parametrize("score, weight", [(-1.0, 1.0), (0.0, 1.0), (0.5, 1 + 0.5 / 1.5), (1.0, 1.5), (3.0, 1.75)])
def test_text_weight_saturates(score, weight):
    assert ordering.text_weight(score) == pytest.approx(weight, abs=1e-12)


def test_best_score_is_rounded_to_nine_places_and_ignores_distance_without_a_place():
    assert ordering.best_score(6.0, 0.0, True) == 0.840896415
    assert ordering.best_score(6.0, 1.0, True) == 1.261344623   # 0.84089641525 * 1.5
    assert ordering.best_score(3.0, 0.0, False) == 1.0
    assert ordering.best_score(None, 1.0, False) == 1.5


def test_facet_counts_by_hand():
    a = listing(SYDNEY)
    b = replace(listing(SYDNEY), goals=("moderation", "harm_reduction"), approach="clinical", kind="service")
    counted = facets.facet_counts([a, b, b])
    assert counted["format"] == {"in_person": 0, "online": 3, "phone": 0}
    assert counted["goal"] == {"abstinence": 0, "moderation": 3, "harm_reduction": 2}
    assert counted["kind"] == {"group": 1, "service": 2, "helpline": 0}
    assert counted["approach"] == {"self_management": 0, "twelve_step": 0, "secular_peer": 1, "buddhist": 0,
                                  "clinical": 2, "harm_reduction": 0}


def test_sort_keys():
    hit = Hit(listing=listing(SYDNEY), distance_km=None)
    assert ordering.order_key(SearchQuery(at=AT, sort="soonest"), hit, 12.5) == (0, 12.5, "test:kill")
    assert ordering.order_key(SearchQuery(at=AT, sort="soonest"), hit, None) == (0, math.inf, "test:kill")
    near = Hit(listing=listing(SYDNEY), distance_km=3.0)
    here = Place(query="2000", name="Sydney", lat=-33.87, lon=151.21, state="NSW")
    assert ordering.order_key(SearchQuery(at=AT, sort="distance", place=here), near, None) == (0, 3.0, "test:kill")
    assert ordering.order_key(SearchQuery(at=AT, sort="distance"), near, None) == (0, 0.0, 3.0, "test:kill")
    assert ordering.order_key(SearchQuery(at=AT), hit, None) == (0, 0.0, math.inf, "test:kill")


def test_pages_count_from_one():
    items = list(range(10))
    assert ordering.page_slice(items, 1, 3) == [0, 1, 2]
    assert ordering.page_slice(items, 2, 3) == [3, 4, 5]
    assert ordering.page_slice(items, 4, 3) == [9]
    assert ordering.page_slice(items, 5, 3) == []


def test_soonest_rank_at_the_nearly_over_edge():
    # Monday 18:00-19:00; at 18:29:45 it has 30.25 minutes left: not nearly over, so it
    # ranks by its start, 29.75 minutes ago. At 18:30:15 it has 29.75 left: nearly over.
    hour = listing(SYDNEY, [Session("mon", "18:00", "19:00")])
    assert ordering.soonest_minutes(hour, AT.replace(hour=18, minute=29, second=45)) == -29.75
    assert ordering.soonest_minutes(hour, AT.replace(hour=18, minute=30, second=15)) == 120.5


def test_soonest_rank_looks_past_every_running_session():
    # Three sessions running with 10 minutes left (each ranks 120.5) and a fourth starting
    # in five minutes: the listing ranks as five minutes away.
    four = listing(SYDNEY, [Session("mon", "18:00", "19:10"), Session("mon", "18:10", "19:10"),
                            Session("mon", "18:20", "19:10"), Session("mon", "19:05", "20:00")])
    assert ordering.soonest_minutes(four, AT) == 5.0


def test_audience_words_keep_proper_nouns():
    assert audience_words("lgbtiq") == "LGBTIQ+ people"
    assert audience_words("aboriginal_torres_strait_islander") == "Aboriginal and Torres Strait Islander people"
    assert audience_words("women") == "women"
    assert audience_words("family_friends") == "family and friends"


def test_best_sort_keys_count_online_options_as_nearby():
    here = Place(query="2000", name="Sydney", lat=-33.87, lon=151.21, state="NSW")
    online = Hit(listing=listing(SYDNEY), distance_km=None)          # online, serving NSW
    far_hybrid = Hit(listing=replace(listing(SYDNEY), formats=("in_person", "online")), distance_km=20.0)
    near = Hit(listing=replace(listing(SYDNEY), formats=("in_person",)), distance_km=6.0)
    best = SearchQuery(at=AT, place=here)
    # Online counts as 8 km: 0.5 ** 0.49 = 0.71202509779..., rounded to nine places.
    assert ordering.order_key(best, online, None) == (0, -0.712025098, math.inf, "test:kill")
    assert ordering.order_key(best, far_hybrid, None) == (0, -0.712025098, 20.0, "test:kill")
    assert ordering.order_key(best, near, None) == (0, -0.840896415, 6.0, "test:kill")
    # A covered hybrid meeting nearer than 8 km keeps its own distance: 0.5 ** 0.04 at 3 km.
    near_hybrid = Hit(listing=replace(listing(SYDNEY), formats=("in_person", "online")), distance_km=3.0)
    assert ordering.order_key(best, near_hybrid, None) == (0, -round(0.5 ** 0.04, 9), 3.0, "test:kill")
    in_person_only = SearchQuery(at=AT, place=here, formats=("in_person",))
    assert ordering.order_key(in_person_only, far_hybrid, None) == (0, -round(0.5 ** 3.61, 9), 20.0, "test:kill")
    words = SearchQuery(at=AT, text="smart")
    scored = Hit(listing=listing(SYDNEY), distance_km=None, text_score=3.0)
    assert ordering.order_key(words, scored, None) == (0, -1.75, math.inf, "test:kill")
