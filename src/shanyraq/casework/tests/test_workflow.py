import copy
import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shanyraq.casework.workflow import (
    APPLICANT,
    DECISION_ACTIONS,
    SYSTEM,
    TERMINAL_STEPS,
    CaseState,
    CaseStatus,
    Escalation,
    HistoryEvent,
    InvalidProcess,
    Process,
    Step,
    StepKind,
    Transition,
    TransitionError,
    advance,
    apply,
    available_actions,
    deadline_state,
    escalations,
    load_process,
    start,
    step_deadline,
    validate_process,
)
from shanyraq.core.calendar import Transfers, WorkingCalendar, kazakhstan_calendar
from shanyraq.rules.engine import OUTCOMES, evaluate_rule_set

D = datetime.date
KZ = kazakhstan_calendar()
ALMATY = datetime.timezone(datetime.timedelta(hours=5))


def at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, tzinfo=ALMATY)


def label(en: str) -> dict[str, str]:
    return {"kk": f"{en} (kk)", "ru": f"{en} (ru)", "en": en}


DEFINITION: dict[str, Any] = {
    "start": "registration",
    "steps": [
        {"id": "registration", "kind": "auto"},
        {"id": "eligibility", "kind": "auto", "label": label("Eligibility check")},
        {
            "id": "review",
            "kind": "task",
            "role": "reviewer",
            "deadline_days": 5,
            "label": label("Review"),
        },
        {
            "id": "signing",
            "kind": "task",
            "role": "head",
            "deadline_days": 2,
            "label": label("Signing"),
        },
    ],
    "transitions": [
        {"from": "registration", "action": "complete", "to": "eligibility"},
        {"from": "eligibility", "action": "approve", "to": "signing"},
        {"from": "eligibility", "action": "reject", "to": "rejected"},
        {"from": "eligibility", "action": "undecided", "to": "review"},
        {"from": "review", "action": "approve", "to": "signing"},
        {"from": "review", "action": "reject", "to": "rejected"},
        {"from": "review", "action": "request_info", "to": "review"},
        {"from": "review", "action": "return", "to": "registration"},
        {"from": "signing", "action": "sign", "to": "approved"},
        {"from": "signing", "action": "return", "to": "review"},
    ],
    "on_approval": {"register": "population", "issue": ["birth_certificate"]},
}
PROCESS = load_process(DEFINITION)

# Friday 15 March 2024, the week before Nauryz (Thu 21 - Sat 23 March, Monday 25 carried over).
FRIDAY = D(2024, 3, 15)


def in_review(day: datetime.date = FRIDAY, hour: int = 10) -> CaseState:
    """A case at the review step, entered on ``day``."""
    state, _ = start(PROCESS, at=at(day, hour), calendar=KZ)
    state, _ = advance(
        PROCESS, state, at=at(day, hour), calendar=KZ, decide=lambda step: "undecided"
    )
    assert state.step == "review"
    return state


def act(state: CaseState, action: str, actor: str, day: datetime.date, hour: int = 11) -> CaseState:
    return apply(PROCESS, state, action, actor=actor, at=at(day, hour), calendar=KZ)[0]


# --- definitions --------------------------------------------------------------------------


def test_load_process() -> None:
    assert PROCESS.start == "registration"
    assert PROCESS.steps["review"] == Step(
        id="review", kind=StepKind.TASK, role="reviewer", deadline_days=5, label=label("Review")
    )
    assert PROCESS.steps["registration"] == Step(id="registration", kind=StepKind.AUTO)
    assert PROCESS.transitions[0] == Transition("registration", "complete", "eligibility")
    assert PROCESS.routes("review") == {
        "approve": "signing",
        "reject": "rejected",
        "request_info": "review",
        "return": "registration",
    }
    assert PROCESS.decides("eligibility")
    assert not PROCESS.decides("registration")
    assert not PROCESS.decides("review")


def test_on_approval_is_passed_through_as_a_copy() -> None:
    definition = copy.deepcopy(DEFINITION)
    process = load_process(definition)
    definition["on_approval"]["issue"].append("changed later")
    assert process.on_approval == {"register": "population", "issue": ["birth_certificate"]}


def test_decision_actions_are_the_rule_set_outcomes() -> None:
    assert set(OUTCOMES) == DECISION_ACTIONS


def changed(**changes: Any) -> dict[str, Any]:
    definition = copy.deepcopy(DEFINITION)
    definition.update(changes)
    return definition


def with_steps(*steps: Any) -> dict[str, Any]:
    return changed(steps=[*copy.deepcopy(DEFINITION["steps"]), *steps])


def with_transitions(*transitions: Any) -> dict[str, Any]:
    return changed(transitions=[*copy.deepcopy(DEFINITION["transitions"]), *transitions])


def without_transition(index: int) -> dict[str, Any]:
    transitions = copy.deepcopy(DEFINITION["transitions"])
    del transitions[index]
    return changed(transitions=transitions)


TASK = {"kind": "task", "role": "clerk", "label": label("Task")}


