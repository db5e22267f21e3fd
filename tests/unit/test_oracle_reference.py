"""The reference search itself (tests/reference.py), against answers worked by hand.

The reference is the specification the backends are checked against, so its own answers are
checked here: on the hand-worked table of tests/api/test_search_table.py (whose docstring
works out every distance, minute and tier), and on distances and weights done with pencil.
"""

import math
from datetime import datetime, timezone

import pytest

from service.domain.models import Place, SearchQuery
from tests import reference
from tests.api.test_search_table import CENTRE, TABLE
from tests.conftest import FIXED_NOW

SYDNEY = Place(query="sydney", name="Sydney", lat=CENTRE[0], lon=CENTRE[1], state="NSW", country="AU")


def order(**fields) -> str:
    """The reference's answer on the table, as the table's letters."""
    query = SearchQuery(at=fields.pop("at", FIXED_NOW), place=SYDNEY, per_page=50, **fields)
    return " ".join(i.removeprefix("t:") for i in reference.search_ids(TABLE, query))


@pytest.mark.parametrize("fields, expected", [
    ({"sort": "distance"}, "a c e f h j k b d g i"),
    # The online k counts as 8 km: between h (7) and j (9).
    ({"sort": "best"}, "a c e f h k j b d g i"),
    # c is running with 20 minutes left, so it ranks as 120.5: after e (120), before k (121).
    ({"sort": "soonest"}, "a e c k j f h b d i g"),
    ({"sort": "distance", "audiences": ("family_friends",)}, "b g a c e f h j k"),
    ({"sort": "soonest", "audiences": ("family_friends",)}, "b g a e c k j f h"),
    ({"sort": "distance", "audiences": ("women", "young_people")}, "d i a c e f h j k"),
    ({"sort": "distance", "times": ("evening",)}, "a c e h k b d i"),
    ({"sort": "distance", "days": ("fri", "sat"), "times": ("morning", "afternoon")}, "f g"),
    ({"sort": "distance", "days": ("fri",)}, "f j"),
    # Tonight: starts before Sydney's midnight, 300 minutes away, so within 299; j is at midnight.
    ({"sort": "soonest", "starts_within": 299}, "a e c k b d i"),
    ({"sort": "soonest", "starts_within": 300}, "a e c k j b d i"),
    ({"sort": "distance", "audiences": ("family_friends",), "substances": ("methamphetamine",)}, "b a c f h j k"),
    # On now at 7 pm: a (6-8 pm) and c (6-7:20 pm); within an hour also b (30) and d (60).
    ({"sort": "distance", "open_now": True}, "a c"),
    ({"sort": "distance", "starts_within": 60}, "a c b d"),
    ({"sort": "distance", "starts_within": 59}, "a c b"),
    # In person only: the online k is out, however it covers NSW.
    ({"sort": "best", "formats": ("in_person",)}, "a c e f h j b d g i"),
    # A 4.5 km radius keeps a c e in person and the online k that covers NSW.
    ({"sort": "distance", "radius_km": 4.5}, "a c e k b d"),
])
def test_the_reference_gives_the_hand_worked_answers(fields, expected):
    assert order(**fields) == expected


def test_the_week_the_clocks_change():
    """Thursday 1 October 2026, 7 pm AEST: the table's own order (see test_search_table)."""
    at = datetime(2026, 10, 1, 9, 0, tzinfo=timezone.utc)
    assert order(sort="soonest", at=at) == "a e c k j f h b d i g"


def test_distances_are_geopys_great_circle():
    """One degree of latitude is 6371.009 * pi / 180 = 111.195 km on geopy's mean sphere."""
    far = next(x for x in TABLE if x.id == "t:j")
    query = SearchQuery(at=FIXED_NOW, place=SYDNEY)
    assert reference.distance_km(far, query) == pytest.approx(9.0, abs=1e-6)
    north = Place(query="", name="", lat=CENTRE[0] + 1, lon=CENTRE[1])
    assert reference.distance_km(far, SearchQuery(at=FIXED_NOW, place=north)) == \
        pytest.approx(111.19508 - 9.0, abs=1e-4)


def test_nearness_is_full_within_a_kilometre_and_half_at_eleven():
    assert reference.nearness(0.2) == reference.nearness(1.0) == 1.0
    assert reference.nearness(11.0) == pytest.approx(0.5)
    assert reference.nearness(21.0) == pytest.approx(0.5 ** 4)  # Gaussian: twice as far, the square's power
    assert math.isclose(reference.nearness(8.0), 2 ** -(7 / 10) ** 2)


def test_text_is_refused_not_guessed():
    with pytest.raises(ValueError):
        reference.search_ids(TABLE, SearchQuery(at=FIXED_NOW, text="smart"))
