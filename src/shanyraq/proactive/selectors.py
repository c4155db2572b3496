"""Reading offers and consents (their person only) and the measures of proactive services."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from shanyraq.accounts.models import User
from shanyraq.casework.models import Application
from shanyraq.core.errors import NotFound
from shanyraq.core.text import TranslatedText

from .models import Consent, ItemStatus, Offer, OfferItem, OfferStatus, Trigger

__all__ = [
    "DeliveryShare",
    "ServiceMeasures",
    "consent_for",
    "consents_of",
    "delivery_share",
    "measures",
    "offer_for",
    "offers_of",
]

# Percentiles are taken over the most recent offers and decisions of each service.
MEASURED_LATEST = 10_000


def _items() -> Prefetch[Any]:
    return Prefetch(
        "items",
        queryset=OfferItem.objects.select_related(
            "service_version__service__agency", "application"
        ),
    )


def offers_of(person: User) -> QuerySet[Offer]:
    """The offers made to ``person``, newest first."""
    if not person.iin:
        return Offer.objects.none()
    return Offer.objects.filter(iin=person.iin).prefetch_related(_items())


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound(code="offer_not_found", message=_("There is no such offer.")) from None


def offer_for(person: User, public_id: str) -> Offer:
    """An offer made to ``person``; ``NotFound`` for anyone else's."""
    offer = offers_of(person).filter(public_id=_uuid(public_id)).first()
    if offer is None:
        raise NotFound(code="offer_not_found", message=_("There is no such offer."))
    return offer


def consents_of(person: User) -> QuerySet[Consent]:
    return Consent.objects.filter(user=person).select_related("offer")


def consent_for(person: User, public_id: str) -> Consent:
    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        key = None
    consent = consents_of(person).filter(public_id=key).first() if key else None
    if consent is None:
        raise NotFound(code="consent_not_found", message=_("There is no such consent."))
    return consent


def open_offers_count(person: User) -> int:
    if not person.iin:
        return 0
    return Offer.objects.filter(iin=person.iin, status=OfferStatus.OPEN).count()


# --- Measures ------------------------------------------------------------------------------


def _percentile(values: Sequence[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


@dataclass(frozen=True)
class ServiceMeasures:
    """What one proactive service did: events looked at, offers and their answers, and how
    long people waited."""

    service: str
    agency: str
    name: dict[str, str]
    events_seen: int
    offered: int
    accepted: int
    declined: int
    expired: int
    taken: int
    failed: int
    open: int
    event_to_offer_p50_s: float | None
    event_to_offer_p95_s: float | None
    acceptance_to_decision_p50_s: float | None
    acceptance_to_decision_p95_s: float | None


def measures(*, agency_ids: Iterable[int] | None = None) -> list[ServiceMeasures]:
    """Per proactive service (all versions together), optionally of some agencies only."""
    triggers = Trigger.objects.all()
    if agency_ids is not None:
        triggers = triggers.filter(service_version__service__agency_id__in=list(agency_ids))
    seen = {
        row["service_version__service__code"]: row
        for row in triggers.values(
            "service_version__service__code",
            "service_version__service__agency__code",
            "service_version__service__current_version__name",
        ).annotate(events=Count("pk"))
    }
    results = []
    for code, row in sorted(seen.items()):
        items = OfferItem.objects.filter(service_version__service__code=code)
        counts = items.aggregate(
            offered=Count("pk"),
            accepted=Count("pk", filter=Q(status=ItemStatus.APPLIED)),
            declined=Count("pk", filter=Q(status=ItemStatus.DECLINED)),
            expired=Count("pk", filter=Q(status=ItemStatus.EXPIRED)),
            taken=Count("pk", filter=Q(status=ItemStatus.TAKEN)),
            failed=Count("pk", filter=Q(status=ItemStatus.FAILED)),
            open=Count("pk", filter=Q(status=ItemStatus.OFFERED)),
        )
        waits = [
            (made - happened).total_seconds()
            for made, happened in items.order_by("-pk").values_list(
                "offer__created_at", "offer__event_at"
            )[:MEASURED_LATEST]
        ]
        # Only items applied for and decided have both times.
        decided = [
            (done - applied).total_seconds()
            for applied, done in items.filter(
                application__decided_at__isnull=False, applied_at__isnull=False
            )
            .order_by("-pk")
            .values_list("applied_at", "application__decided_at")[:MEASURED_LATEST]
            if applied is not None and done is not None
        ]
        results.append(
            ServiceMeasures(
                service=code,
                agency=row["service_version__service__agency__code"],
                name=TranslatedText.from_value(
                    row["service_version__service__current_version__name"], partial=True
                ).to_dict(),
                events_seen=row["events"],
                event_to_offer_p50_s=_percentile(waits, 0.5),
                event_to_offer_p95_s=_percentile(waits, 0.95),
                acceptance_to_decision_p50_s=_percentile(decided, 0.5),
                acceptance_to_decision_p95_s=_percentile(decided, 0.95),
                **counts,
            )
        )
    return results


@dataclass(frozen=True)
class DeliveryShare:
    """How many applications came from accepted offers, of all submitted."""

    proactive: int
    total: int

    @property
    def share(self) -> float:
        return round(self.proactive / self.total, 4) if self.total else 0.0


def delivery_share(*, agency_ids: Iterable[int] | None = None) -> DeliveryShare:
    applications = Application.objects.filter(submitted_at__isnull=False)
    items = OfferItem.objects.filter(application__isnull=False)
    if agency_ids is not None:
        wanted = list(agency_ids)
        applications = applications.filter(agency_id__in=wanted)
        items = items.filter(application__agency_id__in=wanted)
    return DeliveryShare(proactive=items.count(), total=applications.count())
