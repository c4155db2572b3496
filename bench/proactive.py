#!/usr/bin/env python3
"""Proactive services: births become offers, accepted offers become decisions and documents.

    .venv/bin/python bench/proactive.py [--quick] [--check] [--postgres URL]

On PostgreSQL, in a database of its own (created and dropped), with the production settings,
the demo catalog (whose five birth services declare ``PersonBorn``: birth certificate,
childbirth benefit, childcare allowance, kindergarten queue, the child's registration at the
parent's address) and the platform's PKI made for the run:

1. **Offers.** Couples are loaded into the population register, each parent with an account
   (no phone or email: their messages go to the inbox only, so the fake SMS gateway's file is
   not what is measured). ``births`` births (full: 100,000) are registered through the
   registers' birth registration (``births_register``, 1,000 per call: a new IIN, the record,
   its ledger entry and the ``PersonBorn`` event each), with no worker running. Then one
   ``shanyraq worker`` is started and the time until every birth's offers exist is measured:
   ``offers_per_s`` = offers made / that time (each birth: one offer to each parent, bundling
   the five services, each with its data-tracker record and inbox message).
2. **Event to offer.** With the worker running and idle, births are registered one at a time
   at a steady rate; for each, the time from its event's commit to its offers' commit (both
   read from the database: the event's and the offers' ``created_at``, each written in its
   transaction just before the commit): ``p95_event_to_offer_s`` (target < 5 s).
3. **Acceptance to decisions and documents.** Parents accept offers (``offer_accept``, as the
   portal and the API do), one every 4 s; for each, the time from the consent to the last of
   its applications decided and documents issued and signed (target p95 < 10 s). One
   acceptance is five applications decided and five documents, each signed in three
   languages: about 3 s of one worker's time, so one every 4 s is what one worker keeps up
   with.

``--quick`` is a smoke test of a minute or two (2,000 births), not a measurement. The last
line printed is one JSON object with every figure. Everything is bounded in time and count,
nothing leaves the machine, and the worker and the database are removed on the way out.
"""

from __future__ import annotations

import argparse
import datetime
import io
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
sys.path[:0] = [str(PROJECT_DIR / "src"), str(BENCH_DIR)]

import casework as casework_bench  # noqa: E402  (its worker helper)
import registries as register_bench  # noqa: E402  (its database and settings helpers)

BATCH = 1000
EVENT_TO_OFFER_TARGET_S = 5.0
ACCEPTANCE_TARGET_S = 10.0
BIRTH_SERVICES = (
    "birth-registration",
    "childbirth-benefit",
    "childcare-allowance",
    "kindergarten-queue",
    "newborn-residence-registration",
)


@dataclass(frozen=True)
class Mode:
    name: str
    couples: int
    births: int
    paced_births: int
    paced_rate: float  # births per second while the worker runs
    acceptances: int
    acceptance_rate: float


FULL = Mode("full", 25_000, 100_000, 300, 10.0, 40, 0.25)
QUICK = Mode("quick", 500, 2_000, 40, 10.0, 8, 0.25)


def say(text: str) -> None:
    print(text, flush=True)


def percentile(values: Sequence[float], q: float) -> float:
    return register_bench.percentile(values, q) if values else float("nan")


def _person(iin: str, sex: str, born: datetime.date, rng: random.Random) -> dict[str, Any]:
    return {
        "iin": iin,
        "last_name": rng.choice(["Ахметова", "Сейітова", "Омарова", "Иванова", "Ким"])
        if sex == "F"
        else rng.choice(["Ахметов", "Сейітов", "Омаров", "Иванов", "Ким"]),
        "first_name": rng.choice(["Айгерім", "Дана", "Әсел"])
        if sex == "F"
        else rng.choice(["Нұрлан", "Ерлан", "Дәурен"]),
        "birth_date": born.isoformat(),
        "sex": sex,
        "citizenship": "KAZ",
        "marital_status": "married",
        "registered_address": {
            "region": "almaty",
            "locality": "Алматы",
            "street": "Абай даңғылы",
            "building": str(rng.randint(1, 200)),
        },
    }


