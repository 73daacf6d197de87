from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from waterline.domain.callrecords import CallOutcome, CallRecord, HangupSide
from waterline.domain.errors import Conflict

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def test_close_sets_outcome_and_total() -> None:
    record = CallRecord("c1", "13912345678", "4006360888", T0)
    assert record.is_open
    record.close(ended_at=T0 + timedelta(seconds=42.5), outcome=CallOutcome.VOICEMAIL,
                 hangup_side=HangupSide.CALLER, hangup_cause="BYE", talk_seconds=-1)
    assert not record.is_open
    assert (record.total_seconds, record.talk_seconds, record.wait_seconds) == (42.5, 0.0, 0.0)
    assert record.outcome is CallOutcome.VOICEMAIL and record.hangup_cause == "BYE"


def test_a_clock_step_back_never_gives_negative_seconds() -> None:
    record = CallRecord("c1", "13912345678", "4006360888", T0)
    record.close(ended_at=T0 - timedelta(seconds=3), outcome=CallOutcome.FAILED,
                 hangup_side=HangupSide.SYSTEM)
    assert record.total_seconds == 0.0


def test_closing_twice_is_a_conflict() -> None:
    record = CallRecord("c1", "13912345678", "4006360888", T0)
    record.close(ended_at=T0, outcome=CallOutcome.ABANDONED, hangup_side=HangupSide.CALLER)
    with pytest.raises(Conflict):
        record.close(ended_at=T0, outcome=CallOutcome.FAILED, hangup_side=HangupSide.SYSTEM)


def test_outcome_values_are_the_issue_words() -> None:
    assert {o.value for o in CallOutcome} == {
        "ivr-completed", "order-placed", "voicemail", "transferred", "abandoned", "blocked", "failed"
    }
