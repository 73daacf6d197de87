"""Customer schemas: the fast phone formatting agrees with the domain's, masking hides the middle."""

from __future__ import annotations

import pytest

from waterline.domain import phones
from waterline.domain.customers import CustomerPhone
from waterline.web.schemas.customer import PhoneOut, phone_display, phone_kind, shown_phone


@pytest.mark.parametrize(
    "number",
    ["13912345678", "18966882129", "02988881234", "02933211006", "09173251007", "01062345678", "4006360888"],
)
def test_fast_display_and_kind_match_the_domain(number: str) -> None:
    assert phone_display(number) == phones.display(number)
    assert phone_kind(number) == phones.kind(number).value


def test_masked_phone_shows_only_prefix_and_last_four() -> None:
    out = PhoneOut.of(CustomerPhone("13912345678", "家"), masked=True)

    assert (out.number, out.display, out.label) == ("139****5678", "139****5678", "家")
    assert shown_phone("02988881234", masked=True) == "029****1234"
    assert shown_phone("02988881234", masked=False) == "02988881234"
