"""Rules for robotized decisions, kept as data: a safe subset of JSON Logic, and rule sets.

A published service version declares the conditions an application must meet as JSON Logic
expressions (https://jsonlogic.com) evaluated over the *facts* of a case: what the applicant
entered and what the registers say. Rules are written by agency administrators and travel as
data, so they are treated as untrusted: nothing here calls ``eval`` or reads attributes,
unknown operators are refused, and every evaluation is bounded in nesting depth and in steps.

Where this differs from JSON Logic, it errs on the side of caution:

* No loose type coercion. ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=`` and ``in`` are questions,
  and values of different types are simply not equal and not ordered: ``{"==": [1, "1"]}`` is
  false, so ``{"!=": [1, "1"]}`` is true, and ``{"<": [1, "2"]}`` is false. Operators that
  compute a value (``+``, ``cat``, ``count``, ``age`` ...) raise ``RuleError`` on a value of the
  wrong type rather than guess.
* A fact that is absent or null, read by ``var`` without a default, stops the evaluation with
  ``MissingFact``: the rule set then cannot decide, and a person does. A default states what
  absence means: ``{"var": ["benefits", []]}``.
* ``if`` needs an ``else`` (an odd number of arguments, at least three), so that a forgotten
  branch cannot quietly yield null and reject an application.
* ``all`` over an empty array is false, as in JSON Logic (``some`` false, ``none`` true).
* Additions for government rules: ``count``, ``date``, ``days_between`` and ``age``; and a
  ``var`` path starting with ``$.`` reads the whole facts even inside ``some``/``all``/``none``
  (``{"var": "$.today"}``), where other paths read the array element.
* There is no ``today`` operator: the caller puts the evaluation date in the facts, so the same
  rules and facts always give the same decision and a stored trace can be replayed.

Values are JSON values plus ``datetime.date`` (made by ``date`` or passed in the facts).
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Final, Literal, TypeAlias

__all__ = [
    "LANGUAGES",
    "MAX_DEPTH",
    "MAX_SAFE_INTEGER",
    "MAX_STEPS",
    "MAX_STRING_LENGTH",
    "OPERATORS",
    "OUTCOMES",
    "ConditionOutcome",
    "ConditionResult",
    "Decision",
    "InvalidRuleSet",
    "MissingFact",
    "Outcome",
    "RuleError",
    "evaluate",
    "evaluate_rule_set",
    "label_errors",
    "validate_rule",
    "validate_rule_set",
]

MAX_DEPTH: Final = 32
"""Deepest nesting of operations and arrays in a rule."""
MAX_STEPS: Final = 10_000
"""Most values one evaluation may compute or compare; also the most nodes a rule may have."""
MAX_STRING_LENGTH: Final = 10_000
"""Longest string a rule may hold or ``cat`` may build."""
MAX_SAFE_INTEGER: Final = 2**53 - 1
"""Largest integer a rule may hold or compute: every JSON reader keeps it exact."""
LANGUAGES: Final = ("kk", "ru", "en")
"""The languages of a label; the same as ``shanyraq.core.text.LANGUAGES``, which needs Django."""
ROOT_PREFIX: Final = "$."

Outcome: TypeAlias = Literal["approve", "reject", "undecided"]
OUTCOMES: Final[tuple[Outcome, ...]] = ("approve", "reject", "undecided")
ConditionOutcome: TypeAlias = Literal["true", "false", "unknown"]

_ORDERED_KINDS: Final = frozenset({"number", "string", "date"})
_ISO_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_CONDITION_ID: Final = re.compile(r"[a-z][a-z0-9_]{0,63}", re.ASCII)


class RuleError(Exception):
    """A rule is malformed or cannot be evaluated; ``path`` says where in the rule."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.message = message
        self.path = path


class MissingFact(RuleError):
    """The rule needs a fact that is absent or null: a person has to decide."""

    def __init__(self, fact: str, path: str) -> None:
        super().__init__(f"fact {fact!r} is missing", path)
        self.fact = fact


