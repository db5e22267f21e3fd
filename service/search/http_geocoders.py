"""Self-hosted HTTP geocoders (Nominatim, Pelias, Photon) behind the offline gazetteer's interface.

`make_http_geocoder("nominatim:https://geo.example.org/nominatim", cache_path)` returns a
`CachedGeocoder`: `geocode(query, exactly_one=True, **kw)` answers with geopy `Location`s
(or lists of them) like `OfflineGazetteer`, so `resolve_place` and the importer need not
know which geocoder they use. Around the geopy class it adds:

* a persistent SQLite cache, so an address is sent to the server once, ever (not found
  included); an import of 20,000 listings at one request a second takes hours the first
  time and seconds afterwards;
* geopy's `RateLimiter`, so a small self-hosted server is not flooded;
* `raw` normalised to the keys the rest of the service reads (name, state, country,
  postcode, timezone, approximate, precision) with the provider's own answer kept under
  "provider_raw";
* one exception, `HTTPGeocoderUnavailable` (a geopy `GeocoderUnavailable`), with a message
  a person can act on, for every way the server can fail.
"""

from __future__ import annotations

import inspect
import json
import sqlite3
import threading
import unicodedata
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

from geopy.exc import (
    GeocoderAuthenticationFailure,
    GeocoderInsufficientPrivileges,
    GeocoderParseError,
    GeocoderQueryError,
    GeocoderQuotaExceeded,
    GeocoderRateLimited,
    GeocoderServiceError,
    GeocoderTimedOut,
    GeocoderUnavailable,
)
from geopy.extra.rate_limiter import RateLimiter
from geopy.location import Location

from service.domain.geo import ALPHA3_TO_ALPHA2, au_state_code

__all__ = [
    "PROVIDERS",
    "CachedGeocoder",
    "HTTPGeocoderUnavailable",
    "make_http_geocoder",
    "normalise_result",
    "parse_geocoder_spec",
]

PROVIDERS = ("nominatim", "pelias", "photon")
_SPEC_HELP = "use offline, nominatim:URL, pelias:URL or photon:URL"
# Bump when the stored shape changes: older rows are then ignored, not misread.
_SCHEMA_VERSION = 1

# Precision levels, finest first. Only "house" (an address point, building or named venue)
# is exact; the importer and resolve_place treat everything coarser as approximate.
_NOMINATIM_WORDS = {
    "house": "house", "building": "house", "house_number": "house", "amenity": "house",
    "shop": "house", "office": "house", "tourism": "house", "leisure": "house",
    "healthcare": "house", "craft": "house", "emergency": "house", "historic": "house",
    "road": "street", "street": "street", "highway": "street",
    "postcode": "postcode",
    "city": "locality", "town": "locality", "village": "locality", "hamlet": "locality",
    "suburb": "locality", "neighbourhood": "locality", "quarter": "locality",
    "city_district": "locality", "borough": "locality", "locality": "locality",
    "isolated_dwelling": "locality", "municipality": "locality", "city_block": "locality",
    "county": "region", "state_district": "region", "state": "region", "region": "region",
    "province": "region",
    "country": "country", "continent": "country",
}
_PELIAS_LAYERS = {
    "venue": "house", "address": "house",
    "street": "street",
    "postalcode": "postcode",
    "neighbourhood": "locality", "microhood": "locality", "borough": "locality",
    "locality": "locality", "localadmin": "locality",
    "county": "region", "macrocounty": "region", "region": "region", "macroregion": "region",
    "dependency": "region",
    "country": "country", "empire": "country", "continent": "country",
}
_PHOTON_TYPES = {
    "house": "house",
    "street": "street",
    "locality": "locality", "district": "locality", "city": "locality",
    "county": "region", "state": "region",
    "country": "country",
}


class HTTPGeocoderUnavailable(GeocoderUnavailable):
    """The geocoding server could not answer; the message says which server, query and why.

    A subclass of geopy's `GeocoderUnavailable`, so code written for any geopy geocoder
    catches it; the importer reports the record as not geocoded and goes on.
    """

    def __init__(self, message: str, *, provider: str, url: str, query: str):
        super().__init__(message)
        self.provider = provider
        self.url = url
        self.query = query


class _DoNotRetry(Exception):
    """Carries an error that asking again cannot fix (a rejected query, refused access).

    It is deliberately not a `GeocoderServiceError`, the only kind `RateLimiter` retries.
    """

    def __init__(self, error: Exception):
        super().__init__(str(error))
        self.error = error


