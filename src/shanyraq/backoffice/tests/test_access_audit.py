"""The auditors' page of the data tracker: who may see it, its filters, its CSV file."""

from __future__ import annotations

import csv
import datetime
import io
import re
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from shanyraq.access_log import selectors
from shanyraq.access_log.models import AccessAction, AccessRecord
from shanyraq.access_log.tests import scenario
from shanyraq.accounts.models import Role
from shanyraq.conftest import client_for
from shanyraq.testing import factories

pytestmark = pytest.mark.django_db

PAGE = "/backoffice/data-access/"
EXPORT = "/backoffice/data-access/export/"
ALMATY = ZoneInfo("Asia/Almaty")
PERSON, OTHER = "900101400112", "900101400221"  # valid IINs
BAD_CHECKSUM = "900101400113"


def at(day: int, hour: int = 12) -> datetime.datetime:
    return datetime.datetime(2026, 3, day, hour, tzinfo=ALMATY)


def access(agency, actor=None, *, when=None, iin=PERSON, register="population", **extra):
    values = {
        "actor": actor,
        "actor_name": actor.full_name if actor else "Tax information system",
        "agency": agency,
        "subject_iin": iin,
        "register": register,
        "record": uuid.UUID("00000000-0000-4000-8000-000000000001"),
        "action": AccessAction.READ,
        "fields": ["last_name", "iin"],
        "purpose": "Pension calculation",
        "legal_basis": "Social code, art. 12",
        "created_at": when or at(10),
        **extra,
    }
    return AccessRecord.objects.create(**values)


def in_language(client: Client, lang: str) -> Client:
    client.cookies["shanyraq_language"] = lang
    return client


def rows_of(html: str) -> list[str]:
    """The body rows of the results table."""
    body = html.split('<tbody class="govuk-table__body">', 1)[1].split("</tbody>", 1)[0]
    return body.split('<tr class="govuk-table__row">')[1:]


@pytest.fixture
def people(citizen, clerk, agency_admin, other_admin, auditor, platform_admin):
    return {
        "anonymous": None,
        "citizen": citizen,
        "clerk": clerk,
        "agency_admin": agency_admin,
        "other_admin": other_admin,
        "auditor": auditor,
        "platform_admin": platform_admin,
    }


@pytest.fixture
def registers():
    return scenario.define_registers()


@pytest.fixture
def log(registers, agency, other_agency, clerk):
    return {
        "base": access(agency, clerk, when=at(10), case_ref="APP-42"),
        "person": access(agency, clerk, when=at(11), iin=OTHER),
        "agency": access(other_agency, clerk, when=at(12)),
        "system": access(agency, None, when=at(13)),
        "register": access(agency, clerk, when=at(14), register="real_estate", fields=["area"]),
        "purpose": access(agency, clerk, when=at(15), purpose="Tax check of income"),
    }


EVERY = {"base", "person", "agency", "system", "register", "purpose"}

# --- Who may see it -------------------------------------------------------------------------

MATRIX = {
    "anonymous": 302,
    "citizen": 403,
    "clerk": 403,
    "agency_admin": 403,
    "other_admin": 403,
    "auditor": 200,
    "platform_admin": 200,
}


@pytest.mark.parametrize("path", [PAGE, EXPORT, f"{PAGE}?iin={PERSON}", f"{EXPORT}?iin={PERSON}"])
@pytest.mark.parametrize(("who", "expected"), list(MATRIX.items()))
def test_only_auditors_and_platform_admins_see_the_accesses(people, log, path, who, expected):
    response = client_for(people[who]).get(path)
    assert response.status_code == expected
    if expected == 302:
        assert response["Location"].startswith("/staff/login/?next=")
    if expected == 403:
        assert response["Content-Type"].startswith("text/html")
        assert b"Pension calculation" not in response.content
    if expected == 200:
        assert "no-cache" in response["Cache-Control"]


@pytest.mark.parametrize("path", [PAGE, EXPORT])
def test_the_pages_only_read(people, log, path):
    assert client_for(people["auditor"]).post(path).status_code == 405


def test_the_dashboard_links_to_the_page_for_auditors_only(people):
    link = f'href="{PAGE}"'
    assert link in client_for(people["auditor"]).get("/backoffice/").content.decode()
    assert link in client_for(people["platform_admin"]).get("/backoffice/").content.decode()
    assert link not in client_for(people["clerk"]).get("/backoffice/").content.decode()
    assert link not in client_for(people["agency_admin"]).get("/backoffice/").content.decode()


# --- The page ------------------------------------------------------------------------------


