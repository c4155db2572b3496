"""An official works a case in the back office: the queue, the case, taking it, deciding it.

The walk uses a demo case that a demo official can work when the demo has one; otherwise it
publishes a service of the Ministry of Justice here and a demo citizen applies for it, through
the casework services as the portal would. Every page is checked with axe.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

OWN_SERVICE = "e2e-casework"


def text(base: str) -> dict[str, str]:
    return {"kk": f"{base} (қаз)", "ru": f"{base} (рус)", "en": base}


FORM: dict[str, Any] = {
    "schema": {
        "type": "object",
        "properties": {
            "purpose": {"type": "string", "enum": ["work", "study"]},
            "details": {"type": "string", "maxLength": 1000},
        },
        "required": ["purpose"],
        "additionalProperties": False,
    },
    "ui": {
        "steps": [
            {"key": "request", "title": text("The request"), "fields": ["purpose", "details"]}
        ],
        "labels": {"purpose": text("Purpose"), "details": text("Anything else")},
        "enum_labels": {"purpose": {"work": text("For work"), "study": text("For study")}},
    },
}
PROCESS: dict[str, Any] = {
    "start": "check",
    "steps": [
        {
            "id": "check",
            "kind": "task",
            "role": "clerk",
            "deadline_days": 5,
            "label": text("Check by a clerk"),
        },
    ],
    "transitions": [
        {"from": "check", "action": "approve", "to": "approved"},
        {"from": "check", "action": "reject", "to": "rejected"},
        {"from": "check", "action": "request_info", "to": "check"},
    ],
}


def _demo_case(demo) -> tuple[Any, str] | None:
    """A free open case that a demo official works, and that official's username."""
    from shanyraq.accounts.models import User
    from shanyraq.casework import selectors

    for account in demo.accounts.values():
        if account.role is None or account.role == "admin":
            continue
        official = User.objects.get(username=account.username)
        found = selectors.queue(official).filter(assignee__isnull=True, status="active").first()
        if found is not None and "approve" in selectors.actions_for(found, official):
            return found, account.username
    return None


def _own_case(demo) -> tuple[Any, str]:
    """A case of a service published here, applied for by a demo citizen, for the demo clerk."""
    from shanyraq.accounts.models import User
    from shanyraq.casework import services as casework
    from shanyraq.catalog import services as catalog_services
    from shanyraq.catalog.models import Agency, Category

    version = catalog_services.service_create(
        actor=None,
        agency=Agency.objects.get(code="minjust"),
        code=OWN_SERVICE,
        content=catalog_services.ServiceContent(
            category=Category.objects.order_by("code").first().code,
            name=text("Certificate for the back-office test"),
            description=text("A service published by the browser test"),
            who_may_apply=text("Anyone"),
            result=text("A certificate"),
            legal_basis=text("Test law"),
            deadline_days=5,
            fully_online=True,
            form=FORM,
            process=PROCESS,
        ),
    )
    catalog_services.service_version_publish(actor=None, version=version)
    citizen = User.objects.get(iin=demo.citizen_iin)
    application = casework.application_start(applicant=citizen, service_code=OWN_SERVICE)
    casework.application_save(
        application=application,
        applicant=citizen,
        values={"purpose": "work", "details": "Needed for a new job"},
    )
    casework.application_submit(application=application, applicant=citizen)
    casework.work_once()
    application.refresh_from_db()
    return application, "official.justice"


@pytest.fixture
def case(demo) -> tuple[Any, str]:
    return _demo_case(demo) or _own_case(demo)


