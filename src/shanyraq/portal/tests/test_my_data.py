"""A person's own data in the portal: who accessed it, their records, extracts and proofs."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from shanyraq.access_log.models import AccessRecord
from shanyraq.access_log.tests import scenario
from shanyraq.accounts.models import Role
from shanyraq.conftest import client_for
from shanyraq.ledger.proof import verify_proof
from shanyraq.registries import commitments, selectors
from shanyraq.testing import factories

pytestmark = pytest.mark.django_db

READ = {"purpose": "Pension calculation", "basis": "Social code, art. 12"}


def in_language(client: Client, lang: str) -> Client:
    client.cookies["shanyraq_language"] = lang
    return client


@pytest.fixture
def world(agency, other_agency, citizen):
    population, estate = scenario.define_registers()
    scenario.add_person(citizen.iin)
    scenario.add_property("01:001:001", [citizen.iin])
    scenario.grant(agency, population, Role.CLERK, ["iin", "last_name"])
    scenario.grant(other_agency, population, Role.CLERK, ["*"])
    return {"population": population, "estate": estate}


def official_reads(agency, iin, **extra):
    selectors.record_read(
        register="population",
        key=iin,
        actor=scenario.official(agency),
        agency=agency,
        **{**READ, **extra},
    )


PAGES = ["/account/data-usage/", "/account/records/", "/account/records/population/{iin}/"]


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_pages_render_in_each_language(world, citizen, path, lang):
    response = in_language(client_for(citizen), lang).get(path.format(iin=citizen.iin))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<html lang="{lang}"' in html
    assert 'href="#main-content"' in html
    assert "Cache-Control" in response and "no-cache" in response["Cache-Control"]


def test_signed_in_people_find_their_data_in_the_menu(world, citizen):
    html = in_language(client_for(citizen), "en").get("/").content.decode()
    assert '<a class="govuk-link" href="/account/records/">My data</a>' in html
    assert 'href="/account/records/"' not in Client().get("/").content.decode()


@pytest.mark.parametrize("path", [*PAGES, "/account/records/population/{iin}/versions/1/proof/"])
def test_anonymous_visitors_are_sent_to_sign_in(world, citizen, path):
    response = Client().get(path.format(iin=citizen.iin))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("path", [*PAGES, "/account/records/population/{iin}/versions/1/proof/"])
def test_staff_without_an_iin_have_no_such_pages(world, citizen, clerk, path):
    assert client_for(clerk).get(path.format(iin=citizen.iin)).status_code == 403


def test_data_usage_lists_exactly_the_persons_accesses(world, agency, other_agency, citizen):
    someone = factories.UserFactory()
    scenario.add_person(someone.iin, last_name="Жақсылықов")
    official_reads(agency, citizen.iin, case_ref="APP-42")
    official_reads(other_agency, someone.iin, purpose="Someone else's check")
    html = in_language(client_for(citizen), "ru").get("/account/data-usage/").content.decode()
    assert html.count('<tr class="govuk-table__row">') == 2  # header + one access
    assert "Agency justice рус" in html
    assert "Agency health" not in html
    assert "Someone else" not in html
    assert "Pension calculation" in html
    assert "Social code, art. 12" in html
    assert "APP-42" in html
    assert "Реестр населения" in html
    assert "Фамилия" in html  # the field's label in the reader's language
    assert "<caption" in html and 'scope="col"' in html and 'scope="row"' in html
    other = in_language(client_for(someone), "en").get("/account/data-usage/").content.decode()
    assert "Agency health eng" in other
    assert "Agency justice" not in other
    assert "Someone else&#x27;s check" in other


def test_data_usage_empty_state(world, citizen):
    html = in_language(client_for(citizen), "en").get("/account/data-usage/").content.decode()
    assert "No official or agency system has read your data yet." in html
    assert "<table" not in html


def test_data_usage_is_paged(world, agency, citizen):
    for _ in range(21):
        official_reads(agency, citizen.iin)
    client = in_language(client_for(citizen), "en")
    first = client.get("/account/data-usage/").content.decode()
    assert "21 accesses to your data, newest first" in first
    assert "?page=2" in first
    second = client.get("/account/data-usage/?page=2").content.decode()
    assert second.count('<tr class="govuk-table__row">') == 2
    assert client.get("/account/data-usage/?page=x").status_code == 200


def test_my_records_lists_the_records_about_the_person(world, citizen):
    someone = factories.UserFactory()
    scenario.add_property("01:001:002", [someone.iin])
    html = in_language(client_for(citizen), "en").get("/account/records/").content.decode()
    assert f'href="/account/records/population/{citizen.iin}/"' in html
    assert 'href="/account/records/real_estate/01:001:001/"' in html
    assert "01:001:002" not in html
    assert "Population register" in html
    empty = in_language(client_for(someone), "en").get("/account/records/").content.decode()
    assert "01:001:002" in empty
    nobody = in_language(client_for(factories.UserFactory()), "en").get("/account/records/")
    assert "There are no records about you in the registers yet." in nobody.content.decode()
    assert AccessRecord.objects.count() == 0


def test_extract_shows_the_record_its_history_and_how_to_verify(world, citizen):
    client = in_language(client_for(citizen), "en")
    html = client.get(f"/account/records/population/{citizen.iin}/").content.decode()
    assert "Сәрсенова" in html
    assert "Surname" in html  # labels from the schema
    key, value = "govuk-summary-list__key", "govuk-summary-list__value"
    assert f'<dt class="{key}">Locality</dt><dd class="{value}">Астана' in html  # nested, labelled
    assert f'<dt class="{key}">Street</dt><dd class="{value}">Қабанбай батыр' in html
    assert "History of this record" in html
    assert "Initial load" in html
    assert "How to verify this record" in html
    assert "shanyraq ledger check-proof" in html
    assert "has not published this version yet" in html  # nothing is published in this test
    html = client.get("/account/records/real_estate/01:001:001/").content.decode()
    assert "54.5" in html
    scenario.add_property("01:001:001/7", [citizen.iin])
    records = client.get("/account/records/").content.decode()
    assert 'href="/account/records/real_estate/01:001:001/7/"' in records
    html = client.get("/account/records/real_estate/01:001:001/7/").content.decode()
    assert "01:001:001/7" in html
    assert AccessRecord.objects.count() == 0


def test_values_are_shown_as_plain_text():
    from django.utils import translation

    from shanyraq.portal.my_data import _display

    with translation.override("ru"):
        assert _display({"kk": "«Алтын» АҚ", "ru": "АО «Алтын»", "en": "Altyn JSC"}) == "АО «Алтын»"
        assert _display([{"iin": "1", "share": "1/2"}, {"share": "1/2", "iin": "2"}]) == (
            "iin: 1, share: 1/2; iin: 2, share: 1/2"
        )
        assert _display(27000000000.0) == "27000000000"
        assert _display(54.5) == "54.5"
        assert _display(None) == "—"
        assert _display([]) == "—"


def test_extracts_of_other_peoples_records_are_refused(world, citizen):
    someone = factories.UserFactory()
    scenario.add_person(someone.iin)
    scenario.add_property("01:001:002", [someone.iin])
    client = client_for(citizen)
    for path in [
        f"/account/records/population/{someone.iin}/",
        "/account/records/real_estate/01:001:002/",
        "/account/records/real_estate/09:009:009/",
        f"/account/records/population/{someone.iin}/versions/1/proof/",
    ]:
        assert client.get(path).status_code == 403, path
    assert client.get("/account/records/nowhere/1/").status_code == 404
    assert AccessRecord.objects.count() == 0


def test_an_unpublished_version_has_no_proof_to_download(world, citizen):
    response = client_for(citizen).get(
        f"/account/records/population/{citizen.iin}/versions/1/proof/"
    )
    assert response.status_code == 409


@pytest.mark.django_db(transaction=True)
def test_the_proof_bundle_verifies_offline(settings, tmp_path):
    log = scenario.use_test_ledger(settings, tmp_path)
    scenario.define_registers()
    person = factories.UserFactory()
    scenario.add_person(person.iin)
    scenario.publish()
    client = in_language(client_for(person), "en")
    extract = client.get(f"/account/records/population/{person.iin}/").content.decode()
    url = f"/account/records/population/{person.iin}/versions/1/proof/"
    assert f'href="{url}"' in extract
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="population-v1-proof.zip"'
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == [
        "README.txt",
        "entry.json",
        "entry.tlog-proof",
        "record-version.json",
    ]
    version = json.loads(archive.read("record-version.json"))
    entry = archive.read("entry.json")
    proof = archive.read("entry.tlog-proof")
    assert version["data"] == scenario.person_data(person.iin)
    assert (version["version"], version["ledger"]["index"]) == (1, 0)
    # 1. The entry is in the log, as the signed checkpoint says.
    verify_proof(proof, entry, origin=log.origin, log_verifiers=[log.verifier()])
    # 2. The entry's commitment opens to the data with the salt.
    committed = json.loads(entry)["commitment"]
    assert commitments.commit(version["salt"], version["data"]) == committed
    # ... also with the README's few lines of Python and nothing but the standard library.
    for name in archive.namelist():
        (tmp_path / name).write_bytes(archive.read(name))
    readme = (tmp_path / "README.txt").read_text()
    assert log.origin in readme
    assert log.verifier_key() in readme
    lines = readme.splitlines()
    start = lines.index("   import base64, hashlib, json")
    script = "\n".join(line.strip() for line in lines[start : start + 6])
    checked = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert checked.stdout.strip() == "True"
    # 3. The command a person runs says the same, offline.
    out = io.StringIO()
    args = ["--origin", log.origin, "--key", log.verifier_key()]
    entry_file = str(tmp_path / "entry.json")
    call_command(
        "ledger",
        "check-proof",
        str(tmp_path / "entry.tlog-proof"),
        *args,
        "--entry",
        entry_file,
        stdout=out,
    )
    assert "OK: included" in out.getvalue()
    (tmp_path / "entry.json").write_bytes(entry.replace(b'"version":1', b'"version":2'))
    with pytest.raises(CommandError):
        call_command(
            "ledger",
            "check-proof",
            str(tmp_path / "entry.tlog-proof"),
            *args,
            "--entry",
            entry_file,
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    assert AccessRecord.objects.count() == 0