class InvalidRuleSet(RuleError):
    """A rule set failed ``validate_rule_set``; ``errors`` lists every problem."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("invalid rule set: " + "; ".join(errors))
        self.errors = tuple(errors)


# --- values -------------------------------------------------------------------------------


def _kind(value: object, path: str) -> str:
    """The JSON type of ``value`` (or "date"); anything else is refused, never inspected."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "number"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RuleError("numbers must be finite", path)
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, datetime.datetime):
        raise RuleError("a date and time is not a date; pass the date", path)
    if isinstance(value, datetime.date):
        return "date"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    raise RuleError(f"values of type {type(value).__name__} are not supported", path)


def _truthy(value: object) -> bool:
    """JSON Logic's truth: false, null, 0, "" and [] are false, everything else is true."""
    if value is None or value is False:
        return False
    if isinstance(value, int | float | str | list | tuple):
        return bool(value)
    return True


def _literal_problem(value: object) -> str | None:
    """Why ``value`` cannot stand as a constant in a rule, or None when it can."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if abs(value) <= MAX_SAFE_INTEGER else "the number is out of range"
    if isinstance(value, float):
        return None if math.isfinite(value) else "numbers must be finite"
    if isinstance(value, str):
        return None if len(value) <= MAX_STRING_LENGTH else "the string is too long"
    return f"values of type {type(value).__name__} cannot appear in a rule"


def _join(origin: str, relative: str) -> str:
    if not origin:
        return relative
    return f"{origin}.{relative}" if relative else origin


def _lookup(data: object, relative: str) -> tuple[bool, Any]:
    """Follow a dotted path through objects and arrays; (False, None) when nothing is there."""
    if relative == "":
        return True, data
    value: Any = data
    for segment in relative.split("."):
        if isinstance(value, Mapping):
            if segment not in value:
                return False, None
            value = value[segment]
        elif isinstance(value, list | tuple) and _is_index(segment) and int(segment) < len(value):
            value = value[int(segment)]
        else:
            return False, None
    return True, value


def _is_index(segment: str) -> bool:
    return 0 < len(segment) <= 18 and segment.isascii() and segment.isdigit()


# --- evaluation ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Scope:
    data: Any
    origin: str | None
    """Where ``data`` sits in the facts ("" for the facts themselves); None when computed,
    so that what is read from it is not reported as a fact."""


@dataclass(frozen=True, slots=True)
class _Call:
    op: str
    args: Sequence[object]
    arg_paths: Sequence[str]
    scope: _Scope
    path: str
    depth: int


class _Evaluator:
    """One evaluation: counts steps and records the facts read."""

    def __init__(self, facts: Mapping[str, Any], *, max_depth: int, max_steps: int) -> None:
        self.root = _Scope(facts, "")
        self.max_depth = max_depth
        self.max_steps = max_steps
        self.steps = 0
        self.facts_used: dict[str, Any] = {}

    def tick(self, path: str) -> None:
        self.steps += 1
        if self.steps > self.max_steps:
            raise RuleError(f"the evaluation needs more than {self.max_steps} steps", path)

    def _enter(self, path: str, depth: int) -> None:
        self.tick(path)
        if depth > self.max_depth:
            raise RuleError(f"nested deeper than {self.max_depth} levels", path)

    def evaluate(self, node: object, scope: _Scope, path: str, depth: int) -> Any:
        self._enter(path, depth)
        if isinstance(node, Mapping):
            call = _parse_call(node, scope, path, depth)
            return _OPERATORS[call.op].evaluate(self, call)
        if isinstance(node, list | tuple):
            return [
                self.evaluate(item, scope, f"{path}[{index}]", depth + 1)
                for index, item in enumerate(node)
            ]
        problem = _literal_problem(node)
        if problem is not None:
            raise RuleError(problem, path)
        return node

    def evaluate_with_origin(
        self, node: object, scope: _Scope, path: str, depth: int
    ) -> tuple[Any, str | None]:
        """Like ``evaluate``, also saying where in the facts a plain ``var`` read from."""
        if not (isinstance(node, Mapping) and len(node) == 1 and "var" in node):
            return self.evaluate(node, scope, path, depth), None
        self._enter(path, depth)
        return self.read(_parse_call(node, scope, path, depth))

    def arg(self, call: _Call, index: int) -> Any:
        return self.evaluate(call.args[index], call.scope, call.arg_paths[index], call.depth + 1)

    def args(self, call: _Call) -> list[Any]:
        return [self.arg(call, index) for index in range(len(call.args))]

    def target(self, key: object, call: _Call) -> tuple[str, _Scope]:
        """The relative path a ``var``/``missing`` key names, and the scope it reads."""
        if key is None:
            return "", call.scope
        if isinstance(key, int) and not isinstance(key, bool) and 0 <= key <= MAX_SAFE_INTEGER:
            return str(key), call.scope
        if not isinstance(key, str):
            raise RuleError("a path is a string or a whole number", call.path)
        if key.startswith(ROOT_PREFIX):
            return key[len(ROOT_PREFIX) :], self.root
        return key, call.scope

    def peek(self, key: object, call: _Call) -> tuple[bool, Any, str | None]:
        """Look a path up, recording it as used when it is a fact that is there."""
        relative, scope = self.target(key, call)
        found, value = _lookup(scope.data, relative)
        origin = None if scope.origin is None else _join(scope.origin, relative)
        if found:
            _kind(value, call.path)
            if origin is not None:
                self.facts_used.setdefault(origin, value)
        return found, value, origin

    def read(self, call: _Call) -> tuple[Any, str | None]:
        """``var``: the value and its place in the facts (None for a default or computed data)."""
        found, value, origin = self.peek(self.arg(call, 0), call)
        if found and value is not None:
            return value, origin
        if len(call.args) == 2:
            return self.arg(call, 1), None
        if origin is not None:
            raise MissingFact(origin, call.path)
        raise RuleError("there is no value at this path", call.path)

    def equal(self, a: object, b: object, path: str, depth: int = 0) -> bool:
        """Equality without coercion: same type and same value, arrays and objects deeply."""
        self.tick(path)
        if depth > self.max_depth:
            raise RuleError("the values are nested too deeply to compare", path)
        kind = _kind(a, path)
        if kind != _kind(b, path):
            return False
        if isinstance(a, list | tuple) and isinstance(b, list | tuple):
            return len(a) == len(b) and all(
                self.equal(x, y, path, depth + 1) for x, y in zip(a, b, strict=True)
            )
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            return a.keys() == b.keys() and all(
                self.equal(a[key], b[key], path, depth + 1) for key in a
            )
        return bool(a == b)


def _parse_call(node: Mapping[Any, Any], scope: _Scope, path: str, depth: int) -> _Call:
    if len(node) != 1:
        raise RuleError("an operation is an object with exactly one key, its operator", path)
    ((op, raw),) = node.items()
    if not isinstance(op, str) or op not in _OPERATORS:
        shown = op[:40] if isinstance(op, str) else op
        raise RuleError(f"unknown operator {shown!r}", path)
    if isinstance(raw, list | tuple):
        args: Sequence[object] = raw
        arg_paths: Sequence[str] = [f"{path}.{op}[{index}]" for index in range(len(raw))]
    else:
        args, arg_paths = (raw,), (f"{path}.{op}",)
    problem = _OPERATORS[op].arity_problem(op, len(args))
    if problem is not None:
        raise RuleError(problem, path)
    return _Call(op, args, arg_paths, scope, path, depth)


# --- operators ----------------------------------------------------------------------------


def _var(ev: _Evaluator, call: _Call) -> Any:
    return ev.read(call)[0]


def _missing(ev: _Evaluator, call: _Call) -> list[Any]:
    """The keys whose facts are absent, null or "" (JSON Logic counts "" as missing)."""
    keys = ev.args(call)
    if len(keys) == 1 and isinstance(keys[0], list):
        keys = keys[0]
    absent = []
    for key in keys:
        ev.tick(call.path)
        found, value, _ = ev.peek(key, call)
        if not found or value is None or value == "":
            absent.append(key)
    return absent


def _equals(ev: _Evaluator, call: _Call) -> bool:
    a, b = ev.args(call)
    return ev.equal(a, b, call.path)


def _not_equals(ev: _Evaluator, call: _Call) -> bool:
    return not _equals(ev, call)


def _ordered(a: Any, b: Any, *, strict: bool, path: str) -> bool:
    kind = _kind(a, path)
    if kind != _kind(b, path) or kind not in _ORDERED_KINDS:
        return False
    return bool(a < b) if strict else bool(a <= b)


def _comparison(*, strict: bool, reverse: bool) -> Callable[[_Evaluator, _Call], bool]:
    def compare(ev: _Evaluator, call: _Call) -> bool:
        values = ev.args(call)
        if reverse:
            values.reverse()
        return all(_ordered(a, b, strict=strict, path=call.path) for a, b in pairwise(values))

    return compare


def _and(ev: _Evaluator, call: _Call) -> Any:
    """The first false value, or the last value: later arguments are not evaluated."""
    value = None
    for index in range(len(call.args)):
        value = ev.arg(call, index)
        if not _truthy(value):
            return value
    return value


def _or(ev: _Evaluator, call: _Call) -> Any:
    """The first true value, or the last value: later arguments are not evaluated."""
    value = None
    for index in range(len(call.args)):
        value = ev.arg(call, index)
        if _truthy(value):
            return value
    return value


def _not(ev: _Evaluator, call: _Call) -> bool:
    return not _truthy(ev.arg(call, 0))


def _bool(ev: _Evaluator, call: _Call) -> bool:
    return _truthy(ev.arg(call, 0))


def _if(ev: _Evaluator, call: _Call) -> Any:
    last = len(call.args) - 1
    for index in range(0, last, 2):
        if _truthy(ev.arg(call, index)):
            return ev.arg(call, index + 1)
    return ev.arg(call, last)


def _in(ev: _Evaluator, call: _Call) -> bool:
    needle, haystack = ev.args(call)
    _kind(needle, call.path)
    kind = _kind(haystack, call.path)
    if kind == "string":
        return isinstance(needle, str) and needle in haystack
    if kind == "array":
        return any(ev.equal(needle, item, call.path) for item in haystack)
    return False


def _number(value: object, call: _Call) -> int | float:
    kind = _kind(value, call.path)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise RuleError(f"{call.op!r} needs numbers, got {kind}", call.path)
    return _in_range(value, call.path)


def _in_range(value: int | float, path: str) -> int | float:
    """Refuse results JSON cannot carry exactly, before big numbers cost time and memory."""
    if isinstance(value, float) and not math.isfinite(value):
        raise RuleError("the number is too large", path)
    if isinstance(value, int) and abs(value) > MAX_SAFE_INTEGER:
        raise RuleError("the number is out of range", path)
    return value


def _numbers(ev: _Evaluator, call: _Call) -> list[int | float]:
    return [_number(value, call) for value in ev.args(call)]


def _reduce(
    values: Sequence[int | float], step: Callable[[Any, Any], Any], path: str
) -> int | float:
    total = values[0]
    for value in values[1:]:
        total = _in_range(step(total, value), path)
    return total


def _add(ev: _Evaluator, call: _Call) -> int | float:
    return _reduce(_numbers(ev, call), lambda a, b: a + b, call.path)


def _multiply(ev: _Evaluator, call: _Call) -> int | float:
    return _reduce(_numbers(ev, call), lambda a, b: a * b, call.path)


def _subtract(ev: _Evaluator, call: _Call) -> int | float:
    values = _numbers(ev, call)
    if len(values) == 1:
        return -values[0]
    return _in_range(values[0] - values[1], call.path)


def _divide(ev: _Evaluator, call: _Call) -> float:
    dividend, divisor = _numbers(ev, call)
    if divisor == 0:
        raise RuleError("division by zero", call.path)
    return float(_in_range(dividend / divisor, call.path))


def _min(ev: _Evaluator, call: _Call) -> int | float:
    return min(_numbers(ev, call))


def _max(ev: _Evaluator, call: _Call) -> int | float:
    return max(_numbers(ev, call))


def _as_text(value: object, call: _Call) -> str:
    kind = _kind(value, call.path)
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(_in_range(value, call.path))
    raise RuleError(f"'cat' joins strings and numbers, got {kind}", call.path)


def _cat(ev: _Evaluator, call: _Call) -> str:
    parts = []
    length = 0
    for value in ev.args(call):
        part = _as_text(value, call)
        length += len(part)
        if length > MAX_STRING_LENGTH:
            raise RuleError("the string would be too long", call.path)
        parts.append(part)
    return "".join(parts)


def _count(ev: _Evaluator, call: _Call) -> int:
    value = ev.arg(call, 0)
    kind = _kind(value, call.path)
    if not isinstance(value, list | tuple):
        raise RuleError(f"'count' needs an array, got {kind}", call.path)
    return len(value)


def _truths(ev: _Evaluator, call: _Call) -> Iterator[bool]:
    """The predicate's truth for each element, lazily, with the element as the data."""
    array, origin = ev.evaluate_with_origin(
        call.args[0], call.scope, call.arg_paths[0], call.depth + 1
    )
    kind = _kind(array, call.path)
    if not isinstance(array, list | tuple):
        raise RuleError(f"{call.op!r} needs an array, got {kind}", call.path)
    for index, item in enumerate(array):
        scope = _Scope(item, None if origin is None else _join(origin, str(index)))
        yield _truthy(ev.evaluate(call.args[1], scope, call.arg_paths[1], call.depth + 1))


