"""A citizen applies online: start, fill in the form, review, submit, follow the application.

The walk uses the demo's "certificate of no criminal record" when the demo declares a process
for it, and otherwise a service published here with a form and a process of its own. Every page
is checked with axe, in Kazakh, Russian and English.
"""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.e2e

DEMO_SERVICE = "no-criminal-record"
OWN_SERVICE = "e2e-certificate"


def text(base: str) -> dict[str, str]:
    return {"kk": f"{base} (қаз)", "ru": f"{base} (рус)", "en": base}


FORM: dict[str, Any] = {
    "schema": {
        "type": "object",
        "properties": {
            "last_name": {"type": "string", "minLength": 1, "maxLength": 100},
            "birth_date": {"type": "string", "format": "date"},
            "email": {"type": "string", "format": "email", "maxLength": 254},
            "purpose": {"type": "string", "enum": ["work", "study"]},
            "copies": {"type": "integer", "minimum": 1, "maximum": 5},
            "urgent": {"type": "boolean"},
            "details": {"type": "string", "maxLength": 1000},
        },
        "required": ["last_name", "birth_date", "purpose", "copies"],
        "additionalProperties": False,
    },
    "ui": {
        "steps": [
            {
                "key": "about",
                "title": text("About you"),
                "fields": ["last_name", "birth_date", "email"],
            },
            {
                "key": "request",
                "title": text("The request"),
                "fields": ["purpose", "copies", "urgent", "details"],
            },
        ],
        "labels": {
            "last_name": text("Last name"),
            "birth_date": text("Date of birth"),
            "email": text("Email"),
            "purpose": text("Purpose"),
            "copies": text("Number of copies"),
            "urgent": text("I need it urgently"),
            "details": text("Anything else we should know"),
        },
        "help": {"copies": text("From 1 to 5")},
        "enum_labels": {"purpose": {"work": text("For work"), "study": text("For study")}},
        "prefill": {"last_name": "population.last_name", "birth_date": "population.birth_date"},
    },
}

PROCESS: dict[str, Any] = {
    "start": "review",
    "steps": [
        {
            "id": "review",
            "kind": "task",
            "role": "clerk",
            "deadline_days": 5,
            "label": text("Review by the agency"),
        }
    ],
    "transitions": [
        {"from": "review", "action": "approve", "to": "approved"},
        {"from": "review", "action": "reject", "to": "rejected"},
        {"from": "review", "action": "request_info", "to": "review"},
    ],
}


@pytest.fixture
def registers(settings, tmp_path, demo):
    """The demo registers (with the demo citizens' own records) and a ledger for decisions."""
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


@pytest.fixture
def own_service(registers) -> str:
    """A Ministry of Justice service with a two-step form and a process of its own."""
    from shanyraq.catalog.models import Agency
    from shanyraq.testing import factories

    factories.published_service(
        agency=Agency.objects.get(code="minjust"), code=OWN_SERVICE, form=FORM, process=PROCESS
    )
    return OWN_SERVICE


@pytest.fixture
def online_service(own_service) -> str:
    """The demo service to walk through if it takes applications online, else our own."""
    from shanyraq.catalog import selectors

    demo = selectors.service_passport(DEMO_SERVICE)
    return DEMO_SERVICE if demo.form and demo.process else own_service


def fill_in_what_is_required(site, lang: str, tr) -> None:
    """Answer every question of the step that is not marked optional."""
    optional = f"({tr(lang, 'optional')})"
    form = site.page.locator("main form")
    for select in form.locator("select").all():
        values = select.locator("option").evaluate_all("os => os.map(o => o.value)")
        select.select_option(next(v for v in values if v))
    for box in form.locator("input.govuk-input, textarea").all():
        box_id = box.get_attribute("id")
        label = form.locator(f"label[for='{box_id}']").inner_text()
        if optional in label or box.input_value():
            continue
        kind = box.get_attribute("type")
        numeric = box.get_attribute("inputmode") in {"numeric", "decimal"}
        box.fill("2000-01-01" if kind == "date" else "1" if numeric else "Test")


