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
import contextlib
import datetime
import hashlib
import json
import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from shanyraq.accounts import selectors as account_selectors
from shanyraq.accounts.models import Role, User
from shanyraq.catalog.models import Agency, ServiceVersion
from shanyraq.core.bulk import insert_rows
from shanyraq.core.calendar import kazakhstan_calendar
from shanyraq.core.canonical_json import canonicalize
from shanyraq.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationError
from shanyraq.core.national_id import is_valid_iin, make_bin
from shanyraq.core.sql import plain_cursor
from shanyraq.core.text import LANGUAGES
from shanyraq.documents import esign
from shanyraq.documents import services as documents
from shanyraq.ledger_django import services as ledger
from shanyraq.notifications import services as notifications
from shanyraq.registries import selectors as registers
from shanyraq.registries import services as register_services
from shanyraq.registries.services import actor_pseudonym
from shanyraq.rules.engine import RuleError, evaluate, evaluate_rule_set

from . import workflow
from .declarations import fact_specs, is_fixed_text, party_specs, workflow_of
from .forms import (
    answers_problems,
    attachment_fields,
    form_problems,
    prefill_fields,
    prefill_values,
    schema_key,
    step_count,
    step_fields,
    step_problems,
)
from .models import (
    FINAL_STATUSES,
    Application,
    Attachment,
    CaseEvent,
    Comment,
    Counter,
    InfoRequest,
    Party,
    Status,
    WorkItem,
)

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise

__all__ = [
    "ANSWER_DAYS",
    "Applied",
    "EscalationReport",
    "act_signing_content",
    "answers_of",
    "application_answer_info",
    "application_apply",
    "application_keep",
    "application_save",
    "application_start",
    "application_submit",
    "application_withdraw",
    "case_act",
    "case_assign",
    "case_comment",
    "case_facts",
    "case_take",
    "deadlines_escalate",
    "idempotency_key_clean",
    "party_respond",
    "service_version_for_applying",
    "work_once",
]

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 5
MAX_NOTE = 2000
MAX_ANSWERS_BYTES = 100_000
ANSWER_DAYS = 10
"""Working days a person is asked to answer within (the other party, a request for
information). The messages name the date; nothing happens by itself when it passes."""
OFFICIAL_ROLES = frozenset({Role.CLERK, Role.REVIEWER, Role.HEAD})
_STATUS_OF_CASE = {
    workflow.CaseStatus.ACTIVE: Status.ACTIVE,
    workflow.CaseStatus.PAUSED: Status.PAUSED,
    workflow.CaseStatus.APPROVED: Status.APPROVED,
    workflow.CaseStatus.REJECTED: Status.REJECTED,
    workflow.CaseStatus.WITHDRAWN: Status.WITHDRAWN,
}
_CASE_OF_STATUS = {status: case for case, status in _STATUS_OF_CASE.items()}
# Application-number sequences known to exist, per database connection alias.
_SEQUENCES_MADE: set[tuple[str, str]] = set()
# Service versions taking applications, by (id, last change), and what is worked out from
# each once (``_loaded``).
_VERSIONS: dict[tuple[Any, ...], ServiceVersion] = {}
_LOADED: dict[int, tuple[ServiceVersion, _Loaded]] = {}
_VERSIONS_KEPT = 256


def _now() -> datetime.datetime:
    return timezone.now()


def _local(at: datetime.datetime) -> datetime.datetime:
    """The agency's local time: its date is the day deadlines count."""
    return timezone.localtime(at)


def _calendar() -> workflow.WorkingDays:
    return kazakhstan_calendar()


def _answer_by(now: datetime.datetime) -> datetime.date:
    return _calendar().add_working_days(_local(now).date(), ANSWER_DAYS)


def _number_sequence(year: int) -> str:
    """The PostgreSQL sequence of the year's application numbers, made on first use."""
    sequence = f"casework_application_number_{year}"
    if (connection.alias, sequence) not in _SEQUENCES_MADE:
        with connection.cursor() as cursor:
            try:
                # Two first submissions of a year can both find no sequence: the second
                # waits for the first to commit and then fails, with the sequence there.
                with transaction.atomic():
                    cursor.execute(f"CREATE SEQUENCE IF NOT EXISTS {sequence}")
            except IntegrityError:
                pass
        # Remembered once it is surely there: a rolled-back creation leaves no sequence.
        made = (connection.alias, sequence)
        transaction.on_commit(lambda: _SEQUENCES_MADE.add(made))
    return sequence


def _numbered(year: int, value: int) -> str:
    return f"A{year}-{value:07d}"


def _next_number(now: datetime.datetime) -> str:
    """The next application number of the year, ``A2026-0000123``.

    On PostgreSQL a sequence per year gives it without a lock: numbers taken by transactions
    that roll back are skipped, so numbers are unique and increasing but may have gaps. A
    counter row would hold a lock until the submitting transaction commits and make every
    submission wait for the one before. SQLite, which writes one transaction at a time
    anyway, counts in a row.
    """
    year = _local(now).year
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval(%s)", [_number_sequence(year)])
            row = cursor.fetchone()
        value = int(row[0]) if row else 0
    else:
        name = f"application-{year}"
        Counter.objects.get_or_create(name=name)
        Counter.objects.filter(name=name).update(value=F("value") + 1)
        value = Counter.objects.get(name=name).value
    return _numbered(year, value)


_CURRENT_VERSION = (
    "SELECT v.id, v.updated_at FROM catalog_service s "
    "JOIN catalog_serviceversion v ON v.id = s.current_version_id WHERE s.code = %s"
)
# The same, and the next application number from the year's sequence (PostgreSQL).
_CURRENT_VERSION_NUMBERED = (
    "SELECT v.id, v.updated_at, nextval(%s) FROM catalog_service s "
    "JOIN catalog_serviceversion v ON v.id = s.current_version_id WHERE s.code = %s"
)


