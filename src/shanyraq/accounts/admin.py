"""Platform administration of people, roles and tokens."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from shanyraq.core.admin import ReadOnlyAdmin

from .models import ApiToken, LoginAttempt, Membership, User


class MembershipInline(admin.StackedInline):  # type: ignore[type-arg]
    model = Membership
    extra = 0


@admin.register(User)
class UserAdmin(BaseUserAdmin):  # type: ignore[type-arg]
    list_display = ("username", "iin", "last_name", "first_name", "is_auditor", "is_superuser")
    search_fields = ("username", "iin", "last_name", "first_name", "email")
    list_filter = ("is_auditor", "is_superuser", "is_active")
    inlines = [MembershipInline]
    # Roles come from agency memberships, not from Django's groups and permissions.
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (
            _("Person"),
            {"fields": ("last_name", "first_name", "middle_name", "iin", "email")},
        ),
        (
            _("Access"),
            {"fields": ("is_active", "is_auditor", "is_staff", "is_superuser")},
        ),
        (
            _("Preferences and history"),
            {"fields": ("preferred_language", "last_login", "date_joined")},
        ),
    )
    readonly_fields = ("last_login", "date_joined")


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = ("prefix", "user", "name", "created_at", "expires_at", "revoked_at")
    exclude = ("key_hash",)


@admin.register(LoginAttempt)
class LoginAttemptAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "identifier", "address", "succeeded")
    list_filter = ("succeeded",)
