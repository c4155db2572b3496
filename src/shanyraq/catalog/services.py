"""Writes to the catalog: services, their versions and publication.

Only an agency's administrators change that agency's services. A published version is
immutable; a change is a new draft, published in its turn.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shanyraq.accounts import selectors as account_selectors
from shanyraq.accounts.models import User
from shanyraq.core.canonical_json import canonicalize
from shanyraq.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from shanyraq.core.text import LANGUAGES, TranslatedText
from shanyraq.ledger_django import services as ledger_services

from .form_schema import FormDefinitionError, validate_form_definition
from .models import (
    Agency,
    CatalogState,
    Category,
    LifeEvent,
    Service,
    ServiceVersion,
    VersionStatus,
    code_validator,
)

__all__ = [
    "ImportReport",
    "ServiceContent",
    "catalog_changed",
    "catalog_import",
    "service_create",
    "service_version_draft",
    "service_version_publish",
    "service_version_update",
]

TEXT_FIELDS = ("name", "description", "who_may_apply", "result", "legal_basis")
MAX_TEXT = 5000
MAX_DOCUMENTS = 30


@dataclass
class ServiceContent:
    """Everything a service version says about the service."""

    category: str
    name: dict[str, str]
    description: dict[str, str]
    who_may_apply: dict[str, str]
    result: dict[str, str]
    legal_basis: dict[str, str]
    deadline_days: int
    fee_kzt: Decimal | str | int = Decimal("0")
    life_events: list[str] = field(default_factory=list)
    required_documents: list[dict[str, str]] = field(default_factory=list)
    fully_online: bool = False
    proactive: bool = False
    esign_required: bool = False
    form: dict[str, Any] | None = None
    process: dict[str, Any] | None = None
    rules: dict[str, Any] | None = None

    @classmethod
    def from_version(cls, version: ServiceVersion) -> ServiceContent:
        return cls(
            category=version.category.code,
            name=version.name.to_dict(),
            description=version.description.to_dict(),
            who_may_apply=version.who_may_apply.to_dict(),
            result=version.result.to_dict(),
            legal_basis=version.legal_basis.to_dict(),
            deadline_days=version.deadline_days,
            fee_kzt=version.fee_kzt,
            life_events=sorted(e.code for e in version.life_events.all()),
            required_documents=list(version.required_documents),
            fully_online=version.fully_online,
            proactive=version.proactive,
            esign_required=version.esign_required,
            form=version.form,
            process=version.process,
            rules=version.rules,
        )


def _invalid(field_name: str, message: Any) -> ValidationError:
    return ValidationError(code="invalid", message=message, field=field_name)


def _clean(content: ServiceContent) -> dict[str, Any]:
    """Validate content and return model field values (plus category and life events)."""
    values: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        raw = getattr(content, name)
        try:
            text = TranslatedText.from_value(raw)
        except (ValueError, TypeError, ValidationError):
            raise _invalid(name, _("Fill in this field in Kazakh, Russian and English.")) from None
        if any(len(text.get(lang)) > MAX_TEXT for lang in LANGUAGES):
            raise _invalid(name, _("This text is too long."))
        values[name] = text
    documents = []
    if len(content.required_documents) > MAX_DOCUMENTS:
        raise _invalid("required_documents", _("Too many documents listed."))
    for doc in content.required_documents:
        try:
            documents.append(TranslatedText.from_value(doc).to_dict())
        except (ValueError, TypeError, ValidationError):
            raise _invalid(
                "required_documents",
                _("Give every required document in Kazakh, Russian and English."),
            ) from None
    values["required_documents"] = documents
    try:
        fee = Decimal(str(content.fee_kzt))
    except InvalidOperation:
        raise _invalid("fee_kzt", _("Enter the fee as a number of tenge.")) from None
    if not fee.is_finite() or fee < 0 or fee > Decimal("9999999999.99"):
        raise _invalid("fee_kzt", _("Enter the fee as a number of tenge."))
    values["fee_kzt"] = fee.quantize(Decimal("0.01"))
    if not isinstance(content.deadline_days, int) or not 1 <= content.deadline_days <= 365:
        raise _invalid("deadline_days", _("The deadline must be between 1 and 365 working days."))
    values["deadline_days"] = content.deadline_days
    for flag in ("fully_online", "proactive", "esign_required"):
        values[flag] = bool(getattr(content, flag))
    if content.form is not None:
        try:
            values["form"] = validate_form_definition(content.form)
        except FormDefinitionError as exc:
            raise ValidationError(
                code="invalid_form",
                message=_("The application form definition is not valid."),
                field="form",
                details={"problems": exc.problems},
            ) from None
        if len(json.dumps(content.form)) > 200_000:
            raise _invalid("form", _("The application form definition is too large."))
    else:
        values["form"] = None
    values["process"], values["rules"] = _clean_casework(content)
    category = Category.objects.filter(code=content.category).first()
    if category is None:
        raise _invalid("category", _("Choose a category from the list."))
    values["category"] = category
    events = list(LifeEvent.objects.filter(code__in=content.life_events))
    if len(events) != len(set(content.life_events)):
        raise _invalid("life_events", _("Choose life events from the list."))
    values["life_events"] = events
    return values


def _search_text(service: Service, values: dict[str, Any]) -> str:
    parts: list[str] = [service.code]
    for name in TEXT_FIELDS:
        parts.extend(values[name].to_dict().values())
    for doc in values["required_documents"]:
        parts.extend(doc.values())
    agency = service.agency
    for text in (agency.name, agency.short_name, values["category"].name):
        parts.extend(TranslatedText.from_value(text, partial=True).to_dict().values())
    for event in values["life_events"]:
        parts.extend(TranslatedText.from_value(event.name, partial=True).to_dict().values())
    return normalise_search(" ".join(parts))


def normalise_search(text: str) -> str:
    """Fold case and the letters people type interchangeably, so any spelling matches."""
    return " ".join(text.casefold().replace("ё", "е").split())


def _write(version: ServiceVersion, values: dict[str, Any]) -> None:
    events = values.pop("life_events")
    for name, value in values.items():
        setattr(version, name, value)
    version.search_text = _search_text(version.service, {**values, "life_events": events})
    version.save()
    version.life_events.set(events)


def _require_admin(actor: User, agency: Agency) -> None:
    if not account_selectors.can_manage_agency(actor, agency.pk):
        raise PermissionDenied(
            code="not_agency_admin",
            message=_("Only this agency's administrators may change its services."),
        )


@transaction.atomic
def service_create(
    *, actor: User | None, agency: Agency, code: str, content: ServiceContent
) -> ServiceVersion:
    """Create a service with its first (draft) version. ``actor=None`` is a system load."""
    if actor is not None:
        _require_admin(actor, agency)
    try:
        code_validator(code)
    except Exception:
        raise _invalid("code", _("Use lowercase Latin letters, digits and hyphens.")) from None
    if len(code) > 60:
        raise _invalid("code", _("The code is too long."))
    values = _clean(content)
    if Service.objects.filter(code=code).exists():
        raise Conflict(code="service_exists", message=_("A service with this code already exists."))
    try:
        with transaction.atomic():
            service = Service.objects.create(code=code, agency=agency)
    except IntegrityError:
        raise Conflict(
            code="service_exists", message=_("A service with this code already exists.")
        ) from None
    version = ServiceVersion(service=service, number=1, created_by=actor)
    _write(version, values)
    return version


@transaction.atomic
def service_version_draft(*, actor: User, service: Service) -> ServiceVersion:
    """The service's open draft, or a new draft copied from its latest version."""
    service = Service.objects.select_for_update().select_related("agency").get(pk=service.pk)
    _require_admin(actor, service.agency)
    existing = service.versions.filter(status=VersionStatus.DRAFT).first()
    if existing is not None:
        return existing
    latest = service.versions.order_by("-number").first()
    if latest is None:
        raise NotFound(code="no_version", message=_("This service has no version to copy."))
    content = ServiceContent.from_version(latest)
    version = ServiceVersion(service=service, number=latest.number + 1, created_by=actor)
    _write(version, _clean(content))
    return version