def service_version_for_applying(service_code: str) -> ServiceVersion:
    """The published version of a service that takes applications online, or an error.

    Which version is current is read every time; the version itself (its form, process and
    rules, parsed from JSON) is kept in memory by id and last change, so a busy service's
    submissions do not read and parse the same definition again and again.
    """
    with plain_cursor() as cursor:  # every submission asks: a plain query
        cursor.execute(_CURRENT_VERSION, [service_code])
        row = cursor.fetchone()
    return _version_taking_applications(row)


def _version_taking_applications(row: Sequence[Any] | None) -> ServiceVersion:
    """The version ``row`` (its id and last change) names, from memory when it has not
    changed, or an error when there is none or it takes no applications online."""
    if row is None:
        raise NotFound(code="service_not_found", message=_("There is no such service."))
    key = (row[0], row[1])
    version = _VERSIONS.get(key)
    if version is None:
        version = ServiceVersion.objects.select_related("service__agency").get(pk=row[0])
        if len(_VERSIONS) >= _VERSIONS_KEPT:
            _VERSIONS.clear()
            _LOADED.clear()
        _VERSIONS[key] = version
    if not version.form or not version.process:
        raise ValidationError(
            code="not_online",
            message=_("This service does not take applications online."),
        )
    return version


def _applying(service_code: str, now: datetime.datetime) -> tuple[ServiceVersion, str]:
    """``service_version_for_applying`` and ``_next_number``: on PostgreSQL one query reads
    the current version and takes a number (only when the service exists)."""
    if connection.vendor != "postgresql":
        return service_version_for_applying(service_code), _next_number(now)
    year = _local(now).year
    sequence = _number_sequence(year)
    with plain_cursor() as cursor:
        cursor.execute(_CURRENT_VERSION_NUMBERED, [sequence, service_code])
        row = cursor.fetchone()
    version = _version_taking_applications(row)
    assert row is not None
    return version, _numbered(year, int(row[2]))


class _Loaded(NamedTuple):
    """What a submission needs of a version, worked out from its definition."""

    process: workflow.Process
    form_key: str  # ``forms.schema_key``


def _loaded(version: ServiceVersion) -> _Loaded:
    """What a version kept in memory (``_VERSIONS``, never changed there) needs, worked out
    once for it."""
    held = _LOADED.get(id(version))
    if held is None or held[0] is not version:
        loaded = _Loaded(
            process=workflow.load_process(workflow_of(version.process or {})),
            form_key=schema_key(version.form or {}),
        )
        held = _LOADED[id(version)] = (version, loaded)
    return held[1]


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
    """The application, its row locked until the transaction ends.

    Only the application's own row: locking the joined service version, agency and applicant
    too would make every case of an agency wait for every other.
    """
    return (
        Application.objects.select_for_update(of=("self",))
        .select_related("service_version__service", "agency", "applicant")
        .get(pk=application.pk)
    )


def _own(application: Application, applicant: User) -> None:
    if application.applicant_id != applicant.pk:
        raise NotFound(code="application_not_found", message=_("There is no such application."))


def _text(value: str, *, field: str, code: str, message: _StrOrPromise) -> str:
    """A person's free text (a reason, a question, an answer), trimmed and checked."""
    text = (value or "").strip()
    if (
        not text
        or len(text) > MAX_NOTE
        or "\x00" in text
        or any("\ud800" <= ch <= "\udfff" for ch in text)
    ):
        raise ValidationError(code=code, message=message, field=field)
    return text


def _in_every_language(write: Callable[[], str]) -> dict[str, str]:
    """A message written by ``write`` (with ``gettext``) in each of the three languages."""
    texts = {}
    for language in LANGUAGES:
        with translation.override(language):
            texts[language] = write()
    return texts


# --- drafts ------------------------------------------------------------------------------


def _prefill_facts(application: Application) -> dict[str, Any]:
    """The parts of the applicant's population record the form fills in, their read logged.

    Only the fields the form needs are read, so the data tracker shows what was used.
    """
    fields = prefill_fields(application.service_version.form or {})
    iin = application.applicant.iin or ""
    if not fields or not iin:
        return {"person": None}
    found = registers.records_read_for_case(
        agency=application.agency,
        reads=[("population", iin, fields)],
        purpose=_purpose(application),
        basis=_basis(application),
        case_ref=application.number,
        system_name=_system_name(application.agency),
    )
    person = found.get(("population", iin))
    return {"person": person.data if person else None}


@transaction.atomic
def application_start(*, applicant: User, service_code: str) -> Application:
    """A new draft for ``service_code``, prefilled with what the registers know.

    Reading the applicant's records for the prefill is recorded in the data tracker as read
    by the service's agency, for this application.
    """
    if not applicant.iin or not is_valid_iin(applicant.iin):
        raise PermissionDenied(
            code="iin_required", message=_("Only people with an IIN can apply online.")
        )
    version = service_version_for_applying(service_code)
    now = _now()
    application = Application.objects.create(
        number=_next_number(now),
        service_version=version,
        agency=version.service.agency,
        applicant=applicant,
    )
    application.prefilled = prefill_values(version.form or {}, _prefill_facts(application))
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


def _attached(application: Application, form: Mapping[str, Any]) -> dict[str, str] | None:
    """The application's files (identifier -> field), read only when its form asks for any."""
    if not attachment_fields(form):
        return None
    files = Attachment.objects.filter(application=application).values_list("public_id", "field")
    return {str(public_id): field for public_id, field in files}


def _invalid_answers(problems: list[dict[str, str]]) -> ValidationError:
    return ValidationError(
        code="invalid_answers",
        message=_("Some answers need correcting."),
        field=problems[0]["field"],
        details={"problems": problems},
    )