@pytest.mark.parametrize(
    ("definition", "errors"),
    [
        ([], ["process: an object with start, steps and transitions"]),
        (
            {"start": "a"},
            [
                "steps: a non-empty array of steps",
                "start: not a step of this process",
                "transitions: an array of transitions",
            ],
        ),
        (changed(version=2), ["version: unknown key"]),
        (changed(start="nowhere"), ["start: not a step of this process"]),
        (changed(on_approval=[1]), ["on_approval: an object"]),
        (
            with_steps(
                {"id": "review", **TASK},
                {"id": "approved", **TASK},
                {"id": "Bad Id", **TASK},
                {"id": "x", "kind": "manual"},
                "step",
            ),
            [
                "steps[4].id: 'review' is used by an earlier step",
                "steps[5].id: 'approved' is an implicit final state",
                "steps[6].id: lowercase letters, digits and _, starting with a letter",
                "steps[7].kind: 'auto' or 'task'",
                "steps[8]: a step is an object with id and kind",
            ],
        ),
        (
            with_steps(
                {"id": "a", "kind": "task", "label": label("A")},
                {"id": "b", "kind": "task", "role": "applicant", "label": label("B")},
                {
                    "id": "c",
                    "kind": "task",
                    "role": "clerk",
                    "deadline_days": 0,
                    "label": label("C"),
                },
                {
                    "id": "d",
                    "kind": "task",
                    "role": "clerk",
                    "deadline_days": True,
                    "label": label("D"),
                },
                {
                    "id": "e",
                    "kind": "task",
                    "role": "clerk",
                    "deadline_days": 251,
                    "label": label("E"),
                },
                {
                    "id": "f",
                    "kind": "task",
                    "role": "clerk",
                    "deadline_days": 2.0,
                    "label": label("F"),
                },
                {"id": "g", "kind": "task", "role": "clerk"},
                {"id": "h", "kind": "task", "role": "clerk", "label": {"en": "H"}, "sla": 3},
                {"id": "i", "kind": "auto", "role": "clerk", "deadline_days": 3, "label": "I"},
            ),
            [
                "steps[4].role: a task step needs the role of those who work it",
                "steps[5].role: 'applicant' is not a role of officials",
                "steps[6].deadline_days: a whole number of working days from 1 to 250",
                "steps[7].deadline_days: a whole number of working days from 1 to 250",
                "steps[8].deadline_days: a whole number of working days from 1 to 250",
                "steps[9].deadline_days: a whole number of working days from 1 to 250",
                "steps[10].label: a label is an object with the keys kk, ru and en",
                "steps[11].sla: unknown key",
                "steps[11].label.kk: the text is missing",
                "steps[11].label.ru: the text is missing",
                "steps[12].role: an automatic step has no role",
                "steps[12].deadline_days: an automatic step has no deadline days",
                "steps[12].label: a label is an object with the keys kk, ru and en",
            ],
        ),
        (
            with_transitions(
                {"from": "nowhere", "action": "go", "to": "review"},
                {"from": "review", "action": "go", "to": "nowhere"},
                {"from": "approved", "action": "reopen", "to": "review"},
                {"from": "review", "action": "Go!", "to": "signing"},
                {"from": "review", "action": "approve", "to": "rejected"},
                {"from": "review", "action": "withdraw", "to": "withdrawn"},
                {"from": "review", "action": "provide_info", "to": "review"},
                {"from": "signing", "action": "request_info", "to": "review"},
                {"from": "registration", "action": "request_info", "to": "registration"},
                {"from": "signing", "action": "again", "to": "signing"},
                {"from": "signing", "action": "undecided", "to": "review"},
                {"from": "signing", "action": "x", "to": "approved", "when": "now"},
                ["from", "to"],
            ),
            [
                "transitions[10].from: not a step of this process",
                "transitions[11].to: not a step of this process or a final state",
                "transitions[12].from: not a step of this process",
                "transitions[13].action: lowercase letters, digits and _, starting with a letter",
                "transitions[14].action: 'review' already has an action 'approve'",
                "transitions[15]: 'withdraw' is implicit and cannot be declared",
                "transitions[16]: 'provide_info' is implicit and cannot be declared",
                "transitions[17]: 'request_info' keeps the case at its step: 'to' must be 'from'",
                "transitions[18]: only officials request information, on task steps",
                "transitions[19]: a step cannot lead to itself (re-entering would restart its deadline)",
                "transitions[20]: 'undecided' is the outcome of automatic decisions only",
                "transitions[21].when: unknown key",
                "transitions[22]: a transition is an object with from, action and to",
            ],
        ),
        (
            with_steps({"id": "archive", **TASK}, {"id": "limbo", **TASK}),
            [
                "steps[4] ('archive'): cannot be reached from the start step",
                "steps[4] ('archive'): no way leads from it to 'approved' or 'rejected'",
                "steps[5] ('limbo'): cannot be reached from the start step",
                "steps[5] ('limbo'): no way leads from it to 'approved' or 'rejected'",
            ],
        ),
        (
            # signing can only go back to review, which can still decide: fine; but without
            # its "sign" action and review's "reject", nothing decides any more.
            changed(
                transitions=[
                    t
                    for t in DEFINITION["transitions"]
                    if (t["from"], t["action"])
                    not in {("signing", "sign"), ("review", "reject"), ("eligibility", "reject")}
                ]
                + [{"from": "eligibility", "action": "reject", "to": "review"}]
            ),
            [
                "steps[0] ('registration'): no way leads from it to 'approved' or 'rejected'",
                "steps[1] ('eligibility'): no way leads from it to 'approved' or 'rejected'",
                "steps[2] ('review'): no way leads from it to 'approved' or 'rejected'",
                "steps[3] ('signing'): no way leads from it to 'approved' or 'rejected'",
            ],
        ),
        (
            without_transition(3),  # eligibility without "undecided"
            [
                "steps[1] ('eligibility'): an automatic step has the one action 'complete', or "
                "the actions 'approve', 'reject' and 'undecided'; it has ['approve', 'reject']"
            ],
        ),
        (
            with_transitions({"from": "registration", "action": "skip", "to": "review"}),
            [
                "steps[0] ('registration'): an automatic step has the one action 'complete', or "
                "the actions 'approve', 'reject' and 'undecided'; it has ['complete', 'skip']"
            ],
        ),
        (
            changed(
                transitions=[
                    {**t, "to": "approved"}
                    if (t["from"], t["action"]) == ("eligibility", "undecided")
                    else t
                    for t in DEFINITION["transitions"]
                ]
            ),
            [
                "steps[1] ('eligibility'): 'undecided' must lead to a task step, where a person decides",
            ],
        ),
        (
            {
                "start": "one",
                "steps": [
                    {"id": "one", "kind": "auto"},
                    {"id": "two", "kind": "auto"},
                    {"id": "three", "kind": "auto"},
                    {"id": "desk", **TASK},
                ],
                "transitions": [
                    {"from": "one", "action": "complete", "to": "two"},
                    {"from": "two", "action": "approve", "to": "approved"},
                    {"from": "two", "action": "reject", "to": "three"},
                    {"from": "two", "action": "undecided", "to": "desk"},
                    {"from": "three", "action": "complete", "to": "two"},
                    {"from": "desk", "action": "decide", "to": "rejected"},
                ],
            },
            ["steps: the automatic steps two -> three -> two would loop for ever"],
        ),
    ],
)
def test_validate_process(definition: Any, errors: list[str]) -> None:
    assert validate_process(definition) == errors
    with pytest.raises(InvalidProcess) as raised:
        load_process(definition)
    assert raised.value.errors == tuple(errors)


