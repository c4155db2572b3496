"""Writes of casework: drafts, submission, the parties' confirmations, officials' actions,
automatic processing and deadline escalation.

Every change to an application runs in one transaction that locks the application row,
applies the declared process (``casework.workflow``), appends the history, and writes what
follows from it: the ledger entry of a decision (``casework.decision``), register changes on
approval (through the registers' own services), notifications (rows sent later by the worker)
and work for the worker. Anything not allowed raises a ``DomainError`` and changes nothing.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shanyraq.accounts import selectors as account_selectors
from shanyraq.accounts.models import Role, User
from shanyraq.catalog.models import Agency, Service, ServiceVersion
from shanyraq.core.calendar import kazakhstan_calendar
from shanyraq.core.canonical_json import canonicalize
from shanyraq.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationError
from shanyraq.core.national_id import is_valid_iin, make_bin
from shanyraq.ledger_django import services as ledger
from shanyraq.notifications import services as notifications
from shanyraq.registries import selectors as registers
from shanyraq.registries import services as register_services
from shanyraq.registries.services import actor_pseudonym
from shanyraq.rules.engine import RuleError, evaluate, evaluate_rule_set

from . import workflow
from .declarations import fact_specs, party_specs, workflow_of
from .forms import answers_problems, prefill_values, step_problems
from .models import (
    Application,
    CaseEvent,
    Comment,
    Counter,
    InfoRequest,
    Party,
    Status,
    WorkItem,
)

__all__ = [
    "application_answer_info",
    "application_save",
    "application_start",
    "application_submit",
    "application_withdraw",
    "case_act",
    "case_assign",
    "case_comment",
    "case_take",
    "deadlines_escalate",
    "party_respond",
    "work_once",
]

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 5
MAX_NOTE = 2000
OFFICIAL_ROLES = frozenset({Role.CLERK, Role.REVIEWER, Role.HEAD})


def _now() -> datetime.datetime:
    return timezone.now()


def _local(at: datetime.datetime) -> datetime.datetime:
    """The agency's local time: its date is the day deadlines count."""
    return timezone.localtime(at)


def _calendar() -> workflow.WorkingDays:
    return kazakhstan_calendar()


def _next_number(now: datetime.datetime) -> str:
    year = _local(now).year
    name = f"application-{year}"
    with transaction.atomic():
        Counter.objects.get_or_create(name=name)
        Counter.objects.filter(name=name).update(value=F("value") + 1)
        value = Counter.objects.select_for_update().get(name=name).value
    return f"A{year}-{value:07d}"


def _service_version(service_code: str) -> ServiceVersion:
    service = Service.objects.select_related("current_version", "agency").filter(code=service_code)
    found = service.first()
    if found is None or found.current_version is None:
        raise NotFound(code="service_not_found", message=_("There is no such service."))
    version = found.current_version
    if not version.form or not version.process:
        raise ValidationError(
            code="not_online",
            message=_("This service does not take applications online."),
        )
    return version


def _purpose(application: Application) -> str:
    return f"application {application.number}"


def _basis(application: Application) -> str:
    return str(application.service_version.legal_basis.get("en"))[:300] or "service"


def _system_name(agency: Agency) -> str:
    return f"{agency.code} casework"


def _event(
    application: Application,
    *,
    action: str,
    actor: User | None,
    actor_kind: str,
    at: datetime.datetime,
    from_step: str = "",
    to_step: str = "",
    note: str = "",
) -> CaseEvent:
    return CaseEvent.objects.create(
        application=application,
        action=action,
        from_step=from_step,
        to_step=to_step,
        status=application.status,
        actor=actor,
        actor_kind=actor_kind,
        note=note[:MAX_NOTE],
        deadline=application.deadline,
        at=at,
    )


def _locked(application: Application) -> Application:
    return (
        Application.objects.select_for_update()
        .select_related("service_version__service", "agency", "applicant")
        .get(pk=application.pk)
    )


def _own(application: Application, applicant: User) -> None:
    if application.applicant_id != applicant.pk:
        raise NotFound(code="application_not_found", message=_("There is no such application."))


# --- drafts ------------------------------------------------------------------------------


