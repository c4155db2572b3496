"""Files attached to applications: attaching, removing and opening them, and who may.

- **Attaching.** Only the applicant, and only while the application is a draft (to a field of
  the form that asks for a file, ``{"type": "string", "format": "attachment"}``) or while the
  agency waits for their information (to such a field, or with the answer: ``field=""``). A
  file is checked as it is read: no more bytes than the field allows (``ui.attachments``, at
  most ``ATTACHMENT_MAX_BYTES``), not empty, and its first bytes must show one of the types the
  field accepts, the type its name and its declared type claim. An application holds at most
  ``ATTACHMENTS_PER_APPLICATION`` files. In a draft a field holds one file: a new one replaces
  the old, and the field's answer becomes the new file's identifier. Last, the malware scanner
  (``ATTACHMENT_SCANNER``, ``shanyraq.core.scanning``) reads it: a file it finds harmful, or a
  file it could not scan, is refused.
- **Removing.** Only from a draft. After submission files stay: the row (who, when, the
  digest) is the record of what was sent, so attaching writes no history entry of its own.
- **Opening.** The applicant; a person the application names as a party, once it is
  submitted; officials (clerk, reviewer, head of unit) of the agency that handles it, once it
  is submitted and if it is not their own. To anyone else the file does not exist. These are
  the rules by which ``casework.selectors`` finds an application for each of them; they are
  checked here again, so that no interface can serve a file by forgetting them.

The file goes into the store (``casework.storage``) before its row is written, in the same
lock, and is deleted when no row refers to it any more: a failure leaves at worst a file no
row names, never a row without its file.
"""

from __future__ import annotations

import logging
import unicodedata
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.formats import number_format
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from shanyraq.accounts import selectors as account_selectors
from shanyraq.accounts.models import OFFICIAL_ROLES, User
from shanyraq.core.errors import Conflict, NotFound, ValidationError
from shanyraq.core.files import (
    CHUNK,
    KIND_NAMES,
    SUPPORTED_TYPES,
    EmptyFile,
    FileStore,
    FileTooLarge,
    Received,
    attachment_store,
    clean_filename,
    extension_of,
    sniff,
)
from shanyraq.core.scanning import ScannerUnavailable, attachment_scanner

from .forms import attachment_fields
from .models import Application, Attachment, Party, Status

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise

__all__ = [
    "ANSWER_FIELD",
    "KIND_NAMES",
    "Limits",
    "OpenedAttachment",
    "attachment_add",
    "attachment_limits",
    "attachment_open",
    "attachment_remove",
    "may_read",
    "size_text",
]

logger = logging.getLogger(__name__)

ANSWER_FIELD = ""
"""The field of a file sent with an answer to the agency's question."""
# What browsers and programs call the supported types besides their proper names.
_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "application/x-pdf": "application/pdf",
    "image/x-png": "image/png",
}
# A declared type that says nothing about the file.
_GENERIC_TYPES = {"", "application/octet-stream", "binary/octet-stream", "application/unknown"}
_BY_ENDING = {ending: kind for kind, endings in SUPPORTED_TYPES.items() for ending in endings}


def size_text(size: int) -> str:
    """A number of bytes as people read it: "5 MB", "750 KB", "0,5 KB" (decimal units)."""
    if size >= 1_000_000:
        return gettext("%(n)s MB") % {"n": _number(size / 1_000_000)}
    return gettext("%(n)s KB") % {"n": _number(max(size, 100) / 1000)}


def _number(value: float) -> str:
    rounded = round(value, 1)
    if rounded.is_integer():
        return number_format(int(rounded))
    return number_format(rounded, decimal_pos=1)


@dataclass(frozen=True)
class Limits:
    """What a field takes: the types (in the form's order) and the most bytes."""

    accept: tuple[str, ...]
    max_bytes: int

    @property
    def kinds(self) -> str:
        """The accepted types as people name them: "PDF, JPEG"."""
        return ", ".join(KIND_NAMES[kind] for kind in self.accept)

    @property
    def accept_attribute(self) -> str:
        """For ``<input type="file" accept=...>``: the types and their name endings."""
        endings = [f".{ending}" for kind in self.accept for ending in SUPPORTED_TYPES[kind]]
        return ",".join([*self.accept, *endings])

    @property
    def hint(self) -> str:
        return gettext("%(kinds)s, at most %(size)s.") % {
            "kinds": self.kinds,
            "size": size_text(self.max_bytes),
        }


