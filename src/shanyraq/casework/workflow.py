"""Declared casework processes, and the engine that moves a case through one.

Each published service version declares its process as JSON data (the shape is in
``docs/casework-engines.md``): steps done by the system (``auto``) or by an official holding a
role (``task``, with a deadline in working days), and the named actions that lead from step to
step. ``approved``, ``rejected`` and ``withdrawn`` are implicit final states; the applicant may
``withdraw`` from any step that is not final, and answers a ``request_info`` with
``provide_info``, without the process declaring either.

The engine is a set of pure functions over an immutable ``CaseState``. Every change returns
the new state and one ``HistoryEvent``, meant for an append-only table; anything not allowed
raises ``TransitionError`` with a stable ``code`` and changes nothing. Deadlines count working
days on the calendar passed in, normally ``shanyraq.core.calendar.kazakhstan_calendar()``:

* A step entered on day D is due ``deadline_days`` working days after D, not counting D. A
  step entered on a day off counts as entered on the next working day, as an application
  received on a day off counts as received then: entered Friday with 5 days, due next Friday;
  entered Saturday or Sunday, due the Monday after next.
* ``request_info`` stops the step's clock; ``provide_info`` restarts it and moves the deadline
  by the working days the case waited: those after the day of the request up to and including
  the day of the answer (the official had the day of the request; the day the answer comes
  is the applicant's). Asked and answered on the same day, the deadline stays.

Times (``at``) are the agency's local time: their date is the day that counts.
"""

from __future__ import annotations

import copy
import datetime
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Final, Generic, Literal, Protocol, TypeAlias, TypeVar

from shanyraq.rules.engine import OUTCOMES, label_errors

__all__ = [
    "APPLICANT",
    "APPROVED",
    "COMPLETE",
    "DECISION_ACTIONS",
    "MAX_DEADLINE_DAYS",
    "PROVIDE_INFO",
    "REJECTED",
    "REQUEST_INFO",
    "SUBMIT",
    "SYSTEM",
    "TERMINAL_STEPS",
    "WITHDRAW",
    "WITHDRAWN",
    "CaseState",
    "CaseStatus",
    "DeadlineState",
    "Escalation",
    "HistoryEvent",
    "InvalidProcess",
    "Process",
    "Step",
    "StepKind",
    "Transition",
    "TransitionError",
    "WorkingDays",
    "advance",
    "apply",
    "available_actions",
    "deadline_state",
    "escalations",
    "load_process",
    "start",
    "step_deadline",
    "validate_process",
]

APPLICANT: Final = "applicant"
SYSTEM: Final = "system"
SUBMIT: Final = "submit"
"""The action recorded by ``start``: the applicant submitted the application."""
WITHDRAW: Final = "withdraw"
REQUEST_INFO: Final = "request_info"
PROVIDE_INFO: Final = "provide_info"
COMPLETE: Final = "complete"
"""The one action of an automatic step that does its work and moves on."""
DECISION_ACTIONS: Final = frozenset(OUTCOMES)
"""The actions of an automatic decision step: the outcomes of a rule set's ``Decision``."""
APPROVED: Final = "approved"
REJECTED: Final = "rejected"
WITHDRAWN: Final = "withdrawn"
TERMINAL_STEPS: Final = (APPROVED, REJECTED, WITHDRAWN)
MAX_DEADLINE_DAYS: Final = 250
"""About a working year: a longer step deadline is a typing mistake."""

_NAME: Final = re.compile(r"[a-z][a-z0-9_]{0,63}", re.ASCII)
_IMPLICIT_ACTIONS: Final = frozenset({SUBMIT, WITHDRAW, PROVIDE_INFO})
_ACTORS_NOT_ROLES: Final = frozenset({APPLICANT, SYSTEM})
_PROCESS_KEYS: Final = ("start", "steps", "transitions", "on_approval")
_STEP_KEYS: Final = ("id", "kind", "role", "deadline_days", "label")
_TRANSITION_KEYS: Final = ("from", "action", "to")


class WorkingDays(Protocol):
    """What the engine needs of a calendar (``shanyraq.core.calendar.WorkingCalendar``)."""

    def is_working_day(self, day: datetime.date) -> bool: ...

    def add_working_days(self, start: datetime.date, n: int) -> datetime.date: ...

    def working_days_between(self, a: datetime.date, b: datetime.date) -> int: ...


