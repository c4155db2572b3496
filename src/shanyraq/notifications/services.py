"""Telling people what happened: the inbox message now, email and SMS soon after the commit.

``notify`` is called by other services inside the transaction of the change it announces, as
with the events outbox: the inbox message and one ``Delivery`` row per outside channel the
person can receive are written with the change, so they exist exactly when it does. A
``dedupe_key`` naming the occasion ("application:123:decided") makes the call idempotent: the
database's unique constraint, not a prior check, keeps a second message for the same occasion
from being written, even by two transactions at once.

``deliveries_send`` (run by the platform's worker through ``work_once``, or by
``shanyraq notifications send``) sends what is due. Each delivery is claimed with a lease: a
conditional UPDATE that succeeds for one worker only sets ``claimed_until``; a worker that is
killed mid-send leaves a lease that runs out, and the delivery is tried again. The channel is
given the delivery's idempotency key on every attempt, so a retry after an uncertain outcome
does not reach the person twice. A failure is retried with exponential backoff, and after
``MAX_ATTEMPTS`` (or a failure that no retry can cure) the delivery is marked failed with the
error.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shanyraq.accounts.models import User
from shanyraq.core.errors import NotFound, ValidationError
from shanyraq.core.sql import plain_cursor
from shanyraq.core.text import LANGUAGES, MAX_TEXT_LENGTH, TranslatedText

from . import channels, registry
from .models import Channel, ContactPoint, Delivery, DeliveryStatus, Notification

__all__ = [
    "CHANNELS",
    "LEASE",
    "MAX_ATTEMPTS",
    "Message",
    "SendReport",
    "contact_phone_set",
    "deliveries_send",
    "message_compose",
    "normalise_phone",
    "notification_mark_read",
    "notify",
    "retry_delay",
    "work_once",
]

logger = logging.getLogger(__name__)

INBOX: Final = "inbox"
CHANNELS: Final = (INBOX, Channel.EMAIL.value, Channel.SMS.value)
MAX_DEDUPE_KEY: Final = 200
MAX_SUBJECT: Final = 300
MAX_BODY: Final = MAX_TEXT_LENGTH
MAX_LINK: Final = 500

# Sending. A lease is taken for one send and is longer than any one send may take
# (EMAIL_TIMEOUT, the gateway's own timeout), so it runs out only when its worker has stopped.
LEASE: Final = timedelta(seconds=60)
MAX_ATTEMPTS: Final = 8
RETRY_BASE: Final = timedelta(minutes=1)
RETRY_CAP: Final = timedelta(hours=6)
BATCH: Final = 100


# --- Writing a message ---------------------------------------------------------------------


def _language_of(user: User) -> str:
    language = (user.preferred_language or "").lower()
    return language if language in LANGUAGES else settings.LANGUAGE_CODE


def _channels(wanted: Sequence[str]) -> set[str]:
    chosen = {str(channel) for channel in wanted}
    unknown = sorted(chosen - set(CHANNELS))
    if unknown or not chosen:
        raise ValidationError(
            code="notification.unknown_channel",
            message=_("Choose the channels from the inbox, email and SMS."),
            field="channels",
            details={"unknown": unknown},
        )
    return chosen


def _link(value: Any) -> str:
    """A path within the portal; anything else (another site, a scheme) is refused so that
    a message can never send a person elsewhere."""
    link = "" if value is None else str(value)
    if not link:
        return ""
    if (
        len(link) > MAX_LINK
        or not link.startswith("/")
        or link.startswith("//")
        or "\\" in link
        or any(ch.isspace() for ch in link)
    ):
        raise ValidationError(
            code="notification.bad_link",
            message=_("A message can link only to a page of the portal."),
            field="link",
        )
    return link


def _phone_of(user: User) -> str:
    with plain_cursor() as cursor:  # read for every message: a plain query
        cursor.execute("SELECT phone FROM notifications_contactpoint WHERE user_id = %s", [user.pk])
        row = cursor.fetchone()
    return str(row[0]) if row else ""


def _email_deliveries(
    *,
    recipient: User,
    wanted: set[str],
    language: str,
    rendered: registry.Rendered,
    link: str,
) -> list[Delivery]:
    deliveries = []
    if Channel.EMAIL in wanted and recipient.email:
        base = settings.SHANYRAQ_PUBLIC_URL.rstrip("/")
        body = registry.email_text(
            body=rendered.body,
            language=language,
            name=" ".join(p for p in (recipient.first_name, recipient.middle_name) if p),
            url=f"{base}{link}" if link else "",
            inbox_url=f"{base}{reverse('portal:inbox')}",
        )
        deliveries.append(
            Delivery(
                channel=Channel.EMAIL,
                address=recipient.email,
                language=language,
                subject=rendered.subject[:MAX_SUBJECT],
                body=body,
            )
        )
    if Channel.SMS in wanted and (phone := _phone_of(recipient)):
        deliveries.append(
            Delivery(channel=Channel.SMS, address=phone, language=language, body=rendered.sms)
        )
    return deliveries


@dataclass
class Message:
    """A message composed and not yet written: the inbox copy and its outside deliveries."""

    notification: Notification
    deliveries: list[Delivery]

    def rows(self) -> list[Notification | Delivery]:
        """The rows to write, in order (``shanyraq.core.bulk.insert_rows`` takes them)."""
        return [self.notification, *self.deliveries]


def message_compose(
    *,
    recipient: User,
    template: str,
    context: Mapping[str, Any],
    channels: Sequence[str] = CHANNELS,
    dedupe_key: str,
) -> Message:
    """The message ``notify`` would write, for a caller that writes it with other rows.

    Written outside the caller's transaction, or a second time for the same ``dedupe_key``,
    it is no longer sent exactly once: use this only for an occasion that is new in the
    same transaction (a just-numbered application's submission), and ``notify`` otherwise.
    Raises ``ValidationError`` as ``notify`` does.
    """
    wanted = _channels(channels)
    spec = registry.template_get(template)
    registry.check_context(spec, context)
    key = (dedupe_key or "").strip()
    if not key or len(key) > MAX_DEDUPE_KEY:
        raise ValidationError(
            code="notification.bad_dedupe_key",
            message=_("Name the occasion of the message in at most 200 characters."),
            field="dedupe_key",
        )
    link = _link(context.get("link"))
    texts = {lang: registry.render(spec, context, lang) for lang in LANGUAGES}
    if not all(t.subject and t.body and len(t.body) <= MAX_BODY for t in texts.values()):
        raise ValidationError(
            code="notification.bad_text",
            message=_("A message needs a subject and a text of reasonable length."),
            details={"template": spec.code},
        )
    language = _language_of(recipient)
    notification = Notification(
        recipient=recipient,
        template=spec.code,
        dedupe_key=key,
        subject=TranslatedText(**{lang: texts[lang].subject[:MAX_SUBJECT] for lang in LANGUAGES}),
        body=TranslatedText(**{lang: texts[lang].body for lang in LANGUAGES}),
        link=link,
        in_inbox=INBOX in wanted,
        created_at=timezone.now(),
    )
    deliveries = _email_deliveries(
        recipient=recipient, wanted=wanted, language=language, rendered=texts[language], link=link
    )
    for delivery in deliveries:
        delivery.notification = notification
    return Message(notification, deliveries)


def notify(
    *,
    recipient: User,
    template: str,
    context: Mapping[str, Any],
    channels: Sequence[str] = CHANNELS,
    dedupe_key: str,
) -> Notification:
    """Write a message to ``recipient`` in the caller's transaction, and return it.

    The inbox copy keeps the text in the three languages; email and SMS are rendered in the
    recipient's preferred language, to their current email address and phone number, and
    sent by the worker after the caller commits. A second call with the same ``dedupe_key``
    for the same recipient writes nothing and returns the first message.

    ``context`` holds the template's keys (see ``registry``); ``link`` is a path within the
    portal. Raises ``ValidationError`` for an unknown template or channel, a missing context
    key, a link outside the portal or an empty ``dedupe_key``, and ``RuntimeError`` outside a
    transaction.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("notify runs inside the transaction of the change it announces")
    message = message_compose(
        recipient=recipient,
        template=template,
        context=context,
        channels=channels,
        dedupe_key=dedupe_key,
    )
    try:
        # A savepoint, so that a duplicate leaves the caller's transaction usable.
        with transaction.atomic():
            message.notification.save(force_insert=True)
            Delivery.objects.bulk_create(message.deliveries)
    except IntegrityError:
        existing = Notification.objects.filter(
            recipient=recipient, dedupe_key=message.notification.dedupe_key
        ).first()
        if existing is None:
            raise
        return existing
    return message.notification


def notification_mark_read(*, recipient: User, notification_id: int) -> Notification:
    """Mark the recipient's inbox message read (once: the first reading time is kept).

    Raises ``NotFound`` for a message that is not in this person's inbox, whoever's it is.
    """
    with transaction.atomic():
        notification = Notification.objects.filter(
            pk=notification_id, recipient=recipient, in_inbox=True
        ).first()
        if notification is None:
            raise NotFound(code="notification.not_found", message=_("There is no such message."))
        if notification.read_at is None:
            now = timezone.now()
            updated = Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
                read_at=now
            )
            if updated:
                notification.read_at = now
            else:
                notification.refresh_from_db(fields=["read_at"])
    return notification


