"""The project's URLs plus ``/bench/constant``, the baseline the catalog pages are compared to."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from shanyraq.config import urls as project_urls

handler400 = project_urls.handler400
handler403 = project_urls.handler403
handler404 = project_urls.handler404
handler500 = project_urls.handler500


def constant(request: HttpRequest) -> HttpResponse:
    """The least a Django view can do: return the same few bytes."""
    return HttpResponse(b"constant\n", content_type="text/plain; charset=utf-8")


urlpatterns = [path("bench/constant", constant), *project_urls.urlpatterns]
