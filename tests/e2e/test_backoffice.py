"""An agency administrator changes a service: draft, edit, publish; citizens see the change."""

from __future__ import annotations

import pytest

from shanyraq.catalog.models import ServiceVersion

pytestmark = pytest.mark.e2e


def test_agency_admin_edits_and_publishes_a_new_version(open_site, demo):
    admin = demo.accounts["admin.justice"]
    new_name = f"{demo.names['en']} (updated)"
    code = demo.service

    site = open_site("en")
    site.sign_in_staff(admin.username, demo.password, admin.totp_secret)
    site.submit(site.page.locator("main").get_by_role("link", name="Services", exact=True))
    site.submit(site.page.locator(f"main a[href='/backoffice/services/{code}/']"))
    published = site.page.locator("main tbody tr").count()

    # Open a draft: a new version copied from the published one.
    site.submit(site.page.get_by_role("button", name="Edit (open a draft version)"))
    assert site.path() == f"/backoffice/services/{code}/versions/{published + 1}/"
    name_en = site.page.locator("#id_name_en")
    assert name_en.input_value() == demo.names["en"]
    assert site.page.locator("#id_name_kk").input_value() == demo.names["kk"]

    name_en.fill(new_name)
    site.submit(site.page.get_by_role("button", name="Save draft"))
    assert site.page.get_by_text("The draft was saved.").count() == 1
    assert site.page.locator("#id_name_en").input_value() == new_name

    # A saved draft is not public yet.
    citizen = open_site("en")
    citizen.goto(f"/services/{code}/")
    assert citizen.heading() == demo.names["en"]

    site.submit(site.page.get_by_role("button", name="Publish this version"))
    assert site.path() == f"/backoffice/services/{code}/"
    assert site.page.get_by_text("The version was published. Citizens see it now.").count() == 1
    assert site.page.locator("main tbody tr").count() == published + 1
    assert site.heading() == new_name

    # The portal shows the new version; the other languages are unchanged.
    citizen.goto(f"/services/{code}/")
    assert citizen.heading() == new_name
    citizen.switch_language("ru")
    assert citizen.heading() == demo.names["ru"]

    # The published version can no longer be changed.
    site.goto(f"/backoffice/services/{code}/versions/{published + 1}/")
    assert site.page.locator("main form fieldset[disabled]").count() == 1
    assert site.page.get_by_role("button", name="Save draft").count() == 0
    assert site.page.get_by_role("button", name="Publish this version").count() == 0


def test_agency_admin_cannot_edit_another_agencys_service(site, demo):
    admin = demo.accounts["admin.justice"]
    site.sign_in_staff(admin.username, demo.password, admin.totp_secret)
    site.goto(f"/backoffice/services/{demo.other_service}/", status=403)
    site.goto(f"/backoffice/services/{demo.other_service}/versions/1/", status=403)
    # A forged form post is refused too, and nothing changes.
    response = site.page.request.post(
        site.url(f"/backoffice/services/{demo.other_service}/draft/"),
        headers={"Referer": site.url("/backoffice/")},
        form={"csrfmiddlewaretoken": _csrf_token(site)},
    )
    assert response.status == 403
    assert ServiceVersion.objects.filter(service__code=demo.other_service).count() == 1


def _csrf_token(site):
    for cookie in site.page.context.cookies():
        if cookie["name"] == "csrftoken":
            return cookie["value"]
    raise AssertionError("no CSRF cookie")
