"""Settings for ``make demo``: a local SQLite database under var/, debug pages off."""

from __future__ import annotations

import secrets

from .base import *  # noqa: F403
from .base import VAR_DIR, env


def _kept_secret(variable: str, name: str, length: int) -> str:
    """The secret in the environment variable, or else a random one the demo made once and
    keeps in ``var/<name>`` (mode 0600), beside its database and never in the repository."""
    given: str = env.str(variable, default="")
    if given:
        return given
    path = VAR_DIR / name
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(length))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = _kept_secret("SECRET_KEY", "secret_key", 50)
# The passphrase that encrypts the demo's signing keys under var/pki/.
PKI_PASSPHRASE = _kept_secret("PKI_PASSPHRASE", "pki_passphrase", 32)
# The secret the fake gateway signs SMS replies with (``shanyraq sms reply``).
SMS_INBOUND_SECRET = _kept_secret("SMS_INBOUND_SECRET", "sms_inbound_secret", 32)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
SHANYRAQ_DEMO = True
# The fake scanner finds the EICAR test file in an attachment (``shanyraq.core.scanning``).
ATTACHMENT_SCANNER = env.str("ATTACHMENT_SCANNER", default="fake")
# Emails are written as files under var/mail/ instead of being sent.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = VAR_DIR / "mail"
