"""JSON Canonicalization Scheme (RFC 8785): the exact bytes that get hashed and signed.

``canonicalize`` writes a value with no insignificant whitespace, object members sorted by the
UTF-16 code units of their names, strings with only the escapes JSON requires, and numbers the
way ECMAScript's ``Number.prototype.toString`` writes an IEEE-754 double. The output is UTF-8.

Python values map as: dict (any Mapping with str keys) -> object, list/tuple -> array,
str -> string, bool -> true/false, None -> null, float -> number. An int is written as the
double it converts to and must convert exactly: ``2**53 + 1`` raises ``ValueError`` instead of
silently becoming ``9007199254740992``. NaN and the infinities have no JSON form and raise too,
as do strings with unpaired surrogates (RFC 7493, I-JSON).

This module imports nothing from Django, so it can be used anywhere.
"""

from __future__ import annotations

import json
import json.encoder
import math
from collections.abc import Callable, Mapping
from typing import Any, Final

__all__ = ["canonicalize", "is_canonical", "loads_canonical"]

# The standard library's string encoder (C-accelerated) writes exactly the escapes RFC 8785
# asks for: \b \t \n \f \r \" \\ and \u00xx (lower case) for the other control characters,
# nothing else. It lets unpaired surrogates through; the final UTF-8 encoding rejects them.
_string: Final[Callable[[str], str]] = json.encoder.encode_basestring


def _number(value: float) -> str:
    """ECMAScript Number::toString for a finite double."""
    if not math.isfinite(value):
        raise ValueError(f"{value!r} has no JSON representation")
    if value == 0:
        return "0"  # also for -0
    sign = "-" if value < 0 else ""
    # repr() gives the shortest digit string that reads back as the same double, which is
    # the digit string ECMAScript asks for; only the layout differs.
    mantissa, _, exponent = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    # Value = 0.<digits> * 10**point once leading zeros are dropped.
    point = len(whole) + (int(exponent) if exponent else 0)
    significant = digits.lstrip("0")
    point -= len(digits) - len(significant)
    significant = significant.rstrip("0")
    k, n = len(significant), point
    if k <= n <= 21:
        text = significant + "0" * (n - k)
    elif 0 < n <= 21:
        text = significant[:n] + "." + significant[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * -n + significant
    else:
        e = n - 1
        exp = f"e{'+' if e >= 0 else '-'}{abs(e)}"
        text = significant + exp if k == 1 else significant[0] + "." + significant[1:] + exp
    return sign + text


def _int(value: int) -> str:
    try:
        as_float = float(value)
    except OverflowError:
        raise ValueError(f"integer {value} is out of the range of a double") from None
    if int(as_float) != value:
        raise ValueError(f"integer {value} cannot be represented exactly as a double")
    return _number(as_float)


def _sort_key(name: str) -> bytes:
    # Big-endian UTF-16 compares bytewise in the same order as its code units.
    return name.encode("utf-16-be", "surrogatepass")


def _sorted_names(value: Mapping[Any, Any]) -> list[str]:
    names = list(value)
    ascii_only = True
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"object member names must be str, not {type(name).__name__}")
        ascii_only = ascii_only and name.isascii()
    # Code point order is UTF-16 order except above U+FFFF; ASCII is the common, cheap case.
    return sorted(names) if ascii_only else sorted(names, key=_sort_key)


def _write(value: Any, out: list[str]) -> None:
    kind = type(value)
    # Exact types first, as they are the common case; `is` also keeps bool apart from int.
    if kind is str:
        out.append(_string(value))
    elif kind is dict or (kind is not list and isinstance(value, Mapping)):
        out.append("{")
        for index, name in enumerate(_sorted_names(value)):
            if index:
                out.append(",")
            out.append(_string(name))
            out.append(":")
            _write(value[name], out)
        out.append("}")
    elif kind is list or kind is tuple:
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _write(item, out)
        out.append("]")
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif kind is int or kind is float:
        out.append(_int(value) if kind is int else _number(value))
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, int):
        out.append(_int(int(value)))
    elif isinstance(value, float):
        out.append(_number(float(value)))
    elif isinstance(value, list | tuple):
        _write(list(value), out)
    else:
        raise TypeError(f"{kind.__name__} has no JSON representation")


def canonicalize(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of ``value``.

    Raises ``ValueError`` for numbers and strings that JSON cannot carry exactly and
    ``TypeError`` for values that are not JSON at all.
    """
    out: list[str] = []
    _write(value, out)
    try:
        return "".join(out).encode("utf-8")
    except UnicodeEncodeError:
        # Python str holds code points, so any surrogate in one is unpaired.
        raise ValueError("a string contains an unpaired surrogate") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("object has duplicate member names")
    return result


def _parse_int(text: str) -> int | float:
    # Canonical text writes integral doubles without a fraction, also beyond 2**53
    # ("12345678901234567000"); keep such a number as the double it stands for.
    number = int(text)
    if abs(number) <= 2**53:
        return number
    return float(text)


def loads_canonical(data: bytes) -> Any:
    """Parse JSON that must already be in canonical form.

    Raises ``ValueError`` when ``data`` is not UTF-8, not JSON (NaN and Infinity included),
    has duplicate member names, or is JSON but not byte-for-byte canonical.
    """
    text = data.decode("utf-8")
    value = json.loads(
        text,
        object_pairs_hook=_reject_duplicates,
        parse_constant=_reject_constant,
        parse_int=_parse_int,
    )
    if canonicalize(value) != data:
        raise ValueError("JSON is not in canonical form (RFC 8785)")
    return value


def is_canonical(data: bytes) -> bool:
    """True when ``data`` is JSON in RFC 8785 canonical form."""
    try:
        loads_canonical(data)
    except (ValueError, TypeError, RecursionError):
        return False
    return True
