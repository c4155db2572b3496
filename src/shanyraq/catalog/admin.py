"""Catalog in the platform admin: reference data editable, service versions read-only.

Services change only through the back office, where the owning agency drafts and publishes.
"""

from __future__ import annotations

from django.contrib import admin

from .models import Agency, Category, LifeEvent, Service, ServiceVersion


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("code", "kind", "short_name", "region")
    search_fields = ("code",)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("code", "name", "position")


@admin.register(LifeEvent)
class LifeEventAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("code", "name", "position")


class ReadOnly(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Service)
class ServiceAdmin(ReadOnly):
    list_display = ("code", "agency", "current_version")
    list_filter = ("agency",)
    search_fields = ("code",)


@admin.register(ServiceVersion)
class ServiceVersionAdmin(ReadOnly):
    list_display = ("service", "number", "status", "published_at")
    list_filter = ("status",)
    exclude = ("search_text",)
