"""The production settings, as ``shanyraq serve`` uses them, with the benchmarks' baselines.

SECRET_KEY, ALLOWED_HOSTS and DATABASE_URL come from the environment (the benchmarks set
them). The benchmarks speak plain HTTP on loopback, so the HTTPS redirect is off, and any
message to a citizen goes to the fake SMS gateway and to memory, never out of the machine.
"""

import os

os.environ.setdefault("SMS_GATEWAY", "shanyraq.notifications.sms.FakeSmsGateway")
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")

from shanyraq.config.settings.production import *  # noqa: F403

SECURE_SSL_REDIRECT = False
ROOT_URLCONF = "benchsite.urls"