def _some(ev: _Evaluator, call: _Call) -> bool:
    return any(_truths(ev, call))


def _all(ev: _Evaluator, call: _Call) -> bool:
    seen = False
    for truth in _truths(ev, call):
        if not truth:
            return False
        seen = True
    return seen


def _none(ev: _Evaluator, call: _Call) -> bool:
    return not any(_truths(ev, call))


def _as_date(value: object, call: _Call) -> datetime.date:
    kind = _kind(value, call.path)
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            raise RuleError(f"{value!r} is not a valid date", call.path) from None
    raise RuleError(f"{call.op!r} needs a date or a YYYY-MM-DD string, got {kind}", call.path)


def _date(ev: _Evaluator, call: _Call) -> datetime.date:
    return _as_date(ev.arg(call, 0), call)


def _days_between(ev: _Evaluator, call: _Call) -> int:
    """Calendar days from the first date to the second (negative when it comes earlier)."""
    start, end = (_as_date(value, call) for value in ev.args(call))
    return (end - start).days


def _age(ev: _Evaluator, call: _Call) -> int:
    """Full years from a birth date to a date.

    Someone born on 29 February turns a year older on 1 March in a common year: 28 February
    still comes before the anniversary.
    """
    born, on = (_as_date(value, call) for value in ev.args(call))
    if on < born:
        raise RuleError("the date is before the birth date", call.path)
    return on.year - born.year - int((on.month, on.day) < (born.month, born.day))