@transaction.atomic
def application_start(*, applicant: User, service_code: str) -> Application:
    """A new draft for ``service_code``, prefilled with what the registers know.

    Reading the applicant's records for the prefill is recorded in the data tracker as read
    by the service's agency, for this application.
    """
    if not applicant.iin:
        raise PermissionDenied(
            code="iin_required", message=_("Only people with an IIN can apply online.")
        )
    version = _service_version(service_code)
    now = _now()
    application = Application.objects.create(
        number=_next_number(now),
        service_version=version,
        agency=version.service.agency,
        applicant=applicant,
    )
    facts = _applicant_facts(application)
    application.prefilled = prefill_values(version.form or {}, facts)
    application.save(update_fields=["prefilled"])
    _event(application, action="created", actor=applicant, actor_kind="applicant", at=now)
    return application


def _draft(application: Application, applicant: User) -> Application:
    _own(application, applicant)
    locked = _locked(application)
    if locked.status != Status.DRAFT:
        raise Conflict(
            code="not_a_draft", message=_("This application has already been submitted.")
        )
    return locked


@transaction.atomic
def application_save(
    *,
    application: Application,
    applicant: User,
    values: Mapping[str, Any],
    step: int | None = None,
) -> Application:
    """Keep the answers of one step of the form (or of all, with ``step=None``).

    Raises ``ValidationError`` listing every problem of those fields; nothing is kept then.
    Fields the registers filled in cannot be changed here.
    """
    locked = _draft(application, applicant)
    form = locked.service_version.form or {}
    problems, cleaned = step_problems(form, values, step, locked.prefilled)
    if problems:
        raise ValidationError(
            code="invalid_answers",
            message=_("Some answers need correcting."),
            field=problems[0]["field"],
            details={"problems": problems},
        )
    locked.answers = {**locked.answers, **cleaned}
    if step is not None:
        locked.form_step = max(locked.form_step, step + 1)
    locked.save(update_fields=["answers", "form_step", "updated_at"])
    return locked


@transaction.atomic
def application_submit(
    *, application: Application, applicant: User, idempotency_key: str = ""
) -> Application:
    """Submit a draft: every answer is checked, the parties are asked to confirm, or the case
    starts. Submitting again what was already submitted returns it unchanged."""
    _own(application, applicant)
    locked = _locked(application)
    if locked.status != Status.DRAFT:
        return locked  # a repeated submission: the first one counts
    form = locked.service_version.form or {}
    problems = answers_problems(form, {**locked.answers, **_prefilled_answers(locked)})
    if problems:
        raise ValidationError(
            code="invalid_answers",
            message=_("Some answers need correcting."),
            field=problems[0]["field"],
            details={"problems": problems},
        )
    now = _now()
    locked.idempotency_key = idempotency_key[:100]
    locked.submitted_at = now
    parties = _parties(locked)
    try:
        with transaction.atomic():
            if parties:
                locked.status = Status.AWAITING_PARTIES
                locked.save()
            else:
                locked.save()
    except IntegrityError:
        raise Conflict(
            code="idempotency_key_reused",
            message=_("This Idempotency-Key was used for another application."),
        ) from None
    _event(locked, action="submitted", actor=applicant, actor_kind="applicant", at=now)
    if parties:
        _ask_parties(locked, parties)
    else:
        _start_case(locked, now)
    _notify(locked, locked.applicant, "application.submitted", "submitted")
    return locked


def _prefilled_answers(application: Application) -> dict[str, Any]:
    return {name: item["value"] for name, item in (application.prefilled or {}).items()}


def answers_of(application: Application) -> dict[str, Any]:
    """The answers the case is decided on: the applicant's and the registers'."""
    return {**application.answers, **_prefilled_answers(application)}


# --- parties ------------------------------------------------------------------------------


def _parties(application: Application) -> list[Party]:
    answers = answers_of(application)
    parties = []
    for spec in party_specs(application.service_version.process or {}):
        iin = str(answers.get(spec["iin_field"]) or "")
        if not is_valid_iin(iin):
            raise ValidationError(
                code="party_iin",
                message=_("Enter a valid IIN of the other party."),
                field=str(spec["iin_field"]),
            )
        if iin == application.applicant.iin:
            raise ValidationError(
                code="party_is_applicant",
                message=_("The other party cannot be you."),
                field=str(spec["iin_field"]),
            )
        parties.append(Party(application=application, role=str(spec["role"]), iin=iin))
    return parties


