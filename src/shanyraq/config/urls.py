"""URL map: the portal, the back office, the API and the (read-only) admin."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from shanyraq.api.api import api
from shanyraq.portal import views as portal_views

admin.site.site_header = "Shanyraq"
admin.site.login = portal_views.admin_login_redirect  # type: ignore[method-assign]

urlpatterns = [
    path("api/v1/", api.urls),
    path("backoffice/", include("shanyraq.backoffice.urls")),
    path("admin/", admin.site.urls),
    path("ledger/", include("shanyraq.ledger_django.urls")),
    path("pki/", include("shanyraq.documents.urls")),
    path("", include("shanyraq.portal.urls")),
]

handler400 = "shanyraq.portal.views.bad_request"
handler403 = "shanyraq.portal.views.permission_denied"
handler404 = "shanyraq.portal.views.page_not_found"
handler500 = "shanyraq.portal.views.server_error"