@transaction.atomic
def application_save(
    *,
    application: Application,
    applicant: User,
    values: Mapping[str, Any],
    step: int | None = None,
) -> Application:
    """Keep the answers of one step of the form (or of the whole form, with ``step=None``).

    ``values`` replace that step's earlier answers: a field left out or blank is no longer
    answered. Raises ``ValidationError`` listing every problem, one per field (in
    ``details["problems"]``); nothing is kept then. Fields the registers filled in cannot be
    changed here.
    """
    locked = _draft(application, applicant)
    form = locked.service_version.form or {}
    if step is not None and not 0 <= step < step_count(form):
        raise ValidationError(
            code="no_such_step", message=_("The form has no such step."), field="step"
        )
    problems, cleaned = step_problems(form, values, step, locked.prefilled, _attached(locked, form))
    if problems:
        raise _invalid_answers(problems)
    replaced = set(step_fields(form, step))
    answers = {k: v for k, v in locked.answers.items() if k not in replaced} | cleaned
    if len(json.dumps(answers, ensure_ascii=False).encode()) > MAX_ANSWERS_BYTES:
        raise _invalid_answers(
            [{"field": "$", "message": gettext("The answers are too long altogether.")}]
        )
    locked.answers = answers
    if step is not None:
        locked.form_step = max(locked.form_step, step + 1)
    locked.save(update_fields=["answers", "form_step", "updated_at"])
    return locked


@transaction.atomic
def application_keep(
    *, application: Application, applicant: User, values: Mapping[str, Any], step: int
) -> list[str]:
    """Keep the answers of one step that are right so far, as the person types them (the
    portal's autosave). Returns the fields kept.

    Unlike ``application_save`` nothing is refused: a field sent with a problem, or not sent,
    keeps its earlier answer; fields of other steps, fields the registers filled in and files
    are left alone; and the step is not counted as done, so its "Save and continue" still
    checks every answer.
    """
    locked = _draft(application, applicant)
    form = locked.service_version.form or {}
    if not 0 <= step < step_count(form):
        raise ValidationError(
            code="no_such_step", message=_("The form has no such step."), field="step"
        )
    files = set(attachment_fields(form))
    prefilled = locked.prefilled or {}
    names = [n for n in step_fields(form, step) if n not in files and n not in prefilled]
    given = {name: values[name] for name in names if name in values}
    problems, cleaned = step_problems(form, given, step, prefilled, None)
    wrong = {problem["field"].split(".")[0] for problem in problems}
    kept = {name: cleaned[name] for name in given if name in cleaned and name not in wrong}
    answers = {**locked.answers, **kept}
    if answers == locked.answers:
        return sorted(kept)
    if len(json.dumps(answers, ensure_ascii=False).encode()) > MAX_ANSWERS_BYTES:
        return []
    locked.answers = answers
    locked.save(update_fields=["answers", "updated_at"])
    return sorted(kept)


@transaction.atomic
def application_submit(
    *,
    application: Application,
    applicant: User,
    idempotency_key: str = "",
    signature: esign.Signature | None = None,
) -> Application:
    """Submit a draft: every answer is checked, the parties are asked to confirm, or the case
    starts. Submitting again what was already submitted returns it unchanged; a client's
    ``idempotency_key`` already used for another of the applicant's applications is a
    ``Conflict``. ``signature`` is the applicant's electronic signature over their answers
    (``esign.signing_content``): kept when given, required when the service asks for one."""
    _own(application, applicant)
    key = idempotency_key_clean(idempotency_key)
    locked = _locked(application)
    if (
        key
        and Application.objects.filter(applicant=applicant, idempotency_key=key)
        .exclude(pk=locked.pk)
        .exists()
    ):
        raise _key_reused()
    if locked.status != Status.DRAFT:
        return locked  # a repeated submission: the first one counts
    form = locked.service_version.form or {}
    problems = answers_problems(form, answers_of(locked), _attached(locked, form))
    if problems:
        raise _invalid_answers(problems)
    parties = _parties(locked)
    _signed(locked, applicant, locked.answers, signature)
    now = _now()
    locked.idempotency_key = key
    locked.submitted_at = now
    if parties:
        locked.status = Status.AWAITING_PARTIES
    try:
        with transaction.atomic():
            locked.save(update_fields=["idempotency_key", "submitted_at", "status", "updated_at"])
    except IntegrityError:
        raise _key_reused() from None
    if parties:
        _event(locked, action=workflow.SUBMIT, actor=applicant, actor_kind="applicant", at=now)
        _ask_parties(locked, parties, now)
    else:
        _start_case(locked, now, actor=applicant, actor_kind="applicant")
    return locked


class Applied(NamedTuple):
    """A one-step application and the history written for it, oldest first."""

    application: Application
    history: list[CaseEvent]


def application_apply(
    *,
    applicant: User,
    service_code: str,
    values: Mapping[str, Any],
    idempotency_key: str = "",
    signature: esign.Signature | None = None,
) -> Applied:
    """Start, answer and submit an application in one step (an agency's or a citizen's
    system that has every answer at hand).

    The same as ``application_start``, ``application_save`` of the whole form and
    ``application_submit``, with the same checks, prefill and history, written once and
    all or nothing: no draft is kept when an answer is wrong. A key already used for another
    of the applicant's applications raises ``IntegrityError`` (the caller looks the earlier
    application up). ``signature`` signs ``values`` as they are sent.

    On PostgreSQL the service's version is read and a number taken before anything is
    written (neither takes a lock, so a transaction around them would change nothing); when
    all there is to write is the application, its history, its work item and its message,
    they go as one statement, a transaction by itself. The register reads of a prefill (which
    are recorded), a signature and the other parties' requests are written with them in one
    transaction. SQLite, which counts numbers in a row, does it all in one transaction.
    """
    if not applicant.iin or not is_valid_iin(applicant.iin):
        raise PermissionDenied(
            code="iin_required", message=_("Only people with an IIN can apply online.")
        )
    key = idempotency_key_clean(idempotency_key)
    if connection.vendor != "postgresql":
        with transaction.atomic():
            return _apply(applicant, service_code, values, key, signature)
    return _apply(applicant, service_code, values, key, signature)


