"""What a service version declares about offering itself when something happens in a life.

A version's ``process`` may hold a ``proactive`` part::

    "proactive": {
        "event": "PersonBorn",
        "recipients": "parents",
        "conditions": <expr>,
        "answers": {"child_iin": {"var": "event.iin"}, ...},
        "offer_days": 30
    }

``event``
    The life event the registers announce (``LIFE_EVENTS``). ``PersonReachedAge`` also
    names the ``age`` (or ages) it is about: ``"event": "PersonReachedAge", "age": [61, 63]``;
    the event's ``age`` tells the conditions which one was reached.
``recipients``
    Whom the offer goes to, one of ``RECIPIENTS``: ``"parents"`` of a newborn (living, with
    parental rights), or the person the event is about (``"subject"``). A spouse is reached
    by the ``MarriageRegistered`` event of their own record.
``conditions``
    A rule expression (``shanyraq.rules.engine``), true when the recipient is entitled;
    evaluated once per recipient over ``event`` (the event's data), ``subject`` (the
    population record of the person the event is about), ``person`` (the recipient's
    population record), ``recipient`` (``iin``, ``relation`` to the subject, ``phone`` when
    known) and ``today``. Absent means always.
``answers``
    The application's answers, by form field, as expressions over the same facts; fields
    the form prefills from the registers need none. An answer that comes out null is left
    out.
``offer_days``
    How many days the person has to accept (1-366).

Everything a declaration names is checked here, without a database, when the version is
published, so that an offer can never be made from a declaration that cannot work.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from shanyraq.rules.engine import validate_rule

__all__ = [
    "LIFE_EVENTS",
    "RECIPIENTS",
    "Proactive",
    "proactive_of",
    "proactive_problems",
]

LIFE_EVENTS: Final = frozenset(
    {
        "PersonBorn",
        "PersonDied",
        "MarriageRegistered",
        "AddressChanged",
        "PropertyAcquired",
        "BusinessRegistered",
        "PersonReachedAge",
    }
)
# Which recipients each event can have: the newborn's parents only where there is a newborn.
RECIPIENTS: Final = {
    "parents": frozenset({"PersonBorn"}),
    "subject": LIFE_EVENTS - {"PersonBorn", "BusinessRegistered"},
    "persons": frozenset({"BusinessRegistered"}),
}
_KEYS: Final = ("event", "age", "recipients", "conditions", "answers", "offer_days")
MAX_AGE: Final = 130
MAX_OFFER_DAYS: Final = 366
DEFAULT_OFFER_DAYS: Final = 30


@dataclass(frozen=True)
class Proactive:
    """A checked declaration."""

    event: str
    recipients: str
    conditions: Any
    answers: Mapping[str, Any]
    offer_days: int
    ages: tuple[int, ...] = ()


def proactive_problems(declaration: object, form_fields: set[str]) -> list[str]:
    """Every problem with a ``proactive`` declaration, given the form's fields."""
    if not isinstance(declaration, Mapping):
        return ["proactive: an object"]
    problems = [f"proactive.{key}: unknown key" for key in declaration if key not in _KEYS]
    event = declaration.get("event")
    if event not in LIFE_EVENTS:
        problems.append(f"proactive.event: one of {sorted(LIFE_EVENTS)}")
    age = declaration.get("age")
    if event == "PersonReachedAge":
        ages = age if isinstance(age, list) and age else [age]
        if not all(type(a) is int and 0 < a <= MAX_AGE for a in ages) or len(ages) > 10:
            problems.append(
                f"proactive.age: a whole number of years, 1 to {MAX_AGE}, or a list of them"
            )
    elif age is not None:
        problems.append("proactive.age: only for PersonReachedAge")
    recipients = declaration.get("recipients")
    if recipients not in RECIPIENTS:
        problems.append(f"proactive.recipients: one of {sorted(RECIPIENTS)}")
    elif event in LIFE_EVENTS and event not in RECIPIENTS[str(recipients)]:
        problems.append(f"proactive.recipients: {recipients} cannot be reached from {event}")
    if "conditions" in declaration:
        problems += validate_rule(declaration["conditions"], path="proactive.conditions")
    answers = declaration.get("answers", {})
    if not isinstance(answers, Mapping):
        problems.append("proactive.answers: an object of form fields and expressions")
    else:
        for field, expression in answers.items():
            if field not in form_fields:
                problems.append(f"proactive.answers.{field}: not a field of the form")
            problems += validate_rule(expression, path=f"proactive.answers.{field}")
    days = declaration.get("offer_days", DEFAULT_OFFER_DAYS)
    if type(days) is not int or not 0 < days <= MAX_OFFER_DAYS:
        problems.append(f"proactive.offer_days: a whole number of days, 1 to {MAX_OFFER_DAYS}")
    return problems


def proactive_of(process: object) -> Proactive | None:
    """A version's checked declaration, or None when it declares none (or a broken one: a
    published version's declaration was checked at publication)."""
    if not isinstance(process, Mapping) or "proactive" not in process:
        return None
    declaration = process["proactive"]
    if not isinstance(declaration, Mapping) or proactive_problems(
        declaration, set(declaration.get("answers", {}) or {})
    ):
        return None
    return Proactive(
        event=str(declaration["event"]),
        recipients=str(declaration["recipients"]),
        conditions=declaration.get("conditions", True),
        answers=dict(declaration.get("answers") or {}),
        offer_days=int(declaration.get("offer_days", DEFAULT_OFFER_DAYS)),
        ages=_ages(declaration.get("age")),
    )


def _ages(value: object) -> tuple[int, ...]:
    if value is None:
        return ()
    return tuple(sorted(set(value))) if isinstance(value, list) else (int(str(value)),)
