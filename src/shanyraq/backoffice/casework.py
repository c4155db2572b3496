"""Back-office pages of casework: an official's queue, a case, and a head of unit's workload.

Each view parses what was sent, checks that the person works cases, calls one casework
selector or service and renders; the services decide what an official may do and say why not.
Officials see only the cases of their own agencies: any other number is "not found". The
files attached to a case are listed on its page and downloaded from here.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_GET, require_POST

from shanyraq.accounts import selectors as account_selectors
from shanyraq.accounts.models import OFFICIAL_ROLES, Role, User
from shanyraq.casework import attachments as files
from shanyraq.casework import selectors as cases
from shanyraq.casework import services as casework
from shanyraq.casework.declarations import fact_specs, workflow_of
from shanyraq.casework.downloads import attachment_response
from shanyraq.casework.models import Application, Attachment, CaseEvent
from shanyraq.casework.workflow import Process, Step, StepKind, load_process
from shanyraq.catalog.models import ServiceVersion, VersionStatus
from shanyraq.core.errors import DomainError, NotFound
from shanyraq.core.paging import NearbyPages
from shanyraq.core.text import LANGUAGES, TranslatedText
from shanyraq.documents import esign
from shanyraq.documents import selectors as document_selectors
from shanyraq.documents import services as documents
from shanyraq.registries import selectors as register_selectors

from .views import View, staff_required

PAGE_SIZE = 25
PAGE_LINKS_EACH_SIDE = 3
# A queue is counted up to this many cases; beyond it the page says "more than" and the
# official filters, and the count does not read a busy agency's every open case.
QUEUE_COUNT_LIMIT = 1000
MAX_TEXT = 2000
MAX_NESTING = 4


# --- who may come in ----------------------------------------------------------------------


def official_required(view: View) -> View:
    """Clerks, reviewers and heads of unit only; other staff get 403, as with staff_required."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not account_selectors.is_official(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return staff_required(wrapper)


def head_required(view: View) -> View:
    """Heads of unit only."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not account_selectors.agency_ids_for(request.user, {Role.HEAD}):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return staff_required(wrapper)


def _official(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # behind official_required
    return user


def _case_or_404(request: HttpRequest, number: str) -> Application:
    try:
        return cases.application_for_official(number, _official(request))
    except NotFound:
        raise Http404 from None


# --- the processes the official works -----------------------------------------------------


def _text(value: object) -> str:
    try:
        return TranslatedText.from_value(value, partial=True).get()
    except (TypeError, ValueError, DomainError):
        return ""


def _person_name(user: User | None) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


class Desk:
    """An official's roles in each agency and the processes of those agencies' services: what
    the steps are called and which of them the official works.

    A task step is worked by the officials holding its role, and by the heads of unit.
    """

    def __init__(self, official: User) -> None:
        self.official = official
        self.roles: dict[int, set[str]] = {}
        for membership in account_selectors.memberships_of(official):
            if membership.role in OFFICIAL_ROLES:
                self.roles.setdefault(membership.agency_id, set()).add(membership.role)
        self._processes: dict[int, Process] = {}
        self._versions: list[ServiceVersion] | None = None

    def versions(self) -> list[ServiceVersion]:
        """Every non-draft version with a process of the official's agencies (one query)."""
        if self._versions is None:
            self._versions = list(
                ServiceVersion.objects.filter(
                    service__agency_id__in=self.roles, process__isnull=False
                )
                .exclude(status=VersionStatus.DRAFT)
                .select_related("service")
                .only("number", "name", "process", "service__code", "service__agency_id")
                .order_by("service__code", "number")
            )
        return self._versions

    def process(self, version: ServiceVersion) -> Process:
        if version.pk not in self._processes:
            self._processes[version.pk] = load_process(workflow_of(version.process or {}))
        return self._processes[version.pk]

    def step(self, application: Application) -> Step | None:
        return self.process(application.service_version).steps.get(application.step)

    def works(self, agency_id: int, step: Step | None) -> bool:
        roles = self.roles.get(agency_id, set())
        return (
            step is not None
            and step.kind is StepKind.TASK
            and (step.role in roles or Role.HEAD in roles)
        )

    def is_head(self, agency_id: int) -> bool:
        return Role.HEAD in self.roles.get(agency_id, set())

    def may_take(self, application: Application) -> bool:
        """Whether a Take button makes sense: an open case at a step the official works that
        is not theirs yet and is free, or they are the head."""
        return (
            not application.is_final
            and application.applicant_id != self.official.pk
            and application.assignee_id != self.official.pk
            and (application.assignee_id is None or self.is_head(application.agency_id))
            and self.works(application.agency_id, self.step(application))
        )

    def step_label(self, version: ServiceVersion, step_id: str) -> str:
        return _step_label(self.process(version), step_id)

    def step_choices(self) -> list[tuple[str, str]]:
        """The task steps of the official's processes, one entry per step id, by label."""
        labels: dict[str, str] = {}
        for version in self.versions():
            for step in self.process(version).steps.values():
                if step.kind is StepKind.TASK:
                    labels[step.id] = _step_label(self.process(version), step.id)
        return sorted(labels.items(), key=lambda item: item[1].casefold())

    def service_choices(self) -> list[tuple[str, str]]:
        names = {v.service.code: _text(v.name.to_dict()) or v.service.code for v in self.versions()}
        return sorted(names.items(), key=lambda item: item[1].casefold())

    def step_names(self) -> dict[str, str]:
        """Every step of the official's processes by its id, named as the first process names it."""
        names: dict[str, str] = {}
        for version in self.versions():
            for step_id in self.process(version).steps:
                names.setdefault(step_id, _step_label(self.process(version), step_id))
        return names


