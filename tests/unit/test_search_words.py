"""Typed words, time of day and tonight, read into the search: hand-worked answers."""

from datetime import datetime, timezone

import pytest
from werkzeug.datastructures import MultiDict

from service.backends.time_of_day import listing_in_time, part_of_day, time_windows
from service.errors import ApiError
from service.domain.models import SearchQuery, Session
from service.search.params import minutes_to_midnight, parse_search, read_words

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=timezone.utc)  # Thursday; 7 pm in Sydney, 4 pm in Perth


@pytest.mark.parametrize(("typed", "substances", "audiences", "text"), [
    ("my son uses ice", ("methamphetamine",), ("family_friends",), None),
    ("ice", ("methamphetamine",), (), None),
    ("Crystal meth", ("methamphetamine",), (), None),  # the phrase, not "crystal" then "meth"
    ("help for my partner who drinks", ("alcohol",), ("family_friends",), None),
    ("SMART Recovery for women", (), ("women",), "smart recovery"),
    ("young people cannabis", ("cannabis",), ("young_people",), None),
    ("Aboriginal and Torres Strait Islander", (), ("aboriginal_torres_strait_islander",), None),
    ("LGBTIQ+ alcohol", ("alcohol",), ("lgbtiq",), None),
    ("daughter heroin opioids", ("opioids",), ("family_friends",), None),
    ("my mum is on the pokies", ("gambling",), ("family_friends",), None),
    # No vocabulary word: the text stays as typed, small words and all.
    ("lifering", (), (), "lifering"),
    ("help", (), (), "help"),
    ("smart for me", (), (), "smart for me"),
    ("", (), (), None),
])
def test_typed_words(typed, substances, audiences, text):
    read = read_words(typed)
    assert (read.substances, read.audiences, read.text) == (substances, audiences, text)


def test_each_reading_is_explained():
    assert read_words("my son uses ice").warnings == (
        'read "son" as for family and friends', 'read "ice" as methamphetamine')
    assert read_words("crystal meth").warnings == ('read "crystal meth" as methamphetamine',)
    assert read_words("lifering").warnings == ()


def test_smoking_says_how_not_what():
    assert read_words("smoking ice").substances == ("methamphetamine",)


def parse(gazetteer, **args):
    return parse_search(MultiDict(args), gazetteer, NOW)


def test_typed_words_join_the_filters_given(gazetteer):
    query = parse(gazetteer, q="my son uses ice", substance="alcohol", audience="women")
    assert query.substances == ("alcohol", "methamphetamine")
    assert query.audiences == ("women", "family_friends")
    assert query.text is None
    assert 'read "ice" as methamphetamine' in query.warnings


def test_time_parameter(gazetteer):
    query = parse(gazetteer, time="Evening, morning,evening", day="fri")
    assert query.times == ("evening", "morning") and query.days == ("fri",)
    # Friday is day 4 of the week: 4 * 1440 = 5760; morning 05:00-12:00, evening 17:00-24:00.
    assert time_windows(query) == ((5760 + 300, 5760 + 720), (5760 + 1020, 5760 + 1440))
    afternoons = time_windows(SearchQuery(at=NOW, times=("afternoon",)))
    assert afternoons[:2] == ((720, 1020), (1440 + 720, 1440 + 1020)) and len(afternoons) == 7
    assert time_windows(SearchQuery(at=NOW, days=("mon",))) == ()


@pytest.mark.parametrize("args, parameter", [({"time": "night"}, "time"), ({"tonight": "maybe"}, "tonight")])
def test_bad_time_parameters_name_themselves(gazetteer, args, parameter):
    with pytest.raises(ApiError) as caught:
        parse(gazetteer, **args)
    assert caught.value.status == 400 and caught.value.parameter == parameter
    assert parameter in caught.value.message


