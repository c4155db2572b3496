"""Reads of casework: an applicant's applications, a party's, and the officials' queues.

Who may see an application: its applicant; a party it names (to confirm it); officials of the
agency that handles it. Everyone else is told it does not exist. The same people may read its
attached files (``casework.attachments`` checks it again when a file is opened).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shanyraq.accounts import selectors as account_selectors
from shanyraq.accounts.models import Role, User
from shanyraq.catalog.models import ServiceVersion
from shanyraq.core.errors import NotFound

from . import workflow
from .declarations import workflow_of
from .models import DUE, FINAL_STATUSES, Application, Attachment, CaseEvent, Party, Status

__all__ = [
    "QueueFilter",
    "WorkloadRow",
    "actions_for",
    "application_by_idempotency_key",
    "application_for_applicant",
    "application_for_official",
    "application_for_party",
    "application_for_reader",
    "applications_awaiting_me",
    "applications_of",
    "attachments_of",
    "case_history",
    "deadline_state",
    "is_case_official",
    "queue",
    "workload",
]

OFFICIAL_ROLES = frozenset({Role.CLERK, Role.REVIEWER, Role.HEAD})
OPEN_STATUSES = (Status.ACTIVE, Status.PAUSED)


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
    ).order_by("-created_at", "-id")


def application_by_idempotency_key(applicant: User, key: str) -> Application | None:
    """The application an earlier request with this Idempotency-Key made, if any."""
    if not key:
        return None
    # Most keys are new: a look at the unique index alone answers those.
    if not Application.objects.filter(applicant=applicant, idempotency_key=key).exists():
        return None
    return _with_service(
        Application.objects.filter(applicant=applicant, idempotency_key=key)
    ).first()


def is_case_official(user: User) -> bool:
    """Whether ``user`` holds a role that handles cases in some agency."""
    return bool(_official_agencies(user))


def application_for_applicant(number: str, applicant: User) -> Application:
    found = _with_service(Application.objects.filter(number=number, applicant=applicant)).first()
    if found is None:
        raise _not_found()
    return found


def application_for_party(number: str, person: User) -> Application:
    """An application naming ``person`` as a party (to confirm it, or to see what became of
    it after they answered)."""
    if not person.iin:
        raise _not_found()
    found = (
        _with_service(Application.objects.filter(number=number, parties__iin=person.iin))
        .exclude(status=Status.DRAFT)
        .distinct()
        .first()
    )
    if found is None:
        raise _not_found()
    return found


def _official_agencies(official: User) -> set[int]:
    return account_selectors.agency_ids_for(official, OFFICIAL_ROLES)


def application_for_official(number: str, official: User) -> Application:
    """A case of one of the official's agencies (drafts are the applicant's own, and nobody
    handles their own application)."""
    found = (
        _with_service(
            Application.objects.filter(number=number, agency_id__in=_official_agencies(official))
        )
        .exclude(status=Status.DRAFT)
        .exclude(applicant=official)
        .first()
    )
    if found is None:
        raise _not_found()
    return found


def application_for_reader(number: str, person: User) -> Application:
    """An application ``person`` may read: as its applicant, a party it names, or an official of
    the agency handling it (the first that applies)."""
    for find in (application_for_applicant, application_for_party, application_for_official):
        try:
            return find(number, person)
        except NotFound:
            continue
    raise _not_found()


def attachments_of(application: Application) -> list[Attachment]:
    """The files attached to the application, oldest first."""
    return list(
        Attachment.objects.filter(application_id=application.pk).order_by("created_at", "id")
    )


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


def _task_steps(process: object, roles: set[str]) -> list[str]:
    """The task steps of a (published, hence valid) process that ``roles`` work."""
    steps = process.get("steps") if isinstance(process, dict) else None
    return [
        str(step["id"])
        for step in steps or []
        if step.get("kind") == workflow.StepKind.TASK
        and (step.get("role") in roles or Role.HEAD in roles)
    ]


def _handled(official: User) -> Q | None:
    """Open cases at a step the official's roles in its agency handle; None for no official."""
    roles: dict[int, set[str]] = {}
    for membership in account_selectors.memberships_of(official):
        if membership.role in OFFICIAL_ROLES:
            roles.setdefault(membership.agency_id, set()).add(membership.role)
    if not roles:
        return None
    # Every version of the agencies' services with a process (a few dozen rows), rather than
    # the versions the open cases use, which would read every open case to find them.
    versions = ServiceVersion.objects.filter(
        service__agency_id__in=roles, process__isnull=False
    ).values_list("pk", "service__agency_id", "process")
    handled = Q(pk__in=[])
    for version_id, agency_id, process in versions:
        steps = _task_steps(process, roles.get(agency_id, set()))
        if steps:
            handled |= Q(service_version_id=version_id, step__in=steps)
    return Q(agency_id__in=roles, status__in=OPEN_STATUSES) & handled


