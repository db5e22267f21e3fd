"""Server-rendered pages for people (the search page, the embed guide): Jinja templates from
`service/templates`, autoescaped. The handout's page has its own renderer (`render.handout`)."""

from __future__ import annotations

from flask import render_template


def page_html(template: str, **context) -> str:
    """A page from its template and the values it shows (needs an app context)."""
    return render_template(template, **context)
