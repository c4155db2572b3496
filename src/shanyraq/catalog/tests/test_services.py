from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError

from shanyraq.accounts.models import Role
from shanyraq.catalog import services
from shanyraq.catalog.models import Service, ServiceVersion, VersionStatus
from shanyraq.core.errors import Conflict, PermissionDenied, ValidationError
from shanyraq.testing import factories

pytestmark = pytest.mark.django_db


def valid_form() -> dict:
    return {
        "schema": {
            "type": "object",
            "properties": {
                "iin": {"type": "string", "pattern": "^[0-9]{12}$"},
                "region": {"type": "string", "enum": ["astana", "almaty"]},
            },
            "required": ["iin"],
        },
        "ui": {
            "steps": [{"key": "a", "title": factories.text("Step"), "fields": ["iin", "region"]}],
            "labels": {"iin": factories.text("IIN"), "region": factories.text("Region")},
            "enum_labels": {
                "region": {"astana": factories.text("Astana"), "almaty": factories.text("Almaty")}
            },
        },
    }


def test_admin_creates_edits_and_publishes_a_service(agency, agency_admin):
    draft = services.service_create(
        actor=agency_admin, agency=agency, code="passport", content=factories.content()
    )
    assert draft.number == 1
    assert draft.status == VersionStatus.DRAFT
    assert Service.objects.get(code="passport").current_version is None

    services.service_version_update(
        actor=agency_admin,
        version=draft,
        content=factories.content(deadline_days=7, fee_kzt="1150.5", form=valid_form()),
    )
    published = services.service_version_publish(actor=agency_admin, version=draft)

    service = Service.objects.get(code="passport")
    assert service.current_version_id == published.pk
    assert published.status == VersionStatus.PUBLISHED
    assert published.published_by == agency_admin
    assert published.deadline_days == 7
    assert published.fee_kzt == Decimal("1150.50")


def test_published_version_is_immutable(agency, agency_admin):
    version = factories.published_service(agency=agency)
    with pytest.raises(Conflict) as info:
        services.service_version_update(
            actor=agency_admin, version=version, content=factories.content(deadline_days=9)
        )
    assert info.value.code == "version_published"
    version.refresh_from_db()
    assert version.deadline_days == 5
    # Even a direct save through the model is refused.
    version.deadline_days = 9
    with pytest.raises(DjangoValidationError):
        version.save()
    assert ServiceVersion.objects.get(pk=version.pk).deadline_days == 5


def test_new_draft_copies_the_latest_and_citizens_keep_seeing_the_published(agency, agency_admin):
    first = factories.published_service(agency=agency, code="extract")
    draft = services.service_version_draft(actor=agency_admin, service=first.service)
    assert draft.number == 2
    assert draft.name.to_dict() == first.name.to_dict()
    # Asking again returns the same open draft rather than a third version.
    assert services.service_version_draft(actor=agency_admin, service=first.service).pk == draft.pk
    services.service_version_update(
        actor=agency_admin, version=draft, content=factories.content(name=factories.text("New"))
    )
    first.service.refresh_from_db()
    assert first.service.current_version_id == first.pk
    services.service_version_publish(actor=agency_admin, version=draft)
    first.service.refresh_from_db()
    assert first.service.current_version_id == draft.pk
    assert first.service.current_version.name.en == "New eng"


def test_admin_of_another_agency_cannot_change_the_service(agency, other_admin):
    version = factories.published_service(agency=agency)
    with pytest.raises(PermissionDenied):
        services.service_version_draft(actor=other_admin, service=version.service)
    with pytest.raises(PermissionDenied):
        services.service_create(
            actor=other_admin, agency=agency, code="sneaky", content=factories.content()
        )
    assert version.service.versions.count() == 1
    assert not Service.objects.filter(code="sneaky").exists()


