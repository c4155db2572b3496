"""``shanyraq witness ...``: run an independent witness (no database, no Django).

    shanyraq witness keygen --name NAME --out FILE
    shanyraq witness serve --key FILE --state DIR --port N --log ORIGIN=VERIFIER_KEY [...]

A witness cosigns a log's checkpoints only if they extend what it cosigned before; it keeps
that in its own state directory. Several logs may be followed with repeated ``--log``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from shanyraq.ledger.cosignature import CosignatureSigner, generate_cosignature_key
from shanyraq.ledger.errors import LedgerError
from shanyraq.ledger.keys import parse_signer_key, parse_verifier_key
from shanyraq.ledger.note import Ed25519Verifier
from shanyraq.ledger.witness_server import WitnessServer, serve


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shanyraq witness", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    keygen = sub.add_parser("keygen", help="Create a witness key; print its verifier key.")
    keygen.add_argument("--name", required=True, help="The witness's name, e.g. witness.ngo.kz")
    keygen.add_argument("--out", type=Path, required=True)
    run = sub.add_parser("serve", help="Serve the witness protocol over HTTP.")
    run.add_argument("--key", type=Path, required=True)
    run.add_argument("--state", type=Path, required=True)
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, required=True)
    run.add_argument("--prefix", default="")
    run.add_argument("--log", action="append", required=True, metavar="ORIGIN=VKEY")
    run.add_argument("--verbose", action="store_true")
    return parser


def keygen(name: str, out: Path) -> str:
    """Write a new witness signing key to ``out`` (mode 0600) unless it exists; return the vkey."""
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        skey, _vkey = generate_cosignature_key(name)
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(skey + "\n")
    return load_signer(out).verifier().key_string()


def load_signer(path: Path) -> CosignatureSigner:
    signer = parse_signer_key(path.read_text().strip())
    if not isinstance(signer, CosignatureSigner):
        raise LedgerError(f"{path} is not a witness (cosignature) key")
    return signer


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.action == "keygen":
            print(keygen(args.name, args.out))
            return 0
        logs: dict[str, list[Ed25519Verifier]] = {}
        for item in args.log:
            origin, sep, vkey = item.partition("=")
            verifier = parse_verifier_key(vkey) if sep else None
            if not isinstance(verifier, Ed25519Verifier):
                print(
                    f"--log {item!r}: expected ORIGIN=<log Ed25519 verifier key>", file=sys.stderr
                )
                return 2
            logs.setdefault(origin, []).append(verifier)
        server = WitnessServer(
            (args.host, args.port),
            load_signer(args.key),
            logs,
            args.state,
            prefix=args.prefix,
            quiet=not args.verbose,
        )
    except (LedgerError, ValueError, OSError) as exc:
        print(f"witness: {exc}", file=sys.stderr)
        return 2
    print(f"witness {server.witness.signer.name} listening on {args.host}:{args.port}", flush=True)
    serve(server)
    return 0