def set_up(mode: Mode) -> dict[str, Any]:
    """The demo catalog, the PKI, the couples (records and accounts) and the hospital."""
    from django.core.management import call_command

    from shanyraq.accounts.models import Membership, Role, User
    from shanyraq.catalog.models import Agency
    from shanyraq.core.national_id import make_iin
    from shanyraq.portal.demo import demo_load
    from shanyraq.portal.demo_registers import grants_ensure
    from shanyraq.registries import services as registers
    from shanyraq.registries.definitions import registers_define_all

    call_command("pki", "init", verbosity=0, stdout=io.StringIO())
    demo_load()
    registers_define_all()
    grants_ensure()
    rng = random.Random(2026)
    couples = []
    people: list[dict[str, Any]] = []
    for n in range(mode.couples):
        mother_born = datetime.date(1985 + n % 15, 1 + n % 12, 1 + n % 28)
        father_born = datetime.date(1983 + n % 15, 1 + (n + 5) % 12, 1 + (n + 7) % 28)
        mother = make_iin(mother_born, "F", serial=1000 + n % 8000)
        father = make_iin(father_born, "M", serial=1000 + n % 8000)
        couples.append((mother, father))
        people.append({**_person(mother, "F", mother_born, rng), "spouse_iin": father})
        people.append({**_person(father, "M", father_born, rng), "spouse_iin": mother})
    # Generated IINs can repeat: each person once, and only couples whose both IINs are theirs.
    counts: dict[str, int] = {}
    for record in people:
        counts[record["iin"]] = counts.get(record["iin"], 0) + 1
    unique = [r for r in people if counts[r["iin"]] == 1]
    couples = [(m, f) for m, f in couples if counts[m] == 1 and counts[f] == 1]
    for start in range(0, len(unique), 1000):
        registers.records_create_many(
            register="population",
            items=unique[start : start + 1000],
            actor=None,
            agency=None,
            basis="bench load",
        )
    User.objects.bulk_create(
        [User(username=f"bench-{r['iin']}", iin=r["iin"], is_active=True) for r in unique],
        batch_size=2000,
    )
    hospital_agency = Agency.objects.get(code="minhealth")
    hospital = User.objects.create(username="bench-hospital")
    Membership.objects.create(user=hospital, agency=hospital_agency, role=Role.CLERK)
    return {"couples": couples, "hospital": hospital, "agency": hospital_agency}


def _child(mother: str, father: str, born: datetime.date, n: int) -> dict[str, Any]:
    return {
        "last_name": "Ахметов",
        "first_name": "Әли" if n % 2 else "Айша",
        "birth_date": born.isoformat(),
        "sex": "M" if n % 2 else "F",
        "citizenship": "KAZ",
        "marital_status": "single",
        "birth_place": {"country": "KAZ", "locality": "Алматы"},
        "parents": [
            {"iin": mother, "relation": "mother"},
            {"iin": father, "relation": "father"},
        ],
    }


def register_births(setup: dict[str, Any], count: int, *, first: int = 0) -> float:
    """Register ``count`` births in batches; returns the births per second."""
    from shanyraq.registries import services as registers

    couples = setup["couples"]
    today = datetime.date.today()
    started = time.perf_counter()
    for start in range(first, first + count, BATCH):
        children = []
        for n in range(start, min(start + BATCH, first + count)):
            mother, father = couples[n % len(couples)]
            children.append(_child(mother, father, today - datetime.timedelta(days=n % 20), n))
        registers.births_register(
            children=children,
            actor=setup["hospital"],
            agency=setup["agency"],
            basis="bench: maternity hospital birth records",
        )
    return count / (time.perf_counter() - started)


def bench_offers(
    mode: Mode, setup: dict[str, Any], env: dict[str, str], var: Path
) -> dict[str, Any]:
    from shanyraq.events.models import Event
    from shanyraq.proactive.models import Offer

    say(f"   registering {mode.births:,} births (no worker running)")
    births_per_s = register_births(setup, mode.births)
    say(f"   {births_per_s:.0f} births/s through births_register")
    expected_events = Event.objects.filter(type="PersonBorn").count()
    allowed = 120 + mode.births / 20
    with casework_bench.worker(env, var / "worker.log"):
        started = time.monotonic()
        while Event.objects.filter(type="PersonBorn", dispatched_at__isnull=True).exists():
            if time.monotonic() - started > allowed:
                raise RuntimeError(f"one worker did not make the offers in {allowed:.0f} s")
            time.sleep(0.5)
        elapsed = time.monotonic() - started
        offers = Offer.objects.count()
        say(f"   {offers:,} offers for {expected_events:,} births in {elapsed:.1f} s")
        paced = bench_event_to_offer(mode, setup)
        accepted = bench_acceptance(mode, setup)
    return {
        "births": mode.births,
        "births_per_s": round(births_per_s, 1),
        "offers": offers,
        "offers_per_s": round(offers / elapsed, 1),
        **paced,
        **accepted,
    }


def bench_event_to_offer(mode: Mode, setup: dict[str, Any]) -> dict[str, Any]:
    from django.db.models import Min

    from shanyraq.events.models import Event
    from shanyraq.proactive.models import Offer

    say(f"   {mode.paced_births} births one at a time, {mode.paced_rate}/s, worker running")
    last = Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    interval = 1 / mode.paced_rate
    next_send = time.monotonic()
    for n in range(mode.paced_births):
        time.sleep(max(0.0, next_send - time.monotonic()))
        next_send += interval
        register_births(setup, 1, first=mode.births + n)
    events = Event.objects.filter(type="PersonBorn", pk__gt=last)
    deadline = time.monotonic() + 60
    while events.filter(dispatched_at__isnull=True).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    made = dict(
        Offer.objects.filter(event__in=events)
        .values("event_id")
        .annotate(first=Min("created_at"))
        .values_list("event_id", "first")
    )
    waits = [
        (made[pk] - at).total_seconds()
        for pk, at in events.values_list("pk", "created_at")
        if pk in made
    ]
    return {
        "paced_births": len(waits),
        "p50_event_to_offer_s": round(percentile(waits, 0.5), 3),
        "p95_event_to_offer_s": round(percentile(waits, 0.95), 3),
    }


