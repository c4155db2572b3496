"""A service that asks for files, sample files that are (and are not) what they say, and a
file store of each test's own.

``document-sale`` (Ministry of Justice): the seller names the buyer (a party who confirms) and
attaches the signed contract (PDF only, at most 2,000 bytes) and a photo (any supported type);
a reviewer decides. Import the fixtures a test module uses by name, with ``services_fixture``'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from shanyraq.accounts.models import User
from shanyraq.casework import attachments, services
from shanyraq.casework.models import Application, Attachment
from shanyraq.casework.tests.services_fixture import World, label
from shanyraq.catalog.models import ServiceVersion
from shanyraq.testing import factories

__all__ = [
    "DOCS_FORM",
    "DOCS_PROCESS",
    "HTML",
    "JPEG",
    "PDF",
    "PNG",
    "attach",
    "docs_service",
    "draft",
    "file_store",
    "stored_files",
    "upload",
]

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 20
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20
HTML = b"<!doctype html><html><script>alert(document.cookie)</script></html>"

DOCS_FORM: dict[str, Any] = {
    "schema": {
        "type": "object",
        "required": ["buyer_iin"],
        "properties": {
            "buyer_iin": {"type": "string", "pattern": "^[0-9]{12}$"},
            "note": {"type": "string", "maxLength": 200},
            "contract": {"type": "string", "format": "attachment"},
            "photo": {"type": "string", "format": "attachment"},
        },
    },
    "ui": {
        "steps": [
            {"key": "deal", "title": label("The deal"), "fields": ["buyer_iin", "note"]},
            {"key": "documents", "title": label("Documents"), "fields": ["contract", "photo"]},
        ],
        "labels": {
            "buyer_iin": label("Buyer's IIN"),
            "note": label("Note"),
            "contract": label("Signed contract"),
            "photo": label("Photo"),
        },
        "help": {"contract": label("The contract both of you signed.")},
        "attachments": {"contract": {"accept": ["application/pdf"], "max_bytes": 2000}},
    },
}

DOCS_PROCESS: dict[str, Any] = {
    "start": "review",
    "steps": [
        {
            "id": "review",
            "kind": "task",
            "role": "reviewer",
            "deadline_days": 5,
            "label": label("Review"),
        }
    ],
    "transitions": [
        {"from": "review", "action": "approve", "to": "approved"},
        {"from": "review", "action": "reject", "to": "rejected"},
        {"from": "review", "action": "request_info", "to": "review"},
    ],
    "parties": [{"role": "buyer", "iin_field": "buyer_iin", "label": label("Buyer")}],
}


@pytest.fixture
def file_store(settings: Any, tmp_path: Path) -> Path:
    """The attachments of this test go to a folder of its own."""
    root = tmp_path / "attachments"
    settings.ATTACHMENTS_ROOT = root
    return root


@pytest.fixture
def docs_service(world: World, file_store: Path) -> ServiceVersion:
    return factories.published_service(
        agency=world.justice,
        code="document-sale",
        form=DOCS_FORM,
        process=DOCS_PROCESS,
        legal_basis=label("Civil Code, article 406"),
    )


def upload(name: str, content: bytes, content_type: str = "") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def draft(world: World, applicant: User | None = None) -> Application:
    """A draft of the document sale with its first step answered (the buyer named)."""
    person = applicant or world.applicant
    application = services.application_start(applicant=person, service_code="document-sale")
    return services.application_save(
        application=application, applicant=person, values={"buyer_iin": world.buyer.iin}, step=0
    )


def attach(
    application: Application,
    field: str = "contract",
    name: str = "contract.pdf",
    content: bytes = PDF,
    content_type: str = "application/pdf",
    by: User | None = None,
) -> Attachment:
    return attachments.attachment_add(
        application=application,
        field=field,
        upload=upload(name, content, content_type),
        by=by or application.applicant,
    )


def stored_files(root: Path) -> list[Path]:
    """Every file under the store's root but its lock: what a refused upload must not leave."""
    if not root.exists():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name != ".lock")