def _apply(
    applicant: User,
    service_code: str,
    values: Mapping[str, Any],
    key: str,
    signature: esign.Signature | None,
) -> Applied:
    now = _now()
    version, number = _applying(service_code, now)
    form = version.form or {}
    loaded = _loaded(version)
    writes_before = bool(prefill_fields(form)) or signature is not None
    with transaction.atomic() if writes_before else contextlib.nullcontext():
        application = Application(
            number=number,
            service_version=version,
            agency=version.service.agency,
            applicant=applicant,
            idempotency_key=key,
            submitted_at=now,
            created_at=now,
            updated_at=now,
        )
        application.prefilled = prefill_values(form, _prefill_facts(application))
        problems, cleaned = form_problems(form, values, application.prefilled, key=loaded.form_key)
        if problems:
            raise _invalid_answers(problems)
        if len(json.dumps(cleaned, ensure_ascii=False).encode()) > MAX_ANSWERS_BYTES:
            raise _invalid_answers(
                [{"field": "$", "message": gettext("The answers are too long altogether.")}]
            )
        application.answers = cleaned
        application.form_step = step_count(form)
        parties = _parties(application)
        _signed(application, applicant, values, signature)
        created = CaseEvent(
            application=application,
            action="created",
            status=Status.DRAFT,
            actor=applicant,
            actor_kind="applicant",
            at=now,
        )
        if not parties:
            # The application, its history, its work item and its message: all at once.
            history = _start_case(
                application,
                now,
                actor=applicant,
                actor_kind="applicant",
                earlier=[created],
                process=loaded.process,
            )
            return Applied(application, history)
        with transaction.atomic():
            application.status = Status.AWAITING_PARTIES
            application.save(force_insert=True)
            submitted = CaseEvent(
                application=application,
                action=workflow.SUBMIT,
                status=application.status,
                actor=applicant,
                actor_kind="applicant",
                at=now,
            )
            CaseEvent.objects.bulk_create([created, submitted])
            _ask_parties(application, parties, now)
        return Applied(application, [created, submitted])


def act_signing_content(number: str, action: str, note: str) -> bytes:
    """The bytes an agency's system signs when it acts on a case: the canonical JSON of the
    application's number, the action and the note."""
    return canonicalize({"application": number, "action": action, "note": note})


def _signed(
    application: Application,
    applicant: User,
    answers: Mapping[str, Any],
    signature: esign.Signature | None,
) -> None:
    """Keep the applicant's signature over their answers; refuse a submission without one
    when the service requires it, and one that does not verify."""
    version = application.service_version
    if signature is None:
        if version.esign_required:
            raise ValidationError(
                code="signature_required",
                message=_("This service needs your electronic signature on the application."),
                field="signature",
            )
        return
    esign.signature_record(
        signer=applicant,
        purpose="application",
        reference=application.number,
        content=esign.signing_content(version.service.code, answers),
        signature=signature,
    )


def idempotency_key_clean(key: str) -> str:
    """A client's Idempotency-Key as it is stored, or a ``ValidationError``."""
    key = (key or "").strip()
    if len(key) > 100:
        raise ValidationError(
            code="idempotency_key_too_long",
            message=_("The Idempotency-Key is too long."),
            field="idempotency_key",
        )
    return key


def _key_reused() -> Conflict:
    return Conflict(
        code="idempotency_key_reused",
        message=_("This Idempotency-Key was used for another application."),
    )


def _prefilled_answers(application: Application) -> dict[str, Any]:
    return {name: item["value"] for name, item in (application.prefilled or {}).items()}


def answers_of(application: Application) -> dict[str, Any]:
    """The answers the case is decided on: the applicant's and the registers'."""
    return {**application.answers, **_prefilled_answers(application)}


# --- parties ------------------------------------------------------------------------------


def _parties(application: Application) -> list[Party]:
    answers = answers_of(application)
    parties: list[Party] = []
    for spec in party_specs(application.service_version.process or {}):
        field = str(spec["iin_field"])
        iin = str(answers.get(field) or "")
        if not is_valid_iin(iin):
            raise ValidationError(
                code="party_iin", message=_("Enter a valid IIN of the other party."), field=field
            )
        if iin == application.applicant.iin:
            raise ValidationError(
                code="party_is_applicant",
                message=_("The other party cannot be you."),
                field=field,
            )
        if any(party.iin == iin for party in parties):
            raise ValidationError(
                code="party_repeated",
                message=_("Name a different person for each party."),
                field=field,
            )
        parties.append(Party(application=application, role=str(spec["role"]), iin=iin))
    return parties


def _ask_parties(application: Application, parties: list[Party], now: datetime.datetime) -> None:
    Party.objects.bulk_create(parties)
    for party in parties:
        person = User.objects.filter(iin=party.iin, is_active=True).first()
        if person is not None:
            _notify(
                application,
                person,
                "party.confirmation_requested",
                f"party:{party.role}",
                deadline=_answer_by(now),
            )


@transaction.atomic
def party_respond(*, application: Application, person: User, accept: bool) -> Application:
    """The other party confirms (or declines) an application that names them.

    When the last party confirms, the case starts; a party declining withdraws it.
    """
    locked = _locked(application)
    party = Party.objects.filter(application=locked, iin=person.iin or "-").first()
    if party is None or not person.iin:
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
        number = locked.number
        _notify(
            locked,
            locked.applicant,
            "message",
            "party-declined",
            subject=_in_every_language(
                lambda: gettext("Application %(number)s was declined") % {"number": number}
            ),
            text=_in_every_language(
                lambda: (
                    gettext(
                        "The other party named in application %(number)s declined to confirm it, "
                        "so it has been withdrawn. If its details were wrong, you can apply again."
                    )
                    % {"number": number}
                )
            ),
        )
        return locked
    party.confirmed_at = now
    party.save(update_fields=["confirmed_at"])
    _event(locked, action="party_confirmed", actor=person, actor_kind="party", at=now)
    if not Party.objects.filter(application=locked, confirmed_at__isnull=True).exists():
        _start_case(locked, now, actor=None, actor_kind="system", action="start")
    return locked


