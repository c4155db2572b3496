"""Browser tests: Playwright drives Debian's Chromium against pytest-django's live server.

Every page a test visits is checked with axe-core against the WCAG 2.0, 2.1 and 2.2 rules of
levels A and AA; a page that is navigated to and never checked fails the test. Without a
Chromium executable the whole folder is skipped, and the reason is printed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation

CHROMIUM = os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SKIP_REASON = f"Chromium not found at {CHROMIUM}: browser tests skipped; install Debian's chromium"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
LANGUAGES = ("kk", "ru", "en")
LANGUAGE_LABELS = {"kk": "Қазақша", "ru": "Русский", "en": "English"}
# Each browser context asks for this language first, as a visitor's browser would.
BROWSER_LOCALE = {"kk": "kk-KZ", "ru": "ru-RU", "en": "en-US"}
PAGE_SIZE = 20
HERE = Path(__file__).resolve().parent


def chromium_available() -> bool:
    return os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if chromium_available():
        return
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(skip)


def translate(lang: str, message: str) -> str:
    """An interface string as the portal shows it in ``lang`` (from the compiled catalogs)."""
    with translation.override(lang):
        return translation.gettext(message)


@pytest.fixture
def tr() -> Any:
    """``tr(lang, message)``: the interface string ``message`` in ``lang``."""
    return translate


# --- the browser -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per test module.

    Playwright's synchronous API keeps an asyncio loop running in this thread for as long as
    it is started, and Django refuses ORM calls from a thread with a running loop. The tests
    only touch the database between browser steps, so the check is lifted for the module
    (and restored afterwards, so that other tests in the same worker keep it).
    """
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            try:
                yield chromium
            finally:
                chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class AccessibilityError(AssertionError):
    pass


def axe_script() -> str:
    """axe-core, as shipped with axe-playwright-python."""
    from axe_playwright_python.base import AXE_SCRIPT

    script: str = AXE_SCRIPT
    return script


def format_violations(url: str, violations: list[dict[str, Any]]) -> str:
    lines = [f"axe found {len(violations)} WCAG A/AA violation(s) on {url}:"]
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation.get('impact')}): {violation['help']}")
        lines.append(f"  {violation.get('helpUrl', '')}")
        for node in violation["nodes"]:
            lines.append(f"    at {node['target']}")
    return "\n".join(lines)


def staff_code(username: str, totp_secret: str) -> str:
    """A security code the account can sign in with now (each code is good once)."""
    from shanyraq.accounts.models import User
    from shanyraq.testing.factories import totp_now

    user = User.objects.get(username=username)
    assert user.totp_secret == totp_secret
    return totp_now(user)


