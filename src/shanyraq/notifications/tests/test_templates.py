"""The message templates exist in the three languages and render in the recipient's."""

from __future__ import annotations

import datetime

import pytest

from shanyraq.core.text import LANGUAGES, TranslatedText
from shanyraq.notifications import registry
from shanyraq.notifications.models import Delivery
from shanyraq.testing import factories

from .support import CONTEXT, notify

# What the casework app sends; each must be defined.
NEEDED = {
    "application.submitted",
    "application.info_requested",
    "application.decided.approved",
    "application.decided.rejected",
    "application.step_overdue",
    "party.confirmation_requested",
    "party.declined",
    "message",
}


def test_the_templates_the_platform_needs_exist():
    assert set(registry.TEMPLATES) >= NEEDED


@pytest.mark.parametrize("code", sorted(registry.TEMPLATES))
def test_every_template_exists_in_kazakh_russian_and_english(code):
    template = registry.TEMPLATES[code]
    for part in (template.subject, template.body, template.sms):
        assert set(part) == set(LANGUAGES)
        assert all(part[lang].strip() for lang in LANGUAGES)


@pytest.mark.parametrize("code", sorted(registry.TEMPLATES))
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_template_renders_in_every_language(code, lang):
    template = registry.TEMPLATES[code]
    rendered = registry.render(template, CONTEXT, lang)
    for text in (rendered.subject, rendered.body, rendered.sms):
        assert text
        assert "{{" not in text and "{%" not in text and "None" not in text
    assert "\n" not in rendered.subject and "\n" not in rendered.sms
    assert rendered.sms.startswith("Shanyraq: ")
    # Two SMS parts in Cyrillic (UCS-2) at most, with a typical context.
    assert len(rendered.sms) <= 134, rendered.sms
    if "number" in template.required:
        assert "2026-000123" in rendered.subject
        assert "2026-000123" in rendered.sms
    if "service" in template.required:
        assert CONTEXT["service"][lang] in rendered.body
        others = [CONTEXT["service"][o] for o in LANGUAGES if o != lang]
        assert not any(name in rendered.body for name in others)


# The generic message carries the caller's own text, which is given per language.
@pytest.mark.parametrize("code", sorted(set(registry.TEMPLATES) - {"message"}))
def test_the_languages_are_really_translated(code):
    template = registry.TEMPLATES[code]
    texts = {lang: registry.render(template, CONTEXT, lang) for lang in LANGUAGES}
    assert len({texts[lang].body for lang in LANGUAGES}) == 3
    assert len({texts[lang].sms for lang in LANGUAGES}) == 3


@pytest.mark.parametrize("code", sorted(registry.TEMPLATES))
def test_optional_details_may_be_left_out(code):
    template = registry.TEMPLATES[code]
    context = {key: CONTEXT[key] for key in template.required}
    for lang in LANGUAGES:
        rendered = registry.render(template, context, lang)
        assert rendered.body and rendered.sms
        assert "  " not in rendered.sms


def test_exact_texts_of_an_information_request():
    template = registry.template_get("application.info_requested")
    rendered = registry.render(template, {**CONTEXT, "deadline": "2026-03-12"}, "ru")
    assert rendered.subject == "По заявке 2026-000123 нужны дополнительные сведения"
    assert rendered.body == (
        "Для рассмотрения вашей заявки 2026-000123 на услугу «Регистрация брака» "
        "государственному органу нужны дополнительные сведения.\n\n"
        "Что требуется: The birth certificate is missing.\n\n"
        "Пожалуйста, предоставьте их до 12.03.2026."
    )
    assert rendered.sms == (
        "Shanyraq: по заявке 2026-000123 нужны дополнительные сведения до 12.03.2026. "
        "Подробности в личном кабинете."
    )


def test_values_are_not_html_escaped_in_plain_text():
    template = registry.template_get("application.decided.rejected")
    rendered = registry.render(template, {**CONTEXT, "reason": 'Income < limit & "other"'}, "en")
    assert 'Reason: Income < limit & "other"' in rendered.body


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (datetime.date(2026, 1, 5), "05.01.2026"),
        ("2026-01-05", "05.01.2026"),
        ("in ten days", "in ten days"),
        (TranslatedText(kk="он күн", ru="десять дней", en="ten days"), "ten days"),
    ],
)
def test_deadlines_are_shown_as_dates(value, shown):
    template = registry.template_get("application.step_overdue")
    rendered = registry.render(template, {**CONTEXT, "deadline": value}, "en")
    assert f"due by {shown} " in rendered.body


@pytest.mark.parametrize("lang", LANGUAGES)
def test_email_and_sms_are_in_the_recipients_language_and_the_inbox_in_all(db, lang):
    person = factories.UserFactory(preferred_language=lang, email="a@example.kz")
    from shanyraq.notifications import services

    services.contact_phone_set(user=person, phone="+77011234567")
    notification = notify(person, template="application.decided.approved")
    expected = registry.render(registry.template_get("application.decided.approved"), CONTEXT, lang)
    email = Delivery.objects.get(notification=notification, channel="email")
    sms = Delivery.objects.get(notification=notification, channel="sms")
    assert (email.language, sms.language) == (lang, lang)
    assert email.subject == expected.subject
    assert expected.body in email.body
    assert sms.body == expected.sms
    for code in LANGUAGES:
        assert (
            notification.subject.get(code)
            == registry.render(
                registry.template_get("application.decided.approved"), CONTEXT, code
            ).subject
        )


def test_the_email_greets_the_person_and_links_to_the_page(db, settings):
    settings.SHANYRAQ_PUBLIC_URL = "https://e.shanyraq.kz/"
    person = factories.UserFactory(
        preferred_language="kk", email="a@example.kz", first_name="Айгерім", middle_name=""
    )
    notification = notify(person)
    email = Delivery.objects.get(notification=notification, channel="email")
    assert email.body.startswith("Сәлеметсіз бе, Айгерім!\n\n«Неке қию» қызметіне")
    assert "Толығырақ: https://e.shanyraq.kz/account/applications/2026-000123/" in email.body
    assert email.body.endswith("Барлық хабарламаларыңыз: https://e.shanyraq.kz/account/messages/")


def test_an_offer_message_carries_its_code_and_how_to_answer():
    template = registry.template_get("offer.made")
    for lang, yes in (("kk", "ИӘ 482913"), ("ru", "ДА 482913"), ("en", "YES 482913")):
        rendered = registry.render(template, CONTEXT, lang)
        assert yes in rendered.sms and yes in rendered.body
        assert "12.03.2026" in rendered.sms
    assert "Свидетельство о рождении" in registry.render(template, CONTEXT, "ru").body
