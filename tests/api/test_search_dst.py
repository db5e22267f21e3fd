"""Searches across the October 2026 clock change, on every backend.

The demo listings checked here are fictional online meetings; their sessions are asserted
first, so the expected answers (worked by hand) hold only for the data they were worked for.
"""

import pytest

# Melbourne, Sunday 02:00-03:00: on 4 October 2026 02:00 AEST does not exist, so the meeting
# runs 03:00-04:00 AEDT, 16:00-17:00 UTC on 3 October. Sydney, Sunday 02:30-03:30: 03:30-04:30
# AEDT, 16:30-17:30 UTC.
MELBOURNE = ("demo:g0004", {"weekday": "sun", "start": "02:00", "end": "03:00"}, "Australia/Melbourne")
SYDNEY = ("demo:g0003", {"weekday": "sun", "start": "02:30", "end": "03:30"}, "Australia/Sydney")


@pytest.fixture(autouse=True)
def sessions_as_worked(client):
    for listing_id, session, zone in (MELBOURNE, SYDNEY):
        listing = client.get(f"/v1/listings/{listing_id}").get_json()
        assert [{k: s[k] for k in ("weekday", "start", "end")} for s in listing["sessions"]] == [session]
        assert listing["timezone"] == zone and listing["status"] == "active"


def ids(client, query: str) -> list[str]:
    body = client.get(f"/v1/search?{query}&per_page=50").get_json()
    return [item["id"] for item in body["items"]]


@pytest.mark.parametrize("at", ["2026-10-03T16:00:00Z", "2026-10-03T16:10:00Z", "2026-10-03T16:40:00Z",
                                "2026-10-03T16:59:00Z"])
def test_open_now_finds_the_meeting_the_clock_change_moved(client, at):
    assert MELBOURNE[0] in ids(client, f"near=3000&radius_km=100&open_now=true&at={at}")


@pytest.mark.parametrize("at", ["2026-10-03T15:30:00Z", "2026-10-03T17:00:00Z"])
def test_open_now_leaves_it_out_before_and_after(client, at):
    assert MELBOURNE[0] not in ids(client, f"near=3000&radius_km=100&open_now=true&at={at}")


def test_starts_within_counts_real_minutes(client):
    # 15:45 UTC is 01:45 AEST: the meeting starts in 15 real minutes (16:00 UTC).
    assert MELBOURNE[0] in ids(client, "near=3000&radius_km=100&starts_within=15&at=2026-10-03T15:45:00Z")
    assert MELBOURNE[0] not in ids(client, "near=3000&radius_km=100&starts_within=14&at=2026-10-03T15:45:00Z")


def test_soonest_keeps_a_running_meeting_on_the_first_page(client):
    # 16:35 UTC is 03:35 AEDT: by the wall clock the 02:30 meeting ended five minutes ago; it
    # began five minutes ago and runs until 17:30 UTC.
    body = client.get("/v1/search?near=2000&sort=soonest&per_page=5&at=2026-10-03T16:35:00Z").get_json()
    first = {item["id"]: item for item in body["items"]}
    assert SYDNEY[0] in first
    session = first[SYDNEY[0]]["next_sessions"][0]
    assert session["start"] == "2026-10-04T03:30:00+11:00" and session["in_progress"] is True
