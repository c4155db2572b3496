import json
import math
import struct
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shanyraq.core.canonical_json import (
    _canonicalize_general,
    _plain,
    _plain_encoder,
    canonicalize,
    is_canonical,
    loads_canonical,
)


def from_hex(ieee754: str) -> float:
    value: float = struct.unpack(">d", bytes.fromhex(ieee754))[0]
    return value


# RFC 8785, Appendix B: IEEE-754 doubles and their canonical text.
APPENDIX_B = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),  # minus zero
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),  # round to even
]


@pytest.mark.parametrize(("ieee754", "expected"), APPENDIX_B)
def test_appendix_b_numbers(ieee754: str, expected: str) -> None:
    assert canonicalize(from_hex(ieee754)) == expected.encode()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (1e-7, "1e-7"),
        (0.000001, "0.000001"),
        (-0.0, "0"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (333333333.33333329, "333333333.3333333"),
        (4.50, "4.5"),
        (2e-3, "0.002"),
        (1e30, "1e+30"),
        (1e-27, "1e-27"),
        (1.5e-7, "1.5e-7"),
        (123.456, "123.456"),
        (-1.0, "-1"),
        (0.1, "0.1"),
        (1, "1"),
        (-42, "-42"),
        (0, "0"),
        (2**53, "9007199254740992"),
        (2**68, "295147905179352830000"),
        (True, "true"),
        (False, "false"),
        (None, "null"),
    ],
)
def test_primitives(value: Any, expected: str) -> None:
    assert canonicalize(value) == expected.encode()


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_rejected(value: float) -> None:
    with pytest.raises(ValueError, match="no JSON representation"):
        canonicalize([value])


@pytest.mark.parametrize("value", [2**53 + 1, -(2**53) - 1, 10**400])
def test_integers_that_are_not_exactly_a_double_are_rejected(value: int) -> None:
    with pytest.raises(ValueError, match="integer"):
        canonicalize({"n": value})


def test_rfc_example_of_section_3_2_2() -> None:
    value = {
        "numbers": [333333333.33333329, 1e30, 4.50, 2e-3, 0.000000000000000000000000001],
        "string": "\u20ac$\u000f\u000aA'\u0042\u0022\u005c\\\"/",
        "literals": [None, True, False],
    }

    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert canonicalize(value) == expected.encode()
    # Section 3.2.4: the same in UTF-8 bytes.
    assert canonicalize(value) == bytes.fromhex(
        """
        7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72
        75 65 2c 66 61 6c 73 65 5d 2c 22 6e 75 6d 62 65 72 73 22 3a
        5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31
        65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37
        5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30
        30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d
        """
    )


def test_rfc_sorting_example_of_section_3_2_3() -> None:
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }

    names = list(json.loads(canonicalize(value)).values())
    assert names == [
        "Carriage Return",
        "One",
        "Control",
        "Latin Small Letter O With Diaeresis",
        "Euro Sign",
        "Emoji: Grinning Face",  # its UTF-16 code units start at 0xD83D, before 0xFB33
        "Hebrew Letter Dalet With Dagesh",
    ]


def test_sorting_is_recursive_and_arrays_keep_their_order() -> None:
    value = {"b": [{"z": 1, "y": 2}, 3, "x"], "a": {"d": None, "c": {"f": 1, "e": 2}}}

    assert canonicalize(value) == b'{"a":{"c":{"e":2,"f":1},"d":null},"b":[{"y":2,"z":1},3,"x"]}'


def test_string_escapes() -> None:
    controls = "".join(chr(c) for c in range(0x20))
    expected = (
        '"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r'
        "\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019"
        '\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f"'
    )
    assert canonicalize(controls) == expected.encode()
    # Nothing else is escaped: not "/", DEL, or anything beyond ASCII.
    assert canonicalize('/\x7f"\\') == b'"/\x7f\\"\\\\"'
    assert canonicalize("Қазақстан 😀") == '"Қазақстан 😀"'.encode()


def test_unpaired_surrogates_are_rejected() -> None:
    with pytest.raises(ValueError, match="surrogate"):
        canonicalize("\ud83d")
    with pytest.raises(ValueError, match="surrogate"):
        canonicalize({"\udc00": 1})


@pytest.mark.parametrize("value", [{1: "a"}, {None: "a"}, {"ok": {("a",): 1}}])
def test_member_names_must_be_strings(value: Any) -> None:
    with pytest.raises(TypeError, match="member names must be str"):
        canonicalize(value)


@pytest.mark.parametrize("value", [Decimal("1.5"), b"bytes", {1, 2}, object()])
def test_other_types_are_rejected(value: Any) -> None:
    with pytest.raises(TypeError, match="no JSON representation"):
        canonicalize([value])


def test_tuples_are_arrays() -> None:
    assert canonicalize((1, (2, "3"))) == b'[1,[2,"3"]]'


