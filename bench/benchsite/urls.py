"""The project's URLs plus the benchmarks' baselines: ``/bench/constant`` (the catalog pages
are compared to it) and ``/bench/insert`` (a minimal endpoint that stores one row, the
baseline of application submissions)."""

from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from shanyraq.config import urls as project_urls

handler400 = project_urls.handler400
handler403 = project_urls.handler403
handler404 = project_urls.handler404
handler500 = project_urls.handler500


def constant(request: HttpRequest) -> HttpResponse:
    """The least a Django view can do: return the same few bytes."""
    return HttpResponse(b"constant\n", content_type="text/plain; charset=utf-8")


@csrf_exempt
@require_POST
def insert(request: HttpRequest) -> JsonResponse:
    """Store the request body as one row (``bench_row``, made by bench/casework.py)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_row (payload) VALUES (%s) RETURNING id",
            [request.body.decode("utf-8", "replace")],
        )
        (row_id,) = cursor.fetchone()
    return JsonResponse({"id": row_id}, status=201)


urlpatterns = [
    path("bench/constant", constant),
    path("bench/insert", insert),
    *project_urls.urlpatterns,
]
