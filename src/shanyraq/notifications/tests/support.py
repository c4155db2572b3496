"""What the notifications tests share: a context every template accepts, and ``notify``."""

from __future__ import annotations

import datetime

from django.db import transaction

from shanyraq.notifications import services

FAKE = "shanyraq.notifications.sms.FakeSmsGateway"

# A context that every template accepts, with text in three languages where the casework
# app gives it so.
CONTEXT = {
    "number": "2026-000123",
    "service": {"kk": "Неке қию", "ru": "Регистрация брака", "en": "Marriage registration"},
    "link": "/account/applications/2026-000123/",
    "reason": "The birth certificate is missing.",
    "deadline": datetime.date(2026, 3, 12),
    "step": {"kk": "Тексеру", "ru": "Проверка", "en": "Review"},
    "applicant": "Нұрланова Айгерім",
    "subject": {"kk": "Жаңалық", "ru": "Новость", "en": "News"},
    "text": {"kk": "Мәтін", "ru": "Текст", "en": "Text"},
    "services": {
        "kk": "Туу туралы куәлік; Жәрдемақы",
        "ru": "Свидетельство о рождении; Пособие",
        "en": "Birth certificate; Benefit",
    },
    "code": "482913",
}


def notify(recipient, template="application.submitted", key="application:1:submitted", **kw):
    """``services.notify`` in a transaction of its own, as a calling service would run it."""
    kw.setdefault("context", CONTEXT)
    with transaction.atomic():
        return services.notify(recipient=recipient, template=template, dedupe_key=key, **kw)
