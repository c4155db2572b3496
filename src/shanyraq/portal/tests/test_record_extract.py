"""Record extracts: objects and lists of objects as nested, labelled lists of fields."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from shanyraq.access_log.models import AccessRecord
from shanyraq.conftest import client_for
from shanyraq.core.national_id import make_bin
from shanyraq.portal.my_data import FieldRow, FieldValue, _field_value
from shanyraq.registries import services
from shanyraq.registries.definitions import registers_define_all
from shanyraq.testing import factories

pytestmark = pytest.mark.django_db


def in_language(client: Client, lang: str) -> Client:
    client.cookies["shanyraq_language"] = lang
    return client


def title(kk: str, ru: str, en: str) -> dict[str, str]:
    return {"kk": kk, "ru": ru, "en": en}


# A register whose nested fields carry their own titles, some through ``$ref`` to ``$defs``.
TITLED_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["iin", "home", "owners"],
    "additionalProperties": False,
    "properties": {
        "iin": {"type": "string", "format": "iin", "x-title": title("ЖСН", "ИИН", "IIN")},
        "home": {"x-title": title("Үйі", "Жильё", "Home"), "$ref": "#/$defs/address"},
        "owners": {
            "x-title": title("Иелері", "Владельцы", "Holders"),
            "type": "array",
            "items": {
                "type": "object",
                "required": ["iin", "share"],
                "properties": {
                    "iin": {
                        "type": "string",
                        "x-title": title("Иесінің ЖСН", "ИИН владельца", "Holder's IIN"),
                    },
                    "share": {"$ref": "#/$defs/share"},
                    "basis": {"enum": ["court_decision", "purchase"]},
                },
            },
        },
        "tags": {"type": "array", "items": {"enum": ["first_home", "rural"]}},
    },
    "$defs": {
        "address": {
            "type": "object",
            "required": ["region", "locality"],
            "properties": {
                "region": {
                    "x-title": title("Облысы", "Область", "Region of the country"),
                    "enum": ["almaty_region", "astana"],
                },
                "locality": {
                    "type": "string",
                    "x-title": title("Елді мекен", "Населённый пункт", "Town or village"),
                },
                "flat": {"type": ["string", "null"]},
            },
        },
        "share": {
            "x-title": title("Үлесі", "Доля", "Part owned"),
            "oneOf": [{"type": "string"}, {"type": "number"}],
        },
    },
}

NESTED_LABELS = {
    "kk": ["Үйі", "Облысы", "Елді мекен", "Иелері", "Иесінің ЖСН", "Үлесі"],
    "ru": ["Жильё", "Область", "Населённый пункт", "Владельцы", "ИИН владельца", "Доля"],
    "en": [
        "Home",
        "Region of the country",
        "Town or village",
        "Holders",
        "Holder's IIN",
        "Part owned",
    ],
}


@pytest.fixture
def titled(citizen):
    services.register_define(
        code="homes",
        name=title("Үйлер", "Жильё", "Homes register"),
        description=title("Сынақ", "Тест", "Test"),
        key_field="iin",
        schema=TITLED_SCHEMA,
        search_fields=[],
        subject_paths=["iin", "owners[].iin"],
    )
    co_owner = factories.next_iin()
    services.record_create(
        register="homes",
        data={
            "iin": citizen.iin,
            "home": {"region": "almaty_region", "locality": "Қонаев", "flat": None},
            "owners": [
                {"iin": citizen.iin, "share": "1/2", "basis": "court_decision"},
                {"iin": co_owner, "share": 0.5},
            ],
            "tags": ["first_home", "rural"],
        },
        actor=None,
        agency=None,
        basis="Initial load",
    )
    return co_owner


def extract(citizen, lang: str, path: str) -> str:
    """The page, with the white space before tags taken out."""
    response = in_language(client_for(citizen), lang).get(path)
    assert response.status_code == 200
    return re.sub(r"\s+<", "<", response.content.decode())


def keys(html: str) -> list[str]:
    """The labels of the summary lists, in the order of the page."""
    found = re.findall(r'<dt class="govuk-summary-list__key">([^<]*)</dt>', html)
    return [label.replace("&#x27;", "'") for label in found]


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_nested_fields_are_labelled_from_the_schema_in_each_language(titled, citizen, lang):
    html = extract(citizen, lang, f"/account/records/homes/{citizen.iin}/")
    labels = keys(html)
    for label in NESTED_LABELS[lang]:
        assert label in labels, (lang, label, labels)
    # The address's fields: required first in the schema's order, the rest after.
    home = labels.index(NESTED_LABELS[lang][0])
    assert labels[home + 1 : home + 4] == [NESTED_LABELS[lang][1], NESTED_LABELS[lang][2], "Flat"]
    assert AccessRecord.objects.count() == 0


def test_objects_and_lists_of_objects_are_nested_lists(titled, citizen):
    html = extract(citizen, "en", f"/account/records/homes/{citizen.iin}/")
    main = html[
        html.index('<dl class="govuk-summary-list">') : html.index("History of this record")
    ]
    assert main.count('<dl class="govuk-summary-list govuk-summary-list--no-border') == 3
    assert main.count('<ol class="govuk-list govuk-list--number">') == 1
    assert main.count("<li ") == 2  # one entry per owner
    assert "Almaty region" in main  # an enumerated code, readable
    assert "Court decision" in main
    assert "First home; Rural" in main  # a list of codes
    assert "Қонаев" in main
    assert "1/2" in main and "0.5" in main
    assert "{" not in main and "almaty_region" not in main  # no raw JSON or codes


@pytest.fixture
def company_bin():
    return make_bin(2015, 1, serial=42)


@pytest.fixture
def real_estate(citizen, company_bin):
    registers_define_all()
    address = {"region": "astana", "locality": "Астана", "street": "Мәңгілік Ел", "building": "8"}
    services.record_create(
        register="real_estate",
        data={
            "cadastral_number": "21:320:045:118:12/34",
            "kind": "flat",
            "address": address,
            "area_m2": 54.5,
            "purpose": "residential",
            "owners": [
                {
                    "iin": citizen.iin,
                    "share": "1/2",
                    "acquisition_basis": "purchase",
                    "acquired_on": "2019-06-01",
                },
                {
                    "bin": company_bin,
                    "share": "1/2",
                    "acquisition_basis": "court_decision",
                    "acquired_on": "2020-01-15",
                },
            ],
            "encumbrances": [
                {
                    "kind": "mortgage",
                    "holder": {"name": "Halyk Bank", "bin": company_bin},
                    "registered_on": "2019-06-01",
                    "until": None,
                }
            ],
        },
        actor=None,
        agency=None,
        basis="Initial load",
    )
    return "/account/records/real_estate/21:320:045:118:12/34/"


@pytest.mark.parametrize(
    ("lang", "owners", "encumbrances", "address"),
    [
        ("kk", "Меншік иелері", "Ауыртпалықтар", "Мекенжайы"),
        ("ru", "Собственники", "Обременения", "Адрес"),
        ("en", "Owners", "Encumbrances", "Address"),
    ],
)
def test_the_real_estate_register_labels_its_nested_fields(
    real_estate, citizen, lang, owners, encumbrances, address
):
    html = extract(citizen, lang, real_estate)
    labels = keys(html)
    for label in (owners, encumbrances, address):
        assert label in labels, label
    assert '<ol class="govuk-list govuk-list--number">' in html
    assert "acquisition_basis" not in html and "{&#x27;" not in html


def test_untitled_nested_fields_are_named_after_their_key(real_estate, citizen, company_bin):
    html = extract(citizen, "en", real_estate)
    labels = keys(html)
    for label in ["Share", "Acquisition basis", "Acquired on", "Holder", "Name", "Kind"]:
        assert label in labels, label
    assert labels.count("IIN") == 1 and labels.count("BIN") == 2  # identifiers by format
    # Required fields first, in the schema's order; the others alphabetically.
    assert labels[labels.index("Region") :][:4] == ["Region", "Locality", "Building", "Street"]
    assert labels[labels.index("Share") :][:4] == [
        "Share",
        "Acquisition basis",
        "Acquired on",
        "IIN",
    ]
    for text in ["Court decision", "Mortgage", "Halyk Bank", "Residential", "Astana", "Flat"]:
        assert f">{text}<" in html, text
    assert f">{company_bin}<" in html and f">{citizen.iin}<" in html
    ru = keys(extract(citizen, "ru", real_estate))
    assert ru.count("ИИН") == 1  # an existing translation


def test_the_business_register_shows_founders_and_their_shares(citizen):
    registers_define_all()
    bin_ = make_bin(2018, 3, serial=7)
    services.record_create(
        register="business",
        data={
            "bin": bin_,
            "name": {"kk": "«Алтын» ЖШС", "ru": "ТОО «Алтын»", "en": "Altyn LLP"},
            "legal_form": "llp",
            "registration_date": "2018-03-12",
            "address": {"region": "almaty_region", "locality": "Қонаев"},
            "activity_codes": ["62.01.0", "62.02.0"],
            "directors": [{"iin": citizen.iin, "since": "2018-03-12", "position": "director"}],
            "founders": [
                {"iin": citizen.iin, "share": 0.75},
                {"bin": make_bin(2010, 5), "share": 0.25},
            ],
            "status": "active",
        },
        actor=None,
        agency=None,
        basis="Initial load",
    )
    for lang, founders, name in [
        ("kk", "Құрылтайшылары", "«Алтын» ЖШС"),
        ("ru", "Учредители", "ТОО «Алтын»"),
        ("en", "Founders", "Altyn LLP"),
    ]:
        html = extract(citizen, lang, f"/account/records/business/{bin_}/")
        assert founders in keys(html)
        assert f">{name}<" in html  # a name in three languages stays one value
    labels = keys(html)
    assert labels[labels.index("Founders") + 1 :][:2] == ["Share", "IIN"]
    for text in [">0.75<", ">0.25<", ">Almaty region<", ">62.01.0; 62.02.0<", ">Director<"]:
        assert text in html, text


def test_a_value_is_text_an_object_or_a_list_of_objects():
    schema = TITLED_SCHEMA
    owners = schema["properties"]["owners"]
    with translation.override("ru"):
        value = _field_value([{"share": "1/3", "iin": "1"}], owners, schema)
        assert value == FieldValue(
            entries=(
                FieldValue(
                    fields=(
                        FieldRow("ИИН владельца", FieldValue(text="1")),
                        FieldRow("Доля", FieldValue(text="1/3")),
                    )
                ),
            )
        )
        name = {"kk": "«Алтын» АҚ", "ru": "АО «Алтын»", "en": "Altyn JSC"}
        assert _field_value(name, {}, schema) == FieldValue(text="АО «Алтын»")
        assert _field_value({"extra_note": True}, {}, schema) == FieldValue(
            fields=(FieldRow("Extra note", FieldValue(text="Да")),)
        )
    # Scalars are shown as before.
    assert _field_value(27000000000.0, {}, schema) == FieldValue(text="27000000000")
    assert _field_value(None, {}, schema) == FieldValue(text="—")
    assert _field_value([], {}, schema) == FieldValue(text="—")
    assert _field_value({}, {}, schema) == FieldValue(text="—")
    assert _field_value("astana", {"enum": ["astana"]}, schema) == FieldValue(text="Astana")
    assert _field_value("other", {"enum": ["astana"]}, schema) == FieldValue(text="other")


def test_references_that_lead_nowhere_or_in_circles_are_harmless():
    looping = {"$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}
    assert _field_value({"x": 1}, looping, looping) == FieldValue(
        fields=(FieldRow("X", FieldValue(text="1")),)
    )
    assert _field_value("v", {"$ref": "https://example.org/s"}, {}) == FieldValue(text="v")
    assert _field_value("v", {"$ref": "#/$defs/missing/deeper"}, {}) == FieldValue(text="v")


def test_deep_nesting_ends_in_one_line():
    value: Any = {"level": "5"}
    for _ in range(5):
        value = {"inner": value}
    shown = _field_value(value, {}, {})
    for _ in range(4):
        (row,) = shown.fields
        shown = row.value
    assert shown == FieldValue(text="inner: level: 5")
