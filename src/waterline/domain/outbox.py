"""Outbox messages: SMS (and later other notices) written in the same transaction as the business
change that caused them, delivered afterwards with retry and exponential backoff."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

SMS_SINGLE_LIMIT = 70  # UCS-2 (Chinese) characters in one SMS
SMS_PART_LIMIT = 67  # per part once split: the concatenation header takes 3 characters


def sms_segments(text: str) -> int:
    """How many billed SMS segments ``text`` takes (Chinese carriers count 70, then 67 per part)."""
    length = len(text)
    if length <= SMS_SINGLE_LIMIT:
        return 1
    return math.ceil(length / SMS_PART_LIMIT)


class OutboxState(enum.StrEnum):
    """Delivery state of an outbox message."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after the last attempt


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: ``base`` * 2^(attempt-1), capped at ``cap``; give up after ``max_attempts``."""

    max_attempts: int = 6
    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=1)

    def delay_after(self, attempts: int) -> timedelta:
        """Wait before the next try, after ``attempts`` failed attempts (attempts >= 1)."""
        factor = 1 << max(0, attempts - 1)
        return min(self.cap, self.base * factor)


@dataclass
class OutboxMessage:
    """One message to deliver to ``to`` (a canonical phone)."""

    to: str
    text: str
    created_at: datetime
    channel: str = "sms"
    template: str = ""  # catalogue code of the template
    segments: int = 1
    state: OutboxState = OutboxState.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str = ""
    provider_message_id: str = ""
    sent_at: datetime | None = None
    order_id: int | None = None
    customer_id: int | None = None
    id: int | None = None

    def is_due(self, now: datetime) -> bool:
        """Pending and its next attempt time has come."""
        return self.state is OutboxState.PENDING and (
            self.next_attempt_at is None or self.next_attempt_at <= now
        )

    def mark_sent(self, provider_message_id: str, now: datetime) -> None:
        """Record a successful hand-over to the gateway."""
        self.attempts += 1
        self.state = OutboxState.SENT
        self.provider_message_id = provider_message_id
        self.sent_at = now.astimezone(UTC)
        self.next_attempt_at = None
        self.last_error = ""

    def mark_failed_attempt(self, error: str, now: datetime, policy: RetryPolicy) -> None:
        """Record a failed attempt: schedule a retry, or give up after the policy's last attempt."""
        self.attempts += 1
        self.last_error = error[:500]
        if self.attempts >= policy.max_attempts:
            self.state = OutboxState.FAILED
            self.next_attempt_at = None
        else:
            self.next_attempt_at = now.astimezone(UTC) + policy.delay_after(self.attempts)


def new_sms(
    to: str,
    text: str,
    created_at: datetime,
    *,
    template: str = "",
    order_id: int | None = None,
    customer_id: int | None = None,
) -> OutboxMessage:
    """A pending SMS, due immediately, with its segment count."""
    return OutboxMessage(
        to=to,
        text=text,
        created_at=created_at.astimezone(UTC),
        template=template,
        segments=sms_segments(text),
        next_attempt_at=created_at.astimezone(UTC),
        order_id=order_id,
        customer_id=customer_id,
    )
