"""The agent schemas."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from waterline.domain.agents import AgentContact, AgentState, AgentStateChange, AgentStatus, ContactKind
from waterline.web.schemas.agent import AgentOut, ContactIn, ContactOut, StateChangeOut, StateIn

T0 = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


def test_views() -> None:
    out = AgentOut.of(AgentStatus(3, "li", "李娜", AgentState.PAUSED, T0, "用餐"))
    assert (out.id, out.state, out.reason) == (3, AgentState.PAUSED, "用餐")
    stored = AgentStateChange(3, T0, AgentState.AVAILABLE, AgentState.PAUSED, "用餐", "api:li", 9)
    change = StateChangeOut.of(stored)
    assert (change.id, change.agent_id, change.by) == (9, 3, "api:li")
    contact = ContactOut.of(AgentContact(3, ContactKind.SIP, "li", 0, id=4))
    assert contact.model_dump() == {"id": 4, "agent_id": 3, "kind": "sip", "address": "li", "priority": 0}


def test_inputs_bounded() -> None:
    assert StateIn(state="available").reason == ""
    with pytest.raises(ValidationError):
        StateIn(state="paused", reason="x" * 201)
    with pytest.raises(ValidationError):
        ContactIn(kind="fax", address="1")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        ContactIn(kind=ContactKind.SIP, address="li", priority=-1)