def parse_geocoder_spec(spec: str) -> tuple[str, str, str, str]:
    """Split "nominatim:https://host:8080/prefix" into (provider, scheme, domain, shown_url).

    `domain` is what geopy's classes take: host, port and path prefix without the scheme
    (geopy appends "/search", "/v1/search" or "/api" to it). `shown_url` is the URL
    without any user:password, for messages and logs. Raises ValueError naming the problem.
    """
    text = (spec or "").strip()
    kind, sep, url = text.partition(":")
    kind = kind.strip().lower()
    if kind == "offline" and not url:
        raise ValueError(
            "geocoder 'offline' is the built-in gazetteer, not an HTTP geocoder; "
            "make_geocoder builds it"
        )
    if kind not in PROVIDERS:
        raise ValueError(f"unknown geocoder {text!r}; {_SPEC_HELP}")
    url = url.strip()
    if not sep or not url:
        raise ValueError(
            f"geocoder {kind!r} needs the URL of its server, e.g. "
            f"{kind}:https://geocoder.example.org (got {text!r}); {_SPEC_HELP}"
        )
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a port that is not a number
    except ValueError as exc:
        raise ValueError(f"geocoder URL {url!r} is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"geocoder URL {url!r} must start with http:// or https:// and name a host, "
            f"e.g. {kind}:https://geocoder.example.org; {_SPEC_HELP}"
        )
    if parts.query or parts.fragment:
        raise ValueError(
            f"geocoder URL {url!r} must not have a ?query or #fragment; give the server's "
            "base URL (a path prefix is fine)"
        )
    path = parts.path.rstrip("/")
    domain = parts.netloc + path
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    shown = f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}{path}"
    return kind, parts.scheme, domain, shown


def make_http_geocoder(
    spec: str,
    cache_path: Path,
    *,
    min_delay_seconds: float = 1.0,
    timeout: float = 10,
    max_retries: int = 2,
    error_wait_seconds: float | None = None,
) -> "CachedGeocoder":
    """A cached, rate-limited geocoder for `nominatim:URL`, `pelias:URL` or `photon:URL`.

    `cache_path` is the SQLite file remembering every answer (created with its folder).
    `min_delay_seconds` is the least time between two requests to the server (1 s is the
    OpenStreetMap Nominatim policy; a private server may allow less), `timeout` the
    seconds one request may take. A failing request is tried `max_retries` more times,
    `error_wait_seconds` apart (default: the larger of min_delay_seconds and 2 s).
    Raises ValueError for a bad spec.
    """
    kind, scheme, domain, shown = parse_geocoder_spec(spec)
    if min_delay_seconds < 0 or timeout <= 0 or max_retries < 0:
        raise ValueError("min_delay_seconds and max_retries must be >= 0 and timeout > 0")
    # Imported here so that importing this module stays cheap for the offline geocoder.
    from geopy.geocoders import Nominatim, Pelias, Photon

    if kind == "nominatim":
        geocoder = Nominatim(domain=domain, scheme=scheme, user_agent="linkage", timeout=timeout)
    elif kind == "pelias":
        geocoder = Pelias(domain=domain, scheme=scheme, user_agent="linkage", timeout=timeout)
    else:
        geocoder = Photon(domain=domain, scheme=scheme, user_agent="linkage", timeout=timeout)
    if error_wait_seconds is None:
        error_wait_seconds = max(min_delay_seconds, 2.0)
    return CachedGeocoder(
        geocoder,
        kind,
        Path(cache_path),
        url=shown,
        timeout=timeout,
        min_delay_seconds=min_delay_seconds,
        max_retries=max_retries,
        # RateLimiter insists on waiting at least the normal delay after an error.
        error_wait_seconds=max(error_wait_seconds, min_delay_seconds),
    )


