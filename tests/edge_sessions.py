"""Sessions the demo data lacks, at the edges of exact times, for every store's tests.

A 24-hour session begun late on a Saturday runs on into Monday, local time, after Sydney's
clocks go forward under it (4 October 2026): it is open at 00:10 on Monday, two local dates
after it began. A 20-minute session begun 30 seconds ago ranks as ending soon, after one
starting within the hour, in soonest order. Monthly sessions are found only on their
rule's days: the first Sunday of October 2026 is the day Sydney's clocks go forward, so a
session then at 02:30 starts at 03:30 AEDT; 24 October is a Saturday but not the last of
the month (31 October is), and 30 October is the fifth Friday, so the fourth Friday's
session is four weeks off; from 1 November the next first Sunday is five weeks off, yet
still before a service with no set hours. Each case is (moment, search arguments).
"""

from dataclasses import replace

from service.domain.models import Session

CASES = [
    ("2026-10-04T13:10:00+00:00", {"open_now": "1"}),  # Monday 00:10 AEDT
    ("2026-10-04T13:10:00+00:00", {"starts_within": "10080", "sort": "soonest"}),
    ("2026-10-04T13:10:00+00:00", {"sort": "soonest", "per_page": "1"}),
    ("2026-10-14T08:00:30+00:00", {"sort": "soonest"}),  # Wednesday 19:00:30 AEDT
    ("2026-10-14T08:00:30+00:00", {"starts_within": "60", "sort": "soonest", "per_page": "1"}),
    ("2026-10-14T08:00:30+00:00", {"starts_within": "60", "sort": "soonest"}),
    ("2026-10-03T02:00:00+00:00", {"starts_within": "1440", "sort": "soonest"}),  # Saturday 12:00 AEST
    ("2026-10-03T16:40:30+00:00", {"open_now": "1"}),  # Sunday 03:40:30 AEDT
    ("2026-10-24T12:45:00+00:00", {"open_now": "1"}),  # Saturday 23:45 AEDT, the fourth
    ("2026-10-31T23:00:00+00:00", {"open_now": "1", "sort": "soonest"}),  # Sunday 10:00 AEDT
    ("2026-10-30T07:30:00+00:00", {"starts_within": "60"}),  # Friday 18:30 AEDT, the fifth
    ("2026-10-30T07:30:00+00:00", {"sort": "soonest"}),
    ("2026-11-26T12:00:00+00:00", {"sort": "soonest", "per_page": "2"}),  # Thursday 23:00 AEDT
    ("2026-11-01T01:00:00+00:00", {"sort": "soonest"}),  # Sunday 12:00 AEDT
]


def edge_listings(demo_listings) -> list:
    """Eight listings made from a demo listing in Sydney for everyone: only their sessions differ."""
    template = next(x for x in demo_listings if x.timezone == "Australia/Sydney" and not x.open_24_7
                    and x.status == "active" and "everyone" in x.audiences)

    def made(ident, *sessions):
        return replace(template, id=f"test:{ident}", sessions=tuple(Session(*s) for s in sessions))

    return [made("all-day", ("sat", "23:30", "23:30")), made("late", ("sun", "23:00", "01:00")),
            made("short", ("wed", "19:00", "19:20")), made("later", ("wed", "19:45", "20:45")),
            made("first-sunday", ("sun", "02:30", "03:45", "first")),
            made("last-saturday", ("sat", "23:30", "23:30", "last")),
            made("fourth-friday", ("fri", "19:00", "20:00", "fourth"), ("mon", "10:00", "11:00", "second")),
            made("by-arrangement")]


def check_cases(backend, listings, gazetteer) -> None:
    """Each case's total and page on `backend` (holding `listings`) are the reference's."""
    from werkzeug.datastructures import MultiDict

    from service.search.params import parse_search
    from tests import reference
    from tests.conftest import FIXED_NOW

    for at, args in CASES:
        query = parse_search(MultiDict({**args, "at": at}), gazetteer, FIXED_NOW)
        expected = reference.search_ids(listings, query)
        found = backend.search(query)
        page = expected[:query.per_page]
        assert (found.total, [hit.listing.id for hit in found.hits]) == (len(expected), page), (at, args)
