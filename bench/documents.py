#!/usr/bin/env python3
"""Signed documents: rendering and signing PDFs, and the public verification page.

    .venv/bin/python bench/documents.py [--quick] [--check] [--postgres URL]

On PostgreSQL, in a database of its own (created and dropped), with the platform's PKI made
for the run (``pki init``) in a temporary directory:

1. **Render and sign, one core.** In this one process, alternating rounds render a
   certificate's PDF (fpdf2, DejaVu fonts embedded, a QR code) without signing, and render
   it and sign it as issued documents are signed (PAdES with the agency's certificate, a
   timestamp from the platform's own time-stamping authority).
   ``sign_share`` = (render+sign time - render time) / render+sign time, per document
   (target < 0.5: signing costs less than half of the total).
2. **Verification page.** Documents are issued through the same path as approvals' (the
   worker's ``documents_issue_pending``), and one client asks the production server (gunicorn
   sync workers, as ``shanyraq serve`` runs it) for ``/verify/?number=...&code=...`` of
   random ones: the page validates the stored PDF's signature, checks the certificate's
   revocation and reads the ledger entry's inclusion proof. p50/p95 (target p95 < 200 ms).

``--quick`` is a smoke test of a minute, not a measurement. The last line printed is one JSON
object with every figure. Traffic stays on loopback; the server, the keys and the database are
removed on the way out.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import math
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
from urllib.parse import urlencode

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
sys.path[:0] = [str(PROJECT_DIR / "src"), str(BENCH_DIR)]

import catalog as http_bench  # noqa: E402  (the catalog benchmark's server helpers)
import registries as register_bench  # noqa: E402  (its database and settings helpers)

HOST = "127.0.0.1"
SIGN_SHARE_TARGET = 0.5
VERIFY_P95_TARGET_MS = 200.0


@dataclass(frozen=True)
class Mode:
    name: str
    rounds: int
    per_round: int
    documents: int  # issued for the verification page
    requests: int


FULL = Mode("full", 6, 40, 200, 400)
QUICK = Mode("quick", 2, 5, 12, 40)


def say(text: str) -> None:
    print(text, flush=True)


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _label(en: str, ru: str, kk: str) -> dict[str, str]:
    return {"kk": kk, "ru": ru, "en": en}


LINES = [
    {
        "label": _label("Full name", "ФИО", "Тегі, аты, әкесінің аты"),
        "value": "Сейітқали Әлия Нұрланқызы",
    },
    {"label": _label("Date of birth", "Дата рождения", "Туған күні"), "value": "12.04.1988"},
    {
        "label": _label("Result of the check", "Результат проверки", "Тексеру нәтижесі"),
        "value": _label(
            "No criminal record was found in the registers.",
            "Сведений о судимости в реестрах не найдено.",
            "Тізілімдерде сотталғандығы туралы мәліметтер табылмады.",
        ),
    },
    {
        "label": _label("Address", "Адрес", "Мекенжайы"),
        "value": "Алматы қ., Әуезов ауданы, Абай даңғылы, 150-үй, 12-пәтер",
    },
]
TITLE = _label(
    "Certificate of no criminal record",
    "Справка об отсутствии судимости",
    "Сотталмағандығы туралы анықтама",
)


def set_up() -> dict[str, Any]:
    from django.core.management import call_command

    from shanyraq.accounts.models import User
    from shanyraq.catalog.models import Agency
    from shanyraq.documents import pki

    call_command("pki", "init", verbosity=0)
    agency = Agency.objects.create(
        code="bench-records",
        kind="committee",
        name=_label("Records committee", "Комитет учёта", "Есеп комитеті"),
        short_name=_label("RC", "КУ", "ЕК"),
        description=_label("Benchmark", "Бенчмарк", "Бенчмарк"),
    )
    holder = User.objects.create(
        username="bench-holder",
        iin="880412400127",
        first_name="Әлия",
        last_name="Сейітқали",
        preferred_language="kk",
    )
    certificate = pki.agency_signing_certificate(agency)
    return {"agency": agency, "holder": holder, "certificate": certificate}


def bench_render_sign(mode: Mode, setup: dict[str, Any]) -> dict[str, Any]:
    from django.utils import timezone

    from shanyraq.documents import pades, rendering, signers

    signer = signers.signer_for(setup["certificate"])

    def spec(index: int) -> rendering.DocumentSpec:
        return rendering.DocumentSpec(
            number=f"D2026-{index:07d}",
            code="7KQ4-MX2P",
            kind="certificate",
            title=TITLE,
            agency=setup["agency"].name.to_dict(),
            holder_name="Сейітқали Әлия",
            holder_iin="880412400127",
            issued_at=timezone.now(),
            lines=LINES,
            verify_url=f"http://127.0.0.1:8000/verify/?number=D2026-{index:07d}&code=7KQ4-MX2P",
            application_number="A2026-0000042",
        )

    def render(index: int) -> bytes:
        return rendering.render_pdf(spec(index), "kk")

    def render_sign(index: int) -> bytes:
        return pades.sign_pdf(render(index), signer=signer, reason="bench", location="Almaty")

    for index in range(3):  # warm up: fonts, keys, imports
        render_sign(index)
    times: dict[str, list[float]] = {"render": [], "render_sign": []}
    sizes = []
    for number in range(mode.rounds):
        order = ("render", "render_sign") if number % 2 == 0 else ("render_sign", "render")
        for name in order:
            gc.collect()
            work = render if name == "render" else render_sign
            started = time.process_time()
            for index in range(mode.per_round):
                made = work(index)
            times[name].append((time.process_time() - started) / mode.per_round)
            if name == "render_sign":
                sizes.append(len(made))
            say(f"  round {number + 1}: {name} {times[name][-1] * 1000:.1f} ms per document")
    render_s = sum(times["render"]) / len(times["render"])
    both_s = sum(times["render_sign"]) / len(times["render_sign"])
    return {
        "render_ms": round(render_s * 1000, 1),
        "render_sign_ms": round(both_s * 1000, 1),
        "signed_per_s_one_core": round(1 / both_s, 1),
        "rendered_per_s_one_core": round(1 / render_s, 1),
        "sign_share": round((both_s - render_s) / both_s, 3),
        "pdf_bytes": sizes[-1] if sizes else 0,
    }


def issue_documents(count: int, setup: dict[str, Any]) -> list[tuple[str, str]]:
    from django.db import transaction

    from shanyraq.documents import services

    with transaction.atomic():
        for _ in range(count):
            services.document_order(
                kind="certificate",
                title=TITLE,
                lines=LINES,
                agency=setup["agency"],
                holder=setup["holder"],
            )
    started = time.monotonic()
    while True:
        report = services.documents_issue_pending(limit=50)
        if report.failed:
            raise RuntimeError("a document could not be issued")
        if not report.issued:
            break
    from shanyraq.documents.models import Document

    say(f"  issued {count} documents in {time.monotonic() - started:.1f} s")
    return list(Document.objects.filter(status="issued").values_list("number", "code"))


def bench_verify(mode: Mode, port: int, documents: list[tuple[str, str]], log: Path) -> dict:
    rng = random.Random(5)
    timings = []
    for index in range(mode.requests + 10):
        number, code = rng.choice(documents)
        path = "/verify/?" + urlencode({"number": number, "code": code})
        connection = http.client.HTTPConnection(HOST, port, timeout=30)
        started = time.perf_counter()
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        elapsed = time.perf_counter() - started
        connection.close()
        if response.status != 200 or number.encode() not in body:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise RuntimeError(f"{path}: {response.status} {body[:300]!r}\n{tail}")
        if index >= 10:  # after a warm-up
            timings.append(elapsed * 1000)
    return {
        "verify_requests": len(timings),
        "verify_p50_ms": round(percentile(timings, 0.5), 1),
        "verify_p95_ms": round(percentile(timings, 0.95), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke test of a minute")
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
    summary: dict[str, Any] = {"bench": "documents", "mode": mode.name}
    work = Path(tempfile.mkdtemp(prefix="shanyraq-bench-documents-"))
    try:
        name = f"shanyraq_bench_documents_{os.getpid()}"
        with register_bench.temporary_database(args.postgres, name) as url:
            pki_env = register_bench.configure_with_pki(url, work)
            from django.core.management import call_command

            call_command("collectstatic", "--no-input", verbosity=0)  # pages need the manifest
            say("setting up: the PKI, an agency and its signing certificate")
            setup = set_up()
            say("1. render vs render+sign, one core")
            summary.update(bench_render_sign(mode, setup))
            say(
                f"   {summary['render_ms']} ms vs {summary['render_sign_ms']} ms: "
                f"sign_share {summary['sign_share']}"
            )
            say(f"2. the verification page, {mode.documents} issued documents")
            documents = issue_documents(mode.documents, setup)
            env = register_bench.server_env(url, work / "var", **pki_env)
            port = http_bench._free_port()
            with http_bench.production_server(env, port, work / "server.log"):
                summary.update(bench_verify(mode, port, documents, work / "server.log"))
            say(f"   p50 {summary['verify_p50_ms']} ms, p95 {summary['verify_p95_ms']} ms")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    checks = {
        "sign_share": summary.get("sign_share", 1.0) < SIGN_SHARE_TARGET,
        "verify_p95_ms": summary.get("verify_p95_ms", 1e9) < VERIFY_P95_TARGET_MS,
    }
    summary["targets_met"] = checks
    summary["seconds"] = round(time.monotonic() - started, 1)
    say(
        "\ntargets: "
        + ", ".join(f"{k} {'met' if ok else 'MISSED'}" for k, ok in checks.items())
        + f"; {summary['seconds']} s in all"
    )
    print(json.dumps(summary, ensure_ascii=False, default=str))
    return 1 if args.check and not all(checks.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