# --- definitions --------------------------------------------------------------------------


class StepKind(StrEnum):
    AUTO = "auto"
    TASK = "task"


@dataclass(frozen=True)
class Step:
    id: str
    kind: StepKind
    role: str | None = None
    deadline_days: int | None = None
    label: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Transition:
    from_step: str
    action: str
    to_step: str


@dataclass(frozen=True)
class Process:
    """A validated process definition; build it with ``load_process``."""

    start: str
    steps: Mapping[str, Step]
    transitions: tuple[Transition, ...]
    on_approval: Mapping[str, Any]
    """Passed through untouched, for whoever acts on an approval."""

    def routes(self, step_id: str) -> dict[str, str]:
        """The declared actions from a step and where each leads, in declared order."""
        return {t.action: t.to_step for t in self.transitions if t.from_step == step_id}

    def decides(self, step_id: str) -> bool:
        """Whether the step is an automatic decision (its action comes from a rule set)."""
        step = self.steps.get(step_id)
        return (
            step is not None and step.kind is StepKind.AUTO and COMPLETE not in self.routes(step_id)
        )


class InvalidProcess(ValueError):
    """A process definition failed ``validate_process``; ``errors`` lists every problem."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("invalid process: " + "; ".join(errors))
        self.errors = tuple(errors)


# --- validation ---------------------------------------------------------------------------


def _unknown_keys(data: Mapping[Any, Any], allowed: Sequence[str], path: str) -> list[str]:
    prefix = f"{path}." if path else ""
    return [f"{prefix}{key}: unknown key" for key in data if key not in allowed]


def _name_problem(value: object) -> str | None:
    if isinstance(value, str) and _NAME.fullmatch(value):
        return None
    return "lowercase letters, digits and _, starting with a letter"


def _deadline_problem(value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_DEADLINE_DAYS:
        return None
    return f"a whole number of working days from 1 to {MAX_DEADLINE_DAYS}"


def _task_errors(step: Mapping[Any, Any], path: str) -> list[str]:
    errors = []
    role = step.get("role")
    if _name_problem(role) is not None:
        errors.append(f"{path}.role: a task step needs the role of those who work it")
    elif role in _ACTORS_NOT_ROLES:
        errors.append(f"{path}.role: {role!r} is not a role of officials")
    if "deadline_days" in step:
        problem = _deadline_problem(step["deadline_days"])
        if problem is not None:
            errors.append(f"{path}.deadline_days: {problem}")
    return errors + label_errors(step.get("label"), f"{path}.label")


def _auto_errors(step: Mapping[Any, Any], path: str) -> list[str]:
    errors = [
        f"{path}.{key}: an automatic step has no {key.replace('_', ' ')}"
        for key in ("role", "deadline_days")
        if key in step
    ]
    if "label" in step:
        errors += label_errors(step["label"], f"{path}.label")
    return errors


def _step_errors(step: object, path: str, kinds: dict[str, StepKind]) -> list[str]:
    """Problems with one step; a step fit to be referred to is added to ``kinds``."""
    if not isinstance(step, Mapping):
        return [f"{path}: a step is an object with id and kind"]
    errors = _unknown_keys(step, _STEP_KEYS, path)
    step_id = step.get("id")
    id_problem = _name_problem(step_id)
    if id_problem is not None:
        errors.append(f"{path}.id: {id_problem}")
    elif step_id in TERMINAL_STEPS:
        errors.append(f"{path}.id: {step_id!r} is an implicit final state")
    elif step_id in kinds:
        errors.append(f"{path}.id: {step_id!r} is used by an earlier step")
    kind = step.get("kind")
    if kind == StepKind.TASK:
        errors += _task_errors(step, path)
    elif kind == StepKind.AUTO:
        errors += _auto_errors(step, path)
    else:
        errors.append(f"{path}.kind: 'auto' or 'task'")
    if id_problem is None and kind in tuple(StepKind) and step_id not in kinds:
        kinds[str(step_id)] = StepKind(kind)
    return errors


def _steps_errors(steps: object, kinds: dict[str, StepKind]) -> list[str]:
    if not isinstance(steps, list | tuple) or not steps:
        return ["steps: a non-empty array of steps"]
    errors = []
    for index, step in enumerate(steps):
        errors += _step_errors(step, f"steps[{index}]", kinds)
    return errors


def _route_problem(source: str, action: str, target: object, kind: StepKind) -> str | None:
    """Why an action cannot lead from ``source`` (of ``kind``) to ``target``, if it cannot."""
    if action in _IMPLICIT_ACTIONS:
        return f"{action!r} is implicit and cannot be declared"
    if action == REQUEST_INFO:
        if kind is not StepKind.TASK:
            return "only officials request information, on task steps"
        if target != source:
            return "'request_info' keeps the case at its step: 'to' must be 'from'"
    elif target == source:
        return "a step cannot lead to itself (re-entering would restart its deadline)"
    if kind is StepKind.TASK and action == "undecided":
        return "'undecided' is the outcome of automatic decisions only"
    return None


def _transition_errors(
    transition: object, path: str, kinds: Mapping[str, StepKind], seen: set[tuple[str, str]]
) -> list[str]:
    if not isinstance(transition, Mapping):
        return [f"{path}: a transition is an object with from, action and to"]
    errors = _unknown_keys(transition, _TRANSITION_KEYS, path)
    source, action, target = (transition.get(key) for key in _TRANSITION_KEYS)
    if not isinstance(source, str) or source not in kinds:
        errors.append(f"{path}.from: not a step of this process")
    if not isinstance(target, str) or not (target in kinds or target in TERMINAL_STEPS):
        errors.append(f"{path}.to: not a step of this process or a final state")
    action_problem = _name_problem(action)
    if action_problem is not None:
        errors.append(f"{path}.action: {action_problem}")
    if errors or not isinstance(source, str) or not isinstance(action, str):
        return errors
    if (source, action) in seen:
        return [f"{path}.action: {source!r} already has an action {action!r}"]
    seen.add((source, action))
    problem = _route_problem(source, action, target, kinds[source])
    return [] if problem is None else [f"{path}: {problem}"]


def _transitions_errors(transitions: object, kinds: Mapping[str, StepKind]) -> list[str]:
    if not isinstance(transitions, list | tuple):
        return ["transitions: an array of transitions"]
    errors = []
    seen: set[tuple[str, str]] = set()
    for index, transition in enumerate(transitions):
        errors += _transition_errors(transition, f"transitions[{index}]", kinds, seen)
    return errors


def _shape_errors(definition: Mapping[Any, Any]) -> list[str]:
    kinds: dict[str, StepKind] = {}
    errors = _unknown_keys(definition, _PROCESS_KEYS, "")
    errors += _steps_errors(definition.get("steps"), kinds)
    start_step = definition.get("start")
    if not isinstance(start_step, str) or start_step not in kinds:
        errors.append("start: not a step of this process")
    errors += _transitions_errors(definition.get("transitions"), kinds)
    if not isinstance(definition.get("on_approval", {}), Mapping):
        errors.append("on_approval: an object")
    return errors


def _automatic_step_errors(process: Process, step: Step, where: str) -> list[str]:
    routes = process.routes(step.id)
    if set(routes) == {COMPLETE}:
        return []
    if set(routes) != DECISION_ACTIONS:
        return [
            f"{where}: an automatic step has the one action 'complete', or the actions "
            f"'approve', 'reject' and 'undecided'; it has {sorted(routes)}"
        ]
    target = process.steps.get(routes["undecided"])
    if target is None or target.kind is not StepKind.TASK:
        return [f"{where}: 'undecided' must lead to a task step, where a person decides"]
    return []


def _closure(roots: Iterable[str], edges: Mapping[str, Iterable[str]]) -> set[str]:
    found = set(roots)
    pending = list(found)
    while pending:
        for following in edges.get(pending.pop(), ()):
            if following not in found:
                found.add(following)
                pending.append(following)
    return found


def _automatic_loop(process: Process) -> list[str]:
    """A loop of automatic steps (which would run forever), or [] when there is none."""
    auto = [s.id for s in process.steps.values() if s.kind is StepKind.AUTO]
    edges = {a: [to for to in process.routes(a).values() if to in auto] for a in auto}
    remaining = set(auto)
    shrinking = True
    while shrinking:  # drop steps that lead out of what remains: what is left holds a loop
        ends = {a for a in remaining if not any(to in remaining for to in edges[a])}
        remaining -= ends
        shrinking = bool(ends)
    if not remaining:
        return []
    step = next(a for a in auto if a in remaining)
    path: list[str] = []
    while step not in path:
        path.append(step)
        step = next(to for to in edges[step] if to in remaining)
    return [*path[path.index(step) :], step]


def _graph_errors(process: Process) -> list[str]:
    where = {step_id: f"steps[{i}] ({step_id!r})" for i, step_id in enumerate(process.steps)}
    errors = []
    for step in process.steps.values():
        if step.kind is StepKind.AUTO:
            errors += _automatic_step_errors(process, step, where[step.id])
    forward = {step_id: process.routes(step_id).values() for step_id in process.steps}
    backward: dict[str, list[str]] = {}
    for transition in process.transitions:
        backward.setdefault(transition.to_step, []).append(transition.from_step)
    reachable = _closure([process.start], forward)
    deciding = _closure([APPROVED, REJECTED], backward)
    for step_id in process.steps:
        if step_id not in reachable:
            errors.append(f"{where[step_id]}: cannot be reached from the start step")
        if step_id not in deciding:
            errors.append(f"{where[step_id]}: no way leads from it to 'approved' or 'rejected'")
    loop = _automatic_loop(process)
    if loop:
        errors.append(f"steps: the automatic steps {' -> '.join(loop)} would loop for ever")
    return errors


def _build(definition: Mapping[str, Any]) -> Process:
    steps = {
        step["id"]: Step(
            id=step["id"],
            kind=StepKind(step["kind"]),
            role=step.get("role"),
            deadline_days=step.get("deadline_days"),
            label=dict(step["label"]) if "label" in step else None,
        )
        for step in definition["steps"]
    }
    transitions = tuple(
        Transition(t["from"], t["action"], t["to"]) for t in definition["transitions"]
    )
    on_approval = copy.deepcopy(dict(definition.get("on_approval", {})))
    return Process(definition["start"], steps, transitions, on_approval)


def _check(definition: object) -> tuple[list[str], Process | None]:
    if not isinstance(definition, Mapping):
        return ["process: an object with start, steps and transitions"], None
    errors = _shape_errors(definition)
    if errors:
        return errors, None  # the graph is only worth judging once its parts are sound
    process = _build(definition)
    errors = _graph_errors(process)
    return errors, None if errors else process


def validate_process(definition: object) -> list[str]:
    """Every problem in a process definition, each as "<where>: <what>"; empty when valid.

    Beyond its shape: each step is reachable from the start and can lead to ``approved`` or
    ``rejected``; automatic steps have either the action ``complete`` or the decision actions
    ``approve``/``reject``/``undecided`` (``undecided`` leading to a task step), and never
    loop among themselves; ``request_info`` stays on its task step; no other action leads a
    step to itself.
    """
    return _check(definition)[0]


def load_process(definition: object) -> Process:
    """The ``Process`` a definition declares; raises ``InvalidProcess`` when it is not valid."""
    errors, process = _check(definition)
    if process is None:
        raise InvalidProcess(errors)
    return process


# --- cases --------------------------------------------------------------------------------


class CaseStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    """Waiting for the applicant to provide information; the deadline clock is stopped."""
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


_TERMINAL_STATUSES: Final = frozenset(
    {CaseStatus.APPROVED, CaseStatus.REJECTED, CaseStatus.WITHDRAWN}
)


def _iso(value: datetime.date | None) -> str | None:
    return None if value is None else value.isoformat()


@dataclass(frozen=True)
class CaseState:
    """Where a case stands. In a final state ``step`` is the final state's name."""

    step: str
    status: CaseStatus
    entered_on: datetime.date
    """The day the case entered ``step``."""
    updated_at: datetime.datetime
    """The time of the case's last event; a later event cannot come before it."""
    deadline: datetime.date | None = None
    paused_since: datetime.date | None = None
    paused_days: int = 0
    """Working days the step's clock has stood still so far (summed over requests)."""

    @property
    def is_terminal(self) -> bool:
        return self.status in _TERMINAL_STATUSES

    @property
    def is_paused(self) -> bool:
        return self.status is CaseStatus.PAUSED

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "status": str(self.status),
            "entered_on": self.entered_on.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "deadline": _iso(self.deadline),
            "paused_since": _iso(self.paused_since),
            "paused_days": self.paused_days,
        }


