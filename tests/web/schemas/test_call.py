"""Call schemas: the list view has no path, the detail view has it; the recording link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from waterline.domain.callrecords import CallOutcome, CallRecord, HangupSide, PathStep
from waterline.web.schemas.call import CallDetailOut, CallOut

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def test_list_and_detail_views() -> None:
    record = CallRecord("c1", "13912345678", "4006360888", T0, id=5, recording_id=9,
                        path=[PathStep("menu", "menu", T0, digits="1")])
    record.close(ended_at=T0 + timedelta(seconds=12), outcome=CallOutcome.IVR_COMPLETED,
                 hangup_side=HangupSide.CALLER)
    listed = CallOut.of(record).model_dump()
    assert "path" not in listed and listed["recording_url"] == "/api/recordings/9/audio"
    assert listed["outcome"] == CallOutcome.IVR_COMPLETED and listed["total_seconds"] == 12.0
    detail = CallDetailOut.of(record)
    assert [(s.node, s.digits) for s in detail.path] == [("menu", "1")]
    record.recording_id = None
    assert CallOut.of(record).recording_url is None
