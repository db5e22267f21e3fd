"""`time` on the searcher's clock, one session at a time: hand-worked minutes of the week.

Minutes of the week count from Monday 00:00: Sunday is day 6, 6 * 1440 = 8640; a week is
10080. Morning is 05:00-12:00 (300-720 into a day), evening 17:00-24:00 (1020-1440).
"""

from datetime import datetime, timezone

import pytest

from service.backends.time_of_day import search_zone, session_in_windows, zone_shifts
from service.domain.models import Place, SearchQuery

MONDAY_MORNING = (300, 720)
SUNDAY_EVENING = (8640 + 1020, 8640 + 1440)
DECEMBER = datetime(2026, 12, 3, 8, 0, tzinfo=timezone.utc)  # AEDT (UTC+11) in Hobart; Perth UTC+8
JULY = datetime(2026, 7, 2, 8, 0, tzinfo=timezone.utc)  # AEST (UTC+10) in Hobart
PERTH = Place(query="6000", name="Perth", lat=-31.95, lon=115.86, state="WA", timezone="Australia/Perth")


@pytest.mark.parametrize(("start", "duration", "shift", "hours", "windows", "found"), [
    # A service open Sunday 23:00 to Monday 06:00 is open on Monday morning, across the week's end.
    (8640 + 1380, 420, 0, True, [MONDAY_MORNING], True),
    # The same as a group starts on Sunday night: not Monday morning.
    (8640 + 1380, 420, 0, False, [MONDAY_MORNING], False),
    # Sunday 23:00 to Monday 05:00 closes as the morning opens.
    (8640 + 1380, 360, 0, True, [MONDAY_MORNING], False),
    # Monday 01:00 (Hobart) is Sunday 22:00 in Perth (shift -180): Sunday evening, backwards over the week's start.
    (60, 60, -180, False, [SUNDAY_EVENING], True),
    (60, 60, 0, False, [SUNDAY_EVENING], False),
    # Opening hours that end on the dot of the window's start do not reach it; one minute more does.
    (9 * 60, 8 * 60, 0, True, [(1020, 1440)], False),
    (9 * 60, 8 * 60 + 1, 0, True, [(1020, 1440)], True),
    # A group starting the minute the window ends is outside it; one minute before is in.
    (720, 60, 0, False, [MONDAY_MORNING], False),
    (719, 60, 0, False, [MONDAY_MORNING], True),
])
def test_one_session(start, duration, shift, hours, windows, found):
    assert session_in_windows(start, duration, shift, hours, windows) is found


def test_shifts_follow_each_zones_offset_at_the_moment():
    zones = ("Australia/Hobart", "Australia/Perth", "Australia/Lord_Howe", "Australia/Adelaide")
    # December: Hobart +11, Lord Howe +11, Adelaide +10:30, Perth +8.
    assert zone_shifts(SearchQuery(at=DECEMBER, place=PERTH), zones) == {
        "Australia/Hobart": -180, "Australia/Perth": 0, "Australia/Lord_Howe": -180, "Australia/Adelaide": -150}
    # July: Hobart +10, Lord Howe +10:30, Adelaide +9:30.
    assert zone_shifts(SearchQuery(at=JULY, place=PERTH), zones) == {
        "Australia/Hobart": -120, "Australia/Perth": 0, "Australia/Lord_Howe": -150, "Australia/Adelaide": -90}
    # The viewer's zone without a place; each listing's own without either.
    assert zone_shifts(SearchQuery(at=DECEMBER, viewer_tz="Australia/Adelaide"), zones)["Australia/Perth"] == 150
    assert zone_shifts(SearchQuery(at=DECEMBER), zones) == dict.fromkeys(zones, 0)


def test_the_place_wins_over_the_viewer():
    assert search_zone(SearchQuery(at=DECEMBER, place=PERTH, viewer_tz="Australia/Hobart")) == "Australia/Perth"
    assert search_zone(SearchQuery(at=DECEMBER, viewer_tz="Australia/Hobart")) == "Australia/Hobart"
    assert search_zone(SearchQuery(at=DECEMBER)) is None
