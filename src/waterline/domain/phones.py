"""Chinese phone numbers: normalise, validate (with ``phonenumbers``), classify and display.

Canonical storage form is plain digits as dialled inside mainland China:
mobiles ``13912345678``, landlines with their trunk-prefixed area code ``02988881234``,
400/800 numbers ``4006360888``. One canonical form makes screen-pop lookup an exact match.
"""

from __future__ import annotations

import enum

import phonenumbers
from phonenumbers import PhoneNumberType

from waterline.domain.errors import InvalidInput


class PhoneKind(enum.StrEnum):
    """What sort of number a canonical phone is."""

    MOBILE = "mobile"
    LANDLINE = "landline"
    SERVICE = "service"  # 400 / 800 nationwide numbers


_CN = 86
_LANDLINE_TYPES = {PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


def _parse(raw: str) -> phonenumbers.PhoneNumber:
    text = raw.strip()
    if not text:
        raise InvalidInput("phone.invalid", raw=raw)
    # "0086..." is the international prefix dialled from China; phonenumbers would read the
    # leading 0 as a trunk prefix, so turn it into "+86" first.
    digits_only = "".join(ch for ch in text if ch.isdigit() or ch == "+")
    if digits_only.startswith("0086"):
        text = "+" + digits_only[2:]
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput("phone.invalid", raw=raw) from exc
    if number.country_code != _CN:
        raise InvalidInput("phone.foreign", raw=raw)
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput("phone.invalid", raw=raw)
    return number


def _kind_of(number: phonenumbers.PhoneNumber, raw: str) -> PhoneKind:
    national = str(number.national_number)
    if national.startswith(("400", "800")) and len(national) == 10:
        return PhoneKind.SERVICE
    kind = phonenumbers.number_type(number)
    if kind == PhoneNumberType.MOBILE:
        return PhoneKind.MOBILE
    # area code + 7 or 8 digit subscriber number; shorter "valid" numbers are service shortcodes
    if kind in _LANDLINE_TYPES and len(national) >= 9:
        return PhoneKind.LANDLINE
    raise InvalidInput("phone.invalid", raw=raw)


def normalise(raw: str) -> str:
    """Return the canonical digits of a mainland number, or raise ``InvalidInput``.

    Accepts spaces, dashes, brackets, ``+86`` and ``0086`` prefixes.
    """
    number = _parse(raw)
    kind = _kind_of(number, raw)
    national = str(number.national_number)
    return "0" + national if kind is PhoneKind.LANDLINE else national


def is_valid(raw: str) -> bool:
    """True when ``raw`` normalises to a supported mainland number."""
    try:
        normalise(raw)
    except InvalidInput:
        return False
    return True


def kind(phone: str) -> PhoneKind:
    """Classify a phone (raw or canonical) as mobile, landline or 400/800 service number."""
    return _kind_of(_parse(phone), phone)


def area_code(phone: str) -> str | None:
    """The trunk-prefixed area code of a landline (``"029"``, ``"0917"``); ``None`` for other kinds."""
    number = _parse(phone)
    if _kind_of(number, phone) is not PhoneKind.LANDLINE:
        return None
    length = phonenumbers.length_of_geographical_area_code(number)
    return "0" + str(number.national_number)[:length] if length else None


def display(phone: str) -> str:
    """Human formatting: ``139 1234 5678``, ``029-8888 1234``, ``400-636-0888``."""
    canonical = normalise(phone)
    match kind(canonical):
        case PhoneKind.MOBILE:
            return f"{canonical[:3]} {canonical[3:7]} {canonical[7:]}"
        case PhoneKind.SERVICE:
            return f"{canonical[:3]}-{canonical[3:6]}-{canonical[6:]}"
        case PhoneKind.LANDLINE:
            code = area_code(canonical) or canonical[:3]
            rest = canonical[len(code) :]
            return f"{code}-{rest[:-4]} {rest[-4:]}"
    raise AssertionError("unreachable")  # pragma: no cover


def mask(phone: str) -> str:
    """Hide the middle of a number for roles that may not see it: ``139****5678``."""
    canonical = normalise(phone)
    return canonical[:3] + "*" * (len(canonical) - 7) + canonical[-4:]
