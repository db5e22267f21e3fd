"""The second-line scrubber, against a hand-made table of what identifies a person."""

import pytest

from service.observability import loggable_query
from service.privacy import REMOVED, scrub_identifying

# (text, what must be gone, what must stay): written out by hand from the ways people write
# these details, not from the patterns.
CASES = [
    ("Jane Citizen wants to cut down", ["Jane", "Citizen"], ["wants to cut down"]),
    ("client Mary-Anne O'Brien", ["Mary-Anne", "O'Brien"], ["client"]),
    ("seen with Mr Smith", ["Smith"], ["seen with"]),
    ("DOB 3/4/1990", ["3/4/1990", "DOB"], []),
    ("d.o.b. 03-04-90, prefers evenings", ["03-04-90"], ["prefers evenings"]),
    ("born 3 April 1990", ["April", "1990"], []),
    ("birthday April 3, 1990", ["April 3", "1990"], ["birthday"]),
    ("lives at 12 Smith St Parramatta", ["12 Smith St"], ["lives at"]),
    ("3/45 Example Road", ["3/45", "Example Road"], []),
    ("unit 4 12-14 George Street", ["George Street", "12-14"], []),
    ("CRN 123 456 789A", ["123 456 789A"], ["CRN"]),
    ("crn 123456789a", ["123456789a"], []),
    ("Medicare 2123 45670 1", ["2123 45670 1"], ["Medicare"]),
    ("jane.citizen@example.com", ["jane.citizen", "example.com"], []),
    ("email jane at gmail dot com", ["jane at gmail dot com"], ["email"]),
    ("jane(at)gmail(dot)com", ["jane", "gmail"], []),
    ("jane [at] gmail [dot] com [dot] au", ["jane", "gmail"], []),
    ("0412 345 678", ["0412", "345", "678"], []),
    ("0412/345/678", ["0412", "345/678"], []),
    ("0412_345_678", ["0412_345_678"], []),
    ("+61 (2) 5550-2929", ["5550", "2929"], []),
    ("ring oh four one two three four five six seven eight", ["four one two three"], ["ring"]),
    ("zero four double one, two three four, five six seven", ["zero four double one"], []),
]


@pytest.mark.parametrize("text, gone, kept", CASES, ids=[c[0][:30] for c in CASES])
def test_identifying_details_are_removed(text, gone, kept):
    scrubbed = scrub_identifying(text)
    assert REMOVED in scrubbed
    for part in gone:
        assert part not in scrubbed, (text, scrubbed)
    for part in kept:
        assert part in scrubbed, (text, scrubbed)


@pytest.mark.parametrize("text", [
    "request",
    "backend unavailable: search engine error 503",
    "unhandled error on GET /v1/search",
    "meets at 7:30 pm for 90 minutes, 12 people",
    "at 2026-12-04T17:28:31.123+00:00",
])
def test_ordinary_log_text_is_left_alone(text):
    assert scrub_identifying(text) == text


def test_logged_queries_keep_no_words_and_no_street_address():
    logged = loggable_query({"q": "my son Jack uses ice", "near": "12 Smith St Parramatta", "goal": "moderation"})
    assert logged == {"q": "(given)", "near": "(an address)", "goal": "moderation"}
    assert loggable_query({"near": "-33.867891,151.207123"})["near"] == "-33.87,151.21"
    assert loggable_query({"near": "2150"})["near"] == "2150"
    assert loggable_query({"near": "Parramatta NSW"})["near"] == "Parramatta NSW"


def test_notes_stored_before_are_erased_from_the_file(tmp_path):
    """A referral store written when notes were kept: opening it removes them, leaving no copy
    in the file or its write-ahead log."""
    import json
    import sqlite3

    from service.referrals.store import SQLiteReferralStore

    path = tmp_path / "referrals.sqlite"
    old = sqlite3.connect(path)
    old.executescript(SQLiteReferralStore.SCHEMA)
    body = {"code": "ABCDEFGHJKMNPQR", "created_at": "2026-01-01T00:00:00+00:00",
            "expires_at": "2026-04-01T00:00:00+00:00", "goal": "moderation", "language": "en",
            "note": "Jane Citizen DOB 3/4/1990", "items": [{"id": "demo:g0001"}], "place": None}
    with old:
        old.execute("INSERT INTO referrals VALUES (?, ?, ?)", (body["code"], body["expires_at"], json.dumps(body)))
    old.close()
    assert b"Jane Citizen" in path.read_bytes()

    store = SQLiteReferralStore(path)
    kept = store.get("ABCDEFGHJKMNPQR")
    assert kept.goal == "moderation" and kept.listing_ids == ["demo:g0001"]
    for file in tmp_path.glob("referrals.sqlite*"):
        assert b"Jane Citizen" not in file.read_bytes(), file.name
