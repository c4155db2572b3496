"""The applications API: applicants' endpoints, Idempotency-Key, and agency systems' tasks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import IntegrityError
from django.test import Client

from shanyraq.accounts.services import token_create
from shanyraq.casework import services
from shanyraq.casework.models import Application, Status
from shanyraq.casework.tests import services_fixture
from shanyraq.casework.tests.services_fixture import World, at_review

english = services_fixture.english
ledger_log = services_fixture.ledger_log
world = services_fixture.world

pytestmark = pytest.mark.django_db

ANSWERS = {
    "new_last_name": "Сейітова-Омарова",
    "reason": "marriage",
    "spouse_iin": None,
    "confirm": True,
}


def client_for(user: Any) -> Client:
    _token, secret = token_create(user=user, name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def post(client: Client, path: str, body: dict[str, Any], **headers: str) -> Any:
    return client.post(path, json.dumps(body), content_type="application/json", **headers)


def answers(world: World) -> dict[str, Any]:
    return {**ANSWERS, "spouse_iin": world.spouse.iin}


def test_anonymous_callers_get_401_everywhere(world: World) -> None:
    anonymous = Client()
    for method, path in [
        ("get", "/api/v1/applications"),
        ("post", "/api/v1/applications"),
        ("get", "/api/v1/applications/A2026-0000001"),
        ("get", "/api/v1/tasks"),
        ("post", "/api/v1/tasks/A2026-0000001/complete"),
        ("get", "/api/v1/applications/forms/surname-change"),
    ]:
        response = getattr(anonymous, method)(path)
        assert response.status_code == 401, path


def test_the_form_is_published_for_applicants(world: World) -> None:
    response = client_for(world.applicant).get("/api/v1/applications/forms/surname-change")
    assert response.status_code == 200
    body = response.json()
    assert body["service"] == "surname-change"
    assert "new_last_name" in body["form"]["schema"]["properties"]


def test_a_draft_then_answers_then_submission(world: World) -> None:
    client = client_for(world.applicant)
    created = post(client, "/api/v1/applications", {"service": "surname-change"})
    assert created.status_code == 201
    number = created.json()["number"]
    assert created.json()["status"] == Status.DRAFT
    assert "last_name" in created.json()["prefilled"]
    patched = client.patch(
        f"/api/v1/applications/{number}",
        json.dumps({"answers": answers(world)}),
        content_type="application/json",
    )
    assert patched.status_code == 200, patched.content
    submitted = post(client, f"/api/v1/applications/{number}/submit", {})
    assert submitted.status_code == 200
    assert submitted.json()["status"] == Status.ACTIVE
    assert [e["action"] for e in submitted.json()["history"]][:2] == ["created", "submit"]


def test_one_request_submits_and_the_worker_decides(world: World) -> None:
    client = client_for(world.applicant)
    response = post(
        client,
        "/api/v1/applications",
        {"service": "surname-change", "answers": answers(world), "submit": True},
    )
    assert response.status_code == 201, response.content
    number = response.json()["number"]
    services.work_once()
    decided = client.get(f"/api/v1/applications/{number}").json()
    assert decided["status"] == Status.APPROVED
    assert decided["decision_trace"]["outcome"] == "approve"
    assert "salt" not in decided["decision_trace"]


def test_a_repeated_idempotency_key_returns_the_same_application(world: World) -> None:
    client = client_for(world.applicant)
    body = {"service": "surname-change", "answers": answers(world), "submit": True}
    first = post(client, "/api/v1/applications", body, HTTP_IDEMPOTENCY_KEY="order-77")
    again = post(client, "/api/v1/applications", body, HTTP_IDEMPOTENCY_KEY="order-77")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["number"] == again.json()["number"]
    assert Application.objects.filter(applicant=world.applicant).count() == 1
    # Another person's identical key is theirs alone.
    other = post(
        client_for(world.buyer),
        "/api/v1/applications",
        {"service": "surname-change", "answers": answers(world)},
        HTTP_IDEMPOTENCY_KEY="order-77",
    )
    assert other.status_code == 201
    assert other.json()["number"] != first.json()["number"]


def test_a_database_failure_is_not_taken_for_a_repeated_key(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(**kwargs: Any) -> services.Applied:
        raise IntegrityError("insert or update violates foreign key constraint")

    monkeypatch.setattr(services, "application_apply", failing)
    client = client_for(world.applicant)
    body = {"service": "surname-change", "answers": answers(world), "submit": True}
    with pytest.raises(IntegrityError):  # a server error, not "still being handled"
        post(client, "/api/v1/applications", body, HTTP_IDEMPOTENCY_KEY="order-78")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"new_last_name": 12}, "new_last_name"),
        ({"confirm": "perhaps"}, "confirm"),
        ({"forged_field": "x"}, "forged_field"),
        ({"new_last_name": "x" * 5000}, "new_last_name"),
    ],
)
def test_bad_answers_are_refused_and_nothing_is_kept(
    world: World, changes: dict[str, Any], field: str
) -> None:
    client = client_for(world.applicant)
    body = {"service": "surname-change", "answers": {**answers(world), **changes}, "submit": True}
    response = post(client, "/api/v1/applications", body)
    assert response.status_code == 422, response.content
    problem = response.json()
    assert problem["code"] == "invalid_answers"
    assert field in {p["field"] for p in problem["details"]["problems"]}
    assert not Application.objects.exists()


def test_people_without_an_iin_cannot_apply(world: World) -> None:
    response = post(client_for(world.reviewer), "/api/v1/applications", {"service": "x"})
    assert response.status_code == 403
    assert response.json()["code"] == "iin_required"


def test_an_application_is_seen_only_by_its_applicant(world: World) -> None:
    mine = post(
        client_for(world.applicant),
        "/api/v1/applications",
        {"service": "surname-change", "answers": answers(world)},
    ).json()["number"]
    assert client_for(world.applicant).get(f"/api/v1/applications/{mine}").status_code == 200
    assert client_for(world.stranger).get(f"/api/v1/applications/{mine}").status_code == 404
    listed = client_for(world.stranger).get("/api/v1/applications").json()
    assert listed["count"] == 0


def test_officials_work_their_agencys_tasks_only(world: World) -> None:
    case = at_review(world)
    reviewer, other = client_for(world.reviewer), client_for(world.other_reviewer)
    tasks = reviewer.get("/api/v1/tasks").json()
    assert [t["number"] for t in tasks["items"]] == [case.number]
    assert set(tasks["items"][0]["actions"]) >= {"approve", "reject"}
    assert other.get("/api/v1/tasks").json()["count"] == 0
    refused = post(other, f"/api/v1/tasks/{case.number}/complete", {"action": "approve"})
    assert refused.status_code == 404
    no_reason = post(reviewer, f"/api/v1/tasks/{case.number}/complete", {"action": "approve"})
    assert no_reason.status_code == 422
    done = post(
        reviewer,
        f"/api/v1/tasks/{case.number}/complete",
        {"action": "approve", "note": "Documents checked."},
    )
    assert done.status_code == 200, done.content
    assert done.json()["status"] == Status.APPROVED


def test_citizens_and_applicants_cannot_use_tasks(world: World) -> None:
    case = at_review(world)
    applicant = client_for(world.applicant)
    assert applicant.get("/api/v1/tasks").status_code == 403
    refused = post(
        applicant,
        f"/api/v1/tasks/{case.number}/complete",
        {"action": "approve", "note": "I approve myself."},
    )
    assert refused.status_code == 403
    case.refresh_from_db()
    assert case.status == Status.ACTIVE


def test_an_overlong_idempotency_key_is_refused_and_nothing_is_written(world: World) -> None:
    response = post(
        client_for(world.applicant),
        "/api/v1/applications",
        {"service": "surname-change"},
        HTTP_IDEMPOTENCY_KEY="k" * 101,
    )
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_too_long"
    assert not Application.objects.exists()
