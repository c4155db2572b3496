"""The platform administrator sees messages and their deliveries; nobody edits them here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from shanyraq.core.admin import ReadOnlyAdmin

from .models import ContactPoint, Delivery, Notification


class DeliveryInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Delivery
    extra = 0
    can_delete = False
    fields = ("channel", "address", "status", "attempts", "next_attempt_at", "sent_at")
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "recipient", "template", "dedupe_key", "read_at")
    list_filter = ("template",)
    search_fields = ("dedupe_key", "recipient__username", "recipient__iin")
    list_select_related = ("recipient",)
    raw_id_fields = ("recipient",)
    date_hierarchy = "created_at"
    inlines = [DeliveryInline]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "channel", "address", "status", "attempts", "sent_at")
    list_filter = ("status", "channel")
    search_fields = ("address", "notification__dedupe_key", "provider_ref")
    raw_id_fields = ("notification",)
    date_hierarchy = "created_at"


@admin.register(ContactPoint)
class ContactPointAdmin(ReadOnlyAdmin):
    list_display = ("user", "phone", "updated_at")
    search_fields = ("phone", "user__username", "user__iin")
    raw_id_fields = ("user",)
