"""Settings for the test suite. ``DATABASE_URL`` selects SQLite (default) or PostgreSQL."""

from __future__ import annotations

import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import STORAGES

SECRET_KEY = "test-only-key-not-used-anywhere-else-0123456789abcdef"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = Path(tempfile.gettempdir()) / "shanyraq-test-media"
# Tests that attach files point this at a folder of their own (``settings`` and ``tmp_path``).
ATTACHMENTS_ROOT = Path(tempfile.gettempdir()) / "shanyraq-test-attachments"
SHANYRAQ_DEMO = False
ATTACHMENT_SCANNER = "fake"
STATIC_ROOT = Path(tempfile.gettempdir()) / "shanyraq-test-static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SMS_GATEWAY = "shanyraq.notifications.sms.FakeSmsGateway"
SMS_FAKE_OUTBOX = Path(tempfile.gettempdir()) / "shanyraq-test-sms" / "sms-outbox.jsonl"
# Tests that issue documents get a PKI of their own (``documents.tests.conftest``).
PKI_DIR = Path(tempfile.gettempdir()) / "shanyraq-test-pki"
PKI_PASSPHRASE = "test-only-passphrase"
SMS_INBOUND_SECRET = "test-only-sms-secret"
DOCUMENTS_ROOT = Path(tempfile.gettempdir()) / "shanyraq-test-documents"
