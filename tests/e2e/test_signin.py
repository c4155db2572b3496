"""Signing in as each kind of person, and what each may and may not see."""

from __future__ import annotations

import time

import pyotp
import pytest

pytestmark = pytest.mark.e2e


def test_citizen_signs_in_with_iin_and_password(site, demo, tr):
    # Pages for signed-in people send a visitor to the sign-in first.
    site.goto("/account/")
    assert site.path() == "/login/?next=/account/"

    site.sign_in_citizen(demo.citizen_iin, "not-the-password", status=401)
    assert site.page.locator(".govuk-error-summary").count() == 1
    assert site.path() == "/login/"

    site.sign_in_citizen(demo.citizen_iin, demo.password)
    assert site.path() == "/account/"
    assert site.heading() == "My account"
    assert site.page.locator("main").get_by_text(demo.citizen_iin, exact=True).count() == 1
    assert site.page.locator("header").get_by_role("link", name="My account").count() == 1

    # A citizen is not staff: the back office is closed, and says so in their language.
    site.goto("/backoffice/", status=403)
    assert site.heading() == "Access denied"
    site.switch_language("kk", status=403)
    assert site.lang() == "kk"
    assert site.heading() == tr("kk", "Access denied")


# What each person may open (200) and may not (403) in the back office. "{own}" is a service
# of the Ministry of Justice, "{other}" a service of another agency.
STAFF = {
    "official.justice": {
        "role": "Clerk",
        "may": ["/backoffice/services/", "/backoffice/services/{own}/"],
        "may_not": [
            "/backoffice/audit/",
            "/backoffice/services/new/",
            "/backoffice/services/{other}/",
        ],
        "links": {"Services": True, "Create a service": False, "Publication log": False},
        "can_edit": False,
    },
    "admin.justice": {
        "role": "Agency administrator",
        "may": [
            "/backoffice/services/",
            "/backoffice/services/{own}/",
            "/backoffice/services/new/",
        ],
        "may_not": ["/backoffice/audit/", "/backoffice/services/{other}/"],
        "links": {"Services": True, "Create a service": True, "Publication log": False},
        "can_edit": True,
    },
    "auditor": {
        "role": "Auditor",
        "may": [
            "/backoffice/services/",
            "/backoffice/services/{own}/",
            "/backoffice/services/{other}/",
            "/backoffice/audit/",
        ],
        "may_not": ["/backoffice/services/new/"],
        "links": {"Services": True, "Create a service": False, "Publication log": True},
        "can_edit": False,
    },
    "platform.admin": {
        "role": "Platform administrator",
        "may": [
            "/backoffice/services/",
            "/backoffice/services/{other}/",
            "/backoffice/audit/",
            "/admin/",
        ],
        "may_not": ["/backoffice/services/new/"],
        "links": {
            "Services": True,
            "Create a service": False,
            "Publication log": True,
            "Platform administration": True,
        },
        "can_edit": False,
    },
}


@pytest.mark.parametrize("username", list(STAFF))
def test_staff_member_signs_in_with_a_security_code(site, demo, username):
    expected = STAFF[username]
    account = demo.accounts[username]

    site.sign_in_staff(username, demo.password, account.totp_secret)
    assert site.path() == "/backoffice/"
    assert site.heading() == "Back office"
    main = site.page.locator("main")
    roles = main.locator("ul.govuk-list--bullet").inner_text()
    assert expected["role"] in roles, roles
    for name, shown in expected["links"].items():
        assert main.get_by_role("link", name=name, exact=True).count() == int(shown), name

    for path in expected["may"]:
        site.goto(path.format(own=demo.service, other=demo.other_service))
    for path in expected["may_not"]:
        site.goto(path.format(own=demo.service, other=demo.other_service), status=403)
        assert site.heading() == "Access denied"

    if "/backoffice/services/{own}/" in expected["may"]:
        site.goto(f"/backoffice/services/{demo.service}/")
        edit = site.page.get_by_role("button", name="Edit (open a draft version)")
        assert edit.count() == int(expected["can_edit"])
        # Published versions open read-only for everyone.
        site.submit(site.page.locator("main table a").first)
        assert site.page.locator("main form fieldset[disabled]").count() == 1


def test_staff_sign_in_needs_the_right_security_code(site, demo):
    account = demo.accounts["official.justice"]
    site.goto("/staff/login/")
    site.page.locator("#id_username").fill(account.username)
    site.page.locator("#id_password").fill(demo.password)
    totp = pyotp.TOTP(account.totp_secret)
    now = time.time()
    valid = {totp.at(now + step * 30) for step in (-1, 0, 1)}
    site.page.locator("#id_totp").fill(
        next(c for c in ("000000", "111111", "222222") if c not in valid)
    )
    site.submit(site.page.locator("main form button[type=submit]"), status=401)
    assert site.page.locator(".govuk-error-summary").count() == 1
    site.goto("/backoffice/")
    assert site.path().startswith("/staff/login/?next=")
