"""The message templates: what the platform tells people, in Kazakh, Russian and English.

Templates live in code, not in the database, so that a change to what citizens are told is
reviewed like any other change, and a test can prove that every template exists in the three
languages and renders. Each template has a subject, a body (the inbox text and the heart of
the email) and a short SMS text, written in Django's template language and rendered without
HTML escaping: they are plain text, and the portal escapes the inbox text when it shows it.

Context values are prepared for the recipient's language before rendering: text given in the
three languages (a ``TranslatedText`` or a ``{"kk", "ru", "en"}`` mapping, such as a service's
name) becomes the text in that language, and dates are written as ``dd.mm.yyyy``.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from django.template import Context, Engine, Template
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from shanyraq.core.errors import ValidationError
from shanyraq.core.text import LANGUAGES, TranslatedText

__all__ = [
    "TEMPLATES",
    "MessageTemplate",
    "Rendered",
    "email_text",
    "render",
    "template_get",
]

Texts = Mapping[str, str]  # language -> template source


@dataclass(frozen=True)
class MessageTemplate:
    """One kind of message. ``required`` context keys must be given and not empty;
    ``optional`` ones may be left out (the text reads well either way)."""

    code: str
    audience: str  # "citizen" or "official": whom the wording addresses
    required: frozenset[str]
    optional: frozenset[str]
    subject: Texts
    body: Texts
    sms: Texts


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    sms: str


def _template(
    code: str,
    *,
    audience: str = "citizen",
    required: tuple[str, ...],
    optional: tuple[str, ...] = (),
    subject: Texts,
    body: Texts,
    sms: Texts,
) -> MessageTemplate:
    return MessageTemplate(
        code=code,
        audience=audience,
        required=frozenset(required),
        optional=frozenset(optional) | {"link"},
        subject=subject,
        body=body,
        sms=sms,
    )


APPLICATION = ("number", "service")

_ALL: Final = [
    _template(
        "application.submitted",
        required=APPLICATION,
        subject={
            "kk": "{{ number }} өтінімі қабылданды",
            "ru": "Заявка {{ number }} принята",
            "en": "Application {{ number }} received",
        },
        body={
            "kk": "«{{ service }}» қызметіне берген {{ number }} өтініміңіз "
            "қабылданып, мемлекеттік органға жіберілді. Шешім шыққанда немесе қосымша мәлімет "
            "қажет болса, сізге хабарлаймыз.",
            "ru": "Ваша заявка {{ number }} на услугу «{{ service }}» принята "
            "и передана в государственный орган. Мы сообщим вам, когда по ней будет принято "
            "решение или если понадобятся дополнительные сведения.",
            "en": "Your application {{ number }} for the service "
            "“{{ service }}” has been received and sent to the agency. We will let you "
            "know when it is decided or if the agency needs more information.",
        },
        sms={
            "kk": "Shanyraq: {{ number }} өтініміңіз қабылданды. Мәртебесін жеке "
            "кабинеттен қадағалаңыз.",
            "ru": "Shanyraq: ваша заявка {{ number }} принята. Следите за её "
            "статусом в личном кабинете.",
            "en": "Shanyraq: your application {{ number }} has been received. "
            "Follow it in your account.",
        },
    ),
    _template(
        "application.info_requested",
        required=(*APPLICATION, "reason"),
        optional=("deadline",),
        subject={
            "kk": "{{ number }} өтінімі бойынша қосымша мәлімет қажет",
            "ru": "По заявке {{ number }} нужны дополнительные сведения",
            "en": "More information needed for application {{ number }}",
        },
        body={
            "kk": "«{{ service }}» қызметіне берген {{ number }} өтініміңізді қарау үшін "
            "мемлекеттік органға қосымша мәлімет қажет.\n\n"
            "Не қажет: {{ reason }}"
            "{% if deadline %}\n\nМәліметті {{ deadline }} дейін ұсынуыңызды сұраймыз.{% endif %}",
            "ru": "Для рассмотрения вашей заявки {{ number }} на услугу «{{ service }}» "
            "государственному органу нужны дополнительные сведения.\n\n"
            "Что требуется: {{ reason }}"
            "{% if deadline %}\n\nПожалуйста, предоставьте их до {{ deadline }}.{% endif %}",
            "en": "The agency needs more information to deal with your application "
            "{{ number }} for the service “{{ service }}”.\n\n"
            "What is needed: {{ reason }}"
            "{% if deadline %}\n\nPlease provide it by {{ deadline }}.{% endif %}",
        },
        sms={
            "kk": "Shanyraq: {{ number }} өтінімі бойынша қосымша мәлімет қажет"
            "{% if deadline %} ({{ deadline }} дейін){% endif %}. Толығырақ жеке кабинетте.",
            "ru": "Shanyraq: по заявке {{ number }} нужны дополнительные сведения"
            "{% if deadline %} до {{ deadline }}{% endif %}. Подробности в личном кабинете.",
            "en": "Shanyraq: more information is needed for application {{ number }}"
            "{% if deadline %} by {{ deadline }}{% endif %}. Details in your account.",
        },
    ),
    _template(
        "application.decided.approved",
        required=APPLICATION,
        subject={
            "kk": "{{ number }} өтінімі мақұлданды",
            "ru": "Заявка {{ number }} одобрена",
            "en": "Application {{ number }} approved",
        },
        body={
            "kk": "«{{ service }}» қызметіне берген {{ number }} өтініміңіз "
            "мақұлданды. Нәтижесін жеке кабинетіңізден көре аласыз.",
            "ru": "Ваша заявка {{ number }} на услугу «{{ service }}» "
            "одобрена. Результат доступен в личном кабинете.",
            "en": "Your application {{ number }} for the service "
            "“{{ service }}” has been approved. The result is in your account.",
        },
        sms={
            "kk": "Shanyraq: {{ number }} өтініміңіз мақұлданды. Нәтижесі жеке кабинетте.",
            "ru": "Shanyraq: заявка {{ number }} одобрена. Результат в личном кабинете.",
            "en": "Shanyraq: application {{ number }} has been approved. The "
            "result is in your account.",
        },
    ),
    _template(
        "application.decided.rejected",
        required=(*APPLICATION, "reason"),
        subject={
            "kk": "{{ number }} өтінімі бойынша бас тартылды",
            "ru": "По заявке {{ number }} отказано",
            "en": "Application {{ number }} rejected",
        },
        body={
            "kk": "«{{ service }}» қызметіне берген {{ number }} өтініміңіз "
            "бойынша бас тартылды.\n\n"
            "Себебі: {{ reason }}\n\n"
            "Шешімге шағым бере аласыз немесе бас тарту себебі жойылғаннан кейін өтінімді қайта "
            "бере аласыз.",
            "ru": "По вашей заявке {{ number }} на услугу «{{ service }}» "
            "принято решение об отказе.\n\n"
            "Причина: {{ reason }}\n\n"
            "Вы можете обжаловать решение или подать заявку повторно, когда причина отказа "
            "будет устранена.",
            "en": "Your application {{ number }} for the service "
            "“{{ service }}” has been rejected.\n\n"
            "Reason: {{ reason }}\n\n"
            "You can appeal against the decision, or apply again once the reason no longer "
            "applies.",
        },
        sms={
            "kk": "Shanyraq: {{ number }} өтінімі бойынша бас тартылды. Себебі жеке "
            "кабинетте көрсетілген.",
            "ru": "Shanyraq: по заявке {{ number }} отказано. Причина указана в личном кабинете.",
            "en": "Shanyraq: application {{ number }} has been rejected. The "
            "reason is in your account.",
        },
    ),
    _template(
        "application.step_overdue",
        audience="official",
        required=(*APPLICATION, "deadline"),
        optional=("step",),
        subject={
            "kk": "{{ number }} өтінімінің мерзімі өтіп кетті",
            "ru": "Просрочена заявка {{ number }}",
            "en": "Overdue: application {{ number }}",
        },
        body={
            "kk": "«{{ service }}» қызметі бойынша {{ number }} өтінімін қарау "
            "мерзімі {{ deadline }} аяқталды."
            "{% if step %} Ағымдағы кезең: {{ step }}.{% endif %}\n\n"
            "Өтінімді бірінші кезекте қарауыңызды немесе әріптесіңізге тапсыруыңызды сұраймыз.",
            "ru": "Срок рассмотрения заявки {{ number }} на услугу "
            "«{{ service }}» истёк {{ deadline }}."
            "{% if step %} Текущий этап: {{ step }}.{% endif %}\n\n"
            "Пожалуйста, рассмотрите её в первую очередь или передайте коллеге.",
            "en": "Application {{ number }} for the service “{{ service }}” "
            "was due by {{ deadline }} and is overdue."
            "{% if step %} Current step: {{ step }}.{% endif %}\n\n"
            "Please deal with it first or pass it to a colleague.",
        },
        sms={
            "kk": "Shanyraq: {{ number }} өтінімінің мерзімі {{ deadline }} аяқталды.",
            "ru": "Shanyraq: просрочена заявка {{ number }}, срок истёк {{ deadline }}.",
            "en": "Shanyraq: application {{ number }} is overdue; it was due by {{ deadline }}.",
        },
    ),
    _template(
        "party.confirmation_requested",
        required=APPLICATION,
        optional=("deadline", "applicant"),
        subject={
            "kk": "{{ number }} өтінімін растауыңыз қажет",
            "ru": "Требуется ваше подтверждение по заявке {{ number }}",
            "en": "Please confirm application {{ number }}",
        },
        body={
            "kk": "«{{ service }}» қызметіне берілген {{ number }} өтінімінде"
            "{% if applicant %} (өтініш беруші — {{ applicant }}){% endif %} сіз қатысушы "
            "ретінде көрсетілгенсіз. Өтінім сіз растағаннан кейін ғана қаралады.\n\n"
            "{% if deadline %}{{ deadline }} дейін өтінімді{% else %}Өтінімді{% endif %} "
            "растаңыз немесе одан бас тартыңыз. Бұл өтінім туралы ештеңе білмесеңіз, одан бас "
            "тартыңыз.",
            "ru": "В заявке {{ number }} на услугу «{{ service }}»"
            "{% if applicant %} (заявитель — {{ applicant }}){% endif %} вы указаны как "
            "участник. Заявка будет рассмотрена только после вашего подтверждения.\n\n"
            "Пожалуйста, подтвердите её или откажитесь от участия"
            "{% if deadline %} до {{ deadline }}{% endif %}. Если вы ничего не знаете об этой "
            "заявке, откажитесь.",
            "en": "Application {{ number }} for the service “{{ service }}”"
            "{% if applicant %} (made by {{ applicant }}){% endif %} names you as a party. It "
            "will be dealt with only after you confirm it.\n\n"
            "Please confirm or decline it{% if deadline %} by {{ deadline }}{% endif %}. If you "
            "know nothing about this application, decline it.",
        },
        sms={
            "kk": "Shanyraq: {{ number }} өтінімін"
            "{% if deadline %} {{ deadline }} дейін{% endif %} жеке кабинетте растаңыз немесе "
            "одан бас тартыңыз.",
            "ru": "Shanyraq: подтвердите заявку {{ number }} или откажитесь от участия"
            "{% if deadline %} до {{ deadline }}{% endif %} в личном кабинете.",
            "en": "Shanyraq: please confirm or decline application {{ number }} in your account"
            "{% if deadline %} by {{ deadline }}{% endif %}.",
        },
    ),
    _template(
        "party.declined",
        required=APPLICATION,
        subject={
            "kk": "{{ number }} өтінімі қаралмайды",
            "ru": "Заявка {{ number }} не будет рассмотрена",
            "en": "Application {{ number }} will not go ahead",
        },
        body={
            "kk": "«{{ service }}» қызметіне берген {{ number }} өтініміңізде көрсетілген басқа "
            "қатысушы оны растаудан бас тартты, сондықтан өтінім қаралмайды. Жағдай өзгерсе, "
            "өтінімді қайта бере аласыз.",
            "ru": "Другой участник, указанный в вашей заявке {{ number }} на услугу "
            "«{{ service }}», отказался её подтвердить, поэтому заявка не будет рассмотрена. "
            "Если обстоятельства изменятся, вы можете подать заявку повторно.",
            "en": "Another party named in your application {{ number }} for the service "
            "“{{ service }}” has declined to confirm it, so the application will not go ahead. "
            "You can apply again if things change.",
        },
        sms={
            "kk": "Shanyraq: басқа қатысушы растаудан бас тартқандықтан, {{ number }} өтінімі "
            "қаралмайды. Толығырақ жеке кабинетте.",
            "ru": "Shanyraq: другой участник отказался подтвердить заявку {{ number }}, она не "
            "будет рассмотрена. Подробности в личном кабинете.",
            "en": "Shanyraq: another party declined to confirm application {{ number }}, so it "
            "will not go ahead. Details in your account.",
        },
    ),
    _template(
        "offer.made",
        required=("services", "code", "deadline"),
        subject={
            "kk": "Сізге мемлекеттік қызметтер ұсынылады",
            "ru": "Вам предлагаются государственные услуги",
            "en": "Public services are offered to you",
        },
        body={
            "kk": "Тізілімдегі мәліметтер бойынша сізге мына қызметтер тиесілі: {{ services }}. "
            "Өтініштерді біз толтырдық: жеке кабинетте бір рет келісім беріңіз немесе осы "
            "хабарламаға «ИӘ {{ code }}» деп жауап жазыңыз. Ұсыныс {{ deadline }} дейін күшінде.",
            "ru": "По данным реестров вам положены услуги: {{ services }}. Заявки мы заполнили "
            "сами: дайте согласие один раз в личном кабинете или ответьте на это сообщение "
            "«ДА {{ code }}». Предложение действует до {{ deadline }}.",
            "en": "According to the registers you are entitled to: {{ services }}. We have "
            "filled in the applications: agree once in your account, or reply YES {{ code }} "
            "to the text message. The offer is open until {{ deadline }}.",
        },
        sms={
            "kk": "Shanyraq: сізге мемлекеттік қызметтер ұсынылады. Келісесіз бе? Жауап: "
            "ИӘ {{ code }} немесе ЖОҚ {{ code }}. {{ deadline }} дейін.",
            "ru": "Shanyraq: вам предлагаются госуслуги. Согласны? Ответьте ДА {{ code }} или "
            "НЕТ {{ code }} до {{ deadline }}.",
            "en": "Shanyraq: public services are offered to you. Agree? Reply YES {{ code }} "
            "or NO {{ code }} by {{ deadline }}.",
        },
    ),
    *[
        _template(
            f"offer.reply_{outcome}",
            required=("code",),
            subject=texts,
            body=texts,
            sms={lang: f"Shanyraq: {text}" for lang, text in texts.items()},
        )
        for outcome, texts in {
            "accepted": {
                "kk": "{{ code }} ұсынысына келісіміңіз қабылданды, өтініштер берілді.",
                "ru": "Согласие на предложение {{ code }} принято, заявки поданы.",
                "en": "Your consent to offer {{ code }} is recorded; the applications are made.",
            },
            "declined": {
                "kk": "{{ code }} ұсынысынан бас тарттыңыз. Ешқандай өтініш берілмеді.",
                "ru": "Вы отказались от предложения {{ code }}. Заявки не поданы.",
                "en": "You declined offer {{ code }}. No application was made.",
            },
            "expired": {
                "kk": "{{ code }} ұсынысының мерзімі өтті. Қызметке порталда өтініш беріңіз.",
                "ru": "Срок предложения {{ code }} истёк. Подайте заявку на портале.",
                "en": "Offer {{ code }} has expired. You can still apply on the portal.",
            },
            "answered": {
                "kk": "{{ code }} ұсынысына бұрын жауап берілген.",
                "ru": "На предложение {{ code }} уже дан ответ.",
                "en": "Offer {{ code }} has already been answered.",
            },
            "needs_portal": {
                "kk": "{{ code }} ұсынысы электрондық қолтаңбаны қажет етеді: жеке кабинетте "
                "келісім беріңіз.",
                "ru": "Для предложения {{ code }} нужна электронная подпись: дайте согласие в "
                "личном кабинете.",
                "en": "Offer {{ code }} needs your electronic signature: agree in your account.",
            },
            "unknown_code": {
                "kk": "Мұндай коды бар ұсыныс табылмады. Кодты SMS-тен тексеріңіз.",
                "ru": "Предложение с таким кодом не найдено. Проверьте код в SMS.",
                "en": "No offer has that code. Check the code in the message.",
            },
            "not_understood": {
                "kk": "Жауап түсініксіз. Жазыңыз: ИӘ <код> немесе ЖОҚ <код>.",
                "ru": "Ответ не распознан. Напишите: ДА <код> или НЕТ <код>.",
                "en": "The reply was not understood. Write YES <code> or NO <code>.",
            },
        }.items()
    ],
    _template(
        "message",
        required=("subject", "text"),
        subject={"kk": "{{ subject }}", "ru": "{{ subject }}", "en": "{{ subject }}"},
        body={"kk": "{{ text }}", "ru": "{{ text }}", "en": "{{ text }}"},
        sms={
            "kk": "Shanyraq: {{ subject }}. Хабарлама жеке кабинетіңізде.",
            "ru": "Shanyraq: {{ subject }}. Сообщение в личном кабинете.",
            "en": "Shanyraq: {{ subject }}. The message is in your account.",
        },
    ),
]

TEMPLATES: Final[Mapping[str, MessageTemplate]] = {t.code: t for t in _ALL}

# The email around a message's body: a greeting, the link and why the email came.
EMAIL_FRAME: Final[Texts] = {
    "kk": "Сәлеметсіз бе{% if name %}, {{ name }}{% endif %}!\n\n"
    "{{ body }}\n\n"
    "{% if url %}Толығырақ: {{ url }}\n\n{% endif %}"
    "Бұл хабарламаны Shanyraq мемлекеттік қызметтер порталы автоматты түрде жіберді, оған "
    "жауап бермеңіз. Барлық хабарламаларыңыз: {{ inbox_url }}",
    "ru": "Здравствуйте{% if name %}, {{ name }}{% endif %}!\n\n"
    "{{ body }}\n\n"
    "{% if url %}Подробнее: {{ url }}\n\n{% endif %}"
    "Это письмо отправлено автоматически порталом государственных услуг Shanyraq, отвечать "
    "на него не нужно. Все ваши сообщения: {{ inbox_url }}",
    "en": "Hello{% if name %} {{ name }}{% endif %},\n\n"
    "{{ body }}\n\n"
    "{% if url %}Details: {{ url }}\n\n{% endif %}"
    "This email was sent automatically by Shanyraq, the portal of public services; there is "
    "no need to reply. All your messages: {{ inbox_url }}",
}

# Plain text: nothing is escaped here; the portal's templates escape what they show.
_ENGINE: Final = Engine(autoescape=False)


@functools.lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    return _ENGINE.from_string(source)


def template_get(code: str) -> MessageTemplate:
    """The template ``code``; raises ``ValidationError`` for an unknown code."""
    try:
        return TEMPLATES[code]
    except KeyError:
        raise ValidationError(
            code="notification.unknown_template",
            message=_("There is no message template with this code."),
            field="template",
            details={"template": code},
        ) from None


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, Mapping) and value and set(value) <= set(LANGUAGES):
        value = TranslatedText.from_value(value, partial=True, max_length=None)
    if isinstance(value, TranslatedText):
        return not any(value.get(lang).strip() for lang in LANGUAGES)
    return False


# Keys whose text value, when it is an ISO date (``2026-03-12``), is shown as a date.
DATE_KEYS: Final = frozenset({"deadline"})


def _localised(key: str, value: Any, language: str) -> Any:
    """``value`` as the recipient reads it: text in their language, dates as dd.mm.yyyy."""
    if key in DATE_KEYS and isinstance(value, str):
        try:
            value = datetime.date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, TranslatedText):
        return value.get(language)
    if isinstance(value, Mapping) and value and set(value) <= set(LANGUAGES):
        return TranslatedText.from_value(value, partial=True, max_length=None).get(language)
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.strftime("%d.%m.%Y %H:%M")
    if isinstance(value, datetime.date):
        return value.strftime("%d.%m.%Y")
    return value


def check_context(template: MessageTemplate, context: Mapping[str, Any]) -> None:
    """Raise ``ValidationError`` when a required key is missing or empty."""
    missing = sorted(key for key in template.required if _is_empty(context.get(key)))
    if missing:
        raise ValidationError(
            code="notification.context_missing",
            message=_("The message lacks some of the details it needs."),
            details={"template": template.code, "missing": missing},
        )


def _render(source: str, context: Mapping[str, Any], language: str) -> str:
    with translation.override(language):
        return _render_here(source, context)


def _render_here(source: str, context: Mapping[str, Any]) -> str:
    """``source`` rendered in the language that is active."""
    return _compiled(source).render(Context(dict(context), autoescape=False)).strip()


def render(template: MessageTemplate, context: Mapping[str, Any], language: str) -> Rendered:
    """The subject, body and SMS text of ``template`` in ``language``."""
    values = {key: _localised(key, value, language) for key, value in context.items()}
    with translation.override(language):
        return Rendered(
            subject=" ".join(_render_here(template.subject[language], values).split()),
            body=_render_here(template.body[language], values),
            sms=" ".join(_render_here(template.sms[language], values).split()),
        )


def email_text(*, body: str, language: str, name: str, url: str, inbox_url: str) -> str:
    """The whole email: ``body`` inside the greeting and the footer, in ``language``."""
    context = {"body": body, "name": name, "url": url, "inbox_url": inbox_url}
    return _render(EMAIL_FRAME[language], context, language)
