"""Fixtures shared by the tests of every app."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from shanyraq.accounts.models import Role, User
from shanyraq.catalog.models import Agency
from shanyraq.testing import factories


@pytest.fixture
def agency(db: None) -> Agency:
    return factories.AgencyFactory(code="justice")


@pytest.fixture
def other_agency(db: None) -> Agency:
    return factories.AgencyFactory(code="health")


@pytest.fixture
def citizen(db: None) -> User:
    return factories.UserFactory()


@pytest.fixture
def clerk(agency: Agency) -> User:
    return factories.member(agency, Role.CLERK)


@pytest.fixture
def agency_admin(agency: Agency) -> User:
    return factories.member(agency, Role.ADMIN)


@pytest.fixture
def other_admin(other_agency: Agency) -> User:
    return factories.member(other_agency, Role.ADMIN)


@pytest.fixture
def auditor(db: None) -> User:
    return factories.StaffFactory(is_auditor=True)


@pytest.fixture
def platform_admin(db: None) -> User:
    return factories.StaffFactory(is_superuser=True, is_staff=True)


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Each test starts with an empty cache (test databases reuse catalog generations)."""
    cache.clear()


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client