def bench_acceptance(mode: Mode, setup: dict[str, Any]) -> dict[str, Any]:
    from django.db.models import Max

    from shanyraq.accounts.models import User
    from shanyraq.documents.models import Document
    from shanyraq.proactive import services
    from shanyraq.proactive.models import Consent, Offer, OfferItem

    say(f"   {mode.acceptances} acceptances, {mode.acceptance_rate}/s, worker running")
    offers = list(
        Offer.objects.filter(status="open", relation="mother").order_by("-pk")[: mode.acceptances]
    )
    users = {u.iin: u for u in User.objects.filter(iin__in=[o.iin for o in offers])}
    interval = 1 / mode.acceptance_rate
    next_send = time.monotonic()
    for offer in offers:
        time.sleep(max(0.0, next_send - time.monotonic()))
        next_send += interval
        services.offer_accept(offer=offer, person=users[offer.iin])
    consents = {c.offer_id: c.given_at for c in Consent.objects.filter(offer__in=offers)}
    items = OfferItem.objects.filter(offer__in=offers, application__isnull=False)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        undecided = items.filter(application__decided_at__isnull=True).exists()
        unissued = Document.objects.filter(
            application__in=items.values("application"), issued_at__isnull=True
        ).exists()
        if not undecided and not unissued:
            break
        time.sleep(0.3)
    decided = dict(
        items.values("offer_id")
        .annotate(last=Max("application__decided_at"))
        .values_list("offer_id", "last")
    )
    issued = _issued_by_offer(items)
    waits = []
    for offer_id, given in consents.items():
        if decided.get(offer_id) is None:
            continue  # not decided within the wait: left out, and counted below
        ends = [t for t in (decided.get(offer_id), issued.get(offer_id)) if t is not None]
        waits.append((max(ends) - given).total_seconds())
    documents = Document.objects.filter(application__in=items.values("application"))
    return {
        "acceptances": len(consents),
        "undecided_after_120_s": len(consents) - len(waits),
        "applications": items.count(),
        "documents_issued": documents.filter(issued_at__isnull=False).count(),
        "p50_acceptance_to_decisions_s": round(percentile(waits, 0.5), 3),
        "p95_acceptance_to_decisions_s": round(percentile(waits, 0.95), 3),
    }


def _issued_by_offer(items: Any) -> dict[int, datetime.datetime]:
    from shanyraq.documents.models import Document

    by_application = dict(items.values_list("application_id", "offer_id"))
    issued: dict[int, datetime.datetime] = {}
    for application_id, at in Document.objects.filter(
        application_id__in=list(by_application)
    ).values_list("application_id", "issued_at"):
        offer_id = by_application[application_id]
        if at is not None and (offer_id not in issued or at > issued[offer_id]):
            issued[offer_id] = at
    return issued


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke test of a minute or two")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/"),
    )
    args = parser.parse_args()
    mode = QUICK if args.quick else FULL

    def terminate(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    started = time.monotonic()
    summary: dict[str, Any] = {"bench": "proactive", "mode": mode.name}
    work = Path(tempfile.mkdtemp(prefix="shanyraq-bench-proactive-"))
    try:
        name = f"shanyraq_bench_proactive_{os.getpid()}"
        with register_bench.temporary_database(args.postgres, name) as url:
            pki_env = register_bench.configure_with_pki(url, work)
            say(f"setting up: the demo catalog, the PKI, {mode.couples:,} couples with accounts")
            setup = set_up(mode)
            env = register_bench.server_env(url, work / "var", **pki_env)
            say("1-3. births to offers, one worker; then paced births and acceptances")
            summary.update(bench_offers(mode, setup, env, work / "var"))
            say(
                f"   offers_per_s {summary['offers_per_s']}, event to offer p95 "
                f"{summary['p95_event_to_offer_s']} s, acceptance to decisions and documents "
                f"p95 {summary['p95_acceptance_to_decisions_s']} s"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    checks = {
        "p95_event_to_offer_s": summary.get("p95_event_to_offer_s", 99) < EVENT_TO_OFFER_TARGET_S,
        "p95_acceptance_to_decisions_s": summary.get("p95_acceptance_to_decisions_s", 99)
        < ACCEPTANCE_TARGET_S,
    }
    summary["targets_met"] = checks
    summary["seconds"] = round(time.monotonic() - started, 1)
    say(
        "\ntargets: "
        + ", ".join(f"{k} {'met' if ok else 'MISSED'}" for k, ok in checks.items())
        + f"; {summary['seconds']} s in all"
    )
    import json

    print(json.dumps(summary, ensure_ascii=False, default=str))
    return 1 if args.check and not all(checks.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
