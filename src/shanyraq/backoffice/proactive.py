"""The measures of an agency's proactive services, for its heads of unit and administrators."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from shanyraq.accounts import selectors as account_selectors
from shanyraq.accounts.models import Role
from shanyraq.proactive import selectors

from .views import staff_required


@staff_required
@require_GET
def proactive_measures(request: HttpRequest) -> HttpResponse:
    agency_ids = account_selectors.agency_ids_for(request.user, {Role.HEAD, Role.ADMIN})
    if not agency_ids:
        raise PermissionDenied
    return render(
        request,
        "backoffice/proactive.html",
        {
            "measures": selectors.measures(agency_ids=agency_ids),
            "delivery": selectors.delivery_share(agency_ids=agency_ids),
        },
    )
