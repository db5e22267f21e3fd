"""axe-core on the page and the widget; embedding from another origin with a real key."""

import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent / ".node" / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page, include=None):
    """Serious and critical axe-core violations on the page (the shadow DOM included)."""
    if not AXE.exists():
        pytest.fail("axe-core is missing: `make test` installs it with npm into tests/browser/.node")
    # evaluate() runs through the DevTools protocol, so the page's CSP does not block it.
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        """async (include) => {
             const r = await axe.run(include ? {include: [include]} : document,
                                     {runOnly: ['wcag2a', 'wcag2aa', 'wcag21aa', 'wcag22aa']});
             return r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length,
                                            help: v.help}));
           }""", include)
    return [v for v in result if v["impact"] in ("serious", "critical")]


def wait_for_results(page):
    page.locator("linkage-search article").first.wait_for(timeout=15000)


def test_search_page_and_widget_have_no_serious_axe_violations(page, live_server):
    page.goto(f"{live_server}/")
    page.wait_for_function("() => customElements.get('linkage-search') !== undefined")
    assert axe_violations(page) == []
    # By name: the page's language chooser is a combobox too.
    place = page.locator("linkage-search").get_by_role("combobox", name="Postcode, suburb or address")
    place.fill("2000")
    place.press("Enter")
    wait_for_results(page)
    assert axe_violations(page) == []


def test_server_rendered_fallback_has_no_serious_axe_violations(browser, live_server):
    # As a browser without JavaScript sees it: the widget script never runs. (axe itself
    # needs JavaScript, so the page's script is blocked rather than JavaScript turned off.)
    context = browser.new_context()
    context.route("**/widget.js", lambda route: route.abort())
    try:
        page = context.new_page()
        page.goto(f"{live_server}/?near=2000&goal=moderation")
        assert page.locator(".fallback .result").count() > 0
        assert axe_violations(page) == []
    finally:
        context.close()


def test_handout_and_embed_pages_have_no_serious_axe_violations(page, live_server, app):
    code = app.test_client().post("/v1/referrals", json={"listing_ids": ["demo:g0001", "demo:s0001"]}).get_json()["code"]
    for path in (f"/r/{code}", "/embed"):
        page.goto(f"{live_server}{path}")
        assert axe_violations(page) == [], path


class _Site(BaseHTTPRequestHandler):
    """Another organisation's site: one page that embeds the widget from the live server."""

    body = b""

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def other_site():
    """A page on a different origin (another port on 127.0.0.1)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def embed(server, live_server, key):
    server.RequestHandlerClass.body = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Clinic</title>'
        f'<script src="{live_server}/widget.js" defer></script></head><body><main><h1>Find support</h1>'
        f'<linkage-search api="{live_server}" key="{key}" near="2000" mode="compact"></linkage-search>'
        f'</main></body></html>'
    ).encode()


def test_embedding_on_another_origin_works_with_its_key_and_not_with_a_wrong_one(page, app, live_server, other_site):
    server, origin = other_site
    key = f"pk_test_{uuid.uuid4().hex[:12]}"
    app.extensions["linkage"].keys.add_key(key, "Test clinic", [origin])
    embed(server, live_server, key)
    page.goto(origin)
    wait_for_results(page)
    assert page.locator("linkage-search article").count() > 0

    embed(server, live_server, "pk_not_a_key")
    page.goto(origin)
    # The widget keeps hidden error elements ready: only the ones shown count.
    shown = page.locator("linkage-search [role=alert]:visible, linkage-search .error:visible")
    expect(shown).to_have_count(1)
    expect(shown).to_have_text(f"This site's embed key is not valid for {origin} (unknown embed key); "
                               "the site's web team needs to fix it.")
    expect(page.locator("linkage-search article")).to_have_count(0)
