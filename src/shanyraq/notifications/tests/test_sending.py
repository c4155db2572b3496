"""Sending: once, after the commit, with leases, retries and a final failure."""

from __future__ import annotations

import io
import json
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from shanyraq.notifications import services
from shanyraq.notifications.models import ContactPoint, Delivery, DeliveryStatus
from shanyraq.notifications.sms import FakeSmsGateway, PermanentSmsError, SmsError, SmsGateway
from shanyraq.testing import factories

from .support import notify

pytestmark = pytest.mark.django_db


class RecordingGateway(SmsGateway):
    """Counts each idempotency key it is given and takes a moment over each message."""

    calls: Counter[str] = Counter()
    lock = threading.Lock()
    delay = 0.0

    def send(self, *, to: str, text: str, idempotency_key: str) -> str:
        with self.lock:
            self.calls[idempotency_key] += 1
        time.sleep(self.delay)
        return f"rec-{idempotency_key}"


class FailingGateway(SmsGateway):
    error: Exception = SmsError("the operator's API answered 503")

    def send(self, *, to: str, text: str, idempotency_key: str) -> str:
        raise self.error


@pytest.fixture
def recording(settings):
    settings.SMS_GATEWAY = f"{__name__}.RecordingGateway"
    RecordingGateway.calls = Counter()
    RecordingGateway.delay = 0.0
    return RecordingGateway


@pytest.fixture
def failing(settings):
    settings.SMS_GATEWAY = f"{__name__}.FailingGateway"
    FailingGateway.error = SmsError("the operator's API answered 503")
    return FailingGateway


def sms_only(person, key="k"):
    notification = notify(person, key=key, channels=["sms"])
    return notification.deliveries.get()


def test_email_goes_out_through_django_in_the_recipients_language(person):
    notification = notify(person, channels=["inbox", "email"])
    report = services.deliveries_send()
    assert (report.sent, report.retried, report.failed, report.skipped) == (1, 0, 0, 0)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["aigerim@example.kz"]
    assert message.subject == "Заявка 2026-000123 принята"
    assert message.body.startswith(
        "Здравствуйте, Айгерім!\n\nВаша заявка 2026-000123 на услугу «Регистрация брака» принята"
    )
    assert message.extra_headers["Content-Language"] == "ru"
    delivery = notification.deliveries.get()
    assert message.extra_headers["Message-ID"] == f"<{delivery.idempotency_key}@localhost>"
    assert (delivery.status, delivery.attempts, delivery.provider_ref) == (
        "sent",
        1,
        f"<{delivery.idempotency_key}@localhost>",
    )
    assert delivery.sent_at is not None and delivery.claimed_until is None
    # Nothing is sent twice.
    assert services.deliveries_send().handled == 0
    assert len(mail.outbox) == 1


def test_sms_goes_to_the_fake_gateways_file(person, sms_outbox):
    delivery = sms_only(person)
    assert services.work_once() == 1
    [line] = sms_outbox.messages()
    assert line["to"] == "+77011234567"
    assert line["text"] == (
        "Shanyraq: ваша заявка 2026-000123 принята. Следите за её статусом в личном кабинете."
    )
    assert line["idempotency_key"] == str(delivery.idempotency_key)
    delivery.refresh_from_db()
    assert delivery.status == "sent"
    assert delivery.provider_ref == line["id"]


def test_a_delivery_sent_twice_reaches_the_phone_once(person, sms_outbox):
    delivery = sms_only(person)
    services.deliveries_send()
    # The worker died after the gateway took the message but before the outcome was stored:
    # the delivery is pending again and is sent again with the same key.
    Delivery.objects.filter(pk=delivery.pk).update(status="pending", sent_at=None)
    assert services.deliveries_send().sent == 1
    lines = sms_outbox.path.read_text().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["idempotency_key"] == str(delivery.idempotency_key)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 2)