class CachedGeocoder:
    """A geopy geocoder behind a persistent cache and a rate limiter, answering normalised `raw`s.

    Counters for an import summary: `hits` (answered from the cache, "not found" included),
    `misses` (not in the cache, so the server was asked), `requests` (HTTP requests made,
    retries included) and `failures` (lookups that raised `HTTPGeocoderUnavailable`).
    Safe to share between threads; close() when done (or use it as a context manager).
    """

    # It can place a street address, so importers send it the whole address.
    street_level = True

    def __init__(
        self,
        geocoder,
        provider: str,
        cache_path: Path,
        *,
        url: str,
        timeout: float,
        min_delay_seconds: float,
        max_retries: int,
        error_wait_seconds: float,
    ):
        self.provider = provider
        self.url = url
        self.timeout = timeout
        self.hits = 0
        self.misses = 0
        self.requests = 0
        self.failures = 0
        self._geocoder = geocoder
        self._lock = threading.Lock()
        # The limiter wraps only the network call: cached answers never wait.
        self._limited = RateLimiter(
            self._fetch,
            min_delay_seconds=min_delay_seconds,
            max_retries=max_retries,
            error_wait_seconds=error_wait_seconds,
            swallow_exceptions=False,
        )
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        # One connection shared by threads (Flask serves requests on several), guarded by
        # self._lock; the busy timeout lets the web app and an import share the file.
        self._db = sqlite3.connect(str(cache_path), timeout=30, check_same_thread=False)
        with self._lock, self._db:
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS geocode_cache ("
                " provider TEXT NOT NULL,"
                " query TEXT NOT NULL,"  # normalised: see _cache_key
                " exactly_one INTEGER NOT NULL,"
                " options TEXT NOT NULL,"  # other geocode() arguments, as sorted JSON
                " schema INTEGER NOT NULL,"
                " results TEXT NOT NULL,"  # JSON list of {address, lat, lon, raw}; [] = not found
                " fetched_at TEXT NOT NULL,"
                " PRIMARY KEY (provider, query, exactly_one, options))"
            )

    def __repr__(self) -> str:
        return f"<CachedGeocoder {self.provider} {self.url}>"

    def __enter__(self) -> "CachedGeocoder":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the cache file."""
        with self._lock:
            self._db.close()

    def stats(self) -> dict[str, int]:
        """The counters as a dict, for an import summary or a log line."""
        return {"hits": self.hits, "misses": self.misses, "requests": self.requests,
                "failures": self.failures}

    def geocode(self, query: str, exactly_one: bool = True, timeout=None, **kwargs):
        """Locations for an address, best first (geopy's signature), from the cache when known.

        Returns a `Location` or None when `exactly_one`, else a list (empty when not found).
        Extra keyword arguments go to the geopy class and are part of the cache key.
        Raises `HTTPGeocoderUnavailable` when the server cannot answer; failures are not
        cached, so the next run asks again.
        """
        if not isinstance(query, str):
            raise TypeError(f"query must be a string, got {type(query).__name__}")
        exactly_one = bool(exactly_one)
        # A misspelt argument is a bug to see now, not a "could not geocode" per record later.
        inspect.signature(self._geocoder.geocode).bind(query, exactly_one=exactly_one, **kwargs)
        key_query, options = _cache_key(query, kwargs)
        if not key_query:
            return None if exactly_one else []
        stored = self._load(key_query, exactly_one, options)
        if stored is not None:
            with self._lock:
                self.hits += 1
        else:
            with self._lock:
                self.misses += 1
            stored = self._ask(query, exactly_one, timeout, kwargs)
            self._store(key_query, exactly_one, options, stored)
        locations = [Location(r["address"], (r["lat"], r["lon"]), r["raw"]) for r in stored]
        if exactly_one:
            return locations[0] if locations else None
        return locations

    def _ask(self, query: str, exactly_one: bool, timeout, kwargs) -> list[dict]:
        """The server's answer as storable dicts; raises HTTPGeocoderUnavailable."""
        try:
            found = self._limited(query, exactly_one, timeout, kwargs)
        except (GeocoderServiceError, _DoNotRetry) as exc:
            error = exc.error if isinstance(exc, _DoNotRetry) else exc
            with self._lock:
                self.failures += 1
            raise HTTPGeocoderUnavailable(
                f"{self.provider} geocoder at {self.url} could not geocode {query[:120]!r}: "
                f"{_explain(error, self.timeout)}",
                provider=self.provider, url=self.url, query=query,
            ) from error
        if found is None:
            found = []
        elif not isinstance(found, list):
            found = [found]
        results = []
        for location in found:
            if location.latitude is None or location.longitude is None:
                continue  # a place without coordinates is no use to a distance search
            raw = normalise_result(self.provider, location.raw)
            results.append({"address": location.address or raw.get("name") or query,
                            "lat": location.latitude, "lon": location.longitude, "raw": raw})
        return results[:1] if exactly_one else results

    def _fetch(self, query: str, exactly_one: bool, timeout, kwargs):
        """One HTTP request (RateLimiter calls this once per attempt)."""
        with self._lock:
            self.requests += 1
        options = dict(kwargs)
        if timeout is not None:
            options["timeout"] = timeout
        if self.provider == "nominatim":
            # Without address details Nominatim gives no state, postcode or country code.
            options["addressdetails"] = True
        try:
            return self._geocoder.geocode(query, exactly_one=exactly_one, **options)
        except (GeocoderQueryError, GeocoderAuthenticationFailure,
                GeocoderInsufficientPrivileges, GeocoderParseError) as exc:
            raise _DoNotRetry(exc) from exc
        except GeocoderQuotaExceeded as exc:
            if isinstance(exc, GeocoderRateLimited):
                raise  # slowing down and asking again can work
            raise _DoNotRetry(exc) from exc
        except GeocoderServiceError:
            raise  # unreachable, timed out, 5xx: worth another try
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            # geopy's parsers assume the provider's JSON shape; anything else (a proxy's
            # error page as JSON, another API at that URL) surfaces here. Arguments were
            # checked against the signature in geocode(), so these come from the answer.
            raise _DoNotRetry(GeocoderParseError(
                f"the answer is not {self.provider} JSON ({type(exc).__name__}: {exc})"
            )) from exc

    def _load(self, query: str, exactly_one: bool, options: str) -> list[dict] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT results FROM geocode_cache WHERE provider = ? AND query = ?"
                " AND exactly_one = ? AND options = ? AND schema = ?",
                (self.provider, query, int(exactly_one), options, _SCHEMA_VERSION),
            ).fetchone()
        return None if row is None else json.loads(row[0])

    def _store(self, query: str, exactly_one: bool, options: str, results: list[dict]) -> None:
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO geocode_cache"
                " (provider, query, exactly_one, options, schema, results, fetched_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (self.provider, query, int(exactly_one), options, _SCHEMA_VERSION,
                 json.dumps(results, ensure_ascii=False, sort_keys=True), now),
            )


