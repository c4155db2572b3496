"""Settings shared by every environment.

Every value that differs between installations comes from an environment variable, read here
and documented in docs/configuration.md. ``DEBUG`` defaults to False.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.utils.translation import gettext_lazy as _

PACKAGE_DIR = Path(__file__).resolve().parents[2]
PROJECT_DIR = PACKAGE_DIR.parents[1]

env = environ.Env()

VAR_DIR = Path(env.str("SHANYRAQ_VAR_DIR", default=str(PROJECT_DIR / "var"))).resolve()

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "ninja",
    "shanyraq.core",
    "shanyraq.accounts",
    "shanyraq.catalog",
    "shanyraq.ledger_django",
    "shanyraq.events",
    "shanyraq.registries",
    "shanyraq.access_log",
    "shanyraq.notifications",
    "shanyraq.casework",
    "shanyraq.documents",
    "shanyraq.proactive",
    "shanyraq.api",
    "shanyraq.portal",
    "shanyraq.backoffice",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "shanyraq.portal.middleware.SecurityHeadersMiddleware",
]

ROOT_URLCONF = "shanyraq.config.urls"
WSGI_APPLICATION = "shanyraq.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "shanyraq.portal.context_processors.portal",
                "shanyraq.notifications.context_processors.inbox",
            ],
        },
    }
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'shanyraq.sqlite3'}")
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers proceed while a writer commits; a busy timeout avoids spurious
    # "database is locked" errors under concurrent requests.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # The few plain queries every API request or submission makes (``shanyraq.core.sql``)
    # are prepared on their connection after a few uses, so that PostgreSQL stops planning
    # them again; the ORM's queries (client-side binding) are never prepared. A pooler in
    # transaction mode between the two must keep prepared statements (PgBouncer 1.21 and
    # later, with ``max_prepared_statements``); 0 prepares nothing.
    _prepare_threshold = env.int("DATABASE_PREPARE_THRESHOLD", default=5)
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "prepare_threshold", _prepare_threshold if _prepare_threshold > 0 else None
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["shanyraq.accounts.backends.ShanyraqBackend"]
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:account"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Languages: Kazakh is the state language and the default; Russian and English follow.
LANGUAGE_CODE = "kk"
LANGUAGES = [("kk", _("Kazakh")), ("ru", _("Russian")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "shanyraq_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Almaty")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "media"

# Files attached to applications (docs/applications.md): outside the static and media roots,
# never served by the web server, only by the casework views to those allowed to read them.
ATTACHMENTS_ROOT = Path(env.str("ATTACHMENTS_ROOT", default=str(VAR_DIR / "attachments")))
# The most a form's field may allow (``ui.attachments.<field>.max_bytes``), and the default.
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=10_000_000)
ATTACHMENTS_PER_APPLICATION = env.int("ATTACHMENTS_PER_APPLICATION", default=20)
# What scans attached files for malware (``shanyraq.core.scanning``): clamd://HOST:PORT,
# clamd:///path/to/socket, fake (demo and tests), or nothing (not scanned).
ATTACHMENT_SCANNER = env.str("ATTACHMENT_SCANNER", default="")
# Uploads: no file grows past the cap on its way in (the first handler drops the rest); files
# above 2.5 MB wait in a temporary file, smaller ones in memory; the other fields of a form
# stay within Django's 2.5 MB; a request carries a few files at most.
FILE_UPLOAD_HANDLERS = [
    "shanyraq.core.files.CappedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_NUMBER_FILES = 10
FILE_UPLOAD_PERMISSIONS = 0o600

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "shanyraq",
    }
}
if env.str("REDIS_URL", default=""):
    CACHES["default"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env.str("REDIS_URL"),
    }

# Sign-in protection: failed attempts per account and per client address within a window.
LOGIN_MAX_FAILURES_PER_ACCOUNT = env.int("LOGIN_MAX_FAILURES_PER_ACCOUNT", default=5)
LOGIN_MAX_FAILURES_PER_ADDRESS = env.int("LOGIN_MAX_FAILURES_PER_ADDRESS", default=20)
LOGIN_FAILURE_WINDOW_SECONDS = env.int("LOGIN_FAILURE_WINDOW_SECONDS", default=15 * 60)
LOGIN_LOCKOUT_SECONDS = env.int("LOGIN_LOCKOUT_SECONDS", default=15 * 60)

# Public address of the portal, used in links printed outside a request (commands, documents).
SHANYRAQ_PUBLIC_URL = env.str("SHANYRAQ_PUBLIC_URL", default="http://127.0.0.1:8000")
SHANYRAQ_DEMO = env.bool("SHANYRAQ_DEMO", default=False)
SHANYRAQ_API_MAX_PAGE_SIZE = 100

# The verifiable ledger (see shanyraq/ledger_django/config.py and docs/ledger.md).
# The first log is where the platform's own entries go unless a caller names another.
LEDGER_LOGS: list[str] = env.list("LEDGER_LOGS", default=["main"])
# A log's origin is its URL prefix without the scheme (tlog-tiles), by default on this site.
LEDGER_ORIGIN_PREFIX = env.str(
    "LEDGER_ORIGIN_PREFIX", default=urlsplit(SHANYRAQ_PUBLIC_URL).netloc + "/ledger"
)
LEDGER_KEY_DIR = Path(env.str("LEDGER_KEY_DIR", default=str(VAR_DIR / "keys")))
LEDGER_STORAGE_DIR = Path(env.str("LEDGER_STORAGE_DIR", default=str(VAR_DIR / "ledger")))
LEDGER_WITNESSES_FILE = Path(
    env.str("LEDGER_WITNESSES_FILE", default=str(VAR_DIR / "keys" / "witnesses.json"))
)

# Notifications (see docs/notifications.md). Email goes through Django's email API: SMTP by
# default, configured by the EMAIL_* variables. SMS goes through the gateway class named by
# SMS_GATEWAY; the fake one writes each message as a JSON line to SMS_FAKE_OUTBOX.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Shanyraq <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
SMS_GATEWAY = env.str("SMS_GATEWAY", default="shanyraq.notifications.sms.FakeSmsGateway")
SMS_FAKE_OUTBOX = VAR_DIR / "sms-outbox.jsonl"
# Replies to SMS reach POST /api/v1/sms/inbound signed by the gateway with this shared secret
# (HMAC-SHA256 of the body); empty, the platform takes no replies.
SMS_INBOUND_SECRET = env.str("SMS_INBOUND_SECRET", default="")

# Signed documents (see docs/documents.md). PKI_DIR holds the platform's private keys,
# each encrypted with PKI_PASSPHRASE (never stored; production refuses to start without it);
# DOCUMENTS_ROOT the signed PDFs, outside the web root; the fonts must cover Kazakh letters.
PKI_DIR = Path(env.str("PKI_DIR", default=str(VAR_DIR / "pki")))
PKI_PASSPHRASE = env.str("PKI_PASSPHRASE", default="")
PKI_ORGANISATION = env.str("PKI_ORGANISATION", default="Shanyraq")
DOCUMENTS_ROOT = Path(env.str("DOCUMENTS_ROOT", default=str(VAR_DIR / "documents")))
DOCUMENT_FONT_DIR = Path(env.str("DOCUMENT_FONT_DIR", default="/usr/share/fonts/truetype/dejavu"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
}

os.environ.setdefault("NINJA_SKIP_REGISTRY", "1")
