"""Text kept in the three languages of the platform: Kazakh, Russian and English.

``TranslatedText`` is for *data*: a service's name, a form's help text, a register's labels.
Strings of the interface itself go through gettext instead.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

from django.core import exceptions as django_exceptions
from django.db import models
from django.db.models.query_utils import DeferredAttribute
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from shanyraq.core.errors import ValidationError

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.expressions import Expression

__all__ = [
    "LANGUAGES",
    "MAX_TEXT_LENGTH",
    "InvalidTranslatedText",
    "TranslatedText",
    "TranslatedTextField",
]

LANGUAGES: Final = ("kk", "ru", "en")
# Generous enough for a paragraph of guidance; a field may ask for less (or more).
MAX_TEXT_LENGTH: Final = 10_000


class InvalidTranslatedText(ValidationError):
    """A value could not be read as text in the three languages.

    ``field`` names the language at fault when there is one.
    """


def _normalise_language(lang: str | None) -> str | None:
    # Django reports languages like "en-us"; only the primary subtag matters here.
    if not lang:
        return None
    return lang.replace("_", "-").split("-", 1)[0].lower()


@dataclass(frozen=True, slots=True)
class TranslatedText:
    """One piece of text in Kazakh, Russian and English.

    A language may be empty when the value was accepted as partial; ``get`` then falls back
    so that a reader always sees something if any language is filled in.
    """

    kk: str
    ru: str
    en: str

    def get(self, lang: str | None = None) -> str:
        """The text in ``lang`` (Django's active language when None), or the best fallback.

        The order is: the requested language, then Kazakh, Russian and English.
        Returns "" only when every language is empty.
        """
        if lang is None:
            lang = get_language()
        wanted = _normalise_language(lang)
        if wanted in LANGUAGES:
            text: str = getattr(self, wanted)
            if text:
                return text
        for code in LANGUAGES:
            text = getattr(self, code)
            if text:
                return text
        return ""

    def __str__(self) -> str:
        return self.get()

    def to_dict(self) -> dict[str, str]:
        return {"kk": self.kk, "ru": self.ru, "en": self.en}

    def is_complete(self) -> bool:
        """True when every language has text (blank text does not count)."""
        return all(getattr(self, code).strip() for code in LANGUAGES)

    @classmethod
    def from_value(
        cls,
        value: object,
        *,
        partial: bool = False,
        max_length: int | None = MAX_TEXT_LENGTH,
    ) -> TranslatedText:
        """Read a ``{"kk": ..., "ru": ..., "en": ...}`` mapping (or a ``TranslatedText``).

        Unknown keys, values that are not strings and values longer than ``max_length``
        characters (None: no limit) are rejected. Unless ``partial`` is true every language
        must have non-blank text; a partial value may leave languages out, and they read as "".

        Raises ``InvalidTranslatedText``.
        """
        if isinstance(value, TranslatedText):
            items: dict[str, object] = dict(value.to_dict())
        elif isinstance(value, Mapping):
            items = {}
            for key, text in value.items():
                if key not in LANGUAGES:
                    raise InvalidTranslatedText(
                        "translated_text.unknown_language",
                        _("Text can only be given in Kazakh, Russian and English."),
                        field=str(key),
                    )
                items[key] = text
        else:
            raise InvalidTranslatedText(
                "translated_text.not_an_object",
                _("Text must be given separately for each language."),
            )

        texts: dict[str, str] = {}
        for code in LANGUAGES:
            text = items.get(code, "")
            if not isinstance(text, str):
                raise InvalidTranslatedText(
                    "translated_text.not_a_string",
                    _("Text must be written as plain text."),
                    field=code,
                )
            if max_length is not None and len(text) > max_length:
                raise InvalidTranslatedText(
                    "translated_text.too_long",
                    _("This text is too long."),
                    field=code,
                    details={"max_length": max_length, "length": len(text)},
                )
            if not partial and not text.strip():
                raise InvalidTranslatedText(
                    "translated_text.missing_language",
                    _("Enter the text in Kazakh, Russian and English."),
                    field=code,
                )
            texts[code] = text
        return cls(kk=texts["kk"], ru=texts["ru"], en=texts["en"])


_EMPTY: Final = TranslatedText(kk="", ru="", en="")


class _TranslatedTextAttribute(DeferredAttribute):
    """Turns a mapping assigned to the attribute into ``TranslatedText`` straight away.

    So ``notice.title`` is a ``TranslatedText`` right after ``create(title={...})`` too, not
    only once read back. A mapping that cannot be read is kept as given, for ``full_clean`` or
    the write to report.
    """

    def __set__(self, instance: models.Model, value: Any) -> None:
        if isinstance(value, Mapping):
            with contextlib.suppress(InvalidTranslatedText):
                value = TranslatedText.from_value(value, partial=True, max_length=None)
        instance.__dict__[self.field.attname] = value


# Set and get types of the field, for type checkers; django-stubs fills them in from the
# ``_pyi_private_*`` attributes below, adding "| None" itself for a field with null=True.
_ST = TypeVar("_ST", contravariant=True)
_GT = TypeVar("_GT", covariant=True)

if TYPE_CHECKING:
    from django.db.models.expressions import Combinable

    _JSONFieldBase = models.JSONField
else:

    class _JSONFieldBase(models.JSONField, Generic[_ST, _GT]):
        """Django's JSONField, made subscriptable at run time (django-stubs treats it so)."""


class TranslatedTextField(_JSONFieldBase[_ST, _GT]):
    """A JSON column holding ``{"kk": ..., "ru": ..., "en": ...}``, read as ``TranslatedText``.

    Options: ``partial`` lets languages be left empty; ``max_length`` caps each language
    (default ``MAX_TEXT_LENGTH``); with ``blank=True`` a value empty in every language is
    accepted too. Values are checked in ``validate`` (``full_clean``, forms) and again whenever
    they are written, so nothing malformed reaches the database. Lookups such as
    ``title__en="..."`` are not checked, so they keep working. Reading is lenient about
    completeness and length, so that tightening a field's options never makes stored rows
    unreadable.
    """

    if TYPE_CHECKING:
        _pyi_private_set_type: TranslatedText | Mapping[str, str] | Combinable
        _pyi_private_get_type: TranslatedText

    description = _("Text in Kazakh, Russian and English")
    descriptor_class = _TranslatedTextAttribute

    def __init__(self, *args: Any, partial: bool = False, **kwargs: Any) -> None:
        self.partial = partial
        super().__init__(*args, **kwargs)

    @property
    def text_max_length(self) -> int:
        return self.max_length if self.max_length is not None else MAX_TEXT_LENGTH

    def deconstruct(self) -> tuple[str, str, Sequence[Any], dict[str, Any]]:
        name, path, args, kwargs = super().deconstruct()
        if self.partial:
            kwargs["partial"] = True
        return name, path, args, kwargs

    def _checked(self, value: object) -> TranslatedText:
        """The value as this field accepts it for writing; raises ``InvalidTranslatedText``."""
        text = TranslatedText.from_value(value, partial=True, max_length=self.text_max_length)
        if self.partial or (self.blank and text == _EMPTY):
            return text
        return TranslatedText.from_value(text, max_length=None)

    def from_db_value(
        self, value: str | None, expression: Expression, connection: BaseDatabaseWrapper
    ) -> Any:
        decoded = super().from_db_value(value, expression, connection)
        if isinstance(decoded, Mapping):
            return TranslatedText.from_value(decoded, partial=True, max_length=None)
        # None, or a single language extracted by a key transform.
        return decoded

    def to_python(self, value: Any) -> TranslatedText | None:
        if value is None or isinstance(value, TranslatedText):
            return value
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                raise django_exceptions.ValidationError(
                    self.error_messages["invalid"], code="invalid", params={"value": value}
                ) from None
        try:
            return TranslatedText.from_value(value, partial=True, max_length=None)
        except InvalidTranslatedText as error:
            raise django_exceptions.ValidationError(error.message, code=error.code) from error

    def get_prep_value(self, value: Any) -> Any:
        if isinstance(value, TranslatedText):
            return value.to_dict()
        return super().get_prep_value(value)

    def get_db_prep_save(self, value: Any, connection: BaseDatabaseWrapper) -> Any:
        # Expressions (F(), Value(None, ...)) are the database's business, not ours.
        if value is not None and not hasattr(value, "resolve_expression"):
            try:
                value = self._checked(value).to_dict()
            except InvalidTranslatedText as error:
                raise django_exceptions.ValidationError(error.message, code=error.code) from error
        return super().get_db_prep_save(value, connection)

    def validate(self, value: Any, model_instance: models.Model | None) -> None:
        plain = value.to_dict() if isinstance(value, TranslatedText) else value
        if value == _EMPTY:
            plain = {}  # so that Django's own check reports a missing value as "blank"
        super().validate(plain, model_instance)
        if plain is None or plain == {}:
            return
        try:
            self._checked(plain)
        except InvalidTranslatedText as error:
            raise django_exceptions.ValidationError(error.message, code=error.code) from error

    def value_from_object(self, obj: models.Model) -> Any:
        # Forms, the admin and the serialisers expect plain JSON data.
        value = super().value_from_object(obj)
        if isinstance(value, TranslatedText):
            return value.to_dict()
        return value