def test_the_fake_gateway_ignores_a_repeated_key(tmp_path):
    gateway = FakeSmsGateway(tmp_path / "out.jsonl")
    first = gateway.send(to="+77011234567", text="one", idempotency_key="k1")
    again = gateway.send(to="+77011234567", text="one, again", idempotency_key="k1")
    other = gateway.send(to="+77011234567", text="two", idempotency_key="k2")
    assert first == again != other
    assert [m["text"] for m in gateway.messages()] == ["one", "two"]


def test_the_fake_gateway_survives_a_torn_last_line(tmp_path):
    path = tmp_path / "out.jsonl"
    gateway = FakeSmsGateway(path)
    gateway.send(to="+77011234567", text="one", idempotency_key="k1")
    with path.open("a") as f:
        f.write('{"id": "fake-k2", "idempot')  # a writer killed mid-line
    gateway.send(to="+77011234567", text="two", idempotency_key="k2")
    assert [m["text"] for m in gateway.messages()] == ["one"]


def test_a_claim_is_taken_by_one_worker_only(person):
    delivery = sms_only(person)
    now = timezone.now()
    # Two workers saw the delivery with no attempts; each tries to claim it.
    assert services._claim(delivery.pk, 0, now) is True
    assert services._claim(delivery.pk, 0, now) is False
    # Not even by a worker that saw the claimed state while the lease lasts.
    assert services._claim(delivery.pk, 1, now + timedelta(seconds=30)) is False
    delivery.refresh_from_db()
    assert delivery.attempts == 1
    assert delivery.claimed_until == now + services.LEASE


def test_a_claimed_delivery_is_not_sent_by_another_worker(person, recording):
    delivery = sms_only(person)
    now = timezone.now()
    assert services._claim(delivery.pk, 0, now)
    report = services.deliveries_send(now=now + timedelta(seconds=1))
    assert report.handled == report.skipped == 0
    assert recording.calls == Counter()


def test_an_expired_lease_is_retried(person, recording):
    delivery = sms_only(person)
    now = timezone.now()
    assert services._claim(delivery.pk, 0, now)  # and then the worker is killed
    later = now + services.LEASE + timedelta(seconds=1)
    report = services.deliveries_send(now=later)
    assert report.sent == 1
    assert recording.calls == Counter({str(delivery.idempotency_key): 1})
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.sent_at) == ("sent", 2, later)


def test_an_outcome_is_not_recorded_by_a_worker_that_lost_its_claim(person):
    delivery = sms_only(person)
    now = timezone.now()
    assert services._claim(delivery.pk, 0, now)
    later = now + services.LEASE + timedelta(seconds=1)
    assert services._claim(delivery.pk, 1, later)  # another worker took it over
    assert services._finish(delivery.pk, 1, status=DeliveryStatus.SENT) is False
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 2)


def test_failures_are_retried_with_exponential_backoff_then_given_up(person, failing):
    delivery = sms_only(person)
    now = timezone.now()
    delays = []
    for attempt in range(1, services.MAX_ATTEMPTS):
        report = services.deliveries_send(now=now)
        assert (report.retried, report.failed) == (1, 0)
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("pending", attempt)
        assert delivery.last_error == "SmsError: the operator's API answered 503"
        assert delivery.claimed_until is None
        # Not due again before the delay is over.
        assert (
            services.deliveries_send(now=delivery.next_attempt_at - timedelta(seconds=1)).handled
            == 0
        )
        delays.append(delivery.next_attempt_at - now)
        now = delivery.next_attempt_at
    assert delays == [timedelta(minutes=m) for m in (1, 2, 4, 8, 16, 32, 64)]
    report = services.deliveries_send(now=now)
    assert (report.retried, report.failed) == (0, 1)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", services.MAX_ATTEMPTS)
    assert delivery.last_error == "SmsError: the operator's API answered 503"
    assert services.deliveries_send(now=now + timedelta(days=1)).handled == 0