@dataclass(frozen=True, slots=True)
class _Operator:
    evaluate: Callable[[_Evaluator, _Call], Any]
    min_args: int
    max_args: int | None
    odd: bool = False

    def arity_problem(self, op: str, count: int) -> str | None:
        if self.odd and (count < self.min_args or count % 2 == 0):
            return (
                f"{op!r} takes an odd number of arguments, at least {self.min_args} "
                f"(conditions and results, then an else), got {count}"
            )
        if self.max_args is None:
            if count >= self.min_args:
                return None
            wanted = f"at least {self.min_args}"
        elif self.min_args <= count <= self.max_args:
            return None
        elif self.min_args == self.max_args:
            wanted = str(self.min_args)
        else:
            wanted = f"{self.min_args} or {self.max_args}"
        plural = "" if wanted.endswith(" 1") or wanted == "1" else "s"
        return f"{op!r} takes {wanted} argument{plural}, got {count}"


def _object(ev: _Evaluator, call: _Call) -> Any:
    """``{"object": {"iin": <expr>, "share": "1/1"}}``: an object whose values are computed,
    for writing structured register fields (an address, an owner) from the facts."""
    members = call.args[0]
    if not isinstance(members, Mapping):
        raise RuleError("'object' takes an object of member names and expressions", call.path)
    built: dict[str, Any] = {}
    for name, expression in members.items():
        if not isinstance(name, str) or not name:
            raise RuleError("'object' member names are non-empty strings", call.path)
        built[name] = ev.evaluate(
            expression, call.scope, f"{call.path}.object.{name}", call.depth + 1
        )
    return built


