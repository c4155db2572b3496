"""Catalog API: agencies, services, categories, life events and metrics (public, read-only)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema
from ninja.responses import NinjaJSONEncoder

from shanyraq.core.text import TranslatedText

from . import selectors
from .models import Agency, ServiceVersion

router = Router(tags=["catalog"])

CODE_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


class Text(Schema):
    """A text in Kazakh, Russian and English."""

    kk: str
    ru: str
    en: str


def _text(value: TranslatedText | dict[str, str] | None) -> dict[str, str]:
    if value is None:
        return {"kk": "", "ru": "", "en": ""}
    return TranslatedText.from_value(value, partial=True).to_dict()


class AgencyOut(Schema):
    code: str
    kind: str
    name: Text
    short_name: Text
    description: Text
    region: str
    website: str
    email: str
    phone: str
    published_services: int


class ServiceSummary(Schema):
    code: str
    version: int
    agency: str
    category: str
    life_events: list[str]
    name: Text
    description: Text
    fee_kzt: Decimal
    deadline_days: int = Field(description="Deadline in working days.")
    fully_online: bool
    proactive: bool
    esign_required: bool
    has_form: bool


class ServiceDetail(ServiceSummary):
    agency_name: Text
    category_name: Text
    who_may_apply: Text
    result: Text
    legal_basis: Text
    required_documents: list[Text]
    published_at: str | None
    form: dict[str, Any] | None


class NamedItem(Schema):
    code: str
    name: Text
    published_services: int


class Page(Schema):
    count: int = Field(description="Number of items matching the query, on all pages.")
    page: int
    page_size: int
    pages: int
    next: str | None
    previous: str | None


class AgencyPage(Page):
    items: list[AgencyOut]


class ServicePage(Page):
    items: list[ServiceSummary]


class NamedList(Schema):
    count: int
    items: list[NamedItem]


class MetricsRow(Schema):
    agency: str | None
    name: Text | None
    services: int
    fully_online: int
    proactive: int
    esign_required: int
    share_fully_online: float
    share_proactive: float
    share_esign_required: float


class MetricsOut(Schema):
    overall: MetricsRow
    agencies: list[MetricsRow]


class PageQuery(Schema):
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(20, ge=1, le=100)


class ServiceFilters(PageQuery):
    agency: str | None = Field(None, max_length=40, pattern=CODE_PATTERN)
    category: str | None = Field(None, max_length=40, pattern=CODE_PATTERN)
    life_event: str | None = Field(None, max_length=40, pattern=CODE_PATTERN)
    q: str | None = Field(None, max_length=200, description="Words in Kazakh, Russian or English.")


CACHE_SECONDS = 300


def cached_json(
    request: HttpRequest, schema: type[Schema], compute: Callable[[], dict[str, Any]]
) -> HttpResponse:
    """Serve a read-only catalog answer from the cache, keyed by the catalog's generation.

    The catalog changes only when a version is published or data is imported; both bump the
    generation, so a cached answer is never stale. Answers do not depend on the language.
    """
    key = f"catalog-api:{selectors.catalog_generation()}:{request.get_full_path()}"
    body: bytes | None = cache.get(key)
    if body is None:
        data = schema.model_validate(compute()).model_dump(by_alias=True)
        # UTF-8 rather than \u escapes: Kazakh and Russian text is a third of the size.
        body = json.dumps(
            data, cls=NinjaJSONEncoder, ensure_ascii=False, separators=(",", ":")
        ).encode()
        cache.set(key, body, CACHE_SECONDS)
    return HttpResponse(body, content_type="application/json; charset=utf-8")


def _paginate(request: HttpRequest, items: QuerySet[Any], query: PageQuery) -> dict[str, Any]:
    count = items.count()
    pages = max(1, math.ceil(count / query.page_size))
    start = (query.page - 1) * query.page_size

    def link(page: int) -> str:
        params = request.GET.copy()
        params["page"] = str(page)
        return f"{request.path}?{params.urlencode()}"

    return {
        "count": count,
        "page": query.page,
        "page_size": query.page_size,
        "pages": pages,
        "next": link(query.page + 1) if query.page < pages else None,
        "previous": link(query.page - 1) if 1 < query.page <= pages else None,
        "items": list(items[start : start + query.page_size]),
    }


def _agency_out(agency: Agency) -> dict[str, Any]:
    return {
        "code": agency.code,
        "kind": agency.kind,
        "name": _text(agency.name),
        "short_name": _text(agency.short_name),
        "description": _text(agency.description),
        "region": agency.region,
        "website": agency.website,
        "email": agency.email,
        "phone": agency.phone,
        "published_services": getattr(agency, "published_services", 0),
    }


def _summary(version: ServiceVersion) -> dict[str, Any]:
    return {
        "code": version.service.code,
        "version": version.number,
        "agency": version.service.agency.code,
        "category": version.category.code,
        "life_events": sorted(e.code for e in version.life_events.all()),
        "name": _text(version.name),
        "description": _text(version.description),
        "fee_kzt": version.fee_kzt,
        "deadline_days": version.deadline_days,
        "fully_online": version.fully_online,
        "proactive": version.proactive,
        "esign_required": version.esign_required,
        "has_form": getattr(version, "has_form", None) is True
        or (not hasattr(version, "has_form") and version.form is not None),
    }


@router.get("/agencies", response=AgencyPage, summary="List agencies")
def list_agencies(request: HttpRequest, query: Query[PageQuery]) -> HttpResponse:
    def compute() -> dict[str, Any]:
        page = _paginate(request, selectors.agencies_with_counts(), query)
        page["items"] = [_agency_out(a) for a in page["items"]]
        return page

    return cached_json(request, AgencyPage, compute)


@router.get("/agencies/{code}", response=AgencyOut, summary="One agency")
def get_agency(request: HttpRequest, code: str) -> dict[str, Any]:
    return _agency_out(selectors.agency_get(code))


@router.get("/services", response=ServicePage, summary="List published services")
def list_services(request: HttpRequest, filters: Query[ServiceFilters]) -> HttpResponse:
    def compute() -> dict[str, Any]:
        versions = selectors.published_versions(
            agency=filters.agency,
            category=filters.category,
            life_event=filters.life_event,
            q=filters.q,
        )
        page = _paginate(request, versions, filters)
        page["items"] = [_summary(v) for v in page["items"]]
        return page

    return cached_json(request, ServicePage, compute)


@router.get("/services/{code}", response=ServiceDetail, summary="A service passport")
def get_service(request: HttpRequest, code: str) -> HttpResponse:
    version = selectors.service_passport(code)  # raises NotFound before anything is cached
    return cached_json(request, ServiceDetail, lambda: _detail(version))


def _detail(version: ServiceVersion) -> dict[str, Any]:
    return {
        **_summary(version),
        "agency_name": _text(version.service.agency.name),
        "category_name": _text(version.category.name),
        "who_may_apply": _text(version.who_may_apply),
        "result": _text(version.result),
        "legal_basis": _text(version.legal_basis),
        "required_documents": version.required_documents,
        "published_at": version.published_at.isoformat() if version.published_at else None,
        "form": version.form,
    }


@router.get("/categories", response=NamedList, summary="Service categories")
def list_categories(request: HttpRequest) -> dict[str, Any]:
    items = [
        {"code": c.code, "name": _text(c.name), "published_services": n}
        for c, n in selectors.categories_list()
    ]
    return {"count": len(items), "items": items}


@router.get("/life-events", response=NamedList, summary="Life events")
def list_life_events(request: HttpRequest) -> dict[str, Any]:
    items = [
        {"code": e.code, "name": _text(e.name), "published_services": n}
        for e, n in selectors.life_events_with_counts()
    ]
    return {"count": len(items), "items": items}


def _metrics_row(m: selectors.AgencyMetrics) -> dict[str, Any]:
    name = m.name
    return {
        "agency": m.code or None,
        "name": _text(name) if isinstance(name, TranslatedText) else None,
        "services": m.services,
        "fully_online": m.fully_online,
        "proactive": m.proactive,
        "esign_required": m.esign_required,
        "share_fully_online": m.share_fully_online,
        "share_proactive": m.share_proactive,
        "share_esign_required": m.share_esign_required,
    }


@router.get("/catalog/metrics", response=MetricsOut, summary="Catalog metrics")
def metrics(request: HttpRequest) -> HttpResponse:
    def compute() -> dict[str, Any]:
        data = selectors.catalog_metrics()
        return {
            "overall": _metrics_row(data.overall),
            "agencies": [_metrics_row(m) for m in data.agencies],
        }

    return cached_json(request, MetricsOut, compute)
