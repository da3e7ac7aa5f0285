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
- ``demo_site``: the database as ``manage.py seed_demo`` leaves it (demo users, five markets).
- ``production_server``: the site as ``scripts/serve`` runs it (no DEBUG, collectstatic's hashed
  and gzipped files served by WhiteNoise) on a port of its own: its URL.
- ``screenshot(page, name)``: saves a full-page PNG under ``SCREENSHOTS`` (var/test-output/
  screenshots/, or $TEST_OUTPUT/screenshots/) and returns its path.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application
from playwright.sync_api import sync_playwright

from review.management.commands.seed_demo import DEMO_PASSWORD

# Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from a thread
# with a running loop unless told it is safe. It is here: the tests and the live server do not
# share connections across threads.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = Path(os.environ.get("TEST_OUTPUT", ROOT / "var" / "test-output")) / "screenshots"
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


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def production_server(transactional_db: None, settings: Any, tmp_path: Path) -> Iterator[str]:
    """The site with the production static files: collectstatic into a folder of the test's
    own, then a threaded WSGI server (the one runserver uses) on a free port, DEBUG off."""
    settings.DEBUG = False
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    server = ThreadedWSGIServer(("127.0.0.1", 0), _QuietHandler, allow_reuse_address=False)
    server.set_app(get_wsgi_application())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