def attachment_limits(form: Mapping[str, Any], field: str) -> Limits:
    """The limits of a field (the defaults for a file sent with an answer)."""
    cap = int(settings.ATTACHMENT_MAX_BYTES)
    declared = ((form.get("ui") or {}).get("attachments") or {}).get(field) or {}
    accept = tuple(k for k in declared.get("accept") or SUPPORTED_TYPES if k in SUPPORTED_TYPES)
    max_bytes = declared.get("max_bytes")
    if type(max_bytes) is not int or not 0 < max_bytes <= cap:
        max_bytes = cap
    return Limits(accept or tuple(SUPPORTED_TYPES), max_bytes)


# --- who may ------------------------------------------------------------------------------


def _not_found() -> NotFound:
    return NotFound(code="application_not_found", message=_("There is no such application."))


def _no_such_file() -> NotFound:
    return NotFound(code="attachment_not_found", message=_("There is no such file."))


def may_read(application: Application, reader: User) -> bool:
    """Whether ``reader`` may open the application's files (see the module's rules)."""
    if not reader.is_authenticated or not reader.is_active:
        return False
    if application.applicant_id == reader.pk:
        return True
    if application.status == Status.DRAFT:
        return False
    if application.agency_id in account_selectors.agency_ids_for(reader, OFFICIAL_ROLES):
        return True
    return (
        bool(reader.iin)
        and Party.objects.filter(application_id=application.pk, iin=reader.iin).exists()
    )


def _own(application: Application, person: User) -> None:
    if application.applicant_id != person.pk:
        raise _not_found()


def _locked(application: Application) -> Application:
    return (
        Application.objects.select_for_update(of=("self",))
        .select_related("service_version")
        .get(pk=application.pk)
    )


def _find(application: Application, attachment_id: str) -> Attachment:
    try:
        public_id = uuid.UUID(str(attachment_id))
    except ValueError:
        raise _no_such_file() from None
    found = Attachment.objects.filter(application_id=application.pk, public_id=public_id).first()
    if found is None:
        raise _no_such_file()
    return found


# --- attaching ----------------------------------------------------------------------------


def _field_limits(application: Application, field: str, form: Mapping[str, Any]) -> Limits:
    """The limits of ``field`` if a file may be attached to it now, or why not."""
    if application.status not in {Status.DRAFT, Status.PAUSED}:
        raise Conflict(
            code="attachments_closed",
            message=_("Files can no longer be attached to this application."),
        )
    if field == ANSWER_FIELD and application.status == Status.PAUSED:
        return attachment_limits(form, field)
    if field not in ((form.get("schema") or {}).get("properties") or {}):
        raise ValidationError(
            code="unknown_field", message=_("The form has no such field."), field="field"
        )
    if field not in attachment_fields(form):
        raise ValidationError(
            code="not_an_attachment_field",
            message=_("Files cannot be attached to this field."),
            field="field",
        )
    return attachment_limits(form, field)


def _too_many(application: Application, replaced: int = 0) -> None:
    most = int(settings.ATTACHMENTS_PER_APPLICATION)
    if Attachment.objects.filter(application_id=application.pk).count() - replaced >= most:
        raise ValidationError(
            code="too_many_files",
            message=ngettext(
                "An application can have at most %(n)s file.",
                "An application can have at most %(n)s files.",
                most,
            )
            % {"n": most},
            field="file",
        )


def _file_problem(code: str, message: _StrOrPromise) -> ValidationError:
    return ValidationError(code=code, message=message, field="file")


