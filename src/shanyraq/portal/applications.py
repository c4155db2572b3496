"""Online applications, the citizen's side.

A signed-in citizen starts a draft of a service that takes applications online, answers its
form one step at a time (every step is saved, so a draft can be resumed from My applications),
checks the answers on a review page and submits. Then they follow the application: its
status, what is expected of them now, the deadline, the decision and its history; they answer
an official's question or withdraw. A person the application names as a party (the buyer in a
sale) sees it too, and confirms or declines it.

The form's pages are generated from the service version's form (``application_forms``); the
casework services check the answers and move the application, and their problems are shown
next to the fields and in the error summary. Files are attached with "Save and continue" of
their step (or sent with an answer to the agency's question), listed with links on the review
and the application's page, and downloaded from here by the applicant and the parties.
"""

from __future__ import annotations

import datetime
import secrets
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from shanyraq.accounts.models import User
from shanyraq.casework import attachments, selectors, services
from shanyraq.casework.downloads import attachment_response
from shanyraq.casework.models import Application, Attachment, CaseEvent, Status
from shanyraq.casework.workflow import TERMINAL_STEPS as FINAL_STEPS
from shanyraq.catalog import selectors as catalog
from shanyraq.catalog.models import ServiceVersion
from shanyraq.core.errors import (
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from shanyraq.documents import esign
from shanyraq.documents import selectors as document_selectors

from .application_forms import (
    AttachedFile,
    FormDefinition,
    Problem,
    attached_files,
    posted_values,
    review_steps,
    step_page,
    step_url,
    submission_problems,
    text_of,
)
from .esign import posted_signature, signing_form

PAGE_SIZE = 20
MAX_ANSWER = 2000
# The review page's submit button: a problem with the signature is shown next to it.
SUBMIT_BUTTON = "submit-application"

# --- labels ---------------------------------------------------------------------------------

STATUS_TAGS = {
    Status.DRAFT: "govuk-tag--grey",
    Status.AWAITING_PARTIES: "govuk-tag--yellow",
    Status.ACTIVE: "",
    Status.PAUSED: "govuk-tag--yellow",
    Status.APPROVED: "govuk-tag--green",
    Status.REJECTED: "govuk-tag--red",
    Status.WITHDRAWN: "govuk-tag--grey",
}

# What each entry of an application's history means, as the applicant reads it.
ACTIONS = {
    "created": gettext_lazy("Draft started"),
    "submitted": gettext_lazy("Application submitted"),
    "submit": gettext_lazy("Application submitted"),
    "start": gettext_lazy("Processing started"),
    "approve": gettext_lazy("Approved"),
    "reject": gettext_lazy("Rejected"),
    "request_info": gettext_lazy("The agency asked for information"),
    "provide_info": gettext_lazy("Information provided"),
    "return": gettext_lazy("Returned to an earlier step"),
    "withdraw": gettext_lazy("Withdrawn"),
    "taken": gettext_lazy("Taken up by an official"),
    "assigned": gettext_lazy("Assigned to an official"),
    "escalated": gettext_lazy("Deadline passed, referred to the head of the unit"),
    "party_confirmed": gettext_lazy("The other party confirmed"),
    "party_declined": gettext_lazy("The other party declined"),
    "complete": gettext_lazy("Step completed"),
    "undecided": gettext_lazy("Passed to an official to decide"),
    "sign": gettext_lazy("Signed"),
}
OTHER_ACTION = gettext_lazy("Processing step completed")
# An approval that only passes the case on to a later step (a check done, a person to decide).
PASSED_ON = gettext_lazy("Checked and passed on to the next step")
DECISIONS = frozenset({"approve", "reject"})
# Only these notes are written for the applicant: a decision's reason and a question.
NOTES_FOR_APPLICANT = frozenset({"approve", "reject", "request_info"})

ACTORS = {
    "applicant": gettext_lazy("You"),
    "party": gettext_lazy("The other party"),
    "official": gettext_lazy("An official"),
    "system": gettext_lazy("Automatic processing"),
}

DEADLINE_TAGS = {
    "on_time": ("govuk-tag--green", gettext_lazy("On time")),
    "due_today": ("govuk-tag--yellow", gettext_lazy("Due today")),
    "overdue": ("govuk-tag--red", gettext_lazy("Overdue")),
    "paused": ("govuk-tag--grey", gettext_lazy("Paused until you answer")),
}

# --- the application's page ----------------------------------------------------------------


@dataclass(frozen=True)
class HistoryRow:
    at: datetime.datetime
    what: str
    by: str
    status: str
    step: str
    note: str


def _step_labels(version: ServiceVersion) -> dict[str, str]:
    steps = (version.process or {}).get("steps") or []
    return {
        str(step.get("id")): text_of(step.get("label"))
        for step in steps
        if isinstance(step, Mapping) and step.get("label")
    }


def _history(version: ServiceVersion, events: Iterable[CaseEvent]) -> list[HistoryRow]:
    steps = _step_labels(version)
    rows = []
    for event in events:
        rows.append(
            HistoryRow(
                at=event.at,
                what=str(
                    PASSED_ON
                    if event.action in DECISIONS and event.to_step not in FINAL_STEPS
                    else ACTIONS.get(event.action, OTHER_ACTION)
                ),
                by=str(ACTORS.get(event.actor_kind, "")),
                status=event.get_status_display(),
                step=steps.get(event.to_step, ""),
                note=event.note if event.action in NOTES_FOR_APPLICANT else "",
            )
        )
    return rows


CHECK_OUTCOMES = {
    "true": gettext_lazy("Met"),
    "false": gettext_lazy("Not met"),
    "unknown": gettext_lazy("Could not be checked"),
}


@dataclass(frozen=True)
class Check:
    label: str
    outcome: str


def _checks(application: Application) -> list[Check]:
    """The conditions an automatic decision checked and how each came out (not the facts it
    read: those are in the applicant's records)."""
    trace = application.decision_trace or {}
    conditions = trace.get("conditions") if isinstance(trace, Mapping) else None
    if not application.is_final or not isinstance(conditions, list):
        return []
    return [
        Check(text_of(c.get("label")), str(CHECK_OUTCOMES.get(str(c.get("outcome")), "")))
        for c in conditions
        if isinstance(c, Mapping)
    ]


def _question(events: list[CaseEvent]) -> str:
    """The official's latest question (its note), while the case waits for the answer."""
    asked = [e for e in events if e.action == "request_info"]
    return asked[-1].note if asked else ""


# --- views ---------------------------------------------------------------------------------


def _person(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # behind login_required
    return user


def _error(request: HttpRequest, status: int, message: Any) -> HttpResponse:
    return render(
        request, "portal/error.html", {"status": status, "message": message}, status=status
    )


def _no_iin(request: HttpRequest) -> HttpResponse:
    return _error(request, 403, _("These pages are for people who sign in with their IIN."))


def _not_found(request: HttpRequest) -> HttpResponse:
    return _error(request, 404, _("There is no such application."))


def _citizen(request: HttpRequest) -> User | None:
    person = _person(request)
    return person if person.iin else None


def _detail_url(application: Application) -> str:
    return reverse("portal:application", args=[application.number])


def _file_url(application: Application, attachment: Attachment) -> str:
    return reverse("portal:application_attachment", args=[application.number, attachment.public_id])


def _files(definition: FormDefinition, application: Application) -> dict[str, AttachedFile]:
    return attached_files(definition, application, selectors.attachments_of(application), _file_url)


def _attach_posted(
    request: HttpRequest,
    person: User,
    application: Application,
    definition: FormDefinition,
    names: Sequence[str],
    values: dict[str, Any],
) -> list[dict[str, str]]:
    """Attach the files a step's form sent; each answers its field, and a field sent without
    a file keeps the file it has. Returns the problems with the files refused."""
    problems = []
    for name in names:
        if not definition.asks_for_file(name):
            continue
        current = (application.answers or {}).get(name)
        upload = request.FILES.get(name)
        if upload is not None:
            try:
                attachment = attachments.attachment_add(
                    application=application, field=name, upload=upload, by=person
                )
            except DomainError as exc:
                problems.append({"field": name, "message": str(exc.message)})
            else:
                current = str(attachment.public_id)
        if current:
            values[name] = current
    return problems


def _continue_url(application: Application, definition: FormDefinition) -> str:
    """Where to continue a draft: the first step not yet saved, or the review."""
    if application.form_step >= len(definition.steps):
        return reverse("portal:application_review", args=[application.number])
    return step_url(application, application.form_step)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def application_start(request: HttpRequest, code: str) -> HttpResponse:
    """What applying takes, and the button that starts a draft."""
    person = _citizen(request)
    if person is None:
        return _no_iin(request)
    try:
        version = catalog.service_passport(code)
    except NotFound:
        return _error(request, 404, _("There is no such service in the catalog."))
    if not version.form or not version.process:
        return _error(request, 404, _("This service does not take applications online."))
    if request.method == "POST":
        try:
            application = services.application_start(applicant=person, service_code=code)
        except (NotFound, ValidationError) as exc:
            return _error(request, 404, exc.message)
        except PermissionDenied as exc:
            return _error(request, 403, exc.message)
        return redirect(step_url(application, 0))
    definition = FormDefinition(version.form)
    drafts = selectors.applications_of(person).filter(
        status=Status.DRAFT, service_version__service__code=code
    )
    resumable = [(d, _continue_url(d, FormDefinition(d.service_version.form))) for d in drafts]
    return render(
        request,
        "portal/application_start.html",
        {
            "version": version,
            "step_titles": [definition.title(i) for i in range(len(definition.steps))],
            "prefills": bool((version.form.get("ui") or {}).get("prefill")),
            "drafts": resumable,
        },
    )


def _own_application(request: HttpRequest, number: str) -> Application | HttpResponse:
    """The signed-in citizen's own application, or the page to answer instead (no IIN: the
    explanation; someone else's or no such application: not found)."""
    person = _citizen(request)
    if person is None:
        return _no_iin(request)
    try:
        return selectors.application_for_applicant(number, person)
    except NotFound:
        return _not_found(request)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def application_step(request: HttpRequest, number: str, index: int) -> HttpResponse:
    """One step of the form; saving it moves on to the next step or to the review."""
    application = _own_application(request, number)
    if isinstance(application, HttpResponse):
        return application
    person = application.applicant
    if application.status != Status.DRAFT:
        return redirect(_detail_url(application))
    definition = FormDefinition(application.service_version.form)
    if not 0 <= index < len(definition.steps):
        return _error(request, 404, _("This application form has no such step."))
    if index > application.form_step:
        return redirect(_continue_url(application, definition))
    posted: QueryDict | None = None
    problems: list[Mapping[str, Any]] = []
    status = 200
    if request.method == "POST":
        names = [n for n in definition.fields(index) if n not in (application.prefilled or {})]
        values = posted_values(definition, names, request.POST)
        refused = _attach_posted(request, person, application, definition, names, values)
        try:
            application = services.application_save(
                application=application, applicant=person, values=values, step=index
            )
        except ValidationError as exc:
            listed = exc.details.get("problems")
            problems = list(listed) if isinstance(listed, list) else []
            if not problems:
                problems = [{"field": exc.field or "$", "message": str(exc.message)}]
        except Conflict:
            return redirect(_detail_url(application))
        problems = refused + problems  # a refused file's message comes before the field's
        if problems:
            posted, status = request.POST, 400
        elif index + 1 < len(definition.steps):
            return redirect(step_url(application, index + 1))
        else:
            return redirect("portal:application_review", application.number)
    files = _files(definition, application)
    known, inputs, summary = step_page(definition, application, index, posted, problems, files)
    back = (
        step_url(application, index - 1)
        if index
        else reverse("portal:application_start", args=[application.service_version.service.code])
    )
    return render(
        request,
        "portal/application_step.html",
        {
            "application": application,
            "version": application.service_version,
            "index": index,
            "number_of_steps": len(definition.steps),
            "title": definition.title(index),
            "known": known,
            "fields": inputs,
            "problems": summary,
            "back_url": back,
            "has_files": any(field.kind == "file" for field in inputs),
        },
        status=status,
    )


@never_cache
@login_required
@require_POST
def application_step_keep(request: HttpRequest, number: str, index: int) -> HttpResponse:
    """The step's answers that are right so far, kept as they are typed (htmx posts the form
    here when a field changes). Answers the status line under the form, or nothing (204:
    the line stays as it was) when no answer could be kept."""
    application = _own_application(request, number)
    if isinstance(application, HttpResponse):
        return application
    definition = FormDefinition(application.service_version.form)
    if not 0 <= index < len(definition.steps):
        return _error(request, 404, _("This application form has no such step."))
    names = [n for n in definition.fields(index) if n not in (application.prefilled or {})]
    try:
        kept = services.application_keep(
            application=application,
            applicant=application.applicant,
            values=posted_values(definition, names, request.POST),
            step=index,
        )
    except Conflict:
        return HttpResponse(_("This application has already been submitted."), status=409)
    if not kept:
        return HttpResponse(status=204)
    saved = timezone.localtime().strftime("%H:%M")
    text = _("Your answers are saved as draft %(number)s (%(time)s).") % {
        "number": application.number,
        "time": saved,
    }
    return HttpResponse(escape(text), content_type="text/html; charset=utf-8")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def application_review(request: HttpRequest, number: str) -> HttpResponse:
    """Every answer, with links to change them, and the button that submits."""
    application = _own_application(request, number)
    if isinstance(application, HttpResponse):
        return application
    person = application.applicant
    if application.status != Status.DRAFT:
        return redirect(_detail_url(application))
    definition = FormDefinition(application.service_version.form)
    if application.form_step < len(definition.steps):
        return redirect(_continue_url(application, definition))
    problems: list[Problem] = []
    signature_error = ""
    status = 200
    if request.method == "POST":
        key = request.POST.get("idempotency_key", "")[:100]
        try:
            submitted = services.application_submit(
                application=application,
                applicant=person,
                idempotency_key=key,
                signature=posted_signature(request.POST),
            )
        except ValidationError as exc:
            if exc.field == "signature":
                signature_error = str(exc.message)
                problems, status = [Problem(signature_error, f"#{SUBMIT_BUTTON}")], 400
            else:
                problems, status = submission_problems(definition, application, exc), 400
        except Conflict as exc:
            problems, status = [Problem(str(exc.message))], 409
        else:
            messages.success(
                request,
                _("Application %(number)s was submitted.") % {"number": submitted.number},
            )
            return redirect(_detail_url(submitted))
    version = application.service_version
    return render(
        request,
        "portal/application_review.html",
        {
            "application": application,
            "version": version,
            "steps": review_steps(
                definition,
                application,
                editable=True,
                with_known=True,
                files=_files(definition, application),
            ),
            "problems": problems,
            "idempotency_key": secrets.token_urlsafe(24),
            "back_url": step_url(application, len(definition.steps) - 1),
            "signing": signing_form(person, version.service.code, application.answers),
            "signature_error": signature_error,
            "submit_button": SUBMIT_BUTTON,
        },
        status=status,
    )


@dataclass(frozen=True)
class ListRow:
    application: Application
    status_tag: str
    deadline_tag: tuple[str, str] | None
    continue_url: str  # where a draft is resumed


@never_cache
@login_required
@require_http_methods(["GET"])
def my_applications(request: HttpRequest) -> HttpResponse:
    person = _citizen(request)
    if person is None:
        return _no_iin(request)
    try:
        number = max(1, min(int(request.GET.get("page", "1")), 100_000))
    except ValueError:
        number = 1
    page = Paginator(selectors.applications_of(person), PAGE_SIZE).get_page(number)
    rows = []
    for application in page.object_list:
        state = selectors.deadline_state(application)
        url = ""
        if application.status == Status.DRAFT:
            url = _continue_url(application, FormDefinition(application.service_version.form))
        rows.append(
            ListRow(
                application,
                STATUS_TAGS.get(Status(application.status), ""),
                _deadline_tag(state),
                url,
            )
        )
    awaiting = list(selectors.applications_awaiting_me(person))
    return render(
        request,
        "portal/application_list.html",
        {"page": page, "rows": rows, "awaiting": awaiting},
    )


def _deadline_tag(state: str | None) -> tuple[str, str] | None:
    if state is None or state not in DEADLINE_TAGS:
        return None
    css, label = DEADLINE_TAGS[state]
    return css, str(label)


def _detail(
    request: HttpRequest,
    person: User,
    number: str,
    *,
    problems: Sequence[Problem] = (),
    answer: str = "",
    status: int = 200,
) -> HttpResponse:
    """The application's page, for its applicant or for a party it names."""
    try:
        application = selectors.application_for_applicant(number, person)
        is_party = False
    except NotFound:
        try:
            application = selectors.application_for_party(number, person)
        except NotFound:
            return _not_found(request)
        is_party = True
    version = application.service_version
    definition = FormDefinition(version.form)
    files = _files(definition, application)
    signature = esign.signature_of("application", application.number)
    context: dict[str, Any] = {
        "application": application,
        "signature": signature,
        "signature_verifies": signature is not None and esign.signature_reverify(signature),
        "version": version,
        "files": list(files.values()),
        "is_party": is_party,
        "status_tag": STATUS_TAGS.get(Status(application.status), ""),
        "deadline_tag": _deadline_tag(selectors.deadline_state(application)),
        "problems": list(problems),
        "answer": answer,
        "answer_error": next((p.message for p in problems if p.href == "#answer"), ""),
        "answer_file_error": next((p.message for p in problems if p.href == "#answer-file"), ""),
        "answer_file_limits": attachments.attachment_limits(
            version.form or {}, attachments.ANSWER_FIELD
        ),
        "max_answer": MAX_ANSWER,
    }
    if is_party:
        context["awaiting_me"] = (
            selectors.applications_awaiting_me(person).filter(pk=application.pk).exists()
        )
        # The party reads what they are asked to confirm: the applicant's own answers, not
        # what the registers hold about the applicant.
        context["steps"] = review_steps(
            definition, application, editable=False, with_known=False, files=files
        )
    else:
        events = selectors.case_history(application)
        context["history"] = _history(version, events)
        context["documents"] = list(
            document_selectors.documents_of(person).filter(application=application)
        )
        context["checks"] = _checks(application)
        if application.status == Status.PAUSED:
            context["question"] = _question(events)
        if application.status == Status.DRAFT:
            context["continue_url"] = _continue_url(application, definition)
    return render(request, "portal/application_detail.html", context, status=status)


@never_cache
@login_required
@require_http_methods(["GET"])
def application_detail(request: HttpRequest, number: str) -> HttpResponse:
    person = _citizen(request)
    if person is None:
        return _no_iin(request)
    return _detail(request, person, number)


@never_cache
@login_required
@require_POST
def application_answer(request: HttpRequest, number: str) -> HttpResponse:
    """The applicant's answer to an official's question."""
    application = _own_application(request, number)
    if isinstance(application, HttpResponse):
        return application
    person = application.applicant
    text = request.POST.get("answer", "")
    upload = request.FILES.get("file")
    if upload is not None:  # the file goes first: a refused file stops the answer
        try:
            attachments.attachment_add(
                application=application,
                field=attachments.ANSWER_FIELD,
                upload=upload,
                by=person,
            )
        except ValidationError as exc:
            problem = Problem(str(exc.message), "#answer-file")
            return _detail(request, person, number, problems=[problem], answer=text, status=400)
        except Conflict as exc:
            return _detail(
                request, person, number, problems=[Problem(str(exc.message))], status=409
            )
    try:
        services.application_answer_info(application=application, applicant=person, answer=text)
    except ValidationError as exc:
        problem = Problem(str(exc.message), "#answer")
        return _detail(request, person, number, problems=[problem], answer=text, status=400)
    except Conflict as exc:
        return _detail(request, person, number, problems=[Problem(str(exc.message))], status=409)
    messages.success(
        request, _("Your answer was sent. The agency continues with your application.")
    )
    return redirect(_detail_url(application))


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def application_withdraw(request: HttpRequest, number: str) -> HttpResponse:
    """Withdraw an application that is not closed yet, after a confirmation page."""
    application = _own_application(request, number)
    if isinstance(application, HttpResponse):
        return application
    person = application.applicant
    if application.is_final:
        return redirect(_detail_url(application))
    if request.method == "POST":
        try:
            services.application_withdraw(application=application, applicant=person)
        except Conflict as exc:
            return _detail(
                request, person, number, problems=[Problem(str(exc.message))], status=409
            )
        messages.success(
            request,
            _("Application %(number)s was withdrawn.") % {"number": application.number},
        )
        return redirect(_detail_url(application))
    return render(
        request,
        "portal/application_withdraw.html",
        {"application": application, "version": application.service_version},
    )


@never_cache
@login_required
@require_POST
def application_respond(request: HttpRequest, number: str) -> HttpResponse:
    """A party confirms or declines an application that names them."""
    person = _citizen(request)
    if person is None:
        return _no_iin(request)
    try:
        application = selectors.application_for_party(number, person)
    except NotFound:
        return _not_found(request)
    choice = request.POST.get("response")
    if choice not in {"confirm", "decline"}:
        return _error(request, 400, _("Choose whether you confirm or decline."))
    try:
        services.party_respond(application=application, person=person, accept=choice == "confirm")
    except NotFound:
        return _not_found(request)
    except Conflict as exc:
        return _detail(request, person, number, problems=[Problem(str(exc.message))], status=409)
    if choice == "confirm":
        messages.success(request, _("You confirmed application %(number)s.") % {"number": number})
    else:
        messages.success(request, _("You declined application %(number)s.") % {"number": number})
    return redirect(_detail_url(application))


# --- attached files -------------------------------------------------------------------------


@login_required
@require_http_methods(["GET"])
def application_attachment(
    request: HttpRequest, number: str, file_id: uuid.UUID
) -> HttpResponseBase:
    """A file attached to the application, for its applicant and the parties it names."""
    person = _citizen(request)
    if person is None:
        return _no_iin(request)
    try:
        application = selectors.application_for_reader(number, person)
        opened = attachments.attachment_open(
            application=application, attachment_id=str(file_id), reader=person
        )
    except NotFound:
        return _error(request, 404, _("There is no such file."))
    return attachment_response(opened)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def application_attachment_remove(
    request: HttpRequest, number: str, file_id: uuid.UUID
) -> HttpResponse:
    """Remove a file from a draft after a confirmation page, back to the step that asked for
    it (a page of its own, so that pressing Enter in a step's form never removes a file)."""
    application = _own_application(request, number)
    if isinstance(application, HttpResponse):
        return application
    person = application.applicant
    if application.status != Status.DRAFT:
        return redirect(_detail_url(application))
    definition = FormDefinition(application.service_version.form)
    file = _files(definition, application).get(str(file_id))
    if file is None:
        return _error(request, 404, _("There is no such file."))
    index = definition.step_of(file.field)
    back = step_url(application, index) if index is not None else _detail_url(application)
    if request.method == "GET":
        return render(
            request,
            "portal/application_attachment_remove.html",
            {
                "application": application,
                "version": application.service_version,
                "file": file,
                "back_url": back,
            },
        )
    try:
        removed = attachments.attachment_remove(
            application=application, attachment_id=str(file_id), by=person
        )
    except NotFound:
        return _error(request, 404, _("There is no such file."))
    except Conflict:
        return redirect(_detail_url(application))
    messages.success(request, _("The file %(name)s was removed.") % {"name": removed.name})
    return redirect(back)