def _cache_key(query: str, kwargs: dict) -> tuple[str, str]:
    """(normalised query, options JSON): case, width and spacing differences ask once.

    Punctuation is kept: "1/12 Smith St" (unit 1 at number 12) is not "1 12 Smith St".
    """
    text = unicodedata.normalize("NFKC", query).casefold()
    text = " ".join(text.replace(",", ", ").split()).replace(" ,", ",").strip(" ,")
    options = json.dumps(kwargs, sort_keys=True, default=str) if kwargs else ""
    return text, options


def _explain(error: Exception, timeout: float) -> str:
    """Why the server failed, in words, with geopy's detail trimmed."""
    detail = " ".join(str(error).split())
    if len(detail) > 200:
        # Connection errors nest their cause: the end ("Connection refused") is what matters.
        detail = "..." + detail[-160:]
    if isinstance(error, GeocoderTimedOut):
        why = f"no answer within {timeout:g} s (or the server said it is overloaded)"
    elif isinstance(error, GeocoderRateLimited):
        why = "the server is limiting our request rate (HTTP 429); raise min_delay_seconds"
    elif isinstance(error, GeocoderUnavailable):
        why = "the server could not be reached (is it running, and is the URL right?)"
    elif isinstance(error, GeocoderQueryError):
        why = "the server rejected the query"
    elif isinstance(error, (GeocoderAuthenticationFailure, GeocoderInsufficientPrivileges)):
        why = "the server refused access"
    elif isinstance(error, GeocoderQuotaExceeded):
        why = "the server's quota is used up"
    elif isinstance(error, GeocoderParseError):
        why = "the answer could not be read"
    else:
        why = "the server answered with an error"
    return f"{why} [{type(error).__name__}: {detail}]" if detail else why


def normalise_result(provider: str, provider_raw: dict) -> dict:
    """The `raw` the service reads, from one Nominatim place, Pelias feature or Photon feature.

    Keys: name (the suburb or town, as the offline gazetteer's name), state (AU: NSW, VIC..;
    elsewhere the provider's name), country (ISO alpha-2), postcode, timezone (None: the
    service derives it from the state), precision (house, street, postcode, locality, region
    or country), approximate (False only for house-level results) and provider_raw.
    """
    provider_raw = provider_raw if isinstance(provider_raw, dict) else {}
    if provider == "nominatim":
        fields = _nominatim_fields(provider_raw)
    elif provider == "pelias":
        fields = _pelias_fields(provider_raw)
    elif provider == "photon":
        fields = _photon_fields(provider_raw)
    else:
        raise ValueError(f"unknown geocoder {provider!r}; {_SPEC_HELP}")
    name, state, country, postcode, precision = fields
    country = (country or "").strip().upper() or None
    return {
        "name": _text(name),
        "state": _state(state, country),
        "country": country,
        "postcode": _text(postcode),
        "timezone": None,
        "precision": precision,
        "approximate": precision != "house",
        "provider_raw": provider_raw,
    }


