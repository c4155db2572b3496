"""Electronic signatures in the portal: making a signing key in the browser (the signature
page), signing an application on its review page, and the signature shown on the
application's page and the back office's case page.

The browser's part (WebCrypto) is played here by ``cryptography``: a P-256 key made in the
test signs as WebCrypto does, ``r || s`` in base64.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.db import transaction
from django.test import Client
from django.utils.timezone import localtime

from shanyraq.accounts.models import User
from shanyraq.casework import services
from shanyraq.casework.models import Application, Status
from shanyraq.catalog.models import ServiceVersion
from shanyraq.conftest import client_for
from shanyraq.documents import esign, pki
from shanyraq.documents.models import Certificate, SignedContent
from shanyraq.portal.esign import SESSION_CHALLENGE
from shanyraq.testing import factories
from shanyraq.testing.esign import enrol, public_pem, webcrypto_signature
from shanyraq.testing.factories import text

pytestmark = pytest.mark.django_db

FORM: dict[str, Any] = {
    "schema": {
        "type": "object",
        "properties": {"purpose": {"type": "string", "minLength": 1, "maxLength": 200}},
        "required": ["purpose"],
        "additionalProperties": False,
    },
    "ui": {
        "steps": [{"key": "request", "title": text("The request"), "fields": ["purpose"]}],
        "labels": {"purpose": text("Purpose")},
    },
}

PROCESS: dict[str, Any] = {
    "start": "review",
    "steps": [{"id": "review", "kind": "task", "role": "clerk", "label": text("Review")}],
    "transitions": [
        {"from": "review", "action": "approve", "to": "approved"},
        {"from": "review", "action": "reject", "to": "rejected"},
    ],
}

# Quotes, an ampersand and angle brackets: the text to sign travels in an HTML attribute.
ANSWERS = {"purpose": 'Для работы «ТОО "Алма" & <Co>»'}

NOT_PROVED = "The browser could not prove it holds the key. Start again."
CANNOT_SIGN = (
    "Your browser cannot make electronic signatures. Use an up-to-date browser with "
    "JavaScript turned on."
)
NOT_MATCHING = "The electronic signature does not match what was submitted."
REQUIRED = "This service needs your electronic signature on the application."


# --- the world ------------------------------------------------------------------------------


@pytest.fixture
def platform_pki(settings: Any, tmp_path: Path) -> Any:
    settings.PKI_DIR = tmp_path / "pki"
    return pki.pki_init()


@pytest.fixture
def service(agency: Any, platform_pki: Any) -> ServiceVersion:
    return factories.published_service(
        agency=agency, code="certificate", form=FORM, process=PROCESS
    )


@pytest.fixture
def strict(agency: Any, platform_pki: Any) -> ServiceVersion:
    """A service that needs the applicant's signature."""
    return factories.published_service(
        agency=agency, code="strict", form=FORM, process=PROCESS, esign_required=True
    )


def english(user: User | None) -> Client:
    client = client_for(user)
    client.cookies["shanyraq_language"] = "en"
    return client


def page(response: Any) -> str:
    return " ".join(response.content.decode().split())


def ready_to_submit(applicant: User, code: str = "certificate") -> Application:
    """A draft with every answer given: its next page is the review."""
    with transaction.atomic():
        application = services.application_start(applicant=applicant, service_code=code)
    return services.application_save(
        application=application, applicant=applicant, values=ANSWERS, step=0
    )


def attribute(html_text: str, name: str) -> str:
    found = re.search(rf'{name}="([^"]*)"', html_text)
    assert found is not None, f"no {name} on the page"
    return html.unescape(found.group(1))


def review_url(application: Application) -> str:
    return f"/account/applications/{application.number}/review/"


# --- the signature page: who may come in ------------------------------------------------------


