import pytest

from waterline.domain import phones
from waterline.domain.errors import InvalidInput
from waterline.domain.phones import PhoneKind


@pytest.mark.parametrize(
    ("raw", "canonical", "kind"),
    [
        ("13912345678", "13912345678", PhoneKind.MOBILE),
        ("139 1234 5678", "13912345678", PhoneKind.MOBILE),
        ("+86 139-1234-5678", "13912345678", PhoneKind.MOBILE),
        ("0086 13912345678", "13912345678", PhoneKind.MOBILE),
        ("02988881234", "02988881234", PhoneKind.LANDLINE),
        ("029-8888 1234", "02988881234", PhoneKind.LANDLINE),
        ("(029) 88881234", "02988881234", PhoneKind.LANDLINE),
        ("+86 29 8888 1234", "02988881234", PhoneKind.LANDLINE),
        ("008602988881234", "02988881234", PhoneKind.LANDLINE),
        ("0917-3212345", "09173212345", PhoneKind.LANDLINE),
        ("4006360888", "4006360888", PhoneKind.SERVICE),
        ("400-636-0888", "4006360888", PhoneKind.SERVICE),
        ("+86 400 636 0888", "4006360888", PhoneKind.SERVICE),
        ("800-810-1234", "8008101234", PhoneKind.SERVICE),
    ],
)
def test_normalise_and_classify(raw: str, canonical: str, kind: PhoneKind) -> None:
    assert phones.normalise(raw) == canonical
    assert phones.kind(raw) is kind
    assert phones.is_valid(raw)


@pytest.mark.parametrize("raw", ["", "   ", "12345", "abc", "1391234567", "139123456789", "02912345", "110"])
def test_invalid_numbers_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as info:
        phones.normalise(raw)
    assert info.value.code == "phone.invalid"
    assert not phones.is_valid(raw)


def test_foreign_numbers_are_refused_with_their_own_code() -> None:
    with pytest.raises(InvalidInput) as info:
        phones.normalise("+1 650 253 0000")
    assert info.value.code == "phone.foreign"
    assert "中国大陆" in info.value.message_zh


def test_area_code_of_landlines_only() -> None:
    assert phones.area_code("029-8888 1234") == "029"
    assert phones.area_code("0917-3212345") == "0917"
    assert phones.area_code("13912345678") is None
    assert phones.area_code("4006360888") is None


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("13912345678", "139 1234 5678"),
        ("02988881234", "029-8888 1234"),
        ("09173212345", "0917-321 2345"),
        ("4006360888", "400-636-0888"),
    ],
)
def test_display(raw: str, shown: str) -> None:
    assert phones.display(raw) == shown


def test_mask_keeps_prefix_and_last_four() -> None:
    assert phones.mask("13912345678") == "139****5678"
    assert phones.mask("029-8888 1234") == "029****1234"