# --- the case -----------------------------------------------------------------------------


def _process(application: Application) -> workflow.Process:
    return workflow.load_process(workflow_of(application.service_version.process or {}))


def _state(application: Application) -> workflow.CaseState:
    last = application.events.order_by("-at", "-id").values_list("at", flat=True).first()
    return workflow.CaseState(
        step=application.step,
        status=_CASE_OF_STATUS[Status(application.status)],
        entered_on=application.step_entered_on or _local(_now()).date(),
        updated_at=_local(last or _now()),
        deadline=application.deadline,
        paused_since=application.paused_since,
        paused_days=application.paused_days,
    )


def _store(application: Application, state: workflow.CaseState) -> None:
    if state.step != application.step:
        application.assignee = None  # a new step is for whoever holds its role to take
    application.step = state.step
    application.step_entered_on = state.entered_on
    application.deadline = state.deadline
    application.paused_since = state.paused_since
    application.paused_days = state.paused_days
    application.status = _STATUS_OF_CASE[state.status]


def _status_after(event: workflow.HistoryEvent) -> Status:
    if event.to_step in workflow.TERMINAL_STEPS:
        return Status(event.to_step)
    return Status.PAUSED if event.action == workflow.REQUEST_INFO else Status.ACTIVE


def _history(
    application: Application,
    events: Sequence[workflow.HistoryEvent],
    actor: User | None,
    actor_kind: str,
) -> list[CaseEvent]:
    return [
        CaseEvent(
            application=application,
            action=item.action,
            from_step=item.from_step or "",
            to_step=item.to_step or "",
            status=_status_after(item),
            actor=actor,
            actor_kind=actor_kind,
            note=(item.note or "")[:MAX_NOTE],
            deadline=item.deadline,
            at=item.at,
        )
        for item in events
    ]


def _record_history(
    application: Application,
    events: Sequence[workflow.HistoryEvent],
    actor: User | None,
    actor_kind: str,
) -> None:
    CaseEvent.objects.bulk_create(_history(application, events, actor, actor_kind))


def _start_case(
    application: Application,
    now: datetime.datetime,
    *,
    actor: User | None,
    actor_kind: str,
    action: str = workflow.SUBMIT,
    earlier: Sequence[CaseEvent] = (),
    process: workflow.Process | None = None,
) -> list[CaseEvent]:
    """The case enters the process; automatic steps are left to the worker. Returns the
    history written (``earlier`` and the start's events).

    An application not yet in the database is inserted here, with ``earlier`` events of its
    history written before the start's: the application, its history, its work item and the
    applicant's message go to the database in one round trip. ``process`` is the version's,
    when the caller has it loaded already.
    """
    if process is None:
        process = _process(application)
    state, started = workflow.start(process, at=_local(now), calendar=_calendar())
    _store(application, state)
    events = [
        *earlier,
        *_history(application, [replace(started, action=action)], actor, actor_kind),
    ]
    work = (
        [WorkItem(application=application)]
        if process.steps[state.step].kind is workflow.StepKind.AUTO
        else []
    )
    if application.pk is None:
        # A new number: no message can have been written for this occasion before.
        message = notifications.message_compose(
            **_message(application, application.applicant, "application.submitted", "submitted")
        )
        insert_rows([application, *events, *work, *message.rows()])
        return events
    application.save()
    CaseEvent.objects.bulk_create(events)
    WorkItem.objects.bulk_create(work)
    _notify(application, application.applicant, "application.submitted", "submitted")
    return events


@transaction.atomic
def case_facts(application: Application, reader: User | None = None) -> dict[str, Any]:
    """Everything the rules and the approval see: the answers, the applicant, today, and the
    register records the process declares (their reads recorded for this application, as
    read by ``reader`` when an official looks, by the agency's system otherwise).

    The applicant's population record is ``person``; each declared fact gets only the fields
    it declares, even when two facts read the same record.
    """
    iin = application.applicant.iin or ""
    base: dict[str, Any] = {
        "answers": answers_of(application),
        "applicant": {"iin": iin},
        "application": {"number": application.number},
        "today": _local(_now()).date().isoformat(),
    }
    wanted: dict[str, tuple[str, str, frozenset[str] | None]] = {
        "person": ("population", iin, None)
    }
    for name, spec in fact_specs(application.service_version.process or {}).items():
        try:
            key = evaluate(spec["key"], base)
        except RuleError:
            key = None
        key_text = key if isinstance(key, str) else str(key) if type(key) is int else ""
        fields = spec.get("fields")
        wanted[name] = (
            str(spec["register"]),
            key_text,
            None if fields is None else frozenset(fields),
        )
    reads: dict[tuple[str, str], frozenset[str] | None] = {}
    for register, key, fields in wanted.values():
        if (register, key) in reads:
            earlier = reads[(register, key)]
            reads[(register, key)] = None if earlier is None or fields is None else earlier | fields
        else:
            reads[(register, key)] = fields
    found = registers.records_read_for_case(
        agency=application.agency,
        reads=[(register, key, fields) for (register, key), fields in reads.items()],
        purpose=_purpose(application),
        basis=_basis(application),
        case_ref=application.number,
        system_name=_system_name(application.agency),
        actor=reader,
    )
    for name, (register, key, fields) in wanted.items():
        read = found.get((register, key))
        if read is None:
            base[name] = None
        else:
            base[name] = {k: v for k, v in read.data.items() if fields is None or k in fields}
    return base