def save_and_continue(site, lang: str, tr, status: int = 200) -> None:
    site.submit(
        site.page.get_by_role("button", name=tr(lang, "Save and continue"), exact=True),
        status=status,
    )


def application_number(site) -> str:
    found = re.search(r"/account/applications/([A-Z0-9-]+)/", site.path())
    assert found is not None, site.path()
    return found.group(1)


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_citizen_applies_online_and_follows_the_application(
    open_site, demo, online_service, tr, lang
):
    from shanyraq.casework import services
    from shanyraq.casework.models import Application, CaseEvent, Status

    site = open_site(lang)
    site.sign_in_citizen(demo.citizen_iin, demo.password)

    # The service passport offers to apply; the start page says what it takes.
    site.goto(f"/services/{online_service}/")
    site.submit(site.page.get_by_role("button", name=tr(lang, "Apply online")))
    assert site.path() == f"/services/{online_service}/apply/"
    assert site.lang() == lang
    site.submit(site.page.get_by_role("button", name=tr(lang, "Start now")))
    number = application_number(site)
    assert site.path() == f"/account/applications/{number}/step/0/"

    # What the registers know is shown with its source, not asked.
    main = site.page.locator("main")
    assert main.get_by_text(tr(lang, "From the population register")).count() >= 1
    fill_in_what_is_required(site, lang, tr)
    save_and_continue(site, lang, tr)
    assert site.path() == f"/account/applications/{number}/step/1/"

    # Saving without the required answers shows what to correct, then the draft moves on.
    save_and_continue(site, lang, tr, status=400)
    summary = site.page.locator(".govuk-error-summary")
    assert summary.count() == 1
    assert summary.locator("a").count() >= 1
    assert site.page.locator(".govuk-error-message").count() >= 1
    fill_in_what_is_required(site, lang, tr)
    save_and_continue(site, lang, tr)
    assert site.path() == f"/account/applications/{number}/review/"

    # The review lists the answers, each with a link back to its step.
    assert site.heading() == tr(lang, "Check your answers before you submit")
    changes = site.page.locator("main .govuk-summary-list__actions a")
    assert changes.count() >= 1
    assert Application.objects.get(number=number).status == Status.DRAFT
    site.submit(site.page.get_by_role("button", name=tr(lang, "Submit application")))
    assert site.path() == f"/account/applications/{number}/"
    assert site.page.locator(".govuk-notification-banner").count() == 1
    application = Application.objects.get(number=number)
    assert application.status != Status.DRAFT
    assert application.submitted_at is not None

    # My applications lists it; its page shows the status and the history.
    site.goto("/account/")
    site.submit(site.page.locator("main").get_by_role("link", name=tr(lang, "My applications")))
    assert site.path() == "/account/applications/"
    row = site.page.locator("main tbody tr", has_text=number)
    assert row.count() == 1
    assert row.locator(".govuk-tag").first.inner_text() == status_label(application, lang)
    site.submit(row.get_by_role("link", name=number))
    assert site.heading() == tr(lang, "Application %(number)s") % {"number": number}
    history = site.page.locator("main table tbody tr")
    assert history.count() == 2
    assert history.first.get_by_text(tr(lang, "Draft started")).count() == 1
    assert history.nth(1).get_by_text(tr(lang, "Application submitted")).count() == 1

    # The same page in the other languages.
    for other in ("kk", "ru", "en"):
        if other != lang:
            site.switch_language(other)
            assert site.lang() == other
            assert site.heading() == tr(other, "Application %(number)s") % {"number": number}
    site.switch_language(lang)

    # The worker runs the automatic steps; the page shows where the application went.
    services.work_once()
    application.refresh_from_db()
    site.goto(f"/account/applications/{number}/")
    tag = site.page.locator("main .govuk-summary-list .govuk-tag").first
    assert tag.inner_text() == status_label(application, lang)
    events = CaseEvent.objects.filter(application=application).count()
    assert site.page.locator("main table tbody tr").count() == events
    if application.status == Status.APPROVED and application.decision_trace:
        checked = tr(lang, "What was checked automatically")
        assert site.page.locator("main").get_by_text(checked).count() == 1


