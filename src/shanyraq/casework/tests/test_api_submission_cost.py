"""What one submission over the API costs and answers: the statements it sends to
PostgreSQL, its answer rendered without a second validation, the quick check of its form."""

from __future__ import annotations

import copy
import datetime
import json
import random
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from ninja.responses import NinjaJSONEncoder

from shanyraq.accounts.services import token_create
from shanyraq.casework import api, forms, services
from shanyraq.casework.models import Application, CaseEvent, Status, WorkItem
from shanyraq.casework.tests import services_fixture
from shanyraq.casework.tests.services_fixture import NAME_CHANGE_FORM, World, name_change_service
from shanyraq.notifications.models import Notification

english = services_fixture.english
ledger_log = services_fixture.ledger_log
world = services_fixture.world

SERVICE = "surname-declared"
# The surname change with every answer given by the applicant (no register fills any in), as
# a program submits it.
ANSWERS = {
    "last_name": "Сейітова",
    "first_name": "Айгерім",
    "birth_date": "1990-01-15",
    "new_last_name": "Сейітова-Омарова",
    "reason": "divorce",
    "children": 2,
    "confirm": True,
}


def declared_service(world: World) -> None:
    form = copy.deepcopy(NAME_CHANGE_FORM)
    del form["ui"]["prefill"]
    name_change_service(world.justice, code=SERVICE, form=form)


