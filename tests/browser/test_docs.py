"""/docs: Swagger UI renders the OpenAPI document in a real browser, within the CSP."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_docs_render_every_operation_without_csp_violations(page, live_server):
    """Each documented operation appears, and the browser reports nothing blocked."""
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("response", lambda response: problems.append(f"{response.status} {response.url}")
            if response.status >= 400 else None)
    page.goto(f"{live_server}/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=15_000)
    shown = set(page.locator(".opblock-summary-path").all_inner_texts())
    document = page.request.get(f"{live_server}/v1/openapi.json").json()
    expected = {path for path, operations in document["paths"].items() for method in operations
                if method != "parameters"}
    assert {text.replace("\u200b", "") for text in shown} == expected
    assert problems == []
