"""Recording domain events and delivering them to their handlers.

A service calls ``event_record`` inside its transaction, so the event exists exactly when the
change does. ``events_dispatch`` (run by ``shanyraq events dispatch``, once or in a loop) hands
each pending event to every handler subscribed to its type. A handler runs in a transaction
together with its receipt, so a handler that succeeded is never run again for the same event,
and one that failed is retried on the next pass: delivery is at least once, effects once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import Event, HandledEvent

__all__ = [
    "DispatchReport",
    "event_record",
    "events_dispatch",
    "events_record_many",
    "subscribe",
    "subscribe_batch",
]

logger = logging.getLogger(__name__)

Handler = Callable[[Event], None]
BatchHandler = Callable[[Sequence[Event]], None]
_handlers: dict[str, dict[str, Handler]] = {}
_batch_handlers: dict[str, dict[str, BatchHandler]] = {}

MAX_ATTEMPTS = 20


def subscribe(event_type: str, name: str) -> Callable[[Handler], Handler]:
    """Register ``handler`` for ``event_type`` under a stable ``name`` (its receipt's key)."""

    def register(handler: Handler) -> Handler:
        _handlers.setdefault(event_type, {})[name] = handler
        return handler

    return register


def subscribe_batch(event_type: str, name: str) -> Callable[[BatchHandler], BatchHandler]:
    """Register ``handler`` for ``event_type``, given many events of that type at once.

    The handler and the batch's receipts commit together; when the batch fails, each event
    is handed over again alone, so that one bad event holds back only itself.
    """

    def register(handler: BatchHandler) -> BatchHandler:
        _batch_handlers.setdefault(event_type, {})[name] = handler
        single: Handler = lambda event: handler([event])  # noqa: E731
        _handlers.setdefault(event_type, {})[name] = single
        return handler

    return register


def handlers_for(event_type: str) -> Mapping[str, Handler]:
    return _handlers.get(event_type, {})


def event_record(*, type: str, payload: Mapping[str, Any]) -> Event:
    """Record an event in the caller's transaction."""
    return events_record_many(type=type, payloads=[payload])[0]


def events_record_many(*, type: str, payloads: Sequence[Mapping[str, Any]]) -> list[Event]:
    """Record events of one type in the caller's transaction, with one insert."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("events are recorded inside the transaction of their change")
    events = [Event(type=type, payload=dict(payload)) for payload in payloads]
    if len(events) == 1:
        events[0].save(force_insert=True)
        return events
    return Event.objects.bulk_create(events)


@dataclass
class DispatchReport:
    events: int = 0
    handled: int = 0
    failed: int = 0


def _handle(event: Event, name: str, handler: Handler) -> bool:
    try:
        with transaction.atomic():
            HandledEvent.objects.create(event=event, handler=name)
            handler(event)
    except IntegrityError:
        return True  # another dispatcher handled it first
    except Exception as exc:  # a handler's failure must not stop the others
        logger.exception("event %s: handler %s failed", event.pk, name)
        Event.objects.filter(pk=event.pk).update(last_error=f"{name}: {exc}"[:2000])
        return False
    return True


def events_dispatch(*, batch: int = 500) -> DispatchReport:
    """Deliver pending events once; return what was done.

    Events no handler listens to are marked delivered together; the receipts of the batch's
    other events are read in one query; batch handlers get all their events at once, and the
    events whose batch failed are handed to them one by one.
    """
    report = DispatchReport()
    pending = list(
        Event.objects.filter(dispatched_at__isnull=True, attempts__lt=MAX_ATTEMPTS).order_by("id")[
            :batch
        ]
    )
    unheard = [e.pk for e in pending if not handlers_for(e.type)]
    if unheard:
        Event.objects.filter(pk__in=unheard).update(dispatched_at=timezone.now())
        report.events += len(unheard)
    heard = [e for e in pending if handlers_for(e.type)]
    receipts: dict[int, set[str]] = {}
    for event_id, receipt in HandledEvent.objects.filter(
        event_id__in=[e.pk for e in heard]
    ).values_list("event_id", "handler"):
        receipts.setdefault(event_id, set()).add(receipt)
    for event_type, name, batch_handler in _batches(heard):
        todo = [e for e in heard if e.type == event_type and name not in receipts.get(e.pk, ())]
        if todo and _handle_batch(todo, name, batch_handler):
            report.handled += len(todo)
            for event in todo:
                receipts.setdefault(event.pk, set()).add(name)
    for event in heard:
        report.events += 1
        done = receipts.get(event.pk, set())
        ok = True
        for name, handler in handlers_for(event.type).items():
            if name in done:
                continue
            if _handle(event, name, handler):
                report.handled += 1
            else:
                ok = False
                report.failed += 1
        if ok:
            Event.objects.filter(pk=event.pk).update(dispatched_at=timezone.now())
        else:
            Event.objects.filter(pk=event.pk).update(attempts=event.attempts + 1)
    return report


def _batches(events: Sequence[Event]) -> list[tuple[str, str, BatchHandler]]:
    types = dict.fromkeys(e.type for e in events)
    return [
        (event_type, name, handler)
        for event_type in types
        for name, handler in _batch_handlers.get(event_type, {}).items()
    ]


def _handle_batch(events: Sequence[Event], name: str, handler: BatchHandler) -> bool:
    """Hand ``events`` over at once with their receipts; False when that failed (the events
    are then handed over one by one)."""
    try:
        with transaction.atomic():
            HandledEvent.objects.bulk_create([HandledEvent(event=e, handler=name) for e in events])
            handler(events)
    except Exception:  # one at a time next, so that a bad event holds back only itself
        logger.warning("events: a batch of %s for %s failed; one at a time", len(events), name)
        return False
    return True