def status_label(application, lang: str) -> str:
    from django.utils import translation

    with translation.override(lang):
        return str(application.get_status_display())


def test_citizen_answers_the_agencys_question(open_site, demo, own_service, tr):
    from django.db import transaction

    from shanyraq.accounts.models import User
    from shanyraq.casework import services
    from shanyraq.casework.models import Application, Status

    citizen = User.objects.get(iin=demo.citizen_iin)
    with transaction.atomic():
        application = services.application_start(applicant=citizen, service_code=own_service)
    values = {"purpose": "study", "copies": "1"}
    services.application_save(application=application, applicant=citizen, values={}, step=0)
    services.application_save(application=application, applicant=citizen, values=values, step=1)
    services.application_submit(application=application, applicant=citizen)
    clerk = User.objects.get(username="official.justice")
    services.case_act(
        application=application,
        official=clerk,
        action="request_info",
        note="Which university is the certificate for?",
    )

    site = open_site("en")
    site.sign_in_citizen(demo.citizen_iin, demo.password)
    site.goto(f"/account/applications/{application.number}/")
    main = site.page.locator("main")
    assert main.get_by_text("Which university is the certificate for?").count() >= 1
    site.submit(main.get_by_role("button", name="Send the answer"), status=400)
    assert site.page.locator(".govuk-error-summary a[href='#answer']").count() == 1
    site.page.locator("#answer").fill("Al-Farabi Kazakh National University")
    site.submit(main.get_by_role("button", name="Send the answer"))
    assert Application.objects.get(pk=application.pk).status == Status.ACTIVE
    assert main.get_by_text("Information provided").count() == 1
    for lang in ("kk", "ru"):
        site.switch_language(lang)
        assert site.lang() == lang
        assert main.get_by_text(tr(lang, "Information provided")).count() == 1
    site.switch_language("en")

    # Withdrawing asks first.
    site.submit(main.get_by_role("link", name=f"Withdraw application {application.number}"))
    assert site.heading() == (
        f"Are you sure you want to withdraw application {application.number}?"
    )
    site.submit(main.get_by_role("button", name="Yes, withdraw the application"))
    assert site.path() == f"/account/applications/{application.number}/"
    assert Application.objects.get(pk=application.pk).status == Status.WITHDRAWN
    assert main.locator(".govuk-summary-list .govuk-tag").first.inner_text() == "Withdrawn"
    assert main.get_by_role("link", name=f"Withdraw application {application.number}").count() == 0


def test_answers_are_kept_as_they_are_typed(open_site, demo, own_service, tr):
    from shanyraq.casework.models import Application

    site = open_site("en")
    site.sign_in_citizen(demo.citizen_iin, demo.password)
    site.goto(f"/services/{own_service}/apply/")
    site.submit(site.page.get_by_role("button", name="Start now"))
    number = application_number(site)
    fill_in_what_is_required(site, "en", tr)
    save_and_continue(site, "en", tr)
    assert site.path() == f"/account/applications/{number}/step/1/"

    # Typed, not saved with the button: the status line says the draft has it.
    with site.page.expect_response(lambda answer: answer.url.endswith("/step/1/keep/")) as kept:
        site.page.locator("#field-details").fill("Please post it to Almaty")
    assert kept.value.status == 200
    status = site.page.locator("#draft-status")
    status.filter(has_text=f"draft {number} (").wait_for()
    assert Application.objects.get(number=number).answers["details"] == "Please post it to Almaty"
    site.check()

    # Coming back to the step later, the answer is there; the step is still to be saved.
    site.goto(f"/account/applications/{number}/")
    site.goto(f"/account/applications/{number}/step/1/")
    assert site.page.locator("#field-details").input_value() == "Please post it to Almaty"
    assert Application.objects.get(number=number).form_step == 1
