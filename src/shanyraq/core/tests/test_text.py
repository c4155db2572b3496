import dataclasses

import pytest

from shanyraq.core.errors import ValidationError
from shanyraq.core.text import (
    LANGUAGES,
    MAX_TEXT_LENGTH,
    InvalidTranslatedText,
    TranslatedText,
)

FULL = TranslatedText(kk="Сәлем", ru="Привет", en="Hello")


def test_languages() -> None:
    assert LANGUAGES == ("kk", "ru", "en")


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("kk", "Сәлем"), ("ru", "Привет"), ("en", "Hello"), ("en-us", "Hello"), ("RU", "Привет"),
     ("ru_RU", "Привет"), ("de", "Сәлем"), ("", "Сәлем")],
)  # fmt: skip
def test_get_in_a_language(lang: str, expected: str) -> None:
    assert FULL.get(lang) == expected


def test_get_falls_back_to_kazakh_then_russian_then_english() -> None:
    assert TranslatedText(kk="", ru="Привет", en="Hello").get("en") == "Hello"
    assert TranslatedText(kk="", ru="Привет", en="Hello").get("kk") == "Привет"
    assert TranslatedText(kk="", ru="", en="Hello").get("ru") == "Hello"
    assert TranslatedText(kk="Сәлем", ru="", en="Hello").get("ru") == "Сәлем"
    assert TranslatedText(kk="", ru="", en="").get("en") == ""


def test_to_dict_and_back() -> None:
    assert FULL.to_dict() == {"kk": "Сәлем", "ru": "Привет", "en": "Hello"}
    assert TranslatedText.from_value(FULL.to_dict()) == FULL
    assert TranslatedText.from_value(FULL) == FULL


def test_is_frozen_and_hashable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        FULL.en = "Hi"  # type: ignore[misc]
    assert {FULL, TranslatedText(kk="Сәлем", ru="Привет", en="Hello")} == {FULL}


def test_is_complete() -> None:
    assert FULL.is_complete() is True
    assert TranslatedText(kk="Сәлем", ru=" ", en="Hello").is_complete() is False


def test_partial_values_leave_languages_empty() -> None:
    assert TranslatedText.from_value({"ru": "Привет"}, partial=True) == TranslatedText(
        kk="", ru="Привет", en=""
    )
    assert TranslatedText.from_value({}, partial=True) == TranslatedText(kk="", ru="", en="")


@pytest.mark.parametrize(
    ("value", "code", "field"),
    [
        ("Hello", "translated_text.not_an_object", None),
        (["kk", "ru", "en"], "translated_text.not_an_object", None),
        (None, "translated_text.not_an_object", None),
        ({"kk": "a", "ru": "b", "en": "c", "de": "d"}, "translated_text.unknown_language", "de"),
        ({"kk": "a", "ru": "b", "en": "c", 1: "d"}, "translated_text.unknown_language", "1"),
        ({"kk": "a", "ru": 2, "en": "c"}, "translated_text.not_a_string", "ru"),
        ({"kk": "a", "ru": "b", "en": None}, "translated_text.not_a_string", "en"),
        ({"kk": "a", "ru": "b"}, "translated_text.missing_language", "en"),
        ({"kk": "a", "ru": "", "en": "c"}, "translated_text.missing_language", "ru"),
        ({"kk": " \n", "ru": "b", "en": "c"}, "translated_text.missing_language", "kk"),
        ({"kk": "a" * (MAX_TEXT_LENGTH + 1), "ru": "b", "en": "c"}, "translated_text.too_long",
         "kk"),
        (TranslatedText(kk="a", ru="", en="c"), "translated_text.missing_language", "ru"),
    ],
)  # fmt: skip
def test_from_value_rejects(value: object, code: str, field: str | None) -> None:
    with pytest.raises(InvalidTranslatedText) as caught:
        TranslatedText.from_value(value)

    assert caught.value.code == code
    assert caught.value.field == field
    assert isinstance(caught.value, ValidationError)


def test_partial_still_rejects_unknown_keys_and_non_strings() -> None:
    with pytest.raises(InvalidTranslatedText) as caught:
        TranslatedText.from_value({"fr": "Bonjour"}, partial=True)
    assert caught.value.code == "translated_text.unknown_language"

    with pytest.raises(InvalidTranslatedText) as caught:
        TranslatedText.from_value({"en": ["Hello"]}, partial=True)
    assert caught.value.code == "translated_text.not_a_string"


def test_max_length() -> None:
    exactly = {"kk": "a" * 5, "ru": "b", "en": "c"}
    assert TranslatedText.from_value(exactly, max_length=5).kk == "aaaaa"

    with pytest.raises(InvalidTranslatedText) as caught:
        TranslatedText.from_value({**exactly, "en": "c" * 6}, max_length=5)
    assert (caught.value.code, caught.value.field) == ("translated_text.too_long", "en")
    assert caught.value.details == {"max_length": 5, "length": 6}

    long_text = "a" * (MAX_TEXT_LENGTH * 2)
    unlimited = TranslatedText.from_value({**exactly, "kk": long_text}, max_length=None)
    assert unlimited.kk == long_text