def _text(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _state(state, country: str | None) -> str | None:
    """AU states as the codes the rest of the service uses ("New South Wales" -> "NSW")."""
    text = _text(state)
    if text is None or country != "AU":
        return text
    return au_state_code(text) or text


def _nominatim_fields(place: dict):
    address = place.get("address") if isinstance(place.get("address"), dict) else {}
    precision = _nominatim_precision(place)
    # A place result names itself; anything finer is named after the suburb or town it is in.
    own_name = place.get("name") or address.get(place.get("addresstype") or "")
    if precision in ("locality", "region", "country") and own_name:
        name = own_name
    else:
        name = next((address[k] for k in ("suburb", "town", "village", "hamlet", "city",
                                          "municipality", "neighbourhood") if address.get(k)),
                    own_name)
    state = address.get("state")
    # "ISO3166-2-lvl4": "AU-NSW" is the most reliable state code where the server has it.
    subdivision = address.get("ISO3166-2-lvl4") or ""
    if subdivision.upper().startswith("AU-"):
        state = subdivision[3:]
    return name, state, address.get("country_code"), address.get("postcode"), precision


def _nominatim_precision(place: dict) -> str:
    osm_class = place.get("class") or place.get("category") or ""
    osm_type = place.get("type") or ""
    if osm_type == "postcode" or place.get("addresstype") == "postcode":
        return "postcode"
    for word in (place.get("addresstype"), osm_type):
        if word in _NOMINATIM_WORDS:
            return _NOMINATIM_WORDS[word]
    if osm_class == "highway":
        return "street"
    if osm_class and osm_class not in ("place", "boundary", "landuse", "natural", "waterway"):
        return "house"  # a named venue (amenity=clinic, healthcare=...) is a point
    rank = place.get("place_rank")
    if isinstance(rank, (int, float)) or (isinstance(rank, str) and rank.isdigit()):
        rank = int(rank)
        # Nominatim's address ranks: 30 venues, 28 house numbers, 26-27 streets, 13-25
        # towns and suburbs, 5-12 states and counties, 4 countries.
        if rank >= 28:
            return "house"
        if rank >= 26:
            return "street"
        if rank >= 13:
            return "locality"
        return "region" if rank >= 5 else "country"
    return "locality"  # unknown: say approximate rather than claim an exact point


def _pelias_fields(feature: dict):
    props = feature.get("properties") if isinstance(feature.get("properties"), dict) else {}
    layer = props.get("layer") or ""
    precision = _PELIAS_LAYERS.get(layer, "locality")
    if precision in ("locality", "region", "country"):
        name = props.get("name")
    else:
        name = next((props[k] for k in ("locality", "localadmin", "borough", "neighbourhood")
                     if props.get(k)), props.get("name"))
    country = props.get("country_code")
    if not country and props.get("country_a"):
        country = ALPHA3_TO_ALPHA2.get(str(props["country_a"]).upper())
    state = props.get("region")
    if str(country or "").upper() == "AU" and props.get("region_a"):
        state = props["region_a"]
    return name, state, country, props.get("postalcode"), precision


def _photon_fields(feature: dict):
    props = feature.get("properties") if isinstance(feature.get("properties"), dict) else {}
    precision = _photon_precision(props)
    if precision in ("locality", "region", "country"):
        name = props.get("name")
    else:
        # Photon calls an OSM suburb a "district"; an Australian address is named by it.
        name = next((props[k] for k in ("district", "city", "locality") if props.get(k)),
                    props.get("name"))
    return name, props.get("state"), props.get("countrycode"), props.get("postcode"), precision


def _photon_precision(props: dict) -> str:
    if props.get("type") in _PHOTON_TYPES:
        return _PHOTON_TYPES[props["type"]]
    # Older Photon servers have no "type": fall back to the OSM tag.
    key, value = props.get("osm_key") or "", props.get("osm_value") or ""
    if props.get("housenumber"):
        return "house"
    if key == "highway":
        return "street"
    if key == "place":
        return _NOMINATIM_WORDS.get(value, "locality")
    if key == "boundary":
        return "region" if value == "administrative" and not props.get("city") else "locality"
    return "house" if key else "locality"