def test_an_official_takes_and_decides_a_case(open_site, demo, case):
    application, username = case
    step = application.step
    account = demo.accounts[username]
    site = open_site("en")
    site.sign_in_staff(account.username, demo.password, account.totp_secret)
    site.goto("/backoffice/")

    # The queue: the case is there, with its deadline in words and a Take button.
    site.submit(site.page.locator("main a[href='/backoffice/cases/']"))
    assert site.heading() == "Cases to work on"
    row = site.page.locator("main table tbody tr", has_text=application.number)
    assert row.count() == 1
    assert row.locator(".govuk-tag").count() == 1
    assert row.get_by_role("button", name=f"Take case {application.number}").count() == 1

    # A filter applies as it is chosen: the results are replaced in place, the address
    # keeps the filters, and the new count is read out.
    site.refine(lambda: site.page.locator("#id_state").select_option("overdue"))
    assert site.path().startswith("/backoffice/cases/?") and "state=overdue" in site.path()
    shown = site.page.locator("main [data-announce]").inner_text()
    assert re.fullmatch(r"\d+ cases? found", shown), shown
    assert site.page.locator("#shq-announcer").inner_text() == shown
    tags = site.page.locator("main table tbody .govuk-tag").all_inner_texts()
    assert all(tag == "Overdue" for tag in tags), tags
    # The same filters without JavaScript: a GET form (tested in test_filters_without_javascript).
    site.goto("/backoffice/cases/")

    # The case.
    site.submit(site.page.locator(f"main a[href='/backoffice/cases/{application.number}/']"))
    assert site.heading() == f"Application {application.number}"
    assert site.page.get_by_role("heading", name="Register facts").count() == 1
    assert site.page.get_by_role("heading", name="History").count() == 1

    site.submit(site.page.get_by_role("button", name="Take this case"))
    assert site.page.get_by_text("You have taken this case. It is in your queue.").count() == 1

    # A decision without a reason is refused, on the page, with the field marked.
    site.page.locator("summary", has_text="Approve").click()
    site.submit(site.page.locator("form:has(#note-approve) button[type=submit]"), status=400)
    assert site.page.locator(".govuk-error-summary").count() == 1
    assert site.page.locator("#note-approve-error").count() == 1

    site.page.locator("#note-approve").fill("Every document is in order.")
    site.submit(site.page.locator("form:has(#note-approve) button[type=submit]"))
    assert site.page.get_by_text("The application was approved.").count() == 1

    application.refresh_from_db()
    if application.service_version.service.code == OWN_SERVICE:
        assert (application.status, application.decision_reason) == (
            "approved",
            "Every document is in order.",
        )
    else:
        assert application.is_final or application.step != step


def test_the_queue_and_a_case_read_well_in_every_language(open_site, demo, case, tr):
    application, username = case
    account = demo.accounts[username]
    for lang in ("kk", "ru"):
        site = open_site(lang)
        site.sign_in_staff(account.username, demo.password, account.totp_secret)
        site.goto("/backoffice/cases/")
        assert site.lang() == lang
        assert site.heading() == tr(lang, "Cases to work on")
        site.goto(f"/backoffice/cases/{application.number}/")


def test_a_head_of_unit_sees_the_workload(open_site, demo, case):
    application, _username = case
    head = demo.accounts["head.justice"]
    site = open_site("en")
    site.sign_in_staff(head.username, demo.password, head.totp_secret)
    site.goto("/backoffice/cases/")
    site.submit(site.page.locator("main a[href='/backoffice/cases/workload/']"))
    assert site.heading() == "Workload of your unit"
    if application.agency.code == "minjust":
        assert site.page.locator("main table tbody tr").count() >= 1
        assert site.page.locator("main table tfoot tr").count() == 1


def test_the_queue_filters_without_javascript(open_site, demo, case):
    application, username = case
    account = demo.accounts[username]
    site = open_site("en", javascript=False)
    site.sign_in_staff(account.username, demo.password, account.totp_secret)
    site.goto("/backoffice/cases/")
    assert site.page.locator("main table tbody tr", has_text=application.number).count() == 1

    # The filter form is a plain GET form: its button loads the filtered page.
    site.page.locator("#id_service").select_option(application.service_version.service.code)
    site.submit(site.page.get_by_role("button", name="Apply filters"))
    assert site.path().startswith("/backoffice/cases/?")
    assert f"service={application.service_version.service.code}" in site.path()
    rows = site.page.locator("main table tbody tr")
    assert rows.filter(has_text=application.number).count() == 1
    assert rows.count() == rows.filter(has_text=application.service_version.name.en).count()


def test_an_agency_administrator_is_refused_the_queue(open_site, demo):
    admin = demo.accounts["admin.justice"]
    site = open_site("en")
    site.sign_in_staff(admin.username, demo.password, admin.totp_secret)
    site.goto("/backoffice/cases/", status=403)
