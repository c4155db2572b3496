"""The platform's HTTP API under /api/v1: each app contributes a router."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from shanyraq.access_log.api import router as access_log_router
from shanyraq.accounts import selectors as account_selectors
from shanyraq.casework.api import router as casework_router
from shanyraq.catalog.api import router as catalog_router
from shanyraq.core.errors import DomainError
from shanyraq.documents.api import public_router as verification_router
from shanyraq.documents.api import router as documents_router
from shanyraq.ledger_django.api import router as ledger_router
from shanyraq.notifications.api import router as notifications_router
from shanyraq.proactive.api import gateway_router as sms_gateway_router
from shanyraq.proactive.api import router as proactive_router
from shanyraq.registries.api import router as registries_router

from .auth import session_or_token
from .problems import problem, status_title

api = NinjaAPI(
    title="Shanyraq API",
    version="1",
    description=(
        "Public catalog of state services and, for authenticated people and agency systems, "
        "the platform's operations. Errors are RFC 9457 problem details; lists return the "
        "total count with the items. Programs authenticate with `Authorization: Bearer <token>`."
    ),
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs_url="/docs",
)
api.add_router("", catalog_router)
api.add_router("/ledger", ledger_router)
api.add_router("/registries", registries_router, auth=session_or_token)
api.add_router("/me", access_log_router, auth=session_or_token)
api.add_router("/me", notifications_router, auth=session_or_token)
api.add_router("", casework_router, auth=session_or_token)
api.add_router("", verification_router)
api.add_router("", documents_router, auth=session_or_token)
api.add_router("/me", proactive_router, auth=session_or_token)
api.add_router("", sms_gateway_router)


class MeOut(Schema):
    username: str
    iin: str | None
    full_name: str
    roles: list[str]
    agencies: list[str]


@api.get("/me", response=MeOut, auth=session_or_token, tags=["accounts"], summary="Who am I")
def me(request: HttpRequest) -> dict[str, Any]:
    user: Any = request.user
    memberships = account_selectors.memberships_of(user)
    roles = sorted({m.role for m in memberships})
    if user.is_auditor:
        roles.append("auditor")
    if user.is_superuser:
        roles.append("platform_admin")
    if user.iin and not roles:
        roles.append("citizen")
    return {
        "username": user.username,
        "iin": user.iin,
        "full_name": user.full_name,
        "roles": roles,
        "agencies": sorted({m.agency.code for m in memberships}),
    }


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    extra: dict[str, Any] = {}
    if exc.field:
        extra["errors"] = [{"field": exc.field, "message": str(exc.message)}]
    if exc.details:
        extra["details"] = exc.details
    return problem(
        request,
        status=exc.http_status,
        title=status_title(exc.http_status),
        detail=str(exc.message),
        code=exc.code,
        **extra,
    )


@api.exception_handler(NinjaValidationError)
def on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = []
    for error in exc.errors:
        location = [str(part) for part in error.get("loc", ())]
        # ("query", "filters", "page") -> "page": name the parameter the caller sent.
        field = location[-1] if location else ""
        errors.append({"field": field, "message": str(error.get("msg", ""))})
    return problem(
        request,
        status=422,
        title=status_title(422),
        detail=_("Some parameters are not valid."),
        code="invalid_parameters",
        errors=errors,
    )


@api.exception_handler(AuthenticationError)
def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = problem(
        request,
        status=401,
        title=status_title(401),
        detail=_("Sign in or send a valid bearer token."),
        code="not_authenticated",
    )
    response["WWW-Authenticate"] = 'Bearer realm="shanyraq"'
    return response


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem(
        request, status=404, title=status_title(404), detail=_("Not found."), code="not_found"
    )


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return problem(request, status=exc.status_code, title=status_title(exc.status_code))