class Site:
    """A browser tab on the live server that checks every page it lands on with axe."""

    def __init__(self, page: Any, base_url: str) -> None:
        self.page = page
        self.base_url = base_url.rstrip("/")
        self.unchecked: str | None = None
        self.missed: list[str] = []
        self.in_place: list[str] = []  # addresses htmx is putting in the history (``refine``)
        self.checked: list[str] = []
        page.on("framenavigated", self._navigated)

    def _navigated(self, frame: Any) -> None:
        if frame.url in self.in_place:  # htmx re-stating or pushing an address: no new page
            self.in_place.remove(frame.url)
            return
        if frame != self.page.main_frame or not frame.url.startswith(self.base_url):
            return
        if self.unchecked is not None:
            self.missed.append(self.unchecked)
        self.unchecked = frame.url

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def path(self) -> str:
        """The current address without the server part, e.g. ``/services/?q=x``."""
        return self.page.url.removeprefix(self.base_url)

    def check(self) -> None:
        """Run axe on the current page; fail with the violations listed when there are any."""
        # Contrast and target sizes are only meaningful on the styled page.
        unstyled = self.page.evaluate(
            """() => [...document.querySelectorAll('link[rel="stylesheet"]')]
                .filter(link => !link.sheet || link.sheet.cssRules.length === 0)
                .map(link => link.href)"""
        )
        assert not unstyled, f"{self.page.url}: style sheets did not load: {unstyled}"
        if not self.page.evaluate("() => typeof window.axe === 'object'"):
            self.page.evaluate(axe_script())
        results = self.page.evaluate(
            "options => axe.run(document, options)",
            {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]},
        )
        url = self.page.url
        self.unchecked = None
        self.checked.append(url)
        violations = results["violations"]
        if violations:
            report = format_violations(url, violations)
            print(report)
            raise AccessibilityError(report)

    def goto(self, path: str, status: int = 200) -> Any:
        response = self.page.goto(self.url(path))
        assert response is not None
        self.check()
        assert response.status == status, f"GET {path}: {response.status}, expected {status}"
        return response

    def submit(self, button: Any, status: int = 200) -> Any:
        """Click a button or link that loads a new page, wait for it, and check it."""
        with self.page.expect_navigation() as navigation:
            button.click()
        response = navigation.value
        assert response is not None
        self.check()
        assert response.status == status, f"{self.path()}: {response.status}, expected {status}"
        return response

    def refine(self, act: Callable[[], Any], status: int = 200) -> Any:
        """Do something that replaces part of the page in place (htmx: a filter form), wait
        until the new part has settled, and check the page. Fails when the browser loaded a
        new page instead."""
        swaps = self.page.evaluate(
            """() => {
                if (window.shqSwaps === undefined) {
                    window.shqSwaps = 0;
                    document.addEventListener("htmx:afterSettle", () => { window.shqSwaps += 1; });
                }
                return window.shqSwaps;
            }"""
        )

        def in_place(answer: Any) -> bool:
            if answer.request.headers.get("hx-request") != "true":
                return False
            # htmx re-states the address it leaves, then pushes the new one.
            self.in_place.extend([self.page.url, answer.url])
            return True

        with self.page.expect_response(in_place) as answered:
            act()
        response = answered.value
        assert response.status == status, f"{response.url}: {response.status}, expected {status}"
        self.page.wait_for_function("(before) => window.shqSwaps > before", arg=swaps)
        if self.page.url != response.url:  # the address of the filters, pushed by htmx
            self.page.wait_for_url(response.url)
        self.check()
        return response

    # What the page shows -------------------------------------------------------------

    def lang(self) -> str | None:
        value: str | None = self.page.locator("html").get_attribute("lang")
        return value

    def heading(self) -> str:
        text: str = self.page.locator("main h1").inner_text()
        return " ".join(text.split())

    def switch_language(self, lang: str, status: int = 200) -> None:
        """Press a language button in the header; the same page comes back in that language."""
        button = self.page.locator("nav.shq-lang").get_by_role(
            "link", name=LANGUAGE_LABELS[lang], exact=True
        )
        self.submit(button, status=status)

    def language_cookie(self) -> str | None:
        for cookie in self.page.context.cookies():
            if cookie["name"] == "shanyraq_language":
                value: str = cookie["value"]
                return value
        return None

    def application_number(self) -> str:
        """The number of the application whose page (or form step) the tab is on."""
        found = re.search(r"/account/applications/([A-Z0-9-]+)/", self.path())
        assert found is not None, f"not an application's page: {self.path()}"
        return found.group(1)

    def service_codes(self) -> list[str]:
        """Codes of the services listed as cards on the current page."""
        hrefs = self.page.locator("ul.shq-card-list h3 a").evaluate_all(
            "links => links.map(a => a.getAttribute('href'))"
        )
        return [href.strip("/").split("/")[-1] for href in hrefs]

    # Signing in --------------------------------------------------------------------------

    def sign_in_citizen(self, iin: str, password: str, status: int = 200) -> Any:
        self.goto("/login/")
        self.page.locator("#id_iin").fill(iin)
        self.page.locator("#id_password").fill(password)
        return self.submit(self.page.locator("main form button[type=submit]"), status=status)

    def sign_in_staff(self, username: str, password: str, totp_secret: str) -> Any:
        self.goto("/staff/login/")
        self.page.locator("#id_username").fill(username)
        self.page.locator("#id_password").fill(password)
        self.page.locator("#id_totp").fill(staff_code(username, totp_secret))
        return self.submit(self.page.locator("main form button[type=submit]"))


@pytest.fixture
def open_site(browser: Any, live_server: Any) -> Iterator[Any]:
    """A factory of tabs, each in a fresh browser context (own cookies) in a given language."""
    contexts: list[Any] = []
    sites: list[Site] = []

    def open_(lang: str = "en", *, javascript: bool = True) -> Site:
        """``javascript=False``: a browser that gets none of the site's scripts, as when they
        are blocked or fail to load (axe still runs: it is put in by the test, not the site)."""
        context = browser.new_context(
            locale=BROWSER_LOCALE[lang], viewport={"width": 1280, "height": 900}
        )
        if not javascript:
            context.route("**/*.js", lambda route: route.abort())
        context.set_default_timeout(15_000)
        # axe-core is put in every page before its own scripts run (not subject to its CSP).
        context.add_init_script(axe_script())
        contexts.append(context)
        site = Site(context.new_page(), live_server.url)
        sites.append(site)
        return site

    yield open_
    for context in contexts:
        context.close()
    missed = [url for site in sites for url in site.missed]
    missed += [site.unchecked for site in sites if site.unchecked is not None]
    assert not missed, f"pages visited without an accessibility check: {missed}"


