"""Registering births: allocating IINs, the birth services and the API for agency systems."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shanyraq.access_log.tests import scenario
from shanyraq.accounts import services as account_services
from shanyraq.accounts.models import Role
from shanyraq.conftest import client_for
from shanyraq.core.errors import Conflict, PermissionDenied, ValidationError
from shanyraq.core.national_id import make_iin, validate_iin
from shanyraq.events.models import Event
from shanyraq.ledger_django.models import Entry
from shanyraq.registries import services
from shanyraq.registries.definitions import registers_define_all
from shanyraq.registries.iins import iins_allocate
from shanyraq.registries.models import IinSerial, Record, RecordVersion, Register
from shanyraq.registries.tests.records import FATHER, MOTHER, child, person
from shanyraq.testing import factories

BORN = datetime.date(2024, 3, 15)
URL = "/api/v1/registries/population/births"


def define_with_parents():
    registers_define_all()
    for iin, sex in ((MOTHER, "F"), (FATHER, "M")):
        services.record_create(
            register="population", data=person(iin, sex=sex), actor=None, agency=None, basis="t"
        )
    return Register.objects.get(code="population")


def counts():
    return (
        Record.objects.count(),
        RecordVersion.objects.count(),
        Entry.objects.count(),
        Event.objects.count(),
        IinSerial.objects.count(),
    )


def allocate(register, births):
    with transaction.atomic():
        return iins_allocate(register=register, births=births)


# --- allocation -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_allocated_iin_is_valid_and_encodes_the_birth_date_and_sex():
    register = define_with_parents()
    births = [(BORN, "M"), (BORN, "F"), (datetime.date(1999, 12, 31), "F")]
    iins = allocate(register, births)
    for iin, (born, sex) in zip(iins, births, strict=True):
        decoded = validate_iin(iin)  # the control digit is right
        assert (decoded.birth_date, decoded.sex) == (born, sex)
    assert iins[0][:7] == "2403155"
    assert iins[2][:7] == "9912314"


@pytest.mark.django_db
def test_many_births_on_one_day_get_different_iins():
    register = define_with_parents()
    first = allocate(register, [(BORN, "F")] * 300)
    second = allocate(register, [(BORN, "F")] * 50 + [(BORN, "M")] * 50)
    assert len(set(first + second)) == 400
    assert first[:3] == [make_iin(BORN, "F", 0), make_iin(BORN, "F", 1), make_iin(BORN, "F", 2)]
    serials = [int(iin[7:11]) for iin in first + second[:50]]
    assert serials == sorted(serials)  # taken one after the other, none given twice
    row = IinSerial.objects.get(birth_date=BORN, sex="F")
    assert row.next_serial == serials[-1] + 1


@pytest.mark.django_db
def test_iins_that_people_already_hold_are_skipped():
    register = define_with_parents()
    for serial in (0, 1, 3):
        iin = make_iin(BORN, "F", serial)
        services.record_create(
            register="population",
            data=person(iin, birth_date=BORN.isoformat()),
            actor=None,
            agency=None,
            basis="an IIN given before the counter existed",
        )
    assert allocate(register, [(BORN, "F")] * 3) == [
        make_iin(BORN, "F", 2),
        make_iin(BORN, "F", 4),
        make_iin(BORN, "F", 5),
    ]


@pytest.mark.django_db
def test_a_day_whose_serials_ran_out_is_refused():
    register = define_with_parents()
    IinSerial.objects.create(birth_date=BORN, sex="M", next_serial=9998)
    with pytest.raises(Conflict) as caught:
        allocate(register, [(BORN, "M")] * 3)
    assert caught.value.code == "iin_exhausted"
    assert IinSerial.objects.get(birth_date=BORN, sex="M").next_serial == 9998


@pytest.mark.django_db
def test_allocation_needs_an_encodable_birth():
    register = define_with_parents()
    with pytest.raises(ValueError), transaction.atomic():
        iins_allocate(register=register, births=[(datetime.date(1799, 1, 1), "M")])
    with pytest.raises(ValueError), transaction.atomic():
        iins_allocate(register=register, births=[(BORN, "X")])


@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_never_share_an_iin():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writing transaction at a time")
    define_with_parents()
    workers, each = 6, 15
    start = threading.Barrier(workers)
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def register_births() -> None:
        try:
            start.wait()
            versions = services.births_register(
                children=[child(first_name="Алихан") for _ in range(each)],
                actor=None,
                agency=None,
                basis="maternity ward batch",
            )
            results.append([v.record.key for v in versions])
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=register_births) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    iins = [iin for batch in results for iin in batch]
    assert len(iins) == len(set(iins)) == workers * each
    assert IinSerial.objects.get(birth_date=BORN, sex="M").next_serial > max(
        int(iin[7:11]) for iin in iins
    )


# --- the services -----------------------------------------------------------------------------


@pytest.fixture
def registrar(agency):
    define_with_parents()
    population = Register.objects.get(code="population")
    scenario.grant(agency, population, Role.HEAD, ["*"], may_write=True)
    scenario.grant(agency, population, Role.CLERK, ["*"])
    return scenario.official(agency, Role.HEAD)


@pytest.mark.django_db
def test_a_birth_is_written_with_its_new_iin_ledger_entry_and_events(registrar, agency):
    before = counts()
    version = services.birth_register(
        child=child(), actor=registrar, agency=agency, basis="birth record 2024-0315-17"
    )
    iin = version.record.key
    assert iin == make_iin(BORN, "M", 0)
    assert (version.number, version.op, version.agency, version.actor) == (
        1,
        "create",
        agency,
        registrar,
    )
    assert version.data == {"iin": iin, **child()}
    assert version.basis == "birth record 2024-0315-17"
    assert counts() == (before[0] + 1, before[1] + 1, before[2] + 1, before[3] + 2, 1)
    about = {"register": "population", "record": str(version.record.public_id), "version": 1}
    events = [(e.type, e.payload) for e in Event.objects.order_by("-id")[:2]][::-1]
    assert events == [
        ("registry.record_created", about),
        (
            "PersonBorn",
            {
                "iin": iin,
                "birth_date": "2024-03-15",
                "sex": "M",
                "parents": [
                    {"iin": MOTHER, "relation": "mother"},
                    {"iin": FATHER, "relation": "father"},
                ],
                **about,
            },
        ),
    ]


@pytest.mark.django_db
def test_a_parent_may_have_restricted_rights(registrar, agency):
    parents = [{"iin": MOTHER, "relation": "mother", "rights": "restricted"}]
    version = services.birth_register(
        child=child(parents=parents), actor=registrar, agency=agency, basis="b"
    )
    assert version.data["parents"] == parents
    with pytest.raises(ValidationError) as caught:
        services.birth_register(
            child=child(parents=[{"iin": MOTHER, "relation": "mother", "rights": "some"}]),
            actor=registrar,
            agency=agency,
            basis="b",
        )
    assert (caught.value.code, caught.value.field) == ("schema_violation", "parents.0.rights")


@pytest.mark.django_db
def test_many_births_are_written_at_once_each_with_its_events(registrar, agency):
    children = [
        child(sex="F" if n % 2 else "M", birth_date=f"2024-03-{10 + n % 3:02d}") for n in range(12)
    ]
    versions = services.births_register(
        children=children, actor=registrar, agency=agency, basis="maternity ward batch 7"
    )
    iins = [v.record.key for v in versions]
    assert len(set(iins)) == 12
    for iin, data in zip(iins, children, strict=True):
        decoded = validate_iin(iin)
        assert (decoded.birth_date.isoformat(), decoded.sex) == (data["birth_date"], data["sex"])
    born = Event.objects.filter(type="PersonBorn").order_by("id")
    assert [e.payload["iin"] for e in born] == iins
    assert Event.objects.filter(type="registry.record_created").count() == 12 + 2  # + parents


@pytest.mark.django_db
def test_a_batch_of_births_costs_a_fixed_number_of_queries(registrar, agency):
    def queries(size: int) -> int:
        children = [child(birth_date=f"2024-03-{10 + n % 2:02d}") for n in range(size)]
        with CaptureQueriesContext(connection) as captured:
            services.births_register(
                children=children, actor=registrar, agency=agency, basis="batch"
            )
        return len(captured.captured_queries)

    queries(2)  # the counters of both days exist from now on
    assert queries(40) == queries(5)


@pytest.mark.django_db
def test_writing_a_birth_needs_a_writing_grant(registrar, agency, other_agency, citizen):
    clerk = scenario.official(agency, Role.CLERK)
    stranger = scenario.official(other_agency, Role.HEAD)
    estate = Register.objects.get(code="real_estate")
    scenario.grant(other_agency, estate, Role.HEAD, ["*"], may_write=True)
    before = counts()
    for actor, acting_for, code in [
        (citizen, None, "agency_required"),
        (clerk, agency, "register_write_denied"),
        (stranger, other_agency, "register_write_denied"),
    ]:
        with pytest.raises(PermissionDenied) as caught:
            services.birth_register(child=child(), actor=actor, agency=acting_for, basis="b")
        assert caught.value.code == code
    assert counts() == before


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        (lambda d: d["parents"][1].update(iin=make_iin(BORN, "M", 9)), "parent_not_found", "1"),
        (lambda d: d.pop("birth_date"), "schema_violation", "birth_date"),
        (lambda d: d.update(birth_date="2024-02-30"), "schema_violation", "birth_date"),
        (lambda d: d.update(birth_date="1799-12-31"), "birth_date_too_early", "birth_date"),
        (lambda d: d.update(sex="X"), "schema_violation", "sex"),
        (lambda d: d.update(iin=make_iin(BORN, "M", 5)), "iin_given", "iin"),
        (lambda d: d.update(nickname="Әлі"), "schema_violation", "$"),
    ],
)
@pytest.mark.django_db
def test_a_wrong_birth_is_refused_and_nothing_is_written(registrar, agency, change, code, field):
    data = child()
    change(data)
    before = counts()
    with pytest.raises(ValidationError) as caught:
        services.birth_register(child=data, actor=registrar, agency=agency, basis="b")
    expected_field = "parents.1.iin" if code == "parent_not_found" else field
    assert (caught.value.code, caught.value.field) == (code, expected_field)
    assert counts() == before


@pytest.mark.django_db
def test_a_birth_date_in_the_future_is_refused(registrar, agency):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    before = counts()
    with pytest.raises(ValidationError) as caught:
        services.birth_register(
            child=child(birth_date=tomorrow.isoformat()), actor=registrar, agency=agency, basis="b"
        )
    assert (caught.value.code, caught.value.field) == ("birth_date_in_future", "birth_date")
    assert str(caught.value.message) == "A date of birth cannot be in the future."
    assert counts() == before
    today = services.birth_register(
        child=child(birth_date=timezone.localdate().isoformat()),
        actor=registrar,
        agency=agency,
        basis="b",
    )
    assert today.record.version == 1


@pytest.mark.django_db
def test_a_parent_whose_record_is_closed_is_not_found(registrar, agency):
    services.record_delete(
        register="population",
        key=FATHER,
        expected_version=1,
        actor=None,
        agency=None,
        basis="duplicate record",
    )
    with pytest.raises(ValidationError) as caught:
        services.birth_register(child=child(), actor=registrar, agency=agency, basis="b")
    assert (caught.value.code, caught.value.field) == ("parent_not_found", "parents.1.iin")


@pytest.mark.django_db
def test_a_child_is_never_their_own_parent(registrar, agency, monkeypatch):
    """Guards the allocation: an IIN a parent holds would be refused, not written."""
    monkeypatch.setattr(services, "iins_allocate", lambda **_kwargs: [MOTHER])
    before = counts()
    with pytest.raises(ValidationError) as caught:
        services.birth_register(child=child(), actor=registrar, agency=agency, basis="b")
    assert (caught.value.code, caught.value.field) == ("parent_is_child", "parents.0.iin")
    assert counts() == before


@pytest.mark.django_db
def test_one_wrong_child_refuses_the_whole_batch_and_names_it(registrar, agency):
    children = [child(), child(), child(), child(birth_date="2024-13-01"), child()]
    before = counts()
    with pytest.raises(ValidationError) as caught:
        services.births_register(children=children, actor=registrar, agency=agency, basis="b")
    assert (caught.value.code, caught.value.field) == ("schema_violation", "3.birth_date")
    assert caught.value.details["index"] == 3
    children[3] = child(parents=[{"iin": make_iin(BORN, "F", 9), "relation": "mother"}])
    with pytest.raises(ValidationError) as caught:
        services.births_register(children=children, actor=registrar, agency=agency, basis="b")
    assert (caught.value.code, caught.value.field) == ("parent_not_found", "3.parents.0.iin")
    assert counts() == before


@pytest.mark.django_db
def test_a_batch_is_limited_and_needs_a_basis(registrar, agency):
    with pytest.raises(ValidationError) as caught:
        services.births_register(
            children=[child()] * (services.MAX_BATCH + 1),
            actor=registrar,
            agency=agency,
            basis="b",
        )
    assert caught.value.code == "batch_too_large"
    with pytest.raises(ValidationError) as caught:
        services.birth_register(child=child(), actor=registrar, agency=agency, basis="  ")
    assert caught.value.code == "basis_required"


# --- the API ----------------------------------------------------------------------------------


@pytest.fixture
def callers(registrar, agency, other_agency, citizen):
    """Who calls, and on behalf of which agency."""
    estate = Register.objects.get(code="real_estate")
    land = factories.AgencyFactory(code="land")
    scenario.grant(land, estate, Role.HEAD, ["*"], may_write=True)
    system = scenario.official(agency, Role.HEAD, username="civil-registry-system")
    _token, secret = account_services.token_create(user=system, name="civil registry")
    bearer = Client(headers={"authorization": f"Bearer {secret}"})
    return {
        "anonymous": (Client(), "justice"),
        "citizen": (client_for(citizen), None),
        "citizen_naming_an_agency": (client_for(citizen), "justice"),
        "official_of_another_agency": (client_for(scenario.official(other_agency)), "health"),
        "official_without_writing_grant": (
            client_for(scenario.official(agency, Role.CLERK)),
            "justice",
        ),
        "writer_of_another_register": (
            client_for(scenario.official(land, Role.HEAD)),
            "land",
        ),
        "official_with_grant": (client_for(registrar), "justice"),
        "agency_system": (bearer, "justice"),
    }


BIRTH_MATRIX = {
    "anonymous": (401, "not_authenticated"),
    "citizen": (403, "agency_required"),
    "citizen_naming_an_agency": (403, "not_agency_member"),
    "official_of_another_agency": (403, "register_write_denied"),
    "official_without_writing_grant": (403, "register_write_denied"),
    "writer_of_another_register": (403, "register_write_denied"),
    "official_with_grant": (201, None),
    "agency_system": (201, None),
}


def post(client, agency, data=None, **extra):
    body = {"data": child() if data is None else data, "basis": "birth record 17", **extra}
    if agency:
        body["agency"] = agency
    client.cookies["shanyraq_language"] = "en"
    return client.post(URL, body, content_type="application/json")


@pytest.mark.django_db
@pytest.mark.parametrize("who", list(BIRTH_MATRIX))
def test_birth_matrix(callers, who):
    client, agency = callers[who]
    status, code = BIRTH_MATRIX[who]
    before = counts()
    response = post(client, agency)
    assert response.status_code == status, response.content
    if status != 201:
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == code
        assert counts() == before
        return
    body = response.json()
    record = Record.objects.get(key=body["key"])
    version = record.versions.get()
    assert body == {
        "registry": "population",
        "key": make_iin(BORN, "M", 0),
        "public_id": str(record.public_id),
        "version": 1,
        "op": "create",
        "created_at": body["created_at"],
        "ledger_leaf_hash": version.ledger_entry.leaf_hash,
    }
    assert version.data == {"iin": body["key"], **child()}
    assert version.agency.code == "justice"
    assert Event.objects.filter(type="PersonBorn", payload__iin=body["key"]).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "extra", "code", "field"),
    [
        (
            child(parents=[{"iin": make_iin(BORN, "F", 8), "relation": "mother"}]),
            {},
            "parent_not_found",
            "parents.0.iin",
        ),
        ({k: v for k, v in child().items() if k != "birth_date"}, {}, "schema_violation", None),
        (child(birth_date="2999-01-01"), {}, "birth_date_in_future", "birth_date"),
        (child(iin=make_iin(BORN, "M", 3)), {}, "iin_given", "iin"),
        (child(), {"basis": ""}, "basis_required", "basis"),
        (["not", "a", "record"], {}, "invalid_parameters", "data"),
    ],
)
def test_bad_births_get_422_and_write_nothing(callers, data, extra, code, field):
    client, agency = callers["agency_system"]
    before = counts()
    response = post(client, agency, data, **extra)
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == code
    if field:
        assert body["errors"][0]["field"] == field
    if code == "schema_violation":
        assert body["details"]["problems"] == [
            {"field": "birth_date", "message": "This field is required."}
        ]
    assert counts() == before


@pytest.mark.django_db
def test_the_future_birth_date_message_is_for_people(callers):
    client, agency = callers["agency_system"]
    response = post(client, agency, child(birth_date="2999-01-01"))
    assert response.json()["detail"] == "A date of birth cannot be in the future."


@pytest.mark.django_db
def test_the_facts_of_a_birth_travel_with_its_event(callers, registrar, agency):
    client, code = callers["agency_system"]
    response = post(client, code, birth={"order": 4, "multiple": True})
    assert response.status_code == 201, response.content
    born = Event.objects.get(type="PersonBorn", payload__iin=response.json()["key"])
    assert born.payload["birth"] == {"order": 4, "multiple": True}
    assert "birth" not in Record.objects.get(key=response.json()["key"]).versions.get().data
    versions = services.births_register(
        children=[child(), child(sex="F")],
        facts=[{"order": 2}, None],
        actor=registrar,
        agency=agency,
        basis="b",
    )
    payloads = {
        e.payload["iin"]: e.payload
        for e in Event.objects.filter(
            type="PersonBorn", payload__iin__in=[v.record.key for v in versions]
        )
    }
    assert payloads[versions[0].record.key]["birth"] == {"order": 2}
    assert "birth" not in payloads[versions[1].record.key]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("facts", "field"),
    [({"order": 0}, "birth.order"), ({"order": "4"}, "birth.order"), ({"twins": True}, "birth")],
)
def test_wrong_facts_of_a_birth_are_refused(registrar, agency, facts, field):
    before = counts()
    with pytest.raises(ValidationError) as caught:
        services.birth_register(
            child=child(), facts=facts, actor=registrar, agency=agency, basis="b"
        )
    assert caught.value.field == field
    assert counts() == before
