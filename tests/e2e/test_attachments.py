"""A citizen attaches a file in the browser: a file that lies about its type is refused next to
its input, a real PDF is attached, shown, downloaded and removed. Every page is checked with
axe, in Kazakh, Russian and English."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.e2e

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24


@pytest.fixture
def docs_service(settings: Any, tmp_path: Path, demo: Any) -> str:
    from shanyraq.casework.tests.attachments_fixture import DOCS_FORM, DOCS_PROCESS
    from shanyraq.catalog.models import Agency
    from shanyraq.ledger_django import config
    from shanyraq.testing import factories

    settings.ATTACHMENTS_ROOT = tmp_path / "attachments"
    settings.LEDGER_KEY_DIR = tmp_path / "keys"
    settings.LEDGER_STORAGE_DIR = tmp_path / "tiles"
    settings.LEDGER_WITNESSES_FILE = tmp_path / "keys" / "witnesses.json"
    config.reset()
    call_command("ledger", "keygen", stdout=io.StringIO())
    factories.published_service(
        agency=Agency.objects.get(code="minjust"),
        code="e2e-document-sale",
        form=DOCS_FORM,
        process=DOCS_PROCESS,
    )
    return "e2e-document-sale"


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_a_citizen_attaches_a_pdf_and_a_lying_file_is_refused(
    open_site: Any, demo: Any, docs_service: str, tr: Any, lang: str
) -> None:
    from shanyraq.casework.models import Attachment

    site = open_site(lang)
    site.sign_in_citizen(demo.citizen_iin, demo.password)
    site.goto(f"/services/{docs_service}/apply/")
    site.submit(site.page.get_by_role("button", name=tr(lang, "Start now")))
    buyer = next(a for a in demo.accounts.values() if a.iin and a.iin != demo.citizen_iin)
    site.page.locator("#field-buyer_iin").fill(buyer.iin)
    save = site.page.get_by_role("button", name=tr(lang, "Save and continue"), exact=True)
    site.submit(save)
    assert site.path().endswith("/step/1/")
    assert site.page.locator("main form").get_attribute("enctype") == "multipart/form-data"
    assert site.page.locator("#field-contract").get_attribute("accept") == "application/pdf,.pdf"

    # A PNG named like a PDF is refused next to its input; nothing is kept.
    site.page.locator("#field-contract").set_input_files(
        {"name": "contract.pdf", "mimeType": "application/pdf", "buffer": PNG}
    )
    site.submit(site.page.get_by_role("button", name=tr(lang, "Save and continue")), status=400)
    message = tr(lang, "The file is not a %(kind)s, although its name says so.") % {"kind": "PDF"}
    assert message in site.page.locator("#field-contract-error").inner_text()
    assert not Attachment.objects.exists()

    # The real PDF is attached with "Save and continue", and shown on the review.
    site.page.locator("#field-contract").set_input_files(
        {"name": "contract.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    site.submit(site.page.get_by_role("button", name=tr(lang, "Save and continue")))
    assert site.path().endswith("/review/")
    link = site.page.locator("main a", has_text="contract.pdf")
    assert link.count() == 1
    with site.page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == "contract.pdf"
    assert Path(download.value.path()).read_bytes() == PDF

    # Back on its step the file is shown, and can be removed after a confirmation.
    site.goto(site.path().replace("/review/", "/step/1/"))
    shown = site.page.locator("#field-contract-attached")
    assert shown.get_by_role("link", name="contract.pdf", exact=True).count() == 1
    remove = site.page.locator("main a", has_text=tr(lang, "Remove the file"))
    site.submit(remove)
    assert site.heading() == tr(lang, "Remove the file?")
    site.submit(site.page.get_by_role("button", name=tr(lang, "Remove the file")))
    assert site.path().endswith("/step/1/")
    assert not Attachment.objects.exists()
