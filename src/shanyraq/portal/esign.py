"""A citizen's electronic signature in the portal: the key kept by their browser.

The signature page shows the person's current personal certificate and a button that makes
a key pair in this browser (``static/esign.js``, WebCrypto; the private key cannot be taken
out of the browser). The browser signs the one-time challenge this page keeps in the session,
and ``documents.esign.personal_key_enrol`` certifies the key for the person's IIN.

The review page of an application uses ``signing_form``: what the browser signs when the
applicant submits (the canonical JSON of the service and the answers), and which key and
certificate sign it; ``posted_signature`` reads the signature back from the submitted form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from shanyraq.accounts.models import User
from shanyraq.core.errors import ValidationError
from shanyraq.documents import esign, pki
from shanyraq.documents.models import Certificate

SESSION_CHALLENGE = "esign_challenge"
MAX_PUBLIC_KEY_PEM = 1000  # a P-256 public key in PEM is under 200 characters
MAX_SIGNATURE = 400  # base64 of an ECDSA P-256 signature is under 100 characters
MAX_SERIAL = 80

# Shown when the browser sent no key: it cannot run the page's script or has no WebCrypto.
CANNOT_SIGN = gettext_lazy(
    "Your browser cannot make electronic signatures. Use an up-to-date browser with "
    "JavaScript turned on."
)


@dataclass(frozen=True)
class SigningForm:
    """What a form asks the browser to sign, and with which key."""

    content: str  # the exact text the browser signs (canonical JSON)
    key: str  # the fingerprint of the certificate's public key: how the browser finds its key
    certificate: str  # the certificate's serial


def _fingerprint(certificate: Certificate) -> str:
    public_key = pki.certificate_x509(certificate).public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey):  # personal keys are P-256
        return ""
    return esign.key_fingerprint(public_key)


def signing_form(person: User, service_code: str, answers: Mapping[str, Any]) -> SigningForm | None:
    """What the person's browser signs to submit ``answers``; None without a certificate."""
    certificate = esign.personal_certificate_of(person)
    if certificate is None:
        return None
    return SigningForm(
        content=esign.signing_content(service_code, answers).decode(),
        key=_fingerprint(certificate),
        certificate=certificate.serial,
    )


def posted_signature(data: Mapping[str, str]) -> esign.Signature | None:
    """The signature a form sent (``signature_certificate`` and ``signature_value``); None
    unless both were sent."""
    certificate = str(data.get("signature_certificate") or "").strip()[:MAX_SERIAL]
    value = str(data.get("signature_value") or "").strip()[:MAX_SIGNATURE]
    if not certificate or not value:
        return None
    return esign.Signature(certificate=certificate, value=value)


def _next(request: HttpRequest) -> str:
    """Where to go after enrolling: back to the page that sent the person here, or here."""
    target = str(request.POST.get("next") or request.GET.get("next") or "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def _new_challenge(request: HttpRequest) -> str:
    challenge = esign.enrolment_challenge()
    request.session[SESSION_CHALLENGE] = challenge
    return challenge


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def signature(request: HttpRequest) -> HttpResponse:
    """The person's signing certificate, and the button that makes a key in this browser."""
    person = request.user
    assert isinstance(person, User)  # behind login_required
    if not person.iin:
        message = _("These pages are for people who sign in with their IIN.")
        return render(request, "portal/error.html", {"status": 403, "message": message}, status=403)
    error = ""
    if request.method == "POST":
        # The challenge serves once: a failed attempt starts again with a new one.
        challenge = str(request.session.pop(SESSION_CHALLENGE, ""))
        public_key_pem = request.POST.get("public_key_pem", "")[:MAX_PUBLIC_KEY_PEM]
        if not public_key_pem.strip():
            error = str(CANNOT_SIGN)
        else:
            try:
                esign.personal_key_enrol(
                    holder=person,
                    public_key_pem=public_key_pem,
                    challenge=challenge,
                    proof=request.POST.get("proof", "")[:MAX_SIGNATURE],
                )
            except ValidationError as exc:
                error = str(exc.message)
            else:
                messages.success(
                    request,
                    _("Your signing key was created. You can now sign your applications."),
                )
                return redirect(_next(request) or reverse("portal:signature"))
    certificate = esign.personal_certificate_of(person)
    return render(
        request,
        "portal/signature.html",
        {
            "certificate": certificate,
            "key": _fingerprint(certificate) if certificate is not None else "",
            "challenge": _new_challenge(request),
            "next": _next(request),
            "error": error,
        },
        status=400 if error else 200,
    )