@dataclass(frozen=True)
class HistoryEvent:
    """One entry of a case's status history. ``from_step`` is None for the submission;
    ``deadline`` is the one in force after the event."""

    from_step: str | None
    to_step: str
    action: str
    actor: str
    at: datetime.datetime
    note: str = ""
    deadline: datetime.date | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "from_step": self.from_step,
            "to_step": self.to_step,
            "action": self.action,
            "actor": self.actor,
            "at": self.at.isoformat(),
            "note": self.note,
            "deadline": _iso(self.deadline),
        }


class TransitionError(Exception):
    """An action that is not allowed; nothing changed.

    ``code`` is one of: ``terminal`` (the case is closed), ``paused`` (waiting for the
    applicant), ``not_paused`` (no information was requested), ``unknown_action`` (the step has
    no such action), ``not_allowed`` (the actor may not take it), ``clock`` (the time is before
    the case's last event), ``unknown_step`` (the state does not belong to the process),
    ``automatic_loop`` (automatic steps did not come to rest).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def step_deadline(
    entered_on: datetime.date, deadline_days: int, calendar: WorkingDays
) -> datetime.date:
    """The day a step entered on ``entered_on`` is due: ``deadline_days`` working days after
    it, a day off counting as the next working day. Always a working day."""
    first = entered_on
    if not calendar.is_working_day(first):
        first = calendar.add_working_days(first, 1)
    return calendar.add_working_days(first, deadline_days)


def _enter(
    process: Process, step_id: str, at: datetime.datetime, calendar: WorkingDays
) -> CaseState:
    day = at.date()
    if step_id in TERMINAL_STEPS:
        return CaseState(step_id, CaseStatus(step_id), day, at)
    days = process.steps[step_id].deadline_days
    deadline = None if days is None else step_deadline(day, days, calendar)
    return CaseState(step_id, CaseStatus.ACTIVE, day, at, deadline)


def start(
    process: Process, *, at: datetime.datetime, calendar: WorkingDays
) -> tuple[CaseState, HistoryEvent]:
    """A submitted application entering the process's start step."""
    state = _enter(process, process.start, at, calendar)
    event = HistoryEvent(None, process.start, SUBMIT, APPLICANT, at, deadline=state.deadline)
    return state, event


