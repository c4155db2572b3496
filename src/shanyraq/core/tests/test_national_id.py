import datetime

import pytest
from django.core import exceptions as django_exceptions
from hypothesis import given
from hypothesis import strategies as st

from shanyraq.core.errors import ValidationError
from shanyraq.core.national_id import (
    Bin,
    EntityAttribute,
    EntityKind,
    Iin,
    InvalidIdentifier,
    bin_validator,
    control_digit,
    iin_validator,
    is_valid_bin,
    is_valid_iin,
    make_bin,
    make_iin,
    validate_bin,
    validate_iin,
)


def first_pass(first11: str) -> int:
    return sum(weight * int(digit) for weight, digit in zip(range(1, 12), first11)) % 11


# -- control digit: worked by hand -----------------------------------------------------------


def test_control_digit_first_pass() -> None:
    # 9*1 + 5*4 + 1*6 + 3*7 + 4*10 + 2*11 = 118 = 10*11 + 8
    assert control_digit("90050130042") == 8


def test_control_digit_second_pass() -> None:
    # First pass: 1 + 6*2 + 2*4 + 4*5 + 6*9 + 8*10 + 7*11 = 252, 252 mod 11 = 10.
    # Second pass: 1*3 + 6*4 + 2*6 + 4*7 + 6*11 + 8*1 + 7*2 = 155, 155 mod 11 = 1.
    assert control_digit("16024000687") == 1
    # Only the 10th digit set: 10 on the first pass, its weight 1 on the second.
    assert control_digit("00000000010") == 1


def test_control_digit_none_when_both_passes_give_ten() -> None:
    # 6*1 + 5*3 = 21 -> 10; 6*3 + 5*5 = 43 -> 10.
    assert control_digit("60500000000") is None


def test_eleventh_digit_weighs_nothing_on_the_first_pass() -> None:
    # Its weight is 11, which is 0 mod 11.
    assert control_digit("00000000001") == 0
    assert control_digit("00000000009") == 0


@pytest.mark.parametrize("bad", ["", "1234567890", "123456789012", "1234567890a", "١٢٣٤٥٦٧٨٩٠١"])
def test_control_digit_rejects_anything_but_eleven_ascii_digits(bad: str) -> None:
    with pytest.raises(ValueError, match="11 ASCII digits"):
        control_digit(bad)


# -- IIN ---------------------------------------------------------------------------------------


def test_validate_iin_decodes_birth_date_and_sex() -> None:
    assert validate_iin("900501300428") == Iin(
        value="900501300428", birth_date=datetime.date(1990, 5, 1), sex="M"
    )
    assert str(validate_iin("900501300428")) == "900501300428"


@pytest.mark.parametrize(
    ("century_digit", "year", "sex"),
    [("1", 1855, "M"), ("2", 1855, "F"), ("3", 1955, "M"), ("4", 1955, "F"), ("5", 2055, "M"),
     ("6", 2055, "F")],
)  # fmt: skip
def test_century_and_sex_digit(century_digit: str, year: int, sex: str) -> None:
    prefix = f"550128{century_digit}3900"
    iin = validate_iin(prefix + str(control_digit(prefix)))

    assert iin.birth_date == datetime.date(year, 1, 28)
    assert iin.sex == sex