def test_the_signature_page_needs_a_signed_in_person_with_an_iin(
    platform_pki: Any, citizen: User, clerk: User
) -> None:
    anonymous = english(None).get("/account/signature/")
    assert anonymous.status_code == 302
    assert anonymous["Location"] == "/login/?next=/account/signature/"
    assert english(None).post("/account/signature/").status_code == 302

    official = english(clerk).get("/account/signature/")
    assert official.status_code == 403
    assert "These pages are for people who sign in with their IIN." in page(official)
    assert english(clerk).post("/account/signature/", {"public_key_pem": "x"}).status_code == 403

    response = english(citizen).get("/account/signature/")
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]
    html_text = page(response)
    assert "You do not have a signing key yet." in html_text
    assert "Create a signing key in this browser" in html_text
    assert 'src="/static/esign.js"' in html_text
    assert not Certificate.objects.filter(kind="personal").exists()


def test_the_account_page_links_to_the_signature_page(citizen: User) -> None:
    assert 'href="/account/signature/"' in page(english(citizen).get("/account/"))


def test_each_visit_gives_a_new_challenge_kept_in_the_session(
    platform_pki: Any, citizen: User
) -> None:
    client = english(citizen)
    first = attribute(page(client.get("/account/signature/")), "data-esign-challenge")
    assert first.startswith("shanyraq-enrol:")
    assert client.session[SESSION_CHALLENGE] == first
    second = attribute(page(client.get("/account/signature/")), "data-esign-challenge")
    assert second != first
    assert client.session[SESSION_CHALLENGE] == second


# --- enrolling a key ------------------------------------------------------------------------


