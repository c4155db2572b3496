"""Attached files: the store, the checks a file passes before anything is kept, drafts'
answers, removal, and who may open a file."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.files.uploadedfile import SimpleUploadedFile

from shanyraq.casework import attachments, services
from shanyraq.casework.models import Application, Attachment, Status
from shanyraq.casework.tests import attachments_fixture, services_fixture
from shanyraq.casework.tests.attachments_fixture import (
    HTML,
    JPEG,
    PDF,
    PNG,
    attach,
    draft,
    stored_files,
    upload,
)
from shanyraq.casework.tests.services_fixture import World
from shanyraq.core import files as storage
from shanyraq.core.errors import Conflict, NotFound, ValidationError
from shanyraq.core.scanning import EICAR
from shanyraq.testing.clamd import FakeClamd

english = services_fixture.english
ledger_log = services_fixture.ledger_log
world = services_fixture.world
file_store = attachments_fixture.file_store
docs_service = attachments_fixture.docs_service

pytestmark = pytest.mark.django_db


def submitted(world: World, **files: bytes) -> Application:
    """A document sale submitted with a contract, waiting for the buyer."""
    application = draft(world)
    attach(application)
    application = services.application_save(
        application=application,
        applicant=world.applicant,
        values={"contract": application.answers["contract"]},
        step=1,
    )
    application = services.application_submit(application=application, applicant=world.applicant)
    assert application.status == Status.AWAITING_PARTIES
    return application


def paused(world: World) -> Application:
    """A document sale the buyer confirmed and the reviewer asked a question about."""
    application = submitted(world)
    services.party_respond(application=application, person=world.buyer, accept=True)
    services.case_act(
        application=application,
        official=world.reviewer,
        action="request_info",
        note="Attach the buyer's consent",
    )
    application.refresh_from_db()
    assert application.status == Status.PAUSED
    return application


# --- the store ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (PDF, "application/pdf"),
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (HTML, None),
        (b"%PD", None),
        (b"", None),
        (b"GIF89a", None),
    ],
)
def test_the_first_bytes_tell_the_type(head: bytes, kind: str | None) -> None:
    assert storage.sniff(head[: storage.HEAD_BYTES]) == kind


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("contract.pdf", "contract.pdf"),
        ("C:\\Users\\me\\Шарт 2024.pdf", "Шарт 2024.pdf"),
        ("../../etc/passwd", "passwd"),
        ('a"b;c\r\nd.pdf', "a b c d.pdf"),
        ("   .pdf", "pdf"),
        ("", "file"),
        ("x" * 300 + ".pdf", "x" * 196 + ".pdf"),
    ],
)
def test_file_names_are_cleaned(given: str, kept: str) -> None:
    assert storage.clean_filename(given) == kept


def test_the_store_refuses_an_oversize_file_while_reading_it(tmp_path: Path) -> None:
    store = storage.FileStore(tmp_path)
    read = []

    def chunks() -> Iterator[bytes]:
        for _ in range(1000):  # 1 MB offered, 4 KB allowed
            read.append(1000)
            yield b"%" * 1000

    with pytest.raises(storage.FileTooLarge):
        store.receive(chunks(), max_bytes=4000)
    assert sum(read) == 5000  # stopped at the first chunk past the limit
    assert stored_files(tmp_path) == []


def test_the_same_content_is_stored_once(tmp_path: Path) -> None:
    store = storage.FileStore(tmp_path)
    first = store.receive([PDF], max_bytes=10_000)
    second = store.receive([PDF[:10], PDF[10:]], max_bytes=10_000)
    with store.lock():
        assert first.commit() == second.commit() == hashlib.sha256(PDF).hexdigest()
    assert stored_files(tmp_path) == [store.path(first.sha256)]
    with store.open(first.sha256) as stored:
        assert stored.read() == PDF


def test_the_store_lock_is_reentrant_within_a_thread(tmp_path: Path) -> None:
    store = storage.FileStore(tmp_path)
    with store.lock(), store.lock():
        pass
    with store.lock():
        pass


def test_digests_are_the_only_names_the_store_opens(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        storage.FileStore(tmp_path).path("../" + "a" * 61)


@pytest.mark.parametrize(
    ("offered", "kept"), [(999, 999), (1000, 1000), (1001, 1001), (5000, 1001)]
)
def test_uploads_are_cut_one_byte_past_the_cap(settings: Any, offered: int, kept: int) -> None:
    settings.ATTACHMENT_MAX_BYTES = 1000
    handler = storage.CappedUploadHandler()
    passed = b""
    for start in range(0, offered, 300):
        chunk = handler.receive_data_chunk(b"x" * min(300, offered - start), start)
        passed += chunk or b""
    assert len(passed) == kept


def test_the_store_is_outside_the_static_and_media_roots(settings: Any) -> None:
    from shanyraq.casework.apps import check_attachments_root
    from shanyraq.config.settings import base

    for name in ("ATTACHMENTS_ROOT", "STATIC_ROOT", "MEDIA_ROOT", "STATICFILES_DIRS"):
        setattr(settings, name, getattr(base, name))
    assert check_attachments_root() == []
    settings.ATTACHMENTS_ROOT = Path(base.STATIC_ROOT) / "attachments"
    assert [error.id for error in check_attachments_root()] == ["casework.E001"]
    settings.ATTACHMENTS_ROOT = Path(base.MEDIA_ROOT)
    assert [error.id for error in check_attachments_root()] == ["casework.E001"]


# --- attaching --------------------------------------------------------------------------------


def test_a_file_is_stored_outside_the_web_root_under_its_digest(
    world: World, docs_service: Any, file_store: Path
) -> None:
    application = draft(world)
    attachment = attach(application, name="Сату шарты.pdf")
    digest = hashlib.sha256(PDF).hexdigest()
    assert (attachment.field, attachment.name, attachment.content_type) == (
        "contract",
        "Сату шарты.pdf",
        "application/pdf",
    )
    assert (attachment.size, attachment.sha256, attachment.uploaded_by) == (
        len(PDF),
        digest,
        world.applicant,
    )
    assert stored_files(file_store) == [file_store / digest[:2] / digest]
    assert (file_store / digest[:2] / digest).read_bytes() == PDF
    assert (file_store / digest[:2] / digest).stat().st_mode & 0o777 == 0o600
    application.refresh_from_db()
    assert application.answers["contract"] == str(attachment.public_id)
    assert application.events.count() == 1  # attaching to a draft is not history


def test_a_file_without_an_ending_gets_its_types(world: World, docs_service: Any) -> None:
    attachment = attach(draft(world), field="photo", name="scan", content=PNG, content_type="")
    assert (attachment.name, attachment.content_type) == ("scan.png", "image/png")


@pytest.mark.parametrize(
    ("field", "name", "content", "content_type", "code", "message"),
    [
        (
            "contract",
            "contract.pdf",
            PNG,
            "application/pdf",
            "file_type_mismatch",
            "The file is not a PDF, although its name says so.",
        ),
        (
            "contract",
            "contract.pdf",
            HTML,
            "application/pdf",
            "file_type_mismatch",
            "The file is not a PDF, although its name says so.",
        ),
        (
            "contract",
            "contract.pdf",
            PDF,
            "image/png",
            "file_type_mismatch",
            "The file is not a PNG, although it was sent as one.",
        ),
        (
            "contract",
            "contract.pdf",
            PDF,
            "text/html",
            "file_type_mismatch",
            "The file is a PDF, but it was sent as another type.",
        ),
        (
            "contract",
            "contract.html",
            HTML,
            "text/html",
            "file_type_not_accepted",
            "Only these files can be attached here: PDF.",
        ),
        (
            "contract",
            "photo.jpg",
            JPEG,
            "image/jpeg",
            "file_type_not_accepted",
            "Only these files can be attached here: PDF.",
        ),
        (
            "contract",
            "contract.docx",
            PDF,
            "",
            "file_name_mismatch",
            "The name of a PDF file should end in .pdf.",
        ),
        ("contract", "contract.pdf", b"", "application/pdf", "file_empty", "The file is empty."),
        (
            "contract",
            "contract.pdf",
            PDF + b"%" * (2001 - len(PDF)),
            "application/pdf",
            "file_too_large",
            "The file is too large: it can be at most 2 KB.",
        ),
        (
            "photo",
            "photo.gif",
            b"GIF89a" + b"\x00" * 20,
            "image/gif",
            "file_type_not_accepted",
            "Only these files can be attached here: PDF, JPEG, PNG.",
        ),
    ],
)
def test_files_that_are_not_what_they_say_or_too_large_are_refused_and_nothing_is_kept(
    world: World,
    docs_service: Any,
    file_store: Path,
    field: str,
    name: str,
    content: bytes,
    content_type: str,
    code: str,
    message: str,
) -> None:
    application = draft(world)
    with pytest.raises(ValidationError) as refused:
        attach(application, field=field, name=name, content=content, content_type=content_type)
    assert (refused.value.code, str(refused.value.message), refused.value.field) == (
        code,
        message,
        "file",
    )
    assert not Attachment.objects.exists()
    assert stored_files(file_store) == []
    application.refresh_from_db()
    assert field not in application.answers


class Endless(SimpleUploadedFile):
    """An upload of 100 MB that counts how much of it was read."""

    def __init__(self) -> None:
        super().__init__("big.pdf", b"", content_type="application/pdf")
        self.read_bytes = 0

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]:
        size = chunk_size or 65536
        yield PDF
        for _ in range(100_000_000 // size):
            self.read_bytes += size
            yield b"%" * size


def test_the_size_limit_is_enforced_while_the_file_is_read(
    world: World, docs_service: Any, file_store: Path
) -> None:
    big = Endless()
    with pytest.raises(ValidationError) as refused:
        attachments.attachment_add(
            application=draft(world), field="photo", upload=big, by=world.applicant
        )
    assert refused.value.code == "file_too_large"
    assert str(refused.value.message) == "The file is too large: it can be at most 10 MB."
    assert big.read_bytes <= settings.ATTACHMENT_MAX_BYTES + storage.CHUNK
    assert stored_files(file_store) == []


@pytest.mark.parametrize(
    ("field", "code", "message"),
    [
        ("deed", "unknown_field", "The form has no such field."),
        ("", "unknown_field", "The form has no such field."),
        ("note", "not_an_attachment_field", "Files cannot be attached to this field."),
        ("buyer_iin", "not_an_attachment_field", "Files cannot be attached to this field."),
    ],
)
def test_files_only_go_to_fields_that_ask_for_one(
    world: World, docs_service: Any, file_store: Path, field: str, code: str, message: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        attach(draft(world), field=field)
    assert (refused.value.code, str(refused.value.message), refused.value.field) == (
        code,
        message,
        "field",
    )
    assert not Attachment.objects.exists()
    assert stored_files(file_store) == []


def test_nobody_attaches_to_another_persons_application(
    world: World, docs_service: Any, file_store: Path
) -> None:
    application = draft(world)
    for someone in (world.stranger, world.buyer, world.reviewer):
        with pytest.raises(NotFound):
            attach(application, by=someone)
    assert not Attachment.objects.exists()
    assert stored_files(file_store) == []


def test_nothing_is_attached_to_a_submitted_application(
    world: World, docs_service: Any, file_store: Path
) -> None:
    application = submitted(world)
    before = stored_files(file_store)
    with pytest.raises(Conflict) as refused:
        attach(application, field="photo", name="photo.png", content=PNG, content_type="image/png")
    assert str(refused.value.message) == "Files can no longer be attached to this application."
    assert Attachment.objects.count() == 1
    assert stored_files(file_store) == before


def test_an_application_holds_a_limited_number_of_files(
    world: World, docs_service: Any, file_store: Path, settings: Any
) -> None:
    settings.ATTACHMENTS_PER_APPLICATION = 1
    application = draft(world)
    attach(application)
    attach(application)  # replacing the contract does not add a file
    with pytest.raises(ValidationError) as refused:
        attach(application, field="photo", name="p.png", content=PNG, content_type="image/png")
    assert str(refused.value.message) == "An application can have at most 1 file."
    assert Attachment.objects.count() == 1
    assert len(stored_files(file_store)) == 1


def test_a_new_file_replaces_the_fields_old_one_in_a_draft(
    world: World, docs_service: Any, file_store: Path, django_capture_on_commit_callbacks: Any
) -> None:
    application = draft(world)
    first = attach(application)
    other = PDF + b"% second version\n"
    with django_capture_on_commit_callbacks(execute=True):
        second = attach(application, name="contract-v2.pdf", content=other)
    assert list(Attachment.objects.values_list("pk", flat=True)) == [second.pk]
    application.refresh_from_db()
    assert application.answers["contract"] == str(second.public_id)
    assert stored_files(file_store) == [storage.attachment_store().path(second.sha256)]
    assert first.sha256 != second.sha256


def test_removing_a_file_from_a_draft_unanswers_its_field(
    world: World, docs_service: Any, file_store: Path, django_capture_on_commit_callbacks: Any
) -> None:
    application = draft(world)
    attachment = attach(application)
    with django_capture_on_commit_callbacks(execute=True):
        attachments.attachment_remove(
            application=application, attachment_id=str(attachment.public_id), by=world.applicant
        )
    application.refresh_from_db()
    assert "contract" not in application.answers
    assert not Attachment.objects.exists()
    assert stored_files(file_store) == []


def test_a_removed_file_stays_stored_while_another_application_has_it(
    world: World, docs_service: Any, file_store: Path, django_capture_on_commit_callbacks: Any
) -> None:
    mine, theirs = draft(world), draft(world, world.spouse)
    attachment = attach(mine)
    attach(theirs)
    with django_capture_on_commit_callbacks(execute=True):
        attachments.attachment_remove(
            application=mine, attachment_id=str(attachment.public_id), by=world.applicant
        )
    assert stored_files(file_store) == [storage.attachment_store().path(attachment.sha256)]


def test_files_are_not_removed_after_submission_nor_by_others(
    world: World, docs_service: Any, file_store: Path
) -> None:
    application = draft(world)
    attachment = attach(application)
    with pytest.raises(NotFound):
        attachments.attachment_remove(
            application=application, attachment_id=str(attachment.public_id), by=world.stranger
        )
    with pytest.raises(NotFound):
        attachments.attachment_remove(
            application=application, attachment_id=str(uuid.uuid4()), by=world.applicant
        )
    application = submitted(world)
    with pytest.raises(Conflict) as refused:
        attachments.attachment_remove(
            application=application,
            attachment_id=str(application.attachments.get().public_id),
            by=world.applicant,
        )
    assert str(refused.value.message) == (
        "Files can only be removed before the application is submitted."
    )
    assert Attachment.objects.count() == 2


def test_while_the_agency_waits_files_go_with_the_answer(
    world: World, docs_service: Any, file_store: Path
) -> None:
    application = paused(world)
    answers = dict(application.answers)
    consent = attach(
        application, field=attachments.ANSWER_FIELD, name="consent.jpg", content=JPEG,
        content_type="image/jpeg",
    )  # fmt: skip
    assert (consent.field, consent.content_type) == ("", "image/jpeg")
    application.refresh_from_db()
    assert application.answers == answers  # the submitted answers do not change
    services.application_answer_info(
        application=application, applicant=world.applicant, answer="Attached."
    )
    with pytest.raises(Conflict):
        attach(application, field=attachments.ANSWER_FIELD)


# --- answers that name files ------------------------------------------------------------------


def test_an_answer_must_name_a_file_of_this_application_and_field(
    world: World, docs_service: Any, file_store: Path
) -> None:
    mine, theirs = draft(world), draft(world, world.spouse)
    photo = attach(mine, field="photo", name="p.png", content=PNG, content_type="image/png")
    foreign = attach(theirs)
    for value in (str(foreign.public_id), str(photo.public_id), str(uuid.uuid4()), "x"):
        with pytest.raises(ValidationError) as refused:
            services.application_save(
                application=mine, applicant=world.applicant, values={"contract": value}, step=1
            )
        assert refused.value.details["problems"] == [
            {"field": "contract", "message": "This file is not attached to this application."}
        ]
    mine.refresh_from_db()
    assert "contract" not in mine.answers


def test_submission_refuses_an_answer_naming_a_foreign_file(
    world: World, docs_service: Any, file_store: Path
) -> None:
    mine, theirs = draft(world), draft(world, world.spouse)
    services.application_save(application=mine, applicant=world.applicant, values={}, step=1)
    foreign = attach(theirs)
    Application.objects.filter(pk=mine.pk).update(
        answers={"buyer_iin": world.buyer.iin, "contract": str(foreign.public_id)}
    )
    with pytest.raises(ValidationError) as refused:
        services.application_submit(application=mine, applicant=world.applicant)
    assert refused.value.field == "contract"
    assert refused.value.details["problems"] == [
        {"field": "contract", "message": "This file is not attached to this application."}
    ]
    mine.refresh_from_db()
    assert mine.status == Status.DRAFT


def test_an_application_with_its_own_files_is_submitted(
    world: World, docs_service: Any, file_store: Path
) -> None:
    application = submitted(world)
    assert application.answers["contract"] == str(application.attachments.get().public_id)


# --- who may open a file ------------------------------------------------------------------------


def readers(world: World) -> dict[str, Any]:
    return {
        "applicant": world.applicant,
        "party": world.buyer,
        "clerk": world.clerk,
        "reviewer": world.reviewer,
        "head": world.head,
        "official of another agency": world.other_reviewer,
        "agency admin": world.admin,
        "another citizen": world.stranger,
        "anonymous": AnonymousUser(),
    }


MAY_READ = {"applicant", "party", "clerk", "reviewer", "head"}


def test_who_may_open_a_submitted_applications_files(
    world: World, docs_service: Any, file_store: Path
) -> None:
    application = submitted(world)
    attachment = application.attachments.get()
    for who, reader in readers(world).items():
        if who in MAY_READ:
            opened = attachments.attachment_open(
                application=application, attachment_id=str(attachment.public_id), reader=reader
            )
            with opened.file:
                assert opened.file.read() == PDF, who
            assert opened.attachment == attachment
        else:
            with pytest.raises(NotFound):
                attachments.attachment_open(
                    application=application,
                    attachment_id=str(attachment.public_id),
                    reader=reader,
                )


def test_a_drafts_files_are_the_applicants_alone(
    world: World, docs_service: Any, file_store: Path
) -> None:
    application = draft(world)
    attachment = attach(application)
    allowed = {
        who for who, reader in readers(world).items() if attachments.may_read(application, reader)
    }
    assert allowed == {"applicant"}
    with pytest.raises(NotFound):
        attachments.attachment_open(
            application=application, attachment_id=str(attachment.public_id), reader=world.head
        )


def test_a_file_missing_from_the_store_is_not_found(
    world: World, docs_service: Any, file_store: Path
) -> None:
    application = draft(world)
    attachment = attach(application)
    storage.attachment_store().delete(attachment.sha256)
    with pytest.raises(NotFound) as missing:
        attachments.attachment_open(
            application=application,
            attachment_id=str(attachment.public_id),
            reader=world.applicant,
        )
    assert missing.value.code == "attachment_missing"


def test_limits_are_told_in_words(docs_service: Any) -> None:
    form = docs_service.form
    assert attachments.attachment_limits(form, "contract").hint == "PDF, at most 2 KB."
    assert attachments.attachment_limits(form, "photo").hint == "PDF, JPEG, PNG, at most 10 MB."
    assert attachments.attachment_limits(form, "contract").accept_attribute == (
        "application/pdf,.pdf"
    )


def test_uploaded_file_names_are_cleaned(world: World, docs_service: Any) -> None:
    attachment = attachments.attachment_add(
        application=draft(world),
        field="contract",
        upload=upload('..\\..\\evil"; x=.pdf', PDF, "application/pdf"),
        by=world.applicant,
    )
    assert attachment.name == "evil x=.pdf"


# --- the malware scanner --------------------------------------------------------------------


def test_a_file_the_scanner_finds_harmful_is_refused_and_nothing_is_kept(
    world: World, docs_service: Any, file_store: Path
) -> None:
    assert settings.ATTACHMENT_SCANNER == "fake"  # the tests' scanner finds the EICAR file
    application = draft(world)
    with pytest.raises(ValidationError) as refused:
        attach(application, content=PDF + EICAR)
    assert (refused.value.code, refused.value.field) == ("file_infected", "file")
    assert str(refused.value.message).startswith("The file contains a virus")
    assert not Attachment.objects.exists()
    assert stored_files(file_store) == []
    application.refresh_from_db()
    assert "contract" not in application.answers


def test_no_file_is_taken_while_the_scanner_gives_no_answer(
    world: World, docs_service: Any, file_store: Path, settings: Any
) -> None:
    with FakeClamd(answer="") as clamd:
        settings.ATTACHMENT_SCANNER = clamd.setting
    # The daemon has stopped: nobody answers at its address any more.
    application = draft(world)
    with pytest.raises(ValidationError) as refused:
        attach(application)
    assert refused.value.code == "file_not_scanned"
    assert str(refused.value.message) == (
        "Files cannot be checked for viruses just now. Try again in a few minutes."
    )
    assert not Attachment.objects.exists()
    assert stored_files(file_store) == []


def test_clamd_reads_the_whole_file_before_it_is_kept(
    world: World, docs_service: Any, file_store: Path, settings: Any
) -> None:
    application = draft(world)
    with FakeClamd() as clamd:
        settings.ATTACHMENT_SCANNER = clamd.setting
        attachment = attach(application, content=PDF)
        with pytest.raises(ValidationError) as refused:
            attach(application, name="other.pdf", content=PDF + EICAR)
    assert clamd.received == [PDF, PDF + EICAR]
    assert refused.value.code == "file_infected"
    assert list(Attachment.objects.values_list("pk", flat=True)) == [attachment.pk]
    assert [path.name for path in stored_files(file_store)] == [hashlib.sha256(PDF).hexdigest()]


def test_files_of_an_unscanned_installation_are_taken(
    world: World, docs_service: Any, file_store: Path, settings: Any
) -> None:
    settings.ATTACHMENT_SCANNER = ""
    assert attach(draft(world), content=PDF + EICAR).size == len(PDF + EICAR)


def test_the_deployment_check_wants_a_real_scanner(settings: Any) -> None:
    from shanyraq.casework.apps import check_attachment_scanner, check_attachment_scanner_deployed

    for setting in ("", "fake"):
        settings.ATTACHMENT_SCANNER = setting
        assert [m.id for m in check_attachment_scanner_deployed()] == ["casework.W001"]
        assert check_attachment_scanner() == []
    settings.ATTACHMENT_SCANNER = "clamd:///run/clamav/clamd.ctl"
    assert check_attachment_scanner_deployed() == check_attachment_scanner() == []
    settings.ATTACHMENT_SCANNER = "antivirus"
    assert [m.id for m in check_attachment_scanner()] == ["casework.E002"]
