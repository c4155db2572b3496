"""Documents in the portal: the holder's list and downloads, and public verification."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from shanyraq.accounts.models import User
from shanyraq.core.errors import NotFound, ValidationError
from shanyraq.core.text import LANGUAGES
from shanyraq.documents import selectors


def _person(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # behind login_required
    return user


@never_cache
@login_required
@require_GET
def documents_mine(request: HttpRequest) -> HttpResponse:
    documents = list(selectors.documents_of(_person(request))[:200])
    return render(request, "portal/documents.html", {"documents": documents})


@never_cache
@login_required
@require_GET
def document_download(request: HttpRequest, number: str, language: str) -> HttpResponse:
    """A signed PDF, for its holder or an official of the issuing agency (404 otherwise)."""
    try:
        if language not in LANGUAGES:
            raise NotFound(code="document_not_found", message=_("There is no such document."))
        file = selectors.document_file_for(_person(request), number, language)
    except NotFound as error:
        return render(
            request, "portal/error.html", {"status": 404, "message": error.message}, status=404
        )
    response = HttpResponse(selectors.file_bytes(file), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{number}-{language}.pdf"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """Anyone checks a document: by its number and code (as the QR code links), or by
    uploading the PDF. Nothing is written; nothing personal is shown."""
    context: dict[str, Any] = {
        "number": request.GET.get("number", "")[:40],
        "code": request.GET.get("code", "")[:20],
    }
    status = 200
    try:
        if request.method == "POST":
            upload = request.FILES.get("file")
            if upload is None:
                raise ValidationError(
                    code="file_required", message=_("Choose the PDF file to check."), field="file"
                )
            context["result"] = selectors.verify_pdf(upload.read(selectors.MAX_UPLOAD + 1))
            context["by_file"] = True
        elif context["number"] or context["code"]:
            if not context["number"] or not context["code"]:
                raise ValidationError(
                    code="number_and_code",
                    message=_("Enter both the document number and its code."),
                    field="number" if not context["number"] else "code",
                )
            context["result"] = selectors.verify_number(context["number"], context["code"])
    except ValidationError as error:
        context["error"] = {"field": error.field or "file", "message": error.message}
        status = 400
    except NotFound:
        context["error"] = {
            "field": "number",
            "message": _("No document has this number and code. Check what you typed."),
        }
        status = 404
    return render(request, "portal/verify.html", context, status=status)
