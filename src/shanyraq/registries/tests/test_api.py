"""Registers API: who may call each endpoint, what they see, and what each call records."""

from __future__ import annotations

import base64
import json

import pytest
from django.test import Client

from shanyraq.access_log.models import AccessRecord
from shanyraq.access_log.tests import scenario
from shanyraq.accounts import services as account_services
from shanyraq.accounts.models import Role
from shanyraq.conftest import client_for
from shanyraq.ledger.proof import verify_proof
from shanyraq.ledger_django.models import Entry
from shanyraq.registries import commitments
from shanyraq.registries.models import Record, RecordVersion
from shanyraq.testing import factories

pytestmark = pytest.mark.django_db

BASE = "/api/v1/registries"
PURPOSE = {"purpose": "Checking an application", "basis": "Law on registration, art. 5"}
LIMITED = ["first_name", "iin", "last_name"]
EVERYTHING = ["address", "birth_date", "first_name", "iin", "last_name", "parents"]


@pytest.fixture
def world(agency, other_agency, citizen):
    population, _estate = scenario.define_registers()
    mother, father = scenario.new_iin(), scenario.new_iin()
    scenario.add_person(citizen.iin, parents=[{"iin": mother}, {"iin": father}])
    scenario.grant(agency, population, Role.CLERK, LIMITED)
    scenario.grant(agency, population, Role.HEAD, ["*"], may_write=True)
    system = scenario.official(agency, Role.CLERK, username="tax-system")
    _token, secret = account_services.token_create(user=system, name="tax system")
    people = {
        "anonymous": (Client(), None),
        "owner": (client_for(citizen), None),
        "other_citizen": (client_for(factories.UserFactory()), None),
        "stranger": (client_for(scenario.official(other_agency)), "health"),
        "clerk": (client_for(scenario.official(agency, Role.CLERK)), "justice"),
        "head": (client_for(scenario.official(agency, Role.HEAD)), "justice"),
        "system": (Client(headers={"authorization": f"Bearer {secret}"}), "justice"),
    }
    return {
        "mother": mother,
        "father": father,
        "people": {who: (english(c), agency) for who, (c, agency) in people.items()},
    }


def english(client):
    """Messages are asserted in English, the source language."""
    client.cookies["shanyraq_language"] = "en"
    return client


def params(agency, **extra):
    values = dict(extra)
    if agency:
        values.update(agency=agency, **PURPOSE)
    return values


# Expected status per caller; the number of access records a successful read writes follows.
READ_MATRIX = {
    "anonymous": 401,
    "owner": 200,
    "other_citizen": 403,
    "stranger": 403,
    "clerk": 200,
    "head": 200,
    "system": 200,
}
SEARCH_MATRIX = {**READ_MATRIX, "owner": 403}
FIELDS_SEEN = {"owner": EVERYTHING, "clerk": LIMITED, "head": EVERYTHING, "system": LIMITED}


@pytest.mark.parametrize(
    ("path", "recorded"),
    [
        ("/population/records/{iin}", True),
        ("/population/records/{iin}/versions", True),
        ("/population/records/{iin}/versions/1", True),
        ("/population/records/{iin}/exists", False),
    ],
)
def test_read_matrix(world, citizen, path, recorded):
    url = BASE + path.format(iin=citizen.iin)
    for who, expected in READ_MATRIX.items():
        client, agency = world["people"][who]
        before = AccessRecord.objects.count()
        response = client.get(url, params(agency))
        assert response.status_code == expected, (who, response.content)
        written = AccessRecord.objects.count() - before
        official = expected == 200 and agency is not None
        assert written == (3 if official and recorded else 0), who
        if expected != 200:
            assert response["Content-Type"] == "application/problem+json"
            continue
        body = response.json()
        shown = body.get("fields") or (body.get("items") or [{}])[0].get("fields")
        if shown is not None:
            assert shown == FIELDS_SEEN[who], who
        if official and recorded:
            rows = AccessRecord.objects.order_by("-id")[:3]
            assert sorted(r.subject_iin for r in rows) == sorted(
                [citizen.iin, world["mother"], world["father"]]
            )
            assert {r.agency.code for r in rows} == {"justice"}


