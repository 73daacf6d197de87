"""Agent state service functions on fakes: own changes, feature codes, the ACD's reported changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fakes import FakeStore
from waterline.calls import queue as acd
from waterline.calls.queuelog import AgentStateChange as AcdChange
from waterline.domain.agents import AgentState
from waterline.domain.errors import IllegalTransition, InvalidInput, NotFound
from waterline.services.agents import (
    FEATURE_CODES,
    apply_acd_changes,
    apply_feature_code,
    set_own_state,
    to_acd,
    to_domain,
)

T0 = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


def test_domain_and_engine_states_are_the_same_values() -> None:
    assert [s.value for s in AgentState] == [s.value for s in acd.AgentState]
    for state in AgentState:
        assert to_domain(to_acd(state)) is state


def test_own_state_changes_are_logged(store: FakeStore) -> None:
    li = store.add_agent("li")
    set_own_state(store.uow(), li, "available", reason="", by="api:li", now=T0)
    later = T0 + timedelta(minutes=3)
    change = set_own_state(store.uow(), li, "paused", reason=" 用餐 ", by="api:li", now=later)
    assert (change.from_state, change.to_state) == (AgentState.AVAILABLE, AgentState.PAUSED)
    assert change.reason == "用餐"
    with store.uow() as uow:
        status = uow.agents.status(li)
        assert status is not None and status.state is AgentState.PAUSED
        assert status.since == T0 + timedelta(minutes=3)
        assert [c.to_state for c in uow.agents.log(li)] == [AgentState.PAUSED, AgentState.AVAILABLE]


def test_own_state_refuses_engine_states_and_unknown_names(store: FakeStore) -> None:
    li = store.add_agent("li")
    for bad in ("on_call", "ringing", "wrap_up", "busy"):
        with pytest.raises(InvalidInput) as caught:
            set_own_state(store.uow(), li, bad, reason="", by="api:li", now=T0)
        assert caught.value.code == "agent.bad_state"
    with pytest.raises(InvalidInput):  # a pause without a reason
        set_own_state(store.uow(), li, "paused", reason="", by="api:li", now=T0)
    with pytest.raises(NotFound):
        set_own_state(store.uow(), li + 1000, "available", reason="", by="api:x", now=T0)
    assert store.commits == 0


def test_feature_codes_log_in_toggle_pause_log_out(store: FakeStore) -> None:
    li = store.add_agent("li")
    seen = []
    for minute, code in enumerate(["*21", "*23", "*23", "*22"]):
        change = apply_feature_code(store.uow(), "li", code, T0 + timedelta(minutes=minute))
        seen.append((change.to_state, change.reason, change.by))
    assert seen == [
        (AgentState.AVAILABLE, "login", "feature:*21"),
        (AgentState.PAUSED, "feature-code", "feature:*23"),
        (AgentState.AVAILABLE, "", "feature:*23"),
        (AgentState.LOGGED_OUT, "logout", "feature:*22"),
    ]
    with store.uow() as uow:
        assert len(uow.agents.log(li)) == 4
    assert [f.code for f in FEATURE_CODES] == ["*21", "*22", "*23"]


def test_feature_code_errors(store: FakeStore) -> None:
    store.add_agent("li")
    with pytest.raises(InvalidInput):
        apply_feature_code(store.uow(), "li", "*99", T0)
    with pytest.raises(NotFound):
        apply_feature_code(store.uow(), "nobody", "*21", T0)
    with pytest.raises(IllegalTransition):  # logging out when logged out
        apply_feature_code(store.uow(), "li", "*22", T0)


def test_acd_changes_stored_and_echoes_skipped(store: FakeStore) -> None:
    li = store.add_agent("li")
    set_own_state(store.uow(), li, "available", reason="", by="api:li", now=T0)
    at = T0.timestamp()
    changes = [
        # the engine echoes the login it was fed: already stored
        AcdChange(at, "li", acd.AgentState.LOGGED_OUT, acd.AgentState.AVAILABLE, "login"),
        AcdChange(at + 1, "li", acd.AgentState.AVAILABLE, acd.AgentState.RINGING, "ring", "call-1"),
        AcdChange(at + 4, "li", acd.AgentState.RINGING, acd.AgentState.ON_CALL, "answered", "call-1"),
        AcdChange(at + 5, "ghost", acd.AgentState.AVAILABLE, acd.AgentState.RINGING, "ring", "call-2"),
    ]
    stored = apply_acd_changes(store.uow(), changes)
    assert [(c.to_state, c.by) for c in stored] == [
        (AgentState.RINGING, "acd:call-1"), (AgentState.ON_CALL, "acd:call-1")
    ]
    assert stored[1].at == T0 + timedelta(seconds=4)
    with store.uow() as uow:
        status = uow.agents.status(li)
        assert status is not None and status.state is AgentState.ON_CALL


def test_acd_facts_are_stored_even_where_a_request_would_be_refused(store: FakeStore) -> None:
    wu = store.add_agent("wu")
    # the store missed his login (say, the engine restarted): the engine's word wins
    fact = AcdChange(T0.timestamp(), "wu", acd.AgentState.AVAILABLE, acd.AgentState.ON_CALL, "x" * 300, "c9")
    (stored,) = apply_acd_changes(store.uow(), [fact])
    assert (stored.from_state, stored.to_state) == (AgentState.LOGGED_OUT, AgentState.ON_CALL)
    assert len(stored.reason) == 100
    with store.uow() as uow:
        assert [c.by for c in uow.agents.log(wu)] == ["acd:c9"]


def test_requests_from_the_wrong_state_are_refused(store: FakeStore) -> None:
    store.add_agent("li")
    apply_acd_changes(store.uow(), [
        AcdChange(T0.timestamp(), "li", acd.AgentState.AVAILABLE, acd.AgentState.ON_CALL, "answered", "c1")
    ])
    with pytest.raises(IllegalTransition):  # no pause in the middle of a call
        apply_feature_code(store.uow(), "li", "*23", T0)
    assert apply_feature_code(store.uow(), "li", "*22", T0).to_state is AgentState.LOGGED_OUT
