"""The PKI's public addresses: CA certificates, revocation lists, the time-stamping authority.

Relying parties fetch these without signing in: the addresses are printed in every
certificate the platform issues (CRL distribution point, authority information access).
"""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from . import pki, tsa
from .models import Certificate, CertificateKind

MAX_TIMESTAMP_REQUEST = 16 * 1024
_AUTHORITIES = (CertificateKind.ROOT, CertificateKind.ISSUING)


def _authority(serial: str) -> Certificate:
    found = Certificate.objects.filter(serial=serial.lower(), kind__in=_AUTHORITIES).first()
    if found is None:
        raise Http404
    return found


@require_GET
def ca_certificate(request: HttpRequest, serial: str) -> HttpResponse:
    authority = _authority(serial)
    der = pki.certificate_x509(authority).public_bytes(serialization.Encoding.DER)
    response = HttpResponse(der, content_type="application/pkix-cert")
    response["Cache-Control"] = "public, max-age=86400"
    return response


@require_GET
def crl(request: HttpRequest, serial: str) -> HttpResponse:
    response = HttpResponse(pki.crl_der(_authority(serial)), content_type="application/pkix-crl")
    response["Cache-Control"] = "public, max-age=300"
    return response


@csrf_exempt  # a protocol endpoint for programs: no session, no cookies, nothing changes
@require_POST
def timestamp(request: HttpRequest) -> HttpResponse:
    """RFC 3161 over HTTP: a TimeStampReq in, a TimeStampResp out."""
    if request.content_type != "application/timestamp-query":
        return HttpResponse(status=415)
    body = request.read(MAX_TIMESTAMP_REQUEST + 1)
    if len(body) > MAX_TIMESTAMP_REQUEST:
        return HttpResponse(status=413)
    return HttpResponse(tsa.tsa_respond(body), content_type="application/timestamp-reply")
