"""Factories for tests. Services are created through the catalog services, as in real use."""

from __future__ import annotations

import datetime
import itertools
import time
from typing import Any

import factory
import pyotp

from shanyraq.accounts.models import Membership, Role, User
from shanyraq.catalog import services as catalog_services
from shanyraq.catalog.models import Agency, Category, LifeEvent, ServiceVersion
from shanyraq.core.national_id import make_iin

PASSWORD = "correct-horse-battery-staple"

_serials = itertools.count(100)


def text(base: str) -> dict[str, str]:
    """A translated text whose three languages are told apart by their markers."""
    return {"kk": f"{base} қаз", "ru": f"{base} рус", "en": f"{base} eng"}


def next_iin() -> str:
    while True:
        serial = next(_serials)
        try:
            return make_iin(datetime.date(1990, 1, 1 + serial % 28), "F", serial=serial)
        except ValueError:
            continue


class AgencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agency
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"agency-{n}")
    kind = "ministry"
    name = factory.LazyAttribute(lambda o: text(f"Agency {o.code}"))
    short_name = factory.LazyAttribute(lambda o: text(o.code))
    description = factory.LazyAttribute(lambda o: text(f"About {o.code}"))


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"category-{n}")
    name = factory.LazyAttribute(lambda o: text(f"Category {o.code}"))


class LifeEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LifeEvent
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"event-{n}")
    name = factory.LazyAttribute(lambda o: text(f"Event {o.code}"))
    description = factory.LazyAttribute(lambda o: text(f"When {o.code}"))


class UserFactory(factory.django.DjangoModelFactory):
    """A citizen: signs in by IIN and password."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"citizen{n}")
    first_name = "Айгерім"
    last_name = "Нұрланова"
    iin = factory.LazyFunction(next_iin)
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj: User, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            obj.save()


class StaffFactory(UserFactory):
    """A staff member with a TOTP secret and no IIN; give roles with ``membership``."""

    username = factory.Sequence(lambda n: f"staff{n}")
    iin = None
    totp_secret = factory.LazyFunction(pyotp.random_base32)


def totp_now(user: User) -> str:
    """A security code the user can sign in with now: a code is good once, so a second
    sign-in in the same 30 seconds takes the next step's (or waits for the next step)."""
    from shanyraq.accounts.services import totp_unused_code

    while (code := totp_unused_code(user)) is None:
        time.sleep(1)
    return code


def member(agency: Agency, role: Role, **kwargs: Any) -> User:
    user = StaffFactory(**kwargs)
    Membership.objects.create(user=user, agency=agency, role=role)
    return user


def content(**overrides: Any) -> catalog_services.ServiceContent:
    values: dict[str, Any] = {
        "category": overrides.pop("category", None) or CategoryFactory().code,
        "name": text("Service"),
        "description": text("Description"),
        "who_may_apply": text("Who"),
        "result": text("Result"),
        "legal_basis": text("Law"),
        "deadline_days": 5,
        "fee_kzt": "0",
    }
    values.update(overrides)
    return catalog_services.ServiceContent(**values)


def published_service(
    *, agency: Agency | None = None, code: str | None = None, **overrides: Any
) -> ServiceVersion:
    agency = agency or AgencyFactory()
    version = catalog_services.service_create(
        actor=None,
        agency=agency,
        code=code or f"service-{next(_serials)}",
        content=content(**overrides),
    )
    return catalog_services.service_version_publish(actor=None, version=version)
