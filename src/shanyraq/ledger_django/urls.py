from django.urls import path, re_path

from . import views

app_name = "ledger"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("<slug:log>/checkpoint", views.checkpoint, name="checkpoint"),
    re_path(
        r"^(?P<log>[a-z0-9-]+)/tile/(?P<path>(?:entries|[0-9]{1,2})/[x0-9/]+(?:\.p/[0-9]{1,3})?)$",
        views.tile,
        name="tile",
    ),
]
