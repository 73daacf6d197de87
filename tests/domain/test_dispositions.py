"""Dispositions: known codes only, notes trimmed and bounded, bilingual errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from waterline.domain.dispositions import (
    LABELS,
    MAX_NOTES,
    DispositionCode,
    new_disposition,
    parse_code,
)
from waterline.domain.errors import InvalidInput

AT = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def test_a_disposition_is_checked_and_trimmed() -> None:
    made = new_disposition(" call-1 ", 7, "order", "  客户要两桶，下午送  ", AT)
    assert (made.call_id, made.agent_id, made.code, made.notes) == ("call-1", 7, DispositionCode.ORDER,
                                                                    "客户要两桶，下午送")


def test_unknown_codes_are_refused_with_the_choices() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_code("sale")
    assert refused.value.code == "disposition.bad_code"
    assert "wrong_number" in refused.value.message_en and "通话小结" in refused.value.message_zh


def test_notes_are_bounded_and_a_call_id_is_needed() -> None:
    with pytest.raises(InvalidInput) as too_long:
        new_disposition("c", 1, "other", "字" * (MAX_NOTES + 1), AT)
    assert too_long.value.code == "disposition.notes_too_long"
    assert new_disposition("c", 1, "other", "字" * MAX_NOTES, AT).notes == "字" * MAX_NOTES
    with pytest.raises(InvalidInput):
        new_disposition("  ", 1, "other", "", AT)


def test_every_code_has_a_chinese_and_an_english_label() -> None:
    assert set(LABELS) == set(DispositionCode)
    assert all(zh and en for zh, en in LABELS.values())
