"""Applications over HTTP, in the spirit of GovStack's Registration building block.

For applicants (a session or a bearer token of a person with an IIN):

- ``GET /applications/forms/{service}``: a service's form, steps and what the registers will
  fill in;
- ``POST /applications``: a draft, or with ``"submit": true`` a submitted application in one
  request; an ``Idempotency-Key`` header makes a repeated request return the same
  application instead of a second one;
- ``GET /applications`` (mine), ``GET /applications/{number}`` (status, deadline, history),
  ``PATCH /applications/{number}`` (answers of a draft), ``POST .../submit``,
  ``POST .../withdraw``, ``POST .../answer`` (to an official's question).

For agency systems and officials (their own agency's cases): ``GET /tasks`` and
``POST /tasks/{number}/complete``.

Attached files (``casework.attachments``): the applicant attaches with ``POST
/applications/{number}/attachments`` (multipart ``field`` and ``file``) and removes from a
draft with ``DELETE .../attachments/{id}``; the applicant, the parties and the agency's
officials list them (``GET .../attachments``) and download them (``GET .../attachments/{id}``).
"""

from __future__ import annotations

import base64
import datetime
import json
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.translation import gettext_lazy as _
from ninja import Field, File, Form, Query, Router, Schema, UploadedFile
from ninja.responses import NinjaJSONEncoder, Status

from shanyraq.accounts.models import User
from shanyraq.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from shanyraq.core.text import TranslatedText
from shanyraq.documents import esign

from . import attachments, selectors, services
from .downloads import attachment_response
from .models import Application, Attachment, CaseEvent

router = Router(tags=["applications"])

NUMBER_PATTERN = r"^A[0-9]{4}-[0-9]{7}$"
CODE_PATTERN = r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$"


