"""Demo data: the catalog shipped with the platform and a set of demo accounts.

Loading is idempotent: running it again neither fails nor duplicates anything.

Besides people, one account is an agency's information system: the maternity hospital's
(``system.perinatal``), which registers births in the population register through the API
with a bearer token (``shanyraq token create --user system.perinatal``). It has no password
and no second factor: it cannot sign in to the back office.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from django.db import transaction

from shanyraq.accounts import services as account_services
from shanyraq.accounts.models import Role, User
from shanyraq.catalog import services as catalog_services
from shanyraq.catalog.models import Agency
from shanyraq.core.national_id import make_iin
from shanyraq.notifications import services as notification_services
from shanyraq.notifications.models import ContactPoint

DEMO_PASSWORD = "shanyraq-demo-2026"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    first_name: str
    last_name: str
    middle_name: str = ""
    iin: str | None = None
    agency: str | None = None
    role: Role | None = None
    auditor: bool = False
    superuser: bool = False
    totp_secret: str = ""
    phone: str = ""  # the number the person receives SMS messages on
    system: bool = False  # an agency's information system: bearer tokens only


DEMO_ACCOUNTS = [
    DemoAccount(
        username="citizen.aigerim",
        first_name="Айгерім",
        middle_name="Серікқызы",
        last_name="Нұрланова",
        iin=make_iin(datetime.date(1990, 3, 15), "F", serial=1234),
    ),
    DemoAccount(
        username="citizen.daulet",
        first_name="Дәулет",
        middle_name="Қайратұлы",
        last_name="Жұмабеков",
        iin=make_iin(datetime.date(1985, 11, 2), "M", serial=4321),
    ),
    # Aigerim's husband (demo_registers.SPOUSES): a birth in the family reaches them both.
    DemoAccount(
        username="citizen.arman",
        first_name="Арман",
        middle_name="Ерланұлы",
        last_name="Нұрланов",
        iin=make_iin(datetime.date(1988, 7, 21), "M", serial=2468),
        phone="+77015550123",
    ),
    DemoAccount(
        username="official.justice",
        first_name="Ержан",
        last_name="Сәрсенбаев",
        agency="minjust",
        role=Role.CLERK,
        totp_secret="JBSWY3DPEHPK3PXPSHANYRAQOFFICALA",
    ),
    DemoAccount(
        username="head.justice",
        first_name="Гүлнар",
        last_name="Оспанова",
        agency="minjust",
        role=Role.HEAD,
        totp_secret="JBSWY3DPEHPK3PXPSHANYRAQHEADUNTA",
    ),
    DemoAccount(
        username="admin.justice",
        first_name="Асхат",
        last_name="Бекмұханов",
        agency="minjust",
        role=Role.ADMIN,
        totp_secret="JBSWY3DPEHPK3PXPSHANYRAQADMINJUA",
    ),
    DemoAccount(
        username="admin.astana",
        first_name="Мадина",
        last_name="Әлиева",
        agency="akimat-astana",
        role=Role.ADMIN,
        totp_secret="JBSWY3DPEHPK3PXPSHANYRAQADMINASA",
    ),
    # Officials of the agencies whose demo services take applications online.
    DemoAccount(
        username="reviewer.prosecutor",
        first_name="Бауыржан",
        last_name="Қасымов",
        agency="gp-kpssu",
        role=Role.REVIEWER,
        totp_secret="JBSWY3DPEHPK3PXPSHANYRAQREVIEWGP",
    ),
    DemoAccount(
        username="clerk.migration",
        first_name="Сәуле",
        last_name="Ермекова",
        agency="mvd-migration",
        role=Role.CLERK,
        totp_secret="JBSWY3DPEHPK3PXPSHANYRAQCLERKMIG",
    ),
    DemoAccount(
        username="reviewer.enbek",
        first_name="Динара",
        last_name="Абдуллаева",
        agency="enbek",
        role=Role.REVIEWER,
        totp_secret="JBSWY3DPEHPK3PXPSHANYRAQREVENBEK",
    ),
    DemoAccount(
        username="registrar.gov4c",
        first_name="Талғат",
        last_name="Мұратов",
        agency="gov4c",
        role=Role.REVIEWER,
        totp_secret="JBSWY3DPEHPK3PXPSHANYRAQREGISTRA",
    ),
    DemoAccount(
        username="clerk.kgd",
        first_name="Ерболат",
        last_name="Жақыпов",
        agency="kgd",
        role=Role.CLERK,
        totp_secret="JBSWY3DPEHPK3PXPSHANYRAQCLERKKGD",
    ),
    DemoAccount(
        username="system.perinatal",
        first_name="Перинаталдық орталық",
        last_name="Ақпараттық жүйе",
        agency="minhealth",
        role=Role.CLERK,
        system=True,
    ),
    DemoAccount(
        username="auditor",
        first_name="Нұржан",
        last_name="Тоқтаров",
        auditor=True,
        totp_secret="JBSWY3DPEHPK3PXPSHANYRAQAUDITORA",
    ),
    DemoAccount(
        username="platform.admin",
        first_name="Platform",
        last_name="Administrator",
        superuser=True,
        totp_secret="JBSWY3DPEHPK3PXPSHANYRAQPLATFRMA",
    ),
]


def _load_json(name: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(
        resources.files("shanyraq.catalog").joinpath("demo", name).read_text(encoding="utf-8")
    )
    return data


@transaction.atomic
def demo_accounts_ensure() -> list[DemoAccount]:
    """Create the demo accounts that do not exist yet; leave existing ones alone."""
    for spec in DEMO_ACCOUNTS:
        user = User.objects.filter(username=spec.username).first()
        if user is None:
            user = User(
                username=spec.username,
                first_name=spec.first_name,
                last_name=spec.last_name,
                middle_name=spec.middle_name,
                iin=spec.iin,
                is_auditor=spec.auditor,
                is_superuser=spec.superuser,
                is_staff=spec.superuser,
                totp_secret=spec.totp_secret,
            )
            if spec.system:
                user.set_unusable_password()
            else:
                user.set_password(DEMO_PASSWORD)
            user.save()
        if spec.phone and not ContactPoint.objects.filter(user=user).exists():
            notification_services.contact_phone_set(user=user, phone=spec.phone)
        if spec.agency and spec.role:
            agency = Agency.objects.get(code=spec.agency)
            account_services.membership_create(user=user, agency_id=agency.pk, role=spec.role)
    return DEMO_ACCOUNTS


def demo_load(*, persons: int = 0) -> catalog_services.ImportReport:
    """The demo catalog and accounts; with ``persons``, also the registers and their people."""
    report = catalog_services.catalog_import(
        agencies=_load_json("agencies.json"),
        categories=_load_json("categories.json"),
        life_events=_load_json("life_events.json"),
        services=_load_json("services.json"),
    )
    demo_accounts_ensure()
    if persons:
        from .demo_registers import demo_registers_load

        demo_registers_load([a for a in DEMO_ACCOUNTS if a.iin], persons=persons)
    return report
