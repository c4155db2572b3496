"""The log over HTTP exactly as tlog-tiles lays it out, and the public page about it."""

from __future__ import annotations

import gzip

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from shanyraq.core.errors import NotFound

from . import config, selectors

IMMUTABLE = "public, max-age=31536000, immutable"
CHECKPOINT_CACHE = "public, max-age=2, must-revalidate"


@require_GET
def checkpoint(request: HttpRequest, log: str) -> HttpResponse:
    try:
        data = selectors.checkpoint_bytes(log)
    except NotFound:
        raise Http404 from None
    response = HttpResponse(data, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = CHECKPOINT_CACHE
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
def tile(request: HttpRequest, log: str, path: str) -> HttpResponse:
    try:
        data = selectors.tile_bytes(log, "tile/" + path)
    except NotFound:
        raise Http404 from None
    response = HttpResponse(content_type="application/octet-stream")
    if path.startswith("entries/") and "gzip" in request.headers.get("Accept-Encoding", ""):
        data = gzip.compress(data, compresslevel=6, mtime=0)
        response["Content-Encoding"] = "gzip"
    response.content = data
    response["Cache-Control"] = IMMUTABLE
    response["Access-Control-Allow-Origin"] = "*"
    response["Vary"] = "Accept-Encoding"
    return response


@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    logs = [selectors.log_overview(name) for name in config.logs()]
    return render(request, "ledger/overview.html", {"logs": logs})
