"""What a service version declares about its applications, beyond the form: checked here.

A version's ``process`` is the workflow (``casework.workflow``) plus the parts this module
reads:

``facts``
    Register records the case needs, by name: ``{"property": {"register": "real_estate",
    "key": {"var": "answers.cadastral_number"}}}``. They are read when the application is
    submitted (and recorded in the data tracker as read by the agency for the application),
    and given to the rules and to ``on_approval`` under their name (``property``). The
    applicant's own population record is always there as ``person``.
``parties``
    People named in the form who must confirm before the case starts:
    ``[{"role": "buyer", "iin_field": "buyer_iin", "label": {kk, ru, en}}]``.
``proactive``
    When the service is offered without being asked for: the life event, the recipients,
    their entitlement and the answers (``shanyraq.proactive.declarations``).
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

from shanyraq.proactive.declarations import proactive_problems
from shanyraq.rules.engine import label_errors, validate_rule, validate_rule_set

from .workflow import StepKind, load_process, validate_process

__all__ = [
    "RESERVED_FACTS",
    "declaration_problems",
    "fact_specs",
    "party_specs",
    "workflow_of",
]

RESERVED_FACTS = frozenset({"answers", "applicant", "today", "application", "person"})
REGISTERS = frozenset({"population", "real_estate", "business"})
# Keys the platform allocates itself, and the register each belongs to.
ALLOCATIONS = {"bin": "business"}
# Officials' roles (``accounts.Role``): only they can be given a task step to work.
OFFICIAL_ROLES = frozenset({"clerk", "reviewer", "head"})


def _form_fields(form: Mapping[str, Any]) -> set[str]:
    schema = form.get("schema") if isinstance(form, Mapping) else None
    properties = schema.get("properties") if isinstance(schema, Mapping) else None
    return set(properties) if isinstance(properties, Mapping) else set()


def _form_required(form: Mapping[str, Any]) -> set[str]:
    schema = form.get("schema") if isinstance(form, Mapping) else None
    required = schema.get("required") if isinstance(schema, Mapping) else None
    return {r for r in required if isinstance(r, str)} if isinstance(required, list) else set()


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
        if (
            not isinstance(spec, Mapping)
            or not {"register", "key"} <= set(spec)
            or set(spec) - {"register", "key", "fields"}
        ):
            problems.append(f"{where}: needs 'register' and 'key' (and optionally 'fields')")
            continue
        if not isinstance(spec["register"], str) or spec["register"] not in REGISTERS:
            problems.append(f"{where}.register: one of {sorted(REGISTERS)}")
        problems += validate_rule(spec["key"], path=f"{where}.key")
        fields = spec.get("fields")
        if fields is not None and not (
            isinstance(fields, list) and fields and all(isinstance(f, str) for f in fields)
        ):
            problems.append(f"{where}.fields: a list of field names")
    return problems


def _parties_problems(parties: object, fields: set[str], required: set[str]) -> list[str]:
    if parties is None:
        return []
    if not isinstance(parties, list):
        return ["parties: a list"]
    problems: list[str] = []
    roles: set[str] = set()
    for index, party in enumerate(parties):
        where = f"parties[{index}]"
        if not isinstance(party, Mapping) or set(party) != {"role", "iin_field", "label"}:
            problems.append(f"{where}: needs exactly 'role', 'iin_field' and 'label'")
            continue
        role, iin_field = party["role"], party["iin_field"]
        if not isinstance(role, str) or not role.isidentifier() or role in roles:
            problems.append(f"{where}.role: a unique name")
        else:
            roles.add(role)
        if not isinstance(iin_field, str) or iin_field not in fields:
            problems.append(f"{where}.iin_field: not a field of the form")
        elif iin_field not in required:
            # Without the party's IIN nobody could confirm, and the case would never start.
            problems.append(f"{where}.iin_field: the form must require this field")
        problems += label_errors(party["label"], f"{where}.label")
    return problems


def _change_problems(change: Mapping[str, Any], where: str) -> list[str]:
    problems = []
    register = change.get("register")
    if not isinstance(register, str) or register not in REGISTERS:
        problems.append(f"{where}.register: one of {sorted(REGISTERS)}")
    op = change.get("op")
    if op == "update":
        allowed, values = {"register", "op", "key", "set"}, change.get("set")
        if "key" not in change:
            problems.append(f"{where}.key: the record to change")
        else:
            problems += validate_rule(change["key"], path=f"{where}.key")
    elif op == "create":
        allowed, values = {"register", "op", "data", "allocate"}, change.get("data")
        if "allocate" in change:
            allocate = change["allocate"]
            if not isinstance(allocate, str) or allocate not in ALLOCATIONS:
                problems.append(f"{where}.allocate: one of {sorted(ALLOCATIONS)}")
            elif ALLOCATIONS[allocate] != register:
                problems.append(f"{where}.allocate: only for the {ALLOCATIONS[allocate]} register")
    else:
        return [*problems, f"{where}.op: 'create' or 'update'"]
    if set(change) - allowed:
        problems.append(f"{where}: unknown keys {sorted(set(change) - allowed)}")
    if not isinstance(values, Mapping) or not values:
        return [*problems, f"{where}: name the fields to write and their values"]
    for name, expression in values.items():
        if not isinstance(name, str) or not name:
            problems.append(f"{where}: field names are text")
            continue
        problems += validate_rule(expression, path=f"{where}.{name}")
    return problems


DOCUMENT_KINDS = ("certificate", "extract", "decision")
LANGUAGES = ("kk", "ru", "en")


def _trilingual(value: object) -> bool:
    return isinstance(value, Mapping) and all(
        isinstance(value.get(lang), str) and value[lang].strip() for lang in LANGUAGES
    )


def is_fixed_text(value: object) -> bool:
    """A document line's value that is text in the three languages, not an expression."""
    return isinstance(value, Mapping) and set(value) == set(LANGUAGES)