def _ask_parties(application: Application, parties: list[Party]) -> None:
    Party.objects.bulk_create(parties)
    for party in parties:
        person = User.objects.filter(iin=party.iin, is_active=True).first()
        if person is not None:
            _notify(application, person, "party.confirmation_requested", f"party:{party.role}")


@transaction.atomic
def party_respond(*, application: Application, person: User, accept: bool) -> Application:
    """The other party confirms (or declines) an application that names them."""
    locked = _locked(application)
    party = Party.objects.filter(application=locked, iin=person.iin or "-").first()
    if party is None:
        raise NotFound(code="application_not_found", message=_("There is no such application."))
    if locked.status != Status.AWAITING_PARTIES or party.confirmed_at or party.declined_at:
        raise Conflict(code="not_awaiting", message=_("Your answer is no longer needed."))
    now = _now()
    if not accept:
        party.declined_at = now
        party.save(update_fields=["declined_at"])
        locked.status = Status.WITHDRAWN
        locked.decided_at = now
        locked.save(update_fields=["status", "decided_at", "updated_at"])
        _event(locked, action="party_declined", actor=person, actor_kind="party", at=now)
        _notify(locked, locked.applicant, "message", "party-declined")
        return locked
    party.confirmed_at = now
    party.save(update_fields=["confirmed_at"])
    _event(locked, action="party_confirmed", actor=person, actor_kind="party", at=now)
    if not Party.objects.filter(application=locked, confirmed_at__isnull=True).exists():
        _start_case(locked, now)
    return locked


# --- the case -----------------------------------------------------------------------------


def _process(application: Application) -> workflow.Process:
    return workflow.load_process(workflow_of(application.service_version.process or {}))


def _state(application: Application) -> workflow.CaseState:
    status = {
        Status.ACTIVE: workflow.CaseStatus.ACTIVE,
        Status.PAUSED: workflow.CaseStatus.PAUSED,
        Status.APPROVED: workflow.CaseStatus.APPROVED,
        Status.REJECTED: workflow.CaseStatus.REJECTED,
        Status.WITHDRAWN: workflow.CaseStatus.WITHDRAWN,
    }[Status(application.status)]
    last = application.events.order_by("-at", "-id").values_list("at", flat=True).first()
    return workflow.CaseState(
        step=application.step,
        status=status,
        entered_on=application.step_entered_on or _local(_now()).date(),
        updated_at=_local(last or _now()),
        deadline=application.deadline,
        paused_since=application.paused_since,
        paused_days=application.paused_days,
    )


def _store(application: Application, state: workflow.CaseState) -> None:
    application.step = state.step
    application.step_entered_on = state.entered_on
    application.deadline = state.deadline
    application.paused_since = state.paused_since
    application.paused_days = state.paused_days
    application.status = {
        workflow.CaseStatus.ACTIVE: Status.ACTIVE,
        workflow.CaseStatus.PAUSED: Status.PAUSED,
        workflow.CaseStatus.APPROVED: Status.APPROVED,
        workflow.CaseStatus.REJECTED: Status.REJECTED,
        workflow.CaseStatus.WITHDRAWN: Status.WITHDRAWN,
    }[state.status]


def _record_history(
    application: Application,
    events: Sequence[workflow.HistoryEvent],
    actor: User | None,
    actor_kind: str,
) -> None:
    for item in events:
        CaseEvent.objects.create(
            application=application,
            action=item.action,
            from_step=item.from_step or "",
            to_step=item.to_step or "",
            status=application.status,
            actor=actor,
            actor_kind=actor_kind,
            note=(item.note or "")[:MAX_NOTE],
            deadline=item.deadline,
            at=item.at,
        )


def _start_case(application: Application, now: datetime.datetime) -> None:
    state, started = workflow.start(_process(application), at=_local(now), calendar=_calendar())
    _store(application, state)
    application.save()
    _record_history(application, [started], None, "system")
    WorkItem.objects.create(application=application)


