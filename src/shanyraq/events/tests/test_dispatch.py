from __future__ import annotations

import pytest
from django.db import transaction

from shanyraq.events import services
from shanyraq.events.models import Event, HandledEvent

pytestmark = pytest.mark.django_db

calls: list[tuple[str, int]] = []


@services.subscribe("test.happened", "test.counter")
def _count(event: Event) -> None:
    calls.append(("counter", event.pk))


@services.subscribe("test.happened", "test.flaky")
def _flaky(event: Event) -> None:
    if event.payload.get("fail"):
        raise RuntimeError("not today")
    calls.append(("flaky", event.pk))


@pytest.fixture(autouse=True)
def _reset():
    calls.clear()


def record(**payload):
    with transaction.atomic():
        return services.event_record(type="test.happened", payload=payload)


@pytest.mark.django_db(transaction=True)
def test_events_need_the_changes_transaction():
    with pytest.raises(RuntimeError):
        services.event_record(type="test.happened", payload={})


def test_each_handler_runs_once_even_when_delivered_again():
    event = record()
    report = services.events_dispatch()
    assert (report.events, report.handled, report.failed) == (1, 2, 0)
    Event.objects.filter(pk=event.pk).update(dispatched_at=None)  # delivered a second time
    services.events_dispatch()
    assert sorted(calls) == [("counter", event.pk), ("flaky", event.pk)]
    assert HandledEvent.objects.filter(event=event).count() == 2


def test_a_failing_handler_is_retried_without_repeating_the_others():
    event = record(fail=True)
    report = services.events_dispatch()
    assert (report.handled, report.failed) == (1, 1)
    event.refresh_from_db()
    assert event.dispatched_at is None and event.attempts == 1
    assert "not today" in event.last_error
    Event.objects.filter(pk=event.pk).update(payload={})
    services.events_dispatch()
    event.refresh_from_db()
    assert event.dispatched_at is not None
    assert calls == [("counter", event.pk), ("flaky", event.pk)]


def test_events_nobody_listens_to_are_delivered_together_in_order():
    with transaction.atomic():
        quiet = services.events_record_many(type="test.unheard", payloads=[{"n": 1}, {"n": 2}])
    heard = record()
    report = services.events_dispatch(batch=2)
    assert (report.events, report.handled) == (2, 0)  # the first two: both unheard
    assert not Event.objects.filter(pk__in=[e.pk for e in quiet], dispatched_at=None).exists()
    assert not HandledEvent.objects.filter(event__in=quiet).exists()
    heard.refresh_from_db()
    assert heard.dispatched_at is None
    report = services.events_dispatch(batch=2)
    assert (report.events, report.handled) == (1, 2)
    assert sorted(calls) == [("counter", heard.pk), ("flaky", heard.pk)]


batches: list[list[int]] = []


@services.subscribe_batch("test.batched", "test.batch")
def _batch(events) -> None:
    if any(e.payload.get("bad") for e in events):
        raise RuntimeError("one of them is bad")
    batches.append([e.pk for e in events])


def test_a_batch_handler_gets_the_events_together_and_a_bad_one_alone():
    batches.clear()
    with transaction.atomic():
        good = services.events_record_many(type="test.batched", payloads=[{}, {}])
    report = services.events_dispatch()
    assert batches == [[e.pk for e in good]]
    assert (report.events, report.handled, report.failed) == (2, 2, 0)
    batches.clear()
    with transaction.atomic():
        mixed = services.events_record_many(type="test.batched", payloads=[{}, {"bad": 1}, {}])
    report = services.events_dispatch()
    # The batch failed as a whole: each event was then handed over alone.
    assert batches == [[mixed[0].pk], [mixed[2].pk]]
    assert (report.handled, report.failed) == (2, 1)
    assert HandledEvent.objects.filter(event__in=mixed).count() == 2
    bad = Event.objects.get(pk=mixed[1].pk)
    assert bad.dispatched_at is None and bad.attempts == 1
