"""The public ledger page, and the platform administration's read-only views of official data."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.e2e


@pytest.fixture
def published_log(settings, tmp_path, demo):
    """The demo catalog's publications integrated into a log of their own (no witnesses)."""
    from shanyraq.ledger_django import config, services

    settings.LEDGER_KEY_DIR = tmp_path / "keys"
    settings.LEDGER_STORAGE_DIR = tmp_path / "tiles"
    settings.LEDGER_WITNESSES_FILE = tmp_path / "keys" / "witnesses.json"
    settings.LEDGER_ORIGIN_PREFIX = "e2e.example/ledger"
    config.reset()
    call_command("ledger", "keygen", stdout=io.StringIO())
    outcome = services.log_integrate(config.get_log(services.default_log()))
    yield outcome
    config.reset()


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_public_ledger_page(open_site, published_log, tr, lang):
    site = open_site(lang)
    site.goto("/ledger/")
    assert site.lang() == lang
    assert site.heading() == tr(lang, "Public ledger")
    assert site.page.get_by_text("e2e.example/ledger/main", exact=True).count() >= 1
    # The latest checkpoint is shown as published, with the size the integrator reached.
    checkpoint = site.page.locator("pre").inner_text()
    assert checkpoint.splitlines()[1] == str(published_log.published_size)
    proof = site.page.locator("table a").first
    href = proof.get_attribute("href")
    assert href is not None and href.startswith("/api/v1/ledger/main/entries/")
    response = site.page.request.get(site.url(href))
    assert response.status == 200
    assert response.text().startswith("c2sp.org/tlog-proof@v1")


def test_platform_admin_browses_read_only_official_data(site, demo):
    account = demo.accounts["platform.admin"]
    site.sign_in_staff(account.username, demo.password, account.totp_secret)
    site.goto("/admin/")
    site.goto("/admin/catalog/serviceversion/")
    site.goto("/admin/catalog/service/")
    site.goto("/admin/accounts/user/")
    site.submit(site.page.locator("#result_list tbody th a").first)
    assert site.path().startswith("/admin/accounts/user/")
