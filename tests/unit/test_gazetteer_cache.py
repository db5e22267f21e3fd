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
