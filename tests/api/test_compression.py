"""Responses are compressed for clients that accept it (gzip, br), and only then.

The oracle is independent of the service: Python's gzip module (and brotli's own
decompressor) must give back exactly the bytes the same URL sends uncompressed.
"""

from __future__ import annotations

import gzip

import brotli
import pytest

from service.compression import AssetCache

SEARCH = "/v1/search?near=2000&sort=best&per_page=20&page=1"
GZIP = {"Accept-Encoding": "gzip"}
# What Chromium sends: brotli is preferred when both are offered.
BROWSER = {"Accept-Encoding": "gzip, deflate, br, zstd"}


def vary(response) -> set[str]:
    """Every token of every Vary header, lower-cased."""
    return {token.strip().lower() for value in response.headers.getlist("Vary") for token in value.split(",")}


@pytest.mark.parametrize("url", ["/widget.js", SEARCH, "/static/style.css", "/static/handout.css"])
def test_gzip_is_sent_when_accepted_and_decompresses_to_the_identity_body(client, url):
    plain = client.get(url)
    packed = client.get(url, headers=GZIP)
    assert plain.status_code == packed.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.get_data()) == plain.get_data()
    assert len(packed.get_data()) < len(plain.get_data())
    assert int(packed.headers["Content-Length"]) == len(packed.get_data())
    assert "accept-encoding" in vary(packed) and "accept-encoding" in vary(plain)
    assert packed.headers["Content-Type"] == plain.headers["Content-Type"]


@pytest.mark.parametrize("url", ["/widget.js", SEARCH])
def test_a_browser_gets_brotli(client, url):
    plain = client.get(url)
    packed = client.get(url, headers=BROWSER)
    assert packed.headers["Content-Encoding"] == "br"
    assert brotli.decompress(packed.get_data()) == plain.get_data()


@pytest.mark.parametrize("accept", ["identity", "gzip;q=0", "compress"])
def test_without_an_accepted_encoding_the_body_is_identity(client, accept):
    plain = client.get("/widget.js")
    response = client.get("/widget.js", headers={"Accept-Encoding": accept})
    assert "Content-Encoding" not in response.headers
    assert response.get_data() == plain.get_data()


@pytest.mark.parametrize("accept, chosen", [("br;q=0, gzip", "gzip"), ("*;q=0.5, gzip;q=0", "br"),
                                            ("gzip;q=0.5, br;q=0.1", "gzip"), ("*", "br")])
def test_qualities_are_honoured(client, accept, chosen):
    # q=0 refuses an encoding (RFC 9110 12.5.3); otherwise the highest quality wins.
    assert client.get("/widget.js", headers={"Accept-Encoding": accept}).headers["Content-Encoding"] == chosen


def test_security_and_cors_headers_are_unchanged_by_compression(client):
    for url in ("/widget.js", SEARCH, "/"):
        plain, packed = client.get(url), client.get(url, headers=GZIP)
        for name in ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options",
                     "Access-Control-Allow-Origin", "Cache-Control"):
            assert packed.headers.get(name) == plain.headers.get(name), (url, name)


def test_no_date_header_is_added(client):
    # The server writes Date itself; a second one from the app would be invalid.
    assert "Date" not in client.get(SEARCH, headers=GZIP).headers


def test_the_search_page_is_compressed(client):
    plain = client.get("/?near=2000")
    packed = client.get("/?near=2000", headers=GZIP)
    assert plain.mimetype == "text/html"
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.get_data()) == plain.get_data()


def test_small_responses_are_sent_as_they_are(client):
    # Under the minimum size, compressing would cost more than it saves.
    response = client.get("/i18n/widget/en.json", headers=GZIP)
    assert len(response.get_data()) < 500
    assert "Content-Encoding" not in response.headers