def test_valid_process_has_no_problems() -> None:
    assert validate_process(DEFINITION) == []


# --- starting and acting ------------------------------------------------------------------


def test_start_at_an_automatic_step() -> None:
    state, event = start(PROCESS, at=at(FRIDAY), calendar=KZ)
    assert state == CaseState(
        step="registration", status=CaseStatus.ACTIVE, entered_on=FRIDAY, updated_at=at(FRIDAY)
    )
    assert event == HistoryEvent(
        from_step=None, to_step="registration", action="submit", actor=APPLICANT, at=at(FRIDAY)
    )


def test_start_at_a_task_step_sets_its_deadline() -> None:
    process = load_process({**DEFINITION, "start": "review"})
    state, event = start(process, at=at(D(2024, 3, 11)), calendar=KZ)
    assert (state.step, state.deadline, event.deadline) == (
        "review",
        D(2024, 3, 18),
        D(2024, 3, 18),
    )


@pytest.mark.parametrize(
    ("state", "actor", "actions"),
    [
        ("registration", SYSTEM, ("complete",)),
        ("registration", APPLICANT, ("withdraw",)),
        ("registration", "reviewer", ()),
        ("eligibility", SYSTEM, ("approve", "reject", "undecided")),
        ("review", "reviewer", ("approve", "reject", "request_info", "return")),
        ("review", APPLICANT, ("withdraw",)),
        ("review", "head", ()),
        ("review", SYSTEM, ()),
        ("paused", APPLICANT, ("provide_info", "withdraw")),
        ("paused", "reviewer", ()),
        ("paused", SYSTEM, ()),
        ("signing", "head", ("sign", "return")),
        ("approved", APPLICANT, ()),
        ("approved", "head", ()),
    ],
)
def test_available_actions(state: str, actor: str, actions: tuple[str, ...]) -> None:
    states = {
        "registration": start(PROCESS, at=at(FRIDAY), calendar=KZ)[0],
        "eligibility": CaseState("eligibility", CaseStatus.ACTIVE, FRIDAY, at(FRIDAY)),
        "review": in_review(),
        "paused": act(in_review(), "request_info", "reviewer", FRIDAY),
        "signing": act(in_review(), "approve", "reviewer", FRIDAY),
        "approved": CaseState("approved", CaseStatus.APPROVED, FRIDAY, at(FRIDAY)),
    }
    assert available_actions(PROCESS, states[state], actor) == actions


