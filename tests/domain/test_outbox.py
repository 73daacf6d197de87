from datetime import UTC, datetime, timedelta

from waterline.domain.catalogue import MESSAGES, message
from waterline.domain.errors import NotFound
from waterline.domain.outbox import OutboxState, RetryPolicy, new_sms, sms_segments

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def test_segments_70_then_67() -> None:
    assert sms_segments("") == 1
    assert sms_segments("水" * 70) == 1
    assert sms_segments("水" * 71) == 2
    assert sms_segments("水" * 134) == 2
    assert sms_segments("水" * 135) == 3


def test_backoff_doubles_and_caps() -> None:
    policy = RetryPolicy(max_attempts=10, base=timedelta(seconds=30), cap=timedelta(minutes=5))
    assert [policy.delay_after(n).total_seconds() for n in range(1, 7)] == [30, 60, 120, 240, 300, 300]


def test_message_life_cycle() -> None:
    msg = new_sms("13912345678", "水" * 80, T0, order_id=3)
    assert msg.segments == 2 and msg.is_due(T0) and msg.state is OutboxState.PENDING
    policy = RetryPolicy(max_attempts=2, base=timedelta(seconds=10))
    msg.mark_failed_attempt("timeout", T0, policy)
    assert msg.next_attempt_at == T0 + timedelta(seconds=10)
    assert not msg.is_due(T0 + timedelta(seconds=9)) and msg.is_due(T0 + timedelta(seconds=10))
    msg.mark_failed_attempt("timeout again", T0, policy)
    assert msg.state is OutboxState.FAILED and msg.attempts == 2 and not msg.is_due(T0 + timedelta(days=1))
    ok = new_sms("13912345678", "hi", T0)
    ok.mark_sent("gw-1", T0)
    assert (ok.state, ok.provider_message_id, ok.attempts, ok.sent_at) == (OutboxState.SENT, "gw-1", 1, T0)


def test_catalogue_has_both_languages_and_errors_use_it() -> None:
    for code, (zh, en) in MESSAGES.items():
        assert zh and en, code
    msg = message("ticket.overdraw", needed=3, balance=1)
    assert msg.zh == "水票余额不足：需要3张，余额1张"
    error = NotFound("customer", 9)
    assert error.code == "not_found" and "customer" in error.message_en and "9" in error.message_zh
