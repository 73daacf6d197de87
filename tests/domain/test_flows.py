from __future__ import annotations

import pytest

from waterline.domain.errors import InvalidInput
from waterline.domain.flows import check_flow_name, normalise_did


@pytest.mark.parametrize("raw", ["4006360888", "400-636-0888", " 400 636 0888 ", "+864006360888"])
def test_did_forms_normalise_to_digits(raw: str) -> None:
    assert normalise_did(raw) == "4006360888"


@pytest.mark.parametrize("raw", ["", "400abc", "12", "4" * 21])
def test_bad_did_is_refused_bilingually(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalise_did(raw)
    assert caught.value.code == "did.invalid" and "号码无效" in caught.value.message_zh


def test_flow_names() -> None:
    assert check_flow_name("bench-ivr") == "bench-ivr"
    for bad in ("", "Default", "a b", "-x", "x" * 65):
        with pytest.raises(InvalidInput):
            check_flow_name(bad)