_OPERATORS: Final[Mapping[str, _Operator]] = {
    "var": _Operator(_var, 1, 2),
    "missing": _Operator(_missing, 1, None),
    "==": _Operator(_equals, 2, 2),
    "!=": _Operator(_not_equals, 2, 2),
    "<": _Operator(_comparison(strict=True, reverse=False), 2, 3),
    "<=": _Operator(_comparison(strict=False, reverse=False), 2, 3),
    ">": _Operator(_comparison(strict=True, reverse=True), 2, 2),
    ">=": _Operator(_comparison(strict=False, reverse=True), 2, 2),
    "and": _Operator(_and, 1, None),
    "or": _Operator(_or, 1, None),
    "!": _Operator(_not, 1, 1),
    "!!": _Operator(_bool, 1, 1),
    "if": _Operator(_if, 3, None, odd=True),
    "in": _Operator(_in, 2, 2),
    "+": _Operator(_add, 1, None),
    "-": _Operator(_subtract, 1, 2),
    "*": _Operator(_multiply, 1, None),
    "/": _Operator(_divide, 2, 2),
    "min": _Operator(_min, 1, None),
    "max": _Operator(_max, 1, None),
    "cat": _Operator(_cat, 1, None),
    "count": _Operator(_count, 1, 1),
    "some": _Operator(_some, 2, 2),
    "all": _Operator(_all, 2, 2),
    "none": _Operator(_none, 2, 2),
    "date": _Operator(_date, 1, 1),
    "days_between": _Operator(_days_between, 2, 2),
    "age": _Operator(_age, 2, 2),
    "object": _Operator(_object, 1, 1),
}
OPERATORS: Final = frozenset(_OPERATORS)
"""The name of every operator a rule may use."""


