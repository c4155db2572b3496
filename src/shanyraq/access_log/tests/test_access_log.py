"""The data tracker: writing access records, and a person reading their own."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shanyraq.access_log import selectors, services
from shanyraq.access_log.models import AccessAction, AccessRecord
from shanyraq.conftest import client_for
from shanyraq.core.errors import ValidationError
from shanyraq.testing import factories

pytestmark = pytest.mark.django_db

RECORD = uuid.UUID("00000000-0000-4000-8000-000000000001")


def record(agency, actor, subjects, *, purpose="Tax check", basis="Tax code, art. 24", **kw):
    read = services.Read(register="population", record=RECORD, subjects=subjects, fields=["iin"])
    with transaction.atomic():
        return services.access_record(
            actor=actor,
            agency=agency,
            action=AccessAction.READ,
            purpose=purpose,
            legal_basis=basis,
            reads=[read],
            **kw,
        )


def test_one_record_per_person_and_read(agency, clerk):
    rows = record(agency, clerk, ["900101400011", "900101400022", "900101400011"], case_ref="C-1")
    assert [r.subject_iin for r in rows] == ["900101400011", "900101400022"]
    row = AccessRecord.objects.get(subject_iin="900101400022")
    assert (row.actor, row.agency, row.register, row.record, row.fields) == (
        clerk,
        agency,
        "population",
        RECORD,
        ["iin"],
    )
    assert (row.purpose, row.legal_basis, row.case_ref, row.action) == (
        "Tax check",
        "Tax code, art. 24",
        "C-1",
        "read",
    )
    assert row.actor_name == clerk.full_name


def test_an_agency_system_is_named(agency):
    rows = record(agency, None, ["900101400011"], actor_name="Tax information system")
    assert (rows[0].actor, rows[0].actor_name) == (None, "Tax information system")


@pytest.mark.django_db(transaction=True)
def test_it_runs_only_in_the_callers_transaction(agency, clerk):
    read = services.Read(register="population", record=RECORD, subjects=["1"], fields=[])
    with pytest.raises(RuntimeError):
        services.access_record(
            actor=clerk,
            agency=agency,
            action=AccessAction.READ,
            purpose="p",
            legal_basis="b",
            reads=[read],
        )
    assert AccessRecord.objects.count() == 0


@pytest.mark.parametrize(("purpose", "basis"), [("", "b"), ("p", " "), ("", "")])
def test_a_purpose_and_a_basis_are_required(agency, clerk, purpose, basis):
    with pytest.raises(ValidationError) as refused:
        record(agency, clerk, ["900101400011"], purpose=purpose, basis=basis)
    assert refused.value.code == "purpose_required"
    assert AccessRecord.objects.count() == 0


def test_accesses_of_a_person_newest_first_and_only_theirs(agency, other_agency, clerk):
    mine, other = "900101400011", "900101400022"
    first = record(agency, clerk, [mine])[0]
    AccessRecord.objects.filter(pk=first.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=1)
    )
    record(other_agency, clerk, [mine, other])
    record(agency, clerk, [other])
    page = selectors.accesses_of(mine)
    assert page.count == 2
    assert [a.agency.code for a in page.items] == ["health", "justice"]
    assert {a.subject_iin for a in page.items} == {mine}
    assert selectors.accesses_of("").count == 0


def test_accesses_are_paged_in_two_queries(agency, clerk):
    for _ in range(5):
        record(agency, clerk, ["900101400011"])
    with CaptureQueriesContext(connection) as queries:
        page = selectors.accesses_of("900101400011", page=2, page_size=2)
        names = [str(a.agency.name) for a in page.items]
    assert len(queries) == 2
    assert (page.count, page.pages, len(names), page.has_next, page.has_previous) == (
        5,
        3,
        2,
        True,
        True,
    )
    last = selectors.accesses_of("900101400011", page=3, page_size=2)
    assert (len(last.items), last.has_next) == (1, False)


# --- GET /api/v1/me/data-usage ---------------------------------------------------------------

URL = "/api/v1/me/data-usage"


def test_data_usage_api_shows_exactly_the_persons_accesses(agency, other_agency, clerk, citizen):
    someone = factories.UserFactory()
    record(agency, clerk, [citizen.iin], case_ref="APP-1")
    record(other_agency, clerk, [citizen.iin, someone.iin])
    record(agency, clerk, [someone.iin])
    body = client_for(citizen).get(URL).json()
    assert body["count"] == 2
    assert [item["agency"]["code"] for item in body["items"]] == ["health", "justice"]
    item = body["items"][1]
    assert item["agency"]["name"] == {
        "kk": "Agency justice қаз",
        "ru": "Agency justice рус",
        "en": "Agency justice eng",
    }
    assert (item["registry"], item["record"], item["action"], item["fields"]) == (
        "population",
        str(RECORD),
        "read",
        ["iin"],
    )
    assert (item["purpose"], item["legal_basis"], item["case_ref"]) == (
        "Tax check",
        "Tax code, art. 24",
        "APP-1",
    )
    assert "actor" not in item and "actor_name" not in item
    other = client_for(someone).get(URL, {"page_size": 1, "page": 2}).json()
    assert (other["count"], other["pages"], len(other["items"])) == (2, 2, 1)
    assert other["items"][0]["agency"]["code"] == "health"


def test_data_usage_api_authorization(citizen, clerk):
    from django.test import Client

    response = Client().get(URL)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    response = client_for(clerk).get(URL)  # staff without an IIN has no data usage record
    assert (response.status_code, response.json()["code"]) == (403, "iin_required")
    body = client_for(citizen).get(URL).json()
    assert (body["count"], body["items"]) == (0, [])