@transaction.atomic
def service_version_update(
    *, actor: User, version: ServiceVersion, content: ServiceContent
) -> ServiceVersion:
    version = (
        ServiceVersion.objects.select_for_update()
        .select_related("service__agency")
        .get(pk=version.pk)
    )
    _require_admin(actor, version.service.agency)
    if version.status != VersionStatus.DRAFT:
        raise Conflict(
            code="version_published",
            message=_("A published version cannot be changed. Create a new version instead."),
        )
    _write(version, _clean(content))
    return version


@transaction.atomic
def service_version_publish(*, actor: User | None, version: ServiceVersion) -> ServiceVersion:
    """Publish a draft: it becomes the version citizens see, and can no longer change."""
    version = (
        ServiceVersion.objects.select_for_update()
        .select_related("service__agency")
        .get(pk=version.pk)
    )
    service = Service.objects.select_for_update().get(pk=version.service_id)
    if actor is not None:
        _require_admin(actor, version.service.agency)
    if version.status != VersionStatus.DRAFT:
        raise Conflict(code="version_published", message=_("This version is already published."))
    version.status = VersionStatus.PUBLISHED
    version.published_by = actor
    version.published_at = timezone.now()
    version.save()
    service.current_version = version
    service.save(update_fields=["current_version"])
    catalog_changed()
    # The published passport is a public commitment of the agency: record it in the ledger.
    ledger_services.ledger_append(
        entry={
            "v": 1,
            "type": "catalog.version_published",
            "service": service.code,
            "agency": version.service.agency.code,
            "version": version.number,
            "digest": content_digest(version),
            "time": version.published_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        }
    )
    return version


