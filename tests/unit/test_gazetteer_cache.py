"""The offline gazetteer keeps each query's candidates: asked again, it answers the same."""

import pytest

QUERIES = ["2000", "Richmond", "richmond vic", "Fitzroy VIC", "Perth, Australia", "Miami, US", "nowhere at all", ""]


@pytest.mark.parametrize("query", QUERIES)
def test_a_repeated_query_gets_what_the_gazetteer_works_out(gazetteer, query):
    expected = [(e.name, e.state, e.country, e.postcode) for e in gazetteer._candidates(query)[0]]
    for _ in range(2):
        found = gazetteer.geocode(query, exactly_one=False)
        assert [(loc.raw["name"], loc.raw["state"], loc.raw["country"], loc.raw["postcode"])
                for loc in found] == expected
        found.clear()  # a caller's changes to its list are its own


def test_richmond_still_names_several_states(gazetteer):
    states = {loc.raw["state"] for loc in gazetteer.geocode("Richmond", exactly_one=False)}
    assert len(states) > 1


PLACES = ["2000", "Richmond", "Fitzroy VIC", "-33.81,151.00", "Perth, Australia", "Springfield"]


@pytest.mark.parametrize("text", PLACES)
def test_a_repeated_near_resolves_as_worked_out_afresh(gazetteer, text):
    from service.search.places import resolve_place, worked_out_place

    expected_place, expected_warnings = worked_out_place(text, gazetteer)
    for _ in range(2):
        place, warnings = resolve_place(text, gazetteer)
        assert (place, warnings) == (expected_place, list(expected_warnings))
        warnings.append("a caller's own")  # the caller's list; the next one is whole


def test_an_unknown_near_is_refused_every_time(gazetteer):
    from service.search.places import PlaceError, resolve_place

    for _ in range(2):
        with pytest.raises(PlaceError, match="no place called 'Nowhereville Qqq'"):
            resolve_place("Nowhereville Qqq", gazetteer)
