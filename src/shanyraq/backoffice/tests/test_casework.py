"""The officials' side of casework: the queue, a case and its actions, the workload of a unit.

Applications are made the way citizens make them (casework services, then the worker), for
a test service whose rules leave the decision to a person: it is reviewed by a reviewer and
signed by the head of unit.
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone, translation

from shanyraq.access_log.models import AccessRecord
from shanyraq.accounts.models import Role
from shanyraq.backoffice import casework as views
from shanyraq.casework import services as casework
from shanyraq.casework.models import Application, CaseEvent, Comment, InfoRequest, Status
from shanyraq.conftest import client_for as signed_in
from shanyraq.core.national_id import validate_iin
from shanyraq.ledger_django import config
from shanyraq.ledger_django.models import Entry
from shanyraq.registries import services as register_services
from shanyraq.registries.definitions import registers_define_all
from shanyraq.testing import factories
from shanyraq.testing.factories import text

pytestmark = pytest.mark.django_db

FORM: dict[str, Any] = {
    "schema": {
        "type": "object",
        "required": ["purpose", "children"],
        "properties": {
            "purpose": {"type": "string", "minLength": 1, "maxLength": 200},
            "children": {"type": "integer", "minimum": 0, "maximum": 20},
            "kind": {"type": "string", "enum": ["first", "renewal"]},
            "birth_date": {"type": "string", "format": "date"},
        },
    },
    "ui": {
        "steps": [
            {
                "key": "about",
                "title": text("About you"),
                "fields": ["purpose", "children", "kind", "birth_date"],
            }
        ],
        "labels": {
            "purpose": text("Purpose"),
            "children": text("Children"),
            "kind": text("Kind"),
            "birth_date": text("Birth date"),
        },
        "enum_labels": {"kind": {"first": text("First time"), "renewal": text("Renewal")}},
        "prefill": {"birth_date": "population.birth_date"},
    },
}
PROCESS: dict[str, Any] = {
    "start": "registration",
    "steps": [
        {"id": "registration", "kind": "auto"},
        {"id": "eligibility", "kind": "auto"},
        {
            "id": "review",
            "kind": "task",
            "role": "reviewer",
            "deadline_days": 5,
            "label": text("Review"),
        },
        {
            "id": "signing",
            "kind": "task",
            "role": "head",
            "deadline_days": 2,
            "label": text("Signing"),
        },
    ],
    "transitions": [
        {"from": "registration", "action": "complete", "to": "eligibility"},
        {"from": "eligibility", "action": "approve", "to": "signing"},
        {"from": "eligibility", "action": "reject", "to": "rejected"},
        {"from": "eligibility", "action": "undecided", "to": "review"},
        {"from": "review", "action": "approve", "to": "signing"},
        {"from": "review", "action": "reject", "to": "rejected"},
        {"from": "review", "action": "request_info", "to": "review"},
        {"from": "review", "action": "return", "to": "registration"},
        {"from": "signing", "action": "sign", "to": "approved"},
        {"from": "signing", "action": "return", "to": "review"},
    ],
}
# With children and a population record but no spouse on it, the rules cannot decide.
RULES: dict[str, Any] = {
    "decide": "all",
    "conditions": [
        {
            "id": "has_children",
            "label": text("Has children"),
            "rule": {">": [{"var": "answers.children"}, 0]},
        },
        {
            "id": "citizen",
            "label": text("Is a citizen"),
            "rule": {"==": [{"var": "person.citizenship"}, "KAZ"]},
        },
        {
            "id": "spouse",
            "label": text("Spouse known"),
            "rule": {"!!": [{"var": "person.spouse_iin"}]},
        },
    ],
}


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
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


@pytest.fixture
def registers(db):
    return registers_define_all()


@pytest.fixture
def service(agency, registers):
    return factories.published_service(
        agency=agency, code="family-benefit", form=FORM, process=PROCESS, rules=RULES
    ).service


@pytest.fixture
def other_service(agency):
    return factories.published_service(
        agency=agency,
        code="second-benefit",
        name=text("Second benefit"),
        form=FORM,
        process=PROCESS,
        rules=RULES,
    ).service


@pytest.fixture
def reviewer(agency):
    return factories.member(agency, Role.REVIEWER, first_name="Reviewer", last_name="One")


@pytest.fixture
def reviewer2(agency):
    return factories.member(agency, Role.REVIEWER, first_name="Reviewer", last_name="Two")


@pytest.fixture
def head(agency):
    return factories.member(agency, Role.HEAD, first_name="Head", last_name="Ofunit")


@pytest.fixture
def stranger(other_agency):
    """A reviewer of another agency."""
    return factories.member(other_agency, Role.REVIEWER)


@pytest.fixture
def people(citizen, clerk, reviewer, head, stranger, agency_admin, auditor):
    return {
        "anonymous": None,
        "citizen": citizen,
        "clerk": clerk,
        "reviewer": reviewer,
        "head": head,
        "other_agency_official": stranger,
        "agency_admin": agency_admin,
        "auditor": auditor,
    }


def client_for(user, lang: str = "en") -> Client:
    """A browser signed in as ``user`` (None: nobody), reading pages in ``lang``."""
    client = signed_in(user)
    client.cookies["shanyraq_language"] = lang
    return client


def person_record(user, **changes: Any) -> None:
    iin = validate_iin(user.iin)
    data = {
        "iin": user.iin,
        "last_name": "Нұрланова",
        "first_name": "Айгерім",
        "birth_date": iin.birth_date.isoformat(),
        "sex": "F",
        "citizenship": "KAZ",
        "marital_status": "single",
        **changes,
    }
    register_services.record_create(
        register="population", data=data, actor=None, agency=None, basis="test"
    )


def apply(applicant, service, *, children: int = 2, kind: str = "first") -> Application:
    """An application made and submitted by ``applicant``, processed by the worker."""
    application = casework.application_start(applicant=applicant, service_code=service.code)
    casework.application_save(
        application=application,
        applicant=applicant,
        values={"purpose": "For my family", "children": str(children), "kind": kind},
    )
    casework.application_submit(application=application, applicant=applicant)
    casework.work_once()
    application.refresh_from_db()
    return application


@pytest.fixture
def applicant(registers):
    user = factories.UserFactory(first_name="Aigerim", last_name="Nurlanova")
    mother = factories.next_iin()
    person_record(
        user,
        birth_place={"country": "KAZ", "locality": "Almaty"},
        parents=[{"iin": mother, "relation": "adoptive_mother"}],
    )
    user.mother_iin = mother
    return user


@pytest.fixture
def case(service, applicant) -> Application:
    application = apply(applicant, service)
    assert (application.status, application.step) == (Status.ACTIVE, "review")
    return application


def at_signing(case: Application, reviewer) -> Application:
    casework.case_act(application=case, official=reviewer, action="approve", note="All good")
    case.refresh_from_db()
    assert case.step == "signing"
    return case


def page_of(response) -> str:
    return response.content.decode()


def events(case: Application) -> list[str]:
    return list(CaseEvent.objects.filter(application=case).values_list("action", flat=True))


# --- who may come in ----------------------------------------------------------------------


def matrix(number: str) -> dict[str, dict[str, int]]:
    """Expected status per person for each page; 302 means "sent to the staff sign-in"."""
    return {
        "/backoffice/cases/": {
            "anonymous": 302,
            "citizen": 403,
            "clerk": 200,
            "reviewer": 200,
            "head": 200,
            "other_agency_official": 200,
            "agency_admin": 403,
            "auditor": 403,
        },
        f"/backoffice/cases/{number}/": {
            "anonymous": 302,
            "citizen": 403,
            "clerk": 200,
            "reviewer": 200,
            "head": 200,
            "other_agency_official": 404,
            "agency_admin": 403,
            "auditor": 403,
        },
        "/backoffice/cases/workload/": {
            "anonymous": 302,
            "citizen": 403,
            "clerk": 403,
            "reviewer": 403,
            "head": 200,
            "other_agency_official": 403,
            "agency_admin": 403,
            "auditor": 403,
        },
    }


def test_read_matrix(people, case):
    for path, expected_by_person in matrix(case.number).items():
        for who, expected in expected_by_person.items():
            response = client_for(people[who]).get(path)
            assert response.status_code == expected, (path, who, response.status_code)
            if expected == 302:
                assert response["Location"].startswith("/staff/login/")


def test_the_applicant_cannot_open_their_own_case_in_the_back_office(applicant, case):
    assert client_for(applicant).get(f"/backoffice/cases/{case.number}/").status_code == 403


WRITES = {
    "take": {},
    "comment": {"text": "Looks fine"},
    "act": {"action": "approve", "note": "Eligible"},
    "assign": {},
}


@pytest.mark.parametrize(
    "who", ["anonymous", "citizen", "agency_admin", "auditor", "other_agency_official"]
)
@pytest.mark.parametrize("what", list(WRITES))
def test_people_who_do_not_work_the_case_change_nothing(people, case, reviewer, who, what):
    data = dict(WRITES[what])
    if what == "assign":
        data["assignee"] = str(reviewer.pk)
    before = events(case)
    response = client_for(people[who]).post(f"/backoffice/cases/{case.number}/{what}/", data)
    expected = {"anonymous": 302, "other_agency_official": 404}.get(who, 403)
    assert response.status_code == expected
    case.refresh_from_db()
    assert (events(case), case.assignee_id, case.step) == (before, None, "review")
    assert Comment.objects.count() == 0


def test_a_clerk_sees_the_case_but_cannot_work_a_reviewers_step(clerk, case):
    client = client_for(clerk)
    page = page_of(client.get(f"/backoffice/cases/{case.number}/"))
    assert "Your role does not handle this step." in page
    assert "Take this case" not in page
    assert f"/backoffice/cases/{case.number}/act/" not in page
    before = events(case)
    response = client.post(f"/backoffice/cases/{case.number}/take/")
    assert response.status_code == 403
    assert "Your role does not handle this step." in page_of(response)
    response = client.post(
        f"/backoffice/cases/{case.number}/act/", {"action": "approve", "note": "ok"}
    )
    assert response.status_code == 400
    assert "This action is not possible now." in page_of(response)
    case.refresh_from_db()
    assert (events(case), case.assignee_id, case.step) == (before, None, "review")


def test_a_reviewer_cannot_assign_cases(reviewer, reviewer2, case):
    response = client_for(reviewer).post(
        f"/backoffice/cases/{case.number}/assign/", {"assignee": str(reviewer2.pk)}
    )
    assert response.status_code == 403
    assert "Only the head of the unit assigns cases." in page_of(response)
    case.refresh_from_db()
    assert case.assignee_id is None


def test_forged_numbers_and_other_agencies_cases_are_not_found(reviewer, stranger, case):
    client = client_for(reviewer)
    for path in ["", "take/", "comment/", "act/", "assign/"]:
        method = client.get if path == "" else client.post
        assert method(f"/backoffice/cases/A2000-9999999/{path}").status_code == 404
    draft = casework.application_start(applicant=case.applicant, service_code="family-benefit")
    assert client.get(f"/backoffice/cases/{draft.number}/").status_code == 404
    assert client_for(stranger).get(f"/backoffice/cases/{case.number}/").status_code == 404


def test_actions_are_posts_with_a_csrf_token(reviewer, case):
    client = client_for(reviewer)
    for action in ["take", "comment", "act", "assign"]:
        assert client.get(f"/backoffice/cases/{case.number}/{action}/").status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(reviewer)
    assert strict.post(f"/backoffice/cases/{case.number}/take/").status_code == 403
    case.refresh_from_db()
    assert case.assignee_id is None


def test_the_dashboard_links_officials_to_their_queue(clerk, agency_admin):
    assert "/backoffice/cases/" in page_of(client_for(clerk).get("/backoffice/"))
    assert "/backoffice/cases/" not in page_of(client_for(agency_admin).get("/backoffice/"))


# --- the queue ----------------------------------------------------------------------------


def numbers_in(response) -> list[str]:
    assert response.status_code == 200, page_of(response)[:2000]
    return [row.application.number for row in response.context["rows"]]


def test_the_queue_shows_open_cases_at_the_steps_the_role_handles(
    service, applicant, citizen, reviewer, head, clerk, stranger
):
    person_record(citizen)
    in_review = apply(applicant, service)
    at_signing(apply(applicant, service), reviewer)
    signing = Application.objects.get(step="signing")
    rejected = apply(citizen, service, children=0)
    assert rejected.status == Status.REJECTED
    assert numbers_in(client_for(reviewer).get("/backoffice/cases/")) == [in_review.number]
    assert sorted(numbers_in(client_for(head).get("/backoffice/cases/"))) == sorted(
        [in_review.number, signing.number]
    )
    assert numbers_in(client_for(clerk).get("/backoffice/cases/")) == []
    assert numbers_in(client_for(stranger).get("/backoffice/cases/")) == []


def test_the_queue_row_has_the_service_step_deadline_assignee_and_take(reviewer, case):
    page = page_of(client_for(reviewer).get("/backoffice/cases/"))
    assert f'href="/backoffice/cases/{case.number}/"' in page
    assert "Service eng" in page
    assert "Review eng" in page
    assert case.deadline.strftime("%-d.%m.%Y") in page
    assert '<strong class="govuk-tag govuk-tag--green">On time</strong>' in page
    assert "Nobody yet" in page
    assert f'action="/backoffice/cases/{case.number}/take/"' in page
    assert f"case {case.number}</span>" in page  # the Take button says which case


@pytest.mark.parametrize(
    ("days", "label", "colour"),
    [
        (3, "On time", "green"),
        (0, "Due today", "yellow"),
        (-1, "Overdue", "red"),
    ],
)
def test_deadlines_are_told_in_words_and_colour(reviewer, case, days, label, colour):
    deadline = timezone.localdate() + datetime.timedelta(days=days)
    Application.objects.filter(pk=case.pk).update(deadline=deadline)
    response = client_for(reviewer).get("/backoffice/cases/")
    assert f'<strong class="govuk-tag govuk-tag--{colour}">{label}</strong>' in page_of(response)
    response = client_for(reviewer).get(f"/backoffice/cases/{case.number}/")
    assert f'<strong class="govuk-tag govuk-tag--{colour}">{label}</strong>' in page_of(response)


def test_a_case_waiting_for_the_applicant_says_so(reviewer, case):
    casework.case_act(
        application=case, official=reviewer, action="request_info", note="Send the certificate"
    )
    page = page_of(client_for(reviewer).get("/backoffice/cases/?state=paused"))
    assert case.number in page
    assert '<strong class="govuk-tag govuk-tag--grey">Waiting for the applicant</strong>' in page
    page = page_of(client_for(reviewer).get(f"/backoffice/cases/{case.number}/"))
    assert "The case is waiting for the applicant’s answer." in page
    assert "Send the certificate" in page
    assert "Not answered yet" in page


def test_the_queue_filters_by_service_step_state_and_mine(
    service, other_service, applicant, head, reviewer
):
    first = apply(applicant, service)
    second = apply(applicant, other_service)
    third = at_signing(apply(applicant, service), reviewer)
    Application.objects.filter(pk=first.pk).update(deadline=timezone.localdate())
    casework.case_take(application=second, official=head)
    client = client_for(head)
    assert sorted(numbers_in(client.get("/backoffice/cases/?service=second-benefit"))) == [
        second.number
    ]
    assert sorted(numbers_in(client.get("/backoffice/cases/?step=signing"))) == [third.number]
    assert numbers_in(client.get("/backoffice/cases/?state=due_today")) == [first.number]
    assert numbers_in(client.get("/backoffice/cases/?mine=on")) == [second.number]
    assert numbers_in(client.get("/backoffice/cases/?state=overdue")) == []
    page = page_of(client.get("/backoffice/cases/?service=second-benefit"))
    assert '<option value="second-benefit" selected>Second benefit eng</option>' in page
    assert '<option value="review">Review eng</option>' in page


def test_the_queue_sorts_by_deadline_submission_or_number(service, applicant, reviewer):
    cases = [apply(applicant, service) for _ in range(3)]
    today = timezone.localdate()
    for offset, application in zip([5, 1, 3], cases, strict=True):
        Application.objects.filter(pk=application.pk).update(
            deadline=today + datetime.timedelta(days=offset)
        )
    client = client_for(reviewer)
    by_deadline = [cases[1].number, cases[2].number, cases[0].number]
    assert numbers_in(client.get("/backoffice/cases/")) == by_deadline
    assert numbers_in(client.get("/backoffice/cases/?sort=deadline")) == by_deadline
    in_order = [c.number for c in cases]
    assert numbers_in(client.get("/backoffice/cases/?sort=submitted")) == in_order
    assert numbers_in(client.get("/backoffice/cases/?sort=number")) == in_order


@pytest.mark.parametrize("query", ["sort=random", "state=late", "service=nope", "step=eligibility"])
def test_unknown_filters_are_an_error_on_the_page(reviewer, case, query):
    response = client_for(reviewer).get(f"/backoffice/cases/?{query}")
    assert response.status_code == 400
    assert "There is a problem" in page_of(response)
    assert response.context["page"] is None


def test_the_queue_is_paginated(monkeypatch, service, applicant, reviewer):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    made = [apply(applicant, service).number for _ in range(5)]
    client = client_for(reviewer)
    response = client.get("/backoffice/cases/?sort=number")
    assert numbers_in(response) == made[:2]
    page = page_of(response)
    assert "5 cases found" in page
    assert 'href="?sort=number&amp;page=2"' in page
    assert numbers_in(client.get("/backoffice/cases/?sort=number&page=3")) == made[4:]
    assert numbers_in(client.get("/backoffice/cases/?sort=number&page=99")) == made[4:]
    assert numbers_in(client.get("/backoffice/cases/?sort=number&page=x")) == made[:2]


def test_a_long_queue_is_counted_up_to_a_limit(monkeypatch, service, applicant, reviewer):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    monkeypatch.setattr(views, "QUEUE_COUNT_LIMIT", 3)
    made = [apply(applicant, service).number for _ in range(5)]
    client = client_for(reviewer)
    response = client.get("/backoffice/cases/?sort=number")
    page = page_of(response)
    assert "More than 3 cases found. Use the filters to narrow them." in page
    assert "5 cases found" not in page
    # The pages end at the limit: the second page is the last, with the third case.
    assert 'href="?sort=number&amp;page=2"' in page and "page=3" not in page
    assert numbers_in(client.get("/backoffice/cases/?sort=number&page=9")) == made[2:3]
    # A queue within the limit is counted exactly.
    monkeypatch.setattr(views, "QUEUE_COUNT_LIMIT", 5)
    assert "5 cases found" in page_of(client.get("/backoffice/cases/?sort=number"))


def test_the_queue_takes_as_many_queries_for_many_cases(
    django_assert_max_num_queries, service, other_service, applicant, head
):
    apply(applicant, service)
    client = client_for(head)
    client.get("/backoffice/cases/")  # the session and the user are loaded once
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get("/backoffice/cases/")
    for _ in range(4):
        apply(applicant, other_service)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/backoffice/cases/")
    assert len(response.context["rows"]) == 5


# --- the case -----------------------------------------------------------------------------


def test_the_case_shows_answers_facts_trace_and_history(reviewer, applicant, case):
    reads_before = AccessRecord.objects.filter(case_ref=case.number).count()
    response = client_for(reviewer).get(f"/backoffice/cases/{case.number}/")
    assert response.status_code == 200
    page = page_of(response)
    assert f"Application {case.number}" in page
    assert "Aigerim Nurlanova" in page
    assert applicant.iin in page
    # The answers, labelled from the form, an enumerated value by its label, and the source
    # of what the registers filled in.
    answers = {row.label: row.value for row in response.context["answers"]}
    birth_date = validate_iin(applicant.iin).birth_date.isoformat()
    assert answers == {
        "Purpose eng": "For my family",
        "Children eng": "2",
        "Kind eng": "First time eng",
        "Birth date eng": birth_date,
    }
    assert "From a register: population.birth_date" in page
    assert "No files are attached." in page
    # The register facts the rules see, and the read recorded in the data tracker.
    assert "Register facts" in page
    facts = response.context["facts"]
    assert [(block.name, block.register) for block in facts] == [
        ("The applicant", "Population register")
    ]
    rows = dict(facts[0].rows)
    assert rows["Surname"] == views.Shown(text="Нұрланова")
    assert rows["Citizenship"] == views.Shown(text="KAZ")
    assert rows["Place of birth"] == views.Shown(
        rows=(("Country", views.Shown(text="KAZ")), ("Locality", views.Shown(text="Almaty")))
    )
    assert rows["Parents"] == views.Shown(
        items=(
            views.Shown(
                rows=(
                    ("Iin", views.Shown(text=applicant.mother_iin)),
                    ("Relation", views.Shown(text="Adoptive mother")),
                )
            ),
        )
    )
    assert '<dt class="govuk-summary-list__key">Locality</dt>' in page
    assert AccessRecord.objects.filter(case_ref=case.number).count() == reads_before + 1
    # The data tracker names the official who opened the case, not the agency's system.
    read = AccessRecord.objects.filter(case_ref=case.number).latest("id")
    assert read.actor == response.wsgi_request.user
    # The rules' explanation: each condition with its label, the facts used and the outcome.
    trace = response.context["trace"]
    assert trace.outcome == "Undecided: a person decides"
    assert [(c.label, c.outcome, c.facts_used, c.missing) for c in trace.conditions] == [
        ("Has children eng", "Met", [("answers.children", "2")], []),
        ("Is a citizen eng", "Met", [("person.citizenship", "KAZ")], []),
        ("Spouse known eng", "Not known", [], ["person.spouse_iin"]),
    ]
    assert "salt" not in page
    # The timeline, oldest first.
    assert [row.label for row in response.context["timeline"]] == [
        "Draft started",
        "Submitted by the applicant",
        "Step completed",
        "The rules could not decide: a person decides",
    ]
    assert "Review eng" in page
    # What the reviewer may do now.
    assert [a.action for a in response.context["actions"]] == [
        "approve",
        "reject",
        "request_info",
        "return",
    ]
    assert "Take this case" in page
    assert response.context["assignable"] == []


def test_the_case_page_takes_as_many_queries_for_a_long_history(reviewer, head, case):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(head)
    path = f"/backoffice/cases/{case.number}/"
    client.get(path)
    casework.case_comment(application=case, official=reviewer, text="First")
    with CaptureQueriesContext(connection) as short:
        client.get(path)
    casework.case_take(application=case, official=reviewer)
    for n in range(5):
        casework.case_comment(application=case, official=head if n % 2 else reviewer, text=f"{n}")
    casework.case_act(application=case, official=reviewer, action="request_info", note="Why?")
    with CaptureQueriesContext(connection) as long:
        response = client.get(path)
    assert len(response.context["comments"]) == 6
    # The history, questions and comments are read in one query each; the assignee, once
    # there is one, is one more.
    assert len(long.captured_queries) <= len(short.captured_queries) + 1


def test_the_case_is_shown_in_the_officials_language(reviewer, case):
    client = client_for(reviewer, "ru")
    page = page_of(client.get(f"/backoffice/cases/{case.number}/"))
    assert "Purpose рус" in page
    assert "First time рус" in page
    assert "Has children рус" in page
    assert "Review рус" in page
    assert "Purpose eng" not in page


def test_a_case_without_a_register_record_says_so(service, citizen, reviewer):
    application = apply(citizen, service)
    page = page_of(client_for(reviewer).get(f"/backoffice/cases/{application.number}/"))
    assert "The register has no record for this." in page


def test_a_reviewer_takes_a_case(reviewer, reviewer2, case):
    client = client_for(reviewer)
    response = client.post(f"/backoffice/cases/{case.number}/take/")
    assert response.status_code == 302
    assert response["Location"] == f"/backoffice/cases/{case.number}/"
    case.refresh_from_db()
    assert case.assignee == reviewer
    assert events(case)[-1] == "taken"
    page = page_of(client.get(response["Location"]))
    assert "You have taken this case. It is in your queue." in page
    assert "Take this case" not in page
    assert numbers_in(client.get("/backoffice/cases/?mine=on")) == [case.number]
    # Another reviewer no longer gets a Take button, and taking it anyway is refused.
    other = client_for(reviewer2)
    assert response_rows_may_take(other.get("/backoffice/cases/")) == [False]
    response = other.post(f"/backoffice/cases/{case.number}/take/")
    assert response.status_code == 409
    assert "Another official has taken this case." in page_of(response)
    case.refresh_from_db()
    assert case.assignee == reviewer


def response_rows_may_take(response) -> list[bool]:
    return [row.may_take for row in response.context["rows"]]


def test_the_head_assigns_a_case_to_an_official_of_the_unit(head, reviewer, clerk, case):
    client = client_for(head)
    page = client.get(f"/backoffice/cases/{case.number}/")
    assert {u.pk for u in page.context["assignable"]} == {head.pk, reviewer.pk}
    response = client.post(
        f"/backoffice/cases/{case.number}/assign/", {"assignee": str(reviewer.pk)}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.assignee == reviewer
    assert events(case)[-1] == "assigned"
    assert "The case was assigned to Reviewer One." in page_of(client.get(response["Location"]))


@pytest.mark.parametrize("assignee", ["", "999999", "clerk"])
def test_assigning_to_someone_not_offered_is_refused(head, clerk, case, assignee):
    value = str(clerk.pk) if assignee == "clerk" else assignee
    response = client_for(head).post(
        f"/backoffice/cases/{case.number}/assign/", {"assignee": value}
    )
    assert response.status_code == 400
    page = page_of(response)
    assert "There is a problem" in page
    assert 'href="#assignee"' in page
    case.refresh_from_db()
    assert case.assignee_id is None


def test_an_official_comments_on_a_case(reviewer, case):
    client = client_for(reviewer)
    response = client.post(f"/backoffice/cases/{case.number}/comment/", {"text": " Call them "})
    assert response.status_code == 302
    comment = Comment.objects.get()
    assert (comment.application_id, comment.author, comment.text) == (
        case.pk,
        reviewer,
        "Call them",
    )
    page = page_of(client.get(response["Location"]))
    assert "Your comment was added. Only officials see it." in page
    assert "Call them" in page
    assert "Reviewer One" in page


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "Write your comment."), ("x" * 2001, "Write at most 2,000 characters.")],
)
def test_an_empty_or_long_comment_is_refused(reviewer, case, text, message):
    response = client_for(reviewer).post(
        f"/backoffice/cases/{case.number}/comment/", {"text": text}
    )
    assert response.status_code == 400
    page = page_of(response)
    assert message in page
    assert 'href="#comment-text"' in page
    assert 'id="comment-text-error"' in page
    assert Comment.objects.count() == 0


def act(client, case, action: str, note: str = "Because"):
    return client.post(f"/backoffice/cases/{case.number}/act/", {"action": action, "note": note})


def test_a_reviewer_approves_and_the_head_signs(reviewer, head, case):
    client = client_for(reviewer)
    response = act(client, case, "approve", "Meets every condition")
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.step, case.status) == ("signing", Status.ACTIVE)
    assert "The application was approved." in page_of(client.get(response["Location"]))
    # The step is the head's now: the reviewer may only read it.
    assert client_for(reviewer).get(f"/backoffice/cases/{case.number}/").context["actions"] == []
    signer = client_for(head)
    head_page = signer.get(f"/backoffice/cases/{case.number}/")
    assert [a.action for a in head_page.context["actions"]] == ["sign", "return"]
    entries = Entry.objects.count()
    response = act(signer, case, "sign", "Signed")
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.step) == (Status.APPROVED, "approved")
    assert Entry.objects.count() == entries + 1  # the decision is in the ledger
    page = page_of(signer.get(f"/backoffice/cases/{case.number}/"))
    assert "Done: Sign." in page
    assert "The case is closed." in page
    assert "Meets every condition" in page
    assert case.number not in page_of(client_for(head).get("/backoffice/cases/"))


def test_a_reviewer_rejects_with_a_reason(reviewer, case):
    response = act(client_for(reviewer), case, "reject", "The child is not yours")
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.decision_reason) == (Status.REJECTED, "The child is not yours")
    assert events(case)[-1] == "reject"


def test_a_reviewer_asks_the_applicant_for_information(reviewer, case):
    client = client_for(reviewer)
    response = act(client, case, "request_info", "Send the birth certificate")
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.PAUSED
    assert InfoRequest.objects.get().question == "Send the birth certificate"
    page = page_of(client.get(response["Location"]))
    assert "Your question was sent to the applicant." in page


def test_a_reviewer_returns_a_case(reviewer, case):
    response = act(client_for(reviewer), case, "return", "Registration went wrong")
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.step == "registration"
    assert events(case)[-1] == "return"


@pytest.mark.parametrize("action", ["approve", "reject", "request_info", "return"])
@pytest.mark.parametrize("note", ["", "   "])
def test_every_action_needs_a_reason(reviewer, case, action, note):
    before = events(case)
    response = act(client_for(reviewer), case, action, note)
    assert response.status_code == 400
    page = page_of(response)
    assert "Give the reason, or your question to the applicant." in page
    assert f'href="#note-{action}"' in page
    assert f'id="note-{action}-error"' in page
    case.refresh_from_db()
    assert (events(case), case.status, case.step) == (before, Status.ACTIVE, "review")


def test_a_long_reason_is_refused_and_kept(reviewer, case):
    response = act(client_for(reviewer), case, "reject", "x" * 2001)
    assert response.status_code == 400
    assert "Write at most 2,000 characters." in page_of(response)
    assert response.context["actions"][1].text == "x" * 2001
    case.refresh_from_db()
    assert case.status == Status.ACTIVE


@pytest.mark.parametrize("action", ["", "sign", "withdraw", "provide_info", "<script>"])
def test_actions_not_offered_now_are_refused(reviewer, case, action):
    before = events(case)
    response = act(client_for(reviewer), case, action, "Because")
    assert response.status_code == 400
    page = page_of(response)
    assert "This action is not possible now." in page
    assert 'href="#actions"' in page
    assert "<script>" not in page
    case.refresh_from_db()
    assert (events(case), case.status, case.step) == (before, Status.ACTIVE, "review")


def test_acting_on_a_closed_case_is_refused(reviewer, case):
    act(client_for(reviewer), case, "reject", "No")
    response = act(client_for(reviewer), case, "approve", "Yes after all")
    assert response.status_code == 400
    case.refresh_from_db()
    assert case.status == Status.REJECTED


# --- the workload of the unit --------------------------------------------------------------


def test_the_head_sees_the_workload_per_step(service, applicant, head, reviewer):
    first, second, third = (apply(applicant, service) for _ in range(3))
    Application.objects.filter(pk=first.pk).update(
        deadline=timezone.localdate() - datetime.timedelta(days=1)
    )
    casework.case_take(application=second, official=reviewer)
    at_signing(third, reviewer)
    response = client_for(head).get("/backoffice/cases/workload/")
    assert response.status_code == 200
    rows = [(r.label, r.open, r.overdue, r.unassigned) for r in response.context["rows"]]
    assert rows == [("Review eng", 2, 1, 1), ("Signing eng", 1, 0, 1)]
    totals = response.context["totals"]
    assert (totals.open, totals.overdue, totals.unassigned) == (3, 1, 2)
    page = page_of(response)
    assert 'href="/backoffice/cases/?step=review&amp;state=overdue"' in page
    assert 'href="/backoffice/cases/?step=signing"' in page


def test_the_workload_of_a_unit_without_cases(head):
    page = page_of(client_for(head).get("/backoffice/cases/workload/"))
    assert "There are no open cases." in page


def test_the_queue_links_heads_to_the_workload(head, reviewer):
    assert "/backoffice/cases/workload/" in page_of(client_for(head).get("/backoffice/cases/"))
    assert "/backoffice/cases/workload/" not in page_of(
        client_for(reviewer).get("/backoffice/cases/")
    )


# --- documents the approval issued ------------------------------------------------------------


@pytest.fixture
def issued_case(settings, tmp_path: Path, case: Application, reviewer, head) -> Application:
    from shanyraq.documents import pki
    from shanyraq.documents import services as documents

    settings.PKI_DIR = tmp_path / "pki"
    settings.DOCUMENTS_ROOT = tmp_path / "documents"
    pki.pki_init()
    signing = at_signing(case, reviewer)
    casework.case_act(application=signing, official=head, action="sign", note="Signed")
    assert documents.documents_issue_pending().issued == 1
    return signing


def test_the_head_annuls_a_document_the_approval_issued(issued_case: Application, head):
    from shanyraq.documents.models import Document

    document = Document.objects.get(application=issued_case)
    page = client_for(head).get(f"/backoffice/cases/{issued_case.number}/")
    assert page.context["documents"] == [document] and page.context["may_annul"]
    assert "Annul the document" in page_of(page)
    path = f"/backoffice/cases/{issued_case.number}/documents/{document.number}/annul/"
    empty = client_for(head).post(path, {"reason": "  "})
    assert empty.status_code == 400 and "Give the reason." in page_of(empty)
    document.refresh_from_db()
    assert document.status == "issued"
    done = client_for(head).post(path, {"reason": "Issued on a forged certificate"})
    assert done.status_code == 302
    document.refresh_from_db()
    assert document.status == "annulled" and document.annulled_by == head
    assert document.annulment_reason == "Issued on a forged certificate"


def test_only_a_head_of_the_agency_annuls(issued_case: Application, reviewer, stranger):
    from shanyraq.documents.models import Document

    document = Document.objects.get(application=issued_case)
    page = client_for(reviewer).get(f"/backoffice/cases/{issued_case.number}/")
    assert not page.context["may_annul"] and "Annul the document" not in page_of(page)
    path = f"/backoffice/cases/{issued_case.number}/documents/{document.number}/annul/"
    refused = client_for(reviewer).post(path, {"reason": "Because"})
    assert refused.status_code == 403
    assert client_for(stranger).post(path, {"reason": "Because"}).status_code == 404
    missing = f"/backoffice/cases/{issued_case.number}/documents/D2026-9999999/annul/"
    assert client_for(reviewer).post(missing, {"reason": "x"}).status_code == 404
    document.refresh_from_db()
    assert document.status == "issued"
