"""Call dispositions: what an agent records about a call at wrap-up (the outcome code and notes).

One disposition per call and agent; recording it again replaces it (the agent corrects himself
during wrap-up). The codes are fixed here so reports can count them; the notes are free text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from waterline.domain.errors import InvalidInput

MAX_NOTES = 2000


class DispositionCode(StrEnum):
    """What the call was about, as the agent closes it."""

    ORDER = "order"
    INQUIRY = "inquiry"
    COMPLAINT = "complaint"
    CALLBACK = "callback"
    WRONG_NUMBER = "wrong_number"
    NUISANCE = "nuisance"
    OTHER = "other"


LABELS: dict[DispositionCode, tuple[str, str]] = {
    DispositionCode.ORDER: ("下单", "order placed"),
    DispositionCode.INQUIRY: ("咨询", "inquiry"),
    DispositionCode.COMPLAINT: ("投诉", "complaint"),
    DispositionCode.CALLBACK: ("需回电", "call back"),
    DispositionCode.WRONG_NUMBER: ("打错电话", "wrong number"),
    DispositionCode.NUISANCE: ("骚扰电话", "nuisance call"),
    DispositionCode.OTHER: ("其他", "other"),
}
"""Chinese and English names of the codes, for the console."""


@dataclass(frozen=True, slots=True)
class CallDisposition:
    """``agent_id`` closed call ``call_id`` with ``code`` and ``notes`` at ``at`` (aware)."""

    call_id: str
    agent_id: int
    code: DispositionCode
    notes: str
    at: datetime
    id: int | None = None


def parse_code(text: str) -> DispositionCode:
    """The code named ``text``; ``InvalidInput`` (bilingual, listing the codes) otherwise."""
    try:
        return DispositionCode(text.strip())
    except ValueError:
        choices = ", ".join(code.value for code in DispositionCode)
        raise InvalidInput("disposition.bad_code", given=text, choices=choices) from None


def new_disposition(call_id: str, agent_id: int, code: str, notes: str, at: datetime) -> CallDisposition:
    """A checked disposition: a known code, notes trimmed and at most :data:`MAX_NOTES` characters."""
    if not call_id.strip():
        raise InvalidInput("disposition.no_call")
    cleaned = notes.strip()
    if len(cleaned) > MAX_NOTES:
        raise InvalidInput("disposition.notes_too_long", limit=MAX_NOTES)
    return CallDisposition(call_id.strip(), agent_id, parse_code(code), cleaned, at)
