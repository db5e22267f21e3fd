"""A server whose PDF renderer cannot load (Pango not installed) still starts, searches and
hands over handouts: PDFs alone are refused, with a 503 that says what still works; the
reason is logged when the server warms up and shown by /readyz.

The server's warm-up renders a PDF before workers fork, so a missing library used to stop
the whole server at start. The missing library is simulated where WeasyPrint is imported,
with the error cffi raises for a library that is not installed; the rest is the real app."""

from __future__ import annotations

import logging

import pytest

from service import warm_up
from service.render import handout
from tests.api.test_handout_cache import server

# cffi's words for a shared library the system does not have (WeasyPrint loads Pango with it).
MISSING = ("cannot load library 'libpango-1.0-0': libpango-1.0-0: cannot open shared object file: "
           "No such file or directory")


@pytest.fixture()
def without_pango(monkeypatch):
    """This process as if Pango were not installed: importing WeasyPrint fails as it then
    does, and nothing is known or warmed yet."""
    def missing_library():
        raise OSError(MISSING)

    monkeypatch.setattr(handout, "_load_weasyprint", missing_library)
    monkeypatch.setattr(handout, "_unavailable", [])
    monkeypatch.setattr(handout, "_warmed", [])


class KeptRecords(logging.Handler):
    """The records a logger passes on, kept (the app's own log handlers vary with how the
    process configured logging)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_a_server_without_pango_serves_all_but_pdfs(without_pango, sqlite_backend, gazetteer, tmp_path):
    client = server(sqlite_backend, gazetteer, tmp_path)
    app = client.application
    kept = KeptRecords()
    logging.getLogger("linkage").addHandler(kept)
    try:
        warm_up(app)  # what gunicorn's preloading master runs: it must not stop the server
    finally:
        logging.getLogger("linkage").removeHandler(kept)
    said = [(r.levelno, r.getMessage()) for r in kept.records]
    assert any(level == logging.ERROR and "handout PDFs unavailable" in message and "libpango-1.0-0" in message
               for level, message in said), said

    found = client.get("/v1/search?near=2000")
    assert found.status_code == 200 and found.get_json()["total"] > 0
    made = client.post("/v1/referrals", json={"listing_ids": [found.get_json()["items"][0]["id"]]})
    assert made.status_code == 201, made.get_json()
    code = made.get_json()["code"]
    for page in (f"/r/{code}", f"/r/{code}.txt", f"/r/{code}.ics"):
        assert client.get(page).status_code == 200, page

    # Twice: a refused render leaves nothing claimed in the render cache for the next one to wait on.
    for refused in (client.get(f"/r/{code}.pdf"), client.get(f"/r/{code}.pdf"),
                    client.post(f"/r/{code}.pdf", data={"note": "Bring a friend"})):
        assert refused.status_code == 503
        error = refused.get_json()["error"]
        assert error["code"] == "pdf_unavailable"
        assert "prints from the browser" in error["message"]
        # The library's own words are for the log, not the client.
        assert "libpango" not in error["message"]

    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.get_json()
    assert body["status"] == "degraded"
    assert any("handout PDFs cannot be made" in warning and "libpango-1.0-0" in warning
               for warning in body["warnings"]), body["warnings"]


def test_a_server_with_pango_reports_no_pdf_problem(sqlite_backend, gazetteer, tmp_path):
    """The same app with the libraries this machine has: PDFs are made and /readyz is clear."""
    client = server(sqlite_backend, gazetteer, tmp_path)
    made = client.post("/v1/referrals", json={"listing_ids": ["demo:g0001"]})
    pdf = client.get(f"/r/{made.get_json()['code']}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    assert handout.pdf_unavailable_reason() is None
    assert not any("PDF" in warning for warning in client.get("/readyz").get_json()["warnings"])
