"""Links `linkage check-links` found dead show on the listing wherever it is shown."""

from __future__ import annotations

import pytest

from service.link_checks import LinkCheck, save_checks
from service import create_app
from tests.conftest import FIXED_NOW


@pytest.fixture()
def checked(tmp_path, sqlite_backend, gazetteer, demo_listings):
    """An app whose link check found one listing's website gone, and another's fine."""
    with_sites = [x for x in demo_listings if x.contact.website and x.location is not None]
    dead_one, fine_one = with_sites[0], with_sites[1]
    path = tmp_path / "link-checks.sqlite"
    save_checks(path, [
        LinkCheck(dead_one.contact.website, (dead_one.id,), "dead", 404, "HTTP 404",
                  "2026-11-20T02:00:00+00:00", "2026-11-25T02:00:00+00:00"),
        LinkCheck(fine_one.contact.website, (fine_one.id,), "ok", 200, "HTTP 200", None,
                  "2026-11-25T02:00:00+00:00"),
    ])
    app = create_app({"link_checks_path": str(path), "api_rate_limit": "100000/minute",
                      "referrals_path": str(tmp_path / "referrals.sqlite")},
                     backend=sqlite_backend, geocoder=gazetteer, clock=lambda: FIXED_NOW)
    return app.test_client(), dead_one, fine_one


def test_listing_shows_its_dead_link(checked):
    client, dead_one, fine_one = checked
    body = client.get(f"/v1/listings/{dead_one.id}").get_json()
    assert body["dead_links"] == [{"url": dead_one.contact.website, "reason": "HTTP 404", "http_status": 404,
                                   "failing_since": "2026-11-20", "checked_at": "2026-11-25",
                                   "fields": ["website"]}]
    assert client.get(f"/v1/listings/{fine_one.id}").get_json()["dead_links"] == []


def test_search_results_and_page_flag_the_dead_link(checked):
    client, dead_one, _ = checked
    location = dead_one.location
    found = client.get(f"/v1/search?lat={location.lat}&lon={location.lon}&radius_km=1&per_page=50").get_json()
    by_id = {item["id"]: item for item in found["items"]}
    assert by_id[dead_one.id]["dead_links"][0]["url"] == dead_one.contact.website
    assert all(item["dead_links"] == [] for item_id, item in by_id.items() if item_id != dead_one.id)
    page = client.get(f"/?near={location.lat},{location.lon}&radius_km=1").get_data(as_text=True)
    said = " ".join(page.split())
    assert said.count("did not work when checked on") == 1
    # The address is isolated left to right, so it reads whole inside a right-to-left page.
    assert (f"This link did not work when checked on 2026-11-25</strong> (HTTP 404): "
            f'<bdi dir="ltr">{dead_one.contact.website}</bdi>.' in said)


def test_no_check_file_means_no_dead_links(client):
    """Before any check has run, every listing has an empty list (the file does not exist)."""
    items = client.get("/v1/search?near=2000").get_json()["items"]
    assert items and all(item["dead_links"] == [] for item in items)


def test_links_match_by_field_ignoring_fragments_and_only_where_still_shown():
    """A handout's snapshot may show another link than the listing today; a #fragment or
    surrounding space does not hide a dead link."""
    from service.domain.text import links_in_use

    dead = ({"url": "https://example.org/meet", "reason": "page not found (404)"},)
    contact = {"website": " https://example.org/meet#join ", "conference_url": "https://example.org/meet",
               "registration_url": None}
    assert links_in_use(contact, dead) == [{**dead[0], "fields": ["website", "conference_url"]}]
    assert links_in_use({"website": "https://example.org/new"}, dead) == []


def test_handout_flags_a_dead_link_in_its_snapshot(checked):
    """The printed handout warns about a link that did not work, and keeps showing it."""
    client, dead_one, fine_one = checked
    made = client.post("/v1/referrals", json={"listing_ids": [dead_one.id, fine_one.id]}).get_json()
    referral = client.get(f"/v1/referrals/{made['code']}").get_json()
    assert [len(item["dead_links"]) for item in referral["items"]] == [1, 0]
    assert referral["items"][0]["dead_links"][0]["fields"] == ["website"]
    page = client.get(f"/r/{made['code']}").get_data(as_text=True)
    # Checked at 02:00 UTC on 25 November: 1 pm the same day in Sydney, the handout's zone.
    assert page.count("did not work when checked on 25 Nov 2026") == 1