@pytest.mark.parametrize("headers", [{}, GZIP, BROWSER], ids=["identity", "gzip", "br"])
@pytest.mark.parametrize("url", ["/widget.js", "/static/handout.css", "/i18n/widget/en.json"])
def test_an_etag_gives_304_in_each_encoding(client, url, headers):
    first = client.get(url, headers=headers)
    etag = first.headers["ETag"]
    again = client.get(url, headers={**headers, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == etag


def test_each_encoding_has_its_own_etag(client):
    # A cache holding the gzip body must never serve it as the identity one, and the reverse.
    tags = {client.get("/widget.js", headers=h).headers["ETag"] for h in ({}, GZIP, BROWSER)}
    assert len(tags) == 3
    gzip_tag = client.get("/widget.js", headers=GZIP).headers["ETag"]
    plain = client.get("/widget.js", headers={"If-None-Match": gzip_tag})
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    identity_tag = client.get("/widget.js").headers["ETag"]
    # The identity copy the client holds is still valid: 304, the client keeps its copy.
    assert client.get("/widget.js", headers={**GZIP, "If-None-Match": identity_tag}).status_code == 304


def test_a_translated_catalogue_is_compressed_and_answers_304(client):
    from service.views.pages import widget_catalogue_path

    with client.application.test_request_context():
        if widget_catalogue_path("vi") is None:
            pytest.skip("widget.mo for vi is not compiled: run `make install` (pybabel compile)")
    plain = client.get("/i18n/widget/vi.json")
    packed = client.get("/i18n/widget/vi.json", headers=GZIP)
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.get_data()) == plain.get_data()
    etag = packed.headers["ETag"]
    assert etag != plain.headers["ETag"]
    assert client.get("/i18n/widget/vi.json", headers={**GZIP, "If-None-Match": etag}).status_code == 304


@pytest.mark.parametrize("url", ["/widget.js", SEARCH])
def test_head_gives_the_headers_of_get_and_no_body(client, url):
    got = client.get(url, headers=GZIP)
    head = client.head(url, headers=GZIP)
    assert head.status_code == 200
    assert head.get_data() == b""
    assert head.headers["Content-Encoding"] == "gzip"
    assert head.headers["Content-Length"] == got.headers["Content-Length"]
    assert head.headers.get("ETag") == got.headers.get("ETag")


def test_a_range_of_the_widget_is_identity_bytes(client):
    plain = client.get("/widget.js").get_data()
    part = client.get("/widget.js", headers={**GZIP, "Range": "bytes=0-99"})
    assert part.status_code == 206
    assert "Content-Encoding" not in part.headers
    assert part.get_data() == plain[:100]


def make_referral(client) -> str:
    made = client.post("/v1/referrals", json={"listing_ids": ["demo:g0002", "demo:g0001"]})
    assert made.status_code == 201, made.get_data(as_text=True)
    return made.get_json()["code"]


def test_a_pdf_handout_is_not_compressed(client):
    code = make_referral(client)
    plain = client.get(f"/r/{code}.pdf")
    response = client.get(f"/r/{code}.pdf", headers=BROWSER)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "Content-Encoding" not in response.headers
    assert response.get_data().startswith(b"%PDF")
    assert len(response.get_data()) == len(plain.get_data())


def test_a_calendar_handout_is_compressed(client):
    code = make_referral(client)
    plain = client.get(f"/r/{code}.ics")
    packed = client.get(f"/r/{code}.ics", headers=GZIP)
    assert plain.mimetype == "text/calendar"
    if len(plain.get_data()) < 500:
        pytest.skip("this calendar is under the minimum size")
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.get_data()) == plain.get_data()


def test_static_assets_are_compressed_once_and_kept(client, monkeypatch):
    import service.compression as compression

    calls = []
    real = compression.compress_best

    def counting(data, algorithm):
        calls.append(algorithm)
        return real(data, algorithm)

    monkeypatch.setattr(compression, "compress_best", counting)
    bodies = {client.get("/static/handout.css", headers=GZIP).get_data() for _ in range(3)}
    assert len(bodies) == 1
    # At most one compression (none when an earlier test already filled this app's cache).
    assert calls.count("gzip") <= 1
    cache = client.application.extensions["compress"].cache
    assert isinstance(cache, AssetCache)
    assert any(key.startswith("gzip;/static/handout.css|") for key in cache.data)


def test_searches_are_not_kept_in_the_asset_cache(client):
    client.get(SEARCH, headers=GZIP)
    client.get("/v1/search?near=3000", headers=GZIP)
    cache = client.application.extensions["compress"].cache
    assert not any("/v1/search" in key for key in cache.data)
    first = gzip.decompress(client.get(SEARCH, headers=GZIP).get_data())
    other = gzip.decompress(client.get("/v1/search?near=3000", headers=GZIP).get_data())
    assert first != other


def test_the_asset_cache_stops_growing_at_its_limit():
    from flask import Flask, g

    cache = AssetCache(limit=10)
    with Flask(__name__).test_request_context():
        g.linkage_uncompressed = b"x" * 5000
        assert gzip.decompress(cache.get("gzip;/a|tag")) == b"x" * 5000
        assert cache.data == {}  # bigger than the limit: compressed, not kept
        cache.set("gzip;", b"search")  # a key without a path is never kept
        assert cache.data == {}
