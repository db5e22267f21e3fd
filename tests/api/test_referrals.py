"""Referrals through the API, on every backend: create, show, feedback, stats, bad input."""

import json
from datetime import timedelta

import pytest

from service import create_app
from service.referrals.model import CODE_CHARS, normalise_code
from tests.conftest import FIXED_NOW


def create(client, ids, **extra):
    return client.post("/v1/referrals", json={"listing_ids": ids, **extra})


@pytest.fixture(scope="module")
def sample(demo_listings):
    """A varied choice: a SMART group, an online option and a service, near Sydney."""
    smart = next(x for x in demo_listings if x.program == "SMART Recovery" and x.location
                 and x.location.state == "NSW" and x.status == "active")
    online = next(x for x in demo_listings if x.formats == ("online",) and x.status == "active")
    service = next(x for x in demo_listings if x.kind == "service" and x.status == "active")
    return [smart.id, online.id, service.id]


def test_create_returns_code_url_expiry_and_snapshot(client, sample):
    response = create(client, sample, goal="moderation", seven_day_goal="go_to_one_meeting",
                      timezone="Australia/Sydney")
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    code = normalise_code(body["code"])
    assert code and len(code) == CODE_CHARS  # 75 random bits
    assert body["url"] == f"https://linkage.example/r/{body['code']}"
    # Every output of the handout is one link away from the answer.
    assert [body["pdf"], body["ics"], body["txt"]] == [body["url"] + ext for ext in (".pdf", ".ics", ".txt")]
    assert body["expires_at"].startswith((FIXED_NOW + timedelta(days=90)).date().isoformat())
    assert [item["id"] for item in body["items"]] == sample
    assert response.headers["Location"].endswith(body["code"])


def test_codes_are_unguessable_and_distinct(client, sample):
    codes = {create(client, sample[:1]).get_json()["code"] for _ in range(30)}
    assert len(codes) == 30


def test_referral_json_shows_items_with_status_and_sessions(client, sample):
    code = create(client, sample, goal="moderation").get_json()["code"]
    body = client.get(f"/v1/referrals/{code}").get_json()
    assert [i["id"] for i in body["items"]] == sample
    assert all(i["change"] == "unchanged" and i["status"] == "active" for i in body["items"])
    assert any(i["next_sessions"] for i in body["items"])
    # Typed from paper in lower case, without dashes, O for 0: still found.
    typed = code.lower().replace("-", "").replace("0", "o")
    assert client.get(f"/v1/referrals/{typed}").status_code == 200


def test_structured_choices_are_kept_and_a_note_is_refused_without_being_echoed(client, sample):
    body = create(client, sample, goal="undecided", seven_day_goal="call_one_service",
                  timezone="Australia/Perth").get_json()
    shown = client.get(f"/v1/referrals/{body['code']}").get_json()
    assert (shown["goal"], shown["seven_day_goal"], shown["timezone"]) == ("undecided", "call_one_service",
                                                                           "Australia/Perth")
    assert "note" not in shown
    refused = create(client, sample, note="Jane Citizen, call 0412 345 678")
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert error["parameter"] == "note" and "browser" in error["message"]
    assert "Jane" not in refused.get_data(as_text=True) and "0412" not in refused.get_data(as_text=True)


def test_a_note_goes_onto_one_copy_only(client, sample):
    code = create(client, sample).get_json()["code"]
    note = "Ask for Sam at the front desk"
    page = client.post(f"/r/{code}", data={"note": note, "print": "1"})
    assert page.status_code == 200 and note in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    pdf = client.post(f"/r/{code}.pdf", data={"note": note})
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF") and pdf.headers["Cache-Control"] == "no-store"
    for path in (f"/r/{code}", f"/r/{code}.txt", f"/r/{code}.ics", f"/v1/referrals/{code}"):
        assert "Sam at the front desk" not in client.get(path).get_data(as_text=True), path
    too_long = client.post(f"/r/{code}", data={"note": "Jane " * 101})
    assert too_long.status_code == 422 and too_long.get_json()["error"]["parameter"] == "note"
    assert "Jane" not in too_long.get_data(as_text=True)
    assert client.post(f"/r/{code}", data={"note": "x", "name": "Jane"}).status_code == 422