def evaluate(
    rule: object,
    facts: Mapping[str, Any],
    *,
    max_depth: int = MAX_DEPTH,
    max_steps: int = MAX_STEPS,
) -> Any:
    """The value of ``rule`` over ``facts``.

    Raises ``RuleError`` (``MissingFact`` when a needed fact is absent) and nothing else,
    whatever ``rule`` holds; ``validate_rule`` reports problems before a rule is published.
    """
    evaluator = _Evaluator(facts, max_depth=max_depth, max_steps=max_steps)
    return evaluator.evaluate(rule, evaluator.root, "rule", 1)


# --- validation ---------------------------------------------------------------------------


class _Checker:
    """Walks a rule once, collecting every problem with its path."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.nodes = 0

    def check(self, node: object, path: str, depth: int) -> None:
        self.nodes += 1
        if self.nodes == MAX_STEPS + 1:
            self.errors.append(f"{path}: the rule has more than {MAX_STEPS} parts")
        if self.nodes > MAX_STEPS:
            return
        if depth > MAX_DEPTH:
            self.errors.append(f"{path}: nested deeper than {MAX_DEPTH} levels")
        elif isinstance(node, Mapping):
            self.check_operation(node, path, depth)
        elif isinstance(node, list | tuple):
            for index, item in enumerate(node):
                self.check(item, f"{path}[{index}]", depth + 1)
        else:
            problem = _literal_problem(node)
            if problem is not None:
                self.errors.append(f"{path}: {problem}")

    def check_operation(self, node: Mapping[Any, Any], path: str, depth: int) -> None:
        try:
            call = _parse_call(node, _Scope(None, None), path, depth)
        except RuleError as error:
            self.errors.append(str(error))
            return
        if call.op in ("var", "missing"):
            self.check_paths(call)
        if call.op == "object":
            self.check_members(call, depth)
            return
        for arg, arg_path in zip(call.args, call.arg_paths, strict=True):
            self.check(arg, arg_path, depth + 1)

    def check_members(self, call: _Call, depth: int) -> None:
        members = call.args[0]
        if not isinstance(members, Mapping) or not members:
            self.errors.append(f"{call.path}: 'object' takes an object of names and expressions")
            return
        for name, expression in members.items():
            if not isinstance(name, str) or not name:
                self.errors.append(f"{call.path}: 'object' member names are non-empty strings")
                continue
            self.check(expression, f"{call.path}.object.{name}", depth + 1)

    def check_paths(self, call: _Call) -> None:
        """Constant ``var``/``missing`` paths must be well formed (computed ones are checked
        when evaluated)."""
        keys = call.args[:1] if call.op == "var" else call.args
        if call.op == "missing" and len(keys) == 1 and isinstance(keys[0], list | tuple):
            return  # one array of paths: its items are checked as the array's elements
        for key, key_path in zip(keys, call.arg_paths, strict=False):
            problem = _path_problem(key)
            if problem is not None:
                self.errors.append(f"{key_path}: {problem}")


def _path_problem(key: object) -> str | None:
    if key is None or isinstance(key, Mapping):
        return None
    if isinstance(key, int) and not isinstance(key, bool):
        return None if key >= 0 else "an array index cannot be negative"
    if not isinstance(key, str):
        return "a path is a string or a whole number"
    relative = key.removeprefix(ROOT_PREFIX)
    if relative and "" in relative.split("."):
        return f"the path {key[:80]!r} has an empty part"
    return None


def validate_rule(rule: object, *, path: str = "rule") -> list[str]:
    """Every problem in ``rule``, each as "<where>: <what>"; empty when the rule can be used."""
    checker = _Checker()
    checker.check(rule, path, 1)
    return checker.errors


def label_errors(label: object, path: str) -> list[str]:
    """Problems with a trilingual label ``{"kk": ..., "ru": ..., "en": ...}``."""
    if not isinstance(label, Mapping):
        return [f"{path}: a label is an object with the keys kk, ru and en"]
    errors = [f"{path}.{key}: unknown language" for key in label if key not in LANGUAGES]
    for code in LANGUAGES:
        text = label.get(code)
        if not isinstance(text, str) or not text.strip():
            errors.append(f"{path}.{code}: the text is missing")
        elif len(text) > MAX_STRING_LENGTH:
            errors.append(f"{path}.{code}: the text is too long")
    return errors


def _unknown_keys(data: Mapping[Any, Any], allowed: Sequence[str], path: str) -> list[str]:
    prefix = f"{path}." if path else ""
    return [f"{prefix}{key}: unknown key" for key in data if key not in allowed]


def _condition_errors(condition: object, path: str, seen: set[str]) -> list[str]:
    if not isinstance(condition, Mapping):
        return [f"{path}: a condition is an object with id, label and rule"]
    errors = _unknown_keys(condition, ("id", "label", "rule"), path)
    condition_id = condition.get("id")
    if not isinstance(condition_id, str) or not _CONDITION_ID.fullmatch(condition_id):
        errors.append(f"{path}.id: lowercase letters, digits and _, starting with a letter")
    elif condition_id in seen:
        errors.append(f"{path}.id: {condition_id!r} is used by an earlier condition")
    else:
        seen.add(condition_id)
    errors += label_errors(condition.get("label"), f"{path}.label")
    if "rule" not in condition:
        errors.append(f"{path}.rule: the rule is missing")
    else:
        errors += validate_rule(condition["rule"], path=f"{path}.rule")
    return errors


def validate_rule_set(rule_set: object) -> list[str]:
    """Every problem in a rule set: its shape, unique condition ids, trilingual labels and
    valid rules. Empty when it can be published."""
    if not isinstance(rule_set, Mapping):
        return ["rule set: an object with conditions and decide"]
    errors = _unknown_keys(rule_set, ("conditions", "decide"), "")
    if rule_set.get("decide") != "all":
        errors.append("decide: must be 'all' (every condition must hold)")
    conditions = rule_set.get("conditions")
    if not isinstance(conditions, list | tuple) or not conditions:
        errors.append("conditions: a non-empty array of conditions")
        return errors
    seen: set[str] = set()
    for index, condition in enumerate(conditions):
        errors += _condition_errors(condition, f"conditions[{index}]", seen)
    return errors


# --- decisions ----------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value


@dataclass(frozen=True)
class ConditionResult:
    """How one condition came out, and what it was based on.

    ``facts_used`` maps each fact path the evaluation read (and found) to its value, in the
    order read; reads cut short by ``and``/``or``/``if`` are not in it. ``missing`` names the
    fact that made the outcome unknown; ``error`` says why in words.
    """

    id: str
    label: Mapping[str, str]
    outcome: ConditionOutcome
    facts_used: Mapping[str, Any]
    missing: tuple[str, ...] = ()
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": dict(self.label),
            "outcome": self.outcome,
            "facts_used": _jsonable(self.facts_used),
            "missing": list(self.missing),
            "error": self.error,
        }


@dataclass(frozen=True)
class Decision:
    """A rule set's verdict with the trace that explains it, ready to store."""

    outcome: Outcome
    conditions: tuple[ConditionResult, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "conditions": [condition.to_json() for condition in self.conditions],
        }