def test_clerk_cannot_publish(agency, clerk, agency_admin):
    draft = services.service_create(
        actor=agency_admin, agency=agency, code="draft-only", content=factories.content()
    )
    with pytest.raises(PermissionDenied):
        services.service_version_publish(actor=clerk, version=draft)
    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": {"kk": "a", "ru": "b"}}, "name"),
        ({"name": {"kk": "a", "ru": "b", "en": "c", "de": "d"}}, "name"),
        ({"deadline_days": 0}, "deadline_days"),
        ({"fee_kzt": "-1"}, "fee_kzt"),
        ({"fee_kzt": "ten"}, "fee_kzt"),
        ({"life_events": ["no-such-event"]}, "life_events"),
        ({"category": "no-such-category"}, "category"),
        ({"required_documents": [{"kk": "x"}]}, "required_documents"),
    ],
)
def test_bad_content_is_refused_and_nothing_is_written(agency, agency_admin, overrides, field):
    with pytest.raises(ValidationError) as info:
        services.service_create(
            actor=agency_admin, agency=agency, code="bad", content=factories.content(**overrides)
        )
    assert info.value.field == field
    assert not Service.objects.filter(code="bad").exists()


def test_bad_form_definition_lists_the_problems(agency, agency_admin):
    form = valid_form()
    form["ui"]["steps"][0]["fields"] = ["iin"]
    del form["ui"]["labels"]["iin"]["en"]
    with pytest.raises(ValidationError) as info:
        services.service_create(
            actor=agency_admin, agency=agency, code="f", content=factories.content(form=form)
        )
    problems = info.value.details["problems"]
    assert "ui.steps: fields not in any step: ['region']" in problems
    assert "ui.labels.iin: needs exactly the keys kk, ru, en" in problems


def test_duplicate_code_is_a_conflict(agency, agency_admin):
    factories.published_service(agency=agency, code="same")
    with pytest.raises(Conflict):
        services.service_create(
            actor=agency_admin, agency=agency, code="same", content=factories.content()
        )


def test_import_is_idempotent(db):
    data = {
        "agencies": [
            {
                "code": "minjust",
                "kind": "ministry",
                "name": factories.text("Justice"),
                "short_name": factories.text("MoJ"),
                "description": factories.text("Justice ministry"),
            }
        ],
        "categories": [{"code": "family", "name": factories.text("Family")}],
        "life_events": [
            {"code": "birth", "name": factories.text("Birth"), "description": factories.text("B")}
        ],
        "services": [
            {
                "code": "birth-registration",
                "agency": "minjust",
                "category": "family",
                "life_events": ["birth"],
                "name": factories.text("Birth registration"),
                "description": factories.text("Registers a birth"),
                "who_may_apply": factories.text("Parents"),
                "result": factories.text("Certificate"),
                "legal_basis": factories.text("Code on marriage"),
                "deadline_days": 1,
                "fully_online": True,
                "form": valid_form(),
            }
        ],
    }
    first = services.catalog_import(**data)
    second = services.catalog_import(**data)
    assert (first.services_created, first.services_unchanged) == (1, 0)
    assert (second.services_created, second.services_unchanged) == (0, 1)
    assert ServiceVersion.objects.count() == 1
    assert Service.objects.get(code="birth-registration").current_version.fully_online is True


def test_search_text_holds_all_three_languages_folded(agency):
    version = factories.published_service(
        agency=agency,
        name={"kk": "Баланың ТУУЫН тіркеу", "ru": "Регистрация РОЖДЕНИЯ", "en": "Birth"},
    )
    assert "тууын" in version.search_text
    assert "рождения" in version.search_text
    assert "birth" in version.search_text


def test_role_enum_values_are_stable():
    assert [r.value for r in Role] == ["clerk", "reviewer", "head", "admin"]


def test_publishing_records_the_version_in_the_ledger(agency, agency_admin):
    import json

    from shanyraq.ledger_django.models import Entry

    draft = services.service_create(
        actor=agency_admin, agency=agency, code="recorded", content=factories.content()
    )
    assert Entry.objects.count() == 0
    services.service_version_publish(actor=agency_admin, version=draft)
    entry = Entry.objects.get()
    data = json.loads(bytes(entry.data))
    assert entry.kind == "catalog.version_published"
    assert data["service"] == "recorded"
    assert data["agency"] == "justice"
    assert data["version"] == 1
    assert data["digest"] == services.content_digest(draft)
    assert data["time"].endswith("Z")


def test_a_refused_publication_leaves_no_ledger_entry(agency, agency_admin, other_admin):
    from shanyraq.ledger_django.models import Entry

    draft = services.service_create(
        actor=agency_admin, agency=agency, code="not-mine", content=factories.content()
    )
    with pytest.raises(PermissionDenied):
        services.service_version_publish(actor=other_admin, version=draft)
    assert Entry.objects.count() == 0
