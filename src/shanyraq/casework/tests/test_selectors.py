from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shanyraq.accounts.models import Membership, Role, User
from shanyraq.casework import selectors, services
from shanyraq.casework.models import Application
from shanyraq.casework.selectors import QueueFilter, WorkloadRow
from shanyraq.casework.tests import services_fixture
from shanyraq.casework.tests.services_fixture import (
    Clock,
    World,
    at_review,
    filled,
    name_change_service,
    sale_submitted,
    submitted,
)
from shanyraq.core.errors import NotFound

# The shared fixtures, bound here so that pytest finds them for this module's tests.
clock = services_fixture.clock
english = services_fixture.english
ledger_log = services_fixture.ledger_log
world = services_fixture.world

pytestmark = pytest.mark.django_db

D = datetime.date


@dataclass
class Cases:
    """One of each kind of application, made through the services as a citizen would."""

    review: Application  # at review since Friday 15 March, due 27 March
    later: Application  # at review since Monday 18 March, due 28 March
    paused: Application  # at review, waiting for the applicant
    approved: Application
    draft: Application
    waiting: Application  # a sale waiting for the buyer
    sale: Application  # a sale at its registration step since 19 March, due 29 March
    queued: Application  # submitted, its automatic steps not yet run
    health: Application  # another agency's case, at review


@pytest.fixture
def cases(world: World, clock: Clock) -> Cases:
    name_change_service(world.health, code="health-surname-change")
    review = at_review(world)
    clock.on(D(2024, 3, 18))
    later = at_review(world)
    paused = at_review(world)
    services.case_act(
        application=paused, official=world.reviewer, action="request_info", note="Why?"
    )
    draft = filled(world)
    waiting = sale_submitted(world)
    clock.on(D(2024, 3, 19))
    sale = sale_submitted(world)
    services.party_respond(application=sale, person=world.buyer, accept=True)
    health = at_review(world, service_code="health-surname-change")
    # Approved last: the approval changes the surname the other cases' rules compare with.
    approved = submitted(world, new_last_name="Омарова")
    services.work_once()
    queued = submitted(world)
    for application in (review, later, paused, approved, draft, waiting, sale, health, queued):
        application.refresh_from_db()
    assert (approved.status, sale.step, queued.step) == ("approved", "registration", "registration")
    return Cases(review, later, paused, approved, draft, waiting, sale, queued, health)


def fresh(user: User) -> User:
    """The user as a new request would load them, without cached memberships."""
    return User.objects.get(pk=user.pk)


def numbers(applications: Iterable[Application]) -> list[str]:
    return [application.number for application in applications]


# --- citizens ------------------------------------------------------------------------------


def test_an_applicant_sees_only_their_own_applications(world: World, cases: Cases) -> None:
    mine = selectors.applications_of(world.applicant)
    assert set(numbers(mine)) == {
        a.number
        for a in (
            cases.review,
            cases.later,
            cases.paused,
            cases.approved,
            cases.draft,
            cases.waiting,
            cases.sale,
            cases.health,
            cases.queued,
        )
    }
    assert numbers(mine)[0] == cases.queued.number  # newest first
    assert list(selectors.applications_of(world.stranger)) == []
    assert selectors.application_for_applicant(cases.draft.number, world.applicant) == cases.draft
    for person in (world.stranger, world.buyer, world.reviewer):
        with pytest.raises(NotFound):
            selectors.application_for_applicant(cases.draft.number, person)


def test_a_party_sees_the_applications_naming_them(world: World, cases: Cases) -> None:
    assert numbers(selectors.applications_awaiting_me(world.buyer)) == [cases.waiting.number]
    assert list(selectors.applications_awaiting_me(world.stranger)) == []
    assert list(selectors.applications_awaiting_me(world.reviewer)) == []
    # Confirmed, it is no longer waiting for them, and they can still look at it.
    assert selectors.application_for_party(cases.sale.number, world.buyer) == cases.sale
    assert selectors.application_for_party(cases.waiting.number, world.buyer) == cases.waiting
    for number, person in (
        (cases.waiting.number, world.stranger),
        (cases.waiting.number, world.reviewer),
        (cases.review.number, world.buyer),
    ):
        with pytest.raises(NotFound):
            selectors.application_for_party(number, person)


def test_a_citizens_lists_take_one_query_each(world: World, cases: Cases) -> None:
    for listing, person in (
        (selectors.applications_of, world.applicant),
        (selectors.applications_awaiting_me, world.buyer),
    ):
        with CaptureQueriesContext(connection) as queries:
            for application in listing(person):
                assert application.service_version.service.code
                assert application.agency.code
                assert application.applicant.username
        assert len(queries) == 1


