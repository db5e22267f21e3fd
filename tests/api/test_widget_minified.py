"""widget.js is served minified from its readable source, with an ETag of its own.

Oracles independent of the minifier: Node parses the served file; every message Babel's
JavaScript extractor (what `make translations` uses, on the source) finds is written in the
served file as in the source; the source's length and comments.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
import rjsmin
from babel.messages.extract import extract

from service.views import pages

SOURCE = Path(pages.__file__).resolve().parent.parent / "static" / "widget.js"
KEYWORDS = {"t": None, "tn": (1, 2), "N_": None}


def messages(javascript: bytes) -> set[str]:
    """The widget's messages as pybabel finds them (babel-widget.cfg's keywords), singular
    and plural forms alike."""
    found = set()
    for _line, message, _comments, _context in extract("javascript", io.BytesIO(javascript), keywords=KEYWORDS):
        found.update(message if isinstance(message, tuple) else (message,))
    return found


def test_the_served_widget_is_smaller_than_its_source_and_keeps_every_message(client):
    served = client.get("/widget.js")
    source = SOURCE.read_bytes()
    body = served.get_data()
    assert served.status_code == 200 and served.mimetype == "text/javascript"
    assert len(body) < 0.8 * len(source)
    assert body.decode("utf-8") == rjsmin.jsmin(source.decode("utf-8"))  # the minifier's own answer
    assert b"/**" in source and b"/**" not in body  # doc comments are gone
    # The source writes each message as a "..." literal; the same literal is served.
    literals = [f'"{message}"'.encode() for message in messages(source)]
    written = [literal for literal in literals if literal in source]
    assert len(written) > 100 and len(written) > 0.9 * len(literals)
    assert [literal for literal in written if literal not in body] == []


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node to parse JavaScript")
def test_the_served_widget_parses_as_javascript(client, tmp_path):
    path = tmp_path / "widget.js"
    path.write_bytes(client.get("/widget.js").get_data())
    checked = subprocess.run(["node", "--check", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def test_the_widget_etag_changes_with_its_source(client, tmp_path, monkeypatch):
    first = client.get("/widget.js")
    again = client.get("/widget.js", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    copy = tmp_path / "widget.js"
    copy.write_bytes(SOURCE.read_bytes().replace(b"const CSS = `", b"const CSS = `\n/* a change */"))
    monkeypatch.setattr(pages.blueprint, "static_folder", str(tmp_path))
    changed = client.get("/widget.js", headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != first.headers["ETag"]
    assert b"/* a change */" in changed.get_data()  # inside the CSS text: a string, kept as it is


@pytest.mark.parametrize("accept", [None, "gzip", "gzip, deflate, br, zstd"])
def test_the_widget_is_cached_by_cache_control_and_etag_alone(client, accept):
    headers = {"Accept-Encoding": accept} if accept else {}
    served = client.get("/widget.js", headers=headers)
    assert served.status_code == 200
    # Five minutes, then revalidated with the ETag.
    assert served.headers["Cache-Control"] == "public, max-age=300"
    assert served.headers["ETag"].startswith('"') and served.headers["ETag"].endswith('"')
    # Expires repeats max-age for HTTP/1.0 caches only; a script needs no file name.
    assert "Expires" not in served.headers and "Content-Disposition" not in served.headers
    again = client.get("/widget.js", headers={**headers, "If-None-Match": served.headers["ETag"]})
    assert again.status_code == 304
    assert again.headers["ETag"] == served.headers["ETag"]
    assert again.headers["Cache-Control"] == "public, max-age=300"
