"""A step's answers kept as they are typed (htmx posts the form to ``.../keep/``)."""

from __future__ import annotations

import pytest

from shanyraq.casework import services
from shanyraq.casework.models import Status
from shanyraq.conftest import client_for

from .test_applications import (  # the portal's application fixtures and helpers
    STEP_ONE,
    draft,
    english,
    ledger_log,
    official,
    other,
    reload,
    service,
    step_url,
    submitted,
)

__all__ = ["ledger_log", "official", "other", "service"]  # fixtures used by name

pytestmark = pytest.mark.django_db


def keep_url(application, index: int) -> str:
    return f"{step_url(application, index)}keep/"


def test_right_answers_are_kept_and_the_step_is_not_done(service, citizen):
    application = draft(citizen)
    response = english(citizen).post(
        keep_url(application, 0), {"phone": "+77011234567", "email": "not an address"}
    )
    assert response.status_code == 200
    assert f"Your answers are saved as draft {application.number} (" in response.content.decode()
    saved = reload(application)
    assert saved.answers == {"phone": "+77011234567"}  # the wrong email is not kept
    assert saved.form_step == 0
    # The step's page shows the kept answer; its own button still checks everything.
    assert 'value="+77011234567"' in english(citizen).get(step_url(application, 0)).content.decode()
    refused = english(citizen).post(step_url(application, 0), {"email": "not an address"})
    assert refused.status_code == 400


def test_a_wrong_or_missing_answer_leaves_the_earlier_one(service, citizen):
    application = draft(citizen)
    services.application_save(application=application, applicant=citizen, values=STEP_ONE, step=0)
    before = reload(application).answers
    response = english(citizen).post(keep_url(application, 0), {"phone": "12"})
    assert response.status_code == 204  # nothing kept: the status line is left as it was
    assert reload(application).answers == before


def test_fields_of_other_steps_registers_and_forged_names_are_left_alone(service, citizen):
    application = draft(citizen)
    prefilled = dict(reload(application).prefilled)
    english(citizen).post(
        keep_url(application, 0),
        {
            "purpose": "work",
            "last_name": "Forged",
            "is_admin": "true",
            "phone": "+77011234567",
        },
    )
    saved = reload(application)
    assert saved.answers == {"phone": "+77011234567"}
    assert saved.prefilled == prefilled


def test_the_status_is_in_the_readers_language(service, citizen):
    application = draft(citizen)
    client = client_for(citizen)
    client.cookies["shanyraq_language"] = "ru"
    body = client.post(keep_url(application, 0), {"phone": "+77011234567"}).content.decode()
    assert application.number in body
    assert "Your answers are saved" not in body


def test_only_the_applicant_keeps_answers_of_a_draft(service, citizen, other, official):
    application = draft(citizen)
    assert (
        english(other).post(keep_url(application, 0), {"phone": "+77011234567"}).status_code == 404
    )
    staff = english(official).post(keep_url(application, 0), {"phone": "+77011234567"})
    assert staff.status_code == 403  # the applications' pages are for people with an IIN
    anonymous = english(None).post(keep_url(application, 0), {"phone": "+77011234567"})
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    assert english(citizen).get(keep_url(application, 0)).status_code == 405
    assert english(citizen).post(keep_url(application, 7), {}).status_code == 404
    assert reload(application).answers == {}


def test_a_submitted_application_is_not_changed(service, citizen):
    application = submitted(citizen)
    answers = reload(application).answers
    response = english(citizen).post(keep_url(application, 0), {"phone": "+77019999999"})
    assert response.status_code == 409
    assert reload(application).answers == answers
    assert reload(application).status != Status.DRAFT


def test_keeping_needs_the_csrf_token(service, citizen):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(citizen)
    application = draft(citizen)
    assert client.post(keep_url(application, 0), {"phone": "+77011234567"}).status_code == 403
    assert reload(application).answers == {}


def test_the_step_form_posts_here_only_with_htmx_and_without_files(service, citizen):
    application = draft(citizen)
    html = english(citizen).get(step_url(application, 0)).content.decode()
    assert f'hx-post="{keep_url(application, 0)}"' in html
    assert f'action="{step_url(application, 0)}"' in html  # the plain form still posts here
    assert 'id="draft-status" role="status"' in html
