"""The agent state table: who may go where, and pause reasons."""

from __future__ import annotations

import pytest

from waterline.domain.agents import MAX_REASON_LENGTH, TRANSITIONS, AgentState, check_transition
from waterline.domain.errors import IllegalTransition, InvalidInput

S = AgentState


def test_every_state_has_a_row_and_logout_is_always_allowed() -> None:
    assert set(TRANSITIONS) == set(AgentState)
    for state in AgentState:
        if state is not S.LOGGED_OUT:
            assert check_transition(state, S.LOGGED_OUT, "") == ""


@pytest.mark.parametrize("start", [S.AVAILABLE, S.WRAP_UP, S.PAUSED])
def test_pause_with_reason_from_where_allowed(start: AgentState) -> None:
    assert check_transition(start, S.PAUSED, "  用餐 ") == "用餐"


@pytest.mark.parametrize("start", [S.ON_CALL, S.RINGING, S.LOGGED_OUT])
def test_pause_refused_elsewhere(start: AgentState) -> None:
    with pytest.raises(IllegalTransition) as caught:
        check_transition(start, S.PAUSED, "training")
    assert start.value in caught.value.message_en and "坐席" in caught.value.message_zh


def test_pause_needs_a_reason() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_transition(S.AVAILABLE, S.PAUSED, "   ")
    assert caught.value.code == "agent.pause_reason_required"


def test_reason_length_is_bounded() -> None:
    with pytest.raises(InvalidInput):
        check_transition(S.AVAILABLE, S.PAUSED, "x" * (MAX_REASON_LENGTH + 1))


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (S.LOGGED_OUT, S.RINGING),  # the engine's states are never asked for
        (S.LOGGED_OUT, S.ON_CALL),
        (S.PAUSED, S.RINGING),
        (S.WRAP_UP, S.RINGING),
        (S.ON_CALL, S.RINGING),
        (S.AVAILABLE, S.AVAILABLE),
        (S.LOGGED_OUT, S.LOGGED_OUT),
        (S.RINGING, S.WRAP_UP),
        (S.AVAILABLE, S.RINGING),
        (S.RINGING, S.ON_CALL),
        (S.ON_CALL, S.WRAP_UP),
        (S.ON_CALL, S.AVAILABLE),
    ],
)
def test_illegal_moves(start: AgentState, target: AgentState) -> None:
    with pytest.raises(IllegalTransition):
        check_transition(start, target, "x")


def test_an_agent_may_end_wrap_up_early_and_change_pause_reasons() -> None:
    assert check_transition(S.WRAP_UP, S.AVAILABLE, "") == ""
    assert check_transition(S.PAUSED, S.PAUSED, "培训") == "培训"