def submit(client: Client, key: str) -> Any:
    body = {"service": SERVICE, "answers": ANSWERS, "submit": True}
    return client.post(
        "/api/v1/applications",
        json.dumps(body),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def client_for(world: World) -> Client:
    _token, secret = token_create(user=world.applicant, name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_submission_sends_four_statements_to_postgresql(world: World) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("counts PostgreSQL's statements")
    declared_service(world)
    client = client_for(world)
    assert submit(client, "first").status_code == 201  # the year's number sequence is made
    with CaptureQueriesContext(connection) as queries:
        response = submit(client, "second")
    assert response.status_code == 201, response.content
    statements = [query["sql"].split()[0] for query in queries]
    # The token with its holder; the current version with a new number; the applicant's
    # phone; the application, its history, its work item and its message, in one statement
    # that is its own transaction; nothing else.
    assert statements == ["SELECT", "SELECT", "SELECT", "WITH"], [
        query["sql"][:80] for query in queries
    ]
    application = Application.objects.get(number=response.json()["number"])
    assert application.status == Status.ACTIVE and application.idempotency_key == "second"
    assert list(
        CaseEvent.objects.filter(application=application).values_list("action", flat=True)
    ) == ["created", "submit"]
    assert WorkItem.objects.filter(application=application, done_at__isnull=True).count() == 1
    assert Notification.objects.filter(
        recipient=world.applicant, dedupe_key=f"application:{application.number}:submitted"
    ).exists()


def instants(application: dict[str, Any]) -> dict[str, Any]:
    """The application with its history's times as instants: the answer to a submission
    gives a step's time in the agency's zone (as the process computed it), GET in UTC."""
    history = [
        {**event, "at": datetime.datetime.fromisoformat(event["at"])}
        for event in application["history"]
    ]
    return {**application, "history": history}


@pytest.mark.django_db
def test_the_answer_to_a_submission_is_what_get_answers(world: World) -> None:
    declared_service(world)
    client = client_for(world)
    created = submit(client, "order-1")
    assert created.status_code == 201, created.content
    assert created["Content-Type"] == "application/json; charset=utf-8"
    shown = client.get(f"/api/v1/applications/{created.json()['number']}")
    assert shown.status_code == 200
    assert instants(created.json()) == instants(shown.json())
    # Keys in the schema's order, at the top and in the history.
    assert list(created.json()) == list(api.ApplicationOut.model_fields)
    assert [list(event) for event in created.json()["history"]] == [
        list(api.EventOut.model_fields)
    ] * 2


@pytest.mark.django_db
def test_the_answer_is_rendered_as_the_schema_would_render_it(world: World) -> None:
    declared_service(world)
    applied = services.application_apply(
        applicant=world.applicant, service_code=SERVICE, values=ANSWERS, idempotency_key="k"
    )
    data = api._out(applied.application, history=applied.history)
    validated = api.ApplicationOut.model_validate(data).model_dump()
    assert api._created(data).content == json.dumps(validated, cls=NinjaJSONEncoder).encode()


# --- the quick check of a form's answers ---------------------------------------------------

FORM: dict[str, Any] = {
    "schema": {
        "type": "object",
        "required": ["word", "count"],
        "additionalProperties": False,
        "properties": {
            "word": {"type": "string", "minLength": 2, "maxLength": 5, "pattern": "^[a-z]+$"},
            "choice": {"type": "string", "enum": ["a", "b"]},
            "count": {"type": "integer", "minimum": 0, "maximum": 10},
            "share": {"type": "number", "minimum": -1.5, "maximum": 2.5},
            "yes": {"type": "boolean"},
            "consent": {"type": "boolean", "enum": [True]},
            "level": {"type": "integer", "enum": [1, 2]},
            "day": {"type": "string", "format": "date"},
            "email": {"type": "string", "format": "email"},
            "file": {"type": "string", "format": "attachment"},
            "tags": {
                "type": "array",
                "items": {"type": "string", "enum": ["x", "y", "z"]},
                "uniqueItems": True,
                "minItems": 1,
                "maxItems": 2,
            },
            "place": {
                "type": "object",
                "properties": {"city": {"type": "string", "maxLength": 3}},
                "required": ["city"],
            },
            "note": {"type": "string"},
        },
    },
    "ui": {"steps": [{"key": "all", "title": {}, "fields": ["word"]}]},
}
VALID: dict[str, Any] = {
    "word": "abc",
    "choice": "a",
    "count": 3,
    "share": 0.5,
    "yes": False,
    "consent": True,
    "level": 2,
    "day": "2026-02-28",
    "email": "a@example.kz",
    "tags": ["x"],
    "place": {"city": "Ала"},
    "note": "",
}
ODD_VALUES: list[Any] = [
    None, True, False, 0, 1, 1.0, 2, 2.0, -1, 10, 11, 2.5, 3.5, -1.5, 2**60,
    "", "a", "ab", "abc", "ABC", "abcdef", "ab\n", "b", "x", "2026-02-28", "2026-02-30",
    "28.02.2026", "2026-2-8", "a@b", "ab", ["x"], ["x", "x"], ["x", "y", "z"], ["w"], [],
    [1], {"city": "Ала"}, {"city": "Алматы"}, {}, {"town": "x"}, "file-id",
]  # fmt: skip


def variants(count: int) -> list[dict[str, Any]]:
    """Answers that are valid, then wrong here and there in every way the form can be."""
    rng = random.Random(2026)
    fields = [*FORM["schema"]["properties"], "unknown"]
    made = [dict(VALID)]
    for _ in range(count):
        answers = dict(VALID)
        for name in rng.sample(fields, rng.choice([1, 1, 1, 2, 3])):
            if rng.random() < 0.15:
                answers.pop(name, None)
            else:
                answers[name] = rng.choice(ODD_VALUES)
        made.append(answers)
    return made


def test_the_quick_check_finds_the_problems_the_validator_finds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cases = variants(3000)
    quick = [forms.answers_problems(FORM, answers) for answers in cases]
    monkeypatch.setattr(forms, "_quick_check_for", lambda text: None)
    reference = [forms.answers_problems(FORM, answers) for answers in cases]
    assert quick == reference
    accepted = sum(1 for problems in reference if not problems)
    assert accepted > 300  # the quick check's yes is exercised, not only its no


def test_a_form_the_quick_check_cannot_vouch_for_is_left_to_the_validator() -> None:
    text = forms._schema_text({"type": "object", "properties": {"a": {"$ref": "#/x"}}})
    assert forms._quick_check_for(text) is None
    text = forms._schema_text({"type": "object", "properties": {}, "allOf": []})
    assert forms._quick_check_for(text) is None
    assert forms._quick_check_for(forms.schema_key(FORM)) is not None
