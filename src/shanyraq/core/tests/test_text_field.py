"""Tests that need Django's settings: the active language and the model field."""

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import exceptions as django_exceptions
from django.core import serializers
from django.db import connection, models
from django.db.migrations.writer import MigrationWriter
from django.forms.models import model_to_dict
from django.test.utils import isolate_apps
from django.utils import translation

from shanyraq.core.text import InvalidTranslatedText, TranslatedText, TranslatedTextField

FULL = TranslatedText(kk="Сәлем", ru="Привет", en="Hello")
FULL_DICT = {"kk": "Сәлем", "ru": "Привет", "en": "Hello"}


# -- the active language -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("active", "expected"),
    [("kk", "Сәлем"), ("ru", "Привет"), ("en", "Hello"), ("en-gb", "Hello"), (None, "Сәлем")],
)
def test_get_and_str_follow_the_active_language(active: str | None, expected: str) -> None:
    with translation.override(active):
        assert FULL.get() == expected
        assert str(FULL) == expected
        assert f"{FULL}" == expected


def test_error_messages_are_translated_lazily() -> None:
    with pytest.raises(InvalidTranslatedText) as caught:
        TranslatedText.from_value({"kk": "Сәлем"})

    with translation.override("en"):
        assert str(caught.value.message) == "Enter the text in Kazakh, Russian and English."


# -- the field on its own ----------------------------------------------------------------------


def test_deconstruct_default() -> None:
    _, path, args, kwargs = TranslatedTextField().deconstruct()

    assert path == "shanyraq.core.text.TranslatedTextField"
    assert args == []
    assert kwargs == {}


def test_deconstruct_options_round_trip() -> None:
    field = TranslatedTextField(partial=True, max_length=200, blank=True, null=True)
    _, _, args, kwargs = field.deconstruct()

    assert kwargs == {"partial": True, "max_length": 200, "blank": True, "null": True}
    assert TranslatedTextField(*args, **kwargs).deconstruct()[3] == kwargs
    assert MigrationWriter.serialize(field)[0] == (
        "shanyraq.core.text.TranslatedTextField(blank=True, max_length=200, null=True,"
        " partial=True)"
    )


def test_to_python() -> None:
    field = TranslatedTextField()

    assert field.to_python(None) is None
    assert field.to_python(FULL) is FULL
    assert field.to_python(FULL_DICT) == FULL
    assert field.to_python('{"kk": "Сәлем", "ru": "Привет", "en": "Hello"}') == FULL
    # Completeness is checked by validate(), not here.
    assert field.to_python({"en": "Hello"}) == TranslatedText(kk="", ru="", en="Hello")

    with pytest.raises(django_exceptions.ValidationError) as caught:
        field.to_python("not json")
    assert caught.value.code == "invalid"
    with pytest.raises(django_exceptions.ValidationError) as caught:
        field.to_python({"de": "Hallo"})
    assert caught.value.code == "translated_text.unknown_language"


def test_get_prep_value_leaves_lookup_values_alone() -> None:
    field = TranslatedTextField()

    assert field.get_prep_value(FULL) == FULL_DICT
    assert field.get_prep_value("Hello") == "Hello"  # e.g. title__en="Hello"
    assert field.get_prep_value({"en": "Hello"}) == {"en": "Hello"}  # e.g. title__contains


def test_from_db_value() -> None:
    field = TranslatedTextField()

    assert field.from_db_value(None, None, connection) is None  # type: ignore[arg-type]
    stored = '{"kk": "Сәлем", "ru": "Привет", "en": "Hello"}'
    assert field.from_db_value(stored, None, connection) == FULL  # type: ignore[arg-type]
    # Rows written under looser options still read.
    assert field.from_db_value('{"en": "Hello"}', None, connection) == TranslatedText(  # type: ignore[arg-type]
        kk="", ru="", en="Hello"
    )


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        (TranslatedTextField(), {"kk": "a", "ru": "b"}, "translated_text.missing_language"),
        (TranslatedTextField(), {}, "blank"),
        (TranslatedTextField(), {"kk": "", "ru": "", "en": ""}, "blank"),
        (TranslatedTextField(), None, "null"),
        (TranslatedTextField(max_length=3), {"kk": "abcd", "ru": "b", "en": "c"},
         "translated_text.too_long"),
        (TranslatedTextField(partial=True), {"fr": "Bonjour"}, "translated_text.unknown_language"),
    ],
)  # fmt: skip
def test_clean_rejects(field: TranslatedTextField[Any, Any], value: Any, code: str) -> None:
    with pytest.raises(django_exceptions.ValidationError) as caught:
        field.clean(value, None)

    assert caught.value.code == code


