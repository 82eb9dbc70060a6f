"""Browser tests: Playwright's sync API driving the system Chromium against pytest-django's
live server. No browser is ever downloaded; without Chromium these tests skip (and fail under CI).

``chromium`` on PATH is used, or the executable named by MINSHENG_CHROMIUM. Screenshots go to
test-artifacts/screenshots/ (git-ignored); for them to show Chinese rather than empty boxes the
machine needs a CJK font (Debian: fonts-wqy-microhei or fonts-noto-cjk).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

# Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from a thread
# with a running loop unless told that this is deliberate. Set only while a browser is up: a
# global setting would leak into subprocesses (``check --deploy`` warns about it).
ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}
SMALL_PHONE = {"width": 360, "height": 740}

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    return os.environ.get("MINSHENG_CHROMIUM") or shutil.which("chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    if executable is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but no chromium executable on PATH (apt-get install chromium)")
        pytest.skip(
            "no chromium executable on PATH; install Debian's chromium to run browser tests"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is in the test extra
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    previous = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    try:
        with sync_playwright() as playwright:
            instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            try:
                yield instance
            finally:
                instance.close()
    finally:
        if previous is None:
            os.environ.pop(ASYNC_UNSAFE, None)
        else:
            os.environ[ASYNC_UNSAFE] = previous


@dataclass
class ConsoleLog:
    """Console errors, uncaught page errors and CSP violations seen by one page."""

    problems: list[str] = field(default_factory=list)

    def on_console(self, message: Any) -> None:
        text = message.text
        if message.type == "error" or "Content Security Policy" in text:
            self.problems.append(f"console.{message.type}: {text}")

    def on_page_error(self, error: Any) -> None:
        self.problems.append(f"page error: {error}")

    def csp_violations(self) -> list[str]:
        return [p for p in self.problems if "Content Security Policy" in p]

    def assert_clean(self) -> None:
        assert self.problems == [], "\n".join(self.problems)


@dataclass
class Tab:
    """A page in a fresh browser context of a chosen size, with its console log."""

    page: Any
    console: ConsoleLog
    base_url: str

    def goto(self, path: str) -> Any:
        response = self.page.goto(self.base_url + path)
        assert response is not None, path
        return response

    def sign_in_as(self, user: Any) -> None:
        """Give this browser a signed-in session for ``user`` without the sign-in form (for
        journeys about what comes after; the form itself has its own journeys)."""
        from django.conf import settings
        from django.test import Client

        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        self.page.context.add_cookies(
            [{"name": cookie.key, "value": cookie.value, "url": self.base_url}]
        )


@pytest.fixture
def open_tab(browser: Any, live_server: Any) -> Iterator[Any]:
    """``open_tab(viewport)`` → a Tab; every context it opened is closed after the test."""
    contexts: list[Any] = []

    def open_(viewport: dict[str, int] = PHONE, **options: Any) -> Tab:
        # A citizen's phone asks for Chinese; the English journey uses the language switch.
        options.setdefault("locale", "zh-CN")
        context = browser.new_context(viewport=viewport, **options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        console = ConsoleLog()
        page.on("console", console.on_console)
        page.on("pageerror", console.on_page_error)
        return Tab(page=page, console=console, base_url=live_server.url)

    yield open_
    for context in contexts:
        context.close()


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page PNG as test-artifacts/screenshots/<name>-<width>x<height>.png."""
    size = page.viewport_size or {"width": 0, "height": 0}
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")
    path = SCREENSHOTS / f"{safe}-{size['width']}x{size['height']}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path
