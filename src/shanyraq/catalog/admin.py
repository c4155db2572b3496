"""Catalog in the platform admin: reference data editable, service versions read-only.

Services change only through the back office, where the owning agency drafts and publishes.
"""

from __future__ import annotations

from django.contrib import admin

from shanyraq.core.admin import ReadOnlyAdmin

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


@admin.register(Service)
class ServiceAdmin(ReadOnlyAdmin):
    list_display = ("code", "agency", "current_version")
    list_filter = ("agency",)
    search_fields = ("code",)


@admin.register(ServiceVersion)
class ServiceVersionAdmin(ReadOnlyAdmin):
    list_display = ("service", "number", "status", "published_at")
    list_filter = ("status",)
    exclude = ("search_text",)
