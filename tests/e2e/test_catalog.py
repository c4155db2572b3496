"""A citizen browses the catalog: languages, search, a service passport, life events."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e

# The language the browser asks for before the visitor picks another with the switcher.
LANGUAGES = ("kk", "ru", "en")
START = {"kk": "en", "ru": "kk", "en": "ru"}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_language_switcher_translates_and_is_remembered(open_site, demo, tr, lang):
    start = START[lang]
    site = open_site(start)
    site.goto("/services/")
    assert site.lang() == start
    before = site.heading()
    assert before == tr(start, "Service catalog")

    site.switch_language(lang)
    assert site.path() == "/services/"
    assert site.lang() == lang
    assert site.heading() == tr(lang, "Service catalog")
    assert site.heading() != before
    assert site.language_cookie() == lang

    # The next pages keep the choice, and show the catalog's own texts in it too.
    site.goto(f"/services/{demo.service}/")
    assert site.lang() == lang
    assert site.heading() == demo.names[lang]
    assert demo.names[lang] != demo.names[start]

    site.submit(site.page.locator("header nav").get_by_role("link", name=tr(lang, "Life events")))
    assert site.path() == "/life-events/"
    assert site.lang() == lang
    assert site.heading() == tr(lang, "Services by life event")
    event_link = site.page.locator("main").get_by_role(
        "link", name=demo.life_event_names[lang], exact=True
    )
    assert event_link.count() == 1

    site.goto("/")
    assert site.lang() == lang
    assert site.heading() == tr(lang, "Public services in one place")


def test_search_finds_a_service_by_a_word_in_each_language(site, demo):
    words = demo.search_words()
    link = f"a[href='/services/{demo.service}/']"

    # From the home page's search box ...
    site.goto("/")
    site.page.locator("#home-q").fill(words["kk"])
    site.submit(site.page.locator("main form[role=search] button[type=submit]"))
    assert site.path().startswith("/search/?q=")
    assert demo.service in site.service_codes(), f"no result for the Kazakh word {words['kk']!r}"

    # ... and again from the search page itself, where results follow the typing (htmx).
    for lang in ("ru", "en"):
        site.refine(lambda: site.page.locator("#id_q").fill(words[lang]))
        assert site.path().startswith("/search/?q=")
        found = site.service_codes()
        assert demo.service in found, f"no result for the {lang} word {words[lang]!r}: {found}"
        assert words[lang] in site.page.locator("main h2").first.inner_text()

    # The result opens the service passport.
    site.submit(site.page.locator(f"main {link}").first)
    assert site.path() == f"/services/{demo.service}/"
    assert site.heading() == demo.names["en"]
    passport = site.page.locator("main dl.govuk-summary-list")
    for label in ("Agency", "Who may apply", "Fee", "Deadline", "Legal basis", "Channel"):
        assert passport.get_by_text(label, exact=True).count() == 1, label
    assert site.page.locator("main").get_by_role("heading", name="Required documents").count()

    # A word that matches nothing says so.
    site.goto("/search/?q=zzqqxxnothing")
    assert site.service_codes() == []
    assert site.page.get_by_text("No service matches.").count() == 1


def test_filter_by_life_event(site, demo):
    from shanyraq.catalog import selectors

    expected = [
        v.service.code for v in selectors.published_versions(life_event=demo.life_event)[:20]
    ]

    # Through the filter form of the catalog page, which replaces the results in place ...
    site.goto("/services/")
    site.refine(lambda: site.page.locator("#id_life_event").select_option(demo.life_event))
    assert f"life_event={demo.life_event}" in site.path()
    assert site.service_codes() == expected
    assert demo.service in expected
    count = site.page.locator("main [data-announce]").inner_text()
    assert count.endswith("found") and site.page.locator("#shq-announcer").inner_text() == count

    # ... the same form with its button, where nothing is typed or chosen ...
    site.refine(lambda: site.page.get_by_role("button", name="Apply filters").click())
    assert site.service_codes() == expected

    # ... whose address, opened again, is the same page ...
    site.goto(site.path())
    assert site.service_codes() == expected

    # ... and through the list of life events.
    site.goto("/life-events/")
    site.submit(
        site.page.locator("main").get_by_role("link", name=demo.life_event_names["en"], exact=True)
    )
    assert site.path() == f"/services/?life_event={demo.life_event}"
    assert site.service_codes() == expected


def test_filters_and_search_without_javascript(open_site, demo):
    site = open_site("en", javascript=False)

    # The catalog's filter form is a plain GET form: its button loads the filtered page.
    site.goto("/services/")
    site.page.locator("#id_life_event").select_option(demo.life_event)
    site.submit(site.page.get_by_role("button", name="Apply filters"))
    assert f"life_event={demo.life_event}" in site.path()
    assert demo.service in site.service_codes()

    # So is the search page's.
    word = demo.search_words()["en"]
    site.goto("/search/")
    site.page.locator("#id_q").fill(word)
    site.submit(site.page.locator("main form[role=search] button[type=submit]"))
    assert site.path().startswith("/search/?q=")
    assert demo.service in site.service_codes()


def test_agencies_and_metrics(site, demo):
    site.goto("/agencies/")
    assert site.heading() == "State bodies"
    site.submit(site.page.locator("main a[href='/agencies/minjust/']"))
    assert demo.service in site.service_codes()

    site.goto("/metrics/")
    assert site.page.locator("main table caption").count() == 1
    site.goto("/services/no-such-service/", status=404)
    assert site.heading() == "Page not found"
