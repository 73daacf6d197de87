"""Disposition schemas: the view names the code in Chinese and English; the input takes any code text
(the domain refuses unknown ones with its bilingual message)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from waterline.domain.dispositions import CallDisposition, DispositionCode
from waterline.web.schemas.disposition import DispositionIn, DispositionOut

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def test_the_view_carries_the_labels() -> None:
    out = DispositionOut.of(CallDisposition("c1", 7, DispositionCode.WRONG_NUMBER, "", T0, id=3))
    assert (out.id, out.code, out.label_zh, out.label_en) == (3, "wrong_number", "打错电话", "wrong number")


def test_the_input_is_loose_on_the_code_and_bounded() -> None:
    assert DispositionIn(code="anything").notes == ""
    with pytest.raises(ValidationError):
        DispositionIn(code="x" * 21)
