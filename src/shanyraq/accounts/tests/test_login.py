from __future__ import annotations

import pytest
from django.test import Client

from shanyraq.accounts.models import LoginAttempt
from shanyraq.testing import factories

pytestmark = pytest.mark.django_db


def test_citizen_signs_in_with_iin_and_password(citizen):
    client = Client()
    response = client.post("/login/", {"iin": citizen.iin, "password": factories.PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/account/"
    page = client.get("/account/")
    assert page.status_code == 200
    assert citizen.iin in page.content.decode()


def test_wrong_password_is_refused_in_the_users_language(citizen):
    response = Client().post(
        "/login/", {"iin": citizen.iin, "password": "nope"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 401
    assert "The IIN or the password is not correct." in response.content.decode()
    assert "_auth_user_id" not in Client().session


@pytest.mark.parametrize(
    ("iin", "message"),
    [
        ("12345", "An IIN has exactly 12 digits."),
        ("12345678901a", "An IIN has exactly 12 digits."),
        ("900101300018", "This IIN is not valid. Check the digits."),
    ],
)
def test_malformed_iin_gets_a_clear_message(db, iin, message):
    response = Client().post("/login/", {"iin": iin, "password": "x"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert message in response.content.decode()
    assert LoginAttempt.objects.count() == 0


def test_staff_cannot_use_the_citizen_sign_in(agency):
    staff = factories.member(agency, "clerk", iin=factories.next_iin())
    response = Client().post("/login/", {"iin": staff.iin, "password": factories.PASSWORD})
    assert response.status_code == 401


def test_staff_needs_the_second_factor(clerk):
    client = Client()
    no_code = client.post(
        "/staff/login/",
        {"username": clerk.username, "password": factories.PASSWORD, "totp": "000000"},
    )
    assert no_code.status_code == 401
    response = client.post(
        "/staff/login/",
        {
            "username": clerk.username,
            "password": factories.PASSWORD,
            "totp": factories.totp_now(clerk),
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/backoffice/"


def test_citizen_signed_in_at_the_staff_page_still_cannot_reach_the_back_office(citizen):
    client = Client()
    response = client.post(
        "/staff/login/",
        {"username": citizen.username, "password": factories.PASSWORD, "totp": "123456"},
    )
    # A citizen has no second factor but the password alone is enough for them here too;
    # they land in their own account, never in the back office.
    assert response.status_code == 302
    assert client.get("/backoffice/").status_code == 403


def test_account_is_locked_after_repeated_failures(citizen, settings):
    settings.LOGIN_MAX_FAILURES_PER_ACCOUNT = 3
    client = Client()
    for _ in range(3):
        assert client.post("/login/", {"iin": citizen.iin, "password": "bad"}).status_code == 401
    response = client.post(
        "/login/",
        {"iin": citizen.iin, "password": factories.PASSWORD},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 401
    assert "Too many failed attempts. Try again in 15 minutes." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_address_is_rate_limited(db, settings):
    settings.LOGIN_MAX_FAILURES_PER_ADDRESS = 2
    a, b, c = factories.UserFactory(), factories.UserFactory(), factories.UserFactory()
    client = Client(REMOTE_ADDR="10.0.0.7")
    client.post("/login/", {"iin": a.iin, "password": "bad"})
    client.post("/login/", {"iin": b.iin, "password": "bad"})
    response = client.post("/login/", {"iin": c.iin, "password": factories.PASSWORD})
    assert response.status_code == 401
    assert (
        Client(REMOTE_ADDR="10.0.0.8")
        .post("/login/", {"iin": c.iin, "password": factories.PASSWORD})
        .status_code
        == 302
    )


def test_next_must_stay_on_this_site(citizen):
    response = Client().post(
        "/login/",
        {"iin": citizen.iin, "password": factories.PASSWORD, "next": "https://evil.example/"},
    )
    assert response["Location"] == "/account/"


def test_logout_needs_post(citizen):
    client = Client()
    client.force_login(citizen)
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 302
    assert client.get("/account/").status_code == 302


def test_csrf_is_enforced_on_sign_in(citizen):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"iin": citizen.iin, "password": factories.PASSWORD})
    assert response.status_code == 403


def test_token_command_prints_a_working_token(citizen, capsys):
    from django.core.management import call_command

    call_command("token", "create", "--user", citizen.iin)
    secret = capsys.readouterr().out.strip()
    assert secret.startswith("shq_")
    response = Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.json()["username"] == citizen.username
