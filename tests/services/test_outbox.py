from datetime import UTC, datetime, timedelta

import pytest

from fakes import FakeSmsSender, FakeStore
from waterline.domain.outbox import OutboxState, RetryPolicy, new_sms
from waterline.services.outbox import deliver_due

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
POLICY = RetryPolicy(max_attempts=3, base=timedelta(seconds=30), cap=timedelta(minutes=10))


def _queue(store: FakeStore, *texts: str) -> list[int]:
    ids = []
    with store.uow() as uow:
        for text in texts:
            message = uow.outbox.add(new_sms("13991234567", text, T0))
            ids.append(message.id or 0)
        uow.commit()
    return ids


def test_delivers_due_messages_and_marks_them_sent() -> None:
    store = FakeStore()
    ids = _queue(store, "一", "二")
    sender = FakeSmsSender()
    report = deliver_due(store.uow(), sender, T0, policy=POLICY)
    assert (report.sent, report.retrying, report.failed) == (2, 0, 0)
    assert sender.sent == [("13991234567", "一"), ("13991234567", "二")]
    for message_id, provider_id in zip(ids, ["fake-1", "fake-2"], strict=True):
        message = store.data.outbox[message_id]
        assert (message.state, message.provider_message_id, message.attempts) == (
            OutboxState.SENT,
            provider_id,
            1,
        )
    # nothing left: a second pass sends nothing again
    assert deliver_due(store.uow(), sender, T0 + timedelta(hours=1), policy=POLICY).attempted == 0


def test_failures_back_off_exponentially_then_give_up() -> None:
    store = FakeStore()
    [message_id] = _queue(store, "送水通知")
    sender = FakeSmsSender(failures=10)
    now = T0
    report = deliver_due(store.uow(), sender, now, policy=POLICY)
    assert report.retrying == 1
    message = store.data.outbox[message_id]
    assert message.attempts == 1 and message.next_attempt_at == now + timedelta(seconds=30)
    assert "gateway unavailable" in message.last_error
    # not due yet: not tried again
    assert deliver_due(store.uow(), sender, now + timedelta(seconds=29), policy=POLICY).attempted == 0
    assert sender.calls == 1
    now += timedelta(seconds=30)
    deliver_due(store.uow(), sender, now, policy=POLICY)
    assert store.data.outbox[message_id].next_attempt_at == now + timedelta(seconds=60)
    now += timedelta(seconds=60)
    report = deliver_due(store.uow(), sender, now, policy=POLICY)
    assert report.failed == 1
    message = store.data.outbox[message_id]
    assert message.state is OutboxState.FAILED and message.attempts == 3 and message.next_attempt_at is None
    assert deliver_due(store.uow(), sender, now + timedelta(days=1), policy=POLICY).attempted == 0


def test_retry_succeeds_after_transient_failure() -> None:
    store = FakeStore()
    [message_id] = _queue(store, "x")
    sender = FakeSmsSender(failures=1)
    deliver_due(store.uow(), sender, T0, policy=POLICY)
    report = deliver_due(store.uow(), sender, T0 + timedelta(seconds=30), policy=POLICY)
    assert report.sent == 1
    message = store.data.outbox[message_id]
    assert message.state is OutboxState.SENT and message.attempts == 2 and message.last_error == ""


def test_each_message_committed_separately_and_batch_limited() -> None:
    store = FakeStore()
    _queue(store, "a", "b", "c")
    commits = store.commits
    report = deliver_due(store.uow(), FakeSmsSender(), T0, policy=POLICY, limit=2)
    assert report.sent == 2 and store.commits == commits + 2
    assert [m.state for m in store.data.outbox.values()].count(OutboxState.PENDING) == 1


def test_commit_every_batches_the_marks_and_commits_the_rest_at_the_end() -> None:
    store = FakeStore()
    _queue(store, "a", "b", "c", "d", "e")
    commits = store.commits
    report = deliver_due(store.uow(), FakeSmsSender(), T0, policy=POLICY, commit_every=2)
    assert report.sent == 5 and store.commits == commits + 3
    assert all(m.state is OutboxState.SENT for m in store.data.outbox.values())


def test_commit_every_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="commit_every"):
        deliver_due(FakeStore().uow(), FakeSmsSender(), T0, commit_every=0)