# --- officials -----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["reviewer", "clerk", "head"])
def test_officials_of_the_agency_see_its_cases(world: World, cases: Cases, who: str) -> None:
    official = fresh(getattr(world, who))
    for application in (cases.review, cases.paused, cases.approved, cases.waiting):
        found = selectors.application_for_official(application.number, official)
        assert found == application
    with pytest.raises(NotFound):
        selectors.application_for_official(cases.health.number, official)


@pytest.mark.parametrize("who", ["other_reviewer", "other_head", "admin", "applicant", "buyer"])
def test_others_are_told_a_case_does_not_exist(world: World, cases: Cases, who: str) -> None:
    with pytest.raises(NotFound):
        selectors.application_for_official(cases.review.number, fresh(getattr(world, who)))


def test_drafts_are_never_shown_to_officials(world: World, cases: Cases) -> None:
    for who in ("reviewer", "clerk", "head"):
        official = fresh(getattr(world, who))
        with pytest.raises(NotFound):
            selectors.application_for_official(cases.draft.number, official)
        assert cases.draft.number not in numbers(selectors.queue(official))


def test_the_health_reviewer_sees_only_health_cases(world: World, cases: Cases) -> None:
    other = fresh(world.other_reviewer)
    assert selectors.application_for_official(cases.health.number, other) == cases.health
    assert numbers(selectors.queue(other)) == [cases.health.number]


# --- the queue -----------------------------------------------------------------------------


def test_the_queue_holds_the_steps_the_officials_role_works(world: World, cases: Cases) -> None:
    expected = [
        cases.review.number,
        cases.later.number,
        cases.paused.number,
        cases.sale.number,
    ]
    assert numbers(selectors.queue(fresh(world.reviewer))) == expected
    assert numbers(selectors.queue(fresh(world.head))) == expected
    assert list(selectors.queue(fresh(world.clerk))) == []  # no step of these services is theirs
    assert list(selectors.queue(fresh(world.admin))) == []
    assert list(selectors.queue(fresh(world.applicant))) == []
    assert list(selectors.queue(fresh(world.other_head))) == [cases.health]


def test_the_queue_sorts_by_deadline_with_cases_without_one_last(
    world: World, cases: Cases
) -> None:

    assert [a.deadline for a in selectors.queue(fresh(world.reviewer))] == [
        D(2024, 3, 27),
        D(2024, 3, 28),
        D(2024, 3, 28),
        D(2024, 3, 29),
    ]
    Application.objects.filter(pk=cases.review.pk).update(deadline=None)
    assert numbers(selectors.queue(fresh(world.reviewer)))[-1] == cases.review.number


def test_the_queue_sorts_by_submission_or_number(world: World, cases: Cases) -> None:
    reviewer = fresh(world.reviewer)
    by_number = numbers(selectors.queue(reviewer, QueueFilter(sort="number")))
    assert by_number == sorted(by_number)
    submitted_order = selectors.queue(reviewer, QueueFilter(sort="submitted"))
    times = [a.submitted_at for a in submitted_order]
    assert times == sorted(times)
    assert numbers(selectors.queue(reviewer, QueueFilter(sort="anything"))) == numbers(
        selectors.queue(reviewer)
    )


def test_the_queue_filters(world: World, cases: Cases) -> None:
    reviewer = fresh(world.reviewer)

    def found(today: datetime.date | None = None, **filters: Any) -> set[str]:
        return set(numbers(selectors.queue(reviewer, QueueFilter(**filters), today=today)))

    assert found(step="registration") == {cases.sale.number}
    assert found(service="property-sale") == {cases.sale.number}
    assert found(service="health-surname-change") == set()
    assert found(state="paused") == {cases.paused.number}
    assert found(state="due_today", today=D(2024, 3, 28)) == {cases.later.number}
    assert found(state="overdue", today=D(2024, 3, 28)) == {cases.review.number}
    assert found(state="on_time", today=D(2024, 3, 28)) == {cases.sale.number}
    assert found(mine=True) == {cases.paused.number}  # asking took the case
    services.case_take(application=cases.sale, official=reviewer)
    assert found(mine=True) == {cases.paused.number, cases.sale.number}


