from django.urls import path

from . import views
from .casework import (
    case_act,
    case_assign,
    case_attachment,
    case_comment,
    case_detail,
    case_document_annul,
    case_queue,
    case_take,
    case_workload,
)
from .proactive import proactive_measures

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
    path("cases/", case_queue, name="case_queue"),
    path("cases/workload/", case_workload, name="case_workload"),
    path("proactive/", proactive_measures, name="proactive"),
    path("cases/<slug:number>/", case_detail, name="case_detail"),
    path("cases/<slug:number>/take/", case_take, name="case_take"),
    path("cases/<slug:number>/assign/", case_assign, name="case_assign"),
    path("cases/<slug:number>/comment/", case_comment, name="case_comment"),
    path("cases/<slug:number>/act/", case_act, name="case_act"),
    path(
        "cases/<slug:number>/documents/<slug:document>/annul/",
        case_document_annul,
        name="case_document_annul",
    ),
    path("cases/<slug:number>/files/<uuid:file_id>/", case_attachment, name="case_attachment"),
]
