"""Kazakhstan's national identifiers: the IIN of a person and the BIN of a legal entity.

Both have 12 digits; the last is a control digit computed over the first 11:

* first pass: weights 1, 2, ..., 11; the digit is the weighted sum mod 11;
* if that gives 10, second pass: weights 3, 4, ..., 11, 1, 2, mod 11;
* if that gives 10 again, no number is ever issued with those 11 digits.

IIN: ``YYMMDD`` birth date, a digit for century and sex (1/2: 1800s man/woman, 3/4: 1900s,
5/6: 2000s), a 4-digit serial and the control digit.

BIN: ``YYMM`` of registration, the kind of entity (4 resident legal entity, 5 non-resident,
6 individual entrepreneur in joint entrepreneurship), an attribute (0 head office, 1 branch,
2 representative office, 3 peasant or farm enterprise), a 5-digit serial and the control digit.

Note what the checksum does not catch: the 11th digit carries weight 11, which is 0 mod 11, so
in the usual (first-pass) case changing that digit alone leaves the number valid. Every other
single-digit change is caught unless it moves the number onto or off the second pass.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from enum import IntEnum
from typing import Final, Literal

from django.core import exceptions as django_exceptions
from django.utils.translation import gettext_lazy as _

from shanyraq.core.errors import ValidationError

__all__ = [
    "Bin",
    "EntityAttribute",
    "EntityKind",
    "Iin",
    "InvalidIdentifier",
    "Sex",
    "bin_validator",
    "control_digit",
    "iin_validator",
    "is_valid_bin",
    "is_valid_iin",
    "make_bin",
    "make_iin",
    "validate_bin",
    "validate_iin",
]

LENGTH: Final = 12
_FIRST_WEIGHTS: Final = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
_SECOND_WEIGHTS: Final = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)

Sex = Literal["M", "F"]

# Seventh IIN digit -> (first year of the century, sex).
_CENTURY_AND_SEX: Final[dict[str, tuple[int, Sex]]] = {
    "1": (1800, "M"),
    "2": (1800, "F"),
    "3": (1900, "M"),
    "4": (1900, "F"),
    "5": (2000, "M"),
    "6": (2000, "F"),
}


class InvalidIdentifier(ValidationError):
    """An IIN or BIN failed validation; ``code`` says which part is wrong."""

    default_code = "national_id.invalid"


class EntityKind(IntEnum):
    """Fifth digit of a BIN."""

    RESIDENT = 4
    NON_RESIDENT = 5
    JOINT_ENTREPRENEURSHIP = 6


class EntityAttribute(IntEnum):
    """Sixth digit of a BIN."""

    HEAD_OFFICE = 0
    BRANCH = 1
    REPRESENTATIVE_OFFICE = 2
    PEASANT_FARM = 3


@dataclass(frozen=True, slots=True)
class Iin:
    value: str
    birth_date: datetime.date
    sex: Sex

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Bin:
    value: str
    registration_yy: int
    """Last two digits of the year of registration, as encoded (the century is not)."""
    registration_month: int
    kind: EntityKind
    attribute: EntityAttribute

    def __str__(self) -> str:
        return self.value


def _is_digits(value: object, length: int) -> bool:
    return isinstance(value, str) and len(value) == length and value.isascii() and value.isdigit()


def control_digit(first11: str) -> int | None:
    """The control digit for 11 leading digits, or None if no valid number starts with them.

    Raises ``ValueError`` unless ``first11`` is exactly 11 ASCII digits.
    """
    if not _is_digits(first11, LENGTH - 1):
        raise ValueError("expected exactly 11 ASCII digits")
    digits = [int(c) for c in first11]
    check = sum(w * d for w, d in zip(_FIRST_WEIGHTS, digits, strict=True)) % 11
    if check == 10:
        check = sum(w * d for w, d in zip(_SECOND_WEIGHTS, digits, strict=True)) % 11
        if check == 10:
            return None
    return check


def _has_valid_control_digit(value: str) -> bool:
    return control_digit(value[:-1]) == int(value[-1])


def validate_iin(value: str) -> Iin:
    """Check an IIN and decode it. Raises ``InvalidIdentifier``."""
    if not _is_digits(value, LENGTH):
        raise InvalidIdentifier("national_id.format", _("An IIN is made of exactly 12 digits."))
    century_and_sex = _CENTURY_AND_SEX.get(value[6])
    if century_and_sex is None:
        raise InvalidIdentifier(
            "national_id.century", _("The seventh digit of an IIN must be from 1 to 6.")
        )
    century, sex = century_and_sex
    try:
        birth_date = datetime.date(century + int(value[0:2]), int(value[2:4]), int(value[4:6]))
    except ValueError:
        raise InvalidIdentifier(
            "national_id.birth_date",
            _("The first six digits of an IIN must be a date of birth (year, month, day)."),
        ) from None
    if not _has_valid_control_digit(value):
        raise InvalidIdentifier(
            "national_id.checksum", _("This IIN does not exist. Check the digits.")
        )
    return Iin(value=value, birth_date=birth_date, sex=sex)


def validate_bin(value: str) -> Bin:
    """Check a BIN and decode it. Raises ``InvalidIdentifier``."""
    if not _is_digits(value, LENGTH):
        raise InvalidIdentifier("national_id.format", _("A BIN is made of exactly 12 digits."))
    month = int(value[2:4])
    if not 1 <= month <= 12:
        raise InvalidIdentifier(
            "national_id.registration_month",
            _("The third and fourth digits of a BIN must be a month, from 01 to 12."),
        )
    try:
        kind = EntityKind(int(value[4]))
    except ValueError:
        raise InvalidIdentifier(
            "national_id.entity_kind", _("The fifth digit of a BIN must be 4, 5 or 6.")
        ) from None
    try:
        attribute = EntityAttribute(int(value[5]))
    except ValueError:
        raise InvalidIdentifier(
            "national_id.entity_attribute", _("The sixth digit of a BIN must be from 0 to 3.")
        ) from None
    if not _has_valid_control_digit(value):
        raise InvalidIdentifier(
            "national_id.checksum", _("This BIN does not exist. Check the digits.")
        )
    return Bin(
        value=value,
        registration_yy=int(value[0:2]),
        registration_month=month,
        kind=kind,
        attribute=attribute,
    )


def is_valid_iin(value: str) -> bool:
    try:
        validate_iin(value)
    except InvalidIdentifier:
        return False
    return True


def is_valid_bin(value: str) -> bool:
    try:
        validate_bin(value)
    except InvalidIdentifier:
        return False
    return True


def _complete(prefix: str, serial: int, width: int) -> str:
    # Walk forward from the requested serial past those that can never be issued.
    for candidate in range(serial, 10**width):
        first11 = f"{prefix}{candidate:0{width}d}"
        check = control_digit(first11)
        if check is not None:
            return f"{first11}{check}"
    raise ValueError(f"no valid number with a serial from {serial} upwards")


def make_iin(birth_date: datetime.date, sex: Sex, serial: int = 0) -> str:
    """A valid IIN for a person born on ``birth_date`` (years 1800-2099).

    About one serial in 121 cannot be issued (both passes give 10); such a serial is skipped and
    the next one is used, so the serial in the result may be greater than the one asked for.
    Raises ``ValueError`` for an unsupported date, sex or serial (0-9999), or
    when no serial from ``serial`` up to 9999 can be issued.
    """
    if not 1800 <= birth_date.year <= 2099:
        raise ValueError("an IIN encodes birth years from 1800 to 2099 only")
    if sex not in ("M", "F"):
        raise ValueError("sex must be 'M' or 'F'")
    if not 0 <= serial <= 9999:
        raise ValueError("the serial of an IIN has 4 digits")
    century_digit = 2 * (birth_date.year // 100 - 18) + (1 if sex == "M" else 2)
    born = f"{birth_date.year % 100:02d}{birth_date.month:02d}{birth_date.day:02d}"
    return _complete(f"{born}{century_digit}", serial, 4)


def make_bin(
    year: int,
    month: int,
    kind: EntityKind | int = EntityKind.RESIDENT,
    attribute: EntityAttribute | int = EntityAttribute.HEAD_OFFICE,
    serial: int = 0,
) -> str:
    """A valid BIN for an entity registered in ``year``/``month``.

    Only the last two digits of ``year`` are encoded. Serials that cannot be issued are skipped
    as in ``make_iin``. Raises ``ValueError`` for an out-of-range part or serial (0-99999).
    """
    if not 0 <= year <= 9999 or not 1 <= month <= 12:
        raise ValueError("year must be 0-9999 and month 1-12")
    kind = EntityKind(kind)
    attribute = EntityAttribute(attribute)
    if not 0 <= serial <= 99999:
        raise ValueError("the serial of a BIN has 5 digits")
    return _complete(f"{year % 100:02d}{month:02d}{kind.value}{attribute.value}", serial, 5)


def iin_validator(value: str) -> None:
    """Django validator for model and form fields holding an IIN."""
    try:
        validate_iin(value)
    except InvalidIdentifier as error:
        raise django_exceptions.ValidationError(error.message, code=error.code) from error


def bin_validator(value: str) -> None:
    """Django validator for model and form fields holding a BIN."""
    try:
        validate_bin(value)
    except InvalidIdentifier as error:
        raise django_exceptions.ValidationError(error.message, code=error.code) from error
