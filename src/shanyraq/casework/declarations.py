"""What a service version declares about its applications, beyond the form: checked here.

A version's ``process`` is the workflow (``casework.workflow``) plus three parts this module
reads:

``facts``
    Register records the case needs, by name: ``{"property": {"register": "real_estate",
    "key": {"var": "answers.cadastral_number"}}}``. They are read when the application is
    submitted (and recorded in the data tracker as read by the agency for the application),
    and given to the rules and to ``on_approval`` as ``facts.property``. The applicant's own
    population record is always there as ``person``.
``parties``
    People named in the form who must confirm before the case starts:
    ``[{"role": "buyer", "iin_field": "buyer_iin", "label": {kk, ru, en}}]``.
``on_approval.register_changes``
    What an approval changes in the registers, through the registers' services:
    ``{"register": "population", "op": "update", "key": <expr>, "set": {field: <expr>}}`` or
    ``{"register": "business", "op": "create", "data": {field: <expr>}, "allocate": "bin"}``.

Every ``<expr>`` is a rule expression (``shanyraq.rules.engine``) over the same facts the
rules see: ``answers``, ``applicant``, ``today``, ``application`` and the named facts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shanyraq.rules.engine import label_errors, validate_rule, validate_rule_set

from .workflow import load_process, validate_process

__all__ = [
    "RESERVED_FACTS",
    "declaration_problems",
    "fact_specs",
    "party_specs",
    "workflow_of",
]

RESERVED_FACTS = frozenset({"answers", "applicant", "today", "application", "person"})
REGISTERS = frozenset({"population", "real_estate", "business"})
ALLOCATIONS = frozenset({"bin"})


def _form_fields(form: Mapping[str, Any]) -> set[str]:
    schema = form.get("schema") if isinstance(form, Mapping) else None
    properties = schema.get("properties") if isinstance(schema, Mapping) else None
    return set(properties) if isinstance(properties, Mapping) else set()


def _facts_problems(facts: object) -> list[str]:
    if facts is None:
        return []
    if not isinstance(facts, Mapping):
        return ["facts: an object of named register reads"]
    problems = []
    for name, spec in facts.items():
        where = f"facts.{name}"
        if not isinstance(name, str) or not name.isidentifier() or name in RESERVED_FACTS:
            problems.append(f"{where}: a name not among {sorted(RESERVED_FACTS)}")
            continue
        if not isinstance(spec, Mapping) or set(spec) - {"register", "key", "fields"}:
            problems.append(f"{where}: needs 'register' and 'key' (and optionally 'fields')")
            continue
        if spec.get("register") not in REGISTERS:
            problems.append(f"{where}.register: one of {sorted(REGISTERS)}")
        problems += validate_rule(spec.get("key"), path=f"{where}.key")
        fields = spec.get("fields")
        if fields is not None and not (
            isinstance(fields, list) and all(isinstance(f, str) for f in fields)
        ):
            problems.append(f"{where}.fields: a list of field names")
    return problems


def _parties_problems(parties: object, fields: set[str]) -> list[str]:
    if parties is None:
        return []
    if not isinstance(parties, list):
        return ["parties: a list"]
    problems, roles = [], set()
    for index, party in enumerate(parties):
        where = f"parties[{index}]"
        if not isinstance(party, Mapping) or set(party) != {"role", "iin_field", "label"}:
            problems.append(f"{where}: needs exactly 'role', 'iin_field' and 'label'")
            continue
        role = party["role"]
        if not isinstance(role, str) or not role.isidentifier() or role in roles:
            problems.append(f"{where}.role: a unique name")
        roles.add(role)
        if party["iin_field"] not in fields:
            problems.append(f"{where}.iin_field: not a field of the form")
        problems += label_errors(party["label"], f"{where}.label")
    return problems


def _changes_problems(on_approval: object) -> list[str]:
    if not isinstance(on_approval, Mapping):
        return []
    changes = on_approval.get("register_changes", [])
    unknown = set(on_approval) - {"register_changes", "documents"}
    problems = [f"on_approval: unknown keys {sorted(unknown)}"] if unknown else []
    if not isinstance(changes, list):
        return [*problems, "on_approval.register_changes: a list"]
    for index, change in enumerate(changes):
        where = f"on_approval.register_changes[{index}]"
        if not isinstance(change, Mapping):
            problems.append(f"{where}: an object")
            continue
        if change.get("register") not in REGISTERS:
            problems.append(f"{where}.register: one of {sorted(REGISTERS)}")
        op = change.get("op")
        if op == "update":
            allowed, values = {"register", "op", "key", "set"}, change.get("set")
            problems += validate_rule(change.get("key"), path=f"{where}.key")
        elif op == "create":
            allowed, values = {"register", "op", "data", "allocate"}, change.get("data")
            if "allocate" in change and change["allocate"] not in ALLOCATIONS:
                problems.append(f"{where}.allocate: one of {sorted(ALLOCATIONS)}")
        else:
            problems.append(f"{where}.op: 'create' or 'update'")
            continue
        if set(change) - allowed:
            problems.append(f"{where}: unknown keys {sorted(set(change) - allowed)}")
        if not isinstance(values, Mapping) or not values:
            problems.append(f"{where}: name the fields to write and their values")
            continue
        for name, expression in values.items():
            problems += validate_rule(expression, path=f"{where}.{name}")
    return problems


def declaration_problems(
    form: Mapping[str, Any], process: object, rules: object | None
) -> list[str]:
    """Every problem with a version's process and rules, given its form; empty when usable."""
    if not isinstance(process, Mapping):
        return ["process: an object"]
    workflow = workflow_of(process)
    problems = [f"process: {p}" for p in validate_process(workflow)]
    problems += [f"process.{p}" for p in _facts_problems(process.get("facts"))]
    fields = _form_fields(form)
    problems += [f"process.{p}" for p in _parties_problems(process.get("parties"), fields)]
    problems += [f"process.{p}" for p in _changes_problems(process.get("on_approval"))]
    if rules is not None:
        problems += [f"rules.{p}" for p in validate_rule_set(rules)]
    elif not problems and any(load_process(workflow).decides(s) for s in _step_ids(workflow)):
        problems.append("rules: an automatic decision step needs decision rules")
    return problems


def workflow_of(process: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a process the workflow engine runs."""
    return {k: v for k, v in process.items() if k not in {"facts", "parties"}}


def _step_ids(process: Mapping[str, Any]) -> list[str]:
    return [str(step["id"]) for step in process.get("steps", []) if isinstance(step, Mapping)]


def fact_specs(process: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The register reads a process declares, by the name the rules know them by."""
    return {str(name): dict(spec) for name, spec in (process.get("facts") or {}).items()}


def party_specs(process: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The parties who must confirm, as declared."""
    return [dict(party) for party in process.get("parties") or []]
