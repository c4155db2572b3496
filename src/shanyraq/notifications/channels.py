"""Handing one delivery to its channel: Django's email API, or the configured SMS gateway.

Both channels get the delivery's idempotency key: the SMS gateway as its key, the email as a
stable ``Message-ID``, so that a retry after an uncertain outcome is recognisable as the same
message by whatever receives it.
"""

from __future__ import annotations

import smtplib
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import BadHeaderError, EmailMessage

from . import sms
from .models import Channel, Delivery

__all__ = ["PermanentDeliveryError", "Sender", "is_permanent"]


class PermanentDeliveryError(Exception):
    """This delivery can never succeed; it is marked failed without further attempts."""


def is_permanent(error: BaseException) -> bool:
    """Whether trying again could not help (a refused address, an impossible header)."""
    permanent = (
        PermanentDeliveryError,
        sms.PermanentSmsError,
        smtplib.SMTPRecipientsRefused,
        BadHeaderError,
    )
    return isinstance(error, permanent)


def _message_id(delivery: Delivery) -> str:
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "shanyraq.invalid"
    return f"<{delivery.idempotency_key}@{domain}>"


class Sender:
    """Sends deliveries; one per batch, so that the SMS gateway is set up once."""

    def __init__(self) -> None:
        self._gateway: sms.SmsGateway | None = None

    def send(self, delivery: Delivery) -> str:
        """Send ``delivery`` and return the channel's reference for the message."""
        if delivery.channel == Channel.EMAIL:
            return self._email(delivery)
        if delivery.channel == Channel.SMS:
            if self._gateway is None:
                self._gateway = sms.sms_gateway()
            return self._gateway.send(
                to=delivery.address,
                text=delivery.body,
                idempotency_key=str(delivery.idempotency_key),
            )
        raise PermanentDeliveryError(f"unknown channel {delivery.channel!r}")

    def _email(self, delivery: Delivery) -> str:
        message_id = _message_id(delivery)
        message = EmailMessage(
            subject=delivery.subject,
            body=delivery.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[delivery.address],
            headers={
                "Message-ID": message_id,
                "Content-Language": delivery.language,
                "Auto-Submitted": "auto-generated",
            },
        )
        if message.send(fail_silently=False) != 1:
            raise RuntimeError("the mail backend did not accept the message")
        return message_id
