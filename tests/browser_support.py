"""Plumbing for the browser tests: the demo database, the app served by Uvicorn in a thread,
Debian's Chromium driven by Playwright, and a watch over every page for console errors,
page errors, failed requests and requests leaving the machine (the app must work offline).

Never downloads a browser: the tests run Debian's /usr/bin/chromium (or COOPTRACK_CHROMIUM).
Without it, or without the playwright package, the tests skip with the reason; in CI
(CI=true) they fail instead, as the PostgreSQL tests do."""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest

from cooptrack.services.context import Context
from cooptrack.services.datasets import demo_path, load_dataset, read_dataset
from cooptrack.store import Store
from cooptrack.store.migrate import upgrade

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Route

REPO = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() == "true"
HOST = "127.0.0.1"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def screenshot_dir() -> Path:
    folder = Path(os.environ.get("COOPTRACK_SCREENSHOTS") or REPO / "test-artifacts" / "screenshots").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def chromium_path() -> str | None:
    """Debian's Chromium: COOPTRACK_CHROMIUM if set, else /usr/bin/chromium, else `chromium` on PATH."""
    wanted = os.environ.get("COOPTRACK_CHROMIUM")
    if wanted:
        return wanted if Path(wanted).is_file() else None
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def require_browser() -> str:
    """The Chromium executable, after checking playwright imports; skips (or, in CI, fails) with
    the reason when either is missing."""
    missing = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        missing.append(f"the playwright package is not importable ({exc}); pip install -e '.[dev]'")
    executable = chromium_path()
    if executable is None:
        where = os.environ.get("COOPTRACK_CHROMIUM") or "/usr/bin/chromium"
        missing.append(f"Chromium is not installed at {where} (apt-get install chromium; never `playwright install`)")
    if missing:
        reason = "; ".join(missing)
        if IN_CI:
            pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
        pytest.skip(f"browser tests skipped: {reason}")
    assert executable is not None
    return executable


def demo_store(folder: Path) -> Store:
    """A SQLite database with the Fresh Wind demo, loaded as `cooptrack demo` does."""
    store = Store(f"sqlite:///{folder / 'demo.db'}")
    upgrade(store)
    with store.write() as session:
        load_dataset(Context(session, "tester"), read_dataset(demo_path()), "fresh_wind.yaml",
                     base=demo_path().parent)
    return store


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run the app with Uvicorn in a background thread on a free loopback port; yield its base
    URL once it answers; stop it at the end."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, host=HOST, port=port, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
    thread.start()
    base = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if not thread.is_alive():
                raise RuntimeError("the Uvicorn server thread died while starting")
            if server.started:
                try:
                    if httpx.get(f"{base}/api/v1/programmes", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the app at {base} did not answer within 30 s")
            time.sleep(0.05)
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@dataclass
class Watch:
    """What went wrong on one page: console errors, uncaught page errors, failed requests,
    and requests to any host but the app's (blocked: the app must work offline)."""

    base: str
    problems: list[str] = field(default_factory=list)
    reported: int = 0
    allowed_status: set[str] = field(default_factory=set)
    downloads: set[str] = field(default_factory=set)

    def attach(self, page: Page) -> None:
        page.context.route("**/*", self._route)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("requestfailed", self._failed)
        page.on("download", lambda download: self.downloads.add(download.url))

    def allow_error_status(self, url: str) -> None:
        """The page at `url` is expected to answer with an error status (the 404 test): Chromium's
        console line about that one resource is not a problem."""
        self.allowed_status.add(url)

    def _route(self, route: Route) -> None:
        url = route.request.url
        if urlsplit(url).hostname == HOST:
            route.continue_()
        else:
            self.problems.append(f"request to another host (blocked; the app must work offline): "
                                 f"{route.request.method} {url}")
            route.abort("blockedbyclient")

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        where = message.location.get("url", "") if message.location else ""
        if where in self.allowed_status and "Failed to load resource" in message.text:
            return
        self.problems.append(f"console error: {message.text} (at {where})")

    def _failed(self, request: Request) -> None:
        if urlsplit(request.url).hostname != HOST:
            return  # already counted when blocked
        failure = request.failure or "unknown"
        if request.url in self.downloads and "ERR_ABORTED" in failure:
            return  # Chromium ends a navigation that turned into a download this way
        self.problems.append(f"request failed: {request.method} {request.url}: {failure}")

    def assert_clean(self) -> None:
        new = self.problems[self.reported:]
        self.reported = len(self.problems)
        assert not new, "the browser reported problems:\n" + "\n".join(new)


def new_page(browser: Browser, base: str, locale: str = "en-US") -> tuple[Page, Watch]:
    context = browser.new_context(locale=locale, accept_downloads=True, viewport={"width": 1280, "height": 900},
                                  base_url=base)
    context.set_default_timeout(15_000)
    page = context.new_page()
    watch = Watch(base)
    watch.attach(page)
    return page, watch


def data_value(page: Page, testid: str) -> str:
    locator = page.locator(f"[data-testid={testid}]")
    assert locator.count() == 1, f"expected one [data-testid={testid}] on {page.url}, found {locator.count()}"
    value = locator.get_attribute("data-value")
    assert value is not None, f"[data-testid={testid}] on {page.url} has no data-value attribute"
    return value


def spaces(text: str) -> str:
    """Every kind of space (no-break, narrow no-break, thin) as a plain one, runs collapsed."""
    return re.sub(r"\s+", " ", text)


def number_renderings(value: Decimal, locale: str) -> set[str]:
    """The ways a page may show `value` in `locale` through Babel: grouped in full, or compact
    (short or long), with up to two decimals."""
    from babel.numbers import format_compact_decimal, format_decimal

    forms = {format_decimal(value, locale=locale)}
    for digits in range(3):
        for kind in ("short", "long"):
            forms.add(format_compact_decimal(value, format_type=kind, locale=locale, fraction_digits=digits))
    return {spaces(f) for f in forms}
