"""Call dispositions as the console sends and reads them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from waterline.domain.dispositions import LABELS, MAX_NOTES, CallDisposition


class DispositionIn(BaseModel):
    """The wrap-up of a call: ``code`` (order, inquiry, complaint, callback, wrong_number, nuisance,
    other) and free notes. ``code`` is a plain string so a wrong one gets the domain's bilingual
    message listing the codes."""

    code: str = Field(max_length=20)
    notes: str = Field(default="", max_length=MAX_NOTES + 100)


class DispositionOut(BaseModel):
    """A stored disposition with the code's Chinese and English names."""

    id: int
    call_id: str
    agent_id: int
    code: str
    label_zh: str
    label_en: str
    notes: str
    at: datetime

    @classmethod
    def of(cls, disposition: CallDisposition) -> DispositionOut:
        """The API view of ``disposition``."""
        assert disposition.id is not None
        zh, en = LABELS[disposition.code]
        return cls(id=disposition.id, call_id=disposition.call_id, agent_id=disposition.agent_id,
                   code=disposition.code.value, label_zh=zh, label_en=en, notes=disposition.notes,
                   at=disposition.at)
