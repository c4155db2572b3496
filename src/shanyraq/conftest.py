"""Fixtures shared by the tests of every app.

Models are imported inside the fixtures, so that the pure-Python ledger's tests also run
without Django (``pytest -p no:django src/shanyraq/ledger``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from django.test import Client

    from shanyraq.accounts.models import User
    from shanyraq.catalog.models import Agency


@pytest.fixture
def agency(db: None) -> Agency:
    from shanyraq.testing import factories

    return factories.AgencyFactory(code="justice")


@pytest.fixture
def other_agency(db: None) -> Agency:
    from shanyraq.testing import factories

    return factories.AgencyFactory(code="health")


@pytest.fixture
def citizen(db: None) -> User:
    from shanyraq.testing import factories

    return factories.UserFactory()


def _member(agency: Agency, role: str) -> User:
    from shanyraq.accounts.models import Role
    from shanyraq.testing import factories

    return factories.member(agency, Role(role))


@pytest.fixture
def clerk(agency: Agency) -> User:
    return _member(agency, "clerk")


@pytest.fixture
def agency_admin(agency: Agency) -> User:
    return _member(agency, "admin")


@pytest.fixture
def other_admin(other_agency: Agency) -> User:
    return _member(other_agency, "admin")


@pytest.fixture
def auditor(db: None) -> User:
    from shanyraq.testing import factories

    return factories.StaffFactory(is_auditor=True)


@pytest.fixture
def platform_admin(db: None) -> User:
    from shanyraq.testing import factories

    return factories.StaffFactory(is_superuser=True, is_staff=True)


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Each test starts with an empty cache (test databases reuse catalog generations)."""
    from django.conf import settings

    if settings.configured:
        from django.core.cache import cache

        from shanyraq.proactive.services import declarations_forget

        cache.clear()
        declarations_forget()


def client_for(user: User | None) -> Client:
    from django.test import Client

    client = Client()
    if user is not None:
        client.force_login(user)
    return client