# -- reading canonical input -------------------------------------------------------------------


def test_loads_canonical_accepts_canonical_bytes() -> None:
    data = '{"a":[1,2.5,"€"],"b":null,"c":true}'.encode()

    assert loads_canonical(data) == {"a": [1, 2.5, "€"], "b": None, "c": True}
    assert is_canonical(data) is True


def test_loads_canonical_keeps_large_integral_doubles() -> None:
    assert loads_canonical(b"[12345678901234567000]") == [1.2345678901234567e19]
    assert loads_canonical(b"[9007199254740992]") == [9007199254740992]
    assert loads_canonical(b"[1e+21]") == [1e21]


@pytest.mark.parametrize(
    "data",
    [
        b'{"b":1,"a":2}',  # members out of order
        b'{"a": 1}',  # whitespace
        b'{"a":1}\n',
        b"[1.0]",  # non-shortest numbers
        b"[1e3]",
        b"[1E+21]",
        b"[-0]",
        b"[0.10]",
        b"[9007199254740993]",  # not a double
        b'"\\u0041"',  # needless escapes
        b'"\\/"',
        b'"\\u000A"',  # uppercase hex
        b'"\\u001F"',
        b"[NaN]",  # not JSON
        b"[Infinity]",
        b"[1e400]",
        b'{"a":1,"a":1}',  # duplicate names
        b'"\\ud800"',  # unpaired surrogate
        b"\xef\xbb\xbf{}",  # byte order mark
        b'"\xff"',  # not UTF-8
        b'"\xed\xa0\xbd\xed\xb8\x80"',  # surrogates encoded one by one (CESU-8)
        b"",
        b"[1,]",
    ],
)
def test_non_canonical_input_is_rejected(data: bytes) -> None:
    with pytest.raises(ValueError):
        loads_canonical(data)
    assert is_canonical(data) is False


# -- properties --------------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec="utf-8")),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.text(st.characters(codec="utf-8")), children, max_size=5)
    ),
    max_leaves=20,
)


@given(json_values)
def test_round_trip(value: Any) -> None:
    data = canonicalize(value)

    assert loads_canonical(data) == value
    assert is_canonical(data)
    assert canonicalize(loads_canonical(data)) == data


@given(st.dictionaries(st.text(), st.integers(0, 9), max_size=8))
def test_member_order_is_utf16_code_unit_order(value: dict[str, int]) -> None:
    try:
        data = canonicalize(value)
    except ValueError:
        assert any("\ud800" <= c <= "\udfff" for name in value for c in name)
        return

    names = list(json.loads(data))
    assert names == sorted(value, key=lambda name: name.encode("utf-16-be"))


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_numbers_read_back_exactly_and_are_shortest(value: float) -> None:
    text = canonicalize(value).decode()

    assert float(text) == value
    digits = text.lstrip("-").split("e")[0].replace(".", "").strip("0")
    shortest = repr(abs(value)).split("e")[0].replace(".", "").strip("0")
    assert len(digits) == len(shortest)


# -- the fast path for plain values --------------------------------------------------------------

# Characters where escaping, UTF-8 and the two sort orders are decided.
tricky_characters = st.sampled_from(
    [
        "\x00", "\x08", "\x1f", "\x7f", '"', "\\", "/", "\u2028", "\u20ac", "\ud7ff",
        "\ud800", "\udbff", "\udc00", "\udfff", "\ue000", "\ufb33", "\uffff",
        "\U00010000", "\U0001f600", "\U0010ffff",
    ]
)  # fmt: skip
tricky_text = st.text(st.characters() | tricky_characters, max_size=8)
names = tricky_text | st.sampled_from(["", "a", "b", "ab", "iin", "\ue000", "\U0001f600"])
boundary_floats = st.sampled_from(
    [
        0.0, -0.0, 1.0, -1.0, 0.5, 1e-4, -1e-4, math.nextafter(1e-4, 0), 1.5e-4, 1e-5, 1e-7,
        0.1, 2.0**52 - 0.5, 2.0**52, 2.0**53, 1e16, math.nextafter(1e16, 0), 1e21, 1e22,
        123.456, 5e-324, math.nan, math.inf, -math.inf,
    ]
)  # fmt: skip
boundary_ints = st.sampled_from(
    [0, 1, -1, 2**53 - 1, 2**53, 2**53 + 1, -(2**53), -(2**53) - 1, 2**63, 10**400]
)
any_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | boundary_ints
    | st.floats()
    | boundary_floats
    | tricky_text,
    lambda children: (
        st.lists(children, max_size=4)
        | st.lists(children, max_size=4).map(tuple)
        | st.dictionaries(names, children, max_size=4)
        | st.dictionaries(names | st.integers(0, 3) | st.none(), children, max_size=2)
    ),
    max_leaves=25,
)

