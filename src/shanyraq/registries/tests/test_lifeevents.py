"""Life events: what ``derive`` makes of each change, and how the writing services record them."""

from __future__ import annotations

import datetime
import json

import pytest
from django.db import transaction

from shanyraq.core.errors import Conflict
from shanyraq.core.national_id import make_bin, make_iin
from shanyraq.events.models import Event
from shanyraq.registries import lifeevents, services
from shanyraq.registries.definitions import registers_define_all
from shanyraq.registries.lifeevents import LifeEvent, derive
from shanyraq.registries.models import Record, RecordVersion
from shanyraq.registries.tests.records import (
    BUYER,
    COMPANY,
    FATHER,
    HOME,
    MOTHER,
    NEW_HOME,
    company,
    flat,
    owner,
    person,
)

SPOUSE = make_iin(datetime.date(1991, 2, 14), "M", serial=401)
CHILD = make_iin(datetime.date(2024, 3, 15), "M", serial=402)
SELLER = make_iin(datetime.date(1960, 1, 9), "F", serial=403)
FLAT = "21:320:045:012:1/57"


# --- derive: the pure function --------------------------------------------------------------


def test_the_types_are_exported():
    assert lifeevents.LIFE_EVENT_TYPES == (
        "PersonBorn",
        "PersonDied",
        "MarriageRegistered",
        "AddressChanged",
        "PropertyAcquired",
        "BusinessRegistered",
    )
    assert (lifeevents.PERSON_BORN, lifeevents.BUSINESS_REGISTERED) == (
        "PersonBorn",
        "BusinessRegistered",
    )


def test_a_birth_is_a_person_born():
    parents = [
        {"iin": MOTHER, "relation": "mother", "rights": "full"},
        {"iin": FATHER, "relation": "father"},
    ]
    born = person(CHILD, birth_date="2024-03-15", sex="M", parents=parents)
    assert derive("population", "create", None, born, birth=True) == [
        LifeEvent(
            "PersonBorn",
            {
                "iin": CHILD,
                "birth_date": "2024-03-15",
                "sex": "M",
                "parents": [
                    {"iin": MOTHER, "relation": "mother"},
                    {"iin": FATHER, "relation": "father"},
                ],
            },
        )
    ]


def test_a_person_created_otherwise_was_not_born_today():
    assert derive("population", "create", None, person(CHILD)) == []
    assert derive("population", "create", None, person(CHILD, parents=[])) == []


def test_a_birth_without_parents_names_none():
    events = derive("population", "create", None, person(CHILD), birth=True)
    assert [e.payload["parents"] for e in events] == [[]]


@pytest.mark.parametrize("before_value", [None, "absent"])
def test_a_date_of_death_set_is_a_person_died(before_value):
    before = person(MOTHER)
    if before_value is None:
        before["date_of_death"] = None
    after = person(MOTHER, date_of_death="2025-01-07")
    assert derive("population", "update", before, after) == [
        LifeEvent("PersonDied", {"iin": MOTHER, "date_of_death": "2025-01-07"})
    ]


def test_a_date_of_death_corrected_is_not_a_second_death():
    before = person(MOTHER, date_of_death="2025-01-07")
    after = person(MOTHER, date_of_death="2025-01-08")
    assert derive("population", "update", before, after) == []


@pytest.mark.parametrize("was", ["single", "divorced", "widowed"])
def test_becoming_married_with_a_spouse_is_a_marriage(was):
    before = person(MOTHER, marital_status=was, spouse_iin=None)
    after = person(MOTHER, marital_status="married", spouse_iin=SPOUSE)
    assert derive("population", "update", before, after) == [
        LifeEvent("MarriageRegistered", {"iin": MOTHER, "spouse_iin": SPOUSE})
    ]


def test_no_marriage_without_a_spouse_or_when_already_married():
    single = person(MOTHER)
    assert derive("population", "update", single, person(MOTHER, marital_status="married")) == []
    married = person(MOTHER, marital_status="married", spouse_iin=SPOUSE)
    again = person(MOTHER, marital_status="married", spouse_iin=FATHER)
    assert derive("population", "update", married, again) == []


def test_a_new_registered_address_is_an_address_change():
    before = person(MOTHER)
    after = person(MOTHER, registered_address=dict(NEW_HOME))
    assert derive("population", "update", before, after) == [
        LifeEvent("AddressChanged", {"iin": MOTHER, "before": HOME, "after": NEW_HOME})
    ]
    unregistered = person(MOTHER)
    del unregistered["registered_address"]
    assert derive("population", "update", unregistered, after) == [
        LifeEvent("AddressChanged", {"iin": MOTHER, "before": None, "after": NEW_HOME})
    ]