def test_a_key_that_signs_the_challenge_is_certified(platform_pki: Any, citizen: User) -> None:
    client = english(citizen)
    client.get("/account/signature/")
    challenge = client.session[SESSION_CHALLENGE]
    key = ec.generate_private_key(ec.SECP256R1())
    response = client.post(
        "/account/signature/",
        {
            "public_key_pem": public_pem(key),
            "proof": webcrypto_signature(key, challenge.encode()),
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/account/signature/"
    certificate = Certificate.objects.get(kind="personal")
    assert certificate.holder == citizen
    assert esign.key_fingerprint(
        pki.certificate_x509(certificate).public_key()  # type: ignore[arg-type]
    ) == esign.key_fingerprint(key.public_key())
    assert SESSION_CHALLENGE not in client.session or (
        client.session[SESSION_CHALLENGE] != challenge
    )

    shown = page(client.get("/account/signature/"))
    assert "Your signing key was created. You can now sign your applications." in shown
    assert certificate.serial in shown
    assert f'data-esign-key="{esign.key_fingerprint(key.public_key())}"' in shown
    assert f'<time datetime="{localtime(certificate.not_after).isoformat()}">' in shown


def test_after_enrolling_the_person_goes_back_to_where_they_came_from(
    platform_pki: Any, citizen: User
) -> None:
    client = english(citizen)
    back = "/account/applications/A2026-0000001/review/"
    shown = page(client.get(f"/account/signature/?next={back}"))
    assert f'name="next" value="{back}"' in shown
    challenge = client.session[SESSION_CHALLENGE]
    key = ec.generate_private_key(ec.SECP256R1())
    data = {
        "public_key_pem": public_pem(key),
        "proof": webcrypto_signature(key, challenge.encode()),
        "next": back,
    }
    assert client.post("/account/signature/", data)["Location"] == back

    # Only to this site.
    client.get("/account/signature/")
    challenge = client.session[SESSION_CHALLENGE]
    data.update(proof=webcrypto_signature(key, challenge.encode()), next="https://evil.example/")
    assert client.post("/account/signature/", data)["Location"] == "/account/signature/"


def test_a_key_that_did_not_sign_the_challenge_is_refused(platform_pki: Any, citizen: User) -> None:
    client = english(citizen)
    client.get("/account/signature/")
    challenge = client.session[SESSION_CHALLENGE]
    key, other = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    response = client.post(
        "/account/signature/",
        {
            "public_key_pem": public_pem(key),
            "proof": webcrypto_signature(other, challenge.encode()),
        },
    )
    assert response.status_code == 400
    html_text = page(response)
    assert html_text.count(NOT_PROVED) == 2  # in the error summary and next to the button
    assert f'<li><a href="#enrol-button">{NOT_PROVED}</a></li>' in html_text
    assert 'aria-describedby="enrol-error"' in html_text
    assert "<title>Error: Your electronic signature" in html_text
    assert not Certificate.objects.filter(kind="personal").exists()
    # The challenge served once: the page offers a new one.
    assert client.session[SESSION_CHALLENGE] != challenge
    assert attribute(html_text, "data-esign-challenge") == client.session[SESSION_CHALLENGE]


def test_a_challenge_serves_once(platform_pki: Any, citizen: User) -> None:
    client = english(citizen)
    client.get("/account/signature/")
    challenge = client.session[SESSION_CHALLENGE]
    key = ec.generate_private_key(ec.SECP256R1())
    data = {"public_key_pem": public_pem(key), "proof": webcrypto_signature(key, b"other")}
    assert client.post("/account/signature/", data).status_code == 400
    # The proof of the first challenge, sent again, is refused: that challenge is gone.
    data["proof"] = webcrypto_signature(key, challenge.encode())
    assert client.post("/account/signature/", data).status_code == 400
    assert not Certificate.objects.filter(kind="personal").exists()


def test_a_browser_that_sent_no_key_is_told_it_cannot_sign(
    platform_pki: Any, citizen: User
) -> None:
    client = english(citizen)
    client.get("/account/signature/")
    response = client.post("/account/signature/", {"public_key_pem": "", "proof": ""})
    assert response.status_code == 400
    assert f'<li><a href="#enrol-button">{CANNOT_SIGN}</a></li>' in page(response)
    assert not Certificate.objects.filter(kind="personal").exists()


def test_a_new_key_replaces_the_certificate_shown(platform_pki: Any, citizen: User) -> None:
    _key, first = enrol(citizen)
    _key, second = enrol(citizen)
    shown = page(english(citizen).get("/account/signature/"))
    assert second.serial in shown
    assert first.serial not in shown
    assert "A new key replaces the one you have now." in shown


# --- signing an application -----------------------------------------------------------------


def test_the_review_page_asks_the_browser_to_sign_the_canonical_answers(
    service: ServiceVersion, citizen: User
) -> None:
    key, certificate = enrol(citizen)
    application = ready_to_submit(citizen)
    html_text = page(english(citizen).get(review_url(application)))
    content = esign.signing_content("certificate", ANSWERS)
    assert attribute(html_text, "data-esign-content") == content.decode()
    assert attribute(html_text, "data-esign-key") == esign.key_fingerprint(key.public_key())
    assert attribute(html_text, "data-esign-certificate") == certificate.serial
    assert '<input type="hidden" name="signature_value" value="">' in html_text
    assert '<input type="hidden" name="signature_certificate" value="">' in html_text
    assert 'src="/static/esign.js"' in html_text


def test_without_a_certificate_the_review_page_does_not_sign(
    service: ServiceVersion, citizen: User
) -> None:
    application = ready_to_submit(citizen)
    html_text = page(english(citizen).get(review_url(application)))
    assert "data-esign-content" not in html_text
    assert "signature_value" not in html_text
    assert "esign.js" not in html_text
    assert "you do not have a signing key yet" not in html_text  # the service does not ask


def test_a_signed_application_keeps_its_signature_and_shows_it(
    service: ServiceVersion, citizen: User, clerk: User
) -> None:
    key, certificate = enrol(citizen)
    application = ready_to_submit(citizen)
    content = esign.signing_content("certificate", ANSWERS)
    client = english(citizen)
    response = client.post(
        review_url(application),
        {
            "idempotency_key": "signed-once",
            "signature_value": webcrypto_signature(key, content),
            "signature_certificate": certificate.serial,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"/account/applications/{application.number}/"
    signed = SignedContent.objects.get()
    assert (signed.purpose, signed.reference) == ("application", application.number)
    assert bytes(signed.content) == content
    assert signed.certificate == certificate and signed.signer == citizen
    assert Application.objects.get(pk=application.pk).status == Status.ACTIVE

    shown = page(client.get(response["Location"]))
    assert (
        '<dt class="govuk-summary-list__key">Electronic signature</dt> '
        '<dd class="govuk-summary-list__value">Signed electronically '
        '<strong class="govuk-tag govuk-tag--green">Valid</strong>'
    ) in shown
    assert certificate.serial in shown
    assert f'<time datetime="{localtime(signed.signed_at).isoformat()}">' in shown

    # The official of the agency sees it on the case's page too.
    case = page(english(clerk).get(f"/backoffice/cases/{application.number}/"))
    assert "Signed electronically" in case
    assert '<strong class="govuk-tag govuk-tag--green">Valid</strong>' in case
    assert certificate.serial in case


def test_an_unsigned_application_shows_no_signature(service: ServiceVersion, citizen: User) -> None:
    application = ready_to_submit(citizen)
    response = english(citizen).post(review_url(application), {"idempotency_key": "k"})
    assert response.status_code == 302
    shown = page(english(citizen).get(response["Location"]))
    assert "Signed electronically" not in shown
    assert not SignedContent.objects.exists()


def test_a_signature_over_something_else_is_refused_and_the_draft_stays(
    service: ServiceVersion, citizen: User
) -> None:
    key, certificate = enrol(citizen)
    application = ready_to_submit(citizen)
    other = esign.signing_content("certificate", {"purpose": "something else"})
    response = english(citizen).post(
        review_url(application),
        {
            "idempotency_key": "bad",
            "signature_value": webcrypto_signature(key, other),
            "signature_certificate": certificate.serial,
        },
    )
    assert response.status_code == 400
    html_text = page(response)
    assert f'<li><a href="#submit-application">{NOT_MATCHING}</a></li>' in html_text
    assert (
        '<p id="submit-application-error" class="govuk-error-message" data-esign-error>'
        f'<span class="govuk-visually-hidden">Error:</span> <span data-esign-error-text>'
        f"{NOT_MATCHING}</span></p>"
    ) in html_text
    assert 'aria-describedby="submit-application-error"' in html_text
    # The page can be signed again.
    assert attribute(html_text, "data-esign-certificate") == certificate.serial
    assert Application.objects.get(pk=application.pk).status == Status.DRAFT
    assert not SignedContent.objects.exists()


def test_a_service_that_needs_a_signature_refuses_an_unsigned_submission(
    strict: ServiceVersion, citizen: User
) -> None:
    application = ready_to_submit(citizen, code="strict")
    client = english(citizen)
    html_text = page(client.get(review_url(application)))
    assert (
        "This service needs your electronic signature on the application, and you do not "
        "have a signing key yet."
    ) in html_text
    assert f'href="/account/signature/?next={review_url(application)}"' in html_text

    response = client.post(review_url(application), {"idempotency_key": "unsigned"})
    assert response.status_code == 400
    assert f'<li><a href="#submit-application">{REQUIRED}</a></li>' in page(response)
    assert Application.objects.get(pk=application.pk).status == Status.DRAFT
    assert not SignedContent.objects.exists()


def test_a_service_that_needs_a_signature_takes_a_signed_submission(
    strict: ServiceVersion, citizen: User
) -> None:
    key, certificate = enrol(citizen)
    application = ready_to_submit(citizen, code="strict")
    content = esign.signing_content("strict", ANSWERS)
    response = english(citizen).post(
        review_url(application),
        {
            "idempotency_key": "signed",
            "signature_value": webcrypto_signature(key, content),
            "signature_certificate": certificate.serial,
        },
    )
    assert response.status_code == 302
    assert SignedContent.objects.get().reference == application.number
