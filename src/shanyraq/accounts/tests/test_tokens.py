"""Bearer tokens: who a token stands for, and when it stands for no one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from shanyraq.accounts.models import ApiToken, Membership, User
from shanyraq.accounts.services import token_authenticate, token_create, token_revoke

pytestmark = pytest.mark.django_db


def me(secret: str) -> tuple[int, dict]:
    response = Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}")
    return response.status_code, response.json()


def test_a_token_stands_for_its_holder_as_the_database_keeps_them(citizen: User) -> None:
    citizen.first_name, citizen.preferred_language = "Әлия", "kk"
    citizen.save()
    _token, secret = token_create(user=citizen, name="bank")
    user = token_authenticate(secret)
    assert user is not None and user.pk == citizen.pk
    stored = User.objects.get(pk=citizen.pk)
    # Every field as the ORM reads it: dates as dates, text as text.
    for field in User._meta.concrete_fields:
        assert getattr(user, field.attname) == getattr(stored, field.attname), field.name
    assert user._state.adding is False
    status, body = me(secret)
    assert status == 200 and body["iin"] == citizen.iin


def test_a_token_records_when_it_was_last_used_at_most_every_five_minutes(citizen: User) -> None:
    token, secret = token_create(user=citizen, name="bank")
    token_authenticate(secret)
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first is not None
    token_authenticate(secret)
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=6))
    token_authenticate(secret)
    assert ApiToken.objects.get(pk=token.pk).last_used_at > first


@pytest.mark.parametrize("case", ["revoked", "expired", "inactive", "unknown", "malformed"])
def test_a_token_that_stands_for_no_one_is_refused(citizen: User, case: str) -> None:
    token, secret = token_create(user=citizen, name="bank", lifetime=timedelta(days=1))
    assert token_authenticate(secret) is not None
    if case == "revoked":
        token_revoke(token=token)
    elif case == "expired":
        ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(1))
    elif case == "inactive":
        User.objects.filter(pk=citizen.pk).update(is_active=False)
    elif case == "unknown":
        secret = secret[:-4] + ("aaaa" if not secret.endswith("aaaa") else "bbbb")
    else:
        secret = "x" + secret
    assert token_authenticate(secret) is None
    status, _body = me(secret)
    assert status == 401


def test_a_token_gives_its_holder_their_roles_and_no_more(clerk: User, citizen: User) -> None:
    _token, secret = token_create(user=clerk, name="desk")
    status, body = me(secret)
    agencies = sorted(Membership.objects.filter(user=clerk).values_list("agency__code", flat=True))
    assert status == 200 and body["agencies"] == agencies and body["iin"] == clerk.iin
    _token, other = token_create(user=citizen, name="bank")
    status, body = me(other)
    assert status == 200 and body["agencies"] == [] and body["roles"] == ["citizen"]