def test_approve_moves_to_the_next_step_with_a_new_deadline() -> None:
    state = in_review()
    new, event = apply(
        PROCESS,
        state,
        "approve",
        actor="reviewer",
        at=at(D(2024, 3, 18)),
        calendar=KZ,
        note="all in order",
    )
    assert new == CaseState(
        step="signing",
        status=CaseStatus.ACTIVE,
        entered_on=D(2024, 3, 18),
        updated_at=at(D(2024, 3, 18)),
        deadline=D(2024, 3, 20),  # Tue 19, Wed 20
    )
    assert event == HistoryEvent(
        from_step="review",
        to_step="signing",
        action="approve",
        actor="reviewer",
        at=at(D(2024, 3, 18)),
        note="all in order",
        deadline=D(2024, 3, 20),
    )


def test_sign_approves() -> None:
    state = act(act(in_review(), "approve", "reviewer", FRIDAY), "sign", "head", FRIDAY, 12)
    assert (state.step, state.status, state.deadline) == ("approved", CaseStatus.APPROVED, None)
    assert state.is_terminal


def test_reject() -> None:
    new, event = apply(
        PROCESS, in_review(), "reject", actor="reviewer", at=at(FRIDAY, 12), calendar=KZ
    )
    assert (new.step, new.status, new.deadline) == ("rejected", CaseStatus.REJECTED, None)
    assert (event.from_step, event.to_step, event.deadline) == ("review", "rejected", None)


def test_return_goes_back_and_the_automatic_steps_run_again() -> None:
    state = act(in_review(), "return", "reviewer", D(2024, 3, 18))
    assert (state.step, state.deadline) == ("registration", None)
    state, events = advance(
        PROCESS, state, at=at(D(2024, 3, 19)), calendar=KZ, decide=lambda step: "undecided"
    )
    assert [(e.from_step, e.action, e.to_step, e.actor) for e in events] == [
        ("registration", "complete", "eligibility", SYSTEM),
        ("eligibility", "undecided", "review", SYSTEM),
    ]
    # Entered Tuesday 19 March: 20, 26, 27, 28, 29 (21-25 are Nauryz days off).
    assert (state.step, state.entered_on, state.deadline) == (
        "review",
        D(2024, 3, 19),
        D(2024, 3, 29),
    )


def test_signing_can_return_to_review() -> None:
    state = act(act(in_review(), "approve", "reviewer", FRIDAY), "return", "head", D(2024, 3, 18))
    assert (state.step, state.deadline) == ("review", D(2024, 3, 28))  # 19, 20, 26, 27, 28


@pytest.mark.parametrize("state_name", ["registration", "review", "paused", "signing"])
def test_the_applicant_can_withdraw_from_any_step_that_is_not_final(state_name: str) -> None:
    states = {
        "registration": start(PROCESS, at=at(FRIDAY), calendar=KZ)[0],
        "review": in_review(),
        "paused": act(in_review(), "request_info", "reviewer", FRIDAY),
        "signing": act(in_review(), "approve", "reviewer", FRIDAY),
    }
    state = states[state_name]
    new, event = apply(PROCESS, state, "withdraw", actor=APPLICANT, at=at(FRIDAY, 15), calendar=KZ)
    assert new == CaseState("withdrawn", CaseStatus.WITHDRAWN, FRIDAY, at(FRIDAY, 15))
    assert (event.from_step, event.to_step, event.actor) == (state.step, "withdrawn", APPLICANT)


@pytest.mark.parametrize(
    ("outcome", "step", "status"),
    [
        ("approve", "signing", CaseStatus.ACTIVE),
        ("reject", "rejected", CaseStatus.REJECTED),
        ("undecided", "review", CaseStatus.ACTIVE),
    ],
)
def test_advance_takes_the_rule_set_outcome(outcome: str, step: str, status: CaseStatus) -> None:
    asked: list[str] = []

    def decide(step_id: str) -> str:
        asked.append(step_id)
        return outcome

    state, _ = start(PROCESS, at=at(FRIDAY), calendar=KZ)
    new, events = advance(PROCESS, state, at=at(FRIDAY), calendar=KZ, decide=decide)
    assert asked == ["eligibility"]
    assert (new.step, new.status) == (step, status)
    assert [e.action for e in events] == ["complete", outcome]


def test_advance_with_a_real_rule_set() -> None:
    rule_set = {
        "conditions": [
            {
                "id": "adult",
                "label": label("Adult"),
                "rule": {">=": [{"age": [{"var": "born"}, {"var": "today"}]}, 18]},
            }
        ],
        "decide": "all",
    }

    def decide_with(facts: dict[str, Any]) -> str:
        state, _ = start(PROCESS, at=at(FRIDAY), calendar=KZ)
        decision = evaluate_rule_set(rule_set, facts)
        return advance(
            PROCESS, state, at=at(FRIDAY), calendar=KZ, decide=lambda _: decision.outcome
        )[0].step

    assert decide_with({"born": "2000-01-01", "today": "2024-03-15"}) == "signing"
    assert decide_with({"born": "2010-01-01", "today": "2024-03-15"}) == "rejected"
    assert decide_with({"today": "2024-03-15"}) == "review"