@pytest.mark.parametrize(("start", "part"), [
    ("04:59", None), ("05:00", "morning"), ("11:59", "morning"), ("12:00", "afternoon"),
    ("16:59", "afternoon"), ("17:00", "evening"), ("23:59", "evening"), ("00:00", None),
])
def test_parts_of_the_day(start, part):
    assert part_of_day(start) == part


@pytest.mark.parametrize(("days", "times", "found"), [
    (("mon",), ("evening",), True), (("sat",), ("morning",), True), (("mon",), ("morning",), False),
    (("sun",), ("morning", "afternoon", "evening"), False),  # 02:00 is in no part of the day
    (("sat",), ("evening",), False), ((), ("afternoon",), True),  # Monday's 16:30
    (("fri",), ("afternoon",), False),  # begun at 11:30: a group counts by its start alone
    (("fri",), ("morning",), True),
])
def test_a_group_is_in_the_parts_its_sessions_start_in(demo_listings, days, times, found):
    from dataclasses import replace

    group = next(x for x in demo_listings if x.kind == "group" and not x.open_24_7)
    listing = replace(group, sessions=(
        Session("mon", "19:00", "20:00"), Session("sat", "10:00", "11:00", "first"),
        Session("sun", "02:00", "03:00"), Session("mon", "16:30", "19:00"),
        Session("fri", "11:30", "13:00")))
    assert listing_in_time(listing, SearchQuery(at=NOW, days=days, times=times)) is found


@pytest.mark.parametrize(("args", "minutes"), [
    ({"near": "2000"}, 299),                # 7:00 pm in Sydney: 300 minutes to midnight
    ({"near": "6000"}, 479),                # 4:00 pm in Perth: 480
    ({"near": "5000"}, 329),                # 6:30 pm in Adelaide: 330
    ({"tz": "Australia/Brisbane"}, 359),    # no place: the viewer's zone, 6:00 pm
    ({}, 959),                              # neither: UTC, 8:00 am
    ({"near": "2000", "starts_within": "60"}, 60),    # the smaller limit wins
    ({"near": "2000", "starts_within": "600"}, 299),
])
def test_tonight_is_until_midnight_where_the_client_is(gazetteer, args, minutes):
    query = parse(gazetteer, tonight="1", **args)
    assert query.tonight is True and query.starts_within == minutes
    assert any("UTC" in w for w in query.warnings) == (not args.get("near") and not args.get("tz"))


def test_tonight_a_minute_before_midnight_keeps_what_is_on():
    at = datetime(2026, 11, 26, 12, 59, tzinfo=timezone.utc)  # 11:59 pm in Sydney
    assert minutes_to_midnight(at, "Australia/Sydney") == 0


def test_tonight_counts_elapsed_minutes_over_a_clock_change():
    # Havana's clocks go from 00:00 to 01:00 on Sunday 8 March 2026: at 10 pm the night
    # before, local midnight never comes; the change itself is 120 minutes away.
    at = datetime(2026, 3, 8, 3, 0, tzinfo=timezone.utc)  # 22:00 CST (UTC-5)
    assert minutes_to_midnight(at, "America/Havana") == 119


def test_a_service_is_in_the_parts_it_is_open_and_one_open_24_7_in_every_part(demo_listings):
    from dataclasses import replace

    service = next(x for x in demo_listings if x.kind == "service" and not x.open_24_7)
    friday_midday = replace(service, sessions=(Session("fri", "11:30", "13:00"),))
    afternoon = SearchQuery(at=NOW, days=("fri",), times=("afternoon",))
    assert listing_in_time(friday_midday, afternoon) is True  # open at 12:00: a service counts by its hours
    assert listing_in_time(replace(friday_midday, open_24_7=True, sessions=()),
                           SearchQuery(at=NOW, times=("evening",))) is True
    assert listing_in_time(replace(friday_midday, sessions=()), SearchQuery(at=NOW)) is True  # no time asked
    assert listing_in_time(replace(friday_midday, sessions=()), afternoon) is False