def _receive(store: FileStore, upload: UploadedFile[bytes], limits: Limits) -> Received:
    try:
        return store.receive(upload.chunks(CHUNK), max_bytes=limits.max_bytes)
    except FileTooLarge:
        raise _file_problem(
            "file_too_large",
            gettext("The file is too large: it can be at most %(size)s.")
            % {"size": size_text(limits.max_bytes)},
        ) from None
    except EmptyFile:
        raise _file_problem("file_empty", _("The file is empty.")) from None


def _declared(content_type: str | None) -> str:
    declared = (content_type or "").split(";")[0].strip().lower()
    return _ALIASES.get(declared, declared)


def _checked_type(received: Received, name: str, declared_type: str | None, limits: Limits) -> str:
    """The file's type by its first bytes, if it is one the field accepts and the one its
    name and its declared type claim."""
    sniffed = sniff(received.head)
    ending = extension_of(name)
    by_name = _BY_ENDING.get(ending)
    if by_name is not None and sniffed != by_name:
        raise _file_problem(
            "file_type_mismatch",
            gettext("The file is not a %(kind)s, although its name says so.")
            % {"kind": KIND_NAMES[by_name]},
        )
    declared = _declared(declared_type)
    if declared in KIND_NAMES and sniffed != declared:
        raise _file_problem(
            "file_type_mismatch",
            gettext("The file is not a %(kind)s, although it was sent as one.")
            % {"kind": KIND_NAMES[declared]},
        )
    if sniffed is None or sniffed not in limits.accept:
        raise _file_problem(
            "file_type_not_accepted",
            gettext("Only these files can be attached here: %(kinds)s.") % {"kinds": limits.kinds},
        )
    if declared not in _GENERIC_TYPES and declared != sniffed:
        raise _file_problem(
            "file_type_mismatch",
            gettext("The file is a %(kind)s, but it was sent as another type.")
            % {"kind": KIND_NAMES[sniffed]},
        )
    if ending and by_name is None:
        raise _file_problem(
            "file_name_mismatch",
            gettext("The name of a %(kind)s file should end in %(endings)s.")
            % {
                "kind": KIND_NAMES[sniffed],
                "endings": ", ".join(f".{e}" for e in SUPPORTED_TYPES[sniffed]),
            },
        )
    return sniffed


def _scanned(received: Received) -> None:
    """The file passes the malware scanner, when there is one (``ATTACHMENT_SCANNER``)."""
    scanner = attachment_scanner()
    if scanner is None:
        return
    try:
        verdict = scanner.scan(received.temp)
    except ScannerUnavailable as error:
        logger.error("attachment not scanned, refused: %s", error)
        raise _file_problem(
            "file_not_scanned",
            _("Files cannot be checked for viruses just now. Try again in a few minutes."),
        ) from None
    if not verdict.clean:
        logger.warning(
            "attachment refused: %s found by %s in %s",
            verdict.threat,
            scanner.name,
            received.sha256,
        )
        raise _file_problem(
            "file_infected",
            _(
                "The file contains a virus or other harmful software, so it was not attached. "
                "Check your device and attach a clean copy."
            ),
        )


def _stored_name(name: str, content_type: str) -> str:
    """The name the file is kept under: cleaned, with its type's ending when it had none."""
    cleaned = clean_filename(name)
    if not extension_of(cleaned):
        cleaned = f"{cleaned}.{SUPPORTED_TYPES[content_type][0]}"
    return cleaned


@transaction.atomic
def _attach(
    *,
    application: Application,
    field: str,
    received: Received,
    name: str,
    content_type: str,
    by: User,
) -> tuple[Attachment, list[str]]:
    """The row of a file read into the store, in a transaction holding the application: the
    file put under its name, the field's earlier file (in a draft) replaced."""
    locked = _locked(application)
    form = locked.service_version.form or {}
    _field_limits(locked, field, form)
    draft = locked.status == Status.DRAFT
    replaced = list(locked.attachments.filter(field=field)) if draft else []
    _too_many(locked, replaced=len(replaced))
    received.commit()
    attachment = Attachment.objects.create(
        application=locked,
        field=field,
        name=name,
        content_type=content_type,
        size=received.size,
        sha256=received.sha256,
        uploaded_by=by,
    )
    if replaced:
        Attachment.objects.filter(pk__in=[old.pk for old in replaced]).delete()
    if draft:
        locked.answers = {**locked.answers, field: str(attachment.public_id)}
        locked.save(update_fields=["answers", "updated_at"])
    application.answers = locked.answers
    return attachment, [old.sha256 for old in replaced]