def test_advance_leaves_task_steps_and_final_states_alone() -> None:
    state = in_review()
    assert advance(PROCESS, state, at=at(FRIDAY), calendar=KZ, decide=lambda _: "approve") == (
        state,
        (),
    )


def test_advance_stops_a_loop_in_an_unvalidated_process() -> None:
    looping = Process(
        start="a",
        steps={"a": Step("a", StepKind.AUTO), "b": Step("b", StepKind.AUTO)},
        transitions=(Transition("a", "complete", "b"), Transition("b", "complete", "a")),
        on_approval={},
    )
    state, _ = start(looping, at=at(FRIDAY), calendar=KZ)
    with pytest.raises(TransitionError) as raised:
        advance(looping, state, at=at(FRIDAY), calendar=KZ, decide=lambda _: "approve")
    assert raised.value.code == "automatic_loop"


# --- refusals -----------------------------------------------------------------------------


def refused(
    state: CaseState, action: str, actor: str, when: datetime.datetime | None = None
) -> str:
    with pytest.raises(TransitionError) as raised:
        apply(PROCESS, state, action, actor=actor, at=when or at(FRIDAY, 16), calendar=KZ)
    return raised.value.code


@pytest.mark.parametrize(
    ("state_name", "action", "actor", "code"),
    [
        ("approved", "withdraw", APPLICANT, "terminal"),
        ("rejected", "approve", "reviewer", "terminal"),
        ("withdrawn", "provide_info", APPLICANT, "terminal"),
        ("paused", "approve", "reviewer", "paused"),
        ("paused", "request_info", "reviewer", "paused"),
        ("paused", "return", "reviewer", "paused"),
        ("review", "provide_info", APPLICANT, "not_paused"),
        ("review", "sign", "reviewer", "unknown_action"),
        ("review", "complete", SYSTEM, "unknown_action"),
        ("review", "approve", "head", "not_allowed"),
        ("review", "approve", APPLICANT, "not_allowed"),
        ("review", "approve", SYSTEM, "not_allowed"),
        ("review", "withdraw", "reviewer", "not_allowed"),
        ("paused", "provide_info", "reviewer", "not_allowed"),
        ("registration", "complete", "reviewer", "not_allowed"),
        ("registration", "complete", APPLICANT, "not_allowed"),
    ],
)
def test_refusals(state_name: str, action: str, actor: str, code: str) -> None:
    states = {
        "approved": CaseState("approved", CaseStatus.APPROVED, FRIDAY, at(FRIDAY)),
        "rejected": CaseState("rejected", CaseStatus.REJECTED, FRIDAY, at(FRIDAY)),
        "withdrawn": CaseState("withdrawn", CaseStatus.WITHDRAWN, FRIDAY, at(FRIDAY)),
        "registration": start(PROCESS, at=at(FRIDAY), calendar=KZ)[0],
        "review": in_review(),
        "paused": act(in_review(), "request_info", "reviewer", FRIDAY),
    }
    assert refused(states[state_name], action, actor) == code


def test_an_event_cannot_come_before_the_last_one() -> None:
    state = in_review(hour=12)
    assert refused(state, "approve", "reviewer", at(FRIDAY, 11)) == "clock"
    naive = datetime.datetime(2024, 3, 15, 13)
    assert refused(state, "approve", "reviewer", naive) == "clock"
    assert act(state, "approve", "reviewer", FRIDAY, 12).step == "signing"  # the same time is fine


def test_a_state_from_another_process_is_refused() -> None:
    state = CaseState("gone", CaseStatus.ACTIVE, FRIDAY, at(FRIDAY))
    assert refused(state, "approve", "reviewer") == "unknown_step"


def test_transition_error_says_what_and_why() -> None:
    with pytest.raises(TransitionError) as raised:
        apply(PROCESS, in_review(), "approve", actor="head", at=at(FRIDAY, 12), calendar=KZ)
    assert str(raised.value) == "not_allowed: 'head' cannot act on step 'review'"
    assert raised.value.message == "'head' cannot act on step 'review'"


