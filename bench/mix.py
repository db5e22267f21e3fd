"""The benchmark's query mix: searches weighted the way people search.

Places are capital-city postcodes in quota by population (Sydney and Melbourne most,
Darwin least); most searches carry no filter or one common one (goal, format, kind);
most sort by best match, some by distance, some by soonest; a few add the text `smart`.
Every URL carries the same fixed `at`, so each answer is the same bytes every time:
results are reproducible and the bare endpoint can replay them exactly.
"""

from __future__ import annotations

import random
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit

SEED = 20260513
SIZE = 64

# A Wednesday at 18:30 in Sydney (AEST, no daylight saving): the evening peak, when
# "soonest" has the most meetings about to start.
AT = "2026-05-13T18:30:00+10:00"

# (near, weight): weights follow the capitals' populations in millions x 10.
PLACES = (
    ("2000", 56),  # Sydney
    ("3000", 54),  # Melbourne
    ("4000", 28),  # Brisbane
    ("6000", 24),  # Perth
    ("5000", 15),  # Adelaide
    ("2600", 4),   # Canberra
    ("7000", 3),   # Hobart
    ("0800", 2),   # Darwin
)
# (extra parameters, weight): most searches narrow by nothing or by one common filter.
FILTERS = (
    ((), 40),
    ((("goal", "abstinence"),), 12),
    ((("goal", "moderation"),), 8),
    ((("goal", "harm_reduction"),), 3),
    ((("format", "in_person"),), 10),
    ((("format", "online"),), 7),
    ((("kind", "group"),), 10),
    ((("kind", "service"),), 6),
    ((("goal", "moderation"), ("format", "in_person")), 4),
)
SORTS = (("best", 60), ("distance", 25), ("soonest", 15))
TEXT_SHARE = 0.08


def quota(pairs, size: int) -> list:
    """`size` items in proportion to their weights (largest remainder), each at least once.

    Quotas rather than random draws, so a small mix matches the weights exactly and no
    capital (Hobart, Darwin) drops out by chance.
    """
    total = sum(weight for _, weight in pairs)
    counts = [max(1, int(size * weight / total)) for _, weight in pairs]
    remainders = sorted(range(len(pairs)), key=lambda i: -(size * pairs[i][1] / total - counts[i]))
    for i in remainders[:max(0, size - sum(counts))]:
        counts[i] += 1
    while sum(counts) > size:  # the at-least-once floor overshot: trim the largest
        counts[counts.index(max(counts))] -= 1
    return [item for (item, _), count in zip(pairs, counts) for _ in range(count)]


def build_mix(size: int = SIZE, seed: int = SEED) -> list[str]:
    """`size` search URLs (path and query string) with places, filters and sorts in quota.

    Each dimension gets its share of the mix, then a seeded shuffle pairs them at random.
    Repeats are kept: a popular search appearing twice is what makes the mix weighted.
    """
    rng = random.Random(seed)
    places, filters, sorts = quota(PLACES, size), quota(FILTERS, size), quota(SORTS, size)
    for column in (places, filters, sorts):
        rng.shuffle(column)
    with_text = set(rng.sample(range(size), round(size * TEXT_SHARE)))
    urls = []
    for i in range(size):
        params = [("near", places[i]), *filters[i]]
        if i in with_text:
            params.append(("q", "smart"))
        if sorts[i] != "best":  # best is the default; clients usually leave it out
            params.append(("sort", sorts[i]))
        params.append(("at", AT))
        urls.append("/v1/search?" + urlencode(params))
    return urls


def url_args(url: str) -> dict[str, str]:
    """A mix URL's query string as the args mapping `parse_search` takes."""
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def url_class(url: str) -> str:
    """A short label for grouping timings: the sort, plus `+q` for text searches."""
    args = url_args(url)
    label = args.get("sort", "best")
    return label + ("+q" if "q" in args else "")


def at_datetime() -> datetime:
    """The mix's fixed search moment as an aware datetime (also the in-process clock)."""
    return datetime.fromisoformat(AT)
