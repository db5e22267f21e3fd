"""The server-rendered search page and health endpoints."""

import html as html_lib
import re

# Word for word, the statement of what a handout keeps (issue 12's walkthrough).
KEPT = ("The handout link keeps only the options you chose, the goal, the 7-day goal, the language and the "
        "client's time zone. Your note is sent only to print this one copy or make its PDF; Linkage does not "
        "store or log it.")
# Hand-written: how a day reads on a result.
MONTHS = {"01": "Jan", "02": "Feb", "03": "Mar", "04": "Apr", "05": "May", "06": "Jun", "07": "Jul",
          "08": "Aug", "09": "Sep", "10": "Oct", "11": "Nov", "12": "Dec"}


def words_of(page: str) -> str:
    """A page's text as a reader meets it: tags gone, entities decoded, white space single."""
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", page)).split())


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
    from service.domain.schemas import dump_listing

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
        weekly = {s.weekday for s in group.sessions if not s.monthly}
        if group.sessions and not weekly:
            assert group.name not in by_name  # monthly only: the spec's feed is weekly
            continue
        again = by_name[group.name]
        assert again["timezone"] == group.timezone
        assert {s["weekday"] for s in again["sessions"]} <= weekly


def test_home_page_form_offers_the_point_of_care_filters(client):
    import re

    html = client.get("/?near=2000&day=mon&day=wed&time=evening&substance=methamphetamine&for=family_friends").get_data(as_text=True)
    start = html.index('<form method="get" action="/" class="search"')  # the language chooser is a form too
    form = html[start:html.index("</form>", start)]
    for name, value in (("substance", "alcohol"), ("substance", "methamphetamine"), ("substance", "cannabis"),
                        ("substance", "opioids"), ("substance", "any"), ("audience", "women"),
                        ("audience", "young_people"), ("audience", "lgbtiq"),
                        ("audience", "aboriginal_torres_strait_islander"), ("time", "morning"),
                        ("time", "afternoon"), ("time", "evening"), ("tonight", "true")):
        assert re.search(rf'type="checkbox" name="{name}" value="{value}"', form), (name, value)
    assert len(re.findall(r'type="checkbox" name="day"', form)) == 7  # several days, not one select
    assert '<select id="day"' not in form
    assert re.search(r'type="radio" name="for" value="me"', form)
    assert re.search(r'type="radio" name="for" value="family_friends" checked', form)
    for value in ("mon", "wed", "evening", "methamphetamine"):
        assert re.search(rf'value="{value}" checked', form), value
    assert not re.search(r'value="tue" checked', form)


def test_home_page_puts_particular_groups_apart_and_family_first_when_asked(client):
    heading = "For particular groups (check the person is one of them)"
    api = client.get("/v1/search?near=2150&substance=ice&per_page=50").get_json()["items"]
    restricted = [i["name"] for i in api if "everyone" not in i["audiences"]]
    assert restricted, "the demo data near 2150 has groups for particular people"
    html = client.get("/?near=2150&substance=ice&per_page=50").get_data(as_text=True)
    from markupsafe import escape

    cut = html.index(heading)
    for name in restricted:
        assert html.index(str(escape(name))) > cut, name
    family = client.get("/?near=2000&for=family_friends").get_data(as_text=True)
    assert heading not in family
    first = client.get("/v1/search?near=2000&audience=family_friends").get_json()["items"][0]
    assert "family_friends" in first["audiences"]
    results = family[family.index('<ol class="results">'):]
    assert results.index(str(escape(first["name"]))) < results.index("</li>")


def test_home_page_times_read_in_the_searched_places_zone(client):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    item = next(i for i in client.get("/v1/search?near=6000").get_json()["items"]
                if i["next_sessions"] and not i["next_sessions"][0]["in_progress"])
    start = datetime.fromisoformat(item["next_sessions"][0]["start"]).astimezone(ZoneInfo("Australia/Perth"))
    clock = f"{start.hour % 12 or 12}:{start.minute:02d} {'am' if start.hour < 12 else 'pm'}"
    html = client.get("/?near=6000").get_data(as_text=True)
    assert "Times are in Perth time" in html
    assert f"{start:%a} {start.day} {start:%b}, {clock} Perth time" in html
    assert "Sydney time" not in html  # every time in the caller's zone, named
    chosen = client.get("/?near=6000&tz=Australia/Sydney").get_data(as_text=True)
    assert "Times are in Sydney time" in chosen and "Perth time" not in chosen


def test_home_page_says_exactly_what_is_kept_and_what_a_clinician_checks(client):
    html = client.get("/?near=2150&substance=ice&per_page=50").get_data(as_text=True)
    assert "does not store anything about the people you help" not in html
    assert KEPT in words_of(html)
    assert "never sent to storage" not in html and "printed from this" not in html
    assert "Cost: free" in html and "Access: wheelchair access" in html
    items = client.get("/v1/search?near=2150&substance=ice&per_page=50").get_json()["items"]
    gp = [i for i in items if i["referral"] == "gp_referral"]
    assert gp and html.count("GP referral needed") == len(gp)
    assert html.count("Languages: ") == len([i for i in items if i["languages"] not in ([], ["en"])]) > 0


def test_embed_guide_shows_the_demo_notice(client):
    html = client.get("/embed").get_data(as_text=True)
    assert 'class="demo-banner"' in html and "Demo data — fictional." in html


def test_embed_guide_says_exactly_what_is_kept(client):
    page = client.get("/embed").get_data(as_text=True)
    assert KEPT in words_of(page)
    assert "never sent to storage" not in page and "stores only" not in page


def test_pages_name_an_icon_so_browsers_do_not_ask_for_favicon_ico(client):
    for path in ("/", "/?near=2000", "/embed", "/docs"):
        page = client.get(path).get_data(as_text=True)
        head = page[:page.index("</head>")]
        assert re.search(r'<link rel="icon" href="[^"]+">', head), path


def test_audience_choices_say_they_come_first_not_only(client):
    page = client.get("/?near=2000").get_data(as_text=True)
    start = page.index('<form method="get" action="/" class="search"')  # the language chooser is a form too
    form = page[start:page.index("</form>", start)]
    assert "Only groups for" not in form
    assert "<legend>The person is… (their groups shown first)</legend>" in form


def test_a_result_says_once_when_it_was_last_checked(client):
    items = client.get("/v1/search?near=2000&per_page=50").get_json()["items"]
    stale = [i for i in items if i["stale"]]
    fresh = [i for i in items if not i["stale"] and i["verified_at"]]
    assert stale and fresh, "the demo data near 2000 has options checked long ago and lately"
    text = words_of(client.get("/?near=2000&per_page=50").get_data(as_text=True))
    assert "may be out of date (last checked" not in text
    for item in stale + fresh:
        year, month, day = (item["stale"] or {}).get("verified_at", item["verified_at"])[:10].split("-")
        said = f"last checked {int(day)} {MONTHS[month]} {year}"
        assert said in text, (item["id"], said)
        if item["stale"]:
            assert f"{said} — may be out of date" in text, item["id"]
    assert text.count("may be out of date") == len(stale)
    assert " · checked " not in text


def test_the_search_page_tells_its_widget_the_demo_notice_is_on_the_page(client):
    page = client.get("/").get_data(as_text=True)
    assert 'class="demo-banner"' in page
    assert re.search(r'<linkage-search [^>]*demo-notice="page"', page)
    # The embed guide's preview shows the widget's own notice, as another site would.
    assert "demo-notice" not in client.get("/embed").get_data(as_text=True)