def _applicant_facts(application: Application) -> dict[str, Any]:
    """The applicant's own population record (for the prefill and the rules), logged."""
    applicant = application.applicant
    found = registers.records_read_for_case(
        agency=application.agency,
        reads=[("population", applicant.iin or "", None)],
        purpose=_purpose(application),
        basis=_basis(application),
        case_ref=application.number,
        system_name=_system_name(application.agency),
    )
    person = found.get(("population", applicant.iin or ""))
    return {"person": person.data if person else None}


def case_facts(application: Application) -> dict[str, Any]:
    """Everything the rules and the approval see: the answers, the applicant, today, and the
    register records the process declares (their reads recorded for this application)."""
    answers = answers_of(application)
    base: dict[str, Any] = {
        "answers": answers,
        "applicant": {"iin": application.applicant.iin},
        "application": {"number": application.number},
        "today": _local(_now()).date().isoformat(),
    }
    specs = fact_specs(application.service_version.process or {})
    reads: list[tuple[str, str, Any]] = [("population", application.applicant.iin or "", None)]
    names: list[tuple[str, str, str]] = [("person", "population", application.applicant.iin or "")]
    for name, spec in specs.items():
        try:
            key = evaluate(spec["key"], base)
        except RuleError:
            key = None
        key_text = str(key) if isinstance(key, str | int) else ""
        reads.append((str(spec["register"]), key_text, spec.get("fields")))
        names.append((name, str(spec["register"]), key_text))
    found = registers.records_read_for_case(
        agency=application.agency,
        reads=reads,
        purpose=_purpose(application),
        basis=_basis(application),
        case_ref=application.number,
        system_name=_system_name(application.agency),
    )
    for name, register, key in names:
        read = found.get((register, key))
        base[name] = read.data if read else None
    return base


def _decide_automatically(application: Application, at: datetime.datetime) -> None:
    """Run the process's automatic steps, deciding with the rules where a step decides."""
    process = _process(application)
    facts: dict[str, Any] | None = None

    def decide(step: str) -> str:
        nonlocal facts
        facts = facts if facts is not None else case_facts(application)
        rules = application.service_version.rules
        if not rules:
            return "undecided"
        decision = evaluate_rule_set(rules, facts)
        application.decision_trace = decision.to_json()
        return decision.outcome

    state, events = workflow.advance(
        process, _state(application), at=_local(at), calendar=_calendar(), decide=decide
    )
    _store(application, state)
    application.save()
    _record_history(application, events, None, "system")
    if application.is_final:
        _finish(application, None, at, reason="", facts=facts)


def _finish(
    application: Application,
    official: User | None,
    at: datetime.datetime,
    *,
    reason: str,
    facts: dict[str, Any] | None,
) -> None:
    """A decision: its ledger entry, the register changes of an approval, the notification."""
    application.decided_at = at
    application.decision_reason = reason[:MAX_NOTE]
    application.save(update_fields=["decided_at", "decision_reason", "updated_at"])
    if application.status == Status.WITHDRAWN:
        return
    if application.status == Status.APPROVED:
        _apply_changes(application, official, facts or case_facts(application))
    _ledger_decision(application, official, at)
    template = (
        "application.decided.approved"
        if application.status == Status.APPROVED
        else "application.decided.rejected"
    )
    _notify(application, application.applicant, template, "decided")


def _ledger_decision(
    application: Application, official: User | None, at: datetime.datetime
) -> None:
    """``casework.decision``: what was decided, by whom (pseudonymously), when; the content is
    committed to with a salt kept with the application, so the entry reveals nothing."""
    salt = secrets.token_hex(32)
    content = {
        "number": application.number,
        "decision": application.status,
        "reason": application.decision_reason,
        "answers": answers_of(application),
    }
    commitment = base64.b64encode(
        hashlib.sha256(bytes.fromhex(salt) + canonicalize(content)).digest()
    ).decode()
    version = application.service_version
    ledger.ledger_append(
        entry={
            "v": 1,
            "type": "casework.decision",
            "application": str(application.public_id),
            "service": version.service.code,
            "service_version": version.number,
            "decision": str(application.status),
            "commitment": commitment,
            "actor": actor_pseudonym(official),
            "agency": application.agency.code,
            "time": at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        }
    )
    trace = dict(application.decision_trace or {})
    trace["salt"] = salt
    application.decision_trace = trace
    application.save(update_fields=["decision_trace"])


