"""Life events: what a change to a register means for the people it names.

A register's generic events (``registry.record_updated``) say that a record changed; handlers
that start proactive services need to know what happened to whom: a child was born, a person
died, married, moved house, acquired a flat, registered a company. ``derive`` tells that from
one change, the data before and after it, and nothing else: it reads no database, so the
writing services call it inside their transaction and record its events in the outbox with
the change.

Each payload carries only what a handler needs to find the people concerned and decide; the
writing service adds ``register``, ``record`` (the record's public id) and ``version``. Loads
of existing records are not life events and never reach ``derive``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ADDRESS_CHANGED",
    "BUSINESS_REGISTERED",
    "LIFE_EVENT_TYPES",
    "MARRIAGE_REGISTERED",
    "PERSON_BORN",
    "PERSON_DIED",
    "PROPERTY_ACQUIRED",
    "LifeEvent",
    "derive",
    "needs_before",
]

PERSON_BORN = "PersonBorn"
PERSON_DIED = "PersonDied"
MARRIAGE_REGISTERED = "MarriageRegistered"
ADDRESS_CHANGED = "AddressChanged"
PROPERTY_ACQUIRED = "PropertyAcquired"
BUSINESS_REGISTERED = "BusinessRegistered"
LIFE_EVENT_TYPES = (
    PERSON_BORN,
    PERSON_DIED,
    MARRIAGE_REGISTERED,
    ADDRESS_CHANGED,
    PROPERTY_ACQUIRED,
    BUSINESS_REGISTERED,
)

POPULATION = "population"
REAL_ESTATE = "real_estate"
BUSINESS = "business"

CREATE = "create"
UPDATE = "update"

MARRIED = "married"


@dataclass(frozen=True)
class LifeEvent:
    """An event type from ``LIFE_EVENT_TYPES`` and its JSON payload."""

    type: str
    payload: dict[str, Any]


def needs_before(register_code: str) -> bool:
    """Whether ``derive`` compares an update of this register with the data it replaces."""
    return register_code in (POPULATION, REAL_ESTATE)


def derive(
    register_code: str,
    op: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    *,
    birth: Mapping[str, Any] | bool | None = None,
) -> list[LifeEvent]:
    """The life events one change of a record amounts to, in a stable order.

    ``op`` is ``"create"``, ``"update"`` or ``"delete"``; ``before`` is the data the change
    replaces (None for a create), ``after`` the data it writes (None or empty for a deletion).
    ``birth`` marks a population record created by registering a birth (the birth's facts, a
    mapping, possibly empty, or True): only such a create is a ``PersonBorn``; a person created
    otherwise (a migration, an immigrant) was not born today.
    """
    op = str(op)
    if after is None or op not in (CREATE, UPDATE):
        return []
    previous: Mapping[str, Any] = (before or {}) if op == UPDATE else {}
    if register_code == POPULATION:
        if op == CREATE:
            if birth is None or birth is False:
                return []
            return [_born(after, birth if isinstance(birth, Mapping) else {})]
        return _person_changes(previous, after)
    if register_code == REAL_ESTATE:
        return _acquired(previous, after)
    if register_code == BUSINESS and op == CREATE:
        return [_business(after)]
    return []


def _born(after: Mapping[str, Any], facts: Mapping[str, Any]) -> LifeEvent:
    parents = [
        {"iin": parent.get("iin"), "relation": parent.get("relation")}
        for parent in _items(after.get("parents"))
    ]
    return LifeEvent(
        PERSON_BORN,
        {
            "iin": after.get("iin"),
            "birth_date": after.get("birth_date"),
            "sex": after.get("sex"),
            "parents": parents,
            **({"birth": dict(facts)} if facts else {}),
        },
    )


def _person_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[LifeEvent]:
    iin = after.get("iin")
    found: list[LifeEvent] = []
    died = after.get("date_of_death")
    if died and not before.get("date_of_death"):
        found.append(LifeEvent(PERSON_DIED, {"iin": iin, "date_of_death": died}))
    spouse = after.get("spouse_iin")
    married = after.get("marital_status") == MARRIED and before.get("marital_status") != MARRIED
    if married and spouse:
        found.append(LifeEvent(MARRIAGE_REGISTERED, {"iin": iin, "spouse_iin": spouse}))
    # Losing one's registration without a new address is not a move: no AddressChanged.
    address = after.get("registered_address")
    if address and address != before.get("registered_address"):
        found.append(
            LifeEvent(
                ADDRESS_CHANGED,
                {
                    "iin": iin,
                    "before": copy.deepcopy(before.get("registered_address")),
                    "after": copy.deepcopy(address),
                },
            )
        )
    return found


def _acquired(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[LifeEvent]:
    """One event per person who owns a share after the change and did not before.

    Owners that are legal entities (a BIN) are not people; an owner whose share only changed
    acquired nothing new.
    """
    owned_before = {owner.get("iin") for owner in _items(before.get("owners"))}
    found: list[LifeEvent] = []
    for owner in _items(after.get("owners")):
        iin = owner.get("iin")
        if not iin or iin in owned_before:
            continue
        owned_before.add(iin)  # a person named twice acquired once
        payload: dict[str, Any] = {"iin": iin, "property": after.get("cadastral_number")}
        if "share" in owner:
            payload["share"] = owner["share"]
        found.append(LifeEvent(PROPERTY_ACQUIRED, payload))
    return found


def _business(after: Mapping[str, Any]) -> LifeEvent:
    persons: dict[str, None] = {}
    for role in ("founders", "directors"):
        for person in _items(after.get(role)):
            iin = person.get("iin")
            if isinstance(iin, str) and iin:
                persons.setdefault(iin)
    return LifeEvent(BUSINESS_REGISTERED, {"bin": after.get("bin"), "persons": list(persons)})


def _items(value: Any) -> Iterable[Mapping[str, Any]]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, Mapping)]
