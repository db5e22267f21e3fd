"""HTTP caching of the read API (service.http_cache): ETags, 304s, a max-age bounded by the
next session change, worked out here from the demo data with zoneinfo."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from service import create_app, http_cache
from service.backends.sqlite.backend import SQLiteBackend
from tests.conftest import DEMO, FIXED_NOW

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@pytest.fixture(scope="module")
def index_path(tmp_path_factory, demo_listings):
    """A demo index of this module's own: one test replaces it."""
    path = tmp_path_factory.mktemp("http-cache") / "linkage.sqlite"
    SQLiteBackend(path).load(demo_listings)
    return path


# The app's clock: one test moves it on.
NOW = [FIXED_NOW]


@pytest.fixture(scope="module")
def cached_app(index_path, gazetteer, tmp_path_factory):
    """The app over that index, at the fixed clock (create_app registers http_cache last,
    after install_compression)."""
    state = tmp_path_factory.mktemp("http-cache-state")
    app = create_app({"admin_token": "test-token", "public_url": "https://linkage.example",
                      "link_checks_path": str(state / "link-checks.sqlite"),
                      "referrals_path": str(state / "referrals.sqlite"),
                      "api_rate_limit": "1000000/minute"},
                     backend=SQLiteBackend(index_path), geocoder=gazetteer, clock=lambda: NOW[0])
    return app


@pytest.fixture()
def cached_client(cached_app):
    """A client of that app, with the response cache empty and the clock at FIXED_NOW."""
    NOW[0] = FIXED_NOW
    cached_app.extensions["linkage_response_cache"].clear()
    yield cached_app.test_client()
    NOW[0] = FIXED_NOW


def max_age(response) -> int:
    """N of `public, max-age=N`."""
    value = response.headers["Cache-Control"]
    assert value.startswith("public, max-age="), value
    return int(value.removeprefix("public, max-age="))


def weekly_changes(listing: dict, now: datetime) -> list[datetime]:
    """Starts and ends of the listing's weekly sessions in the week after `now` (UTC),
    computed from the demo file with zoneinfo alone."""
    tz = ZoneInfo(listing["timezone"])
    local_today = now.astimezone(tz).date()
    moments = []
    for session in listing.get("sessions") or ():
        # A monthly session may not fall in this week; its weekly moment is no bound.
        if session.get("monthly"):
            continue
        for days in range(-1, 8):
            day = local_today + timedelta(days=days)
            if WEEKDAYS[day.weekday()] != session["weekday"]:
                continue
            for hhmm in (session["start"], session["end"]):
                hour, minute = map(int, hhmm.split(":"))
                moment = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
                if moment > now:
                    moments.append(moment.astimezone(timezone.utc))
    return moments


def test_hand_worked_listing_max_age_is_time_to_session_end(cached_client, monkeypatch):
    # demo:g0019 meets Thursdays 18:00-19:30 in Sydney. FIXED_NOW is Thursday 2026-11-26
    # 08:00 UTC = 19:00 AEDT (UTC+11): the session is on, and ends at 19:30 AEDT = 08:30
    # UTC, 1,800 s on. Nothing else shown changes sooner (UTC midnight is 16 h away).
    monkeypatch.setattr(http_cache, "NOW_MAX_AGE", 10**9)
    response = cached_client.get("/v1/listings/demo:g0019")
    assert response.status_code == 200
    assert response.get_json()["open_now"] is True
    assert max_age(response) == 1800


def test_listing_max_age_is_capped(cached_client):
    response = cached_client.get("/v1/listings/demo:g0019")
    assert max_age(response) == http_cache.NOW_MAX_AGE < 1800


@pytest.mark.parametrize("url", [
    "/v1/search?near=2000",
    "/v1/search?near=2000&sort=soonest&per_page=50",
    "/v1/search?near=3000&open_now=true",
    "/v1/search?near=4000&format=online&per_page=30",
])
def test_search_max_age_never_past_a_shown_session_change(cached_client, monkeypatch, url):
    monkeypatch.setattr(http_cache, "NOW_MAX_AGE", 10**9)
    demo = {entry["id"]: entry for entry in json.loads(DEMO.read_text(encoding="utf-8"))}
    response = cached_client.get(url)
    assert response.status_code == 200
    items = response.get_json()["items"]
    moments = [m for item in items for m in weekly_changes(demo[item["id"]], FIXED_NOW)]
    midnight = datetime(2026, 11, 27, tzinfo=timezone.utc)
    bound = min([*moments, midnight]) - FIXED_NOW
    assert moments, "the page shows no weekly session: nothing bounds the max-age"
    assert 0 <= max_age(response) <= bound.total_seconds()


def test_pinned_at_gets_the_longer_max_age(cached_client):
    response = cached_client.get("/v1/search?near=2000&at=2026-11-26T19:00:00%2B11:00")
    assert max_age(response) == http_cache.PINNED_MAX_AGE