def _rejection_reason(trace: Mapping[str, Any]) -> dict[str, str]:
    """The labels of the conditions an automatic rejection failed, in each language."""
    failed = [c for c in trace.get("conditions", []) if c.get("outcome") == "false"]
    return {
        language: "; ".join(str((c.get("label") or {}).get(language) or c["id"]) for c in failed)
        for language in LANGUAGES
    }


def _decide_automatically(
    application: Application, at: datetime.datetime, *, failed: DomainError | None = None
) -> None:
    """Run the process's automatic steps, deciding with the rules where a step decides.

    ``failed`` is why carrying out an automatic approval was impossible: the decision step
    then leads to a person instead (its ``undecided`` route), the reason kept in the trace.
    """
    process = _process(application)
    facts: dict[str, Any] | None = None

    def decide(step: str) -> str:
        nonlocal facts
        facts = facts if facts is not None else case_facts(application)
        rules = application.service_version.rules
        trace: dict[str, Any] = {"outcome": "undecided", "conditions": []}
        if rules:
            trace = evaluate_rule_set(rules, facts).to_json()
        if failed is not None and trace["outcome"] == "approve":
            details = json.loads(json.dumps(failed.details, default=str))
            trace["approval_failed"] = {"code": failed.code, "details": details}
            trace["outcome"] = "undecided"
        application.decision_trace = trace
        return str(trace["outcome"])

    state, events = workflow.advance(
        process, _state(application), at=_local(at), calendar=_calendar(), decide=decide
    )
    _store(application, state)
    application.save()
    _record_history(application, events, None, "system")
    if application.is_final:
        trace = application.decision_trace or {}
        notice = _rejection_reason(trace) if application.status == Status.REJECTED else None
        _finish(application, None, at, reason="", facts=facts, notice=notice)


def _finish(
    application: Application,
    official: User | None,
    at: datetime.datetime,
    *,
    reason: str,
    facts: dict[str, Any] | None,
    notice: Mapping[str, str] | None = None,
) -> None:
    """A decision: the register changes of an approval, its ledger entry, the notification.

    ``notice`` is the reason told to the applicant when it is not ``reason`` (an automatic
    rejection explains itself by the conditions it failed, in each language).
    """
    application.decided_at = at
    application.decision_reason = reason[:MAX_NOTE]
    application.save(update_fields=["decided_at", "decision_reason", "updated_at"])
    if application.status == Status.WITHDRAWN:
        return
    if application.status == Status.APPROVED:
        if facts is None:
            facts = case_facts(application)
            _check_rules_still_hold(application, facts)
        _apply_changes(application, facts)
        _order_documents(application, facts, at)
        _notify(application, application.applicant, "application.decided.approved", "decided")
    else:
        _notify(
            application,
            application.applicant,
            "application.decided.rejected",
            "decided",
            reason=notice or reason,
        )
    _ledger_decision(application, official, at)


def _check_rules_still_hold(application: Application, facts: Mapping[str, Any]) -> None:
    """An approval is carried out on the registers as they are now, not as they were when
    the rules were last run: a condition that has since become false (the flat was sold
    meanwhile) stops it, and nothing changes. Conditions still unknown are the official's
    to judge."""
    rules = application.service_version.rules
    if not rules:
        return
    decision = evaluate_rule_set(rules, facts)
    if decision.outcome == "reject":
        failed = [c.id for c in decision.conditions if c.outcome == "false"]
        raise Conflict(
            code="rules_no_longer_met",
            message=_(
                "The registers have changed since this application was checked, and it no "
                "longer meets the conditions. Reject it, giving the reason."
            ),
            details={"conditions": failed},
        )


