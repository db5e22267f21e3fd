"""A search body written from each listing's stored text (`json_api.search_body`) is the body
the whole document gives (`json_bytes(search_document(...))`), byte for byte; where it cannot
be, it declines and the view writes the document whole."""

from __future__ import annotations

import dataclasses
import json

import pytest
from flask_babel import force_locale
from werkzeug.datastructures import MultiDict

from service.render.json_api import STORED_FRAGMENTS, json_bytes, search_body, search_document
from service.search import scoring
from service.search.params import parse_search
from tests.conftest import FIXED_NOW

SEARCHES = [{"near": "2000"}, {"near": "3000", "sort": "soonest"}, {"near": "4000", "tz": "Australia/Perth"},
            {"format": "online", "goal": "moderation"}, {"near": "Hobart", "per_page": "50"},
            {"near": "6000", "at": "2026-03-01T20:00:00+10:00", "open_now": ""}, {"kind": "helpline"}]


def searched(app, args):
    """(query, matches, ranked items) for the args."""
    svc = app.extensions["linkage"]
    query = parse_search(MultiDict(args), svc.geocoder, FIXED_NOW)
    matches = svc.backend.search(query)
    return query, matches, scoring.rank_hits(matches.hits, query)


def whole(query, matches, items, warnings=()):
    """The reference: the document written whole, as the view writes it without fragments."""
    document = search_document(query, matches, items, "2026-01-01", {}, None, for_json_bytes=True)
    document["warnings"].extend(warnings)
    return json_bytes(document, datetimes=True)


@pytest.mark.parametrize("args", SEARCHES)
def test_spliced_body_is_the_whole_documents_body(app, args):
    query, matches, items = searched(app, args)
    with app.test_request_context(), force_locale("en"):
        for warnings in ([], ["lang 'xx' has no catalogue here"]):
            for _ in range(2):  # written, then from the kept texts
                written = search_body(query, matches, items, "2026-01-01", {}, warnings)
                assert written is not None
                body, sessions = written
                assert body == whole(query, matches, items, warnings)
                assert len(sessions["items"]) == len(json.loads(body)["items"])


def test_a_listing_with_a_tiny_float_is_left_to_the_whole_document(app):
    query, matches, items = searched(app, {"near": "2000"})
    assert items
    # orjson writes 1e-05 as 0.00001, the stdlib as 1e-05: the whole document's path decides.
    odd = dataclasses.replace(items[0], document={**items[0].document, "tiny": 1e-05})
    with app.test_request_context(), force_locale("en"):
        assert search_body(query, matches, (odd, *items[1:]), "2026-01-01", {}, []) is None


def test_a_stored_listing_holding_a_searched_field_is_left_to_the_whole_document(app):
    query, matches, items = searched(app, {"near": "2000"})
    odd = dataclasses.replace(items[0], document={**items[0].document, "why": ["stored"]})
    with app.test_request_context(), force_locale("en"):
        assert search_body(query, matches, (odd, *items[1:]), "2026-01-01", {}, []) is None


def test_a_changed_document_is_written_afresh(app):
    query, matches, items = searched(app, {"near": "2000"})
    first = items[0]
    changed = dataclasses.replace(first, document={**first.document, "name": "A new name"})
    with app.test_request_context(), force_locale("en"):
        search_body(query, matches, items, "2026-01-01", {}, [])
        body, _ = search_body(query, matches, (changed, *items[1:]), "2026-01-01", {}, [])
    assert json.loads(body)["items"][0]["name"] == "A new name"
    assert STORED_FRAGMENTS.get(first.document["id"], changed.document) is not None


def test_a_moment_before_1980_is_left_to_the_whole_document(app):
    query, matches, items = searched(app, {"near": "2000", "at": "1971-06-01T09:00:00Z"})
    with app.test_request_context(), force_locale("en"):
        assert search_body(query, matches, items, "1970-01-01", {}, []) is None
