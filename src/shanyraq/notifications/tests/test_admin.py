"""The platform administrator sees messages and deliveries and changes none of them."""

from __future__ import annotations

import pytest

from shanyraq.conftest import client_for

from .support import notify

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["notification", "delivery", "contactpoint"])
def test_the_admin_shows_but_does_not_change(platform_admin, person, model):
    notification = notify(person)
    client = client_for(platform_admin)
    assert client.get(f"/admin/notifications/{model}/").status_code == 200
    assert client.get(f"/admin/notifications/{model}/add/").status_code == 403
    pk = {
        "notification": notification.pk,
        "delivery": notification.deliveries.first().pk,
        "contactpoint": person.pk,
    }[model]
    page = client.get(f"/admin/notifications/{model}/{pk}/change/")
    assert page.status_code == 200
    assert 'type="submit" value="Save"' not in page.content.decode()
    assert client.post(f"/admin/notifications/{model}/{pk}/delete/").status_code == 403


@pytest.mark.parametrize("who", ["citizen", "clerk"])
def test_others_have_no_admin(request, who):
    user = request.getfixturevalue(who)
    assert client_for(user).get("/admin/notifications/notification/").status_code == 302