# --- deadlines ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entered", "days", "deadline"),
    [
        # An ordinary week: Monday + 5 is next Monday; entry day is not counted.
        (D(2024, 3, 4), 5, D(2024, 3, 12)),  # Fri 8 March is a holiday
        (D(2024, 4, 1), 5, D(2024, 4, 8)),
        (D(2024, 4, 1), 1, D(2024, 4, 2)),
        # Friday, Saturday and Sunday: a day off counts as the next working day.
        (D(2024, 4, 5), 5, D(2024, 4, 12)),
        (D(2024, 4, 6), 5, D(2024, 4, 15)),
        (D(2024, 4, 7), 5, D(2024, 4, 15)),
        (D(2024, 4, 6), 1, D(2024, 4, 9)),
        # Nauryz 2024: Thu 21 - Sat 23 March, Saturday carried over to Monday 25.
        (D(2024, 3, 15), 5, D(2024, 3, 27)),  # 18, 19, 20, 26, 27
        (D(2024, 3, 20), 1, D(2024, 3, 26)),
        (D(2024, 3, 21), 5, D(2024, 4, 2)),  # entered on the holiday: counts from Tue 26
        (D(2024, 3, 25), 1, D(2024, 3, 27)),  # entered on the carried-over day off
        # Nauryz 2025: Fri 21 - Sun 23 March, Saturday and Sunday carried over to Mon 24, Tue 25.
        (D(2025, 3, 20), 2, D(2025, 3, 27)),
        # Independence Day: Monday 16 December 2024.
        (D(2024, 12, 13), 5, D(2024, 12, 23)),
        # ... and Saturday 16 December 2023, carried over to Monday 18.
        (D(2023, 12, 15), 1, D(2023, 12, 19)),
        (D(2023, 12, 16), 1, D(2023, 12, 20)),
        # New Year across years: 1-2 January 2025 (Wed, Thu), 7 January (Tue).
        (D(2024, 12, 30), 5, D(2025, 1, 9)),  # 31, 3, 6, 8, 9
    ],
)
def test_step_deadline(entered: datetime.date, days: int, deadline: datetime.date) -> None:
    assert step_deadline(entered, days, KZ) == deadline


def test_step_deadline_follows_a_decree_moving_days_off() -> None:
    # A decree that makes Wednesday 8 May 2024 a day off, worked on Saturday 4 May instead.
    decree = kazakhstan_calendar(
        Transfers(days_off=frozenset({D(2024, 5, 8)}), working_days=frozenset({D(2024, 5, 4)}))
    )
    assert step_deadline(D(2024, 5, 3), 2, decree) == D(2024, 5, 6)  # Sat 4, Mon 6
    assert step_deadline(D(2024, 5, 3), 2, KZ) == D(2024, 5, 8)  # Mon 6, Wed 8
    assert step_deadline(D(2024, 5, 4), 1, decree) == D(2024, 5, 6)  # the working Saturday counts
    assert step_deadline(D(2024, 5, 6), 1, decree) == D(2024, 5, 10)  # 7, 8 and 9 May are off


def test_request_info_stops_the_clock_and_provide_info_moves_the_deadline() -> None:
    state = in_review()  # Friday 15 March 2024, due Wednesday 27 March
    assert state.deadline == D(2024, 3, 27)
    paused, event = apply(
        PROCESS,
        state,
        "request_info",
        actor="reviewer",
        at=at(D(2024, 3, 18)),
        calendar=KZ,
        note="birth certificate",
    )
    assert paused == CaseState(
        step="review",
        status=CaseStatus.PAUSED,
        entered_on=FRIDAY,
        updated_at=at(D(2024, 3, 18)),
        deadline=D(2024, 3, 27),
        paused_since=D(2024, 3, 18),
    )
    assert (event.from_step, event.to_step, event.note) == ("review", "review", "birth certificate")
    assert deadline_state(paused, D(2024, 4, 30)) == "paused"
    # The answer comes on Wednesday 27 March, across Nauryz: the case waited 19, 20, 26, 27.
    resumed, event = apply(
        PROCESS, paused, "provide_info", actor=APPLICANT, at=at(D(2024, 3, 27)), calendar=KZ
    )
    assert resumed == CaseState(
        step="review",
        status=CaseStatus.ACTIVE,
        entered_on=FRIDAY,
        updated_at=at(D(2024, 3, 27)),
        deadline=D(2024, 4, 2),  # 28, 29, 1 April, 2 April
        paused_days=4,
    )
    assert (event.action, event.actor, event.deadline) == ("provide_info", APPLICANT, D(2024, 4, 2))


def test_information_asked_and_given_the_same_day_keeps_the_deadline() -> None:
    state = in_review()
    paused = act(state, "request_info", "reviewer", FRIDAY, 11)
    resumed = act(paused, "provide_info", APPLICANT, FRIDAY, 17)
    assert (resumed.deadline, resumed.paused_days) == (state.deadline, 0)


def test_a_pause_over_a_weekend_and_holidays_only_counts_working_days() -> None:
    # Asked on Friday 15 December 2023, answered on Tuesday 19: Saturday 16 (Independence Day),
    # Sunday 17 and Monday 18 (carried over) are days off, so the case waited one working day.
    state = in_review(D(2023, 12, 11))  # due 19 December: 12, 13, 14, 15, 19
    assert state.deadline == D(2023, 12, 19)
    paused = act(state, "request_info", "reviewer", D(2023, 12, 15))
    resumed = act(paused, "provide_info", APPLICANT, D(2023, 12, 19))
    assert (resumed.paused_days, resumed.deadline) == (1, D(2023, 12, 20))


def test_a_request_on_a_day_off_counts_from_the_next_working_day() -> None:
    state = in_review()
    paused = act(state, "request_info", "reviewer", D(2024, 3, 16))  # a Saturday
    resumed = act(paused, "provide_info", APPLICANT, D(2024, 3, 18))
    assert (resumed.paused_days, resumed.deadline) == (1, D(2024, 3, 28))


