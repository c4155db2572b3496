"""A citizen looks at their own records and at who read their data."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import transaction

pytestmark = pytest.mark.e2e


@pytest.fixture
def registers(settings, tmp_path, demo):
    """The demo registers with a small population, and a clerk's logged read of the citizen."""
    from shanyraq.accounts.models import User
    from shanyraq.catalog.models import Agency
    from shanyraq.ledger_django import config, services
    from shanyraq.portal.demo import DEMO_ACCOUNTS
    from shanyraq.portal.demo_registers import demo_registers_load
    from shanyraq.registries import selectors

    settings.LEDGER_KEY_DIR = tmp_path / "keys"
    settings.LEDGER_STORAGE_DIR = tmp_path / "tiles"
    settings.LEDGER_WITNESSES_FILE = tmp_path / "keys" / "witnesses.json"
    config.reset()
    call_command("ledger", "keygen", stdout=io.StringIO())
    demo_registers_load([a for a in DEMO_ACCOUNTS if a.iin], persons=20)
    services.log_integrate(config.get_log(services.default_log()))
    clerk = User.objects.get(username="official.justice")
    with transaction.atomic():
        selectors.record_read(
            register="population",
            key=demo.citizen_iin,
            actor=clerk,
            agency=Agency.objects.get(code="minjust"),
            purpose="application 2026-000123",
            basis="Code on Marriage (Matrimony) and Family, art. 187",
        )
    yield
    config.reset()


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_citizen_sees_who_read_their_data_and_their_records(open_site, demo, registers, lang):
    site = open_site(lang)
    site.sign_in_citizen(demo.citizen_iin, demo.password)
    site.goto("/account/data-usage/")
    assert site.lang() == lang
    table = site.page.locator("main table").inner_text()
    assert "application 2026-000123" in table
    site.goto("/account/records/")
    extract = site.page.locator("main a[href*='/account/records/population/']").first
    site.submit(extract)
    assert demo.citizen_iin in site.page.locator("main").inner_text()
    proof = site.page.locator("main a[href$='/proof/']").first
    href = proof.get_attribute("href")
    assert href is not None
    response = site.page.request.get(site.url(href))
    assert response.status == 200
    assert response.headers["content-type"].startswith("application/zip")
