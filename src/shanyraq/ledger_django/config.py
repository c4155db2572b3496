"""Which logs this installation runs, where their keys and tiles are, and who witnesses them.

Configured from settings (themselves from the environment, see docs/configuration.md):

* ``LEDGER_LOGS``: the log names, e.g. ``["registers"]``;
* ``LEDGER_ORIGIN_PREFIX``: a log's origin is ``<prefix>/<name>``;
* ``LEDGER_KEY_DIR``: the log's signing key is ``<dir>/<name>.key`` (a C2SP signer key string),
  created by ``shanyraq ledger keygen`` and never kept in the repository;
* ``LEDGER_STORAGE_DIR``: tiles, bundles and the checkpoint are under ``<dir>/<name>/``;
* ``LEDGER_WITNESSES_FILE``: a JSON witness policy,
  ``{"quorum": 2, "witnesses": [{"name": ..., "vkey": ..., "url": ...}]}``; absent means none.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.conf import settings

from shanyraq.ledger.cosignature import CosignatureVerifier, WitnessPolicy
from shanyraq.ledger.keys import parse_signer_key, parse_verifier_key
from shanyraq.ledger.note import Ed25519Signer, Ed25519Verifier
from shanyraq.ledger.storage import FileSystemStore


class LedgerNotConfigured(Exception):
    """A key or a witness policy needed for this operation is missing or invalid."""


@dataclass(frozen=True)
class WitnessConfig:
    name: str
    vkey: str
    url: str

    @property
    def verifier(self) -> CosignatureVerifier:
        verifier = parse_verifier_key(self.vkey)
        if not isinstance(verifier, CosignatureVerifier):
            raise LedgerNotConfigured(f"witness {self.name}: not a cosignature key")
        return verifier


@dataclass(frozen=True)
class LogConfig:
    name: str
    origin: str
    key_file: Path
    storage_dir: Path
    witnesses: tuple[WitnessConfig, ...]
    quorum: int

    def signer(self) -> Ed25519Signer:
        try:
            text = self.key_file.read_text().strip()
        except FileNotFoundError:
            raise LedgerNotConfigured(
                f"no signing key at {self.key_file}; run `shanyraq ledger keygen`"
            ) from None
        signer = parse_signer_key(text)
        if not isinstance(signer, Ed25519Signer) or signer.name != self.origin:
            raise LedgerNotConfigured(f"{self.key_file} is not an Ed25519 key for {self.origin}")
        return signer

    def verifier(self) -> Ed25519Verifier:
        return self.signer().verifier()

    def verifier_key(self) -> str:
        return self.signer().verifier().key_string()

    def policy(self) -> WitnessPolicy:
        return WitnessPolicy(tuple(w.verifier for w in self.witnesses), self.quorum)

    def storage(self) -> FileSystemStore:
        return FileSystemStore(self.storage_dir)


def _witness_policy() -> tuple[tuple[WitnessConfig, ...], int]:
    path = Path(settings.LEDGER_WITNESSES_FILE)
    if not path.exists():
        return (), 0
    try:
        data = json.loads(path.read_text())
        witnesses = tuple(
            WitnessConfig(name=w["name"], vkey=w["vkey"], url=w["url"]) for w in data["witnesses"]
        )
        quorum = int(data.get("quorum", len(witnesses)))
    except (ValueError, KeyError, TypeError) as exc:
        raise LedgerNotConfigured(f"{path}: not a valid witness policy ({exc})") from None
    if not 0 <= quorum <= len(witnesses):
        raise LedgerNotConfigured(f"{path}: quorum {quorum} with {len(witnesses)} witnesses")
    return witnesses, quorum


@cache
def _logs() -> dict[str, LogConfig]:
    witnesses, quorum = _witness_policy()
    key_dir = Path(settings.LEDGER_KEY_DIR)
    storage_dir = Path(settings.LEDGER_STORAGE_DIR)
    return {
        name: LogConfig(
            name=name,
            origin=f"{settings.LEDGER_ORIGIN_PREFIX}/{name}",
            key_file=key_dir / f"{name}.key",
            storage_dir=storage_dir / name,
            witnesses=witnesses,
            quorum=quorum,
        )
        for name in settings.LEDGER_LOGS
    }


def logs() -> dict[str, LogConfig]:
    return _logs()


def get_log(name: str) -> LogConfig:
    try:
        return _logs()[name]
    except KeyError:
        raise LedgerNotConfigured(f"no log named {name!r}") from None


def reset() -> None:
    """Forget the cached configuration (after keys or settings change, and in tests)."""
    _logs.cache_clear()


def verifier_from_key(vkey: str) -> Ed25519Verifier:
    verifier = parse_verifier_key(vkey)
    if not isinstance(verifier, Ed25519Verifier):
        raise LedgerNotConfigured("not an Ed25519 verifier key")
    return verifier
