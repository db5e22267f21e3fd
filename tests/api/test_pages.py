"""The server-rendered search page and health endpoints."""


def test_home_page_form_without_results(client):
    response = client.get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert '<form method="get" action="/"' in html and 'name="near"' in html
    assert "Demo data — fictional" in html
    import re

    # No inline script: every script element loads a file from this site.
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
    assert scripts and all('src="/' in attrs and not body.strip() for attrs, body in scripts)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "<linkage-search" in html and 'class="fallback"' in html


def test_home_page_results_escape_listing_text(client):
    html = client.get("/?near=2000&q=demo%20group").get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt; Demo group" in html
    assert "<img src=x" not in html


def test_home_page_shows_results_with_sessions(client):
    html = client.get("/?near=Parramatta&goal=moderation&tz=Australia/Sydney").get_data(as_text=True)
    assert "options near Parramatta" in html and "km" in html and "Next:" in html


def test_home_page_shows_a_bad_place_in_words(client):
    response = client.get("/?near=Nowhere%20Special%20Town")
    assert response.status_code == 400
    assert "no place called" in response.get_data(as_text=True)


def test_static_stylesheet(client):
    assert client.get("/static/style.css").status_code == 200


def test_readyz_reports_counts(client, demo_listings):
    body = client.get("/readyz").get_json()
    assert body["status"] == "ok" and body["listing_count"] == len(demo_listings)
    assert body["demo_count"] == len(demo_listings)


def test_healthz(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_listing_json_schema_describes_real_listings(client, demo_listings):
    import jsonschema

    response = client.get("/v1/schema/listing.json")
    assert response.status_code == 200 and response.mimetype == "application/schema+json"
    schema = response.get_json()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    from service.schemas import dump_listing

    for listing in demo_listings[:100]:
        assert not list(validator.iter_errors(dump_listing(listing))), listing.id
    bad = {**dump_listing(demo_listings[0]), "kind": "shop"}
    assert list(validator.iter_errors(bad))


def test_meeting_guide_feed_reimports_to_the_same_groups(client, demo_listings):
    from indexers.records import ReadOptions
    from indexers.sources.meeting_guide import read_meeting_guide

    response = client.get("/v1/feeds/meeting-guide.json")
    assert response.status_code == 200 and response.headers["Access-Control-Allow-Origin"] == "*"
    meetings = response.get_json()
    groups = [x for x in demo_listings if x.kind == "group" and x.status != "inactive"]
    assert len(meetings) >= len(groups)
    assert all(m["timezone"] for m in meetings)
    assert all(m["approximate"] in ("yes", "no") for m in meetings if m.get("latitude") is not None)
    records = list(read_meeting_guide(response.data, ReadOptions(source_name="again"), "feed"))
    assert all(r.data for r in records)
    by_name = {}
    for r in records:
        by_name.setdefault(r.data["name"], r.data)
    for group in groups[:40]:
        if "<" in group.name:
            continue  # the Meeting Guide reader strips markup from names, by design
        again = by_name[group.name]
        assert again["timezone"] == group.timezone
        assert {s["weekday"] for s in again["sessions"]} <= {s.weekday for s in group.sessions}
