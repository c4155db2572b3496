"""Fixtures for the documents app: a PKI of the test's own, in its temporary directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.utils import translation

if TYPE_CHECKING:
    from pytest_django.fixtures import SettingsWrapper

    from shanyraq.catalog.models import Agency
    from shanyraq.documents.models import Certificate
    from shanyraq.documents.pki import PkiState


@pytest.fixture
def pki(db: None, settings: SettingsWrapper, tmp_path: Path) -> PkiState:
    """A fresh root CA, issuing CA and time-stamping certificate, keys under ``tmp_path``.

    Use it with the ``agency`` fixture for a signing certificate::

        def test_sign(pki, agency):
            certificate = pki_module.agency_signing_certificate(agency)
            signer = signers.signer_for(certificate)
    """
    from shanyraq.documents import pki as pki_module

    settings.PKI_DIR = tmp_path / "pki"
    settings.PKI_PASSPHRASE = "test-only-passphrase"
    return pki_module.pki_init()


@pytest.fixture
def agency_certificate(pki: PkiState, agency: Agency) -> Certificate:
    """The document-signing certificate of the ``agency`` fixture ("justice")."""
    from shanyraq.documents import pki as pki_module

    return pki_module.agency_signing_certificate(agency)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Messages are compared in English, whatever language an earlier test left active."""
    with translation.override("en"):
        yield
