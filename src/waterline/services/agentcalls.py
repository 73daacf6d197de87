"""An agent's own calls: the call records he took in a period (the desktop's "my calls today")."""

from __future__ import annotations

from datetime import datetime

from waterline.domain.callrecords import CallRecord
from waterline.services.ports import CallFilter, UnitOfWork

PAGE = 500
MAX_RECORDS = 10_000
"""Records scanned at most (a busy centre's day is a few thousand calls)."""


def calls_of_agent(uow: UnitOfWork, agent: str, *, start: datetime, end: datetime) -> list[CallRecord]:
    """Calls started in ``[start, end)`` that ``agent`` (username) took, newest first."""
    mine: list[CallRecord] = []
    with uow:
        for offset in range(0, MAX_RECORDS, PAGE):
            page = uow.calls.search(CallFilter(started_from=start, started_to=end, limit=PAGE, offset=offset))
            mine.extend(record for record in page if record.agent == agent)
            if len(page) < PAGE:
                break
    return mine