def _value(expression: Any, facts: Mapping[str, Any], where: str) -> Any:
    try:
        return evaluate(expression, facts)
    except RuleError as exc:
        raise ValidationError(
            code="approval_failed",
            message=_("The approval could not be carried out: a fact it needs is missing."),
            details={"where": where, "reason": str(exc)},
        ) from None


def _apply_changes(
    application: Application, official: User | None, facts: Mapping[str, Any]
) -> None:
    """Carry out an approval's declared register changes through the registers' services."""
    on_approval = (application.service_version.process or {}).get("on_approval") or {}
    basis = f"application {application.number}"
    reason = f"decision on {application.number}"
    for index, change in enumerate(on_approval.get("register_changes") or []):
        where = f"register_changes[{index}]"
        register = str(change["register"])
        if change["op"] == "update":
            key = str(_value(change["key"], facts, where + ".key"))
            current = registers.records_read_for_case(
                agency=application.agency,
                reads=[(register, key, None)],
                purpose=_purpose(application),
                basis=_basis(application),
                case_ref=application.number,
                system_name=_system_name(application.agency),
            )[(register, key)]
            if current is None:
                raise ValidationError(
                    code="approval_failed",
                    message=_("The register record this approval changes does not exist."),
                    details={"where": where},
                )
            data = dict(current.data)
            for name, expression in change["set"].items():
                data[name] = _value(expression, facts, f"{where}.{name}")
            register_services.record_update(
                register=register,
                key=key,
                data=data,
                expected_version=current.version,
                actor=None,
                agency=application.agency,
                basis=basis,
                reason=reason,
            )
        else:
            data = {
                name: _value(expression, facts, f"{where}.{name}")
                for name, expression in change["data"].items()
            }
            if change.get("allocate") == "bin":
                data["bin"] = _allocate_bin()
            register_services.record_create(
                register=register,
                data=data,
                actor=None,
                agency=application.agency,
                basis=basis,
                reason=reason,
            )


def _allocate_bin() -> str:
    """The next free BIN of this month (a counter per month, past the ones already used)."""
    today = _local(_now()).date()
    name = f"bin-{today:%Y-%m}"
    Counter.objects.get_or_create(name=name, defaults={"value": 90000})
    for _attempt in range(50):
        Counter.objects.filter(name=name).update(value=F("value") + 1)
        serial = Counter.objects.get(name=name).value % 100000
        candidate = make_bin(today.year, today.month, serial=serial)
        if not registers.record_exists_for_system(register="business", key=candidate):
            return candidate
    raise Conflict(code="bin_exhausted", message=_("No BIN could be allocated."))


# --- officials ----------------------------------------------------------------------------


def _roles(official: User, agency: Agency) -> set[str]:
    return {m.role for m in account_selectors.memberships_of(official) if m.agency_id == agency.pk}


def _check_official(official: User, application: Application) -> set[str]:
    roles = _roles(official, application.agency)
    if not roles & OFFICIAL_ROLES:
        raise NotFound(code="application_not_found", message=_("There is no such application."))
    return roles


def _step_role_allows(application: Application, roles: set[str]) -> bool:
    step = _process(application).steps.get(application.step)
    return step is not None and (step.role in roles or Role.HEAD in roles)


@transaction.atomic
def case_take(*, application: Application, official: User) -> Application:
    locked = _locked(application)
    roles = _check_official(official, locked)
    if locked.is_final or not _step_role_allows(locked, roles):
        raise PermissionDenied(
            code="not_your_step", message=_("Your role does not handle this step.")
        )
    if locked.assignee_id not in (None, official.pk) and Role.HEAD not in roles:
        raise Conflict(code="taken", message=_("Another official has taken this case."))
    locked.assignee = official
    locked.save(update_fields=["assignee", "updated_at"])
    _event(locked, action="taken", actor=official, actor_kind="official", at=_now())
    return locked