def test_backoff_is_capped():
    assert services.retry_delay(1) == timedelta(minutes=1)
    assert services.retry_delay(9) == timedelta(hours=4, minutes=16)
    assert services.retry_delay(10) == timedelta(hours=6)
    assert services.retry_delay(30) == timedelta(hours=6)


def test_a_permanent_failure_is_not_retried(person, failing):
    failing.error = PermanentSmsError("no such subscriber")
    delivery = sms_only(person)
    report = services.deliveries_send()
    assert (report.retried, report.failed) == (0, 1)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert delivery.last_error == "PermanentSmsError: no such subscriber"


def test_an_interrupted_last_attempt_is_marked_failed(person, recording):
    delivery = sms_only(person)
    past = timezone.now() - timedelta(hours=1)
    Delivery.objects.filter(pk=delivery.pk).update(
        attempts=services.MAX_ATTEMPTS, claimed_until=past
    )
    report = services.deliveries_send()
    assert report.failed == 1
    assert recording.calls == Counter()
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert "interrupted" in delivery.last_error


def test_one_failing_channel_does_not_stop_the_others(person, failing):
    notification = notify(person)
    report = services.deliveries_send()
    assert (report.sent, report.retried) == (1, 1)
    statuses = dict(notification.deliveries.values_list("channel", "status"))
    assert statuses == {"email": "sent", "sms": "pending"}
    assert len(mail.outbox) == 1


def test_a_batch_sends_at_most_its_limit_oldest_first(db, recording):
    people = [factories.UserFactory(email="") for _ in range(3)]
    for person in people:
        services.contact_phone_set(user=person, phone="+77011234567")
    keys = [str(sms_only(person).idempotency_key) for person in people]
    assert services.deliveries_send(limit=2).sent == 2
    assert set(recording.calls) == set(keys[:2])
    assert services.deliveries_send(limit=2).sent == 1
    assert set(recording.calls) == set(keys)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent workers: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_workers_never_send_one_delivery_twice(settings):
    settings.SMS_GATEWAY = f"{__name__}.RecordingGateway"
    RecordingGateway.calls = Counter()
    RecordingGateway.delay = 0.01
    people = [factories.UserFactory(email="") for _ in range(30)]
    keys = []
    for i, person in enumerate(people):
        services.contact_phone_set(user=person, phone="+77011234567")
        keys.append(str(sms_only(person, key=f"k{i}").idempotency_key))
    start = threading.Barrier(2)
    reports = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait(5)
            reports.append(services.deliveries_send(limit=100))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert RecordingGateway.calls == Counter(dict.fromkeys(keys, 1))
    assert sum(r.sent for r in reports) == 30
    assert Delivery.objects.filter(status="sent", attempts=1).count() == 30


def test_the_command_sends_once(person, sms_outbox):
    notify(person)
    out = io.StringIO()
    call_command("notifications", "send", stdout=out)
    assert out.getvalue().strip() == "sent 2, retried 0, failed 0, skipped 0"
    assert len(mail.outbox) == 1
    assert len(sms_outbox.messages()) == 1


def test_the_command_sets_and_removes_a_phone(person):
    out = io.StringIO()
    call_command("notifications", "phone", "--user", person.iin, "8 777 000 11 22", stdout=out)
    assert out.getvalue().strip() == f"{person.username}: +77770001122"
    call_command("notifications", "phone", "--user", person.username, "--remove", stdout=out)
    assert not ContactPoint.objects.filter(user=person).exists()
    assert notify(person, key="after").deliveries.filter(channel="sms").count() == 0


@pytest.mark.parametrize(
    "args",
    [
        ["phone", "--user", "nobody", "+77011234567"],
        ["phone", "--user", "{iin}"],
        ["phone", "--user", "{iin}", "12"],
        ["send", "--limit", "0"],
    ],
)
def test_the_command_refuses_bad_usage(person, args):
    with pytest.raises(CommandError) as caught:
        call_command("notifications", *[a.format(iin=person.iin) for a in args])
    assert caught.value.returncode == 2