def test_pauses_add_up() -> None:
    state = in_review()
    state = act(
        act(state, "request_info", "reviewer", D(2024, 3, 18)),
        "provide_info",
        APPLICANT,
        D(2024, 3, 19),
    )
    state = act(
        act(state, "request_info", "reviewer", D(2024, 3, 19), 15),
        "provide_info",
        APPLICANT,
        D(2024, 3, 26),
    )
    assert state.paused_days == 1 + 2  # 19; then 20 and 26
    assert state.deadline == D(2024, 4, 1)  # 27 March + 3: 28, 29, 1 April


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (D(2024, 3, 18), "on_time"),
        (D(2024, 3, 26), "on_time"),
        (D(2024, 3, 27), "due_today"),
        (D(2024, 3, 28), "overdue"),
        (D(2024, 5, 1), "overdue"),
    ],
)
def test_deadline_state(today: datetime.date, expected: str) -> None:
    assert deadline_state(in_review(), today) == expected


def test_no_deadline_state_without_a_deadline() -> None:
    registration, _ = start(PROCESS, at=at(FRIDAY), calendar=KZ)
    approved = CaseState("approved", CaseStatus.APPROVED, FRIDAY, at(FRIDAY))
    assert deadline_state(registration, FRIDAY) is None
    assert deadline_state(approved, FRIDAY) is None


def test_escalations() -> None:
    cases = [
        ("on-time", in_review(D(2024, 3, 26))),
        ("late-1", in_review(D(2024, 3, 18))),  # due 28 March: 19, 20, 26, 27, 28
        ("late-2", in_review(D(2024, 3, 11))),  # due 18 March
        ("paused", act(in_review(D(2024, 3, 11)), "request_info", "reviewer", D(2024, 3, 12))),
        ("closed", CaseState("rejected", CaseStatus.REJECTED, FRIDAY, at(FRIDAY))),
        ("automatic", start(PROCESS, at=at(FRIDAY), calendar=KZ)[0]),
    ]
    assert escalations(cases, today=D(2024, 4, 1), calendar=KZ) == [
        Escalation("late-2", "review", D(2024, 3, 18), 7),  # 19, 20, 26, 27, 28, 29, 1 April
        Escalation("late-1", "review", D(2024, 3, 28), 2),  # 29 March, 1 April
    ]


def test_escalation_on_the_days_off_after_a_deadline() -> None:
    state = in_review(D(2024, 4, 5))  # due Friday 12 April
    assert escalations([(1, state)], today=D(2024, 4, 13), calendar=KZ) == [
        Escalation(1, "review", D(2024, 4, 12), 0)
    ]
    assert escalations([(1, state)], today=D(2024, 4, 12), calendar=KZ) == []


def test_to_json() -> None:
    paused = act(in_review(), "request_info", "reviewer", D(2024, 3, 18))
    assert paused.to_json() == {
        "step": "review",
        "status": "paused",
        "entered_on": "2024-03-15",
        "updated_at": "2024-03-18T11:00:00+05:00",
        "deadline": "2024-03-27",
        "paused_since": "2024-03-18",
        "paused_days": 0,
    }
    _, event = start(PROCESS, at=at(FRIDAY), calendar=KZ)
    assert event.to_json() == {
        "from_step": None,
        "to_step": "registration",
        "action": "submit",
        "actor": "applicant",
        "at": "2024-03-15T10:00:00+05:00",
        "note": "",
        "deadline": None,
    }


# --- properties ---------------------------------------------------------------------------


@st.composite
def processes(draw: st.DrawFn) -> dict[str, Any]:
    """Valid processes by construction: optional automatic steps, then a chain of task steps
    that approve forward, reject, and may request information, return or skip ahead."""
    count = draw(st.integers(1, 4))
    tasks = [f"task{i}" for i in range(count)]
    steps: list[dict[str, Any]] = []
    transitions: list[dict[str, Any]] = []
    for i, task in enumerate(tasks):
        step: dict[str, Any] = {
            "id": task,
            "kind": "task",
            "role": draw(st.sampled_from(["clerk", "reviewer", "head"])),
            "label": label(task),
        }
        if draw(st.booleans()):
            step["deadline_days"] = draw(st.integers(1, 15))
        steps.append(step)
        following = tasks[i + 1] if i + 1 < count else "approved"
        transitions += [
            {"from": task, "action": "approve", "to": following},
            {"from": task, "action": "reject", "to": "rejected"},
        ]
        if draw(st.booleans()):
            transitions.append({"from": task, "action": "request_info", "to": task})
        if i > 0 and draw(st.booleans()):
            transitions.append(
                {"from": task, "action": "return", "to": draw(st.sampled_from(tasks[:i]))}
            )
    first = tasks[0]
    if draw(st.booleans()):
        steps.insert(0, {"id": "check", "kind": "auto"})
        transitions += [
            {
                "from": "check",
                "action": "approve",
                "to": draw(st.sampled_from(["approved", *tasks])),
            },
            {
                "from": "check",
                "action": "reject",
                "to": draw(st.sampled_from(["rejected", *tasks])),
            },
            {"from": "check", "action": "undecided", "to": first},
        ]
        first = "check"
    if draw(st.booleans()):
        steps.insert(0, {"id": "registration", "kind": "auto"})
        transitions.append({"from": "registration", "action": "complete", "to": first})
        first = "registration"
    return {"start": first, "steps": steps, "transitions": transitions}


