from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from shanyraq.api.management.commands.openapi import render

pytestmark = pytest.mark.django_db


def test_openapi_document_is_served_and_matches_the_committed_file(settings):
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.1")
    committed = Path(__file__).resolve().parents[4] / "docs" / "api" / "openapi.json"
    assert committed.read_text() == render()
