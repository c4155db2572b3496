"""Reads from the catalog. Citizens only ever see published versions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    F,
    Prefetch,
    Q,
    QuerySet,
)
from django.utils.translation import gettext_lazy as _

from shanyraq.core.errors import NotFound

from .models import (
    Agency,
    CatalogState,
    Category,
    LifeEvent,
    Service,
    ServiceVersion,
    VersionStatus,
)
from .services import normalise_search

__all__ = [
    "AgencyMetrics",
    "CatalogMetrics",
    "agencies",
    "agencies_with_counts",
    "agency_get",
    "catalog_generation",
    "catalog_metrics",
    "categories",
    "categories_list",
    "life_events",
    "life_events_with_counts",
    "published_versions",
    "recent_publications",
    "service_get",
    "service_passport",
    "service_versions",
    "services_of_agencies",
]

MAX_QUERY_TERMS = 8


# Columns a list of services never shows: left out of list queries (the passport loads them).
LIST_DEFERRED = (
    "form",
    "search_text",
    "who_may_apply",
    "result",
    "legal_basis",
    "required_documents",
    "service__agency__description",
    "service__agency__website",
    "service__agency__email",
    "service__agency__phone",
)


def catalog_generation() -> int:
    """A number that changes whenever what citizens see in the catalog changes."""
    value = CatalogState.objects.filter(pk=1).values_list("generation", flat=True).first()
    return value or 0


def published_versions(
    *,
    agency: str | None = None,
    category: str | None = None,
    life_event: str | None = None,
    q: str | None = None,
    with_life_events: bool = True,
) -> QuerySet[ServiceVersion]:
    """Current published versions for lists, filtered and ordered by service code.

    The long texts and the form are not loaded; ``has_form`` is computed by the database.
    """
    versions = ServiceVersion.objects.filter(service__current_version=F("pk"))
    if agency:
        versions = versions.filter(service__agency__code=agency)
    if category:
        versions = versions.filter(category__code=category)
    if life_event:
        versions = versions.filter(life_events__code=life_event)
    if q:
        for term in normalise_search(q).split()[:MAX_QUERY_TERMS]:
            versions = versions.filter(search_text__contains=term)
    versions = (
        versions.select_related("service__agency", "category")
        .defer(*LIST_DEFERRED)
        .annotate(has_form=ExpressionWrapper(Q(form__isnull=False), output_field=BooleanField()))
        .order_by("service__code")
    )
    return versions.prefetch_related("life_events") if with_life_events else versions


def service_passport(code: str) -> ServiceVersion:
    """The published passport of a service, or NotFound."""
    version = (
        ServiceVersion.objects.filter(service__code=code, service__current_version=F("pk"))
        .select_related("service__agency", "category")
        .prefetch_related("life_events")
        .first()
    )
    if version is None:
        raise NotFound(code="service_not_found", message=_("There is no such service."))
    return version


def service_get(code: str) -> Service:
    service = Service.objects.select_related("agency", "current_version").filter(code=code).first()
    if service is None:
        raise NotFound(code="service_not_found", message=_("There is no such service."))
    return service


def service_versions(service: Service) -> list[ServiceVersion]:
    return list(
        service.versions.select_related("category", "created_by", "published_by")
        .prefetch_related("life_events")
        .order_by("-number")
    )


def agencies_with_counts() -> QuerySet[Agency]:
    return Agency.objects.annotate(
        published_services=Count("services", filter=Q(services__current_version__isnull=False))
    ).order_by("code")


def agency_get(code: str) -> Agency:
    agency = agencies_with_counts().filter(code=code).first()
    if agency is None:
        raise NotFound(code="agency_not_found", message=_("There is no such agency."))
    return agency


def life_events_with_counts() -> list[tuple[LifeEvent, int]]:
    counts = dict(
        published_versions()
        .order_by()
        .values_list("life_events__code")
        .annotate(n=Count("pk"))
        .values_list("life_events__code", "n")
    )
    return [(event, counts.get(event.code, 0)) for event in LifeEvent.objects.all()]


def categories_list() -> list[tuple[Category, int]]:
    counts = dict(
        published_versions()
        .order_by()
        .values_list("category__code")
        .annotate(n=Count("pk"))
        .values_list("category__code", "n")
    )
    return [(category, counts.get(category.code, 0)) for category in Category.objects.all()]


def categories() -> list[Category]:
    return list(Category.objects.only("code", "name"))


def life_events() -> list[LifeEvent]:
    return list(LifeEvent.objects.only("code", "name"))


def agencies() -> list[Agency]:
    return list(Agency.objects.only("code", "short_name"))


def services_of_agencies(agency_ids: set[int]) -> QuerySet[Service]:
    """Services of the given agencies, with their current and draft versions (back office)."""
    return (
        Service.objects.filter(agency_id__in=agency_ids)
        .select_related("agency", "current_version")
        .prefetch_related(
            Prefetch(
                "versions",
                queryset=ServiceVersion.objects.filter(status=VersionStatus.DRAFT),
                to_attr="drafts",
            )
        )
        .order_by("agency__code", "code")
    )


def recent_publications(limit: int = 100) -> QuerySet[ServiceVersion]:
    """Published versions across all agencies, newest first (for auditors)."""
    return (
        ServiceVersion.objects.filter(status=VersionStatus.PUBLISHED)
        .select_related("service__agency", "published_by")
        .order_by("-published_at", "-pk")[:limit]
    )


@dataclass(frozen=True)
class AgencyMetrics:
    code: str
    name: object
    services: int
    fully_online: int
    proactive: int
    esign_required: int

    def share(self, count: int) -> float:
        return round(count / self.services, 4) if self.services else 0.0

    @property
    def share_fully_online(self) -> float:
        return self.share(self.fully_online)

    @property
    def share_proactive(self) -> float:
        return self.share(self.proactive)

    @property
    def share_esign_required(self) -> float:
        return self.share(self.esign_required)


@dataclass(frozen=True)
class CatalogMetrics:
    overall: AgencyMetrics
    agencies: list[AgencyMetrics]


def catalog_metrics() -> CatalogMetrics:
    """Counts and shares of published services, overall and per agency, in two queries."""
    agencies = {a.pk: a for a in Agency.objects.all()}
    rows = (
        published_versions()
        .order_by()
        .values("service__agency_id")
        .annotate(
            services=Count("pk"),
            fully_online=Count("pk", filter=Q(fully_online=True)),
            proactive=Count("pk", filter=Q(proactive=True)),
            esign_required=Count("pk", filter=Q(esign_required=True)),
        )
    )
    by_agency = {row["service__agency_id"]: row for row in rows}
    per_agency: list[AgencyMetrics] = []
    for pk, agency in sorted(agencies.items(), key=lambda item: item[1].code):
        row: dict[str, Any] = dict(by_agency.get(pk, {}))
        per_agency.append(
            AgencyMetrics(
                code=agency.code,
                name=agency.short_name,
                services=row.get("services", 0),
                fully_online=row.get("fully_online", 0),
                proactive=row.get("proactive", 0),
                esign_required=row.get("esign_required", 0),
            )
        )
    overall = AgencyMetrics(
        code="",
        name=_("All agencies"),
        services=sum(m.services for m in per_agency),
        fully_online=sum(m.fully_online for m in per_agency),
        proactive=sum(m.proactive for m in per_agency),
        esign_required=sum(m.esign_required for m in per_agency),
    )
    return CatalogMetrics(overall=overall, agencies=per_agency)