def _person(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _applicant(request: HttpRequest) -> User:
    user = _person(request)
    if not user.iin:
        raise PermissionDenied(
            code="iin_required", message=_("Only people with an IIN can apply online.")
        )
    return user


class Text(Schema):
    kk: str
    ru: str
    en: str


class EventOut(Schema):
    action: str
    status: str
    from_step: str
    to_step: str
    actor_kind: str
    note: str
    deadline: datetime.date | None
    at: datetime.datetime


class ApplicationOut(Schema):
    number: str
    service: str
    service_name: Text
    agency: str
    status: str
    step: str
    deadline: datetime.date | None
    deadline_state: str | None = Field(description="on_time, due_today, overdue or paused.")
    answers: dict[str, Any]
    prefilled: dict[str, Any] = Field(description="Fields the registers filled in, by source.")
    decision_reason: str
    decision_trace: dict[str, Any] | None = Field(
        description="The automatic decision: each condition, the facts it used, its outcome."
    )
    created_at: datetime.datetime
    submitted_at: datetime.datetime | None
    decided_at: datetime.datetime | None
    history: list[EventOut]


class ApplicationListOut(Schema):
    count: int
    items: list[ApplicationOut]


class SignatureIn(Schema):
    certificate: str = Field(max_length=80, description="The personal certificate's serial.")
    value: str = Field(
        max_length=200,
        description=(
            "ECDSA P-256 with SHA-256 over the canonical JSON (RFC 8785) of "
            '`{"service": <code>, "answers": <the answers>}`, base64 (r||s or DER).'
        ),
    )

    def signature(self) -> esign.Signature:
        return esign.Signature(certificate=self.certificate, value=self.value)


class ApplicationIn(Schema):
    service: str = Field(max_length=80, pattern=CODE_PATTERN)
    answers: dict[str, Any] = Field(default_factory=dict)
    submit: bool = Field(False, description="Submit at once (all answers must be given).")
    signature: SignatureIn | None = Field(
        None, description="The applicant's electronic signature over the answers sent."
    )


class SubmitIn(Schema):
    signature: SignatureIn | None = Field(
        None, description="The applicant's electronic signature over the draft's answers."
    )


class AnswersIn(Schema):
    answers: dict[str, Any]
    step: int | None = Field(None, ge=0, le=50, description="The form step these answers fill.")


class AnswerIn(Schema):
    answer: str = Field(max_length=2000)


class FormOut(Schema):
    service: str
    name: Text
    form: dict[str, Any]
    esign_required: bool


class TaskQuery(Schema):
    step: str = Field("", max_length=40)
    service: str = Field("", max_length=80)
    state: str = Field("", pattern=r"^(|on_time|due_today|overdue|paused)$")
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(50, ge=1, le=200)


class TaskOut(Schema):
    number: str
    service: str
    step: str
    status: str
    deadline: datetime.date | None
    deadline_state: str | None
    assignee: str | None
    actions: list[str]


class TaskListOut(Schema):
    count: int
    items: list[TaskOut]


class CompleteIn(Schema):
    action: str = Field(max_length=40)
    note: str = Field("", max_length=2000)
    signature: SignatureIn | None = Field(
        None,
        description=(
            "The agency system's signature (its system certificate) over the canonical JSON "
            '(RFC 8785) of `{"application": <number>, "action": ..., "note": ...}`.'
        ),
    )


def _out(
    application: Application,
    *,
    with_history: bool = True,
    history: list[CaseEvent] | None = None,
) -> dict[str, Any]:
    """The application as the API shows it; ``history`` when the caller has just written it."""
    version = application.service_version
    if history is None and with_history:
        history = selectors.case_history(application)
    return {
        "number": application.number,
        "service": version.service.code,
        "service_name": TranslatedText.from_value(version.name, partial=True).to_dict(),
        "agency": application.agency.code,
        "status": application.status,
        "step": application.step,
        "deadline": application.deadline,
        "deadline_state": selectors.deadline_state(application),
        "answers": application.answers,
        "prefilled": application.prefilled,
        "decision_reason": application.decision_reason,
        "decision_trace": _public_trace(application.decision_trace),
        "created_at": application.created_at,
        "submitted_at": application.submitted_at,
        "decided_at": application.decided_at,
        "history": [
            {name: getattr(event, name) for name in _EVENT_FIELDS} for event in history or []
        ],
    }


_EVENT_FIELDS = tuple(EventOut.model_fields)


def _created(data: dict[str, Any]) -> HttpResponse:
    """``data`` (an application as ``_out`` gives it) answered with ``201`` and the JSON that
    the API renders for an ``ApplicationOut``, without checking it against the schema again.

    Every submission over the API is answered here, and validating a dict this view has just
    built from the rows it has just written costs more than rendering it. ``_out`` gives the
    schema's keys in the schema's order and values of the types it names; tests hold the
    answer to be byte for byte what the schema's rendering of the same data would be, and
    what ``GET`` of the application answers.
    """
    return HttpResponse(
        json.dumps(data, cls=NinjaJSONEncoder),
        status=201,
        content_type="application/json; charset=utf-8",
    )


def _public_trace(trace: dict[str, Any] | None) -> dict[str, Any] | None:
    """The decision's explanation without the salt that opens its ledger commitment."""
    if trace is None:
        return None
    return {k: v for k, v in trace.items() if k != "salt"}


@router.get("/applications/forms/{service}", response=FormOut, summary="A service's form")
def form(request: HttpRequest, service: str) -> dict[str, Any]:
    version = services.service_version_for_applying(service)
    return {
        "service": version.service.code,
        "name": TranslatedText.from_value(version.name, partial=True).to_dict(),
        "form": version.form or {},
        "esign_required": version.esign_required,
    }


@router.get("/applications", response=ApplicationListOut, summary="My applications")
def mine(request: HttpRequest) -> dict[str, Any]:
    applications = list(selectors.applications_of(_applicant(request))[:200])
    return {
        "count": len(applications),
        "items": [_out(a, with_history=False) for a in applications],
    }


IDEMPOTENCY_CONSTRAINT = "application_idempotency"
IDEMPOTENCY_HEADER = {
    "parameters": [
        {
            "in": "header",
            "name": "Idempotency-Key",
            "required": False,
            "schema": {"type": "string", "maxLength": 100},
            "description": "A repeated request with the same key returns the same application.",
        }
    ]
}


def _idempotency_key(request: HttpRequest) -> str:
    return services.idempotency_key_clean(request.headers.get("Idempotency-Key", ""))


@router.post(
    "/applications",
    response={200: ApplicationOut, 201: ApplicationOut},
    summary="Start (and optionally submit) an application",
    openapi_extra=IDEMPOTENCY_HEADER,
)
def create(request: HttpRequest, body: ApplicationIn) -> HttpResponse | Status[dict[str, Any]]:
    applicant = _applicant(request)
    idempotency_key = _idempotency_key(request)
    try:
        if body.submit:
            applied = services.application_apply(
                applicant=applicant,
                service_code=body.service,
                values=body.answers or {},
                idempotency_key=idempotency_key,
                signature=body.signature.signature() if body.signature else None,
            )
            return _created(_out(applied.application, history=applied.history))
        with transaction.atomic():
            application = services.application_start(applicant=applicant, service_code=body.service)
            application.idempotency_key = idempotency_key
            application.save(update_fields=["idempotency_key"])
            if body.answers:
                application = services.application_save(
                    application=application,
                    applicant=applicant,
                    values=body.answers,
                    step=None,
                )
        return Status(201, _out(application))
    except IntegrityError as exc:
        if not idempotency_key or not _is_key_clash(exc):
            raise
        # The same key, sent twice at the same moment: the other request made it.
        earlier = selectors.application_by_idempotency_key(applicant, idempotency_key)
        if earlier is None:
            raise Conflict(
                code="idempotency_in_progress",
                message=_("A request with this Idempotency-Key is still being handled."),
            ) from None
        return Status(200, _out(earlier))
    except DomainError:
        # A repeated request is answered with what the first one made, even when the same
        # request would not be accepted today (the service closed, the form changed).
        earlier = selectors.application_by_idempotency_key(applicant, idempotency_key)
        if earlier is None:
            raise
        return Status(200, _out(earlier))


def _is_key_clash(exc: IntegrityError) -> bool:
    """Whether ``exc`` is the applicant's Idempotency-Key being taken, not another failure."""
    constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
    if constraint is not None:
        return bool(constraint == IDEMPOTENCY_CONSTRAINT)
    return "idempotency_key" in str(exc)  # SQLite names the columns instead


def _mine(request: HttpRequest, number: str) -> tuple[User, Application]:
    applicant = _applicant(request)
    return applicant, selectors.application_for_applicant(number, applicant)


@router.get("/applications/{number}", response=ApplicationOut, summary="An application")
def detail(request: HttpRequest, number: str) -> dict[str, Any]:
    _applicant_user, application = _mine(request, number)
    return _out(application)


@router.patch("/applications/{number}", response=ApplicationOut, summary="Answer a draft")
def answer_draft(request: HttpRequest, number: str, body: AnswersIn) -> dict[str, Any]:
    applicant, application = _mine(request, number)
    application = services.application_save(
        application=application, applicant=applicant, values=body.answers, step=body.step
    )
    return _out(application)


@router.post(
    "/applications/{number}/submit",
    response=ApplicationOut,
    summary="Submit",
    openapi_extra=IDEMPOTENCY_HEADER,
)
def submit(request: HttpRequest, number: str, body: SubmitIn | None = None) -> dict[str, Any]:
    applicant, application = _mine(request, number)
    signature = body.signature if body is not None else None
    application = services.application_submit(
        application=application,
        applicant=applicant,
        idempotency_key=_idempotency_key(request),
        signature=signature.signature() if signature else None,
    )
    return _out(application)


class SignatureOut(Schema):
    certificate: str
    certificate_pem: str
    signer_iin: str
    signed_at: datetime.datetime
    content: str = Field(description="The signed bytes (canonical JSON), base64.")
    signature: str = Field(description="ECDSA P-256 SHA-256, DER, base64.")
    valid: bool = Field(description="Whether the signature verifies now, checked again.")


@router.get(
    "/applications/{number}/signature",
    response=SignatureOut,
    summary="The applicant's electronic signature, to check again",
)
def signature(request: HttpRequest, number: str) -> dict[str, Any]:
    _applicant_user, application = _mine(request, number)
    signed = esign.signature_of("application", application.number)
    if signed is None:
        raise NotFound(code="not_signed", message=_("This application carries no signature."))
    return {
        "certificate": signed.certificate.serial,
        "certificate_pem": signed.certificate.pem,
        "signer_iin": signed.signer.iin or "",
        "signed_at": signed.signed_at,
        "content": base64.b64encode(bytes(signed.content)).decode(),
        "signature": base64.b64encode(bytes(signed.signature)).decode(),
        "valid": esign.signature_reverify(signed),
    }


@router.post("/applications/{number}/withdraw", response=ApplicationOut, summary="Withdraw")
def withdraw(request: HttpRequest, number: str) -> dict[str, Any]:
    applicant, application = _mine(request, number)
    return _out(services.application_withdraw(application=application, applicant=applicant))


@router.post(
    "/applications/{number}/answer",
    response=ApplicationOut,
    summary="Answer the official's question",
)
def answer(request: HttpRequest, number: str, body: AnswerIn) -> dict[str, Any]:
    applicant, application = _mine(request, number)
    application = services.application_answer_info(
        application=application, applicant=applicant, answer=body.answer
    )
    return _out(application)


# --- agency systems and officials ---------------------------------------------------------


def _official(request: HttpRequest) -> User:
    user = _person(request)
    if not selectors.is_case_official(user):
        raise PermissionDenied(
            code="officials_only", message=_("Only officials of an agency handle cases.")
        )
    return user


@router.get("/tasks", response=TaskListOut, summary="Open cases of my agency")
def tasks(request: HttpRequest, query: Query[TaskQuery]) -> dict[str, Any]:
    official = _official(request)
    cases = selectors.queue(
        official, selectors.QueueFilter(step=query.step, service=query.service, state=query.state)
    )
    start = (query.page - 1) * query.page_size
    page = list(cases[start : start + query.page_size])
    return {
        "count": cases.count(),
        "items": [
            {
                "number": a.number,
                "service": a.service_version.service.code,
                "step": a.step,
                "status": a.status,
                "deadline": a.deadline,
                "deadline_state": selectors.deadline_state(a),
                "assignee": a.assignee.get_username() if a.assignee else None,
                "actions": list(selectors.actions_for(a, official)),
            }
            for a in page
        ],
    }


@router.post(
    "/tasks/{number}/complete", response=ApplicationOut, summary="Act on a case's current step"
)
def complete(request: HttpRequest, number: str, body: CompleteIn) -> dict[str, Any]:
    official = _official(request)
    application = selectors.application_for_official(number, official)
    application = services.case_act(
        application=application,
        official=official,
        action=body.action,
        note=body.note,
        signature=body.signature.signature() if body.signature else None,
    )
    return _out(application)


# --- attached files -----------------------------------------------------------------------


class AttachmentIn(Schema):
    field: str = Field(
        "",
        max_length=60,
        description="The form's field the file answers; empty for a file sent with an answer "
        "to the agency's question.",
    )


class AttachmentOut(Schema):
    id: str
    field: str
    name: str
    content_type: str = Field(description="The type the file's content shows.")
    size: int
    sha256: str
    created_at: datetime.datetime


class AttachmentListOut(Schema):
    count: int
    items: list[AttachmentOut]


FILE_CONTENT = {
    "responses": {
        200: {
            "description": "The file, as a download.",
            "content": {
                kind: {"schema": {"type": "string", "format": "binary"}}
                for kind in ("application/pdf", "image/jpeg", "image/png")
            },
        }
    }
}


def _attachment_out(attachment: Attachment) -> dict[str, Any]:
    return {
        "id": str(attachment.public_id),
        "field": attachment.field,
        "name": attachment.name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
        "created_at": attachment.created_at,
    }


@router.post(
    "/applications/{number}/attachments",
    response={201: AttachmentOut},
    summary="Attach a file",
    description="In a draft the file answers its field (a later file replaces it); while the "
    "agency waits for information, it goes with the answer. PDF, JPEG or PNG as the field "
    "allows; its content must be what its name and type say.",
)
def attach(
    request: HttpRequest, number: str, body: Form[AttachmentIn], file: File[UploadedFile]
) -> Status[dict[str, Any]]:
    applicant, application = _mine(request, number)
    attachment = attachments.attachment_add(
        application=application, field=body.field, upload=file, by=applicant
    )
    return Status(201, _attachment_out(attachment))


@router.get(
    "/applications/{number}/attachments",
    response=AttachmentListOut,
    summary="The files attached to an application",
)
def attached_files(request: HttpRequest, number: str) -> dict[str, Any]:
    application = selectors.application_for_reader(number, _person(request))
    items = [_attachment_out(a) for a in selectors.attachments_of(application)]
    return {"count": len(items), "items": items}


@router.get(
    "/applications/{number}/attachments/{attachment_id}",
    summary="Download an attached file",
    openapi_extra=FILE_CONTENT,
)
def attached_file(request: HttpRequest, number: str, attachment_id: str) -> HttpResponseBase:
    reader = _person(request)
    application = selectors.application_for_reader(number, reader)
    opened = attachments.attachment_open(
        application=application, attachment_id=attachment_id, reader=reader
    )
    return attachment_response(opened)


@router.delete(
    "/applications/{number}/attachments/{attachment_id}",
    response={204: None},
    summary="Remove a file from a draft",
)
def detach(request: HttpRequest, number: str, attachment_id: str) -> Status[None]:
    applicant, application = _mine(request, number)
    attachments.attachment_remove(
        application=application, attachment_id=attachment_id, by=applicant
    )
    return Status(204, None)
