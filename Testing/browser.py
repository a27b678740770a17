"""Headless Chromium for the audit report: Debian's ``chromium`` driven by playwright (never a downloaded browser).

Used by the report test and by ``make screenshots``. Flags as the project runs every browser: headless, no
sandbox (root in CI), no GPU, no first-run, no background networking, component updates or sync, and an empty
profile.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from typing import Iterator, List

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class BrowserMissing(RuntimeError):
    pass


@contextlib.contextmanager
def chromiumPage(width: int = 1400, height: int = 1000) -> Iterator[object]:
    """A playwright page in Debian's chromium with an empty profile; every non-file request is aborted and
    recorded in ``page.externalRequests``."""
    if not os.path.exists(CHROMIUM):
        raise BrowserMissing(f"{CHROMIUM} is missing: run 'apt-get install chromium' (make test does it as root)")
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile,
                executable_path=CHROMIUM,
                headless=True,
                args=FLAGS,
                viewport={"width": width, "height": height},
            )
            try:
                page = context.new_page()
                external: List[str] = []
                problems: List[str] = []

                def route(request_route, request):
                    if request.url.startswith("file://"):
                        request_route.continue_()
                    else:
                        external.append(request.url)
                        request_route.abort()

                context.route("**/*", route)
                page.on("pageerror", lambda error: problems.append(str(error)))
                page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
                page.externalRequests = external
                page.problems = problems
                yield page
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
