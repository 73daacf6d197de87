"""Delivering the outbox: one pass over the due messages, with retry and exponential backoff.

The asyncio loop that calls ``deliver_due`` periodically lives with the adapters; this function is
the whole delivery rule. Delivery is at-least-once: if the process dies between the gateway accepting
a message and the commit that marks it sent, it is sent again on the next pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from waterline.domain.outbox import OutboxState, RetryPolicy
from waterline.services.ports import SmsSender, UnitOfWork

DEFAULT_BATCH = 50


@dataclass(frozen=True)
class DeliveryReport:
    """What one pass did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0

    @property
    def attempted(self) -> int:
        """Messages tried in this pass."""
        return self.sent + self.retrying + self.failed


def deliver_due(
    uow: UnitOfWork,
    sender: SmsSender,
    now: datetime,
    *,
    policy: RetryPolicy | None = None,
    limit: int = DEFAULT_BATCH,
    commit_every: int = 1,
) -> DeliveryReport:
    """Send up to ``limit`` due messages through ``sender``, committing after every ``commit_every``
    of them and at the end, so a failure or crash half-way keeps the outcome of those committed.

    ``commit_every`` above 1 trades write transactions (each one contends with order placement for
    the store's writer lock) against resends: a crash resends at most ``commit_every`` messages that
    the gateway had already accepted.
    """
    if commit_every < 1:
        raise ValueError("commit_every must be at least 1")
    policy = policy or RetryPolicy()
    sent = retrying = failed = 0
    pending = 0
    with uow:
        for message in uow.outbox.due(now, limit):
            if not message.is_due(now):
                continue  # a store returning too much must not cause early resends
            try:
                provider_id = sender.send(message.to, message.text)
            except Exception as exc:  # any gateway failure is retried; its text is kept for the log
                message.mark_failed_attempt(f"{type(exc).__name__}: {exc}", now, policy)
                if message.state is OutboxState.FAILED:
                    failed += 1
                else:
                    retrying += 1
            else:
                message.mark_sent(provider_id, now)
                sent += 1
            pending += 1
            if pending >= commit_every:
                uow.commit()
                pending = 0
        if pending:
            uow.commit()
    return DeliveryReport(sent=sent, retrying=retrying, failed=failed)
