"""Bodies of the JSON API are exactly what Python's own json module writes for the same
document (compact, UTF-8, `ensure_ascii=False`), though orjson writes them.

The oracle is the stdlib encoder over the body read back: a float, string or key written
in any other way (orjson's 0.00001 for 1e-05, an escaped character, a reordered key) makes
the texts differ.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone
from itertools import product
from zoneinfo import ZoneInfo

from hypothesis import given, settings, strategies as st

from service.render.json_api import json_bytes, json_text

PLACES = ("2000", "3000", "4000", "6000", "0870", "Fitzroy VIC", "Hobart")
EXTRAS = ("", "&sort=soonest", "&sort=distance", "&goal=moderation&format=online", "&kind=service",
          "&q=smart", "&lang=vi", "&lang=ar&tz=Australia/Perth", "&tz=UTC&per_page=50", "&audience=women",
          "&fields=id,name,why,next_sessions",
          # Until 1972 Monrovia's offset had seconds (-0:44:30), which only isoformat writes.
          "&at=1971-06-01T09:00:00Z&tz=Africa/Monrovia")


def stdlib_text(data) -> bytes:
    """The stdlib's writing of a document: compact, UTF-8, non-ASCII as is."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def test_search_bodies_are_what_the_stdlib_writes(client):
    checked = 0
    for near, extra in product(PLACES, EXTRAS):
        response = client.get(f"/v1/search?near={near}{extra}")
        assert response.status_code == 200, (near, extra, response.data[:200])
        assert response.content_type == "application/json"
        document = json.loads(response.data)
        assert response.data == stdlib_text(document), (near, extra)
        checked += len(document["items"])
    assert checked > 100  # the demo data answers most of these with items


def test_other_api_bodies_are_what_the_stdlib_writes(client):
    first = client.get("/v1/search?near=2000").get_json()["items"][0]["id"]
    for url in (f"/v1/listings/{first}", f"/v1/listings/{first}?lang=zh-TW&tz=Europe/London",
                "/v1/places?q=Rich", "/v1/programs?lang=el"):
        response = client.get(url)
        assert response.data == stdlib_text(json.loads(response.data)), url


# JSON-like data the API could hold: strings of any characters orjson accepts (no lone
# surrogates), integers in and beyond 64 bits, any finite float, nested lists and objects.
_scalars = (st.none() | st.booleans() | st.integers(min_value=-(2 ** 70), max_value=2 ** 70)
            | st.floats(allow_nan=False, allow_infinity=False) | st.text(st.characters(blacklist_categories=("Cs",))))
_documents = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=5)
                          | st.dictionaries(st.text(max_size=8), inner, max_size=5), max_leaves=30)


@settings(max_examples=400, deadline=None)
@given(_documents)
def test_any_document_is_written_as_the_stdlib_writes_it(document):
    assert json_bytes(document) == stdlib_text(document)
    assert json_text(document) == stdlib_text(document).decode("utf-8")


def test_floats_orjson_writes_otherwise_are_written_as_the_stdlib_writes_them():
    values = [1e-05, -2.5e-05, 1.5e-07, 5e-324, 0.0001, 1e16, 1.2345678901234568e+17, -0.0, 0.1]
    document = {"values": values, "nested": [{"km": v} for v in values], "text": "e-mail 0.00001"}
    assert json_bytes(document) == stdlib_text(document)


def test_documents_orjson_refuses_are_written_by_the_stdlib():
    for document in ({1: "a", 2: "b"}, {"big": 2 ** 80}, {"t": (1, 2)}):
        assert json_bytes(document) == stdlib_text(document), document


def test_datetimes_are_written_as_their_isoformat():
    zone = ZoneInfo("Australia/Sydney")
    moments = [datetime(2026, 5, 13, 18, 30, tzinfo=zone), datetime(2026, 10, 4, 2, 30, 15, 250, tzinfo=zone),
               datetime(2026, 1, 1, tzinfo=timezone.utc), datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=5, minutes=45))),
               datetime(2026, 1, 1, 12, 0)]
    expected = ("[" + ",".join(f'"{m.isoformat()}"' for m in moments) + "]").encode()
    assert json_bytes(moments) == expected


def test_nan_is_written_as_null_not_as_the_invalid_nan():
    # The one deliberate difference from the stdlib, which writes NaN (not JSON at all).
    assert json_bytes({"x": math.nan, "y": math.inf}) == b'{"x":null,"y":null}'


def test_session_times_are_written_to_the_second_of_their_offset(client):
    # In 1971 Monrovia was 44 min 30 s behind UTC: the viewer's times say so, as isoformat writes them.
    body = json.loads(client.get("/v1/search?near=2000&at=1971-06-01T09:00:00Z&tz=Africa/Monrovia").data)
    monrovia = ZoneInfo("Africa/Monrovia")
    sessions = [session for item in body["items"] for session in item["next_sessions"]]
    assert sessions
    for session in sessions:
        assert datetime.fromisoformat(session["start"]).astimezone(monrovia).isoformat() == session["viewer_start"]
        assert session["viewer_start"].endswith("-00:44:30")
    # And in today's zones, the same way.
    body = json.loads(client.get("/v1/search?near=3000&tz=Asia/Kathmandu&per_page=50").data)
    kathmandu = ZoneInfo("Asia/Kathmandu")
    for session in (s for item in body["items"] for s in item["next_sessions"]):
        assert datetime.fromisoformat(session["end"]).astimezone(kathmandu).isoformat() == session["viewer_end"]
