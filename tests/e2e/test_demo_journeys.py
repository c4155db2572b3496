"""The five online services of the demo, walked end to end in the browser.

Each journey starts where a citizen would: the catalog search, the service's passport, the
application form step by step, the review, the submission, My applications and the
application's history. Where a person decides, the demo official of the agency signs in to the
back office, takes the case from the queue, reads the register facts and the history and
decides with a reason. Then the citizen reads the outcome, and the register change is checked
on the citizen's own records where the portal shows it, and through the ORM as well.

Automatic steps are the worker's: the tests run it as ``shanyraq worker`` would, with
``casework.services.work_once``. The demo data is loaded as ``make demo`` loads it (catalog,
accounts, registers with the demo citizens' households). Every page is checked with axe.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.utils import timezone, translation

pytestmark = pytest.mark.e2e

CERTIFICATE = "no-criminal-record"
RESIDENCE = "residence-registration"
BENEFIT = "childbirth-benefit"
SALE = "real-estate-rights-registration"
PROPRIETORSHIP = "sole-proprietor-registration"

PHONE = "+77011234567"
IBAN = "KZ86125KZT5004100100"
NEW_HOME = {
    "region": "astana",
    "locality": "Астана",
    "street": "Кенесары көшесі",
    "building": "40",
    "flat": "57",
}


@dataclass(frozen=True)
class People:
    """The demo citizens and what the registers hold about them."""

    aigerim: str  # IIN; a daughter born 45 days before the demo was loaded
    daulet: str  # IIN; a son born in 2019 and a flat for sale
    daughter: str  # IIN of Aigerim's newborn
    son: str  # IIN of Daulet's son
    flat: str  # cadastral number of Daulet's flat
    today: datetime.date


@pytest.fixture
def people(demo: Any, demo_registers: Any) -> People:
    from shanyraq.portal.demo_registers import BASIS, FLAT_FOR_SALE
    from shanyraq.registries.models import RecordVersion

    aigerim = str(demo.accounts["citizen.aigerim"].iin)
    daulet = str(demo.accounts["citizen.daulet"].iin)
    children: dict[str, str] = {}
    for version in RecordVersion.objects.filter(record__register__code="population", basis=BASIS):
        for parent in version.data.get("parents") or []:
            children[parent["iin"]] = version.data["iin"]
    return People(
        aigerim=aigerim,
        daulet=daulet,
        daughter=children[aigerim],
        son=children[daulet],
        flat=FLAT_FOR_SALE,
        today=timezone.localdate(),
    )


# --- what the service declares, in a language -----------------------------------------------


def declared(code: str) -> Any:
    from shanyraq.catalog import selectors

    return selectors.service_passport(code)


def text(value: Mapping[str, str], lang: str) -> str:
    return value[lang]


def service_name(code: str, lang: str) -> str:
    return text(declared(code).name.to_dict(), lang)


def step_titles(code: str, lang: str) -> list[str]:
    return [text(step["title"], lang) for step in declared(code).form["ui"]["steps"]]


def step_label(code: str, step: str, lang: str) -> str:
    steps = {s["id"]: s for s in declared(code).process["steps"]}
    return text(steps[step]["label"], lang)


def condition_labels(code: str, lang: str) -> dict[str, str]:
    return {c["id"]: text(c["label"], lang) for c in declared(code).rules["conditions"]}


def field_label(code: str, field: str, lang: str) -> str:
    return text(declared(code).form["ui"]["labels"][field], lang)


def option_label(code: str, field: str, value: str, lang: str) -> str:
    return text(declared(code).form["ui"]["enum_labels"][field][value], lang)


def status_label(status: str, lang: str) -> str:
    from shanyraq.casework.models import Status

    with translation.override(lang):
        return str(Status(status).label)


# --- the citizen's side -------------------------------------------------------------------


@pytest.fixture(autouse=True)
def platform_pki(settings: Any, tmp_path: Path, demo: Any) -> Any:
    """The platform's PKI: citizens' signing keys are certified by it."""
    from shanyraq.documents import pki

    settings.PKI_DIR = tmp_path / "pki"
    settings.DOCUMENTS_ROOT = tmp_path / "documents"
    return pki.pki_init()


def sign_in(open_site: Any, demo: Any, username: str, lang: str) -> Any:
    """A demo citizen signed in, with a signing key made in this browser (some demo services
    need the applicant's signature), on their account page, in a tab that asks for ``lang``."""
    site = open_site(lang)
    site.sign_in_citizen(str(demo.accounts[username].iin), demo.password)
    assert site.path() == "/account/"
    site.goto("/account/signature/")
    with translation.override(lang):
        create = translation.gettext("Create a signing key in this browser")
    site.submit(site.page.get_by_role("button", name=create))
    assert site.page.locator(".govuk-notification-banner").count() == 1
    site.goto("/account/")
    assert site.lang() == lang
    return site


def open_in_catalog(site: Any, code: str, lang: str, catalog_search_words: Any) -> None:
    """Search the catalog by words of the service's name and open its passport."""
    words = catalog_search_words(declared(code).name.to_dict())[lang]
    site.goto(f"/search/?q={quote(words)}")
    assert code in site.service_codes(), f"{words!r} does not find {code}"
    site.submit(site.page.locator(f"main ul.shq-card-list a[href='/services/{code}/']"))
    assert site.path() == f"/services/{code}/"
    assert site.heading() == service_name(code, lang)


def answer(site: Any, answers: Mapping[str, str | bool]) -> None:
    """Answer questions of a step: a field's name (``group.part`` for a part of a group) and
    the text to type, the option to choose, or whether to tick the box."""
    form = site.page.locator("main form")
    for name, value in answers.items():
        box = form.locator(f"#field-{name.replace('.', '-')}")
        assert box.count() == 1, f"no input for {name}"
        tag = box.evaluate("element => element.tagName.toLowerCase()")
        if tag == "select":
            assert isinstance(value, str)
            box.select_option(value)
        elif box.get_attribute("type") == "checkbox":
            box.set_checked(bool(value))
        else:
            assert isinstance(value, str)
            box.fill(value)


def known_values(site: Any) -> dict[str, str]:
    """What the step shows as already known from the registers: label -> value and source."""
    rows = site.page.locator("main dl.govuk-summary-list .govuk-summary-list__row")
    return {
        " ".join(row.locator("dt").inner_text().split()): " ".join(
            row.locator("dd").inner_text().split()
        )
        for row in rows.all()
    }


def fill_in_the_form(
    site: Any,
    code: str,
    lang: str,
    tr: Any,
    steps: Sequence[Mapping[str, str | bool]],
    known: Mapping[int, Mapping[str, str]] | None = None,
) -> str:
    """From the passport: apply online, start, answer every step; stops on the review page
    and returns the application's number. ``known``: for a step, fields the registers filled
    in and the value the step shows for each, with its source (not asked)."""
    site.submit(site.page.get_by_role("button", name=tr(lang, "Apply online")))
    assert site.path() == f"/services/{code}/apply/"
    titles = step_titles(code, lang)
    listed = site.page.locator("main ol.govuk-list--number li").all_inner_texts()
    assert [" ".join(t.split()) for t in listed] == titles
    site.submit(site.page.get_by_role("button", name=tr(lang, "Start now")))
    number = site.application_number()
    assert len(steps) == len(titles)
    for index, answers in enumerate(steps):
        assert site.path() == f"/account/applications/{number}/step/{index}/"
        assert site.heading() == titles[index]
        shown = known_values(site)
        for name, value in ((known or {}).get(index) or {}).items():
            assert shown[field_label(code, name, lang)] == value, name
            assert site.page.locator(f"#field-{name}").count() == 0, f"{name} is asked"
        answer(site, answers)
        site.submit(site.page.get_by_role("button", name=tr(lang, "Save and continue")))
    assert site.path() == f"/account/applications/{number}/review/"
    assert site.heading() == tr(lang, "Check your answers before you submit")
    return number


def review_rows(site: Any) -> dict[str, str]:
    """The review page's answers: label -> value as shown (without the register's note)."""
    rows = site.page.locator("main dl.govuk-summary-list .govuk-summary-list__row")
    found = {}
    for row in rows.all():
        value = row.locator("dd.govuk-summary-list__value")
        source = value.locator("span.govuk-body-s")
        shown = value.inner_text()
        if source.count():
            shown = shown.removesuffix(source.inner_text())
        found[" ".join(row.locator("dt").inner_text().split())] = " ".join(shown.split())
    return found


def submit(site: Any, number: str, lang: str, tr: Any) -> None:
    site.submit(site.page.get_by_role("button", name=tr(lang, "Submit application")))
    assert site.path() == f"/account/applications/{number}/"
    banner = site.page.locator(".govuk-notification-banner")
    expected = tr(lang, "Application %(number)s was submitted.") % {"number": number}
    assert expected in banner.inner_text()


def status_on_page(site: Any) -> str:
    return site.page.locator("main dl.govuk-summary-list .govuk-tag").first.inner_text()


def history(site: Any) -> list[list[str]]:
    """The history table of the application's page: one list of cell texts per row."""
    rows = site.page.locator("main table tbody tr")
    return [
        [" ".join(c.split()) for c in row.locator("th, td").all_inner_texts()] for row in rows.all()
    ]


def checks(site: Any, lang: str, tr: Any) -> dict[str, str]:
    """What the page says was checked automatically: condition -> outcome."""
    heading = site.page.locator("main h3", has_text=tr(lang, "What was checked automatically"))
    if heading.count() == 0:
        return {}
    rows = heading.locator("xpath=following-sibling::dl[1]/div")
    return {
        " ".join(row.locator("dt").inner_text().split()): row.locator("dd").inner_text().strip()
        for row in rows.all()
    }


def follow_in_my_applications(
    site: Any, number: str, code: str, status: str, lang: str, tr: Any
) -> None:
    """From the page the tab is on (one with a link to My applications: the account page, an
    application's page) to My applications, and from there to the application's page."""
    link = site.page.get_by_role("link", name=tr(lang, "My applications"), exact=True)
    site.submit(link.first)
    assert site.path() == "/account/applications/"
    row = site.page.locator("main tbody tr", has_text=number)
    assert row.count() == 1
    assert row.locator("td").first.inner_text() == service_name(code, lang)
    assert row.locator(".govuk-tag").first.inner_text() == status_label(status, lang)
    site.submit(row.get_by_role("link", name=number))
    assert site.path() == f"/account/applications/{number}/"
    assert site.heading() == tr(lang, "Application %(number)s") % {"number": number}
    assert status_on_page(site) == status_label(status, lang)


def application(number: str) -> Any:
    from shanyraq.casework.models import Application

    return Application.objects.get(number=number)


def run_the_worker() -> int:
    from shanyraq.casework import services

    return services.work_once()


# --- the official's side ------------------------------------------------------------------


def full_name(username: str) -> str:
    from shanyraq.accounts.models import User

    return str(User.objects.get(username=username).get_full_name())


def take_the_case(open_site: Any, demo: Any, username: str, number: str, lang: str, tr: Any) -> Any:
    """The official signs in, finds the case in the queue and takes it: the case's page."""
    account = demo.accounts[username]
    site = open_site(lang)
    site.sign_in_staff(account.username, demo.password, account.totp_secret)
    assert site.path() == "/backoffice/"
    site.submit(site.page.locator("main a[href='/backoffice/cases/']"))
    assert site.heading() == tr(lang, "Cases to work on")
    row = site.page.locator("main table tbody tr", has_text=number)
    assert row.count() == 1
    take = tr(lang, "Take") + " " + tr(lang, "case %(number)s") % {"number": number}
    site.submit(row.get_by_role("button", name=take))
    assert site.path() == f"/backoffice/cases/{number}/"
    assert site.heading() == tr(lang, "Application %(number)s") % {"number": number}
    taken = tr(lang, "You have taken this case. It is in your queue.")
    assert site.page.get_by_text(taken).count() == 1
    return site


def fact_rows(site: Any, block: str) -> dict[str, str]:
    """A block of the case's register facts ("The applicant", "Property"): label -> value."""
    heading = site.page.locator("main h3", has_text=block)
    assert heading.count() == 1, f"no register facts about {block}"
    rows = heading.locator("xpath=following-sibling::dl[1]/div")
    return {
        " ".join(row.locator("xpath=./dt").inner_text().split()): " ".join(
            row.locator("xpath=./dd").inner_text().split()
        )
        for row in rows.all()
    }


def case_timeline(site: Any) -> list[list[str]]:
    table = site.page.locator("main table").last
    return [
        [" ".join(c.split()) for c in row.locator("td").all_inner_texts()]
        for row in table.locator("tbody tr").all()
    ]


def decide(site: Any, action: str, reason: str, lang: str, tr: Any) -> None:
    """Approve or reject the case with a reason the applicant will read."""
    label = tr(lang, "Approve" if action == "approve" else "Reject")
    site.page.locator("summary", has_text=label).click()
    site.page.locator(f"#note-{action}").fill(reason)
    site.submit(site.page.locator(f"form:has(#note-{action}) button[type=submit]"))
    done = (
        "The application was approved." if action == "approve" else "The application was rejected."
    )
    assert site.page.get_by_text(tr(lang, done)).count() == 1
    assert site.page.get_by_text(tr(lang, "The case is closed.")).count() == 1
    decision = site.page.locator(
        "main dl.govuk-summary-list > div",
        has=site.page.locator("dt", has_text=tr(lang, "Decision")),
    )
    assert reason in decision.inner_text()


# --- the registers ------------------------------------------------------------------------


def current(register: str, key: str) -> tuple[int, dict[str, Any]]:
    """A record's current version number and data."""
    from shanyraq.registries.models import Record, RecordVersion

    record = Record.objects.get(register__code=register, key=key)
    return record.version, dict(
        RecordVersion.objects.get(record=record, number=record.version).data
    )


def register_label(register: str, field: str, lang: str) -> str:
    """A register field's title in ``lang``, as the register's schema gives it."""
    from shanyraq.registries import selectors

    with translation.override(lang):
        return selectors.register_labels([register])[register].label(field)


def open_extract(site: Any, register: str, key: str, lang: str, tr: Any) -> None:
    """From My records to the extract of one record."""
    site.goto("/account/records/")
    assert site.heading() == tr(lang, "My records")
    link = site.page.locator(f"main a[href='/account/records/{register}/{key}/']")
    assert link.count() == 1, f"{key} is not among the records of this person"
    assert link.inner_text() == tr(lang, "Extract for %(key)s") % {"key": key}
    site.submit(link)
    assert site.heading() == tr(lang, "Register extract for %(key)s") % {"key": key}


def extract_field(site: Any, label: str) -> str:
    """The text of one top-level field of the extract's current version."""
    row = site.page.locator(
        "main dl.govuk-summary-list > .govuk-summary-list__row",
        has=site.page.locator(f"xpath=./dt[normalize-space()='{label}']"),
    )
    assert row.count() == 1, f"no field {label!r} on the extract"
    return " ".join(row.locator("xpath=./dd").inner_text().split())


def record_history(site: Any) -> list[list[str]]:
    table = site.page.locator("main table", has=site.page.locator("caption"))
    return [
        [" ".join(c.split()) for c in row.locator("th, td").all_inner_texts()]
        for row in table.locator("tbody tr").all()
    ]


# --- 1. certificate of no criminal record: decided automatically ---------------------------


def test_a_certificate_of_no_criminal_record_is_issued_automatically(
    open_site: Any, demo: Any, people: People, tr: Any, catalog_search_words: Any
) -> None:
    lang = "ru"
    site = sign_in(open_site, demo, "citizen.aigerim", lang)
    open_in_catalog(site, CERTIFICATE, lang, catalog_search_words)

    # What the population register knows is shown with its source, not asked.
    source = tr(lang, "From the population register")
    number = fill_in_the_form(
        site,
        CERTIFICATE,
        lang,
        tr,
        [{}, {"purpose": "employment", "certificate_language": "kk"}],
        known={
            0: {
                "applicant_iin": f"{people.aigerim} {source}",
                "applicant_last_name": f"Нұрланова {source}",
                "applicant_first_name": f"Айгерім {source}",
                "applicant_middle_name": f"Серікқызы {source}",
                "applicant_birth_date": f"15.03.1990 {source}",
            }
        },
    )

    review = review_rows(site)
    assert review[field_label(CERTIFICATE, "purpose", lang)] == option_label(
        CERTIFICATE, "purpose", "employment", lang
    )
    assert review[field_label(CERTIFICATE, "certificate_language", lang)] == option_label(
        CERTIFICATE, "certificate_language", "kk", lang
    )
    submit(site, number, lang, tr)
    assert status_on_page(site) == status_label("active", lang)
    checking = step_label(CERTIFICATE, "records_check", lang)
    assert history(site)[-1][1] == (
        f"{tr(lang, 'Application submitted')} " + tr(lang, "Now at: %(step)s") % {"step": checking}
    )

    # The worker decides; the applicant reads the outcome and what was checked.
    assert run_the_worker() == 1
    follow_in_my_applications(site, number, CERTIFICATE, "approved", lang, tr)
    panel = site.page.locator("main .govuk-panel--confirmation")
    assert panel.inner_text().strip() == tr(lang, "Your application was approved")
    labels = condition_labels(CERTIFICATE, lang)
    assert checks(site, lang, tr) == {label: tr(lang, "Met") for label in labels.values()}
    rows = history(site)
    assert rows[-1][1] == tr(lang, "Approved")
    assert rows[-1][2] == tr(lang, "Automatic processing")
    assert rows[-1][3] == status_label("approved", lang)

    decided = application(number)
    assert decided.status == "approved"
    assert decided.decision_trace["outcome"] == "approve"
    assert not decided.events.filter(actor_kind="official").exists()
    assert len(rows) == decided.events.count() == 3


# --- 2. registration at a new address: a clerk decides, the population register changes -----


def test_registration_at_a_new_address_is_decided_by_a_clerk_and_changes_the_register(
    open_site: Any,
    demo: Any,
    people: People,
    tr: Any,
    catalog_search_words: Any,
) -> None:
    from shanyraq.catalog.models import Agency

    lang = "kk"
    site = sign_in(open_site, demo, "citizen.aigerim", lang)
    open_in_catalog(site, RESIDENCE, lang, catalog_search_words)
    number = fill_in_the_form(
        site,
        RESIDENCE,
        lang,
        tr,
        [
            {"applicant_phone": PHONE},
            {
                # The region is chosen from a list (its value is the register's code).
                **{f"new_address.{part}": value for part, value in NEW_HOME.items()},
                "cadastral_number": people.flat,
                "move_in_date": people.today.isoformat(),
            },
            {"residence_basis": "owner-consent", "owner_iin": people.daulet},
        ],
    )
    review = review_rows(site)
    assert review[field_label(RESIDENCE, "applicant_phone", lang)] == PHONE
    # The parts in the order the form declares, the region by its name.
    address = review[field_label(RESIDENCE, "new_address", lang)]
    region = option_label(RESIDENCE, "new_address.region", "astana", lang)
    assert address.split(", ") == [region, *list(NEW_HOME.values())[1:]]
    assert review[field_label(RESIDENCE, "move_in_date", lang)] == people.today.strftime("%d.%m.%Y")
    assert review[field_label(RESIDENCE, "residence_basis", lang)] == option_label(
        RESIDENCE, "residence_basis", "owner-consent", lang
    )
    submit(site, number, lang, tr)
    registration = step_label(RESIDENCE, "registration", lang)
    assert history(site)[-1][1] == (
        f"{tr(lang, 'Application submitted')} "
        + tr(lang, "Now at: %(step)s") % {"step": registration}
    )
    # Nothing is automatic here: the case waits for a clerk of the Migration Service.
    assert run_the_worker() == 0
    version_before, before = current("population", people.aigerim)
    assert before["registered_address"]["street"] == "Сығанақ көшесі"

    clerk_lang = "en"
    clerk = take_the_case(open_site, demo, "clerk.migration", number, clerk_lang, tr)
    # The register facts: where she is registered now.
    applicant = fact_rows(clerk, tr(clerk_lang, "The applicant"))
    assert applicant[register_label("population", "iin", clerk_lang)] == people.aigerim
    home = applicant[register_label("population", "registered_address", clerk_lang)]
    assert "Сығанақ көшесі" in home and "Кенесары көшесі" not in home
    timeline = case_timeline(clerk)
    assert timeline[-1][1:] == [
        tr(clerk_lang, "Taken by an official"),
        f"{tr(clerk_lang, 'Official')}: {full_name('clerk.migration')}",
    ]
    reason = "The owner of the flat consented; the address exists in the address register."
    decide(clerk, "approve", reason, clerk_lang, tr)

    # The citizen reads the decision and its reason ...
    follow_in_my_applications(site, number, RESIDENCE, "approved", lang, tr)
    main = site.page.locator("main")
    assert main.get_by_text(tr(lang, "Reason for the decision")).count() == 1
    assert main.get_by_text(reason).count() == 2  # under the decision and in the history
    rows = history(site)
    assert [row[1] for row in rows[-2:]] == [
        tr(lang, "Taken up by an official"),
        f"{tr(lang, 'Approved')} {reason}",
    ]
    assert rows[-1][2] == tr(lang, "An official")

    # ... and the new address in the population register, on the extract of their record.
    assert current("population", people.aigerim) == (
        version_before + 1,
        {**before, "registered_address": NEW_HOME, "registered_since": people.today.isoformat()},
    )
    open_extract(site, "population", people.aigerim, lang, tr)
    address = extract_field(site, register_label("population", "registered_address", lang))
    for value in ("Кенесары көшесі", "40", "57"):
        assert value in address
    assert "Сығанақ көшесі" not in address
    newest = record_history(site)[0]
    agency = Agency.objects.get(code="mvd-migration")
    assert newest[0] == str(version_before + 1)
    assert newest[3] == agency.name.get(lang)
    assert newest[4] == f"application {number}"


# --- 3. childbirth benefit: rules over the population register decide ---------------------


def apply_for_the_benefit(
    site: Any, child: str, role: str, lang: str, tr: Any, catalog_search_words: Any
) -> str:
    open_in_catalog(site, BENEFIT, lang, catalog_search_words)
    number = fill_in_the_form(
        site,
        BENEFIT,
        lang,
        tr,
        [
            {"applicant_phone": PHONE, "recipient_role": role},
            # The child's IIN is on the birth certificate; the register is checked against it.
            {"child_iin": child, "birth_order": "1", "multiple_birth": False},
            {"bank_iban": IBAN},
        ],
    )
    review = review_rows(site)
    assert review[field_label(BENEFIT, "recipient_role", lang)] == option_label(
        BENEFIT, "recipient_role", role, lang
    )
    assert review[field_label(BENEFIT, "child_iin", lang)] == child
    assert review[field_label(BENEFIT, "multiple_birth", lang)] == tr(lang, "No")
    assert review[field_label(BENEFIT, "bank_iban", lang)] == IBAN
    submit(site, number, lang, tr)
    eligibility = step_label(BENEFIT, "eligibility", lang)
    assert history(site)[-1][1] == (
        f"{tr(lang, 'Application submitted')} "
        + tr(lang, "Now at: %(step)s") % {"step": eligibility}
    )
    assert run_the_worker() == 1
    return number


def test_the_childbirth_benefit_is_granted_automatically_for_a_newborn(
    open_site: Any, demo: Any, people: People, tr: Any, catalog_search_words: Any
) -> None:
    lang = "en"
    site = sign_in(open_site, demo, "citizen.aigerim", lang)
    number = apply_for_the_benefit(site, people.daughter, "mother", lang, tr, catalog_search_words)

    follow_in_my_applications(site, number, BENEFIT, "approved", lang, tr)
    assert site.page.locator("main .govuk-panel--confirmation").inner_text().strip() == tr(
        lang, "Your application was approved"
    )
    labels = condition_labels(BENEFIT, lang)
    assert checks(site, lang, tr) == {label: tr(lang, "Met") for label in labels.values()}
    assert site.page.get_by_text(tr(lang, "Reason for the decision")).count() == 0
    rows = history(site)
    assert rows[-1][1:] == [
        tr(lang, "Approved"),
        tr(lang, "Automatic processing"),
        status_label("approved", lang),
    ]

    decided = application(number)
    assert decided.status == "approved"
    conditions = {c["id"]: c for c in decided.decision_trace["conditions"]}
    assert (
        conditions["born_within_12_months"]["facts_used"]["child.birth_date"]
        == (people.today - datetime.timedelta(days=45)).isoformat()
    )
    assert not decided.events.filter(actor_kind="official").exists()


def test_the_childbirth_benefit_is_refused_automatically_with_the_reasons(
    open_site: Any, demo: Any, people: People, tr: Any, catalog_search_words: Any
) -> None:
    from shanyraq.notifications.models import Notification

    lang = "ru"
    site = sign_in(open_site, demo, "citizen.daulet", lang)
    # Daulet's son was born in 2019: not a newborn.
    number = apply_for_the_benefit(site, people.son, "father", lang, tr, catalog_search_words)

    follow_in_my_applications(site, number, BENEFIT, "rejected", lang, tr)
    main = site.page.locator("main")
    assert main.get_by_text(tr(lang, "Your application was rejected."), exact=True).count() == 1
    labels = condition_labels(BENEFIT, lang)
    assert checks(site, lang, tr) == {
        labels["applicant_is_parent"]: tr(lang, "Met"),
        labels["born_within_12_months"]: tr(lang, "Not met"),
        labels["child_alive"]: tr(lang, "Met"),
    }
    rows = history(site)
    assert rows[-1][1:] == [
        tr(lang, "Rejected"),
        tr(lang, "Automatic processing"),
        status_label("rejected", lang),
    ]

    # The message about the decision names the condition that was not met.
    message = Notification.objects.filter(
        recipient__iin=people.daulet, template="application.decided.rejected"
    ).get()
    site.goto("/account/messages/")
    site.submit(main.get_by_role("link", name=message.subject.get(lang)))
    assert site.heading() == message.subject.get(lang)
    body = main.inner_text()
    assert labels["born_within_12_months"] in body
    assert labels["applicant_is_parent"] not in body
    assert number in body

    decided = application(number)
    assert (decided.status, decided.decision_trace["outcome"]) == ("rejected", "reject")


# --- 4. a property sale: the buyer confirms, a registrar approves, the owners change --------


def test_a_property_sale_is_confirmed_by_the_buyer_and_registered_by_a_registrar(
    open_site: Any,
    demo: Any,
    people: People,
    tr: Any,
    catalog_search_words: Any,
) -> None:
    from shanyraq.catalog.models import Agency

    lang = "en"
    seller = sign_in(open_site, demo, "citizen.daulet", lang)
    open_in_catalog(seller, SALE, lang, catalog_search_words)
    contract = {
        "iin": people.aigerim,
        "share": "1/1",
        "acquisition_basis": "purchase",
        "acquired_on": people.today.isoformat(),
        "document": "3-2045",
    }
    number = fill_in_the_form(
        seller,
        SALE,
        lang,
        tr,
        [
            {"applicant_phone": PHONE},
            {"cadastral_number": people.flat},
            # The contract's enumerated parts are chosen from lists, its date in a date box.
            {"buyer_iin": people.aigerim, **{f"new_owner.{k}": v for k, v in contract.items()}},
        ],
    )
    review = review_rows(seller)
    assert review[field_label(SALE, "cadastral_number", lang)] == people.flat
    assert review[field_label(SALE, "buyer_iin", lang)] == people.aigerim
    submit(seller, number, lang, tr)
    assert status_on_page(seller) == status_label("awaiting_parties", lang)
    waiting = tr(
        lang,
        "The other party named in your application has been asked to confirm it. The agency "
        "starts processing it when they do.",
    )
    assert seller.page.get_by_text(waiting).count() == 1
    assert run_the_worker() == 0  # nothing starts before the buyer confirms

    # The buyer finds the application among those waiting for her, reads it and confirms.
    buyer_lang = "kk"
    buyer = sign_in(open_site, demo, "citizen.aigerim", buyer_lang)
    buyer.submit(
        buyer.page.locator("main").get_by_role("link", name=tr(buyer_lang, "My applications"))
    )
    awaiting = buyer.page.locator(
        "main table", has_text=tr(buyer_lang, "Waiting for your confirmation")
    )
    row = awaiting.locator("tbody tr", has_text=number)
    assert row.count() == 1
    assert row.locator("td").nth(0).inner_text() == service_name(SALE, buyer_lang)
    daulet = demo.accounts["citizen.daulet"]
    assert row.locator("td").nth(1).inner_text() == (
        f"{daulet.last_name} {daulet.first_name} {daulet.middle_name}"
    )
    buyer.submit(row.get_by_role("link", name=number))
    assert (
        buyer.page.get_by_role(
            "heading", name=tr(buyer_lang, "Your confirmation is needed")
        ).count()
        == 1
    )
    shown = buyer.page.locator("main").inner_text()
    assert people.flat in shown and "3-2045" in shown
    buyer.submit(buyer.page.get_by_role("button", name=tr(buyer_lang, "Confirm"), exact=True))
    confirmed = tr(buyer_lang, "You confirmed application %(number)s.") % {"number": number}
    assert buyer.page.get_by_text(confirmed).count() == 1
    assert (
        buyer.page.get_by_text(
            tr(buyer_lang, "Your answer has been recorded. Nothing more is needed from you.")
        ).count()
        == 1
    )
    assert application(number).status == "active"

    # The title check passes the case to the registrar.
    assert run_the_worker() == 1
    assert (application(number).status, application(number).step) == ("active", "registration")
    follow_in_my_applications(seller, number, SALE, "active", lang, tr)
    whats = [row[1] for row in history(seller)]
    assert tr(lang, "The other party confirmed") in whats
    registrars = step_label(SALE, "registration", lang)
    assert whats[-1].endswith(tr(lang, "Now at: %(step)s") % {"step": registrars})

    version_before, before = current("real_estate", people.flat)
    assert [owner["iin"] for owner in before["owners"]] == [people.daulet]
    registrar_lang = "ru"
    registrar = take_the_case(open_site, demo, "registrar.gov4c", number, registrar_lang, tr)
    # The register facts: the flat as the rules read it, Daulet its only owner. (The block is
    # titled by the process's name for the fact, in English whatever the page's language.)
    flat = fact_rows(registrar, "Property")
    assert flat[register_label("real_estate", "cadastral_number", registrar_lang)] == people.flat
    owners = flat[register_label("real_estate", "owners", registrar_lang)]
    assert people.daulet in owners and people.aigerim not in owners
    seller_facts = fact_rows(registrar, tr(registrar_lang, "The applicant"))
    assert seller_facts[register_label("population", "iin", registrar_lang)] == people.daulet
    rules = registrar.page.locator(
        "main table", has_text=tr(registrar_lang, "Conditions of the decision rules")
    )
    labels = condition_labels(SALE, registrar_lang)
    for label in labels.values():
        condition = rules.locator("tbody tr", has_text=label)
        assert condition.locator(".govuk-tag").inner_text() == tr(registrar_lang, "Met")
    reason = "Договор купли-продажи удостоверен нотариусом, право продавца подтверждено."
    decide(registrar, "approve", reason, registrar_lang, tr)

    # The real-estate register names the buyer as the owner ...
    assert current("real_estate", people.flat) == (
        version_before + 1,
        {**before, "owners": [contract]},
    )
    # ... which the buyer sees among her records, and the seller no longer does.
    open_extract(buyer, "real_estate", people.flat, buyer_lang, tr)
    owners = extract_field(buyer, register_label("real_estate", "owners", buyer_lang))
    assert people.aigerim in owners and people.daulet not in owners
    newest = record_history(buyer)[0]
    assert newest[0] == str(version_before + 1)
    assert newest[3] == Agency.objects.get(code="gov4c").name.get(buyer_lang)
    follow_in_my_applications(seller, number, SALE, "approved", lang, tr)
    assert seller.page.locator("main").get_by_text(reason).count() == 2
    seller.goto("/account/records/")
    flat_link = f"main a[href='/account/records/real_estate/{people.flat}/']"
    assert seller.page.locator(flat_link).count() == 0
    assert (
        seller.page.locator(f"main a[href='/account/records/population/{people.daulet}/']").count()
        == 1
    )


# --- 5. a sole proprietorship: checked automatically, registered by a clerk -----------------


def test_a_sole_proprietorship_is_registered_by_a_clerk_and_enters_the_business_register(
    open_site: Any,
    demo: Any,
    people: People,
    tr: Any,
    catalog_search_words: Any,
) -> None:
    from shanyraq.catalog.models import Agency
    from shanyraq.registries.models import Record

    lang = "kk"
    site = sign_in(open_site, demo, "citizen.daulet", lang)
    open_in_catalog(site, PROPRIETORSHIP, lang, catalog_search_words)
    businesses = set(Record.objects.filter(register__code="business").values_list("key", flat=True))
    source = tr(lang, "From the population register")
    number = fill_in_the_form(
        site,
        PROPRIETORSHIP,
        lang,
        tr,
        [
            {"applicant_phone": PHONE},
            {
                "business_type": "personal",
                "trade_name.kk": "ЖК «Дәулет»",
                "trade_name.ru": "ИП «Даулет»",
                "activity_code": "47.19.1",
                "business_address": "Астана, Кенесары көшесі, 40",
                "proprietor.iin": people.daulet,
                "proprietor.since": people.today.isoformat(),
            },
            {"tax_regime": "simplified-declaration", "vat_payer": False},
        ],
        # His registered address comes from the population register, as one line.
        known={
            0: {
                "applicant_iin": f"{people.daulet} {source}",
                "applicant_address": f"astana, Астана, Бауыржан Момышұлы даңғылы, 12, 34 {source}",
            }
        },
    )
    review = review_rows(site)
    assert review[field_label(PROPRIETORSHIP, "business_type", lang)] == option_label(
        PROPRIETORSHIP, "business_type", "personal", lang
    )
    assert review[field_label(PROPRIETORSHIP, "tax_regime", lang)] == option_label(
        PROPRIETORSHIP, "tax_regime", "simplified-declaration", lang
    )
    assert review[field_label(PROPRIETORSHIP, "vat_payer", lang)] == tr(lang, "No")
    submit(site, number, lang, tr)
    assert run_the_worker() == 1  # the applicant check passes the case to a clerk
    assert (application(number).status, application(number).step) == ("active", "registration")

    clerk_lang = "en"
    clerk = take_the_case(open_site, demo, "clerk.kgd", number, clerk_lang, tr)
    applicant = fact_rows(clerk, tr(clerk_lang, "The applicant"))
    assert applicant[register_label("population", "iin", clerk_lang)] == people.daulet
    home = applicant[register_label("population", "registered_address", clerk_lang)]
    assert "Бауыржан Момышұлы даңғылы" in home
    rules = clerk.page.locator(
        "main table", has_text=tr(clerk_lang, "Conditions of the decision rules")
    )
    for label in condition_labels(PROPRIETORSHIP, clerk_lang).values():
        row = rules.locator("tbody tr", has_text=label)
        assert row.locator(".govuk-tag").inner_text() == tr(clerk_lang, "Met")
    reason = "The applicant is an adult with a registered address; the activity code is valid."
    decide(clerk, "approve", reason, clerk_lang, tr)

    # A new business with a BIN of its own, at the proprietor's registered address.
    (bin_,) = (
        set(Record.objects.filter(register__code="business").values_list("key", flat=True))
        - businesses
    )
    assert current("business", bin_) == (
        1,
        {
            "bin": bin_,
            "name": {"kk": "ЖК «Дәулет»", "ru": "ИП «Даулет»"},
            "legal_form": "sole_proprietor",
            "registration_date": people.today.isoformat(),
            "address": {
                "region": "astana",
                "locality": "Астана",
                "street": "Бауыржан Момышұлы даңғылы",
                "building": "12",
                "flat": "34",
            },
            "activity_codes": ["47.19.1"],
            "directors": [{"iin": people.daulet, "since": people.today.isoformat()}],
            "status": "active",
        },
    )

    follow_in_my_applications(site, number, PROPRIETORSHIP, "approved", lang, tr)
    assert site.page.locator("main").get_by_text(reason).count() == 2
    open_extract(site, "business", bin_, lang, tr)
    assert extract_field(site, register_label("business", "bin", lang)) == bin_
    assert extract_field(site, register_label("business", "name", lang)) == "ЖК «Дәулет»"
    directors = extract_field(site, register_label("business", "directors", lang))
    assert people.daulet in directors
    newest = record_history(site)[0]
    assert newest[0] == "1"
    assert newest[3] == Agency.objects.get(code="kgd").name.get(lang)


# --- application bugs, each shown on its own --------------------------------------------------


def apply_through_services(iin: str, code: str, answers: Mapping[str, Any]) -> Any:
    """A submitted application, made as the portal makes it (the registers give the rest)."""
    from shanyraq.accounts.models import User
    from shanyraq.casework import services

    citizen = User.objects.get(iin=iin)
    draft = services.application_start(applicant=citizen, service_code=code)
    draft = services.application_save(application=draft, applicant=citizen, values=answers)
    from shanyraq.testing.esign import signature_for

    return services.application_submit(
        application=draft, applicant=citizen, signature=signature_for(citizen, draft)
    )


RESIDENCE_ANSWERS = {
    "applicant_phone": PHONE,
    "new_address": NEW_HOME,
    "move_in_date": "2026-01-05",
    "residence_basis": "lease",
}


def test_an_official_opens_a_case_whose_applicant_is_in_the_registers(
    open_site: Any, demo: Any, people: People, tr: Any
) -> None:
    submitted = apply_through_services(people.aigerim, RESIDENCE, RESIDENCE_ANSWERS)
    account = demo.accounts["clerk.migration"]
    site = open_site("en")
    site.sign_in_staff(account.username, demo.password, account.totp_secret)
    site.goto(f"/backoffice/cases/{submitted.number}/")
    applicant = fact_rows(site, tr("en", "The applicant"))
    assert applicant[register_label("population", "iin", "en")] == people.aigerim


def at_the_address_step(open_site: Any, demo: Any, people: People) -> tuple[Any, Any]:
    """Aigerim's residence registration with its first step answered, open at the address."""
    from shanyraq.accounts.models import User
    from shanyraq.casework import services

    citizen = User.objects.get(iin=people.aigerim)
    draft = services.application_start(applicant=citizen, service_code=RESIDENCE)
    services.application_save(
        application=draft, applicant=citizen, values={"applicant_phone": PHONE}, step=0
    )
    site = sign_in(open_site, demo, "citizen.aigerim", "en")
    site.goto(f"/account/applications/{draft.number}/step/1/")
    return site, draft


def test_a_groups_enumerated_part_is_offered_as_a_list_of_labelled_options(
    open_site: Any, demo: Any, people: People, tr: Any
) -> None:
    site, _draft = at_the_address_step(open_site, demo, people)
    region = site.page.locator("#field-new_address-region")
    assert region.evaluate("element => element.tagName.toLowerCase()") == "select"
    assert region.locator("option[value='astana']").inner_text() == option_label(
        RESIDENCE, "new_address.region", "astana", "en"
    )


def test_an_automatic_check_that_passes_the_case_on_is_not_told_as_an_approval(
    open_site: Any, demo: Any, people: People, tr: Any
) -> None:
    submitted = apply_through_services(
        people.daulet,
        PROPRIETORSHIP,
        {
            "applicant_phone": PHONE,
            "business_type": "personal",
            "trade_name": {"kk": "ЖК «Дәулет»", "ru": "ИП «Даулет»"},
            "activity_code": "47.19.1",
            "business_address": "Астана, Кенесары көшесі, 40",
            "proprietor": {"iin": people.daulet, "since": people.today.isoformat()},
            "tax_regime": "general",
            "vat_payer": False,
        },
    )
    assert run_the_worker() == 1
    assert (application(submitted.number).status, application(submitted.number).step) == (
        "active",
        "registration",
    )
    lang = "en"
    site = sign_in(open_site, demo, "citizen.daulet", lang)
    site.goto(f"/account/applications/{submitted.number}/")
    assert status_on_page(site) == status_label("active", lang)
    told = [row[1] for row in history(site)]
    assert not [what for what in told if what.startswith(tr(lang, "Approved"))], told


def test_a_groups_parts_are_asked_and_shown_in_the_order_the_form_declares(
    open_site: Any, demo: Any, people: People, tr: Any
) -> None:
    from shanyraq.casework import services

    site, draft = at_the_address_step(open_site, demo, people)
    citizen = draft.applicant
    parts = site.page.locator("main fieldset fieldset label").all_inner_texts()
    optional = tr("en", "optional")
    assert parts == [
        "Region",
        f"District (if any) ({optional})",
        "City, town or village",
        "Street",
        "Building",
        f"Flat (if any) ({optional})",
    ]
    services.application_save(
        application=draft,
        applicant=citizen,
        values={"new_address": NEW_HOME, "move_in_date": "2026-01-05"},
        step=1,
    )
    services.application_save(
        application=draft, applicant=citizen, values={"residence_basis": "lease"}, step=2
    )
    site.goto(f"/account/applications/{draft.number}/review/")
    address = review_rows(site)[field_label(RESIDENCE, "new_address", "en")]
    region = option_label(RESIDENCE, "new_address.region", "astana", "en")
    assert address == f"{region}, Астана, Кенесары көшесі, 40, 57"