# --- Phone numbers -------------------------------------------------------------------------

_E164 = re.compile(r"\+[1-9]\d{7,14}")


def normalise_phone(value: str) -> str:
    """A phone number in E.164 form (``+77011234567``); a Kazakh number may be written the
    local way (``8 701 123 45 67``). Raises ``ValidationError``."""
    text = re.sub(r"[\s().-]", "", value or "")
    if re.fullmatch(r"8[67]\d{9}", text):
        text = "+7" + text[1:]
    if not _E164.fullmatch(text):
        raise ValidationError(
            code="notification.bad_phone",
            message=_("Enter a mobile phone number with the country code, like +7 701 123 45 67."),
            field="phone",
        )
    return text


def contact_phone_set(*, user: User, phone: str) -> ContactPoint | None:
    """Set (or with an empty ``phone``, remove) the number ``user`` receives SMS messages on.

    Messages written before the change keep the number they were addressed to.
    """
    with transaction.atomic():
        if not (phone or "").strip():
            ContactPoint.objects.filter(user=user).delete()
            return None
        contact, _created = ContactPoint.objects.update_or_create(
            user=user, defaults={"phone": normalise_phone(phone)}
        )
        return contact


# --- Sending -------------------------------------------------------------------------------


@dataclass
class SendReport:
    """What one pass of ``deliveries_send`` did."""

    sent: int = 0
    retried: int = 0  # failed this time, to be tried again later
    failed: int = 0  # given up on
    skipped: int = 0  # claimed by another worker first

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.failed


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt: 1, 2, 4, ... minutes."""
    return min(RETRY_BASE * 2 ** max(0, attempts - 1), RETRY_CAP)


def _available(now: datetime) -> Q:
    """Due and not held by a live lease."""
    return Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now) & (
        Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)
    )


def _due(now: datetime) -> QuerySet[Delivery]:
    return Delivery.objects.filter(_available(now)).order_by("next_attempt_at", "id")


def _claim(pk: int, attempts: int, now: datetime) -> bool:
    """Take the delivery for one attempt, if it is still as it was seen.

    One UPDATE with the state in its WHERE clause: of two workers that saw the same delivery,
    the database lets one change the row and the other finds nothing left to change (on
    PostgreSQL the second waits for the first's row lock, then re-reads the row).
    """
    claimed = Delivery.objects.filter(_available(now), pk=pk, attempts=attempts).update(
        attempts=attempts + 1, claimed_until=now + LEASE
    )
    return claimed == 1


def _finish(pk: int, attempts: int, **values: Any) -> bool:
    """Record the outcome of claim ``attempts`` of delivery ``pk``, if it is still ours.

    Each statement commits on its own, so the outcome is kept even if the worker dies next.
    """
    with transaction.atomic():
        updated = Delivery.objects.filter(
            pk=pk, attempts=attempts, status=DeliveryStatus.PENDING
        ).update(claimed_until=None, **values)
    return updated == 1


def _error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:2000]


def _attempt(delivery: Delivery, sender: channels.Sender, clock: Callable[[], datetime]) -> str:
    """Send a claimed delivery and record the outcome; returns the SendReport field to count."""
    attempts = delivery.attempts
    try:
        reference = sender.send(delivery)
    except Exception as error:  # any failure of a channel is the delivery's, not the batch's
        now = clock()
        if channels.is_permanent(error) or attempts >= MAX_ATTEMPTS:
            logger.warning("delivery %s failed for good: %s", delivery.pk, error)
            done = _finish(
                delivery.pk, attempts, status=DeliveryStatus.FAILED, last_error=_error_text(error)
            )
            return "failed" if done else "skipped"
        logger.info("delivery %s failed (attempt %s): %s", delivery.pk, attempts, error)
        done = _finish(
            delivery.pk,
            attempts,
            next_attempt_at=now + retry_delay(attempts),
            last_error=_error_text(error),
        )
        return "retried" if done else "skipped"
    done = _finish(
        delivery.pk,
        attempts,
        status=DeliveryStatus.SENT,
        sent_at=clock(),
        provider_ref=str(reference)[:200],
        last_error="",
    )
    if not done:
        # The lease ran out and another worker took the delivery over; the channel saw the
        # same idempotency key from both, so the person gets the message once.
        logger.warning("delivery %s: sent after its lease had run out", delivery.pk)
    return "sent" if done else "skipped"


def deliveries_send(*, limit: int = BATCH, now: datetime | None = None) -> SendReport:
    """Send up to ``limit`` due deliveries, one claim at a time; return what was done.

    Runs outside any transaction: each claim and each outcome commits on its own, so that
    other workers see them at once. ``now`` fixes the clock (for tests); by default each step
    reads the time when it happens.
    """
    clock: Callable[[], datetime] = (lambda: now) if now is not None else timezone.now
    report = SendReport()
    sender = channels.Sender()
    seen = list(_due(clock()).values_list("pk", "attempts")[: max(0, limit)])
    for pk, attempts in seen:
        if attempts >= MAX_ATTEMPTS:
            # The worker of the last attempt stopped before recording it, and its lease ran
            # out: what happened is unknown, and there are no attempts left.
            done = Delivery.objects.filter(_available(clock()), pk=pk, attempts=attempts).update(
                status=DeliveryStatus.FAILED,
                claimed_until=None,
                last_error="The last attempt was interrupted before its outcome was recorded.",
            )
            report.failed += done
            report.skipped += 1 - done
            continue
        if not _claim(pk, attempts, clock()):
            report.skipped += 1
            continue
        delivery = Delivery.objects.get(pk=pk)
        outcome = _attempt(delivery, sender, clock)
        setattr(report, outcome, getattr(report, outcome) + 1)
    return report


def work_once() -> int:
    """Send one batch; the number of deliveries handled. The platform's worker loops on it."""
    return deliveries_send().handled
