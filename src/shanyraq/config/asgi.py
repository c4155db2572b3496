"""ASGI entry point (WSGI is the recommended server interface; see docs/adr)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shanyraq.config.settings.production")

application = get_asgi_application()