@transaction.atomic
def case_assign(*, application: Application, head: User, assignee: User) -> Application:
    locked = _locked(application)
    roles = _check_official(head, locked)
    if Role.HEAD not in roles:
        raise PermissionDenied(
            code="head_only", message=_("Only the head of the unit assigns cases.")
        )
    if not _step_role_allows(locked, _roles(assignee, locked.agency)):
        raise ValidationError(
            code="assignee_role",
            message=_("This official's role does not handle this step."),
            field="assignee",
        )
    locked.assignee = assignee
    locked.save(update_fields=["assignee", "updated_at"])
    _event(
        locked,
        action="assigned",
        actor=head,
        actor_kind="official",
        at=_now(),
        note=assignee.get_username(),
    )
    return locked


@transaction.atomic
def case_comment(*, application: Application, official: User, text: str) -> Comment:
    locked = _locked(application)
    _check_official(official, locked)
    text = (text or "").strip()
    if not text or len(text) > MAX_NOTE:
        raise ValidationError(
            code="comment_length",
            message=_("Write a comment of at most 2,000 characters."),
            field="text",
        )
    return Comment.objects.create(application=locked, author=official, text=text)


@transaction.atomic
def case_act(
    *, application: Application, official: User, action: str, note: str = ""
) -> Application:
    """An official acts on the case's current step: approve, reject, request information,
    return, or any action the process declares for the step. A decision needs a reason."""
    locked = _locked(application)
    roles = _check_official(official, locked)
    if locked.is_final or not _step_role_allows(locked, roles):
        raise PermissionDenied(
            code="not_your_step", message=_("Your role does not handle this step.")
        )
    note = (note or "").strip()
    if action in {"approve", "reject", workflow.REQUEST_INFO} and not note:
        raise ValidationError(
            code="reason_required",
            message=_("Give the reason, the applicant will read it."),
            field="note",
        )
    if len(note) > MAX_NOTE:
        raise ValidationError(code="note_too_long", message=_("The text is too long."))
    step = _process(locked).steps[locked.step]
    now = _now()
    try:
        state, event = workflow.apply(
            _process(locked),
            _state(locked),
            action,
            actor=str(step.role),
            at=_local(now),
            calendar=_calendar(),
            note=note,
        )
    except workflow.TransitionError as exc:
        raise Conflict(
            code=f"transition_{exc.code}", message=_("This action is not possible now.")
        ) from None
    _store(locked, state)
    if locked.assignee_id is None:
        locked.assignee = official
    locked.save()
    _record_history(locked, [event], official, "official")
    if action == workflow.REQUEST_INFO:
        InfoRequest.objects.create(
            application=locked, question=note, asked_by=official, asked_at=now
        )
        _notify(locked, locked.applicant, "application.info_requested", f"info:{event.at}")
    elif locked.is_final:
        _finish(locked, official, now, reason=note, facts=None)
    elif _process(locked).steps[locked.step].kind is workflow.StepKind.AUTO:
        WorkItem.objects.create(application=locked)
    return locked


# --- the applicant after submission -------------------------------------------------------


@transaction.atomic
def application_answer_info(
    *, application: Application, applicant: User, answer: str
) -> Application:
    """The applicant answers the official's question; the step's clock runs again."""
    _own(application, applicant)
    locked = _locked(application)
    request = locked.info_requests.filter(answered_at__isnull=True).order_by("-asked_at").first()
    if locked.status != Status.PAUSED or request is None:
        raise Conflict(code="no_question", message=_("No information is being asked for."))
    answer = (answer or "").strip()
    if not answer or len(answer) > MAX_NOTE:
        raise ValidationError(
            code="answer_length",
            message=_("Write an answer of at most 2,000 characters."),
            field="answer",
        )
    now = _now()
    state, event = workflow.apply(
        _process(locked),
        _state(locked),
        workflow.PROVIDE_INFO,
        actor=workflow.APPLICANT,
        at=_local(now),
        calendar=_calendar(),
    )
    _store(locked, state)
    locked.save()
    request.answer, request.answered_at = answer, now
    request.save(update_fields=["answer", "answered_at"])
    _record_history(locked, [event], applicant, "applicant")
    return locked


