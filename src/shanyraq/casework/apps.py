from __future__ import annotations

from pathlib import Path
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
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


def check_attachment_scanner(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``ATTACHMENT_SCANNER`` names a scanner the platform knows."""
    from shanyraq.core.scanning import scanner_from

    try:
        scanner_from(settings.ATTACHMENT_SCANNER)
    except ImproperlyConfigured as error:
        return [checks.Error(str(error), id="casework.E002")]
    return []


def check_attachment_scanner_deployed(
    app_configs: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """In production, attached files are scanned by a real scanner."""
    if settings.ATTACHMENT_SCANNER.strip() in ("", "fake"):
        return [
            checks.Warning(
                "Attached files are not scanned for malware"
                + (
                    " (the fake scanner finds only the EICAR test file)."
                    if settings.ATTACHMENT_SCANNER.strip()
                    else "."
                ),
                hint="Set ATTACHMENT_SCANNER to ClamAV's daemon, e.g. clamd:///run/clamav/clamd.ctl.",
                id="casework.W001",
            )
        ]
    return []


class CaseworkConfig(AppConfig):
    name = "shanyraq.casework"
    verbose_name = _("Applications and casework")

    def ready(self) -> None:
        checks.register(check_attachments_root)
        checks.register(check_attachment_scanner)
        checks.register(check_attachment_scanner_deployed, checks.Tags.security, deploy=True)
