"""``shanyraq sms``: the fake gateway forwards a reply over HTTP, signed, as a real one does."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from shanyraq.events import services as events
from shanyraq.notifications.sms import FakeSmsGateway
from shanyraq.proactive.models import Offer, OfferStatus

from . import fixture
from .fixture import Family, announce_birth

english = fixture.english
ledger_log = fixture.ledger_log
family = fixture.family


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("sms", *args, stdout=out)
    return out.getvalue().strip()


def test_a_reply_reaches_the_platform_over_http(
    transactional_db: None, live_server: Any, family: Family, settings: Any, tmp_path: Any
) -> None:
    settings.SMS_FAKE_OUTBOX = tmp_path / "outbox.jsonl"
    event = announce_birth(family)
    events.events_dispatch()
    offer = Offer.objects.get(event=event, iin=family.mother.iin)
    url = f"{live_server.url}/api/v1/sms/inbound"
    assert _run("reply", "--from", family.mother_phone, "--url", url, "NO 000000x") == (
        "not_understood"
    )
    assert _run("reply", "--from", family.mother_phone, "--url", url, f"YES {offer.code}") == (
        "accepted"
    )
    offer.refresh_from_db()
    assert offer.status == OfferStatus.ACCEPTED and offer.answered_via == "sms"
    FakeSmsGateway().send(to=family.mother_phone, text="hello", idempotency_key="k1")
    assert "hello" in _run("outbox")


def test_the_fake_gateway_talks_to_this_machine_only(settings: Any) -> None:
    with pytest.raises(CommandError):
        _run("reply", "--from", "+77011234567", "--url", "http://example.org/x", "YES 123456")