def test_search_matrix(world, citizen):
    for who, expected in SEARCH_MATRIX.items():
        client, agency = world["people"][who]
        before = AccessRecord.objects.count()
        response = client.get(f"{BASE}/population/search", params(agency, last_name="Сәрсенова"))
        assert response.status_code == expected, (who, response.content)
        if expected == 200:
            body = response.json()
            assert body["count"] == 1
            assert [item["key"] for item in body["items"]] == [citizen.iin]
            assert body["items"][0]["fields"] == FIELDS_SEEN[who]
            assert AccessRecord.objects.count() - before == 3
        else:
            assert AccessRecord.objects.count() == before


def test_what_each_reader_sees(world, citizen):
    client, agency = world["people"]["clerk"]
    body = client.get(f"{BASE}/population/records/{citizen.iin}", params(agency)).json()
    assert body["data"] == {"iin": citizen.iin, "last_name": "Сәрсенова", "first_name": "Әйгерім"}
    assert body["version"] == 1
    client, _agency = world["people"]["owner"]
    body = client.get(f"{BASE}/population/records/{citizen.iin}").json()
    assert body["data"]["parents"] == [{"iin": world["mother"]}, {"iin": world["father"]}]


def test_reading_without_purpose_is_refused_and_not_recorded(world, citizen):
    client, agency = world["people"]["clerk"]
    for missing in ["purpose", "basis"]:
        query = params(agency)
        del query[missing]
        response = client.get(f"{BASE}/population/records/{citizen.iin}", query)
        assert response.status_code == 422
        assert response.json()["code"] == "purpose_required"
        assert response.json()["errors"] == [
            {"field": missing, "message": response.json()["detail"]}
        ]
    assert AccessRecord.objects.count() == 0


def test_an_agency_that_is_not_the_callers_is_refused(world, citizen):
    client, _agency = world["people"]["clerk"]
    response = client.get(f"{BASE}/population/records/{citizen.iin}", params("health"))
    assert response.status_code == 403
    assert response.json()["code"] == "not_agency_member"
    assert AccessRecord.objects.count() == 0


def test_unknown_register_and_record(world):
    client, agency = world["people"]["clerk"]
    response = client.get(f"{BASE}/nowhere/records/1", params(agency))
    assert (response.status_code, response.json()["code"]) == (404, "register_not_found")
    response = client.get(f"{BASE}/population/records/{scenario.new_iin()}", params(agency))
    assert (response.status_code, response.json()["code"]) == (404, "record_not_found")


def test_keys_may_contain_a_slash(world, agency, citizen):
    """A flat's cadastral number has a "/" in it; every record route still finds it."""
    _population, estate = scenario.define_registers()
    scenario.grant(agency, estate, Role.CLERK, ["kind", "owners"])
    co_owner = factories.UserFactory()
    scenario.add_property("01:001:001/4", [citizen.iin, co_owner.iin])
    url = f"{BASE}/real_estate/records/01:001:001/4"
    owner, _none = world["people"]["owner"]
    assert owner.get(url).json()["key"] == "01:001:001/4"
    assert owner.get(f"{url}/versions").json()["count"] == 1
    assert owner.get(f"{url}/versions/1").json()["salt"]
    assert owner.get(f"{url}/exists").json() == {"exists": True}
    other, _none = world["people"]["other_citizen"]
    assert other.get(url).status_code == 403
    clerk, agency_code = world["people"]["clerk"]
    body = clerk.get(url, params(agency_code)).json()
    assert (body["fields"], len(body["data"]["owners"])) == (["kind", "owners"], 2)
    rows = AccessRecord.objects.filter(register="real_estate")
    assert sorted(r.subject_iin for r in rows) == sorted([citizen.iin, co_owner.iin])