def test_matching_if_none_match_is_answered_304(cached_client):
    first = cached_client.get("/v1/search?near=2000")
    etag = first.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    again = cached_client.get("/v1/search?near=2000", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    other = cached_client.get("/v1/search?near=2000", headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.data == first.data


def test_compressed_answer_has_its_own_etag_and_304(cached_client):
    plain = cached_client.get("/v1/search?near=2000", headers={"Accept-Encoding": "identity"})
    brotli = cached_client.get("/v1/search?near=2000", headers={"Accept-Encoding": "br"})
    assert brotli.headers.get("Content-Encoding") == "br"
    assert brotli.headers["ETag"] != plain.headers["ETag"]
    again = cached_client.get("/v1/search?near=2000", headers={"Accept-Encoding": "br",
                                                               "If-None-Match": brotli.headers["ETag"]})
    assert again.status_code == 304


def test_etag_differs_when_the_language_changes_the_body(cached_client):
    english = cached_client.get("/v1/search?near=2000&lang=en", headers={"Accept-Encoding": "identity"})
    spanish = cached_client.get("/v1/search?near=2000&lang=es", headers={"Accept-Encoding": "identity"})
    assert english.data != spanish.data
    assert english.headers["ETag"] != spanish.headers["ETag"]
    # And the same body twice gives the same validator.
    assert cached_client.get("/v1/search?near=2000&lang=en", headers={"Accept-Encoding": "identity"}).headers["ETag"] \
        == english.headers["ETag"]


def test_programs_are_cached(cached_client):
    response = cached_client.get("/v1/programs")
    assert max_age(response) == http_cache.PROGRAMS_MAX_AGE
    assert cached_client.get("/v1/programs", headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


def test_errors_are_not_cached(cached_client):
    response = cached_client.get("/v1/listings/demo:no-such-listing")
    assert response.status_code == 404
    assert "ETag" not in response.headers


def test_cache_hit_is_the_same_answer(cached_app, cached_client):
    cache = cached_app.extensions["linkage_response_cache"]
    for encoding in ("identity", "br", "gzip"):
        first = cached_client.get("/v1/search?near=2000", headers={"Accept-Encoding": encoding})
        hits = cache.hits
        second = cached_client.get("/v1/search?near=2000", headers={"Accept-Encoding": encoding})
        assert cache.hits == hits + 1
        assert second.data == first.data
        for name in ("Content-Type", "Content-Encoding", "ETag", "Vary", "Cache-Control"):
            assert second.headers.get(name) == first.headers.get(name), name
        assert cached_client.get("/v1/search?near=2000", headers={
            "Accept-Encoding": encoding, "If-None-Match": first.headers["ETag"]}).status_code == 304


def test_typed_words_are_private_and_not_kept(cached_app, cached_client):
    """A search with `q` is never answered from the response cache and is private to shared
    caches (words stay out of logs and caches)."""
    cache = cached_app.extensions["linkage_response_cache"]
    url = "/v1/search?near=2000&q=smart"
    first = cached_client.get(url)
    assert first.status_code == 200
    assert first.headers["Cache-Control"].startswith("private, max-age=")
    hits, kept = cache.hits, len(cache._items)
    second = cached_client.get(url)
    assert second.data == first.data
    assert (cache.hits, len(cache._items)) == (hits, kept)
    assert cached_client.get("/v1/search?near=2000").headers["Cache-Control"].startswith("public, ")


def test_cache_entry_is_not_used_past_its_max_age(cached_app, cached_client):
    cache = cached_app.extensions["linkage_response_cache"]
    first = cached_client.get("/v1/listings/demo:g0019")
    NOW[0] = FIXED_NOW + timedelta(seconds=max_age(first) - 1)
    hits = cache.hits
    assert max_age(cached_client.get("/v1/listings/demo:g0019")) == 1
    assert cache.hits == hits + 1
    NOW[0] = FIXED_NOW + timedelta(seconds=max_age(first))
    cached_client.get("/v1/listings/demo:g0019")
    assert cache.hits == hits + 1


def test_replaced_index_gives_a_new_etag(cached_app, cached_client, index_path, demo_listings):
    url = "/v1/listings/demo:g0019"
    before = cached_client.get(url, headers={"Accept-Encoding": "identity"})
    assert cached_client.get(url, headers={"Accept-Encoding": "identity"}).data == before.data
    renamed = [replace(item, name="Renamed for the cache test") if item.id == "demo:g0019" else item
               for item in demo_listings]
    fresh = index_path.with_name("fresh.sqlite")
    SQLiteBackend(fresh).load(renamed)
    os.replace(fresh, index_path)
    after = cached_client.get(url, headers={"Accept-Encoding": "identity",
                                            "If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert after.get_json()["name"] == "Renamed for the cache test"
    assert after.headers["ETag"] != before.headers["ETag"]


def test_answers_vary_with_the_embed_key(cached_client):
    """A browser must not reuse an answer fetched with one embed key for another: the key
    decides whether there is an answer at all."""
    response = cached_client.get("/v1/search?near=2000")
    assert "x-linkage-key" in {name.strip().lower() for name in response.headers["Vary"].split(",")}


def test_search_max_age_is_time_to_the_first_shown_session_change(cached_client, monkeypatch):
    # The search view hands its document (datetimes, not text) to the caching step: the
    # max-age is still exactly the seconds to the earliest start or end on the page. Worked
    # out from the demo file with zoneinfo: a listing's earliest change after now is the
    # start or end of its next session, which the page shows, so the earliest over the
    # page's weekly-only listings (or UTC midnight) is the bound, reached exactly.
    monkeypatch.setattr(http_cache, "NOW_MAX_AGE", 10**9)
    demo = {entry["id"]: entry for entry in json.loads(DEMO.read_text(encoding="utf-8"))}
    response = cached_client.get("/v1/search?near=4000&kind=group&per_page=20")
    items = response.get_json()["items"]
    assert items and not any(s.get("monthly") for item in items for s in demo[item["id"]].get("sessions") or ())
    moments = [m for item in items for m in weekly_changes(demo[item["id"]], FIXED_NOW)]
    expected = min([*moments, datetime(2026, 11, 27, tzinfo=timezone.utc)]) - FIXED_NOW
    assert max_age(response) == int(expected.total_seconds())