def _step(process: Process, state: CaseState) -> Step:
    step = process.steps.get(state.step)
    if step is None:
        raise TransitionError("unknown_step", f"the process has no step {state.step!r}")
    return step


def _may_act(step: Step, actor: str) -> bool:
    return actor == (SYSTEM if step.kind is StepKind.AUTO else step.role)


def available_actions(process: Process, state: CaseState, actor: str) -> tuple[str, ...]:
    """What ``actor`` (``"applicant"``, ``"system"`` or a role) may do now, in declared order."""
    if state.is_terminal:
        return ()
    if state.is_paused:
        return (PROVIDE_INFO, WITHDRAW) if actor == APPLICANT else ()
    if actor == APPLICANT:
        return (WITHDRAW,)
    if _may_act(_step(process, state), actor):
        return tuple(process.routes(state.step))
    return ()


def _check_clock(state: CaseState, at: datetime.datetime) -> None:
    try:
        earlier = at < state.updated_at
    except TypeError:
        raise TransitionError("clock", "naive and aware times cannot be mixed") from None
    if earlier:
        raise TransitionError("clock", "the time is before the case's last event")


def _applicant_only(action: str, actor: str) -> None:
    if actor != APPLICANT:
        raise TransitionError("not_allowed", f"only the applicant can {action.replace('_', ' ')}")


