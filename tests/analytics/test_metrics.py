from datetime import UTC, datetime, timedelta

from waterline.analytics.metrics import day_figures
from waterline.domain.queuelog import QueueLogRecord

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _rec(
    t: float, queue: str, call: str, event: str, wait: float | None = None, reason: str = ""
) -> QueueLogRecord:
    return QueueLogRecord(at=_at(t), queue=queue, call_id=call, event=event, wait=wait, reason=reason)


def test_nothing_logged_has_no_rates() -> None:
    figures = day_figures([], T0)
    assert figures.total.offered == 0 and figures.queues == ()
    assert figures.total.answer_rate is None and figures.total.service_level is None
    assert figures.total.average_answer_wait is None


def test_answered_abandoned_exited_and_waiting() -> None:
    log = [
        _rec(0, "yanta-orders", "a", "enter"),
        _rec(5, "yanta-orders", "a", "connect", wait=5),  # answered in time
        _rec(65, "yanta-orders", "a", "complete-caller", wait=60),
        _rec(10, "yanta-orders", "b", "enter"),
        _rec(25, "yanta-orders", "b", "ring-no-answer", wait=15),
        _rec(40, "yanta-orders", "b", "connect", wait=30),  # answered late
        _rec(50, "yanta-orders", "c", "enter"),
        _rec(58, "yanta-orders", "c", "abandon", wait=8),
        _rec(60, "yanta-orders", "d", "enter"),
        _rec(120, "yanta-orders", "d", "timeout", wait=60, reason="voicemail"),
        _rec(170, "yanta-orders", "e", "enter"),  # still waiting at 200
    ]
    figures = day_figures(log, _at(200))
    [queue] = figures.queues
    total = figures.total
    for f in (queue, total):
        assert (f.offered, f.answered, f.answered_in_time, f.abandoned, f.exited) == (5, 2, 1, 1, 1)
        assert (f.waiting, f.longest_wait) == (1, 30.0)
        assert f.answer_rate == 0.5 and f.abandon_rate == 0.25 and f.service_level == 0.25
        assert f.average_answer_wait == 17.5


def test_overflow_counts_once_for_the_day_and_waits_in_the_next_queue() -> None:
    log = [
        _rec(0, "yanta-orders", "x", "enter"),
        _rec(20, "yanta-orders", "x", "timeout", wait=20, reason="queue:weiyang-orders"),
        _rec(20, "weiyang-orders", "x", "enter"),
        _rec(30, "weiyang-orders", "y", "enter"),
    ]
    figures = day_figures(log, _at(50))
    yanta, weiyang = sorted(figures.queues, key=lambda q: q.queue, reverse=True)
    assert yanta.queue == "yanta-orders" and (yanta.offered, yanta.exited, yanta.waiting) == (1, 0, 0)
    assert (weiyang.offered, weiyang.waiting, weiyang.longest_wait) == (2, 2, 30.0)
    assert (figures.total.offered, figures.total.waiting, figures.total.longest_wait) == (2, 2, 30.0)
    log.append(_rec(60, "weiyang-orders", "x", "connect", wait=40))
    figures = day_figures(log, _at(70))
    assert (figures.total.answered, figures.total.answered_in_time, figures.total.waiting) == (1, 0, 1)
    assert figures.total.service_level == 0.0


def test_service_time_is_a_parameter_and_stale_waits_are_dropped() -> None:
    log = [
        _rec(0, "q", "a", "enter"),
        _rec(25, "q", "a", "connect", wait=25),
        _rec(30, "q", "lost", "enter"),  # the engine restarted: no end was ever logged
    ]
    assert day_figures(log, _at(40), service_seconds=30).total.service_level == 1.0
    assert day_figures(log, _at(40)).total.service_level == 0.0
    later = day_figures(log, _at(5 * 3600))
    assert later.total.waiting == 0 and later.total.longest_wait == 0.0