def test_suggestions_keep_to_the_searched_place_and_formats(client, demo_listings):
    """All in person around Parramatta: the advice is an online or phone option, and every
    suggestion is one, open to everyone; none is an in-person group somewhere else."""
    chosen = [x.id for x in demo_listings if x.approach == "twelve_step" and x.formats == ("in_person",)
              and x.location and x.location.state == "NSW" and x.status == "active"][:2]
    body = create(client, chosen, near="2150").get_json()
    assert any("consider an online or phone option" in w for w in body["warnings"])
    by_id = {x.id: x for x in demo_listings}
    assert body["suggestions"]
    for suggestion in body["suggestions"]:
        listing = by_id[suggestion["id"]]
        assert set(listing.formats) & {"online", "phone"} and "everyone" in listing.audiences, listing
    # A search limited to in person: no advice to add a format it left out.
    limited = create(client, chosen, near="2150", formats=["in_person"]).get_json()
    assert not any("online or phone" in w for w in limited["warnings"])
    for suggestion in limited["suggestions"]:
        assert "in_person" in by_id[suggestion["id"]].formats


def test_same_format_choice_warns_and_suggests_alternatives(client, demo_listings):
    twelve_step = [x.id for x in demo_listings if x.approach == "twelve_step" and x.formats == ("in_person",)
                   and x.location and x.location.state == "VIC" and x.status == "active"][:3]
    body = create(client, twelve_step).get_json()
    assert any(w.startswith("Choice:") for w in body["warnings"])
    assert body["suggestions"]
    by_id = {x.id: x for x in demo_listings}
    for suggestion in body["suggestions"]:
        candidate = by_id[suggestion["id"]]
        assert candidate.approach != "twelve_step" or candidate.formats != ("in_person",) or candidate.kind == "service"


def test_varied_choice_has_no_choice_warning(client, sample):
    body = create(client, sample).get_json()
    assert not any(w.startswith("Choice:") for w in body["warnings"]) and body["suggestions"] == []


@pytest.mark.parametrize("payload, status, parameter", [
    ({"listing_ids": ["demo:nope", "demo:missing"]}, 422, "listing_ids"),
    ({"listing_ids": [f"demo:g{n:04d}" for n in range(1, 14)]}, 422, "listing_ids"),
    ({"listing_ids": []}, 422, "listing_ids"),
    ({"listing_ids": ["demo:g0001"], "note": "x"}, 422, "note"),
    ({"listing_ids": ["demo:g0001"], "seven_day_goal": "stop tomorrow"}, 422, "seven_day_goal"),
    ({"listing_ids": ["demo:g0001"], "timezone": "Mars/Olympus"}, 422, "timezone"),
    ({"listing_ids": ["demo:g0001"], "formats": ["teleport"]}, 422, "formats"),
    ({"listing_ids": ["demo:g0001", "demo:g0002"], "near": "zzzz qqqq"}, 422, "near"),
    ({"listing_ids": ["demo:g0001"], "goal": "sobriety"}, 422, "goal"),
    ({"listing_ids": ["demo:g0001"], "client_name": "Jo Citizen"}, 422, "client_name"),
])
def test_bad_referrals_are_422_naming_the_problem(client, payload, status, parameter):
    response = client.post("/v1/referrals", json=payload)
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["parameter"] == parameter
    if "demo:nope" in json.dumps(payload):
        assert "demo:nope" in error["message"] and "demo:missing" in error["message"]


def test_malformed_json_is_400_and_a_huge_body_413(client):
    response = client.post("/v1/referrals", data="{not json", content_type="application/json")
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "bad_json"
    huge = json.dumps({"listing_ids": ["demo:g0001"], "note": "x" * 70_000})
    response = client.post("/v1/referrals", data=huge, content_type="application/json")
    assert response.status_code == 413 and response.get_json()["error"]["status"] == 413


