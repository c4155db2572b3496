from django.urls import path

from . import esign, my_data, views
from .applications import (
    application_answer,
    application_attachment,
    application_attachment_remove,
    application_detail,
    application_respond,
    application_review,
    application_start,
    application_step,
    application_step_keep,
    application_withdraw,
    my_applications,
)
from .documents import document_download, documents_mine, verify
from .inbox import inbox, message
from .offers import consents_mine, offer_answer, offer_detail, offers_mine

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("services/", views.service_list, name="service_list"),
    path("services/<slug:code>/", views.service_detail, name="service_detail"),
    path("services/<slug:code>/apply/", application_start, name="application_start"),
    path("search/", views.search, name="search"),
    path("agencies/", views.agency_list, name="agency_list"),
    path("agencies/<slug:code>/", views.agency_detail, name="agency_detail"),
    path("life-events/", views.life_event_list, name="life_event_list"),
    path("metrics/", views.metrics, name="metrics"),
    path("login/", views.citizen_login, name="login"),
    path("staff/login/", views.staff_login, name="staff_login"),
    path("logout/", views.logout_view, name="logout"),
    path("account/", views.account, name="account"),
    path("account/data-usage/", my_data.data_usage, name="data_usage"),
    path("account/signature/", esign.signature, name="signature"),
    path("account/applications/", my_applications, name="applications"),
    path("account/applications/<slug:number>/", application_detail, name="application"),
    path(
        "account/applications/<slug:number>/step/<int:index>/",
        application_step,
        name="application_step",
    ),
    path(
        "account/applications/<slug:number>/step/<int:index>/keep/",
        application_step_keep,
        name="application_step_keep",
    ),
    path(
        "account/applications/<slug:number>/review/", application_review, name="application_review"
    ),
    path(
        "account/applications/<slug:number>/answer/", application_answer, name="application_answer"
    ),
    path(
        "account/applications/<slug:number>/withdraw/",
        application_withdraw,
        name="application_withdraw",
    ),
    path(
        "account/applications/<slug:number>/respond/",
        application_respond,
        name="application_respond",
    ),
    path(
        "account/applications/<slug:number>/files/<uuid:file_id>/",
        application_attachment,
        name="application_attachment",
    ),
    path(
        "account/applications/<slug:number>/files/<uuid:file_id>/remove/",
        application_attachment_remove,
        name="application_attachment_remove",
    ),
    path("account/documents/", documents_mine, name="documents"),
    path(
        "account/documents/<str:number>/<str:language>.pdf",
        document_download,
        name="document_download",
    ),
    path("account/offers/", offers_mine, name="offers"),
    path("account/offers/<uuid:offer_id>/", offer_detail, name="offer"),
    path("account/offers/<uuid:offer_id>/answer/", offer_answer, name="offer_answer"),
    path("account/consents/", consents_mine, name="consents"),
    path("verify/", verify, name="verify"),
    path("account/messages/", inbox, name="inbox"),
    path("account/messages/<int:notification_id>/", message, name="inbox_message"),
    path("account/records/", my_data.my_records, name="my_records"),
    # Keys may contain "/" (a flat's cadastral number): the proof route comes first.
    path(
        "account/records/<slug:register>/<path:key>/versions/<int:number>/proof/",
        my_data.proof_download,
        name="proof_download",
    ),
    path(
        "account/records/<slug:register>/<path:key>/", my_data.record_extract, name="record_extract"
    ),
    path("accessibility/", views.accessibility, name="accessibility"),
    path("language/<str:code>/", views.set_language, name="set_language"),
    path("healthz", views.healthz, name="healthz"),
]