def _ledger_decision(
    application: Application, official: User | None, at: datetime.datetime
) -> None:
    """``casework.decision``: what was decided, by whom (pseudonymously), when; the content is
    committed to with a salt kept with the application, so the entry reveals nothing."""
    salt = secrets.token_hex(32)
    content = {
        "number": application.number,
        "decision": str(application.status),
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


DECISION_TITLE = {
    "kk": "Өтініш бойынша шешім",
    "ru": "Решение по заявлению",
    "en": "Decision on an application",
}


def _decision_lines(application: Application, at: datetime.datetime) -> list[dict[str, Any]]:
    return [
        {
            "label": {"kk": "Қызмет", "ru": "Услуга", "en": "Service"},
            "value": application.service_version.name.to_dict(),
        },
        {
            "label": {"kk": "Шешім", "ru": "Решение", "en": "Decision"},
            "value": {"kk": "Мақұлданды", "ru": "Одобрено", "en": "Approved"},
        },
        {
            "label": {"kk": "Шешім күні", "ru": "Дата решения", "en": "Date of the decision"},
            "value": _local(at).strftime("%d.%m.%Y"),
        },
    ]


def _order_documents(
    application: Application, facts: Mapping[str, Any], at: datetime.datetime
) -> None:
    """The documents an approval issues, ordered with the decision: those the process
    declares (each line's value computed from the case's facts), or else the decision
    itself. They are rendered and signed by the worker after the commit."""
    on_approval = (application.service_version.process or {}).get("on_approval") or {}
    declared = on_approval.get("documents") or []
    specs = declared or [{"kind": "decision", "title": DECISION_TITLE, "lines": None}]
    for index, spec in enumerate(specs):
        lines = spec["lines"]
        if lines is None:
            values = _decision_lines(application, at)
        else:
            values = [
                {
                    "label": line["label"],
                    "value": line["value"]
                    if is_fixed_text(line["value"])
                    else _shown(
                        _value(line["value"], facts, f"documents[{index}].lines[{number}]")
                    ),
                }
                for number, line in enumerate(lines)
            ]
        documents.document_order(
            kind=str(spec["kind"]),
            title=spec["title"],
            lines=values,
            agency=application.agency,
            holder=application.applicant,
            application=application,
        )


def _shown(value: Any) -> Any:
    """A fact as a document prints it: text, or text in each language."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return (
            {"kk": "Иә", "ru": "Да", "en": "Yes"}
            if value
            else {"kk": "Жоқ", "ru": "Нет", "en": "No"}
        )
    if isinstance(value, dict) and set(value) >= set(LANGUAGES):
        return value
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _apply_changes(application: Application, facts: Mapping[str, Any]) -> None:
    """Carry out an approval's declared register changes through the registers' services.

    The changes are the agency's (``actor=None``: the system acting for it), on the basis of
    the application; each writes its version and ledger entry in this transaction.
    """
    on_approval = (application.service_version.process or {}).get("on_approval") or {}
    basis = f"application {application.number}"
    reason = f"decision on {application.number}"
    for index, change in enumerate(on_approval.get("register_changes") or []):
        where = f"register_changes[{index}]"
        register = str(change["register"])
        if change["op"] == "update":
            key = _value(change["key"], facts, where + ".key")
            key = key if isinstance(key, str) else str(key)
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


def _roles(official: User, agency_id: int) -> set[str]:
    return {m.role for m in account_selectors.memberships_of(official) if m.agency_id == agency_id}


def _check_official(official: User, application: Application) -> set[str]:
    """The official's roles in the case's agency; to anyone else the case does not exist.

    Drafts belong to the applicant alone. Nobody handles their own application.
    """
    roles = _roles(official, application.agency_id)
    if not roles & OFFICIAL_ROLES or application.status == Status.DRAFT:
        raise NotFound(code="application_not_found", message=_("There is no such application."))
    if application.applicant_id == official.pk:
        raise PermissionDenied(
            code="own_application", message=_("You cannot handle your own application.")
        )
    return roles


def _step_role_allows(process: workflow.Process, step_id: str, roles: set[str]) -> bool:
    """Officials work task steps: those holding the step's role, and the heads of unit."""
    step = process.steps.get(step_id)
    return (
        step is not None
        and step.kind is workflow.StepKind.TASK
        and (step.role in roles or Role.HEAD in roles)
    )


def _check_step(application: Application, roles: set[str]) -> workflow.Process:
    process = _process(application)
    if application.status not in {Status.ACTIVE, Status.PAUSED} or not _step_role_allows(
        process, application.step, roles
    ):
        raise PermissionDenied(
            code="not_your_step", message=_("Your role does not handle this step.")
        )
    return process


@transaction.atomic
def case_take(*, application: Application, official: User) -> Application:
    """The official takes the case at its current step to work on it."""
    locked = _locked(application)
    roles = _check_official(official, locked)
    _check_step(locked, roles)
    if locked.assignee_id not in (None, official.pk) and Role.HEAD not in roles:
        raise Conflict(code="taken", message=_("Another official has taken this case."))
    if locked.assignee_id == official.pk:
        return locked
    locked.assignee = official
    locked.save(update_fields=["assignee", "updated_at"])
    _event(locked, action="taken", actor=official, actor_kind="official", at=_now())
    return locked


@transaction.atomic
def case_assign(*, application: Application, head: User, assignee: User) -> Application:
    """A head of unit gives the case to an official whose role handles its current step."""
    locked = _locked(application)
    roles = _check_official(head, locked)
    if Role.HEAD not in roles:
        raise PermissionDenied(
            code="head_only", message=_("Only the head of the unit assigns cases.")
        )
    process = _check_step(locked, roles)
    if (
        not assignee.is_active
        or assignee.pk == locked.applicant_id
        or not _step_role_allows(process, locked.step, _roles(assignee, locked.agency_id))
    ):
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
    """An officials' note on the case; the applicant never sees it."""
    locked = _locked(application)
    _check_official(official, locked)
    text = _text(
        text,
        field="text",
        code="comment_length",
        message=_("Write a comment of at most 2,000 characters."),
    )
    return Comment.objects.create(application=locked, author=official, text=text)


def _needs_reason(process: workflow.Process, step_id: str, action: str) -> bool:
    """Decisions and questions are read by the applicant: they need the official's words."""
    target = process.routes(step_id).get(action)
    return action in {"approve", "reject", workflow.REQUEST_INFO} or target in {
        workflow.APPROVED,
        workflow.REJECTED,
    }


@transaction.atomic
def case_act(
    *,
    application: Application,
    official: User,
    action: str,
    note: str = "",
    signature: esign.Signature | None = None,
) -> Application:
    """An official acts on the case's current step: approve, reject, request information,
    return, or any action the process declares for the step. A decision needs a reason.

    An agency's system acting through the API may sign the act with its system certificate
    (``signature`` over ``act_signing_content``); the signature is checked and kept.
    """
    locked = _locked(application)
    roles = _check_official(official, locked)
    process = _check_step(locked, roles)
    sent_note = note or ""
    note = sent_note.strip()
    if note or _needs_reason(process, locked.step, action):
        note = _text(
            note,
            field="note",
            code="reason_required",
            message=_("Give the reason in at most 2,000 characters; the applicant will read it."),
        )
    if signature is not None:
        esign.signature_record(
            signer=official,
            purpose="act",
            reference=locked.number,
            content=act_signing_content(locked.number, action, sent_note),
            signature=signature,
            agency_id=locked.agency_id,
        )
    step = process.steps[locked.step]
    now = _now()
    try:
        state, event = workflow.apply(
            process,
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
    if action == workflow.REQUEST_INFO and locked.assignee_id is None:
        locked.assignee = official
    locked.save()
    _record_history(locked, [event], official, "official")
    if action == workflow.REQUEST_INFO:
        request = InfoRequest.objects.create(
            application=locked, question=note, asked_by=official, asked_at=now
        )
        _notify(
            locked,
            locked.applicant,
            "application.info_requested",
            f"info:{request.pk}",
            reason=note,
            deadline=_answer_by(now),
        )
    elif locked.is_final:
        _finish(locked, official, now, reason=note, facts=None)
    elif process.steps[locked.step].kind is workflow.StepKind.AUTO:
        WorkItem.objects.create(application=locked)
    return locked


# --- the applicant after submission -------------------------------------------------------


@transaction.atomic
def application_answer_info(
    *, application: Application, applicant: User, answer: str
) -> Application:
    """The applicant answers the official's question; the step's clock runs again, its
    deadline moved by the working days the case waited."""
    _own(application, applicant)
    locked = _locked(application)
    request = locked.info_requests.filter(answered_at__isnull=True).order_by("-asked_at").first()
    if locked.status != Status.PAUSED or request is None:
        raise Conflict(code="no_question", message=_("No information is being asked for."))
    answer = _text(
        answer,
        field="answer",
        code="answer_length",
        message=_("Write an answer of at most 2,000 characters."),
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
    """The applicant withdraws an application that is not yet decided."""
    _own(application, applicant)
    locked = _locked(application)
    now = _now()
    if locked.status in FINAL_STATUSES:
        raise Conflict(code="already_decided", message=_("This application is already closed."))
    if locked.status in {Status.DRAFT, Status.AWAITING_PARTIES}:
        locked.status = Status.WITHDRAWN
        locked.decided_at = now
        locked.save(update_fields=["status", "decided_at", "updated_at"])
        _event(locked, action=workflow.WITHDRAW, actor=applicant, actor_kind="applicant", at=now)
        return locked
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


def _claim(limit: int, now: datetime.datetime) -> list[tuple[int, int]]:
    """Claim pending work items with a lease: ``(id, attempts)`` of each item won.

    A conditional UPDATE takes each: of two workers that saw the same item, one changes the
    row and the other finds nothing left to change. An item whose worker died is taken again
    once its lease has run out.
    """
    candidates = list(
        WorkItem.objects.filter(done_at__isnull=True, attempts__lt=MAX_ATTEMPTS)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .order_by("id")
        .values_list("id", "attempts")[:limit]
    )
    claimed = []
    for item_id, attempts in candidates:
        won = (
            WorkItem.objects.filter(pk=item_id, attempts=attempts, done_at__isnull=True)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
            .update(claimed_until=now + LEASE, attempts=attempts + 1)
        )
        if won:
            claimed.append((item_id, attempts + 1))
    return claimed


def _process_item(item_id: int) -> bool:
    """Do one item's work, at most once: False when it had been done already.

    The item is locked and marked done in the transaction of the work, so a second worker
    holding the same item (its lease having run out) finds it done and does nothing.
    """
    with transaction.atomic():
        item = WorkItem.objects.select_for_update().get(pk=item_id)
        if item.done_at is not None:
            return False
        now = _now()
        application = _locked(item.application)
        if application.status == Status.ACTIVE:
            step = _process(application).steps.get(application.step)
            if step is not None and step.kind is workflow.StepKind.AUTO:
                try:
                    with transaction.atomic():
                        _decide_automatically(application, now)
                except DomainError as exc:
                    logger.warning(
                        "automatic approval of %s failed (%s): a person decides",
                        application.number,
                        exc.code,
                    )
                    _decide_automatically(_locked(application), now, failed=exc)
        item.done_at = now
        item.last_error = ""
        item.save(update_fields=["done_at", "last_error"])
        return True


def work_once(*, limit: int = 50) -> int:
    """Process a batch of pending automatic work; returns how many items were handled.

    An item that fails keeps its error and is tried again once its lease runs out, at most
    ``MAX_ATTEMPTS`` times in all.
    """
    handled = 0
    while handled < limit:
        # One item at a time: a worker that dies holds (and has spent an attempt of) only
        # the item it was working on, not a batch it had not started.
        claimed = _claim(1, _now())
        if not claimed:
            break
        item_id, attempts = claimed[0]
        try:
            _process_item(item_id)
        except Exception as exc:
            logger.exception("casework work item %s failed", item_id)
            message = exc.code if isinstance(exc, DomainError) else repr(exc)
            WorkItem.objects.filter(pk=item_id).update(last_error=message[:2000])
            if attempts >= MAX_ATTEMPTS:
                logger.error(
                    "casework work item %s failed %s times and is given up: %s",
                    item_id,
                    attempts,
                    message[:200],
                )
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
        Application.objects.select_for_update(of=("self",))
        .filter(status=Status.ACTIVE, deadline__lt=today)
        .filter(Q(escalated_for__isnull=True) | ~Q(escalated_for=F("deadline")))
        .select_related("agency", "service_version__service")
        .order_by("deadline", "id")
    )
    notified = count = 0
    heads: dict[int, list[User]] = {}
    processes: dict[int, workflow.Process] = {}
    for application in overdue:
        count += 1
        if application.agency_id not in heads:
            heads[application.agency_id] = account_selectors.members_with_role(
                application.agency_id, Role.HEAD
            )
        if application.service_version_id not in processes:
            processes[application.service_version_id] = _process(application)
        step = processes[application.service_version_id].steps.get(application.step)
        label = step.label if step is not None and step.label else application.step
        for head in heads[application.agency_id]:
            _notify(
                application,
                head,
                "application.step_overdue",
                f"overdue:{application.step}:{application.deadline}",
                deadline=application.deadline,
                step=label,
                link=f"/backoffice/cases/{application.number}/",
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


def _message(
    application: Application, recipient: User, template: str, occasion: str, **context: Any
) -> dict[str, Any]:
    """What ``notify`` is given for a message about the application: one per occasion and
    recipient."""
    version = application.service_version
    return {
        "recipient": recipient,
        "template": template,
        "context": {
            "number": application.number,
            "service": version.name.to_dict(),
            "link": f"/account/applications/{application.number}/",
            **context,
        },
        "dedupe_key": f"application:{application.number}:{occasion}",
    }


def _notify(
    application: Application, recipient: User, template: str, occasion: str, **context: Any
) -> None:
    """A message about the application, once per occasion and recipient."""
    notifications.notify(**_message(application, recipient, template, occasion, **context))
