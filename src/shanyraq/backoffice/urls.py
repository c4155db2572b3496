from django.urls import path

from . import views

app_name = "backoffice"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("services/", views.service_list, name="service_list"),
    path("services/new/", views.service_new, name="service_new"),
    path("services/<slug:code>/", views.service_detail, name="service_detail"),
    path("services/<slug:code>/draft/", views.version_draft, name="version_draft"),
    path("services/<slug:code>/versions/<int:number>/", views.version_edit, name="version_edit"),
    path(
        "services/<slug:code>/versions/<int:number>/publish/",
        views.version_publish,
        name="version_publish",
    ),
    path("audit/", views.audit, name="audit"),
    path("data-access/", views.access_audit, name="access_audit"),
    path("data-access/export/", views.access_audit_export, name="access_audit_export"),
]
