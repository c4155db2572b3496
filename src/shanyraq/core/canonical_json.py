"""JSON Canonicalization Scheme (RFC 8785): the exact bytes that get hashed and signed.

``canonicalize`` writes a value with no insignificant whitespace, object members sorted by the
UTF-16 code units of their names, strings with only the escapes JSON requires, and numbers the
way ECMAScript's ``Number.prototype.toString`` writes an IEEE-754 double. The output is UTF-8.

Python values map as: dict (any Mapping with str keys) -> object, list/tuple -> array,
str -> string, bool -> true/false, None -> null, float -> number. An int is written as the
double it converts to and must convert exactly: ``2**53 + 1`` raises ``ValueError`` instead of
silently becoming ``9007199254740992``. NaN and the infinities have no JSON form and raise too,
as do strings with unpaired surrogates (RFC 7493, I-JSON).

Most values hashed here (register data, ledger entries) are plain: strings, small integers,
nested objects whose member names sit below U+D800. For those the standard library's C encoder
with sorted keys already writes the canonical bytes, so ``canonicalize`` first checks whether a
value is plain (see ``_plain``) and only writes everything else itself.

This module imports nothing from Django, so it can be used anywhere.
"""

from __future__ import annotations

import json
import json.encoder
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

__all__ = ["canonicalize", "is_canonical", "loads_canonical"]

# The standard library's string encoder (C-accelerated) writes exactly the escapes RFC 8785
# asks for: \b \t \n \f \r \" \\ and \u00xx (lower case) for the other control characters,
# nothing else. It lets unpaired surrogates through; the final UTF-8 encoding rejects them.
_string: Final[Callable[[str], str]] = json.encoder.encode_basestring


# Integers up to this magnitude convert to a double exactly, and Python writes them as
# ECMAScript does.
_EXACT_INT: Final = 2**53

# Beyond this nesting the general writer decides (it raises RecursionError for a cycle).
_PLAIN_DEPTH: Final = 32


def _plain(value: Any, depth: int) -> bool:
    """True when the C encoder's output for ``value`` is its canonical form.

    The two agree on exactly these values:

    * dict with str member names, list, tuple, str, bool, None: both write strings with the
      same escaping function and the literals the same way (``bool`` is checked before ``int``
      by its exact type). Subclasses are left to the general writer.
    * int within +-2**53: both write the decimal digits.
    * float that is not integral, with 1e-4 <= |value| < 1e16: both use the shortest
      round-trip digits, and in this range ``repr`` and ECMAScript both choose the plain
      decimal layout (``repr`` switches to exponents below 1e-4 and from 1e16 on, ECMAScript
      below 1e-6 and from 1e21 on). Integral floats differ (``1.0`` against ``1``), and NaN and
      the infinities fall outside the range.
    * member names below U+D800: sorting by code point (the encoder) and by UTF-16 code unit
      (RFC 8785) only disagree once a name holds U+E000..U+FFFF or a character beyond the BMP,
      and a surrogate must fail as it does in the general writer.

    Unpaired surrogates in string values need no check: the final UTF-8 encoding rejects them
    on either path.
    """
    kind = type(value)
    if kind is dict:
        for name in value:
            if type(name) is not str or (not name.isascii() and max(name) >= "\ud800"):
                return False
        items = value.values()
    elif kind is list or kind is tuple:
        items = value
    else:
        items = (value,)
    for item in items:
        kind = type(item)
        if kind is str or item is None or kind is bool:
            continue
        if kind is dict or kind is list or kind is tuple:
            if depth >= _PLAIN_DEPTH or not _plain(item, depth + 1):
                return False
        elif kind is int:
            if not -_EXACT_INT <= item <= _EXACT_INT:
                return False
        elif kind is float:
            if not (1e-4 <= abs(item) < 1e16 and not item.is_integer()):
                return False
        else:
            return False
    return True


def _plain_encoder() -> Callable[[Any, int], Sequence[str]]:
    # Calling the C encoder directly saves building it on every call, which is a good part of
    # the cost for a small value; without it, the public encoder gives the same text.
    encoder = json.JSONEncoder(
        ensure_ascii=False,
        check_circular=False,
        allow_nan=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is not None:
        try:
            one_shot: Callable[[Any, int], Sequence[str]] = make(
                None, encoder.default, _string, None, ":", ",", True, False, False
            )
        except TypeError:
            pass
        else:
            return one_shot
    return lambda value, _level: (encoder.encode(value),)


_encode_plain: Final = _plain_encoder()


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
    if _plain(value, 0):
        return _utf8(_encode_plain(value, 0))
    return _canonicalize_general(value)


def _canonicalize_general(value: Any) -> bytes:
    """``canonicalize`` for any value, written piece by piece; the reference for the fast path."""
    out: list[str] = []
    _write(value, out)
    return _utf8(out)


def _utf8(pieces: Iterable[str]) -> bytes:
    try:
        return "".join(pieces).encode("utf-8")
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
