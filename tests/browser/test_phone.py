"""No page scrolls sideways on a 360 px wide phone (document.documentElement.scrollWidth),
and axe-core finds no serious or critical violation at that width either."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import PHONE, LiveServer, axe_violations
from tests.browser.site import build_site, login_page, site_pages


def test_no_page_scrolls_sideways_at_360_px(
    live_server: LiveServer, browser: Any, municipality: dict[str, Any], shot: Any
) -> None:
    site = build_site(municipality)
    pages = site_pages(live_server.app, site)
    wide, problems, checked = [], [], 0
    for role, paths in sorted(pages.items()):
        page = login_page(
            browser, live_server.url, site, role, viewport=PHONE, is_mobile=True, has_touch=True
        )
        try:
            for path in paths:
                page.goto(live_server.url + path)
                width = page.evaluate("document.documentElement.scrollWidth")
                checked += 1
                if width > PHONE["width"]:
                    name = f"{role}{path}".replace("/", "_")
                    shot(page, name)
                    wide.append(f"{role} {path}: scrollWidth {width}")
                problems += [f"[{role}, 360 px] {v}" for v in axe_violations(page)]
        finally:
            page.context.close()
    print(f"phone: {checked} pages checked at 360 px; not covered: {site.skipped}")  # noqa: T201
    assert not wide, "\n".join(wide)
    assert not problems, "\n".join(problems)
    assert checked >= 25
