"""Reads for accounts: who may do what, for which agency."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AnonymousUser

from .models import OFFICIAL_ROLES, Membership, Role, User

AnyUser = User | AnonymousUser

__all__ = [
    "agency_ids_for",
    "can_manage_agency",
    "is_agency_admin",
    "is_official",
    "is_staff_member",
    "members_with_role",
    "memberships_of",
]


def memberships_of(user: AnyUser) -> list[Membership]:
    """The user's memberships, loaded once per user object."""
    if not user.is_authenticated:
        return []
    assert isinstance(user, User)
    cached: list[Membership] | None = getattr(user, "_membership_cache", None)
    if cached is None:
        cached = list(Membership.objects.filter(user=user).select_related("agency"))
        user._membership_cache = cached  # type: ignore[attr-defined]
    return cached


def agency_ids_for(user: AnyUser, roles: Iterable[str] | None = None) -> set[int]:
    wanted = set(roles) if roles is not None else None
    return {m.agency_id for m in memberships_of(user) if wanted is None or m.role in wanted}


def is_official(user: AnyUser) -> bool:
    return bool(agency_ids_for(user, OFFICIAL_ROLES))


def is_agency_admin(user: AnyUser) -> bool:
    return bool(agency_ids_for(user, {Role.ADMIN}))


def is_staff_member(user: AnyUser) -> bool:
    """Anyone who works in the back office: officials, agency admins, auditors, platform admins."""
    if not user.is_authenticated:
        return False
    assert isinstance(user, User)
    return user.is_superuser or user.is_auditor or bool(memberships_of(user))


def can_manage_agency(user: AnyUser, agency_id: int) -> bool:
    """Only an agency's own administrators edit its services (platform admins do not)."""
    return agency_id in agency_ids_for(user, {Role.ADMIN})


def members_with_role(agency_id: int, role: str) -> list[User]:
    """The active members of an agency holding ``role``, by username."""
    return list(
        User.objects.filter(
            is_active=True, memberships__agency_id=agency_id, memberships__role=role
        ).order_by("username")
    )