def _documents_problems(documents: object) -> list[str]:
    """``on_approval.documents``: what an approval issues, each line a label in the three
    languages and a value: fixed text in the three languages, or an expression over the
    case's facts."""
    if not isinstance(documents, list):
        return ["on_approval.documents: a list"]
    problems: list[str] = []
    for index, spec in enumerate(documents):
        where = f"on_approval.documents[{index}]"
        if not isinstance(spec, Mapping):
            problems.append(f"{where}: an object")
            continue
        if set(spec) - {"kind", "title", "lines"}:
            problems.append(
                f"{where}: unknown keys {sorted(set(spec) - {'kind', 'title', 'lines'})}"
            )
        if spec.get("kind") not in DOCUMENT_KINDS:
            problems.append(f"{where}.kind: one of {list(DOCUMENT_KINDS)}")
        if not _trilingual(spec.get("title")):
            problems.append(f"{where}.title: text in kk, ru and en")
        lines = spec.get("lines")
        if not isinstance(lines, list) or not lines:
            problems.append(f"{where}.lines: a list of lines")
            continue
        for number, line in enumerate(lines):
            place = f"{where}.lines[{number}]"
            if not isinstance(line, Mapping) or set(line) != {"label", "value"}:
                problems.append(f"{place}: an object with a label and a value")
                continue
            if not _trilingual(line["label"]):
                problems.append(f"{place}.label: text in kk, ru and en")
            if is_fixed_text(line["value"]):
                problems += label_errors(line["value"], f"{place}.value")
            else:
                problems += validate_rule(line["value"], path=f"{place}.value")
    return problems


def _changes_problems(on_approval: object) -> list[str]:
    if not isinstance(on_approval, Mapping):
        return []
    changes = on_approval.get("register_changes", [])
    unknown = set(on_approval) - {"register_changes", "documents"}
    problems = [f"on_approval: unknown keys {sorted(unknown)}"] if unknown else []
    if "documents" in on_approval:
        problems += _documents_problems(on_approval["documents"])
    if not isinstance(changes, list):
        return [*problems, "on_approval.register_changes: a list"]
    for index, change in enumerate(changes):
        where = f"on_approval.register_changes[{index}]"
        if not isinstance(change, Mapping):
            problems.append(f"{where}: an object")
            continue
        problems += _change_problems(change, where)
    return problems


def _role_problems(workflow: Mapping[str, Any]) -> list[str]:
    """Task steps must name a role officials hold, or nobody but a head could ever work them."""
    problems = []
    for index, step in enumerate(workflow.get("steps") or []):
        if not isinstance(step, Mapping) or step.get("kind") != StepKind.TASK:
            continue
        role = step.get("role")
        if isinstance(role, str) and role not in OFFICIAL_ROLES:
            problems.append(f"steps[{index}].role: one of {sorted(OFFICIAL_ROLES)}")
    return problems


def declaration_problems(
    form: Mapping[str, Any], process: object, rules: object | None
) -> list[str]:
    """Every problem with a version's process and rules, given its form; empty when usable."""
    if not isinstance(process, Mapping):
        return ["process: an object"]
    workflow = workflow_of(process)
    workflow_problems = validate_process(workflow)
    problems = [f"process: {p}" for p in workflow_problems]
    if isinstance(workflow.get("steps"), list):
        problems += [f"process.{p}" for p in _role_problems(workflow)]
    problems += [f"process.{p}" for p in _facts_problems(process.get("facts"))]
    fields, required = _form_fields(form), _form_required(form)
    problems += [
        f"process.{p}" for p in _parties_problems(process.get("parties"), fields, required)
    ]
    problems += [f"process.{p}" for p in _changes_problems(process.get("on_approval"))]
    if "proactive" in process:
        problems += [f"process.{p}" for p in proactive_problems(process["proactive"], fields)]
    if rules is not None:
        problems += [f"rules.{p}" for p in validate_rule_set(rules)]
    elif not workflow_problems and any(
        load_process(workflow).decides(s) for s in _step_ids(workflow)
    ):
        problems.append("rules: an automatic decision step needs decision rules")
    return problems


def workflow_of(process: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a process the workflow engine runs."""
    return {k: v for k, v in process.items() if k not in {"facts", "parties", "proactive"}}


def _step_ids(process: Mapping[str, Any]) -> list[str]:
    return [str(step["id"]) for step in process.get("steps", []) if isinstance(step, Mapping)]


def fact_specs(process: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The register reads a process declares, by the name the rules know them by."""
    return {str(name): dict(spec) for name, spec in (process.get("facts") or {}).items()}


def party_specs(process: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The parties who must confirm, as declared."""
    return [dict(party) for party in process.get("parties") or []]
