"""SMS gateways: the interface the platform sends text messages through, and a fake.

A gateway is chosen by the ``SMS_GATEWAY`` setting (a class path). A real gateway adapter for
an operator's HTTP API subclasses ``SmsGateway``, reads its own credentials from settings,
and honours the idempotency key: a message sent again with the same key must not reach the
phone twice. The platform passes the same key every time it retries one delivery, so that a
worker that died after the gateway accepted a message but before the platform recorded it
cannot make the person receive it twice.

``FakeSmsGateway`` is what the demo and the tests use: it appends each message as one JSON
line to a file (``SMS_FAKE_OUTBOX``, by default ``var/sms-outbox.jsonl``) and, like a real
gateway, ignores a key it has already seen.
"""

from __future__ import annotations

import abc
import fcntl
import json
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.module_loading import import_string

__all__ = [
    "FakeSmsGateway",
    "PermanentSmsError",
    "SmsError",
    "SmsGateway",
    "sms_gateway",
]


class SmsError(Exception):
    """The gateway did not take the message this time; the platform will try again later."""


class PermanentSmsError(SmsError):
    """The message can never be delivered (a number that does not exist, say): no retry."""


class SmsGateway(abc.ABC):
    """Sends one text message. Constructed without arguments; reads its own settings."""

    @abc.abstractmethod
    def send(self, *, to: str, text: str, idempotency_key: str) -> str:
        """Send ``text`` to the phone number ``to`` (E.164) and return the gateway's message
        id. The same ``idempotency_key`` sent again must return the first message's id
        without sending anything. Raise ``SmsError`` (or ``PermanentSmsError``) on failure."""


class FakeSmsGateway(SmsGateway):
    """Writes messages to a JSON-lines file instead of sending them.

    The file is locked while it is searched and appended to, so concurrent workers (threads
    or processes) never write the same key twice.
    """

    def __init__(self, path: Path | str | None = None) -> None:
        self._path = Path(path) if path is not None else None

    @property
    def path(self) -> Path:
        return self._path if self._path is not None else Path(settings.SMS_FAKE_OUTBOX)

    def send(self, *, to: str, text: str, idempotency_key: str) -> str:
        path = self.path
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a+", encoding="utf-8") as outbox:
            fcntl.flock(outbox, fcntl.LOCK_EX)
            try:
                outbox.seek(0)
                for line in outbox:
                    entry = _entry(line)
                    if entry is not None and entry.get("idempotency_key") == idempotency_key:
                        return str(entry["id"])
                message_id = f"fake-{idempotency_key}"
                entry = {
                    "id": message_id,
                    "idempotency_key": idempotency_key,
                    "to": to,
                    "text": text,
                    "sent_at": timezone.now().isoformat(),
                }
                outbox.write(json.dumps(entry, ensure_ascii=False) + "\n")
                outbox.flush()
                os.fsync(outbox.fileno())
                return message_id
            finally:
                fcntl.flock(outbox, fcntl.LOCK_UN)

    def messages(self) -> list[dict[str, Any]]:
        """Every message written so far, oldest first."""
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as outbox:
            return [entry for line in outbox if (entry := _entry(line)) is not None]


def _entry(line: str) -> dict[str, Any] | None:
    try:
        entry = json.loads(line)
    except ValueError:
        return None  # a line cut short when a process died while writing it
    return entry if isinstance(entry, dict) else None


def gateway_class(path: str | None = None) -> type[SmsGateway]:
    """The class ``SMS_GATEWAY`` names; ``ImproperlyConfigured`` when it names nothing usable."""
    path = settings.SMS_GATEWAY if path is None else path
    if not path:
        raise ImproperlyConfigured(
            "SMS_GATEWAY must name an SMS gateway class, e.g. "
            "shanyraq.notifications.sms.FakeSmsGateway."
        )
    try:
        cls = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"SMS_GATEWAY: cannot import {path}: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, SmsGateway)):
        raise ImproperlyConfigured(f"SMS_GATEWAY: {path} is not an SmsGateway")
    return cls


def sms_gateway() -> SmsGateway:
    """A gateway of the configured class."""
    return gateway_class()()
