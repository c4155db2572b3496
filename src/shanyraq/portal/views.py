"""Citizen portal pages: the service catalog, sign-in and the personal account."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from shanyraq.accounts import selectors as account_selectors
from shanyraq.accounts import services as account_services
from shanyraq.api.problems import problem
from shanyraq.catalog import selectors as catalog
from shanyraq.core.errors import DomainError, NotFound
from shanyraq.proactive import selectors as proactive_selectors

from .forms import CatalogFilterForm, CitizenLoginForm, StaffLoginForm

PAGE_SIZE = 20


CACHE_SECONDS = 300


def _generation(request: HttpRequest) -> int:
    """The catalog generation, read once per request."""
    generation: int | None = getattr(request, "_catalog_generation", None)
    if generation is None:
        generation = catalog.catalog_generation()
        request._catalog_generation = generation  # type: ignore[attr-defined]
    return generation


def _cached(request: HttpRequest, key: str, compute: Callable[[], Any]) -> Any:
    """A catalog value for the current language, cached until the catalog changes.

    Keys carry the catalog generation, which every publication and import bumps.
    """
    full_key = f"portal:{_generation(request)}:{get_language()}:{key}"
    value = cache.get(full_key)
    if value is None:
        value = compute()
        cache.set(full_key, value, CACHE_SECONDS)
    return value


def anonymous_page_cache(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Serve catalog pages to visitors without a session from a cache.

    A visitor who has not signed in sees the same page as every other one in their language,
    so the response is kept until the catalog changes. Signed-in people (and anyone with a
    pending message) always get a freshly rendered page.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method != "GET" or (
            settings.SESSION_COOKIE_NAME in request.COOKIES or "messages" in request.COOKIES
        ):
            return view(request, *args, **kwargs)
        path = hashlib.sha256(request.get_full_path().encode()).hexdigest()
        key = f"page:{_generation(request)}:{get_language()}:{path}"
        cached = cache.get(key)
        if cached is not None:
            status, content_type, body = cached
            return HttpResponse(body, status=status, content_type=content_type)
        response = view(request, *args, **kwargs)
        if response.status_code in (200, 404) and not response.cookies:
            entry = (response.status_code, response["Content-Type"], response.content)
            cache.set(key, entry, CACHE_SECONDS)
        return response

    return wrapper


def _filter_choices() -> dict[str, list[tuple[str, str]]]:
    return {
        "categories": [(c.code, str(c.name)) for c in catalog.categories()],
        "life_events": [(e.code, str(e.name)) for e in catalog.life_events()],
        "agencies": [(a.code, str(a.short_name)) for a in catalog.agencies()],
    }


def _filter_form(request: HttpRequest) -> CatalogFilterForm:
    return CatalogFilterForm(request.GET or None, **_cached(request, "filters", _filter_choices))


def _error_page(request: HttpRequest, status: int, message: str) -> HttpResponse:
    return render(
        request, "portal/error.html", {"status": status, "message": message}, status=status
    )


@require_GET
@anonymous_page_cache
def home(request: HttpRequest) -> HttpResponse:
    def context() -> dict[str, Any]:
        return {
            "life_events": catalog.life_events_with_counts(),
            "categories": catalog.categories_list(),
            "metrics": catalog.catalog_metrics().overall,
        }

    return render(request, "portal/home.html", _cached(request, "home", context))


def _service_results(request: HttpRequest, name: str) -> HttpResponse:
    """The catalog list and the search page: filter form and one page of results.

    The main part of the page depends only on the query, the language and the catalog, so it
    is rendered once and cached until the catalog changes.
    """
    form = _filter_form(request)
    main_template = f"portal/_{name}_main.html"
    if request.GET and not form.is_valid():
        main = render_to_string(main_template, {"form": form, "page": None}, request)
        return render(request, f"portal/{name}.html", {"main": main}, status=400)
    data = form.cleaned_data if request.GET else {}

    def render_main() -> str:
        versions = catalog.published_versions(
            agency=data.get("agency") or None,
            category=data.get("category") or None,
            life_event=data.get("life_event") or None,
            q=data.get("q") or None,
            with_life_events=False,
        )
        page = Paginator(versions, PAGE_SIZE).get_page(data.get("page") or 1)
        query = request.GET.copy()
        query.pop("page", None)
        context = {"form": form, "page": page, "query": query.urlencode(), "q": data.get("q")}
        return render_to_string(main_template, context)

    main = _cached(request, f"{name}:{request.get_full_path()}", render_main)
    return render(request, f"portal/{name}.html", {"main": main})


@require_GET
@anonymous_page_cache
def service_list(request: HttpRequest) -> HttpResponse:
    return _service_results(request, "service_list")


@require_GET
@anonymous_page_cache
def search(request: HttpRequest) -> HttpResponse:
    return _service_results(request, "search")


@require_GET
@anonymous_page_cache
def service_detail(request: HttpRequest, code: str) -> HttpResponse:
    try:
        version = catalog.service_passport(code)
    except NotFound:
        return _error_page(request, 404, _("There is no such service in the catalog."))
    return render(request, "portal/service_detail.html", {"version": version})


@require_GET
@anonymous_page_cache
def agency_list(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/agency_list.html", {"agencies": catalog.agencies_with_counts()})


@require_GET
@anonymous_page_cache
def agency_detail(request: HttpRequest, code: str) -> HttpResponse:
    try:
        agency = catalog.agency_get(code)
    except NotFound:
        return _error_page(request, 404, _("There is no such agency."))
    versions = catalog.published_versions(agency=agency.code)
    return render(request, "portal/agency_detail.html", {"agency": agency, "versions": versions})


@require_GET
@anonymous_page_cache
def life_event_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "portal/life_event_list.html", {"life_events": catalog.life_events_with_counts()}
    )


@require_GET
@anonymous_page_cache
def metrics(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "portal/metrics.html",
        {
            "metrics": catalog.catalog_metrics(),
            "proactive": proactive_selectors.measures(),
            "delivery": proactive_selectors.delivery_share(),
        },
    )


@require_GET
def accessibility(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/accessibility.html")


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


def _client_address(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _sign_in(
    request: HttpRequest, form: Any, identifier: str, credentials: dict[str, str], fallback: str
) -> HttpResponse | None:
    """Shared sign-in steps: lockout check, authentication, bookkeeping. None means failed."""
    address = _client_address(request)
    try:
        account_services.login_attempt_check(identifier=identifier, address=address)
    except DomainError as exc:
        form.add_error(None, str(exc.message))
        return None
    user = authenticate(request, **credentials)
    account_services.login_attempt_record(
        identifier=identifier, address=address, succeeded=user is not None
    )
    if user is None:
        return None
    login(request, user)
    return HttpResponseRedirect(_safe_next(request, fallback))


@require_GET
def set_language(request: HttpRequest, code: str) -> HttpResponse:
    """Switch the interface language (a link in every page's header) and go back.

    A plain link rather than a form: choosing a language changes only a preference cookie,
    works without JavaScript, and keeps catalog pages free of per-visitor tokens.
    """
    target = _safe_next(request, reverse("portal:home"))
    response = HttpResponseRedirect(target)
    if code not in dict(settings.LANGUAGES):
        return response
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,  # type: ignore[arg-type]
    )
    user: Any = request.user
    if user.is_authenticated and user.preferred_language != code:
        account_services.preferred_language_set(user=user, language=code)
    return response


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def citizen_login(request: HttpRequest) -> HttpResponse:
    form = CitizenLoginForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            iin = form.cleaned_data["iin"]
            response = _sign_in(
                request,
                form,
                identifier=f"iin:{iin}",
                credentials={"iin": iin, "password": form.cleaned_data["password"]},
                fallback=reverse("portal:account"),
            )
            if response is not None:
                return response
            if not form.non_field_errors():
                form.add_error(None, _("The IIN or the password is not correct."))
            status = 401
    return render(
        request, "portal/login.html", {"form": form, "next": _safe_next(request, "")}, status=status
    )


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def staff_login(request: HttpRequest) -> HttpResponse:
    form = StaffLoginForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            username = form.cleaned_data["username"]
            response = _sign_in(
                request,
                form,
                identifier=f"user:{username}",
                credentials={
                    "username": username,
                    "password": form.cleaned_data["password"],
                    "totp": form.cleaned_data["totp"],
                },
                fallback=reverse("backoffice:dashboard"),
            )
            if response is not None:
                return response
            if not form.non_field_errors():
                form.add_error(
                    None, _("The username, the password or the security code is not correct.")
                )
            status = 401
    return render(
        request,
        "portal/staff_login.html",
        {"form": form, "next": _safe_next(request, "")},
        status=status,
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("portal:home")


@never_cache
@login_required
@require_GET
def account(request: HttpRequest) -> HttpResponse:
    if account_selectors.is_staff_member(request.user):
        return redirect("backoffice:dashboard")
    return render(request, "portal/account.html")


def admin_login_redirect(request: HttpRequest, extra_context: Any = None) -> HttpResponse:
    """The admin site has no sign-in of its own: staff sign in with their second factor."""
    target = _safe_next(request, reverse("admin:index"))
    if request.user.is_authenticated and request.user.is_staff:
        return redirect(target)
    return redirect(f"{reverse('portal:staff_login')}?{urlencode({'next': target})}")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_page(request, 400, _("The request could not be understood."))


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error_page(request, 403, _("You do not have permission to see this page."))


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return problem(
            request,
            status=404,
            title=_("Not found"),
            detail=_("There is no such API endpoint."),
            code="not_found",
        )
    return _error_page(request, 404, _("This page does not exist."))


def server_error(request: HttpRequest) -> HttpResponse:
    return _error_page(request, 500, _("Something went wrong on our side. Try again later."))
