"""The benchmark's query mix: searches weighted the way people search.

Places are capital-city postcodes weighted by population (Sydney and Melbourne most,
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


def _weighted(rng: random.Random, pairs):
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def build_mix(size: int = SIZE, seed: int = SEED) -> list[str]:
    """`size` search URLs (path and query string), drawn with the weights above.

    Repeats are kept: a popular search appearing twice is what makes the mix weighted.
    """
    rng = random.Random(seed)
    urls = []
    for _ in range(size):
        params = [("near", _weighted(rng, PLACES))]
        params += list(_weighted(rng, FILTERS))
        if rng.random() < TEXT_SHARE:
            params.append(("q", "smart"))
        sort = _weighted(rng, SORTS)
        if sort != "best":  # best is the default; clients usually leave it out
            params.append(("sort", sort))
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
