"""Back-office pages for staff: the agency's services, the passport editor, the audit views."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shanyraq.access_log import selectors as access_selectors
from shanyraq.access_log.models import AccessRecord
from shanyraq.accounts import selectors as account_selectors
from shanyraq.accounts.models import OFFICIAL_ROLES, Role
from shanyraq.catalog import selectors as catalog
from shanyraq.catalog import services as catalog_services
from shanyraq.catalog.models import Agency, Service, ServiceVersion
from shanyraq.core.errors import DomainError, NotFound
from shanyraq.registries import selectors as register_selectors
from shanyraq.registries.selectors import RegisterLabels

from .forms import AccessAuditForm, NewServiceForm, ServiceVersionForm

View = Callable[..., HttpResponseBase]


def staff_required(view: View) -> View:
    """Signed-in staff only; others go to the staff sign-in, citizens get 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("portal:staff_login"))
        if not account_selectors.is_staff_member(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return never_cache(wrapper)


def auditor_required(view: View) -> View:
    """Auditors and platform administrators only; other staff get 403, as with staff_required."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user: Any = request.user
        if not (user.is_auditor or user.is_superuser):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return staff_required(wrapper)


def _can_read_service(request: HttpRequest, service: Service) -> bool:
    user: Any = request.user
    if user.is_superuser or user.is_auditor:
        return True
    return service.agency_id in account_selectors.agency_ids_for(user)


def _service_or_404(request: HttpRequest, code: str) -> Service:
    try:
        service = catalog.service_get(code)
    except NotFound:
        raise Http404 from None
    if not _can_read_service(request, service):
        raise PermissionDenied
    return service


def _version_or_404(service: Service, number: int) -> ServiceVersion:
    version = service.versions.select_related("category").filter(number=number).first()
    if version is None:
        raise Http404
    return version


def _choices() -> dict[str, list[tuple[str, str]]]:
    return {
        "categories": [(c.code, str(c.name)) for c, _n in catalog.categories_list()],
        "life_events": [(e.code, str(e.name)) for e, _n in catalog.life_events_with_counts()],
    }


def _content(form: ServiceVersionForm) -> catalog_services.ServiceContent:
    data = form.cleaned_data
    return catalog_services.ServiceContent(
        category=data["category"],
        name=form.texts("name"),
        description=form.texts("description"),
        who_may_apply=form.texts("who_may_apply"),
        result=form.texts("result"),
        legal_basis=form.texts("legal_basis"),
        deadline_days=data["deadline_days"],
        fee_kzt=data["fee_kzt"],
        life_events=list(data.get("life_events") or []),
        required_documents=data["required_documents"],
        fully_online=data["fully_online"],
        proactive=data["proactive"],
        esign_required=data["esign_required"],
        form=data.get("form"),
    )


def _attach_error(form: Any, exc: DomainError) -> None:
    field = exc.field if exc.field in form.fields else None
    if exc.field == "form":
        field = "form_definition"
    message = str(exc.message)
    problems = exc.details.get("problems")
    if isinstance(problems, list) and problems:
        message = f"{message} " + "; ".join(str(p) for p in problems[:10])
    form.add_error(field, message)


@staff_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    memberships = account_selectors.memberships_of(user)
    return render(
        request,
        "backoffice/dashboard.html",
        {
            "memberships": memberships,
            "is_official": any(m.role in OFFICIAL_ROLES for m in memberships),
            "is_agency_admin": any(m.role == Role.ADMIN for m in memberships),
            "sees_proactive": any(m.role in {Role.HEAD, Role.ADMIN} for m in memberships),
        },
    )


@staff_required
@require_GET
def service_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if user.is_superuser or user.is_auditor:
        agency_ids = set(Agency.objects.values_list("pk", flat=True))
    else:
        agency_ids = account_selectors.agency_ids_for(user)
    return render(
        request,
        "backoffice/service_list.html",
        {
            "services": catalog.services_of_agencies(agency_ids),
            "admin_agencies": account_selectors.agency_ids_for(user, {Role.ADMIN}),
        },
    )


@staff_required
@require_GET
def service_detail(request: HttpRequest, code: str) -> HttpResponse:
    service = _service_or_404(request, code)
    return render(
        request,
        "backoffice/service_detail.html",
        {
            "service": service,
            "versions": catalog.service_versions(service),
            "can_edit": account_selectors.can_manage_agency(request.user, service.agency_id),
        },
    )


@staff_required
@require_http_methods(["GET", "POST"])
def service_new(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    admin_ids = account_selectors.agency_ids_for(user, {Role.ADMIN})
    if not admin_ids:
        raise PermissionDenied
    agencies = [(a.code, str(a.short_name)) for a in Agency.objects.filter(pk__in=admin_ids)]
    head = NewServiceForm(request.POST or None, agencies=agencies)
    form = ServiceVersionForm(request.POST or None, **_choices())
    status = 200
    if request.method == "POST":
        status = 400
        if head.is_valid() and form.is_valid():
            agency = Agency.objects.get(code=head.cleaned_data["agency"])
            try:
                version = catalog_services.service_create(
                    actor=user,
                    agency=agency,
                    code=head.cleaned_data["code"],
                    content=_content(form),
                )
            except DomainError as exc:
                _attach_error(head if exc.field == "code" else form, exc)
            else:
                messages.success(request, _("The service was created as a draft."))
                return redirect(
                    "backoffice:version_edit", code=version.service.code, number=version.number
                )
    return render(
        request, "backoffice/service_new.html", {"head": head, "form": form}, status=status
    )


@staff_required
@require_POST
def version_draft(request: HttpRequest, code: str) -> HttpResponse:
    service = _service_or_404(request, code)
    try:
        version = catalog_services.service_version_draft(actor=request.user, service=service)  # type: ignore[arg-type]
    except DomainError as exc:
        if exc.http_status == 403:
            raise PermissionDenied from None
        raise
    return redirect("backoffice:version_edit", code=service.code, number=version.number)


@staff_required
@require_http_methods(["GET", "POST"])
def version_edit(request: HttpRequest, code: str, number: int) -> HttpResponse:
    service = _service_or_404(request, code)
    version = _version_or_404(service, number)
    can_edit = account_selectors.can_manage_agency(request.user, service.agency_id)
    if request.method == "POST" and not can_edit:
        raise PermissionDenied
    initial = ServiceVersionForm.initial_from(catalog_services.ServiceContent.from_version(version))
    form = ServiceVersionForm(request.POST or None, initial=initial, **_choices())
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                catalog_services.service_version_update(
                    actor=request.user,  # type: ignore[arg-type]
                    version=version,
                    content=_content(form),
                )
            except DomainError as exc:
                if exc.http_status == 409:
                    status = 409
                _attach_error(form, exc)
            else:
                messages.success(request, _("The draft was saved."))
                return redirect("backoffice:version_edit", code=code, number=number)
    return render(
        request,
        "backoffice/version_edit.html",
        {
            "service": service,
            "version": version,
            "form": form,
            "editable": can_edit and not version.is_published,
        },
        status=status,
    )


@staff_required
@require_POST
def version_publish(request: HttpRequest, code: str, number: int) -> HttpResponse:
    service = _service_or_404(request, code)
    version = _version_or_404(service, number)
    if not account_selectors.can_manage_agency(request.user, service.agency_id):
        raise PermissionDenied
    try:
        catalog_services.service_version_publish(actor=request.user, version=version)  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("backoffice:service_detail", code=code)
    messages.success(request, _("The version was published. Citizens see it now."))
    return redirect("backoffice:service_detail", code=code)


@auditor_required
@require_GET
def audit(request: HttpRequest) -> HttpResponse:
    return render(
        request, "backoffice/audit.html", {"publications": catalog.recent_publications(200)}
    )


# --- The data tracker, for auditors ---------------------------------------------------------


@dataclass(frozen=True)
class AccessRow:
    """An access record with its register and fields named in the reader's language."""

    access: AccessRecord
    register: str
    fields: list[str]


def _access_rows(
    accesses: Iterable[AccessRecord], labels: Mapping[str, RegisterLabels]
) -> list[AccessRow]:
    rows = []
    for access in accesses:
        register = labels.get(access.register)
        if register is None:
            rows.append(AccessRow(access, access.register, list(access.fields)))
        else:
            fields = [register.label(f) for f in register.ordered(access.fields)]
            rows.append(AccessRow(access, str(register.name), fields))
    return rows


def _access_form(request: HttpRequest, labels: Mapping[str, RegisterLabels]) -> AccessAuditForm:
    return AccessAuditForm(
        request.GET,
        agencies=[(a.code, str(a.short_name)) for a in catalog.agencies()],
        registers=[(code, str(labels[code].name)) for code in sorted(labels)],
    )


def _access_page(
    request: HttpRequest, form: AccessAuditForm, labels: Mapping[str, RegisterLabels]
) -> HttpResponse:
    """The filters and, when they are valid, one page of what they find."""
    context: dict[str, Any] = {
        "form": form,
        "page": None,
        "max_export": access_selectors.MAX_EXPORT_ROWS,
    }
    if not form.is_valid():
        return render(request, "backoffice/access_audit.html", context, status=400)
    page = access_selectors.accesses_search(form.filters(), page=request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context.update(page=page, rows=_access_rows(page, labels), query=query.urlencode())
    return render(request, "backoffice/access_audit.html", context)


@auditor_required
@require_GET
def access_audit(request: HttpRequest) -> HttpResponse:
    labels = register_selectors.register_labels()
    return _access_page(request, _access_form(request, labels), labels)


CSV_COLUMNS = [
    "created_at",
    "agency",
    "agency_name",
    "official",
    "actor_name",
    "subject_iin",
    "register",
    "record",
    "action",
    "fields",
    "purpose",
    "legal_basis",
    "case_ref",
]


class _Echo:
    """A file that hands back what is written to it, so each CSV line can be streamed."""

    def write(self, value: str) -> str:
        return value


def _cell(value: str) -> str:
    """Text that a spreadsheet would run as a formula is kept as text (CSV injection)."""
    return f"'{value}" if value[:1] in {"=", "+", "-", "@", "\t", "\r"} else value


def _csv_lines(accesses: Iterator[AccessRecord]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # the byte-order mark that makes spreadsheets read the file as UTF-8
    yield writer.writerow(CSV_COLUMNS)
    for access in accesses:
        yield writer.writerow(
            [
                timezone.localtime(access.created_at).isoformat(timespec="seconds"),
                access.agency.code,
                _cell(str(access.agency.name)),
                _cell(access.actor.username) if access.actor else "",
                _cell(access.actor_name),
                access.subject_iin,
                access.register,
                str(access.record),
                access.action,
                " ".join(str(f) for f in access.fields),
                _cell(access.purpose),
                _cell(access.legal_basis),
                _cell(access.case_ref),
            ]
        )


@auditor_required
@require_GET
def access_audit_export(request: HttpRequest) -> HttpResponseBase:
    """The accesses the page's filters find, newest first, as a CSV file of at most
    ``MAX_EXPORT_ROWS`` rows; filters that are not valid get the page with their errors."""
    labels = register_selectors.register_labels()
    form = _access_form(request, labels)
    if not form.is_valid():
        return _access_page(request, form, labels)
    accesses = access_selectors.accesses_export(
        form.filters(), limit=access_selectors.MAX_EXPORT_ROWS
    )
    response = StreamingHttpResponse(_csv_lines(accesses), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="data-access-{stamp}.csv"'
    return response
