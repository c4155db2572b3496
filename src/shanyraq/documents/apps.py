from __future__ import annotations

from pathlib import Path
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.utils.translation import gettext_lazy as _


def check_fonts(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Documents are rendered with fonts that have every Kazakh letter; without them no
    document can be issued."""
    from .rendering import fonts_problem

    problem = fonts_problem()
    if problem:
        return [
            checks.Error(
                problem,
                hint="Install Debian's fonts-dejavu-core, or set DOCUMENT_FONT_DIR.",
                id="documents.E001",
            )
        ]
    return []


def check_pki(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """A deployment signs documents with keys encrypted by PKI_PASSPHRASE, kept outside the
    web root like the documents themselves."""
    found: list[checks.CheckMessage] = []
    if not settings.PKI_PASSPHRASE:
        found.append(
            checks.Error(
                "PKI_PASSPHRASE is empty: the signing keys cannot be encrypted or used.",
                hint="Set PKI_PASSPHRASE in the environment (a long random secret).",
                id="documents.E002",
            )
        )
    public = [Path(settings.STATIC_ROOT), Path(settings.MEDIA_ROOT)]
    for name in ("PKI_DIR", "DOCUMENTS_ROOT"):
        kept = Path(getattr(settings, name)).resolve()
        for root in public:
            root = root.resolve()
            if kept == root or root in kept.parents or kept in root.parents:
                found.append(
                    checks.Error(
                        f"{name} ({kept}) overlaps a directory the web server publishes ({root}).",
                        id="documents.E003",
                    )
                )
    return found


class DocumentsConfig(AppConfig):
    name = "shanyraq.documents"
    verbose_name = _("Documents and signatures")

    def ready(self) -> None:
        checks.register(check_fonts)
        checks.register(check_pki, checks.Tags.security, deploy=True)