def _resume(state: CaseState, at: datetime.datetime, calendar: WorkingDays) -> CaseState:
    if state.paused_since is None:
        raise TransitionError("not_paused", "no information was requested")
    waited = calendar.working_days_between(state.paused_since, at.date())
    deadline = state.deadline
    if deadline is not None:
        deadline = calendar.add_working_days(deadline, waited)
    return replace(
        state,
        status=CaseStatus.ACTIVE,
        updated_at=at,
        deadline=deadline,
        paused_since=None,
        paused_days=state.paused_days + waited,
    )


def _move(
    process: Process,
    state: CaseState,
    action: str,
    actor: str,
    at: datetime.datetime,
    calendar: WorkingDays,
) -> CaseState:
    if state.is_paused:
        raise TransitionError("paused", "the case is waiting for the applicant's information")
    step = _step(process, state)
    routes = process.routes(step.id)
    if action not in routes:
        raise TransitionError("unknown_action", f"step {step.id!r} has no action {action!r}")
    if not _may_act(step, actor):
        raise TransitionError("not_allowed", f"{actor!r} cannot act on step {step.id!r}")
    if action == REQUEST_INFO:
        return replace(state, status=CaseStatus.PAUSED, updated_at=at, paused_since=at.date())
    return _enter(process, routes[action], at, calendar)


