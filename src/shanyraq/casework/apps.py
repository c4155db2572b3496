from __future__ import annotations

from pathlib import Path
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.utils.translation import gettext_lazy as _


def check_attachments_root(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Attached files must not lie where the web server serves files (the static files, the
    media root): there they would reach anyone who guesses a name, past every permission."""
    root = Path(settings.ATTACHMENTS_ROOT).resolve()
    served = [settings.STATIC_ROOT, settings.MEDIA_ROOT, *settings.STATICFILES_DIRS]
    for folder in (Path(str(f)).resolve() for f in served if f):
        if root == folder or folder in root.parents or root in folder.parents:
            return [
                checks.Error(
                    f"ATTACHMENTS_ROOT ({root}) overlaps {folder}, which the web server serves.",
                    hint="Keep attached files in a folder of their own outside the web root.",
                    id="casework.E001",
                )
            ]
    return []


class CaseworkConfig(AppConfig):
    name = "shanyraq.casework"
    verbose_name = _("Applications and casework")

    def ready(self) -> None:
        checks.register(check_attachments_root)