def test_every_access_is_listed_newest_first_with_what_was_read(log, auditor, clerk):
    html = in_language(client_for(auditor), "en").get(PAGE).content.decode()
    assert "6 accesses found" in html
    rows = rows_of(html)
    assert len(rows) == 6
    order = [re.search(r'datetime="([^"]+)"', row).group(1)[:13] for row in rows]
    assert order == [f"2026-03-{d}T12" for d in (15, 14, 13, 12, 11, 10)]
    base = rows[-1]
    assert PERSON in base
    assert "justice eng" in base  # the agency's short name
    assert clerk.full_name in base and clerk.username in base
    assert "Population register: Viewed the record" in base
    assert "<li>IIN</li><li>Surname</li>" in base  # fields named and in the schema's order
    assert "Pension calculation" in base and "Social code, art. 12" in base
    assert "Case APP-42" in base
    system = rows[2]
    assert "Tax information system" in system and "Information system" in system
    assert "<caption" in html and 'scope="col"' in html and 'scope="row"' in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"iin": PERSON}, {"base", "agency", "system", "register", "purpose"}),
        ({"iin": f" {OTHER} "}, {"person"}),
        ({"agency": "health"}, {"agency"}),
        ({"official": "{clerk}"}, {"base", "person", "agency", "register", "purpose"}),
        ({"official": "nobody"}, set()),
        ({"register": "real_estate"}, {"register"}),
        ({"purpose": "TAX CHECK"}, {"purpose"}),
        ({"date_from": "2026-03-14"}, {"register", "purpose"}),
        ({"date_to": "2026-03-11"}, {"base", "person"}),
        ({"date_from": "12.03.2026", "date_to": "13.03.2026"}, {"agency", "system"}),
        ({"date_from": "2026-03-12", "date_to": "2026-03-12"}, {"agency"}),
        (
            {"iin": PERSON, "agency": "justice", "register": "population"},
            {"base", "system", "purpose"},
        ),
        ({"iin": "", "agency": "", "register": "", "page": "1"}, EVERY),  # empty: no narrowing
    ],
)
def test_each_filter(log, auditor, clerk, query, expected):
    query = {k: v.format(clerk=clerk.username) for k, v in query.items()}
    response = in_language(client_for(auditor), "en").get(PAGE, query)
    assert response.status_code == 200
    html = response.content.decode()
    shown = {
        name
        for name, row in log.items()
        if f'datetime="{row.created_at.astimezone(ALMATY).isoformat()}"' in html
    }
    assert shown == expected
    if expected:
        assert len(rows_of(html)) == len(expected)
    else:
        assert "No access matches these filters." in html
        assert "<table" not in html


def test_the_filters_are_kept_in_the_form_and_the_links(log, auditor):
    query = {"iin": PERSON, "agency": "justice", "purpose": "pension", "date_from": "2026-03-01"}
    html = client_for(auditor).get(PAGE, query).content.decode()
    assert f'value="{PERSON}"' in html
    assert '<option value="justice" selected>' in html
    assert 'value="pension"' in html
    assert 'value="2026-03-01"' in html and 'type="date"' in html
    export = (
        f"{EXPORT}?iin={PERSON}&amp;agency=justice&amp;purpose=pension&amp;date_from=2026-03-01"
    )
    assert f'href="{export}"' in html


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"iin": BAD_CHECKSUM}, "iin", "This IIN does not exist. Check the digits."),
        ({"iin": "90010140011"}, "iin", "An IIN is made of exactly 12 digits."),
        ({"iin": "9001014001121"}, "iin", "An IIN has exactly 12 digits."),
        ({"iin": "90a101400112"}, "iin", "An IIN is made of exactly 12 digits."),
        ({"date_from": "2026-02-30"}, "date_from", "Enter a real date, for example 31.03.2026."),
        ({"date_to": "yesterday"}, "date_to", "Enter a real date, for example 31.03.2026."),
        (
            {"date_from": "2026-03-12", "date_to": "2026-03-11"},
            "date_to",
            "The end date must be the same as or after the start date.",
        ),
        ({"agency": "nowhere"}, "agency", "Select a valid choice."),
        ({"register": "secret"}, "register", "Select a valid choice."),
        ({"official": "x" * 151}, "official", "Ensure this value has at most 150 characters"),
    ],
)
@pytest.mark.parametrize("path", [PAGE, EXPORT])
def test_bad_filters_get_a_message_by_the_field_and_no_results(
    log, auditor, path, query, field, message
):
    response = in_language(client_for(auditor), "en").get(path, query)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "<title>Error: Who accessed people’s data" in html
    assert 'class="govuk-error-summary"' in html
    assert f'<a href="#id_{field}">{message}' in html  # the summary links to the field
    error = re.search(
        rf'<p id="id_{field}-error" class="govuk-error-message">(.*?)</p>', html, re.S
    )
    assert error is not None and message in error.group(1)
    assert f'aria-describedby="id_{field}-error"' in html
    assert "<table" not in html and "accesses found" not in html
    assert "Pension calculation" not in html


def test_the_page_is_in_the_readers_language(log, auditor):
    for lang, register, action in [
        ("kk", "Халық тізілімі", None),
        ("ru", "Реестр населения", None),
        ("en", "Population register", "Viewed the record"),
    ]:
        html = in_language(client_for(auditor), lang).get(PAGE).content.decode()
        assert f'<html lang="{lang}"' in html
        assert f"justice {({'kk': 'қаз', 'ru': 'рус', 'en': 'eng'})[lang]}" in html
        assert f'<option value="population">{register}</option>' in html
        if action:
            assert action in html