# --- Writes --------------------------------------------------------------------------------

WRITE_MATRIX = {
    "anonymous": 401,
    "owner": 403,
    "other_citizen": 403,
    "stranger": 403,
    "clerk": 403,
    "head": None,  # the success status of the method
    "system": 403,
}


def counts():
    return (Record.objects.count(), RecordVersion.objects.count(), Entry.objects.count())


@pytest.mark.parametrize("who", list(WRITE_MATRIX))
def test_create_matrix(world, who):
    client, agency = world["people"][who]
    iin = scenario.new_iin()
    before = counts()
    response = client.post(
        f"{BASE}/population/records",
        {"data": scenario.person_data(iin), "basis": "Birth record 1", "agency": agency},
        content_type="application/json",
    )
    expected = WRITE_MATRIX[who] or 201
    assert response.status_code == expected, response.content
    if expected == 201:
        body = response.json()
        assert (body["key"], body["version"], body["op"]) == (iin, 1, "create")
        assert RecordVersion.objects.get(record__key=iin).agency.code == "justice"
        assert counts() == (before[0] + 1, before[1] + 1, before[2] + 1)
    else:
        assert counts() == before


@pytest.mark.parametrize("who", list(WRITE_MATRIX))
def test_update_matrix(world, citizen, who):
    client, agency = world["people"][who]
    before = counts()
    response = client.put(
        f"{BASE}/population/records/{citizen.iin}",
        {
            "data": scenario.person_data(citizen.iin, last_name="Әлиева"),
            "expected_version": 1,
            "basis": "Marriage record 3",
            "reason": "Surname changed on marriage",
            "agency": agency,
        },
        content_type="application/json",
    )
    expected = WRITE_MATRIX[who] or 200
    assert response.status_code == expected, response.content
    if expected == 200:
        assert (response.json()["version"], response.json()["op"]) == (2, "update")
        assert counts() == (before[0], before[1] + 1, before[2] + 1)
    else:
        assert counts() == before


@pytest.mark.parametrize("who", list(WRITE_MATRIX))
def test_delete_matrix(world, citizen, who):
    client, agency = world["people"][who]
    before = counts()
    query = "expected_version=1&basis=Death+record+4" + (f"&agency={agency}" if agency else "")
    response = client.delete(f"{BASE}/population/records/{citizen.iin}?{query}")
    expected = WRITE_MATRIX[who] or 200
    assert response.status_code == expected, response.content
    record = Record.objects.get(key=citizen.iin)
    if expected == 200:
        assert (response.json()["version"], response.json()["op"]) == (2, "delete")
        assert record.is_deleted
    else:
        assert not record.is_deleted
        assert counts() == before


def test_a_stale_update_gets_409_and_changes_nothing(world, citizen):
    client, agency = world["people"]["head"]
    url = f"{BASE}/population/records/{citizen.iin}"

    def update(last_name):
        return client.put(
            url,
            {
                "data": scenario.person_data(citizen.iin, last_name=last_name),
                "expected_version": 1,
                "basis": "Marriage record 3",
                "agency": agency,
            },
            content_type="application/json",
        )

    assert update("Әлиева").status_code == 200
    before = counts()
    response = update("Бекова")
    assert response.status_code == 409
    assert response.json()["code"] == "stale_version"
    assert response.json()["details"] == {"current_version": 2}
    assert counts() == before
    body = client.get(url, params(agency)).json()
    assert (body["version"], body["data"]["last_name"]) == (2, "Әлиева")