@transaction.atomic
def application_withdraw(*, application: Application, applicant: User) -> Application:
    _own(application, applicant)
    locked = _locked(application)
    now = _now()
    if locked.status in {Status.DRAFT, Status.AWAITING_PARTIES}:
        locked.status = Status.WITHDRAWN
        locked.decided_at = now
        locked.save(update_fields=["status", "decided_at", "updated_at"])
        _event(locked, action="withdraw", actor=applicant, actor_kind="applicant", at=now)
        return locked
    if locked.is_final:
        raise Conflict(code="already_decided", message=_("This application is already closed."))
    state, event = workflow.apply(
        _process(locked),
        _state(locked),
        workflow.WITHDRAW,
        actor=workflow.APPLICANT,
        at=_local(now),
        calendar=_calendar(),
    )
    _store(locked, state)
    locked.save()
    _record_history(locked, [event], applicant, "applicant")
    _finish(locked, None, now, reason="", facts=None)
    return locked


# --- background work ----------------------------------------------------------------------


def _claim(limit: int, now: datetime.datetime) -> list[int]:
    """Claim pending work items with a lease; two workers never hold the same item."""
    candidates = list(
        WorkItem.objects.filter(done_at__isnull=True, attempts__lt=MAX_ATTEMPTS)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("id")
        .values_list("id", "claimed_until")[:limit]
    )
    claimed = []
    for item_id, lease in candidates:
        won = WorkItem.objects.filter(pk=item_id, claimed_until=lease, done_at__isnull=True).update(
            claimed_until=now + LEASE, attempts=F("attempts") + 1
        )
        if won:
            claimed.append(item_id)
    return claimed


def _process_item(item_id: int) -> None:
    with transaction.atomic():
        item = WorkItem.objects.select_for_update().get(pk=item_id)
        if item.done_at is not None:
            return
        application = _locked(item.application)
        now = _now()
        if application.status == Status.ACTIVE:
            step = _process(application).steps.get(application.step)
            if step is not None and step.kind is workflow.StepKind.AUTO:
                _decide_automatically(application, now)
        item.done_at = now
        item.save(update_fields=["done_at"])


def work_once(*, limit: int = 50) -> int:
    """Process a batch of pending automatic work; returns how many items were handled."""
    handled = 0
    for item_id in _claim(limit, _now()):
        try:
            _process_item(item_id)
        except DomainError as exc:
            WorkItem.objects.filter(pk=item_id).update(last_error=str(exc.message)[:2000])
        handled += 1
    return handled


@dataclass(frozen=True)
class EscalationReport:
    overdue: int
    notified: int


@transaction.atomic
def deadlines_escalate(*, today: datetime.date | None = None) -> EscalationReport:
    """Tell the heads of unit about cases past their step's deadline, once per deadline."""
    today = today or _local(_now()).date()
    overdue = (
        Application.objects.select_for_update()
        .filter(status=Status.ACTIVE, deadline__lt=today)
        .exclude(escalated_for=F("deadline"))
        .select_related("agency", "service_version__service")
    )
    notified = count = 0
    for application in overdue:
        count += 1
        heads = account_selectors.members_with_role(application.agency_id, Role.HEAD)
        for head in heads:
            _notify(
                application, head, "application.step_overdue", f"overdue:{application.deadline}"
            )
            notified += 1
        application.escalated_for = application.deadline
        application.save(update_fields=["escalated_for"])
        _event(
            application,
            action="escalated",
            actor=None,
            actor_kind="system",
            at=_now(),
            note=f"deadline {application.deadline}",
        )
    return EscalationReport(overdue=count, notified=notified)


# --- notifications ------------------------------------------------------------------------


def _notify(application: Application, recipient: User, template: str, reason: str) -> None:
    version = application.service_version
    notifications.notify(
        recipient=recipient,
        template=template,
        context={
            "number": application.number,
            "service": version.name.to_dict(),
            "link": f"/account/applications/{application.number}/",
            "reason": application.decision_reason,
            "deadline": application.deadline.isoformat() if application.deadline else "",
        },
        dedupe_key=f"application:{application.number}:{reason}:{recipient.pk}",
    )
