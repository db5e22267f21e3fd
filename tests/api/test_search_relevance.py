"""Text relevance for `sort=best` with `q`: judged cases, on every backend.

Each case is (query, a listing that must rank above, a listing that must rank below), judged
by reading the listings' names, programs and descriptions, never by running the search.
Both listings of a case are in the same audience tier (the tier comes before relevance).
The demo cases search without a place, so only the text decides; the small set below puts
every listing at one point, so a search from anywhere finds them all at the same distance.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

import pytest

from service import create_app
from service.backends.sqlite.backend import SQLiteBackend
from service.domain.models import Contact
from tests.conftest import FIXED_NOW, delete_alias_indices

# --- The demo data ----------------------------------------------------------------------

DEMO_CASES = [
    # "AOD counselling" in the name (and the description) vs "brief counselling" in a helpline's
    # description only; both for everyone.
    ("counselling", "demo:s0001", "demo:h0008"),
    # The same, against a rehabilitation service whose description lists counselling among
    # group work and life skills.
    ("counselling", "demo:s0107", "demo:s0005"),
    # SMART Recovery's name, program and description vs AA's "recovery from alcohol" in its
    # description only (both in Broken Hill, both for everyone).
    ("recovery", "demo:g0006", "demo:g0005"),
    # "Harbourside Recovery Centre" in the name vs AA's description.
    ("recovery", "demo:s0007", "demo:g0002"),
    # Both SMART Recovery with the words in program and description; only the first has
    # them in its name too (the other's name is the XSS test name).
    ("smart recovery", "demo:g0006", "demo:g0001"),
    # Both for Aboriginal and Torres Strait Islander people: "Yarning circle" in the name vs
    # "run in a yarning-circle style" in a rehabilitation service's description.
    ("yarning", "demo:g0029", "demo:s0092"),
]


def ranked_ids(client, **params) -> list[str]:
    """Every id a search returns, in order, over all its pages."""
    ids, page = [], 1
    while True:
        body = client.get("/v1/search?" + urlencode({**params, "per_page": 50, "page": page})).get_json()
        assert "items" in body, body
        ids += [item["id"] for item in body["items"]]
        if len(ids) >= body["total"] or not body["items"]:
            return ids
        page += 1


def assert_above(ids: list[str], above: str, below: str) -> None:
    """Both found, and `above` ranked before `below`."""
    assert above in ids and below in ids, (above in ids, below in ids)
    assert ids.index(above) < ids.index(below), (ids.index(above), ids.index(below))


@pytest.mark.parametrize("query, above, below", DEMO_CASES)
def test_demo_listings_rank_as_judged(client, query, above, below):
    assert_above(ranked_ids(client, q=query, sort="best"), above, below)


# --- A small set built for the purpose --------------------------------------------------

POINT = (-33.8890, 151.1790)  # where every listing of the set meets (Camperdown, Sydney)
# (id, name, program, description): everything else is the same for all, so only these words differ.
JUDGED = [
    ("judged:lifering", "LifeRing Camperdown", "LifeRing",
     "A peer group for people who want to stop drinking or using, in a secular setting."),
    ("judged:hall", "Camperdown Community Hall", None,
     "Rooms for hire. A LifeRing group met here until last year; ask at the desk where it meets now."),
    ("judged:dharma", "Recovery Dharma Camperdown", "Recovery Dharma",
     "Meditation and inquiry to support recovery from addiction."),
    ("judged:smart", "SMART Recovery Camperdown", "SMART Recovery",
     "Practical self-management tools; some members go on to a dharma talk nearby afterwards."),
    ("judged:art", "Art Therapy Group", None,
     "Painting and drawing together, led by a qualified therapist."),
    ("judged:legal", "Camperdown Legal Advice", None,
     "Free advice for tenants: every article of a lease explained."),
    ("judged:walking", "Walking Group", None,
     "A weekly walk in the park, talking about recovery on the way."),
    ("judged:clinic", "Camperdown Clinic", None,
     "Counselling and case management, within walking distance of the station."),
    # Listings none of the queries below find, so no query word is in most of the set.
    ("judged:filler-1", "Tuesday Night Group", None, "Peer support for anyone who wants to talk things through."),
    ("judged:filler-2", "Harbour Peer Support", None, "Informal peer support over tea."),
    ("judged:filler-3", "Parents Circle", None, "A circle for parents worried about a teenager."),
    ("judged:filler-4", "Evening Check-in", None, "A short check-in, open to all."),
]

SET_CASES = [
    # The program's own listing vs a hall whose description says a LifeRing group met there.
    ("lifering", "judged:lifering", "judged:hall"),
    # An exact program name: its program's listing vs SMART Recovery mentioning a dharma talk.
    ("recovery dharma", "judged:dharma", "judged:smart"),
    # "Art" as a word in the name vs "article" (the last word is also a prefix) in a description.
    ("art", "judged:art", "judged:legal"),
    # "Walking" in the name vs "within walking distance" in a clinic's description.
    ("walking", "judged:walking", "judged:clinic"),
    # Recovery in name, program and description vs in a description only.
    ("recovery", "judged:dharma", "judged:walking"),
    ("recovery", "judged:smart", "judged:walking"),
]

# Where the searches are made from: no place, at the point, and 20 km north of it (all of the set
# at the same distance each time).
PLACES = {
    "no place": {},
    "at the point": {"lat": POINT[0], "lon": POINT[1]},
    "20 km away": {"lat": POINT[0] + 0.18, "lon": POINT[1], "radius_km": 50},
}


def judged_listings(demo_listings):
    """The set: one demo group (for everyone, in person) with the set's words and place."""
    template = next(x for x in demo_listings if x.id == "demo:g0006")
    location = replace(template.location, address="1 Example Lane", locality="Camperdown", state="NSW",
                       postcode="2050", lat=POINT[0], lon=POINT[1], approximate=False)
    return [replace(template, id=listing_id, name=name, program=program, description=description,
                    location=location, contact=Contact(), also_from=())
            for listing_id, name, program, description in JUDGED]


