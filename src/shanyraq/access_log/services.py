"""Writing the data tracker: one access record per person a read concerns.

``access_record`` is called by the selectors that show a person's data to an official or an
agency system, inside the transaction of the read, so a read that fails records nothing and a
read that is shown is never missing from the tracker.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shanyraq.accounts.models import User
from shanyraq.catalog.models import Agency
from shanyraq.core.errors import ValidationError

from .models import AccessAction, AccessRecord

__all__ = [
    "MAX_BASIS",
    "MAX_CASE_REF",
    "MAX_PURPOSE",
    "Access",
    "AccessAction",
    "Read",
    "access_record",
    "access_records_many",
]

MAX_PURPOSE = 300
MAX_BASIS = 300
MAX_CASE_REF = 100


@dataclass(frozen=True)
class Read:
    """What was shown of one record, and the people it is about."""

    register: str
    record: uuid.UUID
    subjects: Sequence[str]
    fields: Sequence[str]


def _actor_name(actor: User | None, actor_name: str) -> str:
    if actor_name:
        return actor_name[:150]
    if actor is None:
        return ""
    return (actor.full_name or actor.username)[:150]


def access_record(
    *,
    actor: User | None,
    agency: Agency,
    action: AccessAction,
    purpose: str,
    legal_basis: str,
    reads: Iterable[Read],
    case_ref: str = "",
    actor_name: str = "",
) -> list[AccessRecord]:
    """Record that ``actor`` of ``agency`` was shown ``reads``: one row per person and record.

    Must run inside the caller's transaction: the record and the read it describes commit or
    roll back together.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("access_record must run inside the transaction of the read")
    purpose, legal_basis = (purpose or "").strip(), (legal_basis or "").strip()
    if not purpose or not legal_basis:
        raise ValidationError(
            code="purpose_required",
            message=_("State the purpose and the legal basis of reading a person's data."),
            field="purpose" if not purpose else "basis",
        )
    now = timezone.now()
    name = _actor_name(actor, actor_name)
    rows = [
        AccessRecord(
            actor=actor,
            actor_name=name,
            agency=agency,
            subject_iin=iin,
            register=read.register,
            record=read.record,
            action=action,
            fields=list(read.fields),
            purpose=purpose[:MAX_PURPOSE],
            legal_basis=legal_basis[:MAX_BASIS],
            case_ref=(case_ref or "").strip()[:MAX_CASE_REF],
            created_at=now,
        )
        for read in reads
        for iin in dict.fromkeys(read.subjects)
    ]
    return AccessRecord.objects.bulk_create(rows)


@dataclass(frozen=True)
class Access:
    """One agency system's reads for one purpose, as ``access_record`` takes them."""

    agency: Agency
    purpose: str
    legal_basis: str
    case_ref: str
    actor_name: str
    reads: Sequence[Read]


def access_records_many(accesses: Sequence[Access]) -> int:
    """Record many agency systems' reads in one insert (the platform's batch work: offering
    services after many life events); the rules of ``access_record`` hold for each."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("access records are written inside the transaction of the read")
    now = timezone.now()
    rows = []
    for access in accesses:
        purpose, legal_basis = access.purpose.strip(), access.legal_basis.strip()
        if not purpose or not legal_basis:
            raise ValidationError(
                code="purpose_required",
                message=_("State the purpose and the legal basis of reading a person's data."),
                field="purpose" if not purpose else "basis",
            )
        rows += [
            AccessRecord(
                actor=None,
                actor_name=access.actor_name[:150],
                agency=access.agency,
                subject_iin=iin,
                register=read.register,
                record=read.record,
                action=AccessAction.READ,
                fields=list(read.fields),
                purpose=purpose[:MAX_PURPOSE],
                legal_basis=legal_basis[:MAX_BASIS],
                case_ref=access.case_ref.strip()[:MAX_CASE_REF],
                created_at=now,
            )
            for read in access.reads
            for iin in dict.fromkeys(read.subjects)
        ]
    return len(AccessRecord.objects.bulk_create(rows, batch_size=2000))
