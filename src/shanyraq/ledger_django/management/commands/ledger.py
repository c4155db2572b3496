"""``shanyraq ledger ...``: keys, appending, integrating, verifying and proving.

Exit status: 0 on success, 1 when what is checked does not hold, 2 on bad usage.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from shanyraq.core.errors import DomainError
from shanyraq.ledger.client import reader_for
from shanyraq.ledger.cosignature import WitnessPolicy
from shanyraq.ledger.errors import LedgerError
from shanyraq.ledger.note import Ed25519Verifier, generate_key
from shanyraq.ledger.proof import verify_proof

from ... import config, selectors, services
from ...audit import verify_log
from ...fsck import fsck
from ...integrator import IntegratorBusy


def _usage(message: str) -> CommandError:
    return CommandError(message, returncode=2)


def _failed(message: str) -> CommandError:
    return CommandError(message, returncode=1)


class Command(BaseCommand):
    help = "Operate and check the verifiable ledger."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        keygen = sub.add_parser(
            "keygen", help="Create missing log signing keys; print verifier keys."
        )
        keygen.add_argument("--log", action="append", help="Only this log (repeatable).")

        append = sub.add_parser("append", help="Append one JSON entry (for operators and tests).")
        append.add_argument("--log", default="registers")
        append.add_argument("json", help="The entry as JSON, or @FILE.")

        integrate = sub.add_parser("integrate", help="Sequence, write tiles, cosign, publish.")
        integrate.add_argument("--log", action="append")
        integrate.add_argument("--loop", action="store_true", help="Keep running.")
        integrate.add_argument("--interval", type=float, default=1.0)
        integrate.add_argument("--batch", type=int, default=50_000)

        verify = sub.add_parser("verify", help="Verify a published log (URL prefix or directory).")
        verify.add_argument("location", help="https://host/ledger/<log>/ or a directory")
        verify.add_argument("--origin", required=True)
        verify.add_argument("--key", required=True, help="The log's verifier key.")
        verify.add_argument("--witness", action="append", default=[], help="Witness verifier key.")
        verify.add_argument("--quorum", type=int, default=None)
        verify.add_argument("--state", type=Path, help="File remembering the last checkpoint seen.")
        verify.add_argument(
            "--full", action="store_true", help="Recompute every tile and the root."
        )

        prove = sub.add_parser("prove", help="Write a tlog-proof file for an entry.")
        prove.add_argument("--log", default="registers")
        prove.add_argument("--index", type=int, required=True)
        prove.add_argument("--out", type=Path, required=True)
        prove.add_argument("--entry-out", type=Path, help="Also write the entry bytes here.")

        check = sub.add_parser("check-proof", help="Verify a tlog-proof file offline.")
        check.add_argument("file", type=Path)
        check.add_argument("--origin", required=True)
        check.add_argument("--key", required=True)
        check.add_argument("--witness", action="append", default=[])
        check.add_argument("--quorum", type=int, default=None)
        check.add_argument("--entry", type=Path, help="The entry bytes the proof is about.")

        check_db = sub.add_parser("fsck", help="Check storage against the database.")
        check_db.add_argument("--log", action="append")

        info = sub.add_parser("info", help="Print each log's origin, keys and witness policy.")
        info.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"].replace("-", "_")
        try:
            getattr(self, f"do_{action}")(options)
        except config.LedgerNotConfigured as exc:
            raise _usage(str(exc)) from None

    def _logs(self, names: list[str] | None) -> list[config.LogConfig]:
        return [config.get_log(n) for n in names] if names else list(config.logs().values())

    def do_keygen(self, options: dict[str, Any]) -> None:
        for log in self._logs(options["log"]):
            if not log.key_file.exists():
                log.key_file.parent.mkdir(parents=True, exist_ok=True)
                skey, _vkey = generate_key(log.origin)
                fd = os.open(log.key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as handle:
                    handle.write(skey + "\n")
            self.stdout.write(f"{log.name}\t{log.verifier_key()}")
        config.reset()

    def do_append(self, options: dict[str, Any]) -> None:
        raw = options["json"]
        if raw.startswith("@"):
            raw = Path(raw[1:]).read_text()
        try:
            entry = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise _usage(f"not JSON: {exc}") from None
        if not isinstance(entry, dict):
            raise _usage("the entry must be a JSON object")
        try:
            with transaction.atomic():
                row = services.ledger_append(log=options["log"], entry=entry)
        except DomainError as exc:
            raise _usage(f"{exc.code}: {exc.message}") from None
        self.stdout.write(f"appended {row.leaf_hash}")

    def do_integrate(self, options: dict[str, Any]) -> None:
        logs = self._logs(options["log"])
        while True:
            for log in logs:
                try:
                    outcome = services.log_integrate(log, batch=options["batch"])
                except IntegratorBusy:
                    self.stderr.write(f"{log.name}: another integrator is running")
                    if not options["loop"]:
                        raise _failed("integrator busy") from None
                    continue
                if outcome.sequenced or not options["loop"]:
                    self.stdout.write(
                        f"{log.name}: sequenced {outcome.sequenced}, integrated "
                        f"{outcome.integrated_size}, published {outcome.published_size}"
                        + (
                            f", cosigned by {', '.join(outcome.cosigned_by)}"
                            if outcome.cosigned_by
                            else ""
                        )
                    )
                for problem in outcome.witness_errors:
                    self.stderr.write(f"{log.name}: witness: {problem}")
                if not options["loop"] and outcome.published_size < outcome.integrated_size:
                    raise _failed("the checkpoint was not published: too few cosignatures")
            if not options["loop"]:
                return
            time.sleep(options["interval"])

    @staticmethod
    def _log_verifier(vkey: str) -> Ed25519Verifier:
        try:
            return config.verifier_from_key(vkey)
        except (config.LedgerNotConfigured, LedgerError, ValueError) as exc:
            raise _usage(f"--key: {exc}") from None

    @staticmethod
    def _policy(witnesses: list[str], quorum: int | None) -> WitnessPolicy | None:
        if not witnesses and not quorum:
            return None
        try:
            return WitnessPolicy.from_keys(witnesses, len(witnesses) if quorum is None else quorum)
        except (LedgerError, ValueError) as exc:
            raise _usage(f"--witness/--quorum: {exc}") from None

    def do_verify(self, options: dict[str, Any]) -> None:
        try:
            report = verify_log(
                reader_for(options["location"]),
                origin=options["origin"],
                log_verifiers=[self._log_verifier(options["key"])],
                policy=self._policy(options["witness"], options["quorum"]),
                state_file=options["state"],
                full=options["full"],
            )
        except (LedgerError, ValueError) as exc:
            raise _failed(f"verification failed: {exc}") from None
        for problem in report.problems:
            self.stderr.write(problem)
        if not report.ok:
            raise _failed("verification failed")
        seen = f", consistent with {report.previous_size}" if report.previous_size else ""
        cosigned = ", ".join(report.cosigned_by) or "no witness"
        full = ", every tile recomputed" if report.full else ""
        self.stdout.write(
            f"OK {report.origin} size {report.size} root {report.root_hash} "
            f"(cosigned by {cosigned}{seen}{full})"
        )

    def do_prove(self, options: dict[str, Any]) -> None:
        try:
            data, proof = selectors.entry_with_proof(options["log"], options["index"])
        except DomainError as exc:
            raise _usage(f"{exc.code}: {exc.message}") from None
        options["out"].write_bytes(proof.to_bytes())
        if options["entry_out"]:
            options["entry_out"].write_bytes(data)
        self.stdout.write(f"wrote {options['out']} (entry {options['index']})")

    def do_check_proof(self, options: dict[str, Any]) -> None:
        entry = options["entry"].read_bytes() if options["entry"] else None
        try:
            checked = verify_proof(
                options["file"].read_bytes(),
                entry,
                origin=options["origin"],
                log_verifiers=[self._log_verifier(options["key"])],
                policy=self._policy(options["witness"], options["quorum"]),
            )
        except (LedgerError, ValueError, OSError) as exc:
            raise _failed(f"the proof does not hold: {exc}") from None
        cp = checked.checkpoint
        self.stdout.write(f"OK: included in {cp.origin} at size {cp.size}")

    def do_fsck(self, options: dict[str, Any]) -> None:
        failed = False
        for log in self._logs(options["log"]):
            report = fsck(log)
            for problem in report.problems:
                self.stderr.write(f"{log.name}: {problem}")
            failed = failed or not report.ok
            self.stdout.write(
                f"{log.name}: {'OK' if report.ok else 'FAILED'}: sequenced {report.sequenced}, "
                f"integrated {report.integrated}, published {report.published}, "
                f"{report.checkpoints} checkpoints checked"
            )
        if failed:
            raise _failed("fsck found problems")

    def do_info(self, options: dict[str, Any]) -> None:
        rows: list[dict[str, Any]] = []
        for log in config.logs().values():
            try:
                vkey: str | None = log.verifier_key()
            except config.LedgerNotConfigured:
                vkey = None
            rows.append(
                {
                    "log": log.name,
                    "origin": log.origin,
                    "prefix": f"/ledger/{log.name}/",
                    "verifier_key": vkey,
                    "witnesses": [
                        {"name": w.name, "vkey": w.vkey, "url": w.url} for w in log.witnesses
                    ],
                    "quorum": log.quorum,
                }
            )
        if options["json"]:
            json.dump(rows, sys.stdout, indent=2)
            sys.stdout.write("\n")
            return
        for row in rows:
            self.stdout.write(f"{row['log']}: origin {row['origin']}, tiles at {row['prefix']}")
            self.stdout.write(
                f"  key {row['verifier_key'] or '(none: run `shanyraq ledger keygen`)'}"
            )
            for w in row["witnesses"]:
                self.stdout.write(f"  witness {w['vkey']} at {w['url']}")
            self.stdout.write(f"  quorum {row['quorum']}")