def test_losing_the_registration_is_not_an_address_change():
    after = person(MOTHER)
    del after["registered_address"]
    assert derive("population", "update", person(MOTHER), after) == []


def test_one_update_may_be_several_events_in_order():
    before = person(MOTHER)
    after = person(
        MOTHER,
        date_of_death="2025-01-07",
        marital_status="married",
        spouse_iin=SPOUSE,
        registered_address=dict(NEW_HOME),
    )
    assert [e.type for e in derive("population", "update", before, after)] == [
        "PersonDied",
        "MarriageRegistered",
        "AddressChanged",
    ]


def test_nothing_relevant_changed_means_no_event():
    before = person(MOTHER, marital_status="married", spouse_iin=SPOUSE)
    after = dict(before, last_name="Әлиева", first_name="Айгерім")
    assert derive("population", "update", before, after) == []
    assert derive("population", "update", before, dict(before)) == []
    estate = flat(FLAT, owner(BUYER, share="1/2"), owner(SELLER, share="1/2"))
    reshared = flat(FLAT, owner(BUYER, share="2/3"), owner(SELLER, share="1/3"))
    assert derive("real_estate", "update", estate, reshared) == []
    business = company(COMPANY, directors=[MOTHER], founders=[{"iin": MOTHER, "share": 1}])
    assert derive("business", "update", business, dict(business, status="suspended")) == []


def test_deletions_and_other_registers_have_no_life_events():
    assert derive("population", "delete", person(MOTHER), None) == []
    assert derive("population", "delete", person(MOTHER), {}) == []
    assert derive("real_estate", "delete", flat(FLAT, owner(BUYER)), None) == []
    assert derive("vehicles", "create", None, {"vin": "X"}, birth=True) == []


def test_new_owners_acquire_a_property():
    before = flat(FLAT, owner(SELLER))
    after = flat(FLAT, owner(BUYER, share="1/2"), owner(SPOUSE, share="1/2"))
    assert derive("real_estate", "update", before, after) == [
        LifeEvent("PropertyAcquired", {"iin": BUYER, "property": FLAT, "share": "1/2"}),
        LifeEvent("PropertyAcquired", {"iin": SPOUSE, "property": FLAT, "share": "1/2"}),
    ]


def test_a_created_property_is_acquired_by_its_people_not_its_companies():
    after = flat(FLAT, owner(BUYER, share="1/2"), owner(bin=COMPANY, share="1/2"))
    assert derive("real_estate", "create", None, after) == [
        LifeEvent("PropertyAcquired", {"iin": BUYER, "property": FLAT, "share": "1/2"})
    ]


def test_an_owner_named_twice_acquires_once():
    after = flat(FLAT, owner(BUYER, share="1/2"), owner(BUYER, share="1/2"))
    assert len(derive("real_estate", "create", None, after)) == 1


def test_a_new_business_names_its_people():
    founders = [
        {"iin": MOTHER, "share": "1/2"},
        {"bin": make_bin(2010, 5, serial=7), "share": "1/2"},
    ]
    created = company(COMPANY, directors=[FATHER, MOTHER], founders=founders)
    assert derive("business", "create", None, created) == [
        LifeEvent("BusinessRegistered", {"bin": COMPANY, "persons": [MOTHER, FATHER]})
    ]


def test_payloads_are_plain_json_and_do_not_share_the_records_data():
    before = person(MOTHER)
    after = person(MOTHER, registered_address=dict(NEW_HOME))
    (event,) = derive("population", "update", before, after)
    assert json.loads(json.dumps(event.payload)) == event.payload
    event.payload["after"]["street"] = "changed"
    assert after["registered_address"] == NEW_HOME


# --- recorded by the writing services ---------------------------------------------------------


@pytest.fixture
def registers(db):
    registers_define_all()
    for iin, sex in ((MOTHER, "F"), (FATHER, "M"), (BUYER, "M"), (SELLER, "F"), (SPOUSE, "M")):
        services.record_create(
            register="population",
            data=person(iin, sex=sex),
            actor=None,
            agency=None,
            basis="test",
        )
    Event.objects.all().delete()


def update_person(iin, version=1, **changes):
    return services.record_update(
        register="population",
        key=iin,
        data=person(iin, **changes),
        expected_version=version,
        actor=None,
        agency=None,
        basis="civil status act 12",
    )


def recorded():
    return [(e.type, e.payload) for e in Event.objects.order_by("id")]