def test_schema_errors_name_the_field(world, citizen):
    client, agency = world["people"]["head"]
    before = counts()
    bad_parent = scenario.person_data(citizen.iin, parents=[{"iin": "123456789012"}])
    response = client.put(
        f"{BASE}/population/records/{citizen.iin}",
        {"data": bad_parent, "expected_version": 1, "basis": "b", "agency": agency},
        content_type="application/json",
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "schema_violation"
    assert [e["field"] for e in body["errors"]] == ["parents.0.iin"]
    assert body["details"]["problems"] == [
        {"field": "parents.0.iin", "message": "Expected an IIN."}
    ]
    data = scenario.person_data(scenario.new_iin())
    del data["first_name"]
    data["nickname"] = "Әйкеш"
    response = client.post(
        f"{BASE}/population/records",
        {"data": data, "basis": "b", "agency": agency},
        content_type="application/json",
    )
    assert response.status_code == 422
    problems = response.json()["details"]["problems"]
    assert {p["field"] for p in problems} == {"$", "first_name"}
    response = client.post(
        f"{BASE}/population/records",
        {"data": ["not", "an", "object"], "basis": "b", "agency": agency},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "data"
    assert counts() == before


def test_updates_to_a_deleted_record_get_409(world, citizen):
    client, agency = world["people"]["head"]
    url = f"{BASE}/population/records/{citizen.iin}"
    assert client.delete(f"{url}?expected_version=1&basis=Death&agency={agency}").status_code == 200
    before = counts()
    response = client.put(
        url,
        {
            "data": scenario.person_data(citizen.iin),
            "expected_version": 2,
            "basis": "b",
            "agency": agency,
        },
        content_type="application/json",
    )
    assert (response.status_code, response.json()["code"]) == (409, "record_deleted")
    response = client.delete(f"{url}?expected_version=2&basis=again&agency={agency}")
    assert (response.status_code, response.json()["code"]) == (409, "record_deleted")
    assert counts() == before
    body = client.get(url, params(agency)).json()
    assert (body["version"], body["is_deleted"], body["data"]) == (2, True, {})
    exists = client.get(f"{url}/exists", {"agency": agency}).json()
    assert exists == {"exists": False}


def test_a_version_before_publication_has_no_proof(world, citizen):
    client, agency = world["people"]["clerk"]
    body = client.get(f"{BASE}/population/records/{citizen.iin}/versions/1", params(agency)).json()
    assert body["ledger"]["published"] is False
    assert body["ledger"]["proof_file"] is None
    assert body["salt"] is None
    entry = json.loads(base64.b64decode(body["ledger"]["entry"]))
    assert entry["commitment"] == body["commitment"]
    response = client.get(f"{BASE}/population/records/{citizen.iin}/versions/9", params(agency))
    assert (response.status_code, response.json()["code"]) == (404, "version_not_found")


@pytest.mark.django_db(transaction=True)
def test_a_published_version_comes_with_its_inclusion_proof(settings, tmp_path, agency):
    log = scenario.use_test_ledger(settings, tmp_path)
    population, _estate = scenario.define_registers()
    scenario.grant(agency, population, Role.CLERK, LIMITED)
    person = factories.UserFactory()
    scenario.add_person(person.iin)
    scenario.publish()
    clerk = scenario.official(agency, Role.CLERK)
    url = f"{BASE}/population/records/{person.iin}/versions/1"
    body = client_for(clerk).get(url, params("justice")).json()
    assert body["ledger"]["published"] is True
    assert body["ledger"]["index"] == 0
    assert body["fields"] == LIMITED
    assert body["salt"] is None
    entry = base64.b64decode(body["ledger"]["entry"])
    verify_proof(
        body["ledger"]["proof_file"].encode(),
        entry,
        origin=log.origin,
        log_verifiers=[log.verifier()],
    )
    own = client_for(person).get(url).json()
    assert own["salt"]
    assert commitments.commit(own["salt"], own["data"]) == json.loads(entry)["commitment"]
    history = client_for(person).get(f"{BASE}/population/records/{person.iin}/versions").json()
    assert history["count"] == 1
    assert history["items"][0]["published"] is True
    assert AccessRecord.objects.count() == 1
