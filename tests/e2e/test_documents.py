"""Signed documents in a real browser: the holder finds and downloads them, and anyone checks
one by its QR link or by its file. Every page passes axe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def documents_pki(settings: Any, tmp_path: Path, demo: Any) -> Any:
    from shanyraq.documents import pki

    settings.PKI_DIR = tmp_path / "pki"
    settings.DOCUMENTS_ROOT = tmp_path / "documents"
    return pki.pki_init()


def issue_to(iin: str) -> Any:
    from shanyraq.accounts.models import User
    from shanyraq.catalog.models import Agency
    from shanyraq.documents import services

    holder = User.objects.get(iin=iin)
    ordered = services.document_order(
        kind="certificate",
        title={
            "kk": "Сотталмағандығы туралы анықтама",
            "ru": "Справка об отсутствии судимости",
            "en": "Certificate of no criminal record",
        },
        lines=[
            {
                "label": {"kk": "Нәтиже", "ru": "Результат", "en": "Result"},
                "value": {
                    "kk": "Мәліметтер жоқ",
                    "ru": "Сведений нет",
                    "en": "Nothing is recorded",
                },
            }
        ],
        agency=Agency.objects.order_by("id").first(),
        holder=holder,
        language="en",
    )
    return services.document_issue(document=ordered)


def test_the_holder_downloads_a_document_and_anyone_verifies_it(
    open_site: Any, demo: Any, documents_pki: Any, tr: Any, tmp_path: Path
) -> None:
    account = demo.accounts["citizen.aigerim"]
    document = issue_to(str(account.iin))
    site = open_site("en")
    site.sign_in_citizen(str(account.iin), demo.password)
    site.submit(site.page.locator("header").get_by_role("link", name="My documents"))
    assert site.heading() == "My documents"
    row = site.page.locator("main table tbody tr", has_text=document.number)
    assert "Certificate of no criminal record" in row.inner_text()
    with site.page.expect_download() as downloading:
        row.get_by_role("link", name=f"PDF in English {document.number}").click()
    saved = tmp_path / "downloaded.pdf"
    downloading.value.save_as(saved)
    assert saved.read_bytes()[:5] == b"%PDF-"

    # The QR code's link: the verification page, for anyone, in their language.
    visitor = open_site("kk")
    visitor.goto(f"/verify/?number={document.number}&code={document.code}")
    assert visitor.heading() == tr("kk", "Check a document")
    panel = visitor.page.locator("main .govuk-panel--confirmation")
    assert panel.inner_text().strip() == tr("kk", "The document is genuine and valid")
    assert str(account.iin) not in visitor.page.locator("main").inner_text()

    # The file itself, uploaded.
    visitor.page.locator("#file").set_input_files(str(saved))
    visitor.submit(visitor.page.get_by_role("button", name=tr("kk", "Check the file")))
    panel = visitor.page.locator("main .govuk-panel--confirmation")
    assert panel.inner_text().strip() == tr("kk", "The document is genuine and valid")

    # A changed file is refused plainly.
    changed = tmp_path / "changed.pdf"
    data = bytearray(saved.read_bytes())
    data[200] ^= 0x01
    changed.write_bytes(bytes(data))
    visitor.page.locator("#file").set_input_files(str(changed))
    visitor.submit(visitor.page.get_by_role("button", name=tr("kk", "Check the file")))
    assert not visitor.page.locator("main .govuk-panel--confirmation").count()
    assert visitor.page.locator("main .govuk-error-summary").count() == 1

    # A wrong code is an error on the page, next to the field.
    visitor.goto(f"/verify/?number={document.number}&code=AAAA-BBBB", status=404)
    summary = visitor.page.locator(".govuk-error-summary").inner_text()
    assert tr("kk", "No document has this number and code. Check what you typed.") in summary
