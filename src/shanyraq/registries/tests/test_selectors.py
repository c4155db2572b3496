"""Reads from the registers: field-level grants, the data tracker, a person's own records."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shanyraq.access_log.models import AccessRecord
from shanyraq.access_log.tests import scenario
from shanyraq.accounts.models import Role
from shanyraq.core.errors import NotFound, PermissionDenied, ValidationError
from shanyraq.ledger.proof import verify_proof
from shanyraq.registries import commitments, selectors, services
from shanyraq.testing import factories

pytestmark = pytest.mark.django_db

READ = {"purpose": "Checking an application", "basis": "Law on registration, art. 5"}


@pytest.fixture
def registers(db):
    return scenario.define_registers()


@pytest.fixture
def world(registers, agency, other_agency, citizen):
    population, estate = registers
    mother, father = scenario.new_iin(), scenario.new_iin()
    scenario.add_person(citizen.iin, parents=[{"iin": mother}, {"iin": father}])
    scenario.add_person(mother, first_name="Гүлнар")
    scenario.grant(agency, population, Role.CLERK, ["iin", "last_name", "first_name"])
    scenario.grant(agency, population, Role.HEAD, ["*"])
    scenario.grant(agency, estate, Role.CLERK, ["*"])
    return {
        "population": population,
        "estate": estate,
        "mother": mother,
        "father": father,
        "clerk": scenario.official(agency, Role.CLERK),
        "head": scenario.official(agency, Role.HEAD),
        "stranger": scenario.official(other_agency, Role.CLERK),
    }


def read(actor, key, agency, **kwargs):
    params = {**READ, **kwargs}
    return selectors.record_read(
        register="population", key=key, actor=actor, agency=agency, **params
    )


def test_subject_paths_find_every_iin_once(registers):
    population, estate = registers
    data = {"iin": "1", "parents": [{"iin": "2"}, {"iin": "1"}, {"name": "x"}], "other": "3"}
    assert selectors.subject_iins(population, data) == ["1", "2"]
    assert selectors.subject_iins(estate, {"owners": "not a list"}) == []
    estate.subject_paths = ["directors[]", "founders[].person.iin"]
    data = {"directors": ["4", "5"], "founders": [{"person": {"iin": "6"}}, {"person": None}]}
    assert selectors.subject_iins(estate, data) == ["4", "5", "6"]


def test_official_sees_only_granted_fields_and_each_subject_is_recorded_once(
    world, agency, citizen
):
    view = read(world["clerk"], citizen.iin, agency, case_ref="APP-7")
    assert view.fields == ["first_name", "iin", "last_name"]
    assert view.data == {"iin": citizen.iin, "last_name": "Сәрсенова", "first_name": "Әйгерім"}
    assert (view.register, view.key, view.version, view.is_deleted) == (
        "population",
        citizen.iin,
        1,
        False,
    )
    rows = list(AccessRecord.objects.order_by("subject_iin"))
    assert sorted(r.subject_iin for r in rows) == sorted(
        [citizen.iin, world["mother"], world["father"]]
    )
    for row in rows:
        assert row.actor == world["clerk"]
        assert row.agency == agency
        assert row.register == "population"
        assert row.record == view.public_id
        assert row.action == "read"
        assert row.fields == ["first_name", "iin", "last_name"]
        assert (row.purpose, row.legal_basis, row.case_ref) == (
            READ["purpose"],
            READ["basis"],
            "APP-7",
        )


def test_a_grant_of_every_field_shows_the_whole_record(world, agency, citizen):
    view = read(world["head"], citizen.iin, agency)
    assert view.fields == ["address", "birth_date", "first_name", "iin", "last_name", "parents"]
    assert AccessRecord.objects.count() == 3


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"purpose": ""}, "purpose"),
        ({"purpose": "   "}, "purpose"),
        ({"basis": ""}, "basis"),
    ],
)
def test_reading_without_purpose_or_basis_is_refused_and_not_recorded(
    world, agency, citizen, params, field
):
    with pytest.raises(ValidationError) as refused:
        read(world["clerk"], citizen.iin, agency, **params)
    assert refused.value.code == "purpose_required"
    assert refused.value.field == field
    assert AccessRecord.objects.count() == 0


def test_refused_reads_record_nothing(world, agency, other_agency, citizen):
    cases = [
        (world["stranger"], other_agency, "register_read_denied"),  # agency without a grant
        (world["stranger"], agency, "not_agency_member"),  # not their agency
        (world["clerk"], None, "agency_required"),  # official without an agency
        (factories.UserFactory(), None, "record_read_denied"),  # another citizen
    ]
    for actor, acting_for, code in cases:
        with pytest.raises(PermissionDenied) as refused:
            read(actor, citizen.iin, acting_for)
        assert refused.value.code == code
    assert AccessRecord.objects.count() == 0


def test_a_reviewer_without_a_grant_of_their_own_is_refused(world, agency, citizen):
    reviewer = scenario.official(agency, Role.REVIEWER)
    with pytest.raises(PermissionDenied):
        read(reviewer, citizen.iin, agency)
    assert AccessRecord.objects.count() == 0


def test_a_grant_without_fields_allows_checking_existence_but_not_reading(world, agency, citizen):
    scenario.grant(agency, world["population"], Role.REVIEWER, [])
    reviewer = scenario.official(agency, Role.REVIEWER)
    assert selectors.record_exists(
        register="population", key=citizen.iin, actor=reviewer, agency=agency
    )
    with pytest.raises(PermissionDenied) as refused:
        read(reviewer, citizen.iin, agency)
    assert refused.value.code == "register_read_denied"
    assert AccessRecord.objects.count() == 0


def test_a_person_reads_their_own_record_without_a_grant_and_unrecorded(world, citizen):
    view = selectors.record_read(register="population", key=citizen.iin, actor=citizen, agency=None)
    assert view.data["address"] == {"locality": "Астана", "street": "Қабанбай батыр"}
    assert "birth_date" in view.fields
    assert AccessRecord.objects.count() == 0


def test_a_parent_named_in_a_record_may_not_read_it(world, citizen):
    mother = factories.UserFactory(iin=world["mother"])
    with pytest.raises(PermissionDenied):
        selectors.record_read(register="population", key=citizen.iin, actor=mother, agency=None)


def test_unknown_register_and_record(world, agency):
    with pytest.raises(NotFound) as missing:
        selectors.record_read(
            register="nowhere", key="1", actor=world["clerk"], agency=agency, **READ
        )
    assert missing.value.code == "register_not_found"
    with pytest.raises(NotFound) as missing:
        read(world["clerk"], scenario.new_iin(), agency)
    assert missing.value.code == "record_not_found"
    assert AccessRecord.objects.count() == 0


def test_a_read_takes_a_fixed_number_of_queries(world, agency, citizen):
    clerk = world["clerk"]
    read(clerk, citizen.iin, agency)  # memberships are now cached on the user object
    with CaptureQueriesContext(connection) as queries:
        read(clerk, citizen.iin, agency)
    # register, grants, version with record, access records (+ savepoint on tests' transaction)
    assert len([q for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]) == 4


def test_property_records_are_readable_by_their_owners_only(world, citizen):
    other = factories.UserFactory()
    scenario.add_property("01:001:001", [citizen.iin, other.iin])
    scenario.add_property("01:001:002", [other.iin])
    mine = selectors.record_read(
        register="real_estate", key="01:001:001", actor=citizen, agency=None
    )
    assert [o["iin"] for o in mine.data["owners"]] == [citizen.iin, other.iin]
    for key in ["01:001:002", "99:999:999"]:  # someone else's, and one that does not exist
        with pytest.raises(PermissionDenied):
            selectors.record_read(register="real_estate", key=key, actor=citizen, agency=None)
    assert AccessRecord.objects.count() == 0


def test_history_is_filtered_and_records_every_subject_once(world, agency, citizen):
    new_parent = scenario.new_iin()
    services.record_update(
        register="population",
        key=citizen.iin,
        data=scenario.person_data(citizen.iin, last_name="Әлиева", parents=[{"iin": new_parent}]),
        expected_version=1,
        actor=None,
        agency=agency,
        basis="Marriage record 12",
    )
    history = selectors.record_history(
        register="population", key=citizen.iin, actor=world["clerk"], agency=agency, **READ
    )
    assert [(v.number, v.op) for v in history.versions] == [(1, "create"), (2, "update")]
    assert [v.data["last_name"] for v in history.versions] == ["Сәрсенова", "Әлиева"]
    assert all("address" not in v.data for v in history.versions)
    assert history.versions[1].agency == agency
    assert history.versions[1].basis == "Marriage record 12"
    assert history.versions[0].published is False
    rows = AccessRecord.objects.all()
    assert sorted(r.subject_iin for r in rows) == sorted(
        [citizen.iin, world["mother"], world["father"], new_parent]
    )
    assert {r.action for r in rows} == {"history"}


def test_deleted_record_read_records_the_people_it_was_about(world, agency, citizen):
    services.record_delete(
        register="population",
        key=citizen.iin,
        expected_version=1,
        actor=None,
        agency=None,
        basis="Death record 9",
    )
    view = read(world["clerk"], citizen.iin, agency)
    assert (view.version, view.is_deleted, view.data) == (2, True, {})
    assert AccessRecord.objects.count() == 3


def test_exists_needs_a_grant_but_is_not_recorded(world, agency, other_agency, citizen):
    clerk = world["clerk"]
    exists = selectors.record_exists
    assert exists(register="population", key=citizen.iin, actor=clerk, agency=agency) is True
    assert exists(register="population", key="000", actor=clerk, agency=agency) is False
    assert exists(register="population", key=citizen.iin, actor=citizen, agency=None) is True
    with pytest.raises(PermissionDenied):
        exists(register="population", key=citizen.iin, actor=world["stranger"], agency=other_agency)
    with pytest.raises(PermissionDenied):
        exists(register="population", key=world["mother"], actor=citizen, agency=None)
    assert AccessRecord.objects.count() == 0


def test_search_by_search_fields_records_each_result(world, agency, citizen):
    third = scenario.new_iin()
    scenario.add_person(third, last_name="Жақсылықов")
    page = selectors.records_search(
        register="population",
        criteria={"last_name": "Сәрсенова"},
        actor=world["clerk"],
        agency=agency,
        **READ,
    )
    assert page.count == 2
    assert [item.key for item in page.items] == sorted([citizen.iin, world["mother"]])
    assert all(item.fields == ["first_name", "iin", "last_name"] for item in page.items)
    # citizen's record is about 3 people, the mother's about herself only
    assert AccessRecord.objects.filter(action="search").count() == 4
    assert not AccessRecord.objects.filter(subject_iin=third).exists()


def test_search_takes_the_same_queries_for_one_result_or_many(world, agency):
    def search():
        with CaptureQueriesContext(connection) as queries:
            page = selectors.records_search(
                register="population",
                criteria={"last_name": "Сәрсенова"},
                actor=world["clerk"],
                agency=agency,
                **READ,
            )
        return page.count, len([q for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]])

    search()  # memberships are now cached on the user object
    first = search()
    for _ in range(3):
        scenario.add_person(scenario.new_iin())
    again = search()
    # register, grants, count, page of versions with records, access records
    assert (first, again) == ((2, 5), (5, 5))


def test_search_refuses_other_fields_and_records_nothing(world, agency):
    clerk = world["clerk"]
    with pytest.raises(ValidationError) as refused:
        selectors.records_search(
            register="population", criteria={"first_name": "x"}, actor=clerk, agency=agency, **READ
        )
    assert (refused.value.code, refused.value.field) == ("not_searchable", "first_name")
    with pytest.raises(PermissionDenied) as denied:  # searchable, but not readable by a clerk
        selectors.records_search(
            register="population",
            criteria={"birth_date": "1990-05-17"},
            actor=clerk,
            agency=agency,
            **READ,
        )
    assert denied.value.code == "search_field_denied"
    with pytest.raises(ValidationError) as refused:
        selectors.records_search(
            register="population", criteria={}, actor=clerk, agency=agency, **READ
        )
    assert refused.value.code == "criteria_required"
    with pytest.raises(ValidationError):
        selectors.records_search(
            register="population", criteria={"last_name": "x"}, actor=clerk, agency=agency
        )
    assert AccessRecord.objects.count() == 0


def test_records_of_a_person(world, citizen):
    other = factories.UserFactory()
    scenario.add_property("01:001:001", [other.iin, citizen.iin])
    scenario.add_property("01:001:002", [other.iin])
    scenario.add_property("01:001:003", [citizen.iin], kind="land")
    services.record_delete(
        register="real_estate",
        key="01:001:003",
        expected_version=1,
        actor=None,
        agency=None,
        basis="Sold",
    )
    found = selectors.records_of_person(citizen)
    assert [(r.register.code, r.key) for r in found] == [
        ("population", citizen.iin),
        ("real_estate", "01:001:001"),
    ]
    assert [(r.register.code, r.key) for r in selectors.records_of_person(other)] == [
        ("real_estate", "01:001:001"),
        ("real_estate", "01:001:002"),
    ]
    assert AccessRecord.objects.count() == 0


def test_register_labels_come_from_the_schema(world):
    from django.utils import translation

    labels = selectors.register_labels(["population"])["population"]
    with translation.override("ru"):
        assert str(labels.name) == "Реестр населения"
        assert selectors.register_labels(["population"])["population"].label("last_name") == (
            "Фамилия"
        )
    assert labels.label("first_name") == "First name"
    assert labels.label("birth_date") == "Birth date"
    # required fields in the schema's order, then the others by name, unknown ones last
    assert labels.ordered(["zzz", "parents", "address", "first_name", "iin", "last_name"]) == [
        "iin",
        "last_name",
        "first_name",
        "address",
        "parents",
        "zzz",
    ]


def test_an_unpublished_version_has_no_proof_yet(world, agency, citizen):
    found = selectors.version_with_proof(
        register="population",
        key=citizen.iin,
        number=1,
        actor=world["clerk"],
        agency=agency,
        **READ,
    )
    assert found.proof is None
    assert found.salt is None  # officials never get the opening
    assert found.version.fields == ["first_name", "iin", "last_name"]
    assert json.loads(found.entry)["version"] == 1
    assert AccessRecord.objects.filter(action="version").count() == 3
    with pytest.raises(NotFound):
        selectors.version_with_proof(
            register="population", key=citizen.iin, number=5, actor=citizen, agency=None
        )


@pytest.mark.django_db(transaction=True)
def test_a_published_version_comes_with_a_proof_that_verifies(settings, tmp_path, agency):
    log = scenario.use_test_ledger(settings, tmp_path)
    scenario.define_registers()
    person = factories.UserFactory()
    scenario.add_person(person.iin)
    scenario.publish()
    found = selectors.version_with_proof(
        register="population", key=person.iin, number=1, actor=person, agency=None
    )
    assert found.published
    assert found.version.published
    checked = verify_proof(
        found.proof, found.entry, origin=log.origin, log_verifiers=[log.verifier()]
    )
    assert checked.checkpoint.size == 1
    entry = json.loads(found.entry)
    assert entry["commitment"] == commitments.commit(found.salt, found.version.data)
    assert AccessRecord.objects.count() == 0