def test_unknown_or_expired_codes_are_404(client, app, sample, gazetteer):
    assert client.get("/v1/referrals/ABCDE-FGHJK-MNPQR").status_code == 404
    assert client.get("/v1/referrals/not-a-code").status_code == 404
    code = create(client, sample).get_json()["code"]
    services = app.extensions["linkage"]
    later = create_app({"api_rate_limit": "1000000/minute"}, backend=services.backend, geocoder=gazetteer, referrals=services.referrals,
                       clock=lambda: FIXED_NOW + timedelta(days=91))
    assert later.test_client().get(f"/v1/referrals/{code}").status_code == 404


def test_feedback_is_counted_and_stats_need_the_admin_token(client, sample):
    code = create(client, sample).get_json()["code"]
    for outcome in ("attended", "attended", "not_for_me"):
        response = client.post(f"/v1/referrals/{code}/feedback", json={"listing_id": sample[0], "outcome": outcome})
        assert response.status_code == 201
    bad = client.post(f"/v1/referrals/{code}/feedback", json={"listing_id": "demo:other", "outcome": "attended"})
    assert bad.status_code == 422 and bad.get_json()["error"]["parameter"] == "listing_id"
    assert client.post(f"/v1/referrals/{code}/feedback", json={"listing_id": sample[0], "outcome": "maybe"}
                       ).status_code == 422
    assert client.get("/v1/stats/referrals").status_code == 401
    assert client.get("/v1/stats/referrals", headers={"Authorization": "Bearer wrong"}).status_code == 401
    stats = client.get("/v1/stats/referrals", headers={"Authorization": "Bearer test-token"}).get_json()
    assert stats["by_listing"][sample[0]]["attended"] >= 2 and stats["outcomes"]["not_for_me"] >= 1
    assert "SMART Recovery" in stats["by_program"] and "in_person" in stats["by_format"]
    assert stats["referrals"] >= 1


def test_feedback_is_rate_limited(backend, gazetteer, tmp_path, sample):
    from tests.conftest import referral_store_for

    class Factory:
        def mktemp(self, name):
            path = tmp_path / name
            path.mkdir()
            return path

    app = create_app({"feedback_rate_limit": "3/minute"}, backend=backend, geocoder=gazetteer,
                     clock=lambda: FIXED_NOW, referrals=referral_store_for(backend, Factory(), name="limits"))
    client = app.test_client()
    code = create(client, sample).get_json()["code"]
    answers = [client.post(f"/v1/referrals/{code}/feedback", json={"listing_id": sample[0], "outcome": "not_yet"}
                           ).status_code for _ in range(5)]
    assert answers[:3] == [201, 201, 201] and answers[3:] == [429, 429]


def test_changed_or_removed_listings_are_flagged(client, app, sample, gazetteer, demo_listings):
    code = create(client, sample).get_json()["code"]
    services = app.extensions["linkage"]

    class Edited:
        """The same backend, except one listing renamed and one gone."""

        def get(self, listing_id):
            if listing_id == sample[1]:
                return None
            found = services.backend.get(listing_id)
            if listing_id == sample[0]:
                from dataclasses import replace

                return replace(found, name=found.name + " (new venue)")
            return found

        def __getattr__(self, name):
            return getattr(services.backend, name)

    later = create_app({"api_rate_limit": "1000000/minute"}, backend=Edited(), geocoder=gazetteer, referrals=services.referrals, clock=lambda: FIXED_NOW)
    items = later.test_client().get(f"/v1/referrals/{code}").get_json()["items"]
    assert [i["change"] for i in items] == ["changed", "removed", "unchanged"]
    assert items[0]["name"] == next(x.name for x in demo_listings if x.id == sample[0])  # the snapshot


