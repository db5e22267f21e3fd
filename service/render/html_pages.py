"""Server-rendered pages for people (the search page, the embed guide): Jinja templates from
`service/templates`, autoescaped. The handout's page has its own renderer (`render.handout`)."""

from __future__ import annotations

from flask import render_template, render_template_string

# The page for an error on a page route: a person is reading, so a page, not JSON. Written
# here rather than as a template file so it renders even when the templates are the problem;
# Flask autoescapes template strings, so the message is text, never markup.
_ERROR_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="robots" content="noindex, nofollow">
  <title>{{ title }} — Linkage</title>
  <link rel="stylesheet" href="/static/style.css">
</head>
<body>
<main>
  <h1>{{ title }}</h1>
  <p>{{ message }}</p>
  <p><a href="/">Back to the search</a></p>
</main>
</body>
</html>
"""


def page_html(template: str, **context) -> str:
    """A page from its template and the values it shows (needs an app context)."""
    return render_template(template, **context)


def error_page_html(title: str, message: str) -> str:
    """A plain page saying what went wrong, in words (needs an app context)."""
    return render_template_string(_ERROR_PAGE, title=title, message=message)
