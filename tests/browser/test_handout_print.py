"""The handout printed by a real browser: five options on one A4 page, listing text escaped,
and the clinician's copy with a note that opens the print dialog by itself."""

import subprocess

import pytest

pytestmark = pytest.mark.browser

A4_POINTS = (595, 842)


@pytest.fixture()
def five_options(app, demo_listings):
    """A referral of five demo options, the XSS-named listing among them."""
    ids = ["demo:g0001"] + [x.id for x in demo_listings if x.status == "active" and x.id != "demo:g0001"][::40][:4]
    response = app.test_client().post("/v1/referrals", json={"listing_ids": ids, "goal": "moderation",
                                                             "seven_day_goal": "go_to_one_meeting",
                                                             "timezone": "Australia/Sydney"})
    assert response.status_code == 201
    return response.get_json(), ids


def pdf_pages(path) -> tuple[int, tuple[float, float]]:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    pages = int(next(line.split(":")[1] for line in info.splitlines() if line.startswith("Pages:")))
    size = next(line.split(":", 1)[1] for line in info.splitlines() if line.startswith("Page size:"))
    width, height = (float(v) for v in size.split("pts")[0].split(" x "))
    return pages, (width, height)


def test_browser_prints_five_options_on_one_a4_page(page, live_server, five_options, tmp_path):
    body, ids = five_options
    page.goto(f"{live_server}/r/{body['code']}")
    assert page.locator("script").count() == 0
    # The XSS listing's name is text on the page, not an element.
    assert page.locator("img[src=x]").count() == 0
    assert page.get_by_text("<img src=x onerror=alert(1)> Demo group").count() >= 1
    path = tmp_path / "handout.pdf"
    page.pdf(path=str(path), format="A4", prefer_css_page_size=True, print_background=True)
    pages, (width, height) = pdf_pages(path)
    assert pages == 1
    assert abs(width - A4_POINTS[0]) < 2 and abs(height - A4_POINTS[1]) < 2
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "<img src=x onerror=alert(1)> Demo group" in text
    for item in body["items"][1:]:
        assert item["name"][:25] in text.replace("\n", " ")


def test_server_pdf_and_text_keep_the_name_as_text(app, five_options, tmp_path):
    body, _ = five_options
    client = app.test_client()
    path = tmp_path / "server.pdf"
    path.write_bytes(client.get(f"/r/{body['code']}.pdf").data)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "<img src=x onerror=alert(1)> Demo group" in text
    assert pdf_pages(path)[0] == 1
    sms = client.get(f"/r/{body['code']}.txt").get_data(as_text=True)
    assert "<img src=x onerror=alert(1)>" in sms and len(sms) <= 480


NOTE = "Pick one to try before next visit"


def test_copy_with_a_note_prints_itself_and_the_stored_page_does_not(page, live_server, five_options):
    body, _ids = five_options
    # window.print is replaced before any page script runs, so a call is counted, not shown.
    page.add_init_script("window.__printed = 0; window.print = () => { window.__printed += 1; };")
    blocked = []
    page.on("console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text
            else None)
    page.goto(f"{live_server}/r/{body['code']}")
    page.wait_for_load_state("load")
    assert page.locator("script").count() == 0
    assert page.evaluate("window.__printed") == 0
    assert page.get_by_text(NOTE).count() == 0
    assert page.locator(".seven-day-goal").inner_text() == "Go to one meeting or group"

    # The clinician's browser posts an ordinary form, as the search page's "Print" does.
    with page.expect_navigation():
        page.evaluate("""([action, note]) => {
            const form = document.createElement("form");
            form.method = "post";
            form.action = action;
            for (const [name, value] of [["note", note], ["print", "1"]]) {
                const input = document.createElement("input");
                input.type = "hidden"; input.name = name; input.value = value;
                form.append(input);
            }
            document.body.append(form);
            form.submit();
        }""", [f"/r/{body['code']}", NOTE])
    page.wait_for_load_state("load")
    # Polled from here: wait_for_function evaluates its text inside the page, which the
    # printed page's Content-Security-Policy (no eval) refuses once it has loaded.
    for _ in range(100):
        if page.evaluate("window.__printed"):
            break
        page.wait_for_timeout(50)
    assert page.evaluate("window.__printed") == 1
    assert page.locator(".note").inner_text().endswith(NOTE)
    assert page.locator("script").count() == 1
    assert page.locator("script").get_attribute("src") == "/static/handout-print.js"
    assert not blocked, blocked
