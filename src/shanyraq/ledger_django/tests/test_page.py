from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client

from shanyraq.ledger_django import config, services

pytestmark = pytest.mark.django_db(transaction=True)


def test_public_page_shows_the_log(ledger_dirs):
    with transaction.atomic():
        for i in range(3):
            services.ledger_append(log="registers", entry={"type": "test.entry", "n": i})
    services.log_integrate(config.get_log("registers"))
    client = Client()
    client.cookies["shanyraq_language"] = "en"
    html = client.get("/ledger/").content.decode()
    assert "test.example/ledger/registers" in html
    assert "Entries published" in html
    assert "/api/v1/ledger/registers/entries/2/proof" in html
    assert "No witnesses are configured." in html


def test_public_page_before_anything_is_published(ledger_dirs):
    client = Client()
    client.cookies["shanyraq_language"] = "ru"
    response = client.get("/ledger/")
    assert response.status_code == 200
    assert '<html lang="ru"' in response.content.decode()
    assert Client().get("/ledger/registers/checkpoint").status_code == 404