def queue(
    official: User, filters: QueueFilter | None = None, *, today: datetime.date | None = None
) -> QuerySet[Application]:
    """Open cases of the official's agencies at steps their roles work, filtered and sorted.

    A head of unit sees every task step of their agency; nobody sees another agency's cases,
    drafts, or their own applications. Sorted by deadline, cases without one come last.
    """
    filters = filters or QueueFilter()
    handled = _handled(official)
    if handled is None:
        return Application.objects.none()
    cases = Application.objects.filter(handled).exclude(applicant=official)
    if filters.step:
        cases = cases.filter(step=filters.step)
    if filters.service:
        cases = cases.filter(service_version__service__code=filters.service)
    if filters.mine:
        cases = cases.filter(assignee=official)
    today = today or timezone.localdate()
    cases = cases.alias(due=DUE)
    if filters.state == "overdue":
        cases = cases.filter(status=Status.ACTIVE, due__lt=today)
    elif filters.state == "due_today":
        cases = cases.filter(status=Status.ACTIVE, due=today)
    elif filters.state == "on_time":
        cases = cases.filter(status=Status.ACTIVE, due__gt=today)
    elif filters.state == "paused":
        cases = cases.filter(status=Status.PAUSED)
    by_deadline: list[Any] = [F("due").asc(), "submitted_at", "id"]
    orders: dict[str, list[Any]] = {
        "deadline": by_deadline,
        "submitted": ["submitted_at", "id"],
        "number": ["number"],
    }
    order = orders.get(filters.sort, by_deadline)
    return _with_service(cases).select_related("assignee").order_by(*order)


def actions_for(application: Application, official: User) -> tuple[str, ...]:
    """What the official may do on the case's current step now (as ``case_act`` allows)."""
    if application.status != Status.ACTIVE or application.applicant_id == official.pk:
        return ()
    roles = {
        m.role
        for m in account_selectors.memberships_of(official)
        if m.agency_id == application.agency_id and m.role in OFFICIAL_ROLES
    }
    process = workflow.load_process(workflow_of(application.service_version.process or {}))
    step = process.steps.get(application.step)
    if (
        step is None
        or step.kind is not workflow.StepKind.TASK
        or not (step.role in roles or Role.HEAD in roles)
    ):
        return ()
    return tuple(process.routes(application.step))


@dataclass(frozen=True)
class WorkloadRow:
    step: str
    open: int
    overdue: int
    unassigned: int


def workload(agency_ids: Iterable[int], *, today: datetime.date | None = None) -> list[WorkloadRow]:
    """Open cases per step for a head of unit: how many, overdue, not yet taken."""
    today = today or timezone.localdate()
    rows = (
        Application.objects.filter(agency_id__in=list(agency_ids), status__in=OPEN_STATUSES)
        .values("step")
        .annotate(
            open=Count("id"),
            overdue=Count("id", filter=Q(status=Status.ACTIVE, deadline__lt=today)),
            unassigned=Count("id", filter=Q(assignee__isnull=True)),
        )
        .order_by("step")
    )
    return [WorkloadRow(r["step"], r["open"], r["overdue"], r["unassigned"]) for r in rows]