plain_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(1e-4, 1e15).filter(lambda x: not x.is_integer()).map(lambda x: -x)
    | st.floats(1e-4, 1e15).filter(lambda x: not x.is_integer())
    | tricky_text,
    lambda children: (
        st.lists(children, max_size=5)
        | st.lists(children, max_size=3).map(tuple)
        | st.dictionaries(st.text(st.characters(max_codepoint=0xD7FF)), children, max_size=6)
    ),
    max_leaves=30,
)


def nested(depth: int) -> list[Any]:
    value: list[Any] = ["deep", {"k": 1.5}]
    for _ in range(depth):
        value = [value]
    return value


def outcome(encode: Any, value: Any) -> tuple[str, Any]:
    try:
        return "bytes", encode(value)
    except (TypeError, ValueError) as exc:
        return type(exc).__name__, str(exc)


@given(any_json | plain_json)
def test_fast_path_agrees_with_the_general_writer(value: Any) -> None:
    assert outcome(canonicalize, value) == outcome(_canonicalize_general, value)


@given(plain_json)
def test_plain_values_are_what_the_standard_encoder_writes(value: Any) -> None:
    assert _plain(value, 0) is True
    standard = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    try:
        expected = standard.encode("utf-8")
    except UnicodeEncodeError:
        with pytest.raises(ValueError, match="unpaired surrogate"):
            canonicalize(value)
    else:
        assert canonicalize(value) == expected


def test_a_register_record_takes_the_fast_path() -> None:
    record = {
        "iin": "870715402505",
        "last_name": "Соколова",
        "birth_place": {"country": "KAZ", "locality": "Сергеевка"},
        "registered_address": {"street": "Мектеп көшесі", "building": "64"},
        "parents": [],
        "spouse_iin": None,
        "share": 0.25,
        "rooms": 3,
        "mortgaged": False,
    }

    assert _plain(record, 0) is True
    assert canonicalize(record) == _canonicalize_general(record)


@pytest.mark.parametrize(
    "value",
    [
        {"\ue000": 1, "\U0001f600": 2},  # code point order differs from UTF-16 order
        {"a": {"\ufb33": 1, "\U00010000": 2}},
        {"\ud800": 1},
        {"ok": 1, 2: "not a name"},
        {True: 1},
        {"n": 2**53 + 1},
        {"n": 1.0},
        {"n": 1e16 + 2},
        {"n": 9.5e-5},
        {"n": math.nan},
        {"n": Decimal("1.5")},
        nested(20),
        nested(40),  # deeper than the fast path goes
        {"a": nested(200)},
    ],
)
def test_values_the_fast_path_must_leave_or_handle_exactly(value: Any) -> None:
    assert outcome(canonicalize, value) == outcome(_canonicalize_general, value)


@pytest.mark.parametrize(
    ("value", "plain"),
    [
        ({"\ud7ff": 1}, True),
        ({"\ue000": 1}, False),
        ({"\U0001f600": 1}, False),
        ({"a": "\U0001f600\ue000"}, True),  # string values may hold anything
        ({"a": 2**53, "b": -(2**53)}, True),
        ({"a": 2**53 + 1}, False),
        ({"a": 0.5, "b": 1e-4, "c": 2.0**52 - 0.5}, True),
        ({"a": 0.0}, False),
        ({"a": math.nextafter(1e-4, 0)}, False),
        ({"a": math.inf}, False),
        ((1, [2, {"x": (3,)}]), True),
    ],
)
def test_which_values_are_plain(value: Any, plain: bool) -> None:
    assert _plain(value, 0) is plain
    assert outcome(canonicalize, value) == outcome(_canonicalize_general, value)


def test_subclasses_take_the_general_writer_with_the_same_result() -> None:
    class Name(str):
        pass

    class Count(int):
        pass

    value = {Name("b"): Count(2), "a": [Name("x"), Count(3)]}

    assert _plain(value, 0) is False
    assert canonicalize(value) == b'{"a":["x",3],"b":2}'


def test_lone_surrogates_in_plain_values_are_still_rejected() -> None:
    assert _plain({"a": ["\udc00"]}, 0) is True
    with pytest.raises(ValueError, match="unpaired surrogate"):
        canonicalize({"a": ["\udc00"]})


def test_a_cycle_still_ends_in_recursion_error() -> None:
    value: list[Any] = []
    value.append(value)

    with pytest.raises(RecursionError):
        canonicalize(value)


def test_without_the_c_encoder_the_public_encoder_writes_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(json.encoder, "c_make_encoder", None)
    encode = _plain_encoder()
    value = {"b": [1, 0.5, None, True], "a": {"y": "Қ\n😀", "x": (2**53,)}}

    assert "".join(encode(value, 0)).encode() == _canonicalize_general(value)