FINAL_STEPS = {
    "approved": pgettext_lazy("case state", "Approved"),
    "rejected": pgettext_lazy("case state", "Rejected"),
    "withdrawn": pgettext_lazy("case state", "Withdrawn"),
}


def _step_label(process: Process, step_id: str) -> str:
    if not step_id:
        return ""
    if step_id in FINAL_STEPS:
        return str(FINAL_STEPS[step_id])
    step = process.steps.get(step_id)
    if step is not None and step.label:
        return _text(dict(step.label))
    if step is not None and step.kind is StepKind.AUTO:
        return _("Automatic processing (%(step)s)") % {"step": step_id}
    return step_id


# --- the queue ----------------------------------------------------------------------------


DEADLINE_TAGS: dict[str, tuple[Any, str]] = {
    "on_time": (gettext_lazy("On time"), "govuk-tag--green"),
    "due_today": (gettext_lazy("Due today"), "govuk-tag--yellow"),
    "overdue": (gettext_lazy("Overdue"), "govuk-tag--red"),
    "paused": (gettext_lazy("Waiting for the applicant"), "govuk-tag--grey"),
}
SORTS = [
    ("deadline", gettext_lazy("Deadline, soonest first")),
    ("submitted", gettext_lazy("Date submitted, oldest first")),
    ("number", gettext_lazy("Application number")),
]


