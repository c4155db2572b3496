"""The birth of a child, end to end from one confirmation, in the browser.

A maternity hospital's system registers the birth through the API with its own token; the
child gets an IIN; the worker turns the ``PersonBorn`` event into one offer for each parent,
bundling the five birth services of the demo. The mother opens it in her account, sees what
will be applied for and what the agencies read, and accepts with one action. The worker
decides every application and issues the documents; she finds them in her documents, the
child is registered at her address, the father's offer shows that it was done, and the
consent is on her page of consents. Every page is checked with axe.
"""

from __future__ import annotations

import datetime
import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

pytestmark = pytest.mark.e2e

BIRTH_SERVICES = {
    "birth-registration",
    "childbirth-benefit",
    "childcare-allowance",
    "kindergarten-queue",
    "newborn-residence-registration",
}


@pytest.fixture
def platform_pki(settings: Any, tmp_path: Path, demo: Any) -> Any:
    from shanyraq.documents import pki

    settings.PKI_DIR = tmp_path / "pki"
    settings.DOCUMENTS_ROOT = tmp_path / "documents"
    return pki.pki_init()


def register_birth_as_the_hospital(live_server: Any, mother: str, father: str) -> str:
    """The hospital's system posts the birth over HTTP with its bearer token; the new IIN."""
    from shanyraq.accounts import services as account_services
    from shanyraq.accounts.models import User

    system = User.objects.get(username="system.perinatal")
    _token, secret = account_services.token_create(user=system, name="maternity ward")
    body = {
        "agency": "minhealth",
        "basis": "Perinatal centre No. 1, birth record 2026-1187",
        "birth": {"order": 2, "multiple": False},
        "data": {
            "last_name": "Нұрланов",
            "first_name": "Ерасыл",
            "birth_date": (timezone.localdate() - datetime.timedelta(days=1)).isoformat(),
            "sex": "M",
            "citizenship": "KAZ",
            "marital_status": "single",
            "birth_place": {"country": "KAZ", "locality": "Астана"},
            "parents": [
                {"iin": mother, "relation": "mother"},
                {"iin": father, "relation": "father"},
            ],
        },
    }
    request = urllib.request.Request(
        f"{live_server.url}/api/v1/registries/population/births",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {secret}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 201
        return str(json.loads(response.read())["key"])


def service_name(code: str, lang: str) -> str:
    from shanyraq.catalog import selectors

    return str(selectors.service_passport(code).name.to_dict()[lang])


def test_the_birth_of_a_child_from_one_confirmation(
    open_site: Any, live_server: Any, demo: Any, demo_registers: Any, platform_pki: Any, tr: Any
) -> None:
    from shanyraq.casework import services as casework
    from shanyraq.casework.models import Application
    from shanyraq.documents import services as documents
    from shanyraq.documents.models import Document
    from shanyraq.events import services as events
    from shanyraq.proactive.models import Offer
    from shanyraq.registries.models import Record

    mother = str(demo.accounts["citizen.aigerim"].iin)
    father = str(demo.accounts["citizen.arman"].iin)
    child = register_birth_as_the_hospital(live_server, mother, father)
    assert events.events_dispatch().failed == 0  # the worker's round
    assert Offer.objects.filter(subject_iin=child).count() == 2

    lang = "ru"
    site = open_site(lang)
    site.sign_in_citizen(mother, demo.password)
    site.goto("/account/offers/")
    assert site.heading() == tr(lang, "Offers for you")
    rows = site.page.locator("main table tbody tr")
    assert rows.count() == 1
    assert tr(lang, "Waiting for your answer") in rows.first.inner_text()
    site.submit(rows.first.get_by_role("link", name=tr(lang, "The birth of a child")))
    assert site.heading() == tr(lang, "The birth of a child")
    shown = [
        " ".join(h.split()) for h in site.page.locator("main h2.govuk-heading-m").all_inner_texts()
    ]
    for code in BIRTH_SERVICES:
        assert service_name(code, lang) in shown
    assert child in site.page.locator("main").inner_text()  # the child's IIN, in the answers
    assert tr(lang, "Population register") in site.page.locator("main").inner_text()
    site.submit(site.page.get_by_role("button", name=tr(lang, "Accept and apply")))
    assert tr(lang, "Accepted") in site.page.locator("main").inner_text()

    applications = Application.objects.filter(applicant__iin=mother, answers__child_iin=child)
    assert {a.service_version.service.code for a in applications} == BIRTH_SERVICES
    while casework.work_once():  # the worker decides ...
        pass
    documents.documents_issue_pending()  # ... and issues the documents
    assert set(applications.values_list("status", flat=True)) == {"approved"}
    undecided = [a.number for a in applications.all() if a.decided_at is None]
    assert not undecided, undecided

    site.goto("/account/documents/")
    issued = Document.objects.filter(application__in=applications, issued_at__isnull=False)
    assert issued.count() >= 2
    page = site.page.locator("main").inner_text()
    for document in issued:
        assert document.number in page
    site.goto("/account/consents/")
    assert tr(lang, "In force") in site.page.locator("main").inner_text()

    record = Record.objects.get(register__code="population", key=child)
    mother_record = Record.objects.get(register__code="population", key=mother)
    assert (
        record.versions.get(number=record.version).data["registered_address"]
        == mother_record.versions.get(number=mother_record.version).data["registered_address"]
    )

    other = open_site("kk")
    other.sign_in_citizen(father, demo.password)
    other.goto("/account/offers/")
    assert tr("kk", "Applied for by another recipient") in other.page.locator("main").inner_text()
