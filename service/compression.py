"""Responses compressed for clients that accept it (Flask-Compress: br, then gzip).

Text is compressed (JSON, HTML, JavaScript, CSS, SVG, plain text, CSV, calendars); PDFs and
images are not: they are compressed already, and a second pass only costs CPU. Responses
under `MIN_SIZE` bytes go as they are (headers and framing would eat the saving).

Files served from disk (widget.js, style.css, handout.css, Swagger UI) and the widget's
catalogues are compressed once per worker and version and kept (`AssetCache`), at the
strongest setting, since that cost is paid once; everything else at Flask-Compress's
default levels, which cost a few milliseconds.

ETags stay valid: Flask-Compress gives a compressed body its own strong ETag (`"<etag>:br"`,
`"<etag>:gzip"`) and answers If-None-Match against it, so a cached copy in one encoding is
never taken for the other. Every compressible response says `Vary: Accept-Encoding`.

widget.js is kept readable in the repository and served minified (`rjsmin`: comments and
white space out, nothing renamed, so its messages stay word for word what pybabel extracts
from the source). It is minified once per worker and source version, and its ETag is a hash
of the minified bytes, so it changes whenever the source does.
"""

from __future__ import annotations

import gzip
import hashlib
import threading

import brotli
import rjsmin
from flask import Flask, Response, current_app, g, request
from flask_compress import Compress

COMPRESSED_TYPES = (
    "application/json", "application/schema+json", "application/fhir+json", "application/geo+json",
    "application/javascript", "text/javascript", "text/html", "text/css", "text/plain", "text/csv",
    "text/calendar", "image/svg+xml", "application/xml", "text/xml",
)
MIN_SIZE = 500
# br first: browsers offer both, and brotli is smaller for the same CPU at these levels.
ALGORITHMS = ("br", "gzip")
# Served from files or from a catalogue named by its ETag: the same bytes for the same ETag.
CACHED_ENDPOINTS = frozenset({"pages.widget", "pages.static", "pages.widget_catalogue",
                              "docs.docs_static", "static"})
# Brotli's strongest quality takes about 0.1 s on widget.js but seconds on Swagger UI's 1 MB
# bundle; above this size a quality that stays near a tenth of a second.
BEST_QUALITY_BYTES = 256 * 1024
# Swagger UI's files compress to about 1.5 MB in both encodings; room for them and ours.
CACHE_BYTES = 8 * 1024 * 1024


# The endpoints whose JavaScript file is served minified.
MINIFIED_ENDPOINTS = frozenset({"pages.widget"})
_minified: dict[tuple[str, str], tuple[bytes, str]] = {}
_minified_lock = threading.Lock()


def minify_js(source: bytes) -> bytes:
    """JavaScript without comments and spare white space (strings and names untouched)."""
    return rjsmin.jsmin(source.decode("utf-8")).encode("utf-8")


def minified(path: str, source_etag: str, source: bytes) -> tuple[bytes, str]:
    """The minified form of a file and its strong ETag (a hash of those bytes), made once
    per file version (`source_etag`)."""
    key = (path, source_etag)
    with _minified_lock:
        found = _minified.get(key)
    if found is None:
        body = minify_js(source)
        found = (body, "min-" + hashlib.sha256(body).hexdigest()[:32])
        with _minified_lock:
            # Only the newest version of each file is worth keeping.
            for old in [k for k in _minified if k[0] == path]:
                del _minified[old]
            _minified[key] = found
    return found


def minifying() -> bool:
    """Whether this request's file is served minified (LINKAGE_MINIFY_WIDGET false in the app's
    config serves the source as it is, for debugging and for the benchmark's "before")."""
    return request.endpoint in MINIFIED_ENDPOINTS and current_app.config.get("LINKAGE_MINIFY_WIDGET", True)


def hold_range() -> None:
    """Before a minified file's view: its Range and If-Range put aside, so that the view
    reads the whole source (`serve_minified` applies them to the minified bytes)."""
    if minifying():
        for name in ("HTTP_RANGE", "HTTP_IF_RANGE"):
            if name in request.environ:
                g.setdefault("linkage_held_range", {})[name] = request.environ.pop(name)


def serve_minified(response: Response) -> Response:
    """A 200 file response for a JavaScript file replaced by its minified form, with its own
    ETag; answered 304 when the client holds that ETag, 206 for a Range of the minified bytes."""
    request.environ.update(g.pop("linkage_held_range", {}))
    etag, _weak = response.get_etag()
    if response.status_code != 200 or not etag:
        return response
    response.direct_passthrough = False
    body, new_etag = minified(request.path, etag, response.get_data())
    response.set_data(body)
    response.set_etag(new_etag)
    response.headers.pop("Last-Modified", None)  # the ETag alone says which version this is
    return response.make_conditional(request, accept_ranges=True, complete_length=len(body))


