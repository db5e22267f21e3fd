"""Handouts are rendered once per format and served from a cache shared by every worker of a
server (a SQLite file beside the referrals); renders, not cached repeats, are limited per
client; the clinician's copy with a note is never cached."""

from __future__ import annotations

import pytest

from service import create_app, render
from service.render import Renderer
from tests.conftest import FIXED_NOW


@pytest.fixture()
def renders(monkeypatch):
    """Counts real renders per handout format (the renderers still run)."""
    counted = {}
    for name in ("handout.html", "handout.pdf", "handout.txt", "handout.ics"):
        real = render.FORMATS[name]

        def counting(*args, _real=real.render, _name=name, **kwargs):
            counted[_name] = counted.get(_name, 0) + 1
            return _real(*args, **kwargs)

        monkeypatch.setitem(render.FORMATS, name, Renderer(counting, real.media_type))
    return counted


def server(sqlite_backend, gazetteer, tmp_path, **settings):
    """One worker's app over the demo index, with its state files in tmp_path (two calls with
    the same tmp_path are two workers of one server)."""
    return create_app({"referrals_path": str(tmp_path / "referrals.sqlite"), "api_rate_limit": "1000/minute",
                       "link_checks_path": str(tmp_path / "link-checks.sqlite"),
                       "public_url": "https://linkage.example", **settings},
                      backend=sqlite_backend, geocoder=gazetteer, clock=lambda: FIXED_NOW).test_client()


def make_referral(client, address="192.0.2.10") -> str:
    made = client.post("/v1/referrals", json={"listing_ids": ["demo:g0002", "demo:g0001"]},
                       environ_base={"REMOTE_ADDR": address})
    assert made.status_code == 201, made.get_data(as_text=True)
    return made.get_json()["code"]


@pytest.mark.parametrize("suffix, name", [(".pdf", "handout.pdf"), ("", "handout.html"), (".txt", "handout.txt"),
                                          (".ics", "handout.ics")])
def test_each_format_is_rendered_once_for_every_worker(sqlite_backend, gazetteer, tmp_path, renders, suffix, name):
    first, second = (server(sqlite_backend, gazetteer, tmp_path) for _ in range(2))
    code = make_referral(first)
    renders.clear()  # creating a referral renders its SMS text for the answer
    bodies = [worker.get(f"/r/{code}{suffix}") for worker in (first, second, first, second)]
    assert [b.status_code for b in bodies] == [200] * 4
    assert len({b.get_data() for b in bodies}) == 1
    assert renders == {name: 1}
    # Served from the cache as it was rendered: same type, and still never kept by browsers.
    assert bodies[3].headers["Content-Type"] == bodies[0].headers["Content-Type"]
    assert bodies[3].headers["Cache-Control"] == "no-store"


def test_a_copy_with_a_note_is_never_cached(sqlite_backend, gazetteer, tmp_path, renders):
    client = server(sqlite_backend, gazetteer, tmp_path)
    code = make_referral(client)
    note = "Ring Sam on Tuesday zq7x"
    for _ in range(2):
        page = client.post(f"/r/{code}", data={"note": note})
        assert page.status_code == 200 and note in page.get_data(as_text=True)
    assert renders["handout.html"] == 2
    plain = client.get(f"/r/{code}")
    assert note not in plain.get_data(as_text=True)
    # Nothing of the note in the state files (cache, referrals, limits) or their logs.
    for path in tmp_path.iterdir():
        if path.is_file():
            assert note.encode() not in path.read_bytes(), path.name


def test_renders_are_limited_per_client_and_cached_repeats_are_not(sqlite_backend, gazetteer, tmp_path, renders):
    client = server(sqlite_backend, gazetteer, tmp_path, render_rate_limit="2/minute")
    codes = [make_referral(client) for _ in range(3)]
    flood = {"REMOTE_ADDR": "198.51.100.7"}
    assert [client.get(f"/r/{c}.ics", environ_base=flood).status_code for c in codes[:2]] == [200, 200]
    refused = client.get(f"/r/{codes[2]}.ics", environ_base=flood)
    assert refused.status_code == 429
    error = refused.get_json()["error"]
    assert error["code"] == "render_limit" and "2 per 1 minute" in error["message"]
    # Repeats come from the cache, so they are not renders and are not refused.
    assert [client.get(f"/r/{c}.ics", environ_base=flood).status_code for c in codes[:2]] == [200, 200]
    # Another client still gets its renders.
    assert client.get(f"/r/{codes[2]}.ics", environ_base={"REMOTE_ADDR": "198.51.100.8"}).status_code == 200
    assert renders["handout.ics"] == 3


def test_a_changed_listing_renders_again(sqlite_backend, gazetteer, tmp_path, renders):
    import dataclasses

    client = server(sqlite_backend, gazetteer, tmp_path)
    code = make_referral(client)
    before = client.get(f"/r/{code}").get_data(as_text=True)

    class Edited:
        """The index after a re-import that closed one of the listings."""

        def __getattr__(self, name):
            return getattr(sqlite_backend, name)

        def get(self, listing_id):
            found = sqlite_backend.get(listing_id)
            return dataclasses.replace(found, status="inactive") if listing_id == "demo:g0002" else found

    later = create_app({"referrals_path": str(tmp_path / "referrals.sqlite"),
                        "link_checks_path": str(tmp_path / "link-checks.sqlite"),
                        "public_url": "https://linkage.example"},
                       backend=Edited(), geocoder=gazetteer, clock=lambda: FIXED_NOW).test_client()
    after = later.get(f"/r/{code}").get_data(as_text=True)
    assert renders["handout.html"] == 2
    assert "This option is no longer listed" in after and "This option is no longer listed" not in before
