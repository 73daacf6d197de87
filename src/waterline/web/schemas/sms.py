"""The outbox / SMS log."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from waterline.domain.outbox import OutboxMessage, OutboxState


class SmsOut(BaseModel):
    """One outbox message and how its delivery went."""

    id: int
    to: str
    text: str
    state: OutboxState
    channel: str
    template: str
    segments: int
    attempts: int
    last_error: str
    created_at: datetime
    next_attempt_at: datetime | None
    sent_at: datetime | None
    provider_message_id: str
    order_id: int | None
    customer_id: int | None

    @classmethod
    def of(cls, message: OutboxMessage) -> SmsOut:
        """The API view of ``message``."""
        assert message.id is not None
        return cls(
            id=message.id,
            to=message.to,
            text=message.text,
            state=message.state,
            channel=message.channel,
            template=message.template,
            segments=message.segments,
            attempts=message.attempts,
            last_error=message.last_error,
            created_at=message.created_at,
            next_attempt_at=message.next_attempt_at,
            sent_at=message.sent_at,
            provider_message_id=message.provider_message_id,
            order_id=message.order_id,
            customer_id=message.customer_id,
        )
