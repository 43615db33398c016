"""axe-core on every page of the three roles and the public pages: no serious or critical
violation, in German and (for a sample) in English."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import DESKTOP, LiveServer, axe_violations
from tests.browser.site import build_site, login_page, site_pages


def test_no_serious_or_critical_axe_violation_on_any_page(
    live_server: LiveServer, browser: Any, municipality: dict[str, Any], shot: Any
) -> None:
    site = build_site(municipality)
    pages = site_pages(live_server.app, site)
    checked, problems, errors = 0, [], []
    for role, paths in sorted(pages.items()):
        page = login_page(browser, live_server.url, site, role, viewport=DESKTOP)
        try:
            for path in paths:
                response = page.goto(live_server.url + path)
                if response is None or response.status >= 500:
                    errors.append(f"{role} {path}: {response.status if response else '-'}")
                    continue
                problems += [f"[{role}] {v}" for v in axe_violations(page)]
                checked += 1
            if paths:
                page.goto(live_server.url + paths[0] + "?lang=en")
                problems += [f"[{role}, en] {v}" for v in axe_violations(page)]
        finally:
            page.context.close()
    print(f"axe: {checked} pages checked; not covered: {site.skipped}")  # noqa: T201
    assert not errors, errors
    assert not problems, "\n".join(problems)
    assert len(pages["parent"]) >= 5 and len(pages["office"]) >= 5 and pages["facility"]
    assert checked >= 25
