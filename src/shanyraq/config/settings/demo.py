"""Settings for ``make demo``: a local SQLite database under var/, debug pages off."""

from __future__ import annotations

from .base import *  # noqa: F403
from .base import VAR_DIR, env

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    # A demo keeps a random key of its own beside its database, never in the repository.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        import secrets

        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    SECRET_KEY = key_file.read_text().strip()
PKI_PASSPHRASE = env.str("PKI_PASSPHRASE", default="")
if not PKI_PASSPHRASE:
    # Likewise the passphrase that encrypts the demo's signing keys under var/pki/.
    passphrase_file = VAR_DIR / "pki_passphrase"
    if not passphrase_file.exists():
        import secrets

        VAR_DIR.mkdir(parents=True, exist_ok=True)
        passphrase_file.write_text(secrets.token_urlsafe(32))
        passphrase_file.chmod(0o600)
    PKI_PASSPHRASE = passphrase_file.read_text().strip()
SMS_INBOUND_SECRET = env.str("SMS_INBOUND_SECRET", default="")
if not SMS_INBOUND_SECRET:
    # The secret the fake gateway signs SMS replies with (``shanyraq sms reply``).
    sms_secret_file = VAR_DIR / "sms_inbound_secret"
    if not sms_secret_file.exists():
        import secrets

        VAR_DIR.mkdir(parents=True, exist_ok=True)
        sms_secret_file.write_text(secrets.token_urlsafe(32))
        sms_secret_file.chmod(0o600)
    SMS_INBOUND_SECRET = sms_secret_file.read_text().strip()
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
SHANYRAQ_DEMO = True
# The fake scanner finds the EICAR test file in an attachment (``shanyraq.core.scanning``).
ATTACHMENT_SCANNER = env.str("ATTACHMENT_SCANNER", default="fake")
# Emails are written as files under var/mail/ instead of being sent.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = VAR_DIR / "mail"
