from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _


def check_sms_gateway(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``SMS_GATEWAY`` names an importable ``SmsGateway``, or deliveries would fail at send."""
    from .sms import gateway_class

    try:
        gateway_class()
    except ImproperlyConfigured as error:
        return [checks.Error(str(error), id="notifications.E001")]
    return []


class NotificationsConfig(AppConfig):
    name = "shanyraq.notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        checks.register(check_sms_gateway)