def attachment_add(
    *, application: Application, field: str, upload: UploadedFile[bytes], by: User
) -> Attachment:
    """Attach ``upload`` to ``field`` of the applicant's application (see the module's rules).

    Everything is checked before anything is kept: a refused file leaves no row and no file.
    Raises ``NotFound`` (not the applicant's), ``Conflict`` (no longer possible),
    ``ValidationError`` (the field, the number of files, the file's size or type).
    """
    _own(application, by)
    form = application.service_version.form or {}
    limits = _field_limits(application, field, form)
    draft = application.status == Status.DRAFT
    _too_many(
        application, replaced=application.attachments.filter(field=field).count() if draft else 0
    )
    store = attachment_store()
    received = _receive(store, upload, limits)
    try:
        content_type = _checked_type(received, upload.name or "", upload.content_type, limits)
        _scanned(received)
        with store.lock():
            attachment, replaced = _attach(
                application=application,
                field=field,
                received=received,
                name=_stored_name(upload.name or "", content_type),
                content_type=content_type,
                by=by,
            )
    except BaseException:
        received.discard()
        if received.committed:
            _forget(store, [received.sha256])
        raise
    if replaced:
        transaction.on_commit(lambda: _forget(store, replaced))
    return attachment


def _forget(store: FileStore, digests: Iterable[str]) -> None:
    """Delete the stored files no attachment refers to any more."""
    with store.lock():
        for digest in set(digests):
            if not Attachment.objects.filter(sha256=digest).exists():
                store.delete(digest)


# --- removing -----------------------------------------------------------------------------


@transaction.atomic
def attachment_remove(*, application: Application, attachment_id: str, by: User) -> Attachment:
    """Remove a file from the applicant's draft; the field it answered is left unanswered.
    The stored file goes once the removal is committed, unless another row still names it."""
    _own(application, by)
    locked = _locked(application)
    if locked.status != Status.DRAFT:
        raise Conflict(
            code="not_a_draft",
            message=_("Files can only be removed before the application is submitted."),
        )
    attachment = _find(locked, attachment_id)
    attachment.delete()
    if locked.answers.get(attachment.field) == str(attachment.public_id):
        locked.answers = {k: v for k, v in locked.answers.items() if k != attachment.field}
        locked.save(update_fields=["answers", "updated_at"])
    application.answers = locked.answers
    store, digest = attachment_store(), attachment.sha256
    transaction.on_commit(lambda: _forget(store, [digest]))
    return attachment


# --- opening ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenedAttachment:
    """A file to send: its row (name, sniffed type, size) and its content, open for reading."""

    attachment: Attachment
    file: BinaryIO

    @property
    def ascii_name(self) -> str:
        """The name in plain ASCII, for clients that do not read ``filename*``."""
        name = self.attachment.name
        plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
        plain = "".join(ch if ch.isalnum() or ch in "-_. " else "_" for ch in plain)
        ending = extension_of(name)
        stem = plain[: -len(ending) - 1] if ending else plain
        if not stem.strip(" ._"):
            return f"file.{ending}" if ending else "file"
        return plain


def attachment_open(
    *, application: Application, attachment_id: str, reader: User
) -> OpenedAttachment:
    """A file of the application for ``reader`` to download, or ``NotFound``: for an
    application or file they may not see, as for one that does not exist."""
    if not may_read(application, reader):
        raise _not_found()
    attachment = _find(application, attachment_id)
    try:
        content = attachment_store().open(attachment.sha256)
    except FileNotFoundError:
        logger.error(
            "attachment %s of %s: stored file %s is missing",
            attachment.public_id,
            application.number,
            attachment.sha256,
        )
        raise NotFound(
            code="attachment_missing", message=_("The file could not be found.")
        ) from None
    return OpenedAttachment(attachment, content)
