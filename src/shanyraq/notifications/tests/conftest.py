"""Fixtures for the notifications tests: a private SMS outbox and a person to write to."""

from __future__ import annotations

import pytest

from shanyraq.notifications import services
from shanyraq.notifications.sms import FakeSmsGateway
from shanyraq.testing import factories

from .support import FAKE


@pytest.fixture(autouse=True)
def sms_outbox(settings, tmp_path) -> FakeSmsGateway:
    """Each test writes its SMS messages to a file of its own."""
    settings.SMS_GATEWAY = FAKE
    settings.SMS_FAKE_OUTBOX = tmp_path / "sms-outbox.jsonl"
    return FakeSmsGateway()


@pytest.fixture
def person(db):
    """A citizen reading Russian, with an email address and a mobile number."""
    user = factories.UserFactory(preferred_language="ru", email="aigerim@example.kz")
    services.contact_phone_set(user=user, phone="+7 701 123 45 67")
    return user
