"""The production settings, as ``shanyraq serve`` uses them, with the benchmark's constant view.

SECRET_KEY, ALLOWED_HOSTS and DATABASE_URL come from the environment (bench/catalog.py sets
them). The benchmark speaks plain HTTP on loopback, so the HTTPS redirect is off.
"""

from shanyraq.config.settings.production import *  # noqa: F403

SECURE_SSL_REDIRECT = False
ROOT_URLCONF = "benchsite.urls"
