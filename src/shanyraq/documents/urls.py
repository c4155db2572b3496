from __future__ import annotations

from django.urls import path

from . import views

app_name = "pki"

urlpatterns = [
    path("ca/<str:serial>.crt", views.ca_certificate, name="ca_certificate"),
    path("crl/<str:serial>.crl", views.crl, name="crl"),
    path("tsa", views.timestamp, name="tsa"),
]
