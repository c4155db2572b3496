from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProactiveConfig(AppConfig):
    name = "shanyraq.proactive"
    verbose_name = _("Proactive services")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from shanyraq.events import services as events

        from .declarations import LIFE_EVENTS
        from .services import HANDLER, handle_life_events

        for event_type in sorted(LIFE_EVENTS):
            events.subscribe_batch(event_type, HANDLER)(handle_life_events)