ACTORS = [APPLICANT, SYSTEM, "clerk", "reviewer", "head", "stranger"]
ACTIONS = [
    "approve",
    "reject",
    "request_info",
    "provide_info",
    "return",
    "withdraw",
    "complete",
    "undecided",
    "sign",
]


@given(processes(), st.dates(min_value=D(2023, 1, 1), max_value=D(2026, 6, 30)), st.data())
def test_random_cases_follow_the_rules(
    definition: dict[str, Any], first_day: datetime.date, data: st.DataObject
) -> None:
    assert validate_process(definition) == []
    process = load_process(definition)
    now = at(first_day, 9)
    state, event = start(process, at=now, calendar=KZ)
    history = [event]
    applied = 0
    for _ in range(data.draw(st.integers(0, 25))):
        now += datetime.timedelta(hours=data.draw(st.integers(0, 80)))
        # Mostly something allowed (withdrawing would end most cases early), sometimes anything.
        allowed = [
            (actor, action)
            for actor in ACTORS
            for action in available_actions(process, state, actor)
            if action != "withdraw"
        ]
        pick_allowed = data.draw(st.integers(0, 3)) > 0
        if allowed and pick_allowed:
            actor, action = data.draw(st.sampled_from(allowed))
        else:
            actor, action = data.draw(st.sampled_from(ACTORS)), data.draw(st.sampled_from(ACTIONS))
        before = state
        if action not in available_actions(process, state, actor):
            with pytest.raises(TransitionError) as refused:
                apply(process, state, action, actor=actor, at=now, calendar=KZ)
            assert refused.value.code != "terminal" or before.is_terminal
            assert refused.value.code == "terminal" or not before.is_terminal
            continue
        state, event = apply(process, state, action, actor=actor, at=now, calendar=KZ)
        assert not before.is_terminal
        assert event.from_step == history[-1].to_step == before.step
        assert event.to_step == state.step
        history.append(event)
        applied += 1
        check_state(process, state)
    assert len(history) == applied + 1
    terminal_at = next((i for i, e in enumerate(history) if e.to_step in TERMINAL_STEPS), None)
    assert terminal_at is None or terminal_at == len(history) - 1


def check_state(process: Process, state: CaseState) -> None:
    if state.is_terminal:
        assert state.step in TERMINAL_STEPS
        assert state.status == state.step
        assert state.deadline is None
        assert available_actions(process, state, APPLICANT) == ()
        return
    step = process.steps[state.step]
    assert (state.deadline is not None) == (step.deadline_days is not None)
    if state.deadline is not None:
        assert KZ.is_working_day(state.deadline)
        assert state.deadline > state.entered_on
    assert state.is_paused == (state.paused_since is not None)


@given(st.dates(min_value=D(2013, 1, 1), max_value=D(2026, 12, 31)), st.integers(1, 60))
def test_step_deadlines_are_working_days_the_stated_number_of_days_on(
    entered: datetime.date, days: int
) -> None:
    deadline = step_deadline(entered, days, KZ)
    assert KZ.is_working_day(deadline)
    assert deadline > entered
    counted = KZ.working_days_between(entered, deadline)
    assert counted == (days if KZ.is_working_day(entered) else days + 1)


@given(
    st.dates(min_value=D(2023, 1, 1), max_value=D(2026, 6, 30)),
    st.integers(0, 30),
    st.integers(0, 30),
)
def test_a_pause_moves_the_deadline_by_the_working_days_waited(
    entered: datetime.date, asked_after: int, answered_after: int
) -> None:
    state = in_review(entered)
    asked = entered + datetime.timedelta(days=asked_after)
    answered = asked + datetime.timedelta(days=answered_after)
    resumed = act(
        act(state, "request_info", "reviewer", asked), "provide_info", APPLICANT, answered
    )
    assert resumed.deadline is not None and state.deadline is not None
    assert KZ.is_working_day(resumed.deadline)
    assert resumed.paused_days == KZ.working_days_between(asked, answered)
    assert KZ.working_days_between(state.deadline, resumed.deadline) == resumed.paused_days


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=5)
    | st.sampled_from(["review", "approved", "auto", "task", "complete"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "start",
                    "steps",
                    "transitions",
                    "id",
                    "kind",
                    "role",
                    "from",
                    "to",
                    "action",
                    "label",
                    "deadline_days",
                ]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=30,
)


@given(json_values)
def test_validate_process_never_raises(definition: Any) -> None:
    errors = validate_process(definition)
    assert all(isinstance(error, str) for error in errors)
    if errors:
        with pytest.raises(InvalidProcess):
            load_process(definition)


def test_the_engine_takes_any_working_calendar() -> None:
    every_day = WorkingCalendar((), weekend=(6,))  # Sundays off only
    assert step_deadline(D(2024, 3, 21), 2, every_day) == D(2024, 3, 23)