def test_clean_accepts() -> None:
    assert TranslatedTextField().clean(FULL_DICT, None) == FULL
    assert TranslatedTextField(partial=True).clean({"ru": "Привет"}, None) == TranslatedText(
        kk="", ru="Привет", en=""
    )
    assert TranslatedTextField(null=True, blank=True).clean(None, None) is None
    empty = TranslatedText(kk="", ru="", en="")
    assert TranslatedTextField(blank=True).clean({}, None) == empty
    assert TranslatedTextField(blank=True).clean({"kk": "", "ru": "", "en": ""}, None) == empty


# -- the field in a table ----------------------------------------------------------------------


@pytest.fixture
def notice_model(transactional_db: None) -> Iterator[type[models.Model]]:
    with isolate_apps("shanyraq.core"):

        class Notice(models.Model):
            title = TranslatedTextField()
            note = TranslatedTextField(partial=True, max_length=20, null=True, blank=True)

            class Meta:
                app_label = "core"

            def __str__(self) -> str:
                return str(self.title)

        with connection.schema_editor() as editor:
            editor.create_model(Notice)
        try:
            yield Notice
        finally:
            with connection.schema_editor() as editor:
                editor.delete_model(Notice)


def test_saved_and_read_back_as_translated_text(notice_model: Any) -> None:
    notice = notice_model.objects.create(title=FULL, note={"en": "Only English"})
    other = notice_model.objects.create(title={"kk": "Сау бол", "ru": "Пока", "en": "Bye"})

    notice.refresh_from_db()
    assert notice.title == FULL
    assert notice.note == TranslatedText(kk="", ru="", en="Only English")
    assert notice_model.objects.get(pk=other.pk).title.get("ru") == "Пока"
    assert notice_model.objects.get(pk=other.pk).note is None


def test_assigned_mappings_read_as_translated_text(notice_model: Any) -> None:
    notice = notice_model.objects.create(title=FULL_DICT)
    assert notice.title == FULL

    notice.note = {"ru": "Привет"}
    assert notice.note == TranslatedText(kk="", ru="Привет", en="")

    notice.title = {"de": "Hallo"}  # kept as given, so that validation can report it
    assert notice.title == {"de": "Hallo"}
    with pytest.raises(django_exceptions.ValidationError) as caught:
        notice.full_clean()
    assert caught.value.error_dict["title"][0].code == "translated_text.unknown_language"


def test_deferred_loading_still_works(notice_model: Any) -> None:
    notice_model.objects.create(title=FULL)

    notice = notice_model.objects.defer("title").get()
    assert "title" not in notice.__dict__
    assert notice.title == FULL


def test_lookups_by_language(notice_model: Any) -> None:
    notice = notice_model.objects.create(title=FULL)
    notice_model.objects.create(title={"kk": "Сау бол", "ru": "Пока", "en": "Bye"})

    assert list(notice_model.objects.filter(title__en="Hello")) == [notice]
    assert list(notice_model.objects.filter(title__ru__startswith="Прив")) == [notice]
    assert sorted(notice_model.objects.values_list("title__en", flat=True)) == ["Bye", "Hello"]
    assert list(notice_model.objects.values_list("title", flat=True).filter(pk=notice.pk)) == [FULL]


def test_invalid_values_never_reach_the_database(notice_model: Any) -> None:
    with pytest.raises(django_exceptions.ValidationError) as caught:
        notice_model.objects.create(title={"kk": "Сәлем", "ru": "Привет"})
    assert caught.value.code == "translated_text.missing_language"

    with pytest.raises(django_exceptions.ValidationError) as caught:
        notice_model.objects.create(title=FULL, note={"en": "x" * 21})
    assert caught.value.code == "translated_text.too_long"

    with pytest.raises(django_exceptions.ValidationError) as caught:
        notice_model.objects.create(title="Hello")
    assert caught.value.code == "translated_text.not_an_object"

    assert notice_model.objects.count() == 0

    notice_model.objects.create(title=FULL)
    with pytest.raises(django_exceptions.ValidationError):
        notice_model.objects.update(title={"en": "Hello"})
    assert notice_model.objects.get().title == FULL


def test_full_clean_reports_the_field(notice_model: Any) -> None:
    notice = notice_model(title={"kk": "Сәлем", "ru": "", "en": "Hello"})

    with pytest.raises(django_exceptions.ValidationError) as caught:
        notice.full_clean()

    assert caught.value.error_dict["title"][0].code == "translated_text.missing_language"


def test_forms_and_serialisers_see_plain_json(notice_model: Any) -> None:
    notice = notice_model.objects.create(title=FULL)

    assert model_to_dict(notice)["title"] == FULL_DICT

    dumped = json.loads(serializers.serialize("json", [notice]))[0]["fields"]["title"]
    assert dumped == FULL_DICT
    assert notice_model._meta.get_field("title").to_python(dumped) == FULL


def test_blank_field_stores_empty_text(notice_model: Any) -> None:
    notice = notice_model.objects.create(title=FULL, note={})

    notice.refresh_from_db()
    assert notice.note == TranslatedText(kk="", ru="", en="")