def test_an_officials_own_application_is_not_in_their_queue(world: World, cases: Cases) -> None:
    Membership.objects.create(user=world.applicant, agency=world.justice, role=Role.REVIEWER)
    assert list(selectors.queue(fresh(world.applicant))) == []
    assert selectors.actions_for(cases.review, fresh(world.applicant)) == ()
    with pytest.raises(NotFound):
        selectors.application_for_official(cases.review.number, fresh(world.applicant))
    # A colleague of the same agency still sees it.
    assert selectors.application_for_official(cases.review.number, fresh(world.reviewer))


def test_the_queue_takes_three_queries_however_long(world: World, cases: Cases) -> None:
    def count() -> int:
        reviewer = fresh(world.reviewer)
        with CaptureQueriesContext(connection) as queries:
            for application in selectors.queue(reviewer):
                assert application.service_version.service.code
                assert application.agency.code
                assert application.applicant.username
                assert application.assignee is None or application.assignee.username
        return len(queries)

    assert count() == 3  # memberships, the versions' steps, the cases
    for _ in range(3):
        at_review(world, world.spouse)
    assert len(selectors.queue(fresh(world.reviewer))) == 7
    assert count() == 3


# --- what an official may do ----------------------------------------------------------------


def test_actions_follow_the_step_and_the_role(world: World, cases: Cases) -> None:
    decisions = ("approve", "reject", "request_info", "return")
    assert selectors.actions_for(cases.review, fresh(world.reviewer)) == decisions
    assert selectors.actions_for(cases.review, fresh(world.head)) == decisions
    assert selectors.actions_for(cases.sale, fresh(world.reviewer)) == ("approve", "reject")
    for official, application in (
        (world.clerk, cases.review),
        (world.other_head, cases.review),
        (world.admin, cases.review),
        (world.reviewer, cases.paused),  # waiting for the applicant
        (world.reviewer, cases.approved),
        (world.reviewer, cases.draft),
        (world.reviewer, cases.queued),  # an automatic step
        (world.reviewer, cases.waiting),
    ):
        assert selectors.actions_for(application, fresh(official)) == ()


def test_deadline_states(cases: Cases) -> None:
    state = selectors.deadline_state
    assert state(cases.review, D(2024, 3, 26)) == "on_time"
    assert state(cases.review, D(2024, 3, 27)) == "due_today"
    assert state(cases.review, D(2024, 3, 28)) == "overdue"
    assert state(cases.paused, D(2024, 5, 1)) == "paused"
    assert state(cases.approved, D(2024, 5, 1)) is None
    assert state(cases.draft, D(2024, 5, 1)) is None
    assert state(cases.queued, D(2024, 5, 1)) is None  # automatic steps have no deadline


def test_workload_counts_open_cases_per_step(world: World, cases: Cases) -> None:
    services.case_take(application=cases.review, official=world.reviewer)
    rows = selectors.workload([world.justice.pk], today=D(2024, 3, 28))
    assert rows == [
        WorkloadRow(step="registration", open=2, overdue=0, unassigned=2),
        WorkloadRow(step="review", open=3, overdue=1, unassigned=1),
    ]
    assert selectors.workload([world.health.pk], today=D(2024, 3, 28)) == [
        WorkloadRow(step="review", open=1, overdue=0, unassigned=1)
    ]
    assert selectors.workload([], today=D(2024, 3, 28)) == []


def test_history_is_in_the_order_it_happened(world: World, cases: Cases) -> None:
    events = selectors.case_history(cases.paused)
    assert [(e.action, e.actor) for e in events] == [
        ("created", world.applicant),
        ("submit", world.applicant),
        ("complete", None),
        ("undecided", None),
        ("request_info", world.reviewer),
    ]


# --- lookups for the API ---------------------------------------------------------------------


def test_service_version_for_applying(world: World) -> None:
    assert services.service_version_for_applying("surname-change") == world.service
    with pytest.raises(NotFound):
        services.service_version_for_applying("no-such-service")


def test_an_application_is_found_by_its_applicants_idempotency_key(
    world: World, clock: Clock
) -> None:
    application = services.application_submit(
        application=filled(world), applicant=world.applicant, idempotency_key="key-1"
    )
    assert selectors.application_by_idempotency_key(world.applicant, "key-1") == application
    assert selectors.application_by_idempotency_key(world.stranger, "key-1") is None
    assert selectors.application_by_idempotency_key(world.applicant, "") is None


@pytest.mark.parametrize(
    ("who", "expected"),
    [("reviewer", True), ("clerk", True), ("head", True), ("admin", False), ("applicant", False)],
)
def test_who_works_cases(world: World, who: str, expected: bool) -> None:
    assert selectors.is_case_official(fresh(getattr(world, who))) is expected
