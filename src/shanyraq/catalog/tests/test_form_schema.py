"""Form definitions: fields that ask for files and the limits a form sets on them."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from shanyraq.catalog.form_schema import (
    ATTACHMENT_TYPES,
    FormDefinitionError,
    validate_form_definition,
)
from shanyraq.core import files as storage
from shanyraq.testing.factories import text

FORM: dict[str, Any] = {
    "schema": {
        "type": "object",
        "properties": {
            "contract": {"type": "string", "format": "attachment"},
            "photo": {"type": "string", "format": "attachment"},
            "note": {"type": "string", "maxLength": 100},
        },
    },
    "ui": {
        "steps": [
            {"key": "files", "title": text("Files"), "fields": ["contract", "photo", "note"]}
        ],
        "labels": {"contract": text("Contract"), "photo": text("Photo"), "note": text("Note")},
        "attachments": {
            "contract": {"accept": ["application/pdf"], "max_bytes": 5_000_000},
            "photo": {"accept": ["image/jpeg", "image/png"]},
        },
    },
}


def changed(change: Any) -> dict[str, Any]:
    form = copy.deepcopy(FORM)
    change(form)
    return form


def test_a_form_with_attachments_and_their_limits_is_accepted() -> None:
    assert validate_form_definition(FORM) == FORM


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            lambda f: f["ui"]["attachments"]["contract"].update(accept=["text/html"]),
            "ui.attachments.contract.accept: must list some of "
            "['application/pdf', 'image/jpeg', 'image/png']",
        ),
        (
            lambda f: f["ui"]["attachments"]["contract"].update(accept=[]),
            "ui.attachments.contract.accept: must list some of "
            "['application/pdf', 'image/jpeg', 'image/png']",
        ),
        (
            lambda f: f["ui"]["attachments"]["contract"].update(max_bytes=10_000_001),
            "ui.attachments.contract.max_bytes: must be a whole number from 1 to 10000000",
        ),
        (
            lambda f: f["ui"]["attachments"]["contract"].update(max_bytes=0),
            "ui.attachments.contract.max_bytes: must be a whole number from 1 to 10000000",
        ),
        (
            lambda f: f["ui"]["attachments"]["contract"].update(max_bytes="5MB"),
            "ui.attachments.contract.max_bytes: must be a whole number from 1 to 10000000",
        ),
        (
            lambda f: f["ui"]["attachments"]["contract"].update(folder="/etc"),
            "ui.attachments.contract: may only set ['accept', 'max_bytes']",
        ),
        (
            lambda f: f["ui"]["attachments"].update(note={"max_bytes": 10}),
            "ui.attachments.note: not an attachment field",
        ),
        (
            lambda f: f["ui"].update(attachments=["contract"]),
            "ui.attachments: must map attachment fields to their limits",
        ),
        (
            lambda f: f["schema"]["properties"].update(
                note={"type": "integer", "format": "attachment"}
            ),
            "schema.properties.note: an attachment is a string field at the top of the form",
        ),
        (
            lambda f: f["schema"]["properties"].update(
                note={"type": "array", "items": {"type": "string", "format": "attachment"}}
            ),
            "schema.properties.note[]: an attachment is a string field at the top of the form",
        ),
        (
            lambda f: f["ui"].update(prefill={"contract": "population.iin"}),
            "ui.prefill: a register cannot fill in an attachment",
        ),
    ],
)
def test_wrong_attachment_declarations_are_refused(change: Any, problem: str) -> None:
    with pytest.raises(FormDefinitionError) as refused:
        validate_form_definition(changed(change))
    assert refused.value.problems == [problem]


def test_the_platform_cap_is_the_settings(settings: Any) -> None:
    settings.ATTACHMENT_MAX_BYTES = 1_000_000
    with pytest.raises(FormDefinitionError) as refused:
        validate_form_definition(FORM)
    assert refused.value.problems == [
        "ui.attachments.contract.max_bytes: must be a whole number from 1 to 1000000"
    ]


def test_forms_accept_the_types_the_store_recognises() -> None:
    assert tuple(storage.SUPPORTED_TYPES) == ATTACHMENT_TYPES


def with_address(form: dict[str, Any]) -> None:
    form["schema"]["properties"]["address"] = {
        "type": "object",
        "properties": {"region": {"type": "string"}, "street": {"type": "string"}},
    }
    form["ui"]["steps"][0]["fields"].append("address")
    form["ui"]["labels"]["address"] = text("Address")


def test_the_order_of_an_object_fields_parts_is_accepted() -> None:
    def change(form: dict[str, Any]) -> None:
        with_address(form)
        form["ui"]["order"] = {"address": ["street", "region"]}

    assert validate_form_definition(changed(change))["ui"]["order"] == {
        "address": ["street", "region"]
    }


@pytest.mark.parametrize(
    ("order", "problem"),
    [
        ({"note": ["a"]}, "ui.order.note: not an object field"),
        (
            {"address": ["region", "region"]},
            "ui.order.address: must list the field's parts, each once",
        ),
        (
            {"address": ["region", "flat"]},
            "ui.order.address: must list the field's parts, each once",
        ),
        (["address"], "ui.order: must map object fields to the order of their parts"),
    ],
)
def test_a_wrong_order_of_parts_is_refused(order: Any, problem: str) -> None:
    def change(form: dict[str, Any]) -> None:
        with_address(form)
        form["ui"]["order"] = order

    with pytest.raises(FormDefinitionError) as refused:
        validate_form_definition(changed(change))
    assert refused.value.problems == [problem]
