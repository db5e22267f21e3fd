"""The offline gazetteer: postcodes, suburbs, coordinates, ambiguity, abroad."""

import pytest

from service.search.places import PlaceError, StaticGeocoder, resolve_place


def test_postcode(gazetteer):
    place, warnings = resolve_place("2000", gazetteer)
    assert place.state == "NSW" and place.postcode == "2000"
    assert abs(place.lat + 33.86) < 0.05 and abs(place.lon - 151.2) < 0.05
    assert place.timezone == "Australia/Sydney" and not warnings


@pytest.mark.parametrize("text", ["Parramatta", "Parramatta NSW", "parramatta, nsw", "PARRAMATTA New South Wales"])
def test_locality_with_and_without_state(gazetteer, text):
    place, _ = resolve_place(text, gazetteer)
    assert place.name.startswith("Parramatta") and place.state == "NSW"
    assert abs(place.lat + 33.81) < 0.05 and abs(place.lon - 151.0) < 0.05


def test_coordinates_take_the_state_of_the_nearest_locality(gazetteer):
    place, _ = resolve_place("-33.81,151.00", gazetteer)
    assert (place.lat, place.lon) == (-33.81, 151.0)
    assert place.state == "NSW" and place.country == "AU"


def test_ambiguous_name_warns_and_names_the_alternatives(gazetteer):
    place, warnings = resolve_place("Richmond", gazetteer)
    assert place.state == "VIC"  # the most populous Richmond
    assert len(warnings) == 1
    for state in ("NSW", "TAS", "QLD", "SA"):
        assert f"Richmond {state}" in warnings[0]
    assert set(place.alternatives) >= {"Richmond NSW", "Richmond TAS"}


def test_state_resolves_the_ambiguity(gazetteer):
    place, warnings = resolve_place("Richmond TAS", gazetteer)
    assert place.state == "TAS" and not warnings
    assert place.timezone == "Australia/Hobart"


def test_address_with_suburb_and_postcode(gazetteer):
    place, _ = resolve_place("12 Example Street, Parramatta NSW 2150", gazetteer)
    assert place.state == "NSW" and abs(place.lat + 33.81) < 0.05


def test_city_abroad_is_approximate(gazetteer):
    place, warnings = resolve_place("10025 102A Ave NW, Edmonton, AB", gazetteer)
    assert place.country == "CA" and place.approximate
    assert any("approximate" in w for w in warnings)


def test_lord_howe_has_its_own_zone(gazetteer):
    place, _ = resolve_place("2898", gazetteer)
    assert place.timezone == "Australia/Lord_Howe"


@pytest.mark.parametrize("text", ["Nowhere Special Town", "", "   ", "0001"])
def test_unknown_place_is_an_error(gazetteer, text):
    with pytest.raises(PlaceError):
        resolve_place(text, gazetteer)


def test_geocoder_is_swappable():
    static = StaticGeocoder({"clinic": [(-27.47, 153.02, {"name": "Clinic", "state": "QLD", "country": "AU"})]})
    place, _ = resolve_place("Clinic", static)
    assert (place.lat, place.state) == (-27.47, "QLD")


def test_suggestions_by_prefix(gazetteer):
    names = [e.name for e in gazetteer.suggest("parra")]
    assert "Parramatta" in names
    codes = {e.postcode for e in gazetteer.suggest("200")}
    assert "2000" in codes


def test_state_names_cover_the_states_table_and_read_back():
    from service.domain import geo, vocab

    assert list(geo.AU_STATE_NAMES) == list(vocab.STATES)
    for code, name in geo.AU_STATE_NAMES.items():
        assert geo.au_state_code(name.upper()) == geo.au_state_code(code.lower()) == code
    assert geo.au_state_code("Ontario") is None


# Where each city is, from an atlas: the country and a box around it (lat, lon). A trailing
# country or North American state code names the only countries searched.
@pytest.mark.parametrize("query, country, box", [
    ("Edmonton, CA", "CA", ((53, 54), (-114, -113))),        # CA is Canada first ...
    ("Los Angeles, CA", "US", ((33.5, 34.5), (-119, -118))),  # ... then California
    ("Berlin, DE", "DE", ((52, 53), (13, 14))),               # DE is Germany ...
    ("Paris, TX", "US", ((25, 37), (-107, -93))),             # a Texan code is no French city
    ("Toronto ON", "CA", ((43, 44), (-80, -79))),
    ("Perth, Scotland", "GB", ((56, 57), (-4, -3))),
])
def test_a_trailing_country_or_state_code_names_the_countries_searched(gazetteer, query, country, box):
    found = gazetteer.geocode(query)
    (lat_low, lat_high), (lon_low, lon_high) = box
    assert found is not None and found.raw["country"] == country, (query, found)
    assert lat_low <= found.latitude <= lat_high and lon_low <= found.longitude <= lon_high


@pytest.mark.parametrize("query", [
    "Atlantis, US",          # Atlantis is a town in South Africa, not in the United States
    "Rehoboth Beach, DE",    # Delaware (or Germany), never Rehoboth in Namibia
])
def test_a_place_not_found_in_the_named_country_is_not_taken_from_another(gazetteer, query):
    found = gazetteer.geocode(query, exactly_one=False)
    assert all(entry.raw["country"] in ("US", "DE") for entry in found), found
