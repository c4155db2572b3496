"""An approval orders its documents with the decision: those the process declares, with
values from the case's facts, or else the decision itself."""

from __future__ import annotations

import copy

import pytest

from shanyraq.casework import services
from shanyraq.casework.declarations import declaration_problems
from shanyraq.casework.tests import services_fixture
from shanyraq.casework.tests.services_fixture import (
    NAME_CHANGE_FORM,
    NAME_CHANGE_PROCESS,
    Clock,
    World,
    at_review,
    label,
    name_change_service,
    submitted,
)
from shanyraq.documents.models import Document

world = services_fixture.world
clock = services_fixture.clock
ledger_log = services_fixture.ledger_log
english = services_fixture.english

pytestmark = pytest.mark.django_db

CERTIFICATE = {
    "kind": "certificate",
    "title": {
        "kk": "Тегін өзгерту туралы куәлік",
        "ru": "Свидетельство о перемене фамилии",
        "en": "Certificate of a change of surname",
    },
    "lines": [
        {"label": label("New surname"), "value": {"var": "answers.new_last_name"}},
        {"label": label("Earlier surname"), "value": {"var": "person.last_name"}},
        {"label": label("Confirmed"), "value": {"var": "answers.confirm"}},
        {"label": label("Note"), "value": {"kk": "Ескерту", "ru": "Примечание", "en": "A note"}},
    ],
}


def test_an_approval_without_declared_documents_orders_the_decision(
    world: World, clock: Clock
) -> None:
    application = submitted(world)
    assert not Document.objects.exists()
    services.work_once()
    application.refresh_from_db()
    assert application.status == "approved"
    document = Document.objects.get()
    assert (document.kind, document.status, document.agency) == (
        "decision",
        "pending",
        world.justice,
    )
    assert document.holder == world.applicant and document.application == application
    lines = document.content["lines"]
    assert lines[0]["value"] == application.service_version.name.to_dict()
    assert lines[1]["value"]["en"] == "Approved"
    assert lines[2]["value"] == clock.now.strftime("%d.%m.%Y")


def test_an_approval_orders_the_declared_documents_with_the_cases_facts(
    world: World, clock: Clock
) -> None:
    process = copy.deepcopy(NAME_CHANGE_PROCESS)
    process["on_approval"]["documents"] = [CERTIFICATE]
    name_change_service(world.justice, code="surname-change-2", process=process)
    application = submitted(world, service_code="surname-change-2")
    services.work_once()
    document = Document.objects.get(application=application)
    assert document.kind == "certificate"
    assert document.title.get("ru") == "Свидетельство о перемене фамилии"
    values = [line["value"] for line in document.content["lines"]]
    # The facts as they were when the decision was taken: the surname before the change.
    assert values == [
        "Сейітова-Омарова",
        "Сейітова",
        {"kk": "Иә", "ru": "Да", "en": "Yes"},
        {"kk": "Ескерту", "ru": "Примечание", "en": "A note"},
    ]


def test_a_rejection_orders_nothing(world: World, clock: Clock) -> None:
    application = at_review(world)
    services.case_act(
        application=application, official=world.reviewer, action="reject", note="No marriage"
    )
    assert not Document.objects.exists()


@pytest.mark.parametrize(
    ("documents", "problem"),
    [
        ("a certificate", "on_approval.documents: a list"),
        ([{**CERTIFICATE, "kind": "passport"}], ".kind: one of"),
        ([{**CERTIFICATE, "title": {"en": "Certificate"}}], ".title: text in kk, ru and en"),
        ([{**CERTIFICATE, "lines": []}], ".lines: a list of lines"),
        ([{**CERTIFICATE, "lines": [{"label": label("x")}]}], "with a label and a value"),
        ([{**CERTIFICATE, "lines": [{"label": {"en": "x"}, "value": 1}]}], ".label: text in"),
        ([{**CERTIFICATE, "colour": "red"}], "unknown keys ['colour']"),
        (
            [
                {
                    **CERTIFICATE,
                    "lines": [{"label": label("x"), "value": {"kk": "", "ru": "", "en": ""}}],
                }
            ],
            ".value.kk: the text is missing",
        ),
        ([{**CERTIFICATE, "lines": [{"label": label("x"), "value": {"nope": [1]}}]}], ".value"),
    ],
)
def test_declared_documents_are_checked_before_publishing(documents: object, problem: str) -> None:
    process = copy.deepcopy(NAME_CHANGE_PROCESS)
    process["on_approval"]["documents"] = documents
    problems = declaration_problems(NAME_CHANGE_FORM, process, None)
    assert any(problem in p for p in problems), problems
    process["on_approval"]["documents"] = [CERTIFICATE]
    assert not [
        p for p in declaration_problems(NAME_CHANGE_FORM, process, None) if "documents" in p
    ]
