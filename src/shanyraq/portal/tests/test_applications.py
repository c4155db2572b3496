"""Online applications in the portal: start, the form's steps, review and submission, My
applications, an application's page, answering a question, withdrawing, a party's answer."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.utils import translation

from shanyraq.accounts.models import Role, User
from shanyraq.casework import selectors, services
from shanyraq.casework.models import Application, CaseEvent, Party, Status
from shanyraq.catalog.models import ServiceVersion
from shanyraq.conftest import client_for
from shanyraq.core.national_id import validate_iin
from shanyraq.ledger_django import config
from shanyraq.registries import services as register_services
from shanyraq.registries.definitions import registers_define_all
from shanyraq.testing import factories
from shanyraq.testing.factories import text

pytestmark = pytest.mark.django_db

LABELS = {
    "last_name": text("Last name"),
    "birth_date": text("Date of birth"),
    "phone": text("Phone"),
    "email": text("Email"),
    "purpose": text("Purpose"),
    "copies": text("Copies"),
    "urgent": text("Urgent"),
    "details": text("Details"),
    "visit_date": text("Visit date"),
    "languages": text("Languages"),
    "address": text("Address"),
}

FORM: dict[str, Any] = {
    "schema": {
        "type": "object",
        "properties": {
            "last_name": {"type": "string", "minLength": 1, "maxLength": 100},
            "birth_date": {"type": "string", "format": "date"},
            "phone": {"type": "string", "pattern": "^\\+7[0-9]{10}$"},
            "email": {"type": "string", "format": "email", "maxLength": 254},
            "purpose": {"type": "string", "enum": ["work", "study"]},
            "copies": {"type": "integer", "minimum": 1, "maximum": 5},
            "urgent": {"type": "boolean"},
            "details": {"type": "string", "maxLength": 1000},
            "visit_date": {"type": "string", "format": "date"},
            "languages": {"type": "array", "items": {"type": "string", "enum": ["kk", "ru"]}},
            "address": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "title": "City"},
                    "floor": {"type": "integer"},
                },
                "required": ["city"],
            },
        },
        "required": ["last_name", "birth_date", "phone", "purpose", "copies"],
        "additionalProperties": False,
    },
    "ui": {
        "steps": [
            {
                "key": "about",
                "title": text("About you"),
                "fields": ["last_name", "birth_date", "phone", "email"],
            },
            {
                "key": "request",
                "title": text("The request"),
                "fields": [
                    "purpose",
                    "copies",
                    "urgent",
                    "details",
                    "visit_date",
                    "languages",
                    "address",
                ],
            },
        ],
        "labels": LABELS,
        "help": {"phone": text("Starting with +7")},
        "enum_labels": {
            "purpose": {"work": text("For work"), "study": text("For study")},
            "languages": {"kk": text("Kazakh"), "ru": text("Russian")},
        },
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
            "label": text("Review"),
        }
    ],
    "transitions": [
        {"from": "review", "action": "approve", "to": "approved"},
        {"from": "review", "action": "reject", "to": "rejected"},
        {"from": "review", "action": "request_info", "to": "review"},
    ],
}

SALE_FORM: dict[str, Any] = {
    "schema": {
        "type": "object",
        "properties": {
            "buyer_iin": {"type": "string", "pattern": "^[0-9]{12}$"},
            "price": {"type": "number", "minimum": 0},
        },
        "required": ["buyer_iin", "price"],
        "additionalProperties": False,
    },
    "ui": {
        "steps": [{"key": "sale", "title": text("The sale"), "fields": ["buyer_iin", "price"]}],
        "labels": {"buyer_iin": text("Buyer's IIN"), "price": text("Price")},
    },
}

SALE_PROCESS: dict[str, Any] = {
    **PROCESS,
    "parties": [{"role": "buyer", "iin_field": "buyer_iin", "label": text("Buyer")}],
}

AUTOMATIC_PROCESS: dict[str, Any] = {
    "start": "check",
    "steps": [
        {"id": "check", "kind": "auto"},
        {"id": "review", "kind": "task", "role": "clerk", "label": text("Review")},
    ],
    "transitions": [
        {"from": "check", "action": "approve", "to": "approved"},
        {"from": "check", "action": "reject", "to": "rejected"},
        {"from": "check", "action": "undecided", "to": "review"},
        {"from": "review", "action": "approve", "to": "approved"},
        {"from": "review", "action": "reject", "to": "rejected"},
    ],
}

RULES: dict[str, Any] = {
    "decide": "all",
    "conditions": [
        {
            "id": "adult",
            "label": text("The applicant is an adult"),
            "rule": {">=": [{"age": [{"var": "person.birth_date"}, {"var": "today"}]}, 18]},
        }
    ],
}

STEP_ONE = {"phone": "+77011234567", "email": "aigerim@example.kz"}
STEP_TWO = {"purpose": "work", "copies": "2", "urgent": "true", "details": "", "visit_date": ""}


# --- the world ------------------------------------------------------------------------------


@pytest.fixture
def ledger_log(settings, tmp_path: Path) -> Iterator[config.LogConfig]:
    settings.LEDGER_KEY_DIR = tmp_path / "keys"
    settings.LEDGER_STORAGE_DIR = tmp_path / "tiles"
    settings.LEDGER_WITNESSES_FILE = tmp_path / "keys" / "witnesses.json"
    settings.LEDGER_LOGS = ["main"]
    settings.LEDGER_ORIGIN_PREFIX = "test.example/ledger"
    config.reset()
    call_command("ledger", "keygen", stdout=io.StringIO())
    yield config.get_log("main")
    config.reset()


def add_person(user: User, last_name: str = "Сәрсенова") -> None:
    iin = str(user.iin)
    parsed = validate_iin(iin)
    register_services.record_create(
        register="population",
        data={
            "iin": iin,
            "last_name": last_name,
            "first_name": "Әйгерім",
            "birth_date": parsed.birth_date.isoformat(),
            "sex": parsed.sex,
            "citizenship": "KAZ",
            "marital_status": "single",
        },
        actor=None,
        agency=None,
        basis="Initial load",
    )


@pytest.fixture
def service(ledger_log, agency, citizen) -> ServiceVersion:
    registers_define_all()
    add_person(citizen)
    return factories.published_service(
        agency=agency, code="certificate", form=FORM, process=PROCESS
    )


@pytest.fixture
def sale(service, agency) -> ServiceVersion:
    return factories.published_service(
        agency=agency, code="sale", form=SALE_FORM, process=SALE_PROCESS
    )


@pytest.fixture
def automatic(service, agency) -> ServiceVersion:
    return factories.published_service(
        agency=agency, code="automatic", form=SALE_FORM, process=AUTOMATIC_PROCESS, rules=RULES
    )


@pytest.fixture
def other(service) -> User:
    """Another citizen, with a population record of their own."""
    person = factories.UserFactory()
    add_person(person, last_name="Жақсылықов")
    return person


@pytest.fixture
def official(agency) -> User:
    return factories.member(agency, Role.CLERK)


def in_language(client: Client, lang: str) -> Client:
    client.cookies["shanyraq_language"] = lang
    return client


def english(user: User | None) -> Client:
    return in_language(client_for(user), "en")


def draft(applicant: User, code: str = "certificate") -> Application:
    with transaction.atomic():
        return services.application_start(applicant=applicant, service_code=code)


def filled(applicant: User) -> Application:
    application = draft(applicant)
    services.application_save(application=application, applicant=applicant, values=STEP_ONE, step=0)
    return services.application_save(
        application=application, applicant=applicant, values=STEP_TWO, step=1
    )


def submitted(applicant: User) -> Application:
    application = filled(applicant)
    return services.application_submit(application=application, applicant=applicant)


def sold(seller: User, buyer: User) -> Application:
    application = draft(seller, "sale")
    values = {"buyer_iin": buyer.iin, "price": "1500000"}
    services.application_save(application=application, applicant=seller, values=values, step=0)
    return services.application_submit(application=application, applicant=seller)


def reload(application: Application) -> Application:
    return Application.objects.get(pk=application.pk)


def page(response: Any) -> str:
    return " ".join(response.content.decode().split())


def errors_of(html: str) -> list[str]:
    return re.findall(r'<p id="[^"]+-error" class="govuk-error-message">(.*?)</p>', html)


# --- the service passport and the start page -------------------------------------------------


def test_passport_offers_to_apply_only_for_services_taking_applications(service, agency):
    factories.published_service(agency=agency, code="leaflet", form=SALE_FORM)
    html = page(english(None).get("/services/certificate/"))
    assert 'href="/services/certificate/apply/"' in html
    assert "Apply online" in html
    assert "csrfmiddlewaretoken" not in html  # the passport is cached for every visitor
    assert "/apply/" not in page(english(None).get("/services/leaflet/"))


def test_start_page_says_what_is_needed(service, citizen):
    response = english(citizen).get("/services/certificate/apply/")
    assert response.status_code == 200
    html = page(response)
    assert "<li>About you eng</li><li>The request eng</li>" in html
    assert "filled in from the state registers" in html
    assert 'action="/services/certificate/apply/"' in html
    assert "csrfmiddlewaretoken" in html
    assert "no-cache" in response["Cache-Control"]
    assert Application.objects.count() == 0  # looking does not start anything


def test_start_creates_a_prefilled_draft_and_opens_the_first_step(service, citizen):
    response = english(citizen).post("/services/certificate/apply/")
    application = Application.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/account/applications/{application.number}/step/0/"
    assert application.applicant == citizen
    assert application.status == Status.DRAFT
    assert application.prefilled["last_name"] == {
        "value": "Сәрсенова",
        "source": "population.last_name",
    }


def test_start_page_offers_to_continue_a_draft(service, citizen):
    application = draft(citizen)
    html = page(english(citizen).get("/services/certificate/apply/"))
    assert f'href="/account/applications/{application.number}/step/0/"' in html
    assert f"Continue application {application.number}" in html


@pytest.mark.parametrize("method", ["get", "post"])
def test_start_refuses_services_without_online_applications(service, agency, citizen, method):
    factories.published_service(agency=agency, code="leaflet")
    client = english(citizen)
    response = getattr(client, method)("/services/leaflet/apply/")
    assert response.status_code == 404
    assert "This service does not take applications online." in page(response)
    assert getattr(client, method)("/services/nothing/apply/").status_code == 404
    assert Application.objects.count() == 0


def test_start_needs_a_signed_in_citizen(service, official):
    anonymous = Client().post("/services/certificate/apply/")
    assert anonymous.status_code == 302
    assert anonymous["Location"] == "/login/?next=/services/certificate/apply/"
    assert english(official).post("/services/certificate/apply/").status_code == 403
    assert Application.objects.count() == 0


def test_start_is_protected_from_cross_site_requests(service, citizen):
    client = Client(enforce_csrf_checks=True)
    client.force_login(citizen)
    assert client.post("/services/certificate/apply/").status_code == 403
    assert Application.objects.count() == 0


# --- the steps -----------------------------------------------------------------------------


def step_url(application: Application, index: int) -> str:
    return f"/account/applications/{application.number}/step/{index}/"


def test_first_step_asks_only_what_the_registers_do_not_know(service, citizen):
    application = draft(citizen)
    response = english(citizen).get(step_url(application, 0))
    assert response.status_code == 200
    html = page(response)
    assert '<h1 class="govuk-fieldset__heading">About you eng</h1>' in html
    assert "Step 1 of 2" in html
    # What the registers gave is shown with its source and is not an input.
    assert "Сәрсенова" in html
    assert "From the population register" in html
    assert 'name="last_name"' not in html and 'name="birth_date"' not in html
    born = validate_iin(str(citizen.iin)).birth_date.strftime("%d.%m.%Y")
    assert born in html
    # The other fields are generated from the schema, with labels and hints.
    assert '<label class="govuk-label" for="field-phone">Phone eng</label>' in html
    assert '<div id="field-phone-hint" class="govuk-hint">Starting with +7 eng</div>' in html
    assert 'aria-describedby="field-phone-hint"' in html
    assert 'type="email"' in html and "Email eng (optional)" in html
    assert 'href="/services/certificate/apply/"' in html  # back


def test_second_step_has_an_input_of_the_right_kind_for_every_field(service, citizen):
    application = draft(citizen)
    services.application_save(application=application, applicant=citizen, values=STEP_ONE, step=0)
    html = page(english(citizen).get(step_url(application, 1)))
    assert '<select class="govuk-select" id="field-purpose" name="purpose">' in html
    assert '<option value="work">For work eng</option>' in html
    assert 'id="field-copies" name="copies" type="text" inputmode="numeric"' in html
    assert 'class="govuk-checkboxes__input" id="field-urgent" name="urgent" type="checkbox"' in html
    assert '<textarea class="govuk-textarea" id="field-details" name="details"' in html
    assert 'id="field-visit_date" name="visit_date" type="date"' in html
    assert f'href="{step_url(application, 0)}"' in html  # back to the first step


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_steps_are_in_the_readers_language(service, citizen, lang):
    application = draft(citizen)
    html = page(in_language(client_for(citizen), lang).get(step_url(application, 0)))
    assert f'<html lang="{lang}"' in html
    assert f"About you {text('x')[lang][2:]}" in html
    assert f"Phone {text('x')[lang][2:]}" in html


def test_saving_a_step_keeps_the_answers_and_moves_on(service, citizen):
    application = draft(citizen)
    response = english(citizen).post(step_url(application, 0), STEP_ONE)
    assert response.status_code == 302
    assert response["Location"] == step_url(application, 1)
    saved = reload(application)
    assert saved.answers == {"phone": "+77011234567", "email": "aigerim@example.kz"}
    assert saved.form_step == 1
    response = english(citizen).post(
        step_url(application, 1), {**STEP_TWO, "visit_date": "31.03.2026"}
    )
    assert response["Location"] == f"/account/applications/{application.number}/review/"
    assert reload(application).answers == {
        **saved.answers,
        "purpose": "work",
        "copies": 2,
        "urgent": True,
        "visit_date": "2026-03-31",
    }


def test_lists_and_groups_of_fields(service, citizen):
    application = draft(citizen)
    services.application_save(application=application, applicant=citizen, values=STEP_ONE, step=0)
    client = english(citizen)
    html = page(client.get(step_url(application, 1)))
    assert (
        '<legend class="govuk-fieldset__legend govuk-fieldset__legend--s">Languages eng (optional)</legend>'
        in html
    )
    assert 'id="field-languages" name="languages" type="checkbox" value="kk"' in html
    assert 'id="field-languages-2" name="languages" type="checkbox" value="ru"' in html
    assert '<label class="govuk-label" for="field-address-city">City</label>' in html
    assert 'id="field-address-floor" name="address.floor" type="text"' in html
    response = client.post(
        step_url(application, 1),
        {**STEP_TWO, "languages": ["kk", "ru"], "address.city": "Астана", "address.floor": "3rd"},
    )
    assert response.status_code == 400
    html = page(response)
    assert '<a href="#field-address-floor">Floor: Enter a whole number.</a>' in html
    response = client.post(
        step_url(application, 1),
        {**STEP_TWO, "languages": ["kk", "ru"], "address.city": "Астана", "address.floor": ""},
    )
    assert response.status_code == 302
    saved = reload(application).answers
    assert saved["languages"] == ["kk", "ru"]
    assert saved["address"] == {"city": "Астана"}
    html = page(client.get(review_url(application)))
    assert "Kazakh eng, Russian eng" in html
    assert "Астана" in html


def test_an_optional_answer_can_be_taken_back(service, citizen):
    application = filled(citizen)
    english(citizen).post(step_url(application, 0), {**STEP_ONE, "email": ""})
    assert "email" not in reload(application).answers


def test_what_the_registers_gave_cannot_be_changed_from_the_form(service, citizen):
    application = draft(citizen)
    english(citizen).post(step_url(application, 0), {**STEP_ONE, "last_name": "Иванова"})
    saved = reload(application)
    assert saved.prefilled["last_name"]["value"] == "Сәрсенова"
    assert "last_name" not in saved.answers


def test_a_saved_step_shows_the_answers_again(service, citizen):
    application = filled(citizen)
    html = page(english(citizen).get(step_url(application, 1)))
    assert '<option value="work" selected>For work eng</option>' in html
    assert 'value="2"' in html
    assert 'type="checkbox" value="true" checked' in html


def test_unticking_a_box_saves_no(service, citizen):
    application = filled(citizen)
    english(citizen).post(step_url(application, 1), {**STEP_TWO, "urgent": ""})
    assert reload(application).answers["urgent"] is False


def test_problems_are_shown_next_to_the_fields_and_in_the_summary(service, citizen):
    application = draft(citizen)
    response = english(citizen).post(step_url(application, 0), {"phone": "8 701", "email": "x"})
    assert response.status_code == 400
    html = page(response)
    assert '<h2 class="govuk-error-summary__title">There is a problem</h2>' in html
    assert (
        '<a href="#field-phone">Phone eng: The value does not have the expected form.</a>' in html
    )
    assert (
        '<a href="#field-email">Email eng: Enter an email address, for example name@example.kz.</a>'
        in html
    )
    assert errors_of(html) == [
        '<span class="govuk-visually-hidden">Error:</span> The value does not have the expected form.',
        '<span class="govuk-visually-hidden">Error:</span> Enter an email address, for example name@example.kz.',
    ]
    assert 'aria-describedby="field-phone-hint field-phone-error"' in html
    assert 'value="8 701"' in html  # what was typed stays
    assert "<title>Error:" in html
    saved = reload(application)
    assert saved.answers == {}
    assert saved.form_step == 0


def test_required_and_typed_fields_are_checked(service, citizen):
    application = draft(citizen)
    services.application_save(application=application, applicant=citizen, values=STEP_ONE, step=0)
    response = english(citizen).post(
        step_url(application, 1), {"purpose": "", "copies": "many", "visit_date": "31.02.2026"}
    )
    assert response.status_code == 400
    html = page(response)
    assert '<a href="#field-purpose">Purpose eng: This field is required.</a>' in html
    assert '<a href="#field-copies">Copies eng: Enter a whole number.</a>' in html
    assert (
        '<a href="#field-visit_date">Visit date eng: Enter a date, for example 31.03.2026.</a>'
        in html
    )
    assert reload(application).form_step == 1


def test_steps_cannot_be_skipped(service, citizen):
    application = draft(citizen)
    client = english(citizen)
    response = client.get(step_url(application, 1))
    assert response.status_code == 302
    assert response["Location"] == step_url(application, 0)
    response = client.post(step_url(application, 1), STEP_TWO)
    assert response["Location"] == step_url(application, 0)
    assert reload(application).answers == {}
    assert client.get(step_url(application, 2)).status_code == 404
    review = client.get(f"/account/applications/{application.number}/review/")
    assert review["Location"] == step_url(application, 0)


def test_a_submitted_application_is_not_edited(service, citizen):
    application = submitted(citizen)
    response = english(citizen).post(step_url(application, 0), {"phone": "+77000000000"})
    assert response.status_code == 302
    assert response["Location"] == f"/account/applications/{application.number}/"
    assert reload(application).answers["phone"] == "+77011234567"


# --- review and submission ---------------------------------------------------------------


def review_url(application: Application) -> str:
    return f"/account/applications/{application.number}/review/"


def test_review_lists_every_answer_with_links_to_change_it(service, citizen):
    application = filled(citizen)
    response = english(citizen).get(review_url(application))
    assert response.status_code == 200
    html = page(response)
    assert '<h2 class="govuk-heading-m">About you eng</h2>' in html
    assert (
        '<dt class="govuk-summary-list__key">Phone eng</dt> <dd class="govuk-summary-list__value">+77011234567</dd>'
        in html
    )
    assert (
        f'href="{step_url(application, 0)}#field-phone">Change<span class="govuk-visually-hidden"> Phone eng</span>'
        in html
    )
    assert f'href="{step_url(application, 1)}#field-copies"' in html
    assert "For work eng" in html and "Yes" in html and "Not given" in html
    # Register values are listed with their source and cannot be changed.
    assert 'Сәрсенова<br><span class="govuk-body-s">From the population register</span>' in html
    assert "#field-last_name" not in html
    keys = re.findall(r'name="idempotency_key" value="([^"]+)"', html)
    assert len(keys) == 1 and len(keys[0]) >= 24
    again = page(english(citizen).get(review_url(application)))
    assert re.findall(r'name="idempotency_key" value="([^"]+)"', again) != keys


def test_submitting_starts_the_case(service, citizen):
    application = filled(citizen)
    client = english(citizen)
    response = client.post(review_url(application), {"idempotency_key": "key-1"})
    assert response.status_code == 302
    assert response["Location"] == f"/account/applications/{application.number}/"
    saved = reload(application)
    assert saved.status == Status.ACTIVE
    assert saved.idempotency_key == "key-1"
    assert saved.step == "review"
    html = page(client.get(response["Location"]))
    assert f"Application {application.number} was submitted." in html


def test_a_double_click_submits_once(service, citizen):
    application = filled(citizen)
    client = english(citizen)
    first = client.post(review_url(application), {"idempotency_key": "key-1"})
    second = client.post(review_url(application), {"idempotency_key": "key-1"})
    assert first["Location"] == second["Location"] == f"/account/applications/{application.number}/"
    actions = list(
        CaseEvent.objects.filter(application=application).values_list("action", flat=True)
    )
    assert actions == ["created", "submit"]


def test_a_refused_submission_links_each_problem_to_its_step(sale, citizen):
    application = draft(citizen, "sale")
    values = {"buyer_iin": citizen.iin, "price": "100"}
    services.application_save(application=application, applicant=citizen, values=values, step=0)
    response = english(citizen).post(review_url(application), {"idempotency_key": "k"})
    assert response.status_code == 400
    html = page(response)
    assert (
        f'<a href="{step_url(application, 0)}#field-buyer_iin">Buyer&#x27;s IIN eng: The other party cannot be you.</a>'
        in html
    )
    assert reload(application).status == Status.DRAFT
    assert not Party.objects.exists()


# --- My applications ------------------------------------------------------------------------


def test_my_applications_lists_the_applicants_applications(service, citizen, other):
    mine = submitted(citizen)
    unfinished = draft(citizen)
    theirs = submitted(other)
    response = english(citizen).get("/account/applications/")
    assert response.status_code == 200
    html = page(response)
    assert html.index(unfinished.number) < html.index(mine.number)  # newest first
    assert theirs.number not in html
    assert "Service eng" in html
    assert '<strong class="govuk-tag ">Being processed</strong>' in html
    assert '<strong class="govuk-tag govuk-tag--grey">Draft</strong>' in html
    assert f'href="{step_url(unfinished, 0)}">Continue' in html
    assert "Not submitted yet" in html
    assert mine.submitted_at is not None and mine.deadline is not None
    assert mine.deadline.strftime("%-d.%m.%Y") in html
    assert "Waiting for your confirmation" not in html


def test_my_applications_when_there_are_none(service, citizen):
    html = page(english(citizen).get("/account/applications/"))
    assert "You have not applied for anything online yet." in html
    assert "<table" not in html


def test_my_applications_lists_what_waits_for_my_confirmation(sale, citizen, other):
    application = sold(citizen, other)
    html = page(english(other).get("/account/applications/"))
    assert "Waiting for your confirmation" in html
    assert f'href="/account/applications/{application.number}/"' in html
    assert citizen.full_name in html


def test_my_applications_reads_a_fixed_number_of_queries(
    service, citizen, django_assert_max_num_queries
):
    for _ in range(3):
        submitted(citizen)
    draft(citizen)
    client = english(citizen)
    client.get("/account/applications/")  # sessions, language and the like warmed up
    with django_assert_max_num_queries(8):
        assert client.get("/account/applications/").status_code == 200


def test_the_account_page_links_to_my_applications(citizen):
    html = page(english(citizen).get("/account/"))
    assert '<a class="govuk-link" href="/account/applications/">My applications</a>' in html


# --- an application's page -----------------------------------------------------------------


def detail_url(application: Application) -> str:
    return f"/account/applications/{application.number}/"


def test_the_page_of_a_submitted_application(service, citizen):
    application = submitted(citizen)
    response = english(citizen).get(detail_url(application))
    assert response.status_code == 200
    html = page(response)
    assert f"Application {application.number}</h1>" in html
    assert "Being processed" in html
    assert "The agency is processing your application." in html
    assert application.deadline is not None
    assert application.deadline.strftime("%-d.%m.%Y") in html
    assert '<strong class="govuk-tag govuk-tag--green">On time</strong>' in html
    assert "History of this application" in html
    for what in ("Draft started", "Application submitted"):
        assert what in html
    assert "Now at: Review eng" in html
    assert f'href="/account/applications/{application.number}/withdraw/"' in html


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_the_page_is_in_the_readers_language(service, citizen, lang):
    application = submitted(citizen)
    html = page(in_language(client_for(citizen), lang).get(detail_url(application)))
    assert f'<html lang="{lang}"' in html
    assert text("Review")[lang] in html
    assert text("Service")[lang] in html
    with translation.override(lang):
        assert translation.gettext("Being processed") in html
        assert translation.gettext("Application submitted") in html


def test_the_page_of_a_draft_offers_to_continue(service, citizen):
    application = draft(citizen)
    html = page(english(citizen).get(detail_url(application)))
    assert "Your application has not been submitted yet." in html
    assert f'href="{step_url(application, 0)}">Continue the application' in html


def test_a_question_from_the_agency_is_answered_on_the_page(service, citizen, official):
    application = submitted(citizen)
    services.case_act(
        application=application, official=official, action="request_info", note="Which employer?"
    )
    client = english(citizen)
    html = page(client.get(detail_url(application)))
    assert "Waiting for your information" in html
    assert "Which employer?" in html
    assert '<strong class="govuk-tag govuk-tag--grey">Paused until you answer</strong>' in html
    assert f'action="/account/applications/{application.number}/answer/"' in html

    empty = client.post(f"/account/applications/{application.number}/answer/", {"answer": " "})
    assert empty.status_code == 400
    assert '<a href="#answer">Write an answer of at most 2,000 characters.</a>' in page(empty)
    assert reload(application).status == Status.PAUSED

    response = client.post(
        f"/account/applications/{application.number}/answer/", {"answer": "Kaspi Bank"}
    )
    assert response.status_code == 302
    assert reload(application).status == Status.ACTIVE
    html = page(client.get(detail_url(application)))
    assert "Information provided" in html
    assert "The agency asked for information" in html
    assert "Your answer was sent." in html


def test_answering_when_nothing_is_asked_is_refused(service, citizen):
    application = submitted(citizen)
    response = english(citizen).post(
        f"/account/applications/{application.number}/answer/", {"answer": "Hello"}
    )
    assert response.status_code == 409
    assert "No information is being asked for." in page(response)
    assert not CaseEvent.objects.filter(action="provide_info").exists()


def test_a_decision_is_shown_with_its_reason(service, citizen, official):
    application = submitted(citizen)
    services.case_act(
        application=application, official=official, action="approve", note="All in order."
    )
    html = page(english(citizen).get(detail_url(application)))
    assert '<strong class="govuk-tag govuk-tag--green">Approved</strong>' in html
    assert "Your application was approved" in html
    assert "What you receive: Result eng" in html
    assert "All in order." in html
    assert "/withdraw/" not in html
    assert "An official" in html


def test_an_automatic_decision_shows_what_was_checked(automatic, citizen, other):
    application = draft(citizen, "automatic")
    values = {"buyer_iin": other.iin, "price": "10"}
    services.application_save(application=application, applicant=citizen, values=values, step=0)
    services.application_submit(application=application, applicant=citizen)
    client = english(citizen)
    assert "What was checked automatically" not in page(client.get(detail_url(application)))
    services.work_once()
    assert reload(application).status == Status.APPROVED
    html = page(client.get(detail_url(application)))
    assert "What was checked automatically" in html
    assert (
        '<dt class="govuk-summary-list__key">The applicant is an adult eng</dt>'
        '<dd class="govuk-summary-list__value">Met</dd>'
    ) in html
    assert "Automatic processing" in html


def test_officials_internal_notes_are_not_shown(service, citizen, official, agency):
    application = submitted(citizen)
    head = factories.member(agency, Role.HEAD, username="head-of-unit")
    services.case_assign(application=application, head=head, assignee=official)
    html = page(english(citizen).get(detail_url(application)))
    assert "Assigned to an official" in html
    assert official.username not in html


# --- withdrawing ----------------------------------------------------------------------------


def test_withdrawing_asks_for_confirmation(service, citizen):
    application = submitted(citizen)
    client = english(citizen)
    url = f"/account/applications/{application.number}/withdraw/"
    html = page(client.get(url))
    assert f"Are you sure you want to withdraw application {application.number}?" in html
    assert reload(application).status == Status.ACTIVE
    response = client.post(url)
    assert response.status_code == 302
    assert reload(application).status == Status.WITHDRAWN
    html = page(client.get(detail_url(application)))
    assert f"Application {application.number} was withdrawn." in html
    assert '<strong class="govuk-tag govuk-tag--grey">Withdrawn</strong>' in html
    assert "/withdraw/" not in html


def test_a_draft_can_be_withdrawn(service, citizen):
    application = draft(citizen)
    english(citizen).post(f"/account/applications/{application.number}/withdraw/")
    assert reload(application).status == Status.WITHDRAWN


def test_a_closed_application_cannot_be_withdrawn(service, citizen):
    application = submitted(citizen)
    services.application_withdraw(application=application, applicant=citizen)
    response = english(citizen).post(f"/account/applications/{application.number}/withdraw/")
    assert response.status_code == 302
    assert CaseEvent.objects.filter(application=application, action="withdraw").count() == 1


# --- parties --------------------------------------------------------------------------------


def test_the_party_confirms(sale, citizen, other):
    application = sold(citizen, other)
    client = english(other)
    html = page(client.get(detail_url(application)))
    assert "Your confirmation is needed" in html
    assert f"{citizen.full_name} named you in this application." in html
    assert "1500000" in html and "Price eng" in html
    assert 'name="response" value="confirm"' in html
    assert "History of this application" not in html
    assert "/withdraw/" not in html
    response = client.post(
        f"/account/applications/{application.number}/respond/", {"response": "confirm"}
    )
    assert response.status_code == 302
    assert reload(application).status == Status.ACTIVE
    html = page(client.get(detail_url(application)))
    assert f"You confirmed application {application.number}." in html
    assert "Your answer has been recorded." in html
    applicant_view = page(english(citizen).get(detail_url(application)))
    assert "The other party confirmed" in applicant_view
    assert "Processing started" in applicant_view


def test_the_party_declines(sale, citizen, other):
    application = sold(citizen, other)
    response = english(other).post(
        f"/account/applications/{application.number}/respond/", {"response": "decline"}
    )
    assert response.status_code == 302
    assert reload(application).status == Status.WITHDRAWN
    assert "The other party declined" in page(english(citizen).get(detail_url(application)))


def test_the_party_answers_once(sale, citizen, other):
    application = sold(citizen, other)
    url = f"/account/applications/{application.number}/respond/"
    english(other).post(url, {"response": "confirm"})
    again = english(other).post(url, {"response": "decline"})
    assert again.status_code == 409
    assert "Your answer is no longer needed." in page(again)
    assert reload(application).status == Status.ACTIVE


def test_a_response_must_be_confirm_or_decline(sale, citizen, other):
    application = sold(citizen, other)
    url = f"/account/applications/{application.number}/respond/"
    assert english(other).post(url, {"response": "maybe"}).status_code == 400
    assert reload(application).status == Status.AWAITING_PARTIES


def test_the_applicant_waits_for_the_party(sale, citizen, other):
    application = sold(citizen, other)
    html = page(english(citizen).get(detail_url(application)))
    assert "Waiting for the other party" in html
    assert "The other party named in your application has been asked to confirm it." in html
    assert 'name="response"' not in html
    response = english(citizen).post(
        f"/account/applications/{application.number}/respond/", {"response": "confirm"}
    )
    assert response.status_code == 404
    assert reload(application).status == Status.AWAITING_PARTIES


# --- who may see what -----------------------------------------------------------------------

PAGES = [
    ("get", "/account/applications/{number}/"),
    ("get", "/account/applications/{number}/step/0/"),
    ("get", "/account/applications/{number}/review/"),
    ("get", "/account/applications/{number}/withdraw/"),
    ("post", "/account/applications/{number}/withdraw/"),
    ("post", "/account/applications/{number}/answer/"),
    ("post", "/account/applications/{number}/respond/"),
]


@pytest.mark.parametrize(("method", "path"), PAGES)
def test_another_citizen_is_told_there_is_no_such_application(
    service, citizen, other, method, path
):
    application = filled(citizen)
    response = getattr(english(other), method)(
        path.format(number=application.number), {"answer": "x", "response": "confirm"}
    )
    assert response.status_code == 404
    assert "There is no such application." in page(response)
    assert reload(application).status == Status.DRAFT


@pytest.mark.parametrize(("method", "path"), [*PAGES, ("get", "/account/applications/")])
def test_anonymous_visitors_are_sent_to_sign_in(service, citizen, method, path):
    application = filled(citizen)
    url = path.format(number=application.number)
    response = getattr(Client(), method)(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")
    assert reload(application).status == Status.DRAFT


@pytest.mark.parametrize(("method", "path"), [*PAGES, ("get", "/account/applications/")])
def test_officials_have_no_such_pages(service, citizen, official, method, path):
    application = submitted(citizen)
    response = getattr(english(official), method)(path.format(number=application.number))
    assert response.status_code == 403
    assert reload(application).status == Status.ACTIVE


def test_a_party_sees_only_the_application_naming_them(sale, citizen, other):
    application = sold(citizen, other)
    stranger = factories.UserFactory()
    assert english(stranger).get(detail_url(application)).status_code == 404
    assert english(other).get(detail_url(application)).status_code == 200
    # A party is not the applicant: the applicant's pages stay closed to them.
    for path in ("step/0/", "review/", "withdraw/"):
        assert english(other).get(detail_url(application) + path).status_code == 404
    assert selectors.application_for_party(application.number, other) == application


def test_an_unknown_number_is_not_found(service, citizen):
    response = english(citizen).get("/account/applications/A2026-9999999/")
    assert response.status_code == 404