@pytest.fixture(scope="module")
def judged_client(backend, gazetteer, demo_listings, tmp_path_factory):
    """An app over the small set, in a store of the same kind as `backend`."""
    folder = tmp_path_factory.mktemp("judged")
    if hasattr(backend, "transport"):
        from service.backends.engine.backend import EngineBackend

        store = EngineBackend(backend.transport, alias=f"{backend.alias}-judged")
    else:
        store = SQLiteBackend(folder / "judged.sqlite")
    store.load(judged_listings(demo_listings))
    app = create_app({"api_rate_limit": "1000000/minute", "referrals_path": str(folder / "referrals.sqlite"),
                      "link_checks_path": str(folder / "link-checks.sqlite")},
                     backend=store, geocoder=gazetteer, clock=lambda: FIXED_NOW)
    yield app.test_client()
    if hasattr(store, "transport"):
        delete_alias_indices(store)


def test_the_set_is_what_the_cases_assume(demo_listings):
    """Every listing is for everyone, in person, at the point: only the words differ."""
    listings = judged_listings(demo_listings)
    assert {x.audiences for x in listings} == {("everyone",)}
    assert {x.formats for x in listings} == {("in_person",)}
    assert {(x.location.lat, x.location.lon) for x in listings} == {POINT}
    assert {x.status for x in listings} == {"active"}


@pytest.mark.parametrize("where", PLACES)
@pytest.mark.parametrize("query, above, below", SET_CASES)
def test_set_listings_rank_as_judged(judged_client, query, above, below, where):
    ids = ranked_ids(judged_client, q=query, sort="best", **PLACES[where])
    assert_above(ids, above, below)


@pytest.mark.parametrize("where", PLACES)
def test_an_exact_program_name_puts_its_program_first(judged_client, where):
    ids = ranked_ids(judged_client, q="Recovery Dharma", sort="best", **PLACES[where])
    assert ids[0] == "judged:dharma"
    ids = ranked_ids(judged_client, q="LifeRing", sort="best", **PLACES[where])
    assert ids[0] == "judged:lifering"


@pytest.mark.parametrize("where", PLACES)
def test_listings_without_the_words_are_not_found(judged_client, where):
    """Every word must match: the set's listings that have them, and no other."""
    # Read from the table above: "walking" is in the walking group's name and the clinic's description.
    assert sorted(ranked_ids(judged_client, q="walking", **PLACES[where])) == ["judged:clinic", "judged:walking"]
    # "art" and words starting with it: the art group's name and "article" in the legal service's text.
    assert sorted(ranked_ids(judged_client, q="art", **PLACES[where])) == ["judged:art", "judged:legal"]
