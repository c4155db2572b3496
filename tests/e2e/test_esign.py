"""Electronic signatures in a real browser: a demo citizen makes a signing key in Chromium
(WebCrypto; the private key never leaves the browser), applies for a certificate of no
criminal record and submits the application signed; the application's page shows the
signature, checked again. Another browser, without the key, is told so and sends nothing.
Every page passes axe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.utils import translation
from test_demo_journeys import CERTIFICATE, fill_in_the_form, submit

pytestmark = pytest.mark.e2e

STEPS = [{}, {"purpose": "employment", "certificate_language": "kk"}]


@pytest.fixture
def platform_pki(settings: Any, tmp_path: Path, demo: Any) -> Any:
    from shanyraq.documents import pki

    settings.PKI_DIR = tmp_path / "pki"
    return pki.pki_init()


def tr_in(lang: str, context: str, message: str) -> str:
    with translation.override(lang):
        return translation.pgettext(context, message)


def apply_for_the_certificate(site: Any, lang: str, tr: Any) -> str:
    """From the service's passport to the review page of a new application; its number."""
    site.goto(f"/services/{CERTIFICATE}/")
    return fill_in_the_form(site, CERTIFICATE, lang, tr, STEPS)


def signature_row(site: Any, lang: str, tr: Any) -> str:
    row = site.page.locator(
        "main dl.govuk-summary-list .govuk-summary-list__row",
        has=site.page.locator("dt", has_text=tr(lang, "Electronic signature")),
    )
    return " ".join(row.locator("dd").inner_text().split())


def test_a_citizen_makes_a_key_in_the_browser_and_signs_an_application(
    open_site: Any, demo: Any, demo_registers: Any, platform_pki: Any, tr: Any
) -> None:
    from shanyraq.casework.models import Application
    from shanyraq.documents import esign
    from shanyraq.documents.models import Certificate, SignedContent

    lang = "ru"
    account = demo.accounts["citizen.aigerim"]
    site = open_site(lang)
    site.sign_in_citizen(str(account.iin), demo.password)
    assert site.path() == "/account/"

    # The account page leads to the signature page; no key yet.
    site.submit(site.page.get_by_role("link", name=tr(lang, "Your electronic signature")))
    assert site.path() == "/account/signature/"
    assert site.heading() == tr(lang, "Your electronic signature")
    assert tr(lang, "You do not have a signing key yet.") in site.page.locator("main").inner_text()

    # The browser makes the key, proves it holds it, and the platform certifies it.
    button = site.page.get_by_role("button", name=tr(lang, "Create a signing key in this browser"))
    site.submit(button)
    assert site.path() == "/account/signature/"
    banner = site.page.locator(".govuk-notification-banner").inner_text()
    assert tr(lang, "Your signing key was created. You can now sign your applications.") in banner
    certificate = Certificate.objects.get(kind="personal", holder__iin=account.iin)
    assert certificate.revoked_at is None
    assert certificate.serial in site.page.locator("main dl").inner_text()
    presence = site.page.locator("[data-esign-presence]")
    presence.wait_for(state="visible")
    assert presence.inner_text() == tr(lang, "This browser holds your signing key.")
    site.check()  # the page as the script left it

    # The application, signed on submission.
    number = apply_for_the_certificate(site, lang, tr)
    form = site.page.locator("main form[data-esign-content]")
    assert form.get_attribute("data-esign-certificate") == certificate.serial
    submit(site, number, lang, tr)
    assert signature_row(site, lang, tr).startswith(
        f"{tr(lang, 'Signed electronically')} "
        f"{tr_in(lang, 'an electronic signature, checked now', 'Valid')}"
    )
    assert certificate.serial in signature_row(site, lang, tr)
    signed = SignedContent.objects.get(reference=number)
    application = Application.objects.get(number=number)
    assert bytes(signed.content) == esign.signing_content(CERTIFICATE, application.answers)
    assert signed.certificate == certificate
    assert esign.signature_reverify(signed)

    # Another browser does not have the key: it says so and sends nothing.
    other = open_site(lang)
    other.sign_in_citizen(str(account.iin), demo.password)
    second = apply_for_the_certificate(other, lang, tr)
    other.page.get_by_role("button", name=tr(lang, "Submit application")).click()
    summary = other.page.locator(".govuk-error-summary")
    summary.wait_for(state="visible")
    no_key = tr(
        lang,
        "The key of your signing certificate is not in this browser. Submit from the browser "
        "where you created it, or create a new signing key.",
    )
    assert no_key in summary.inner_text()
    assert no_key in other.page.locator("#submit-application-error").inner_text()
    assert other.path() == f"/account/applications/{second}/review/"
    other.check()
    assert Application.objects.get(number=second).status == "draft"
    assert not SignedContent.objects.filter(reference=second).exists()