def test_the_results_are_paged_with_the_filters_kept(registers, agency, auditor):
    AccessRecord.objects.bulk_create(
        AccessRecord(
            agency=agency,
            subject_iin=PERSON,
            register="population",
            record=uuid.uuid4(),
            action=AccessAction.READ,
            purpose=f"Check {n}",
            legal_basis="b",
            created_at=at(10) + datetime.timedelta(minutes=n),
        )
        for n in range(30)
    )
    client = in_language(client_for(auditor), "en")
    first = client.get(PAGE, {"iin": PERSON}).content.decode()
    assert "30 accesses found" in first
    assert len(rows_of(first)) == selectors.AUDIT_PAGE_SIZE
    assert f'href="?iin={PERSON}&amp;page=2"' in first
    second = client.get(PAGE, {"iin": PERSON, "page": "2"}).content.decode()
    assert len(rows_of(second)) == 5
    assert ">Check 4<" in second and ">Check 5<" not in second
    assert client.get(PAGE, {"page": "many"}).status_code == 200


def test_the_page_reads_in_the_same_number_of_queries_however_many_rows(
    registers, agency, auditor, clerk
):
    client = client_for(auditor)
    access(agency, clerk)
    client.get(PAGE)  # sessions and caches warmed
    with CaptureQueriesContext(connection) as one:
        assert client.get(PAGE).status_code == 200
    for hour in range(20):
        access(agency, factories.member(agency, Role.CLERK), when=at(9, hour))
    with CaptureQueriesContext(connection) as many:
        assert client.get(PAGE).status_code == 200
    assert len(many) == len(one)


def test_a_note_says_when_the_file_would_be_cut_short(log, auditor, monkeypatch):
    monkeypatch.setattr(selectors, "MAX_EXPORT_ROWS", 5)
    html = in_language(client_for(auditor), "en").get(PAGE).content.decode()
    assert "The file holds the newest 5 of them." in html
    html = in_language(client_for(auditor), "en").get(PAGE, {"agency": "health"}).content.decode()
    assert "The file holds the newest" not in html


# --- The CSV file ----------------------------------------------------------------------------


def export(client: Client, query: dict[str, str] | None = None) -> tuple[Any, list[list[str]]]:
    response = client.get(EXPORT, query or {})
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return response, list(csv.reader(io.StringIO(body[1:])))


def test_the_csv_file_holds_the_filtered_accesses(log, auditor, clerk):
    response, rows = export(client_for(auditor), {"agency": "justice", "date_to": "2026-03-13"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response["Content-Disposition"]
    assert re.fullmatch(r'attachment; filename="data-access-\d{8}-\d{6}\.csv"', disposition)
    assert rows[0] == [
        "created_at",
        "agency",
        "agency_name",
        "official",
        "actor_name",
        "subject_iin",
        "register",
        "record",
        "action",
        "fields",
        "purpose",
        "legal_basis",
        "case_ref",
    ]
    assert rows[1:] == [
        [
            "2026-03-13T12:00:00+05:00",
            "justice",
            "Agency justice қаз",  # the default language
            "",
            "Tax information system",
            PERSON,
            "population",
            "00000000-0000-4000-8000-000000000001",
            "read",
            "last_name iin",
            "Pension calculation",
            "Social code, art. 12",
            "",
        ],
        [
            "2026-03-11T12:00:00+05:00",
            "justice",
            "Agency justice қаз",
            clerk.username,
            clerk.full_name,
            OTHER,
            "population",
            "00000000-0000-4000-8000-000000000001",
            "read",
            "last_name iin",
            "Pension calculation",
            "Social code, art. 12",
            "",
        ],
        [
            "2026-03-10T12:00:00+05:00",
            "justice",
            "Agency justice қаз",
            clerk.username,
            clerk.full_name,
            PERSON,
            "population",
            "00000000-0000-4000-8000-000000000001",
            "read",
            "last_name iin",
            "Pension calculation",
            "Social code, art. 12",
            "APP-42",
        ],
    ]


def test_the_csv_file_applies_every_filter(log, auditor, clerk):
    client = client_for(auditor)
    for query, count in [
        ({}, 6),
        ({"iin": OTHER}, 1),
        ({"official": clerk.username}, 5),
        ({"register": "real_estate"}, 1),
        ({"purpose": "tax"}, 1),
        ({"date_from": "2026-03-15"}, 1),
        ({"official": "nobody"}, 0),
    ]:
        _response, rows = export(client, query)
        assert len(rows) == count + 1, query


def test_the_csv_file_stops_at_the_limit(log, auditor, monkeypatch):
    monkeypatch.setattr(selectors, "MAX_EXPORT_ROWS", 2)
    _response, rows = export(client_for(auditor))
    assert [row[0][:10] for row in rows[1:]] == ["2026-03-15", "2026-03-14"]


def test_text_a_spreadsheet_would_run_is_kept_as_text(registers, agency, auditor):
    access(agency, purpose='=HYPERLINK("http://evil")', legal_basis="+1", case_ref="@x")
    _response, rows = export(client_for(auditor))
    assert rows[1][10:] == ['\'=HYPERLINK("http://evil")', "'+1", "'@x"]