def _clean_casework(content: ServiceContent) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The declared process and decision rules, checked by the engines that will run them."""
    from shanyraq.casework.declarations import declaration_problems

    if content.process is None and content.rules is None:
        return None, None
    if content.form is None or content.process is None:
        raise _invalid("process", _("A service taking applications needs a form and a process."))
    problems = declaration_problems(content.form, content.process, content.rules)
    if problems:
        raise ValidationError(
            code="invalid_process",
            message=_("The process or the decision rules are not valid."),
            field="process",
            details={"problems": problems},
        )
    if len(json.dumps([content.process, content.rules])) > 200_000:
        raise _invalid("process", _("The process definition is too large."))
    return dict(content.process), dict(content.rules) if content.rules is not None else None


def catalog_changed() -> None:
    """Count a change to what citizens see, so that cached catalog pages are not served."""
    updated = CatalogState.objects.filter(pk=1).update(generation=F("generation") + 1)
    if not updated:
        CatalogState.objects.get_or_create(pk=1, defaults={"generation": 1})


def content_digest(version: ServiceVersion) -> str:
    """Base64 SHA-256 of the version's content as RFC 8785 JSON: anyone can recompute it."""
    content = asdict(ServiceContent.from_version(version))
    for name in ("process", "rules"):  # versions published before services took applications
        if content[name] is None:
            del content[name]
    content["fee_kzt"] = str(Decimal(str(content["fee_kzt"])).quantize(Decimal("0.01")))
    return base64.b64encode(hashlib.sha256(canonicalize(content)).digest()).decode()


@dataclass(frozen=True)
class ImportReport:
    agencies: int
    categories: int
    life_events: int
    services_created: int
    services_unchanged: int


def _upsert_text_rows(model: Any, rows: list[dict[str, Any]], fields: tuple[str, ...]) -> int:
    for position, row in enumerate(rows):
        defaults: dict[str, Any] = {}
        for name in fields:
            value = row.get(name)
            if name in {"name", "short_name", "description"}:
                value = TranslatedText.from_value(value)
            defaults[name] = value if value is not None else ""
        if "position" in {f.name for f in model._meta.get_fields()}:
            defaults["position"] = position
        model.objects.update_or_create(code=row["code"], defaults=defaults)
    return len(rows)


@transaction.atomic
def catalog_import(
    *,
    agencies: list[dict[str, Any]],
    categories: list[dict[str, Any]],
    life_events: list[dict[str, Any]],
    services: list[dict[str, Any]],
) -> ImportReport:
    """Load reference data and services idempotently (used by the demo and by operators).

    Agencies, categories and life events are created or updated by code. A service that does
    not exist yet is created and its first version published; an existing service is left as
    it is (its history belongs to its agency), so running the import again changes nothing.
    """
    n_agencies = _upsert_text_rows(
        Agency,
        agencies,
        ("kind", "name", "short_name", "description", "region", "website", "email", "phone"),
    )
    n_categories = _upsert_text_rows(Category, categories, ("name",))
    n_events = _upsert_text_rows(LifeEvent, life_events, ("name", "description"))
    catalog_changed()
    agency_by_code = {a.code: a for a in Agency.objects.all()}
    existing = set(Service.objects.values_list("code", flat=True))
    created = 0
    for row in services:
        if row["code"] in existing:
            continue
        content = ServiceContent(
            category=row["category"],
            name=row["name"],
            description=row["description"],
            who_may_apply=row["who_may_apply"],
            result=row["result"],
            legal_basis=row["legal_basis"],
            deadline_days=int(row["deadline_days"]),
            fee_kzt=row.get("fee_kzt", "0"),
            life_events=list(row.get("life_events", [])),
            required_documents=list(row.get("required_documents", [])),
            fully_online=bool(row.get("fully_online")),
            proactive=bool(row.get("proactive")),
            esign_required=bool(row.get("esign_required")),
            form=row.get("form"),
            process=row.get("process"),
            rules=row.get("rules"),
        )
        agency = agency_by_code.get(row["agency"])
        if agency is None:
            raise _invalid("agency", f"unknown agency {row['agency']!r} for {row['code']!r}")
        version = service_create(actor=None, agency=agency, code=row["code"], content=content)
        service_version_publish(actor=None, version=version)
        created += 1
    return ImportReport(
        agencies=n_agencies,
        categories=n_categories,
        life_events=n_events,
        services_created=created,
        services_unchanged=len(services) - created,
    )
