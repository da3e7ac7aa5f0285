"""Browser fixtures for end-to-end tests: Django's live server driven by headless Debian chromium.

Registered for every test by tests/conftest.py (one Playwright instance per run); mark a test
that uses them ``@pytest.mark.e2e``:

    def test_something(demo_site, logged_in_page):
        page = logged_in_page("contributor")          # a Playwright Page, signed in, base_url set
        page.goto("/proposals/")

- ``chromium_browser`` (session): one headless /usr/bin/chromium for the whole run.
- ``page``: a fresh browser context (own cookies) on the live server; ``page.goto("/path")`` works.
- ``logged_in_page(username, password=DEMO_PASSWORD)``: signs in through the real sign-in form and
  returns the page; call it again with another name for a second user (a new context each time).
- ``demo_site``: the database as ``manage.py seed_demo`` leaves it (demo users, four markets).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.management import call_command
from playwright.sync_api import sync_playwright

from review.management.commands.seed_demo import DEMO_PASSWORD

# Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from a thread
# with a running loop unless told it is safe. It is here: the tests and the live server do not
# share connections across threads.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[Any]:
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def new_page(chromium_browser: Any, live_server: Any) -> Iterator[Callable[[], Any]]:
    contexts = []

    def make() -> Any:
        context = chromium_browser.new_context(base_url=live_server.url)
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[[], Any]) -> Any:
    return new_page()


@pytest.fixture
def logged_in_page(new_page: Callable[[], Any]) -> Callable[..., Any]:
    def login(username: str, password: str = DEMO_PASSWORD) -> Any:
        page = new_page()
        page.goto("/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        if "/accounts/login/" in page.url:
            raise AssertionError(f"could not sign in as {username}: {page.inner_text('main')}")
        return page

    return login


@pytest.fixture
def demo_site(transactional_db: None) -> None:
    call_command("seed_demo", stdout=open(os.devnull, "w"))