class QueueForm(forms.Form):
    """The queue's filters and order; every one may be left as it is."""

    service = forms.ChoiceField(label=gettext_lazy("Service"), required=False)
    step = forms.ChoiceField(label=gettext_lazy("Step"), required=False)
    state = forms.ChoiceField(label=gettext_lazy("Deadline"), required=False)
    mine = forms.BooleanField(label=gettext_lazy("Only cases assigned to me"), required=False)
    sort = forms.ChoiceField(label=gettext_lazy("Sort by"), required=False, choices=SORTS)

    def __init__(
        self,
        *args: Any,
        steps: list[tuple[str, str]],
        services: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        every = [("", _("All"))]
        self.fields["service"].choices = every + services  # type: ignore[attr-defined]
        self.fields["step"].choices = every + steps  # type: ignore[attr-defined]
        self.fields["state"].choices = every + [  # type: ignore[attr-defined]
            (code, str(label)) for code, (label, _tag) in DEADLINE_TAGS.items()
        ]

    def filters(self) -> cases.QueueFilter:
        data = self.cleaned_data
        return cases.QueueFilter(
            step=data["step"],
            service=data["service"],
            state=data["state"],
            mine=data["mine"],
            sort=data["sort"] or "deadline",
        )


@dataclass(frozen=True)
class Deadline:
    """A case's deadline and how it stands, told in words as well as colour."""

    state: str | None
    label: str
    tag: str


def _deadline(application: Application) -> Deadline:
    state = cases.deadline_state(application)
    if state is None:
        return Deadline(None, "", "")
    label, tag = DEADLINE_TAGS.get(state, (state, "govuk-tag--grey"))
    return Deadline(state, str(label), tag)


@dataclass(frozen=True)
class QueueRow:
    application: Application
    step: str
    deadline: Deadline
    may_take: bool


@official_required
@require_GET
def case_queue(request: HttpRequest) -> HttpResponse:
    official = _official(request)
    desk = Desk(official)
    form = QueueForm(request.GET, steps=desk.step_choices(), services=desk.service_choices())
    is_head = any(desk.is_head(agency) for agency in desk.roles)
    context: dict[str, Any] = {"form": form, "page": None, "is_head": is_head}
    if not form.is_valid():
        return render(request, "backoffice/queue.html", context, status=400)
    page = NearbyPages(
        cases.queue(official, form.filters()),
        PAGE_SIZE,
        links_each_side=PAGE_LINKS_EACH_SIDE,
        count_limit=QUEUE_COUNT_LIMIT,
    ).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context.update(
        page=page,
        query=query.urlencode(),
        rows=[
            QueueRow(
                application=application,
                step=desk.step_label(application.service_version, application.step),
                deadline=_deadline(application),
                may_take=desk.may_take(application),
            )
            for application in page
        ],
    )
    return render(request, "backoffice/queue.html", context)


# --- the case -----------------------------------------------------------------------------


ACTION_LABELS: dict[str, Any] = {
    "approve": gettext_lazy("Approve"),
    "reject": gettext_lazy("Reject"),
    "request_info": gettext_lazy("Request information from the applicant"),
    "return": gettext_lazy("Return to an earlier step"),
    "sign": gettext_lazy("Sign"),
    "complete": gettext_lazy("Complete the step"),
}
NOTE_LABELS: dict[str, Any] = {
    "approve": gettext_lazy("Reason for approving"),
    "reject": gettext_lazy("Reason for rejecting"),
    "request_info": gettext_lazy("Your question to the applicant"),
}
DONE_MESSAGES: dict[str, Any] = {
    "approve": gettext_lazy("The application was approved."),
    "reject": gettext_lazy("The application was rejected."),
    "request_info": gettext_lazy("Your question was sent to the applicant."),
}
# What the history of a case records, in words.
EVENT_LABELS: dict[str, Any] = {
    "created": gettext_lazy("Draft started"),
    "submit": gettext_lazy("Submitted by the applicant"),
    "start": gettext_lazy("Case opened: the other parties confirmed"),
    "complete": gettext_lazy("Step completed"),
    "approve": pgettext_lazy("case history", "Approved"),
    "reject": pgettext_lazy("case history", "Rejected"),
    "undecided": gettext_lazy("The rules could not decide: a person decides"),
    "request_info": gettext_lazy("Information requested from the applicant"),
    "provide_info": gettext_lazy("The applicant provided information"),
    "return": gettext_lazy("Returned to an earlier step"),
    "withdraw": gettext_lazy("Withdrawn by the applicant"),
    "taken": gettext_lazy("Taken by an official"),
    "assigned": gettext_lazy("Assigned to an official"),
    "escalated": gettext_lazy("Deadline missed: heads of unit told"),
    "party_confirmed": gettext_lazy("The other party confirmed"),
    "party_declined": gettext_lazy("The other party declined"),
    "sign": gettext_lazy("Signed"),
}
ACTOR_KINDS: dict[str, Any] = {
    "applicant": gettext_lazy("Applicant"),
    "party": gettext_lazy("Other party"),
    "official": gettext_lazy("Official"),
    "system": gettext_lazy("The system"),
}
CONDITION_OUTCOMES: dict[str, tuple[Any, str]] = {
    "true": (gettext_lazy("Met"), "govuk-tag--green"),
    "false": (gettext_lazy("Not met"), "govuk-tag--red"),
    "unknown": (gettext_lazy("Not known"), "govuk-tag--grey"),
}
DECISION_OUTCOMES: dict[str, Any] = {
    "approve": gettext_lazy("Approve"),
    "reject": gettext_lazy("Reject"),
    "undecided": gettext_lazy("Undecided: a person decides"),
}


def _action_label(action: str) -> str:
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action.replace("_", " ").capitalize()


class ActForm(forms.Form):
    """One of the actions offered on the case now, with its reason or question."""

    action = forms.ChoiceField(
        error_messages={
            "required": gettext_lazy("This action is not possible now."),
            "invalid_choice": gettext_lazy("This action is not possible now."),
        }
    )
    note = forms.CharField(
        max_length=MAX_TEXT,
        error_messages={
            "required": gettext_lazy("Give the reason, or your question to the applicant."),
            "max_length": gettext_lazy("Write at most 2,000 characters."),
        },
    )

    def __init__(self, *args: Any, actions: Sequence[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [(a, a) for a in actions]  # type: ignore[attr-defined]


class CommentForm(forms.Form):
    text = forms.CharField(
        max_length=MAX_TEXT,
        error_messages={
            "required": gettext_lazy("Write your comment."),
            "max_length": gettext_lazy("Write at most 2,000 characters."),
        },
    )


class AssignForm(forms.Form):
    assignee = forms.ChoiceField(
        error_messages={
            "required": gettext_lazy("Choose an official."),
            "invalid_choice": gettext_lazy("Choose an official from the list."),
        }
    )

    def __init__(self, *args: Any, officials: Sequence[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [  # type: ignore[attr-defined]
            (str(u.pk), _person_name(u)) for u in officials
        ]


@dataclass(frozen=True)
class Problem:
    """What went wrong with what the official sent: shown in the error summary, linked to the
    field (``anchor``), with the text they wrote kept."""

    anchor: str
    message: str
    form: str = ""
    action: str = ""
    text: str = ""


@dataclass(frozen=True)
class Shown:
    """A value as shown on the page: text, labelled fields of an object, or a list of them."""

    text: str = ""
    rows: tuple[tuple[str, Shown], ...] = ()
    items: tuple[Shown, ...] = ()


def _plain(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Mapping) and value and set(value) <= set(LANGUAGES):
        return _text(value)
    if isinstance(value, list):
        return "; ".join(_plain(item) for item in value) or "—"
    if isinstance(value, Mapping):
        return ", ".join(f"{str(k).replace('_', ' ')}: {_plain(v)}" for k, v in value.items())
    return str(value)


def _title(name: str, spec: Any) -> str:
    if isinstance(spec, Mapping):
        for key in ("x-title", "title"):
            found = spec.get(key)
            if isinstance(found, str) and found:
                return found
            if isinstance(found, Mapping) and _text(found):
                return _text(found)
    return name.replace("_", " ").capitalize()


def _shown(value: Any, spec: Any = None, depth: int = 1) -> Shown:
    """A register value with the titles its schema gives nested fields, where it gives them."""
    spec = spec if isinstance(spec, Mapping) else {}
    deeper = depth <= MAX_NESTING
    translated = isinstance(value, Mapping) and value and set(value) <= set(LANGUAGES)
    if deeper and isinstance(value, Mapping) and value and not translated:
        properties = spec.get("properties") or {}
        return Shown(
            rows=tuple(
                (_title(str(k), properties.get(k)), _shown(v, properties.get(k), depth + 1))
                for k, v in value.items()
            )
        )
    if deeper and isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        return Shown(items=tuple(_shown(v, spec.get("items"), depth + 1) for v in value))
    enum = spec.get("enum")
    if isinstance(value, str) and isinstance(enum, list) and value in enum:
        # Registers name no labels for their codes: the code in words is the best there is.
        return Shown(text=value.replace("_", " ").capitalize())
    return Shown(text=_plain(value))


@dataclass(frozen=True)
class AnswerRow:
    label: str
    value: str
    source: str = ""


def _answers(application: Application, attached: Sequence[Attachment] = ()) -> list[AnswerRow]:
    """The answers in the form's order, labelled in the reader's language; an answer naming
    an attached file shows the file's name (the files are listed with links below)."""
    form = application.service_version.form or {}
    ui = form.get("ui") or {}
    labels = ui.get("labels") or {}
    enum_labels = ui.get("enum_labels") or {}
    answers = casework.answers_of(application)
    prefilled = application.prefilled or {}
    names = [f for step in ui.get("steps") or [] for f in step.get("fields") or []]
    names += sorted(set(answers) - set(names))
    by_id = {str(a.public_id): a for a in attached}
    rows = []
    for name in names:
        if name not in answers:
            continue
        value = answers[name]
        choices = enum_labels.get(name) or {}
        if isinstance(value, str) and value in by_id and by_id[value].field == name:
            text = by_id[value].name
        elif isinstance(value, list):
            text = "; ".join(_text(choices.get(v)) or _plain(v) for v in value) or "—"
        elif isinstance(value, str) and value in choices:
            text = _text(choices[value])
        else:
            text = _plain(value)
        source = str((prefilled.get(name) or {}).get("source") or "")
        rows.append(AnswerRow(_text(labels.get(name)) or name, text, source))
    return rows


@dataclass(frozen=True)
class FactBlock:
    """A register record the case reads: the applicant's own, or one the process declares."""

    name: str
    register: str
    rows: list[tuple[str, Shown]] | None  # None: no such record in the register


def _register_facts(application: Application, official: User) -> list[FactBlock]:
    """The register records the rules see, read now and recorded in the data tracker as read
    by this official."""
    facts = casework.case_facts(application, reader=official)
    wanted = [("person", "population")] + [
        (name, str(spec["register"]))
        for name, spec in fact_specs(application.service_version.process or {}).items()
    ]
    labels = register_selectors.register_labels({register for _n, register in wanted})
    blocks = []
    for name, register in wanted:
        names = labels.get(register)
        data = facts.get(name)
        title = _("The applicant") if name == "person" else name.replace("_", " ").capitalize()
        register_name = _text(names.name.to_dict()) if names else register
        if not isinstance(data, Mapping):
            blocks.append(FactBlock(title, register_name, None))
            continue
        properties = (names.schema.get("properties") or {}) if names else {}
        ordered = names.ordered(data) if names else sorted(data)
        rows = [
            (names.label(k) if names else k, _shown(data[k], properties.get(k))) for k in ordered
        ]
        blocks.append(FactBlock(title, register_name, rows))
    return blocks


@dataclass(frozen=True)
class ConditionRow:
    label: str
    outcome: str
    tag: str
    facts_used: list[tuple[str, str]]
    missing: list[str]


@dataclass(frozen=True)
class Trace:
    outcome: str
    conditions: list[ConditionRow]


def _trace(application: Application) -> Trace | None:
    """The rules' explanation of the automatic decision: each condition, the facts it used."""
    trace = application.decision_trace
    if not isinstance(trace, Mapping) or not trace.get("conditions"):
        return None
    rows = []
    for condition in trace.get("conditions") or []:
        outcome, tag = CONDITION_OUTCOMES.get(
            str(condition.get("outcome")), (condition.get("outcome"), "govuk-tag--grey")
        )
        rows.append(
            ConditionRow(
                label=_text(condition.get("label")) or str(condition.get("id", "")),
                outcome=str(outcome),
                tag=tag,
                facts_used=[
                    (str(p), _plain(v)) for p, v in (condition.get("facts_used") or {}).items()
                ],
                missing=[str(p) for p in condition.get("missing") or []],
            )
        )
    outcome = DECISION_OUTCOMES.get(str(trace.get("outcome")), trace.get("outcome"))
    return Trace(str(outcome or ""), rows)


@dataclass(frozen=True)
class EventRow:
    event: CaseEvent
    label: str
    who: str
    from_step: str
    to_step: str


def _timeline(application: Application, process: Process) -> list[EventRow]:
    rows = []
    for event in cases.case_history(application):
        label = EVENT_LABELS.get(event.action)
        kind = ACTOR_KINDS.get(event.actor_kind, event.actor_kind)
        who = _person_name(event.actor) if event.actor_kind == "official" else ""
        rows.append(
            EventRow(
                event=event,
                label=str(label) if label is not None else _action_label(event.action),
                who=f"{kind}: {who}" if who else str(kind),
                from_step=_step_label(process, event.from_step),
                to_step=_step_label(process, event.to_step),
            )
        )
    return rows


@dataclass(frozen=True)
class ActionChoice:
    """An action offered now, with its reason field (and what went wrong with it, if it did)."""

    action: str
    label: str
    leads_to: str
    note_label: str
    to_applicant: bool
    error: str = ""
    text: str = ""

    @property
    def note_id(self) -> str:
        return f"note-{self.action}"


def _actions(
    application: Application, official: User, process: Process, problem: Problem | None
) -> list[ActionChoice]:
    routes = process.routes(application.step)
    choices = []
    for action in cases.actions_for(application, official):
        mine = problem is not None and problem.form == "act" and problem.action == action
        choices.append(
            ActionChoice(
                action=action,
                label=_action_label(action),
                leads_to=_step_label(process, routes.get(action, "")),
                note_label=str(NOTE_LABELS.get(action, _("Reason"))),
                to_applicant=action in NOTE_LABELS,
                error=problem.message if mine and problem and problem.anchor != "actions" else "",
                text=problem.text if mine and problem else "",
            )
        )
    return choices


def _assignable(application: Application, step: Step | None) -> list[User]:
    """Officials of the agency whose role works the case's step, and its heads of unit."""
    roles = [Role.HEAD] + ([step.role] if step is not None and step.role else [])
    found: dict[int, User] = {}
    for role in roles:
        for user in account_selectors.members_with_role(application.agency_id, role):
            found.setdefault(user.pk, user)
    return sorted(found.values(), key=lambda u: _person_name(u).casefold())


def _case_page(
    request: HttpRequest,
    application: Application,
    problem: Problem | None = None,
    status: int = 200,
) -> HttpResponse:
    official = _official(request)
    desk = Desk(official)
    process = desk.process(application.service_version)
    step = process.steps.get(application.step)
    is_head = desk.is_head(application.agency_id) and not application.is_final
    attached = cases.attachments_of(application)
    signature = esign.signature_of("application", application.number)
    context = {
        "application": application,
        "signature": signature,
        "signature_verifies": signature is not None and esign.signature_reverify(signature),
        "documents": document_selectors.documents_of_application(application.pk),
        "may_annul": application.agency_id
        in account_selectors.agency_ids_for(official, documents.ANNULLERS),
        "service_name": _text(application.service_version.name.to_dict()),
        "step": _step_label(process, application.step),
        "deadline": _deadline(application),
        "answers": _answers(application, attached),
        "attachments": _attachment_rows(application, attached),
        "facts": _register_facts(application, official),
        "trace": _trace(application),
        "timeline": _timeline(application, process),
        "questions": list(application.info_requests.select_related("asked_by")),
        "comments": list(application.comments.select_related("author")),
        "actions": _actions(application, official, process, problem),
        "may_take": desk.may_take(application),
        "assignable": _assignable(application, step) if is_head else [],
        "problem": problem,
    }
    return render(request, "backoffice/case_detail.html", context, status=status)


@dataclass(frozen=True)
class AttachmentRow:
    attachment: Attachment
    field: str  # the form's label of the field, or "With the answer to a question"
    size: str
    kind: str


def _attachment_rows(
    application: Application, attached: Sequence[Attachment]
) -> list[AttachmentRow]:
    labels = ((application.service_version.form or {}).get("ui") or {}).get("labels") or {}
    return [
        AttachmentRow(
            attachment=item,
            field=(_text(labels.get(item.field)) or item.field)
            if item.field
            else _("With the answer to a question"),
            size=files.size_text(item.size),
            kind=files.KIND_NAMES.get(item.content_type, item.content_type),
        )
        for item in attached
    ]


def _refused(
    request: HttpRequest, application: Application, exc: DomainError, problem: Problem
) -> HttpResponse:
    """The case page again, with what the service said and the text the official wrote."""
    anchor = problem.anchor
    if problem.form == "act" and exc.field != "note":
        anchor = "actions"
    return _case_page(
        request,
        application,
        Problem(anchor, str(exc.message), problem.form, problem.action, problem.text),
        status=exc.http_status,
    )


@official_required
@require_GET
def case_detail(request: HttpRequest, number: str) -> HttpResponse:
    return _case_page(request, _case_or_404(request, number))


@official_required
@require_GET
def case_attachment(request: HttpRequest, number: str, file_id: uuid.UUID) -> HttpResponseBase:
    """A file attached to the case, for the officials of its agency."""
    application = _case_or_404(request, number)
    try:
        opened = files.attachment_open(
            application=application, attachment_id=str(file_id), reader=_official(request)
        )
    except NotFound:
        raise Http404 from None
    return attachment_response(opened)


@official_required
@require_POST
def case_take(request: HttpRequest, number: str) -> HttpResponse:
    application = _case_or_404(request, number)
    try:
        casework.case_take(application=application, official=_official(request))
    except DomainError as exc:
        return _refused(request, application, exc, Problem("actions", "", "take"))
    messages.success(request, _("You have taken this case. It is in your queue."))
    return redirect("backoffice:case_detail", number=number)


@official_required
@require_POST
def case_assign(request: HttpRequest, number: str) -> HttpResponse:
    application = _case_or_404(request, number)
    step = Desk(_official(request)).step(application)
    officials = _assignable(application, step)
    form = AssignForm(request.POST, officials=officials)
    if not form.is_valid():
        message = str(form.errors["assignee"][0])
        return _case_page(request, application, Problem("assignee", message, "assign"), 400)
    assignee = next(u for u in officials if str(u.pk) == form.cleaned_data["assignee"])
    try:
        casework.case_assign(application=application, head=_official(request), assignee=assignee)
    except DomainError as exc:
        return _refused(request, application, exc, Problem("assignee", "", "assign"))
    messages.success(
        request, _("The case was assigned to %(name)s.") % {"name": _person_name(assignee)}
    )
    return redirect("backoffice:case_detail", number=number)


@official_required
@require_POST
def case_comment(request: HttpRequest, number: str) -> HttpResponse:
    application = _case_or_404(request, number)
    form = CommentForm(request.POST)
    text = request.POST.get("text", "")[: MAX_TEXT * 2]
    if not form.is_valid():
        message = str(form.errors["text"][0])
        return _case_page(
            request, application, Problem("comment-text", message, "comment", text=text), 400
        )
    try:
        casework.case_comment(
            application=application, official=_official(request), text=form.cleaned_data["text"]
        )
    except DomainError as exc:
        return _refused(
            request, application, exc, Problem("comment-text", "", "comment", text=text)
        )
    messages.success(request, _("Your comment was added. Only officials see it."))
    return redirect("backoffice:case_detail", number=number)


@official_required
@require_POST
def case_document_annul(request: HttpRequest, number: str, document: str) -> HttpResponse:
    """A head of unit annuls a document the case's approval issued, giving the reason."""
    application = _case_or_404(request, number)
    reason = request.POST.get("reason", "")[: MAX_TEXT * 2]
    anchor = f"annul-{document}"
    found = document_selectors.documents_of_application(application.pk)
    target = next((d for d in found if d.number == document), None)
    if target is None:
        raise Http404
    try:
        documents.document_annul(document=target, official=_official(request), reason=reason)
    except DomainError as exc:
        problem = Problem(anchor, str(exc.message), "annul", action=document, text=reason)
        return _case_page(request, application, problem, 403 if exc.http_status == 403 else 400)
    messages.success(request, _("The document was annulled. Whoever checks it is told so."))
    return redirect("backoffice:case_detail", number=number)


@official_required
@require_POST
def case_act(request: HttpRequest, number: str) -> HttpResponse:
    application = _case_or_404(request, number)
    official = _official(request)
    form = ActForm(request.POST, actions=cases.actions_for(application, official))
    action = request.POST.get("action", "")[:40]
    text = request.POST.get("note", "")[: MAX_TEXT * 2]
    if not form.is_valid():
        problem_field = "action" if "action" in form.errors else "note"
        anchor = "actions" if problem_field == "action" else f"note-{action}"
        message = str(form.errors[problem_field][0])
        return _case_page(
            request, application, Problem(anchor, message, "act", action, text), status=400
        )
    action = form.cleaned_data["action"]
    try:
        casework.case_act(
            application=application,
            official=official,
            action=action,
            note=form.cleaned_data["note"],
        )
    except DomainError as exc:
        return _refused(
            request, application, exc, Problem(f"note-{action}", "", "act", action, text)
        )
    done = DONE_MESSAGES.get(action)
    messages.success(
        request,
        str(done)
        if done is not None
        else _("Done: %(action)s.") % {"action": _action_label(action)},
    )
    return redirect("backoffice:case_detail", number=number)


# --- the workload of a head of unit -------------------------------------------------------


@dataclass(frozen=True)
class WorkloadRow:
    step: str
    label: str
    open: int
    overdue: int
    unassigned: int
    in_queue: bool = False  # a task step, which the queue can be filtered by


@head_required
@require_GET
def case_workload(request: HttpRequest) -> HttpResponse:
    official = _official(request)
    agency_ids = account_selectors.agency_ids_for(official, {Role.HEAD})
    desk = Desk(official)
    names, tasks = desk.step_names(), dict(desk.step_choices())
    rows = [
        WorkloadRow(
            r.step, names.get(r.step, r.step), r.open, r.overdue, r.unassigned, r.step in tasks
        )
        for r in cases.workload(agency_ids)
    ]
    totals = WorkloadRow(
        "",
        _("All steps"),
        sum(r.open for r in rows),
        sum(r.overdue for r in rows),
        sum(r.unassigned for r in rows),
    )
    return render(request, "backoffice/queue_workload.html", {"rows": rows, "totals": totals})
