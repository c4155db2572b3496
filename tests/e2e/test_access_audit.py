"""An auditor looks at who accessed people's data across the platform, and narrows it down."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.db import transaction

pytestmark = pytest.mark.e2e

PAGE = "/backoffice/data-access/"


@pytest.fixture
def accesses(demo):
    """The platform's registers, a clerk's read of the demo citizen's record and an agency
    system's read of someone else's."""
    from shanyraq.access_log import services
    from shanyraq.accounts.models import User
    from shanyraq.catalog.models import Agency
    from shanyraq.core.national_id import make_iin
    from shanyraq.registries.definitions import registers_define_all

    registers_define_all()
    minjust = Agency.objects.get(code="minjust")
    other = Agency.objects.exclude(code="minjust").order_by("code").first()
    assert other is not None
    someone = make_iin(datetime.date(1975, 6, 30), "M", serial=77)
    with transaction.atomic():
        services.access_record(
            actor=User.objects.get(username="official.justice"),
            agency=minjust,
            action=services.AccessAction.READ,
            purpose="application 2026-000123",
            legal_basis="Code on Marriage (Matrimony) and Family, art. 187",
            reads=[services.Read("population", uuid.uuid4(), [demo.citizen_iin], ["last_name"])],
        )
        services.access_record(
            actor=None,
            actor_name="Tax information system",
            agency=other,
            action=services.AccessAction.SEARCH,
            purpose="Annual income check",
            legal_basis="Tax Code, art. 24",
            reads=[services.Read("population", uuid.uuid4(), [someone], ["iin"])],
        )
    return {"citizen": demo.citizen_iin, "someone": someone, "other_agency": other.code}


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_auditor_filters_the_accesses_to_peoples_data(open_site, demo, accesses, lang):
    auditor = demo.accounts["auditor"]
    site = open_site(lang)
    site.sign_in_staff(auditor.username, demo.password, auditor.totp_secret)
    site.goto("/backoffice/")
    site.submit(site.page.locator(f"main a[href='{PAGE}']"))
    assert site.lang() == lang
    table = site.page.locator("main table tbody")
    assert table.locator("tr").count() == 2

    # By the person: only the clerk's read of the citizen's record is left.
    site.page.locator("#id_iin").fill(accesses["citizen"])
    site.page.locator("#id_date_from").fill("2000-01-01")
    site.submit(site.page.locator("main form button[type=submit]"))
    assert site.path().startswith(f"{PAGE}?iin={accesses['citizen']}")
    assert table.locator("tr").count() == 1
    assert "application 2026-000123" in table.inner_text()
    assert "official.justice" in table.inner_text()

    # By the agency: the other agency's system did not read the citizen's data.
    site.page.locator("#id_agency").select_option(accesses["other_agency"])
    site.submit(site.page.locator("main form button[type=submit]"))
    assert site.page.locator("main table").count() == 0

    # The CSV file holds what the filters find.
    site.page.locator("#id_iin").fill("")
    site.submit(site.page.locator("main form button[type=submit]"))
    assert "Annual income check" in table.inner_text()
    href = site.page.locator("main a[href^='/backoffice/data-access/export/']").get_attribute(
        "href"
    )
    assert href is not None
    response = site.page.request.get(site.url(href))
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/csv")
    body = response.text()
    assert accesses["someone"] in body and accesses["citizen"] not in body


def test_a_mistyped_iin_is_pointed_out(open_site, demo, accesses):
    auditor = demo.accounts["auditor"]
    site = open_site("en")
    site.sign_in_staff(auditor.username, demo.password, auditor.totp_secret)
    site.goto(PAGE)
    wrong = accesses["citizen"][:-1] + str((int(accesses["citizen"][-1]) + 1) % 10)
    site.page.locator("#id_iin").fill(wrong)
    site.page.locator("#id_date_from").fill("2026-03-12")
    site.page.locator("#id_date_to").fill("2026-03-11")
    site.submit(site.page.locator("main form button[type=submit]"), status=400)
    summary = site.page.locator(".govuk-error-summary")
    assert summary.locator("a[href='#id_iin']").count() == 1
    assert summary.locator("a[href='#id_date_to']").count() == 1
    assert site.page.locator("#id_iin-error").count() == 1
    assert site.page.locator("main table").count() == 0
    assert site.page.title().startswith("Error:")


def test_an_official_may_not_see_the_accesses(open_site, demo, accesses):
    clerk = demo.accounts["official.justice"]
    site = open_site("en")
    site.sign_in_staff(clerk.username, demo.password, clerk.totp_secret)
    site.goto(PAGE, status=403)
    assert "application 2026-000123" not in site.page.locator("main").inner_text()