def _evaluate_condition(
    condition: Mapping[str, Any], facts: Mapping[str, Any], path: str, max_steps: int
) -> ConditionResult:
    evaluator = _Evaluator(facts, max_depth=MAX_DEPTH, max_steps=max_steps)
    outcome: ConditionOutcome = "unknown"
    missing: tuple[str, ...] = ()
    error = None
    try:
        value = evaluator.evaluate(condition["rule"], evaluator.root, path, 1)
    except MissingFact as problem:
        missing, error = (problem.fact,), str(problem)
    except RuleError as problem:
        error = str(problem)
    else:
        outcome = "true" if _truthy(value) else "false"
    return ConditionResult(
        id=condition["id"],
        label=dict(condition["label"]),
        outcome=outcome,
        facts_used=dict(evaluator.facts_used),
        missing=missing,
        error=error,
    )


def _verdict(results: Sequence[ConditionResult]) -> Outcome:
    """A false condition rejects even when another is unknown: no value of the missing fact
    could make every condition hold. Otherwise an unknown condition leaves it to a person."""
    outcomes = {result.outcome for result in results}
    if "false" in outcomes:
        return "reject"
    if "unknown" in outcomes:
        return "undecided"
    return "approve"


def evaluate_rule_set(
    rule_set: Mapping[str, Any], facts: Mapping[str, Any], *, max_steps: int = MAX_STEPS
) -> Decision:
    """Evaluate every condition of ``rule_set`` over ``facts`` (each within ``max_steps``).

    Raises ``InvalidRuleSet`` when the rule set does not validate; problems met while
    evaluating a condition make that condition unknown instead, with the reason kept.
    """
    errors = validate_rule_set(rule_set)
    if errors:
        raise InvalidRuleSet(errors)
    results = tuple(
        _evaluate_condition(condition, facts, f"conditions[{index}].rule", max_steps)
        for index, condition in enumerate(rule_set["conditions"])
    )
    return Decision(outcome=_verdict(results), conditions=results)
