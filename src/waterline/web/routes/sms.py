"""The outbox / SMS log (sms.read): what was sent to whom, and how delivery went."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from waterline.domain import phones
from waterline.domain.outbox import OutboxState
from waterline.domain.users import Permission, User
from waterline.web.deps import UowDep
from waterline.web.routes.access import authorised
from waterline.web.schemas.sms import SmsOut

router = APIRouter(prefix="/api/sms", tags=["sms"])

MAX_PAGE = 500


@router.get("")
def list_sms(
    _user: Annotated[User, authorised(Permission.SMS_READ)],
    uow: UowDep,
    order_id: int | None = None,
    phone: Annotated[str | None, Query(max_length=40, description="收信号码 / recipient")] = None,
    state: OutboxState | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[SmsOut]:
    """SMS log entries (``to``, ``text``, ``state``...), newest first; 422 for a malformed phone."""
    to = phones.normalise(phone) if phone and phone.strip() else None
    with uow:
        found = uow.outbox.search(order_id=order_id, to=to, state=state, limit=limit, offset=offset)
        return [SmsOut.of(m) for m in found]