def test_an_update_records_its_life_events_after_its_register_event(registers):
    version = update_person(MOTHER, date_of_death="2025-01-07", registered_address=dict(NEW_HOME))
    about = {"register": "population", "record": str(version.record.public_id), "version": 2}
    assert recorded() == [
        ("registry.record_updated", about),
        ("PersonDied", {"iin": MOTHER, "date_of_death": "2025-01-07", **about}),
        ("AddressChanged", {"iin": MOTHER, "before": HOME, "after": NEW_HOME, **about}),
    ]


def test_an_update_that_changes_nothing_relevant_records_only_the_register_event(registers):
    update_person(MOTHER, last_name="Әлиева")
    assert [t for t, _payload in recorded()] == ["registry.record_updated"]


def test_property_and_business_writes_record_their_life_events(registers):
    created = services.record_create(
        register="real_estate",
        data=flat(FLAT, owner(SELLER)),
        actor=None,
        agency=None,
        basis="deed 1",
    )
    sold = services.record_update(
        register="real_estate",
        key=FLAT,
        data=flat(FLAT, owner(BUYER, share="1/2"), owner(SPOUSE, share="1/2")),
        expected_version=1,
        actor=None,
        agency=None,
        basis="deed 2",
    )
    business = services.record_create(
        register="business",
        data=company(COMPANY, directors=[FATHER], founders=[{"iin": MOTHER, "share": 1}]),
        actor=None,
        agency=None,
        basis="registration 3",
    )
    flat_id, company_id = str(created.record.public_id), str(business.record.public_id)
    first = {"register": "real_estate", "record": flat_id, "version": 1}
    second = {**first, "version": 2}
    third = {"register": "business", "record": company_id, "version": 1}
    assert sold.record.public_id == created.record.public_id
    assert recorded() == [
        ("registry.record_created", first),
        ("PropertyAcquired", {"iin": SELLER, "property": FLAT, "share": "1/1", **first}),
        ("registry.record_updated", second),
        ("PropertyAcquired", {"iin": BUYER, "property": FLAT, "share": "1/2", **second}),
        ("PropertyAcquired", {"iin": SPOUSE, "property": FLAT, "share": "1/2", **second}),
        ("registry.record_created", third),
        ("BusinessRegistered", {"bin": COMPANY, "persons": [MOTHER, FATHER], **third}),
    ]


def test_creating_and_deleting_a_person_is_no_life_event(registers):
    services.record_create(
        register="population", data=person(CHILD), actor=None, agency=None, basis="migration"
    )
    services.record_delete(
        register="population",
        key=CHILD,
        expected_version=1,
        actor=None,
        agency=None,
        basis="duplicate",
    )
    assert [t for t, _payload in recorded()] == [
        "registry.record_created",
        "registry.record_deleted",
    ]


def test_loads_record_no_life_events(registers):
    services.records_create_many(
        register="population",
        items=[person(CHILD, birth_date="2024-03-15", sex="M", date_of_death="2024-04-01")],
        actor=None,
        agency=None,
        basis="archive",
    )
    services.records_create_many(
        register="real_estate",
        items=[flat(FLAT, owner(BUYER))],
        actor=None,
        agency=None,
        basis="archive",
    )
    services.records_create_many(
        register="business",
        items=[company(COMPANY, directors=[FATHER], founders=[])],
        actor=None,
        agency=None,
        basis="archive",
    )
    assert [t for t, _payload in recorded()] == ["registry.records_loaded"] * 3


class CallerFailed(Exception):
    pass


def test_a_rolled_back_write_leaves_no_event(registers):
    seen = []

    def die_then_fail():
        with transaction.atomic():
            update_person(MOTHER, date_of_death="2025-01-07")
            seen.extend(t for t, _p in recorded())
            raise CallerFailed("the caller's transaction fails after the write")

    with pytest.raises(CallerFailed):
        die_then_fail()
    assert seen == ["registry.record_updated", "PersonDied"]
    assert recorded() == []
    assert RecordVersion.objects.filter(record__key=MOTHER).count() == 1
    with pytest.raises(Conflict):
        update_person(MOTHER, version=7, date_of_death="2025-01-07")
    assert recorded() == []


def test_an_update_compares_with_the_version_it_replaces(registers):
    update_person(MOTHER, registered_address=dict(NEW_HOME))
    update_person(MOTHER, version=2, registered_address=dict(NEW_HOME), last_name="Әлиева")
    update_person(MOTHER, version=3, registered_address=dict(HOME), last_name="Әлиева")
    moves = [p for t, p in recorded() if t == "AddressChanged"]
    assert [(m["version"], m["before"], m["after"]) for m in moves] == [
        (2, HOME, NEW_HOME),
        (4, NEW_HOME, HOME),
    ]
    assert Record.objects.get(key=MOTHER).version == 4
