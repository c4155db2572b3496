"""Template filters for translated data and figures."""

from __future__ import annotations

from typing import Any

from django import template

from shanyraq.core.errors import DomainError
from shanyraq.core.text import TranslatedText

register = template.Library()


@register.filter
def tr(value: Any) -> str:
    """The text in the current language, from a TranslatedText or a {kk, ru, en} dict."""
    if isinstance(value, TranslatedText):
        return value.get()
    if isinstance(value, dict):
        try:
            return TranslatedText.from_value(value, partial=True).get()
        except (TypeError, ValueError, DomainError):
            return ""
    return "" if value is None else str(value)


@register.filter
def percent(value: float) -> str:
    return f"{value * 100:.1f}%"