def compress_best(data: bytes, algorithm: str) -> bytes:
    """`data` compressed once for keeps: gzip level 9, brotli quality 11 (9 for large bodies)."""
    if algorithm == "gzip":
        return gzip.compress(data, 9, mtime=0)  # mtime 0: the same bytes in every worker
    if algorithm == "br":
        return brotli.compress(data, quality=11 if len(data) <= BEST_QUALITY_BYTES else 9)
    raise ValueError(f"no cached compression for {algorithm!r}")


class AssetCache:
    """Flask-Compress's cache backend, holding compressed files and catalogues only.

    Keys are `<algorithm>;<path>|<etag>` (see `asset_key`); a key without a path (any other
    response) is never stored, so searches are compressed afresh. On a miss the cache
    compresses the body being sent itself, at the strongest setting (`compress_best`),
    rather than let Flask-Compress use its per-request levels.
    """

    def __init__(self, limit: int = CACHE_BYTES) -> None:
        self.limit = limit
        self.data: dict[str, bytes] = {}
        self.size = 0
        self.lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        """The compressed bytes of a cacheable key (made now on a miss), else None."""
        algorithm, _, name = key.partition(";")
        if not name:
            return None
        with self.lock:
            found = self.data.get(key)
        if found is not None:
            return found
        body = g.get("linkage_uncompressed")
        if body is None or algorithm not in ("gzip", "br"):
            return None
        compressed = compress_best(body, algorithm)
        self._store(key, compressed)
        return compressed

    def set(self, key: str, value: bytes) -> None:
        """Keep `value` for a cacheable key while the cache has room (Flask-Compress calls
        this after every compression, hit or miss)."""
        if key.partition(";")[2]:
            self._store(key, value)

    def _store(self, key: str, value: bytes) -> None:
        with self.lock:
            if key in self.data:
                return
            # Full: compress per request rather than evict; the set of files is small and
            # fixed, so this only happens if something unexpected is being cached.
            if self.size + len(value) > self.limit:
                return
            self.data[key] = value
            self.size += len(value)


def asset_key(_request) -> str:
    """Flask-Compress's cache key: path and ETag for files and catalogues, "" otherwise."""
    return g.get("linkage_asset_key", "")


def accepted_encodings() -> str:
    """The request's Accept-Encoding reduced to the encodings served here that it accepts
    (quality above 0, named or through `*`), as `br;q=1, gzip;q=0.5`; "" for none."""
    offered = ((name, request.accept_encodings.quality(name)) for name in ALGORITHMS)
    return ", ".join(f"{name};q={quality:g}" for name, quality in offered if quality > 0)


def install_compression(app: Flask) -> Compress:
    """Compress responses for clients that accept it. Flask runs after-request functions in
    the reverse order of registration: installed last, this runs first, and the others
    (security headers, CORS, metrics) see the response as it will be sent."""
    app.config.update(
        COMPRESS_MIMETYPES=list(COMPRESSED_TYPES),
        COMPRESS_MIN_SIZE=MIN_SIZE,
        COMPRESS_ALGORITHM=list(ALGORITHMS),
        # Streamed responses (none of ours but files, read whole below) go as they are: not
        # buffered, and no chunked compression for a client to get wrong.
        COMPRESS_STREAMS=False,
        COMPRESS_LEVEL=6,
        COMPRESS_BR_LEVEL=5,
        COMPRESS_CACHE_BACKEND=AssetCache,
        COMPRESS_CACHE_KEY=asset_key,
        # Registered below, through `compress_response`, which leaves partial content alone.
        COMPRESS_REGISTER=False,
    )
    compress = Compress(app)

    app.before_request(hold_range)

    def compress_response(response: Response) -> Response:
        if minifying():
            response = serve_minified(response)
        # A range of the identity bytes (206) must not be compressed: Content-Range counts
        # identity bytes.
        if response.status_code == 206 or "Content-Range" in response.headers:
            return response
        # Flask-Compress (1.25) takes `gzip;q=0` as an offer of gzip at quality 0, where it
        # means "not gzip" (RFC 9110 12.5.3). Werkzeug reads qualities right: what it finds
        # acceptable, with its quality, is all Flask-Compress is shown.
        request.environ["HTTP_ACCEPT_ENCODING"] = accepted_encodings()
        g.pop("linkage_asset_key", None)
        g.pop("linkage_uncompressed", None)
        etag, weak = response.get_etag()
        if (request.endpoint in CACHED_ENDPOINTS and etag and not weak and response.status_code == 200
                and response.mimetype in COMPRESSED_TYPES):
            # A file is sent as a stream; read it whole (these are small) so that it is
            # compressed, and answered 304, like any other body.
            response.direct_passthrough = False
            g.linkage_uncompressed = response.get_data()
            g.linkage_asset_key = f"{request.path}|{etag}"
        had_date = "Date" in response.headers
        response = compress.after_request(response)
        # Its If-None-Match check (werkzeug's make_conditional) adds a Date header; the server
        # (gunicorn, werkzeug) writes its own, and two Date headers are one too many.
        if not had_date:
            response.headers.pop("Date", None)
        return response

    app.after_request(compress_response)
    app.extensions["compress"] = compress  # the cache, for tests and the benchmark
    return compress