def test_handout_page_and_files(client, sample):
    code = create(client, sample, goal="moderation").get_json()["code"]
    page = client.get(f"/r/{code}")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "<svg" in html and 'action="/r/' in html and "<script" not in html
    pdf = client.get(f"/r/{code}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    text = client.get(f"/r/{code}.txt")
    assert text.status_code == 200 and len(text.get_data(as_text=True)) <= 480 and code in text.get_data(as_text=True)
    from icalendar import Calendar

    calendar = Calendar.from_ical(client.get(f"/r/{code}.ics").data)
    assert calendar.walk("VEVENT")


def test_handout_files_are_served_as_their_formats(client, sample):
    code = create(client, sample).get_json()["code"]
    served = {fmt: client.get(f"/r/{code}.{fmt}") for fmt in ("pdf", "txt", "ics")}
    assert served["pdf"].headers["Content-Type"] == "application/pdf"
    assert (served["txt"].mimetype, served["txt"].mimetype_params) == ("text/plain", {"charset": "utf-8"})
    assert (served["ics"].mimetype, served["ics"].mimetype_params) == ("text/calendar", {"charset": "utf-8"})
    assert served["pdf"].headers["Content-Disposition"] == f'inline; filename="linkage-{code}.pdf"'
    assert served["ics"].headers["Content-Disposition"] == f'inline; filename="linkage-{code}.ics"'
    assert "Content-Disposition" not in served["txt"].headers
    # Only those three downloads: another suffix on a real code is the friendly 404 page.
    for fmt in ("html", "json", "missing"):
        response = client.get(f"/r/{code}.{fmt}")
        assert response.status_code == 404 and "expired" in response.get_data(as_text=True), fmt


def test_handout_form_records_feedback_and_thanks(client, sample):
    code = create(client, sample).get_json()["code"]
    response = client.post(f"/r/{code}/feedback", data={"listing_id": sample[0], "outcome": "attended"})
    assert response.status_code == 303 and "thanks=1" in response.headers["Location"]


@pytest.mark.parametrize("path", ["/r/ABCDE-FGHJK-MNPQR", "/r/ABCDE-FGHJK-MNPQR.pdf", "/r/nonsense.txt",
                                  "/r/ABCDE-FGHJK-MNPQR.ics"])
def test_unknown_handout_is_a_friendly_404_page(client, path):
    response = client.get(path)
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "expired" in response.get_data(as_text=True)


def test_xss_listing_is_text_in_html_and_sms(client):
    code = create(client, ["demo:g0001"]).get_json()["code"]
    html = client.get(f"/r/{code}").get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "<img src=x" not in html
    assert "<img src=x onerror=alert(1)>" in client.get(f"/r/{code}.txt").get_data(as_text=True)


def test_suggestions_keep_to_the_clients_substance(client, demo_listings):
    """An ice client's two SMART groups near Parramatta: what is suggested must be for
    methamphetamine or any substance, never a cannabis clinic or an alcohol-only group."""
    chosen = [x.id for x in demo_listings if x.program == "SMART Recovery" and x.formats == ("in_person",)
              and x.location and x.location.state == "NSW" and x.status == "active"][:2]
    assert len(chosen) == 2
    body = create(client, chosen, near="2150", substances=["methamphetamine"]).get_json()
    by_id = {x.id: x for x in demo_listings}
    assert body["suggestions"]
    for suggestion in body["suggestions"]:
        substances = set(by_id[suggestion["id"]].substances)
        assert substances & {"methamphetamine", "any"}, (suggestion["name"], substances)


def test_a_search_for_in_person_only_stays_within_the_radius(client):
    """Hybrid meetings count as online beyond the radius only when online was not ruled out."""
    body = client.get("/v1/search?near=2150&format=in_person&per_page=50").get_json()
    assert body["items"]
    assert all(item["distance_km"] is not None and item["distance_km"] <= 25 for item in body["items"])
    wider = client.get("/v1/search?near=2150&per_page=50").get_json()
    assert any(item["distance_km"] and item["distance_km"] > 25 for item in wider["items"]), \
        "the demo data should hold a hybrid meeting beyond 25 km that covers NSW"
