"""Reads of casework: an applicant's applications, a party's, and the officials' queues.

Who may see an application: its applicant; a party it names (to confirm it); officials of the
agency that handles it. Everyone else is told it does not exist.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shanyraq.accounts import selectors as account_selectors
from shanyraq.accounts.models import Role, User
from shanyraq.core.errors import NotFound

from . import workflow
from .declarations import workflow_of
from .models import FINAL_STATUSES, Application, CaseEvent, Party, Status

__all__ = [
    "QueueFilter",
    "WorkloadRow",
    "actions_for",
    "application_for_applicant",
    "application_for_official",
    "application_for_party",
    "applications_awaiting_me",
    "applications_of",
    "case_history",
    "deadline_state",
    "queue",
    "workload",
]

OFFICIAL_ROLES = frozenset({Role.CLERK, Role.REVIEWER, Role.HEAD})


def _not_found() -> NotFound:
    return NotFound(code="application_not_found", message=_("There is no such application."))


def _with_service(applications: QuerySet[Application]) -> QuerySet[Application]:
    return applications.select_related("service_version__service", "agency", "applicant")


def applications_of(applicant: User) -> QuerySet[Application]:
    """The applicant's applications, newest first."""
    return _with_service(Application.objects.filter(applicant=applicant)).order_by(
        "-created_at", "-id"
    )


def applications_awaiting_me(person: User) -> QuerySet[Application]:
    """Applications naming ``person`` as a party who has not answered yet."""
    if not person.iin:
        return Application.objects.none()
    pending = Party.objects.filter(
        iin=person.iin, confirmed_at__isnull=True, declined_at__isnull=True
    ).values("application_id")
    return _with_service(
        Application.objects.filter(pk__in=pending, status=Status.AWAITING_PARTIES)
    ).order_by("-created_at")


def application_for_applicant(number: str, applicant: User) -> Application:
    found = _with_service(Application.objects.filter(number=number, applicant=applicant)).first()
    if found is None:
        raise _not_found()
    return found


def application_for_party(number: str, person: User) -> Application:
    found = (
        _with_service(Application.objects.filter(number=number, parties__iin=person.iin or "-"))
        .distinct()
        .first()
    )
    if found is None:
        raise _not_found()
    return found


def _official_agencies(official: User) -> set[int]:
    return account_selectors.agency_ids_for(official, OFFICIAL_ROLES)


def application_for_official(number: str, official: User) -> Application:
    """A case of one of the official's agencies (drafts are the applicant's own)."""
    found = (
        _with_service(
            Application.objects.filter(number=number, agency_id__in=_official_agencies(official))
        )
        .exclude(status=Status.DRAFT)
        .first()
    )
    if found is None:
        raise _not_found()
    return found


def case_history(application: Application) -> list[CaseEvent]:
    return list(application.events.select_related("actor").order_by("at", "id"))


def deadline_state(application: Application, today: datetime.date | None = None) -> str | None:
    """ "on_time", "due_today", "overdue", "paused" or None, for the deadline colours."""
    today = today or timezone.localdate()
    if application.status in FINAL_STATUSES or application.status == Status.DRAFT:
        return None
    if application.status == Status.PAUSED:
        return "paused"
    if application.deadline is None:
        return None
    if today < application.deadline:
        return "on_time"
    return "due_today" if today == application.deadline else "overdue"


@dataclass(frozen=True)
class QueueFilter:
    step: str = ""
    service: str = ""
    state: str = ""  # on_time, due_today, overdue, paused
    mine: bool = False
    sort: str = "deadline"  # deadline, submitted, number


def queue(official: User, filters: QueueFilter | None = None) -> QuerySet[Application]:
    """Open cases of the official's agencies that their roles handle, filtered and sorted."""
    filters = filters or QueueFilter()
    memberships = [
        m for m in account_selectors.memberships_of(official) if m.role in OFFICIAL_ROLES
    ]
    if not memberships:
        return Application.objects.none()
    cases = Application.objects.filter(
        agency_id__in={m.agency_id for m in memberships},
        status__in=[Status.ACTIVE, Status.PAUSED],
    )
    if filters.step:
        cases = cases.filter(step=filters.step)
    if filters.service:
        cases = cases.filter(service_version__service__code=filters.service)
    if filters.mine:
        cases = cases.filter(assignee=official)
    today = timezone.localdate()
    if filters.state == "overdue":
        cases = cases.filter(status=Status.ACTIVE, deadline__lt=today)
    elif filters.state == "due_today":
        cases = cases.filter(status=Status.ACTIVE, deadline=today)
    elif filters.state == "on_time":
        cases = cases.filter(status=Status.ACTIVE).filter(
            Q(deadline__gt=today) | Q(deadline__isnull=True)
        )
    elif filters.state == "paused":
        cases = cases.filter(status=Status.PAUSED)
    order = {
        "deadline": ["deadline", "submitted_at", "id"],
        "submitted": ["submitted_at", "id"],
        "number": ["number"],
    }.get(filters.sort, ["deadline", "submitted_at", "id"])
    return _with_service(cases).select_related("assignee").order_by(*order)


def actions_for(application: Application, official: User) -> tuple[str, ...]:
    """What the official may do on the case's current step now."""
    if application.status not in {Status.ACTIVE, Status.PAUSED}:
        return ()
    roles = {
        m.role
        for m in account_selectors.memberships_of(official)
        if m.agency_id == application.agency_id
    }
    process = workflow.load_process(workflow_of(application.service_version.process or {}))
    step = process.steps.get(application.step)
    if step is None or not (step.role in roles or Role.HEAD in roles):
        return ()
    if application.status == Status.PAUSED:
        return ()
    return tuple(a for a in process.routes(application.step) if a != workflow.WITHDRAW)


@dataclass(frozen=True)
class WorkloadRow:
    step: str
    open: int
    overdue: int
    unassigned: int


def workload(agency_ids: Iterable[int]) -> list[WorkloadRow]:
    """Open cases per step for a head of unit: how many, overdue, not yet taken."""
    today = timezone.localdate()
    rows = (
        Application.objects.filter(
            agency_id__in=list(agency_ids), status__in=[Status.ACTIVE, Status.PAUSED]
        )
        .values("step")
        .annotate(
            open=Count("id"),
            overdue=Count("id", filter=Q(status=Status.ACTIVE, deadline__lt=today)),
            unassigned=Count("id", filter=Q(assignee__isnull=True)),
        )
        .order_by("step")
    )
    return [WorkloadRow(r["step"], r["open"], r["overdue"], r["unassigned"]) for r in rows]