def test_february_29th_depends_on_the_century() -> None:
    leap_2000 = make_iin(datetime.date(2000, 2, 29), "F", 1)
    assert validate_iin(leap_2000).birth_date == datetime.date(2000, 2, 29)

    # Same digits with century digit 4: 1900 was not a leap year.
    not_leap = "0002294" + leap_2000[7:11]
    with pytest.raises(InvalidIdentifier) as caught:
        validate_iin(not_leap + str(control_digit(not_leap)))
    assert caught.value.code == "national_id.birth_date"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("90050130042", "national_id.format"),
        ("9005013004281", "national_id.format"),
        ("90050130042a", "national_id.format"),
        (" 90050130042", "national_id.format"),
        ("९००५०१३००४२८", "national_id.format"),  # Devanagari digits are digits, not ASCII
        ("900501000428", "national_id.century"),
        ("900501700428", "national_id.century"),
        ("900501900428", "national_id.century"),
        ("901301300428", "national_id.birth_date"),
        ("900230300428", "national_id.birth_date"),
        ("900500300428", "national_id.birth_date"),
        ("900501300429", "national_id.checksum"),
        ("900501300420", "national_id.checksum"),
    ],
)
def test_validate_iin_rejects(value: str, code: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        validate_iin(value)

    assert caught.value.code == code
    assert isinstance(caught.value, ValidationError)
    assert caught.value.http_status == 422
    assert is_valid_iin(value) is False


def test_validate_iin_rejects_non_strings() -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        validate_iin(900501300428)  # type: ignore[arg-type]
    assert caught.value.code == "national_id.format"


def test_a_bin_is_not_an_iin() -> None:
    # 16 Feb is a date, but the seventh digit 0 is no century.
    assert is_valid_iin("160240006871") is False


def test_make_iin_skips_serials_that_cannot_be_issued() -> None:
    # 1955-01-28, man, serial 0009: 197 on the first pass and 164 on the second, both 10 mod 11.
    assert control_digit("55012830009") is None
    assert make_iin(datetime.date(1955, 1, 28), "M", 9) == "550128300109"
    assert make_iin(datetime.date(1955, 1, 28), "M", 10) == "550128300109"
    assert make_iin(datetime.date(1955, 1, 28), "M", 8) == "550128300088"  # second pass


@pytest.mark.parametrize(
    ("birth_date", "sex", "serial"),
    [
        (datetime.date(1799, 12, 31), "M", 0),
        (datetime.date(2100, 1, 1), "M", 0),
        (datetime.date(1990, 1, 1), "X", 0),
        (datetime.date(1990, 1, 1), "M", -1),
        (datetime.date(1990, 1, 1), "M", 10_000),
    ],
)
def test_make_iin_rejects_what_cannot_be_encoded(
    birth_date: datetime.date, sex: str, serial: int
) -> None:
    with pytest.raises(ValueError):
        make_iin(birth_date, sex, serial)  # type: ignore[arg-type]


def test_the_checksum_misses_a_change_of_the_eleventh_digit() -> None:
    # Two valid IINs that differ only in the 11th digit: its first-pass weight is 11 = 0 mod 11.
    assert validate_iin("550128313903").birth_date == datetime.date(1955, 1, 28)
    assert validate_iin("550128313913").birth_date == datetime.date(1955, 1, 28)


birth_dates = st.dates(min_value=datetime.date(1800, 1, 1), max_value=datetime.date(2099, 12, 31))
sexes = st.sampled_from(["M", "F"])


@given(birth_date=birth_dates, sex=sexes, serial=st.integers(0, 9999))
def test_generated_iins_validate_and_decode(
    birth_date: datetime.date, sex: str, serial: int
) -> None:
    try:
        value = make_iin(birth_date, sex, serial)  # type: ignore[arg-type]
    except ValueError:
        # Only when no serial from here to 9999 can be issued.
        prefix = f"{birth_date.year % 100:02d}{birth_date.month:02d}{birth_date.day:02d}"
        century = 2 * (birth_date.year // 100 - 18) + (1 if sex == "M" else 2)
        assert all(
            control_digit(f"{prefix}{century}{s:04d}") is None for s in range(serial, 10_000)
        )
        return

    iin = validate_iin(value)
    assert (iin.value, iin.birth_date, iin.sex) == (value, birth_date, sex)
    assert int(value[7:11]) >= serial
    if control_digit(value[:7] + f"{serial:04d}") is not None:
        assert int(value[7:11]) == serial


@given(birth_date=birth_dates, sex=sexes, serial=st.integers(0, 9990))
def test_single_digit_changes_to_a_valid_iin(
    birth_date: datetime.date, sex: str, serial: int
) -> None:
    """Which one-digit typos the checksum catches, checked for every position and digit.

    Claim: a change is missed only at the 11th digit (whose first-pass weight is 0 mod 11) or
    when the original or the changed number needs the second pass. A change of the 11th digit
    is missed exactly when the first pass decides. A change of the control digit is never
    missed.
    """
    valid = make_iin(birth_date, sex, serial)  # type: ignore[arg-type]
    for position in range(12):
        for digit in "0123456789":
            if digit == valid[position]:
                continue
            changed = valid[:position] + digit + valid[position + 1 :]
            checksum_ok = control_digit(changed[:11]) == int(changed[11])

            if is_valid_iin(changed):
                assert checksum_ok
            if position == 11:
                assert not checksum_ok
            elif position == 10:
                assert checksum_ok == (first_pass(valid[:11]) != 10)
            elif checksum_ok:
                assert 10 in (first_pass(valid[:11]), first_pass(changed[:11]))


def test_single_digit_changes_away_from_the_second_pass_are_always_caught() -> None:
    """Exhaustive over a block of prefixes: positions 1-10 and 12, every replacement digit."""
    for serial in range(2000):
        prefix = f"8512304{serial:04d}"
        check = control_digit(prefix)
        if check is None or first_pass(prefix) == 10:
            continue
        valid = prefix + str(check)
        for position in [*range(10), 11]:
            for digit in "0123456789":
                changed = valid[:position] + digit + valid[position + 1 :]
                if changed != valid and first_pass(changed[:11]) != 10:
                    assert control_digit(changed[:11]) != int(changed[11]), changed


# -- BIN ---------------------------------------------------------------------------------------


def test_validate_bin_decodes() -> None:
    assert validate_bin("160240006871") == Bin(
        value="160240006871",
        registration_yy=16,
        registration_month=2,
        kind=EntityKind.RESIDENT,
        attribute=EntityAttribute.HEAD_OFFICE,
    )
    assert str(validate_bin("160240006871")) == "160240006871"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("16024000687", "national_id.format"),
        ("16024000687x", "national_id.format"),
        ("160040006871", "national_id.registration_month"),
        ("161340006871", "national_id.registration_month"),
        ("160230006871", "national_id.entity_kind"),
        ("160270006871", "national_id.entity_kind"),
        ("160244006871", "national_id.entity_attribute"),
        ("160240006872", "national_id.checksum"),
    ],
)
def test_validate_bin_rejects(value: str, code: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        validate_bin(value)

    assert caught.value.code == code
    assert is_valid_bin(value) is False


def test_an_iin_is_not_a_bin() -> None:
    # 01 May fits YYMM, but the fifth digit 0 is no kind of entity.
    assert is_valid_bin("900501300428") is False


@given(
    year=st.integers(0, 9999),
    month=st.integers(1, 12),
    kind=st.sampled_from(EntityKind),
    attribute=st.sampled_from(EntityAttribute),
    serial=st.integers(0, 99_990),
)
def test_generated_bins_validate_and_decode(
    year: int, month: int, kind: EntityKind, attribute: EntityAttribute, serial: int
) -> None:
    value = make_bin(year, month, kind, attribute, serial)

    assert validate_bin(value) == Bin(
        value=value,
        registration_yy=year % 100,
        registration_month=month,
        kind=kind,
        attribute=attribute,
    )
    assert int(value[6:11]) >= serial


def test_make_bin_accepts_plain_digits_and_rejects_bad_parts() -> None:
    assert make_bin(2016, 2, 4, 0, 687) == "160240006871"
    with pytest.raises(ValueError):
        make_bin(2016, 13)
    with pytest.raises(ValueError):
        make_bin(2016, 2, 7)
    with pytest.raises(ValueError):
        make_bin(2016, 2, 4, 4)
    with pytest.raises(ValueError):
        make_bin(2016, 2, serial=100_000)


# -- Django validators -------------------------------------------------------------------------


def test_django_validators() -> None:
    iin_validator("900501300428")
    bin_validator("160240006871")

    with pytest.raises(django_exceptions.ValidationError) as caught:
        iin_validator("900501300429")
    assert caught.value.code == "national_id.checksum"

    with pytest.raises(django_exceptions.ValidationError) as caught:
        bin_validator("900501300428")
    assert caught.value.code == "national_id.entity_kind"
