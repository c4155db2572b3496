"""Applications signed by the applicant's own key: enrolment, checking, keeping, refusing."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.utils import timezone

from shanyraq.casework import services
from shanyraq.casework.models import Application
from shanyraq.casework.tests import services_fixture
from shanyraq.casework.tests.services_fixture import World, at_review, name_change_service
from shanyraq.casework.tests.test_api import ANSWERS, client_for, post
from shanyraq.core.errors import ValidationError
from shanyraq.documents import esign, pki
from shanyraq.documents.models import Certificate, SignedContent
from shanyraq.testing.esign import enrol, public_pem, webcrypto_signature

english = services_fixture.english
ledger_log = services_fixture.ledger_log
world = services_fixture.world

pytestmark = pytest.mark.django_db


@pytest.fixture
def platform_pki(settings: Any, tmp_path: Path) -> Any:
    settings.PKI_DIR = tmp_path / "pki"
    return pki.pki_init()


def answers(world: World) -> dict[str, Any]:
    return {**ANSWERS, "spouse_iin": world.spouse.iin}


def signed_body(world: World, key: Any, certificate: Certificate, **changes: Any) -> dict:
    values = answers(world)
    content = esign.signing_content("surname-change", values)
    return {
        "service": "surname-change",
        "answers": values,
        "submit": True,
        "signature": {
            "certificate": certificate.serial,
            "value": webcrypto_signature(key, content),
            **changes,
        },
    }


def test_enrolment_certifies_the_browsers_key_for_the_persons_iin(
    world: World, platform_pki: Any
) -> None:
    key, certificate = enrol(world.applicant)
    x509_certificate = pki.certificate_x509(certificate)
    assert f"IIN{world.applicant.iin}" in x509_certificate.subject.rfc4514_string()
    assert certificate.holder == world.applicant and certificate.kind == "personal"
    assert esign.key_fingerprint(x509_certificate.public_key()) == esign.key_fingerprint(  # type: ignore[arg-type]
        key.public_key()
    )
    assert esign.personal_certificate_of(world.applicant) == certificate
    # A new key replaces the old one: the old certificate is revoked as superseded.
    _key, second = enrol(world.applicant)
    certificate.refresh_from_db()
    assert certificate.revoked_at is not None and certificate.revocation_reason == "superseded"
    assert esign.personal_certificate_of(world.applicant) == second


@pytest.mark.parametrize("case", ["other_key", "other_challenge", "no_challenge", "garbage"])
def test_enrolment_without_proof_of_the_key_is_refused(
    world: World, platform_pki: Any, case: str
) -> None:
    key, other = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    challenge = esign.enrolment_challenge()
    proof = {
        "other_key": webcrypto_signature(other, challenge.encode()),
        "other_challenge": webcrypto_signature(key, b"something else"),
        "no_challenge": webcrypto_signature(key, challenge.encode()),
        "garbage": "!!!",
    }[case]
    with pytest.raises(ValidationError) as caught:
        esign.personal_key_enrol(
            holder=world.applicant,
            public_key_pem=public_pem(key),
            challenge="" if case == "no_challenge" else challenge,
            proof=proof,
        )
    assert caught.value.code in {"enrolment_proof", "enrolment_expired", "signature_invalid"}
    assert not Certificate.objects.filter(kind="personal").exists()


def test_a_signed_submission_keeps_the_signature_over_what_was_sent(
    world: World, platform_pki: Any
) -> None:
    key, certificate = enrol(world.applicant)
    client = client_for(world.applicant)
    response = post(client, "/api/v1/applications", signed_body(world, key, certificate))
    assert response.status_code == 201, response.content
    number = response.json()["number"]
    signed = SignedContent.objects.get(reference=number)
    assert bytes(signed.content) == esign.signing_content("surname-change", answers(world))
    assert json.loads(bytes(signed.content))["answers"]["new_last_name"] == "Сейітова-Омарова"
    assert signed.signer == world.applicant and signed.certificate == certificate
    assert esign.signature_reverify(signed)
    # Anyone allowed to see the application can check it again.
    again = client.get(f"/api/v1/applications/{number}/signature").json()
    assert again["valid"] is True and again["certificate"] == certificate.serial
    assert base64.b64decode(again["content"]) == bytes(signed.content)
    other = client_for(world.buyer).get(f"/api/v1/applications/{number}/signature")
    assert other.status_code == 404


def test_a_draft_is_submitted_signed(world: World, platform_pki: Any) -> None:
    key, certificate = enrol(world.applicant)
    client = client_for(world.applicant)
    draft = post(
        client, "/api/v1/applications", {"service": "surname-change", "answers": answers(world)}
    ).json()
    stored = Application.objects.get(number=draft["number"]).answers
    value = webcrypto_signature(key, esign.signing_content("surname-change", stored))
    done = post(
        client,
        f"/api/v1/applications/{draft['number']}/submit",
        {"signature": {"certificate": certificate.serial, "value": value}},
    )
    assert done.status_code == 200 and done.json()["status"] == "active"
    assert SignedContent.objects.filter(reference=draft["number"]).count() == 1


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("other_content", "signature_invalid"),
        ("garbage", "signature_invalid"),
        ("unknown_certificate", "signature_certificate_unknown"),
        ("someone_elses", "signature_not_yours"),
        ("revoked", "signature_certificate_revoked"),
        ("expired", "signature_certificate_expired"),
    ],
)
def test_a_wrong_signature_is_refused_and_nothing_is_kept(
    world: World, platform_pki: Any, case: str, code: str
) -> None:
    key, certificate = enrol(world.applicant)
    body = signed_body(world, key, certificate)
    if case == "other_content":
        body["answers"] = {**body["answers"], "new_last_name": "Басқа"}
    elif case == "garbage":
        body["signature"]["value"] = "not base64 at all"
    elif case == "unknown_certificate":
        body["signature"]["certificate"] = "ab" * 10
    elif case == "someone_elses":
        spouse_key, spouse_certificate = enrol(world.spouse)
        body = signed_body(world, spouse_key, spouse_certificate)
    elif case == "revoked":
        pki.certificate_revoke(certificate=certificate, reason="key_compromise")
    elif case == "expired":
        Certificate.objects.filter(pk=certificate.pk).update(
            not_after=timezone.now() - timedelta(days=1)
        )
    response = post(client_for(world.applicant), "/api/v1/applications", body)
    assert response.status_code == 422, response.content
    assert response.json()["code"] == code
    assert not Application.objects.exists() and not SignedContent.objects.exists()


def test_a_service_that_requires_a_signature_refuses_an_unsigned_application(
    world: World, platform_pki: Any
) -> None:
    name_change_service(world.justice, code="signed-surname-change", esign_required=True)
    body = {"service": "signed-surname-change", "answers": answers(world), "submit": True}
    client = client_for(world.applicant)
    response = post(client, "/api/v1/applications", body)
    assert response.status_code == 422 and response.json()["code"] == "signature_required"
    assert not Application.objects.exists()
    key, certificate = enrol(world.applicant)
    value = webcrypto_signature(key, esign.signing_content("signed-surname-change", answers(world)))
    body["signature"] = {"certificate": certificate.serial, "value": value}
    assert post(client, "/api/v1/applications", body).status_code == 201


# --- agency systems ---------------------------------------------------------------------


def system_key(world: World, agency: Any = None) -> tuple[ec.EllipticCurvePrivateKey, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = pki.system_certificate_issue(
        agency=agency or world.justice, name="case-system", public_key_pem=public_pem(key)
    )
    return key, certificate


def act(world: World, number: str, key: Any, certificate: Any, note: str = "Checked.") -> Any:
    content = services.act_signing_content(number, "approve", note)
    return post(
        client_for(world.reviewer),
        f"/api/v1/tasks/{number}/complete",
        {
            "action": "approve",
            "note": note,
            "signature": {
                "certificate": certificate.serial,
                "value": webcrypto_signature(key, content),
            },
        },
    )


def test_an_agency_system_signs_its_act_with_its_own_certificate(
    world: World, platform_pki: Any
) -> None:
    case = at_review(world)
    key, certificate = system_key(world)
    assert certificate.kind == "system" and certificate.agency == world.justice
    subject = pki.certificate_x509(certificate).subject.rfc4514_string()
    assert "CN=case-system" in subject and "OU=justice" in subject
    done = act(world, case.number, key, certificate)
    assert done.status_code == 200, done.content
    signed = SignedContent.objects.get(purpose="act", reference=case.number)
    assert json.loads(bytes(signed.content)) == {
        "application": case.number,
        "action": "approve",
        "note": "Checked.",
    }
    assert signed.certificate == certificate and esign.signature_reverify(signed)


@pytest.mark.parametrize("case_name", ["other_agency", "other_content", "personal_key"])
def test_an_act_signed_by_the_wrong_key_is_refused_and_the_case_is_unchanged(
    world: World, platform_pki: Any, case_name: str
) -> None:
    case = at_review(world)
    if case_name == "other_agency":
        key, certificate = system_key(world, world.health)
        code = "signature_not_yours"
    elif case_name == "personal_key":
        key, certificate = enrol(world.stranger)
        code = "signature_certificate_unknown"
    else:
        key, certificate = system_key(world)
        code = "signature_invalid"
    content = services.act_signing_content(case.number, "approve", "Another note.")
    response = post(
        client_for(world.reviewer),
        f"/api/v1/tasks/{case.number}/complete",
        {
            "action": "approve",
            "note": "Checked.",
            "signature": {
                "certificate": certificate.serial,
                "value": webcrypto_signature(
                    key,
                    content
                    if case_name == "other_content"
                    else services.act_signing_content(case.number, "approve", "Checked."),
                ),
            },
        },
    )
    assert response.status_code == 422 and response.json()["code"] == code
    case.refresh_from_db()
    assert case.status == "active" and not SignedContent.objects.exists()


def test_the_pki_command_certifies_a_systems_key(
    world: World, platform_pki: Any, tmp_path: Path
) -> None:
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    key = ec.generate_private_key(ec.SECP256R1())
    pem = tmp_path / "system.pem"
    pem.write_text(public_pem(key))
    out = StringIO()
    call_command("pki", "system", "justice", "records", "--public-key", str(pem), stdout=out)
    assert "-----BEGIN CERTIFICATE-----" in out.getvalue()
    issued = Certificate.objects.get(kind="system")
    assert issued.agency == world.justice and issued.key_name == ""
    with pytest.raises(CommandError) as caught:
        call_command("pki", "system", "nowhere", "records", "--public-key", str(pem))
    assert caught.value.returncode == 2
    pem.write_text("not a key")
    with pytest.raises(CommandError) as caught:
        call_command("pki", "system", "justice", "records", "--public-key", str(pem))
    assert caught.value.returncode == 1
    assert Certificate.objects.filter(kind="system").count() == 1