def apply(
    process: Process,
    state: CaseState,
    action: str,
    *,
    actor: str,
    at: datetime.datetime,
    calendar: WorkingDays,
    note: str = "",
) -> tuple[CaseState, HistoryEvent]:
    """Take ``action`` as ``actor`` at ``at``: the new state and the event to record.

    Raises ``TransitionError`` for anything not allowed (see its codes).
    """
    _check_clock(state, at)
    if state.is_terminal:
        raise TransitionError("terminal", f"the case is already {state.step}")
    if action == WITHDRAW:
        _applicant_only(action, actor)
        new = _enter(process, WITHDRAWN, at, calendar)
    elif action == PROVIDE_INFO:
        _applicant_only(action, actor)
        new = _resume(state, at, calendar)
    else:
        new = _move(process, state, action, actor, at, calendar)
    return new, HistoryEvent(state.step, new.step, action, actor, at, note, new.deadline)


def advance(
    process: Process,
    state: CaseState,
    *,
    at: datetime.datetime,
    calendar: WorkingDays,
    decide: Callable[[str], str],
) -> tuple[CaseState, tuple[HistoryEvent, ...]]:
    """Run automatic steps until the case reaches a task step or a final state.

    ``decide(step_id)`` gives the action of an automatic decision step, normally the outcome
    of the service's rule set (``evaluate_rule_set(...).outcome``); other automatic steps
    ``complete``. Validated processes have no loop of automatic steps, so this ends.
    """
    events: list[HistoryEvent] = []
    for _ in range(len(process.steps) + 1):
        if state.is_terminal or _step(process, state).kind is not StepKind.AUTO:
            return state, tuple(events)
        action = decide(state.step) if process.decides(state.step) else COMPLETE
        state, event = apply(process, state, action, actor=SYSTEM, at=at, calendar=calendar)
        events.append(event)
    raise TransitionError("automatic_loop", "automatic steps keep leading to each other")


# --- deadlines ----------------------------------------------------------------------------

DeadlineState: TypeAlias = Literal["on_time", "due_today", "overdue", "paused"]


def deadline_state(state: CaseState, today: datetime.date) -> DeadlineState | None:
    """How the case stands against its step's deadline: "paused" while waiting for the
    applicant, None when there is no deadline (automatic steps, steps without one, final
    states)."""
    if state.is_terminal:
        return None
    if state.is_paused:
        return "paused"
    if state.deadline is None:
        return None
    if today < state.deadline:
        return "on_time"
    return "due_today" if today == state.deadline else "overdue"


K = TypeVar("K")


@dataclass(frozen=True)
class Escalation(Generic[K]):
    """A case past its step's deadline. ``working_days_late`` is 0 on the days off right
    after the deadline: the case is late, but no working day has been lost yet."""

    case: K
    step: str
    deadline: datetime.date
    working_days_late: int


def escalations(
    cases: Iterable[tuple[K, CaseState]], *, today: datetime.date, calendar: WorkingDays
) -> list[Escalation[K]]:
    """The overdue cases among ``(key, state)`` pairs, latest first (then earliest deadline).

    Paused and closed cases are never overdue. An escalation names its step and deadline, so
    a periodic task can tell one it has already acted on.
    """
    found = [
        Escalation(
            key, state.step, state.deadline, calendar.working_days_between(state.deadline, today)
        )
        for key, state in cases
        if state.deadline is not None and deadline_state(state, today) == "overdue"
    ]
    return sorted(found, key=lambda e: (-e.working_days_late, e.deadline))