@pytest.fixture
def site(open_site: Any) -> Site:
    site: Site = open_site("en")
    return site


# --- the data ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Demo:
    """What the tests need to know about the loaded demo catalog."""

    service: str  # a published service of the Ministry of Justice with a life event
    names: dict[str, str]  # its name in each language
    life_event: str  # one of its life events
    life_event_names: dict[str, str]
    other_service: str  # a published service of another agency
    accounts: dict[str, Any]  # DemoAccount by username
    password: str
    citizen_iin: str

    def search_words(self) -> dict[str, str]:
        return search_words(self.names)


def _words(text: str) -> set[str]:
    from shanyraq.catalog.services import normalise_search

    return set(re.findall(r"\w{4,}", normalise_search(text)))


def search_words(names: dict[str, str]) -> dict[str, str]:
    """For each language, words of the service's name (only in that language) to search by.

    The rarest word across the catalog is chosen, so that the service appears on the first
    page of results; more words are added while the results would not fit on one page.
    """
    from shanyraq.catalog import selectors

    chosen: dict[str, str] = {}
    for lang in LANGUAGES:
        others = set().union(*(_words(names[o]) for o in LANGUAGES if o != lang))
        candidates = sorted(_words(names[lang]) - others) or sorted(_words(names[lang]))
        counted = sorted(
            candidates,
            key=lambda w: (selectors.published_versions(q=w).count(), -len(w), w),
        )
        query: list[str] = []
        for word in counted:
            query.append(word)
            if selectors.published_versions(q=" ".join(query)).count() <= PAGE_SIZE:
                break
        chosen[lang] = " ".join(query)
    return chosen


@pytest.fixture
def demo(transactional_db: None, live_server: Any) -> Demo:
    """The demo catalog and accounts, loaded the way ``make demo`` loads them."""
    from shanyraq.catalog import selectors
    from shanyraq.portal.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, demo_load

    demo_load()
    own = (
        selectors.published_versions(agency="minjust")
        .filter(life_events__isnull=False)
        .distinct()
        .first()
    )
    assert own is not None, "the demo catalog needs a Ministry of Justice service"
    # The life event with the fewest services, so that its list fits on one page.
    event = min(
        own.life_events.all(),
        key=lambda e: (selectors.published_versions(life_event=e.code).count(), e.code),
    )
    other = selectors.published_versions().exclude(service__agency__code="minjust").first()
    assert other is not None, "the demo catalog needs services of more than one agency"
    citizen = next(a for a in DEMO_ACCOUNTS if a.iin)
    return Demo(
        service=own.service.code,
        names=own.name.to_dict(),
        life_event=event.code,
        life_event_names=event.name.to_dict(),
        other_service=other.service.code,
        accounts={a.username: a for a in DEMO_ACCOUNTS},
        password=DEMO_PASSWORD,
        citizen_iin=str(citizen.iin),
    )


@pytest.fixture
def catalog_search_words() -> Any:
    """``catalog_search_words(names)``: for each language, words of a service's name (given
    in the three languages) that find it on the first page of the catalog's search."""
    return search_words


@pytest.fixture
def demo_registers(settings: Any, tmp_path: Path, demo: Demo) -> Iterator[None]:
    """The demo registers as ``make demo`` fills them, with a small synthetic population: the
    demo citizens' own records and households (Aigerim's newborn daughter, Daulet's son and
    flat), the agencies' grants; and a ledger with keys of its own, which register changes and
    casework decisions are written to."""
    import io

    from django.core.management import call_command

    from shanyraq.ledger_django import config
    from shanyraq.portal.demo import DEMO_ACCOUNTS
    from shanyraq.portal.demo_registers import demo_registers_load

    settings.LEDGER_KEY_DIR = tmp_path / "keys"
    settings.LEDGER_STORAGE_DIR = tmp_path / "tiles"
    settings.LEDGER_WITNESSES_FILE = tmp_path / "keys" / "witnesses.json"
    config.reset()
    call_command("ledger", "keygen", stdout=io.StringIO())
    demo_registers_load([a for a in DEMO_ACCOUNTS if a.iin], persons=20)
    yield
    config.reset()
