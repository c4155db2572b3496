"""``shanyraq pki ...``: set up the platform's PKI, list, issue and revoke certificates, write CRLs.

Exit status: 0 on success, 1 when what was asked cannot be done (no passphrase, a refused
revocation), 2 on bad usage (an unknown agency, serial or reason).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from shanyraq.catalog.models import Agency
from shanyraq.core.errors import ValidationError

from ... import pki
from ...models import Certificate, CertificateKind


def _usage(message: str) -> CommandError:
    return CommandError(message, returncode=2)


def _failed(message: str) -> CommandError:
    return CommandError(message, returncode=1)


def _line(row: Certificate) -> str:
    revoked = (
        f"revoked {row.revoked_at:%Y-%m-%d} ({row.revocation_reason})"
        if row.revoked_at is not None
        else "-"
    )
    return f"{row.kind}\t{row.serial}\t{row.subject}\t{row.not_after:%Y-%m-%d}\t{revoked}"


class Command(BaseCommand):
    help = "Set up and operate the platform's PKI (certification authorities and certificates)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        init = sub.add_parser(
            "init", help="Create the root CA, issuing CA and time-stamping certificate."
        )
        init.add_argument("--organisation", help="O= of the CA names (default PKI_ORGANISATION).")
        sub.add_parser(
            "status", help="List certificates: kind, serial, subject, valid to, revoked."
        )
        agency = sub.add_parser("agency", help="Print (issuing if needed) an agency's certificate.")
        agency.add_argument("code", help="The agency's code.")
        system = sub.add_parser(
            "system", help="Certify the public key of an agency's system (it signs API acts)."
        )
        system.add_argument("code", help="The agency's code.")
        system.add_argument("name", help="The system's name, e.g. 'hospital-records'.")
        system.add_argument(
            "--public-key", type=Path, required=True, help="The system's P-256 public key (PEM)."
        )
        revoke = sub.add_parser("revoke", help="Revoke a certificate.")
        revoke.add_argument("serial", help="Serial number, hexadecimal.")
        revoke.add_argument(
            "--reason", required=True, help=", ".join(sorted(pki.REVOCATION_REASONS))
        )
        crl = sub.add_parser("crl", help="Write a CA's current certificate revocation list.")
        crl.add_argument("issuer_serial", help="The CA's serial number, hexadecimal.")
        crl.add_argument("--out", type=Path, required=True, help="File to write (DER).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except pki.PkiError as exc:
            raise _failed(str(exc)) from exc

    def _certificate(self, serial: str) -> Certificate:
        row = Certificate.objects.filter(serial=serial.strip().lower().lstrip("0")).first()
        if row is None:
            raise _usage(f"No certificate with serial {serial}.")
        return row

    def _init(self, options: dict[str, Any]) -> None:
        state = pki.pki_init(organisation=options.get("organisation"))
        for row in (state.root, state.issuing, state.timestamping):
            made = "created" if row.kind in state.created else "exists"
            self.stdout.write(f"{made}\t{_line(row)}")

    def _status(self, options: dict[str, Any]) -> None:
        rows = Certificate.objects.order_by("created_at", "pk")
        if not rows.exists():
            raise _failed("No certificates: run `shanyraq pki init`.")
        now = timezone.now()
        for row in rows:
            expired = "\texpired" if row.not_after <= now else ""
            self.stdout.write(_line(row) + expired)

    def _agency(self, options: dict[str, Any]) -> None:
        agency = Agency.objects.filter(code=options["code"]).first()
        if agency is None:
            raise _usage(f"No agency with code {options['code']!r}.")
        row = pki.agency_signing_certificate(agency)
        self.stdout.write(_line(row))
        self.stdout.write(row.pem.rstrip("\n"))

    def _system(self, options: dict[str, Any]) -> None:
        agency = Agency.objects.filter(code=options["code"]).first()
        if agency is None:
            raise _usage(f"No agency with code {options['code']!r}.")
        try:
            pem = options["public_key"].read_text()
            row = pki.system_certificate_issue(
                agency=agency, name=options["name"], public_key_pem=pem
            )
        except OSError as exc:
            raise _usage(f"Cannot read {options['public_key']}: {exc.strerror}") from exc
        except ValidationError as exc:
            raise _failed(str(exc.message)) from exc
        self.stdout.write(_line(row))
        self.stdout.write(row.pem.rstrip("\n"))

    def _revoke(self, options: dict[str, Any]) -> None:
        if options["reason"] not in pki.REVOCATION_REASONS:
            raise _usage(
                f"Unknown reason {options['reason']!r}; one of: "
                + ", ".join(sorted(pki.REVOCATION_REASONS))
            )
        row = self._certificate(options["serial"])
        was_revoked = row.revoked_at is not None
        try:
            row = pki.certificate_revoke(certificate=row, reason=options["reason"])
        except ValidationError as exc:
            raise _failed(str(exc.message)) from exc
        if was_revoked:
            self.stdout.write(f"Already revoked: {_line(row)}")
        else:
            self.stdout.write(f"Revoked: {_line(row)}")

    def _crl(self, options: dict[str, Any]) -> None:
        issuer = self._certificate(options["issuer_serial"])
        if issuer.kind not in (CertificateKind.ROOT, CertificateKind.ISSUING):
            raise _usage(f"Certificate {issuer.serial} is not a certification authority.")
        data = pki.crl_der(issuer)
        out: Path = options["out"]
        temporary = out.with_name(f".{out.name}.tmp")
        temporary.write_bytes(data)
        os.replace(temporary, out)
        self.stdout.write(f"Wrote {len(data)} bytes to {out}.")
