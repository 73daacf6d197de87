"""Properties of the ACD under random event sequences (hypothesis): no agent is ever rung for two
calls at once nor while on a call, every call ends exactly once, and every agent state change is
one of the engine's table (below) and has a reason."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from waterline.calls.acd import Acd
from waterline.calls.acdactions import AcdAction, Bridge, CancelLeg, DialCustomer, ExitQueue, RingAgent
from waterline.calls.acdevents import (
    AcdEvent,
    AgentInUse,
    AgentStateRequested,
    CallCompleted,
    CallEntered,
    CallerHungUp,
    CallerPressed,
    CallTransferred,
    LegAnswered,
    LegFailed,
    LegNoAnswer,
)
from waterline.calls.queue import (
    AgentState,
    OverflowMobile,
    OverflowQueue,
    OverflowVoicemail,
    QueueConfig,
    QueueMember,
    Strategy,
    Tier,
)
from waterline.calls.queuelog import QueueLogEntry

AGENTS = ("a", "b", "c", "d")
_S = AgentState
# the changes the ACD may report: no pause in the middle of a call (it waits for the wrap-up),
# no ring but from available, no call but from ringing
ENGINE_TRANSITIONS = {
    _S.LOGGED_OUT: {_S.AVAILABLE, _S.PAUSED},
    _S.AVAILABLE: {_S.RINGING, _S.PAUSED, _S.LOGGED_OUT},
    _S.RINGING: {_S.AVAILABLE, _S.ON_CALL, _S.PAUSED, _S.LOGGED_OUT},
    _S.ON_CALL: {_S.WRAP_UP, _S.AVAILABLE, _S.LOGGED_OUT},
    _S.WRAP_UP: {_S.AVAILABLE, _S.PAUSED, _S.LOGGED_OUT},
    _S.PAUSED: {_S.AVAILABLE, _S.PAUSED, _S.LOGGED_OUT},
}
STATES = ("available", "available", "available", "paused", "logged_out")


@dataclass
class Harness:
    """Plays the driver: carries out the ACD's actions and checks the invariants on each step."""

    acd: Acd
    now: float = 0.0
    entered: list[str] = field(default_factory=list)
    ringing: dict[str, tuple[str, str]] = field(default_factory=dict)  # leg -> (agent, call)
    customer_legs: dict[str, str] = field(default_factory=dict)  # leg -> call
    busy: dict[str, str] = field(default_factory=dict)  # agent -> call (bridged or dialing a customer)
    agent_legs: dict[str, str] = field(default_factory=dict)  # answered agent leg -> agent
    exits: Counter[str] = field(default_factory=Counter)
    log: list[QueueLogEntry] = field(default_factory=list)

    def feed(self, event: AcdEvent) -> None:
        self.apply(self.acd.handle(event, self.now))

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for _ in range(1000):  # bounded: a timer that never settles fails the test
            timer = self.acd.get_timer()
            if timer is None or timer > self.now:
                return
            self.apply(self.acd.handle_timer(timer))
        raise AssertionError("timers do not settle")

    def apply(self, actions: list[AcdAction]) -> None:
        for action in actions:
            match action:
                case RingAgent():
                    assert action.agent not in self.busy, f"{action.agent} rung while on a call"
                    other = {call for agent, call in self.ringing.values() if agent == action.agent}
                    assert other <= {action.call_id}, f"{action.agent} rung for two calls"
                    self.ringing[action.leg] = (action.agent, action.call_id)
                case CancelLeg():
                    self.ringing.pop(action.leg, None)
                    self.customer_legs.pop(action.leg, None)
                    agent = self.agent_legs.pop(action.leg, None)
                    if agent is not None:
                        self.busy.pop(agent, None)
                case Bridge():
                    self.busy[action.agent] = action.call_id
                    self.agent_legs[action.agent_leg] = action.agent
                case DialCustomer():
                    self.customer_legs[action.leg] = action.call_id
                case ExitQueue():
                    self.exits[action.call_id] += 1
                case _:
                    pass
        for record in self.acd.take_records():
            if isinstance(record, QueueLogEntry):
                self.log.append(record)
                continue
            assert record.state in ENGINE_TRANSITIONS[record.previous], record
            assert record.reason, record

    def answer(self, leg: str) -> None:
        agent, call = self.ringing.pop(leg)
        actions = self.acd.handle(LegAnswered(leg), self.now)
        if any(isinstance(a, Bridge | DialCustomer) for a in actions):
            self.busy[agent] = call
            self.agent_legs[leg] = agent
        self.apply(actions)

    def end_connected(self, call: str, how: str) -> None:
        for agent, busy_call in list(self.busy.items()):
            if busy_call == call:
                del self.busy[agent]
        if how == "transfer":
            self.feed(CallTransferred(call, "queue:other"))
        else:
            self.feed(CallCompleted(call, "caller" if how == "caller" else "agent"))

    def connected_calls(self) -> list[str]:
        dialing = set(self.customer_legs.values())
        return sorted({call for call in self.busy.values() if call not in dialing})


def build(strategy: Strategy, seed: int, max_length: int | None, leave_when_empty: bool) -> Acd:
    acd = Acd(rng=random.Random(seed))
    acd.configure_queue(
        QueueConfig(
            "orders",
            strategy=strategy,
            ring_timeout=10.0,
            retry_seconds=3.0,
            max_wait=60.0,
            max_length=max_length,
            wrap_up_seconds=5.0,
            leave_when_empty=leave_when_empty,
            announce_every=15.0,
            comfort_every=20.0,
            comfort_prompt="comfort",
            tiers=(Tier(1, 12.0),),
            overflow=(OverflowQueue("backup"), OverflowMobile("13800000000")),
            callback_after=20.0,
        ),
        [QueueMember("a"), QueueMember("b"), QueueMember("c", 1)],
    )
    acd.configure_queue(
        QueueConfig("backup", strategy=Strategy.RING_ALL, max_wait=30.0, overflow=(OverflowVoicemail(),)),
        [QueueMember("c"), QueueMember("d")],
    )
    for agent in AGENTS:
        acd.configure_agent(agent, [f"sip:{agent}@desk", f"sip:{agent}@soft"] if agent == "a" else [agent])
    return acd


step = st.one_of(
    st.tuples(st.just("enter"), st.sampled_from(("orders", "orders", "backup"))),
    # twice: logins, pauses and logouts at every moment are where the state table is tested
    st.tuples(st.just("state"), st.sampled_from(AGENTS), st.sampled_from(STATES)),
    st.tuples(st.just("state"), st.sampled_from(AGENTS), st.sampled_from(STATES)),
    st.tuples(st.just("busy_agent"), st.integers(0, 3), st.sampled_from(STATES)),
    st.tuples(st.just("in_use"), st.sampled_from(AGENTS), st.booleans()),
    st.tuples(st.just("answer"), st.integers(0, 7)),
    st.tuples(st.just("fail"), st.integers(0, 7), st.sampled_from((486, 603, 480))),
    st.tuples(st.just("noanswer"), st.integers(0, 7)),
    st.tuples(st.just("hangup"), st.integers(0, 30)),
    st.tuples(st.just("press"), st.integers(0, 30), st.sampled_from("12")),
    st.tuples(st.just("end"), st.integers(0, 7), st.sampled_from(("caller", "agent", "transfer"))),
    st.tuples(st.just("customer"), st.integers(0, 3), st.booleans()),
    st.tuples(st.just("wait"), st.floats(0.5, 25.0)),
)


def run(harness: Harness, op: tuple[object, ...]) -> None:
    kind = op[0]
    legs = sorted(harness.ringing)
    if kind == "enter":
        call = f"c{len(harness.entered)}"
        harness.entered.append(call)
        harness.feed(CallEntered(call, str(op[1]), "139" + call))
    elif kind == "state":
        harness.feed(AgentStateRequested(str(op[1]), op[2], "test"))  # type: ignore[arg-type]
    elif kind == "busy_agent" and harness.busy:
        # an agent on a call (or dialling a call-back) asks for a change: it waits for the call's end
        agent = sorted(harness.busy)[int(str(op[1])) % len(harness.busy)]
        harness.feed(AgentStateRequested(agent, op[2], "test"))  # type: ignore[arg-type]
    elif kind == "in_use":
        harness.feed(AgentInUse(str(op[1]), bool(op[2])))
    elif kind in ("answer", "fail", "noanswer") and legs:
        leg = legs[int(str(op[1])) % len(legs)]
        if kind == "answer":
            harness.answer(leg)
        else:
            harness.ringing.pop(leg)
            harness.feed(LegFailed(leg, int(str(op[2]))) if kind == "fail" else LegNoAnswer(leg))
    elif kind in ("hangup", "press") and harness.entered:
        call = harness.entered[int(str(op[1])) % len(harness.entered)]
        if kind == "press":
            harness.feed(CallerPressed(call, str(op[2])))
        elif call not in harness.connected_calls():
            harness.feed(CallerHungUp(call))
    elif kind == "end" and harness.connected_calls():
        calls = harness.connected_calls()
        harness.end_connected(calls[int(str(op[1])) % len(calls)], str(op[2]))
    elif kind == "customer" and harness.customer_legs:
        customer = sorted(harness.customer_legs)[int(str(op[1])) % len(harness.customer_legs)]
        call = harness.customer_legs.pop(customer)
        if op[2]:
            harness.apply(harness.acd.handle(LegAnswered(customer), harness.now))
        else:
            for agent, busy_call in list(harness.busy.items()):
                if busy_call == call:
                    del harness.busy[agent]
            harness.feed(LegFailed(customer, 486))
    elif kind == "wait":
        harness.advance(float(str(op[1])))


def drain(harness: Harness) -> None:
    """Bring every call to its end: everyone logs in and answers, callers hang up, time runs on."""
    for agent in AGENTS:
        harness.feed(AgentInUse(agent, False))
        harness.feed(AgentStateRequested(agent, "available"))
    for _ in range(200):
        for leg in sorted(harness.ringing):
            if leg in harness.ringing:
                harness.answer(leg)
        for customer in sorted(harness.customer_legs):
            harness.customer_legs.pop(customer)
            harness.apply(harness.acd.handle(LegAnswered(customer), harness.now))
        for call in harness.connected_calls():
            harness.end_connected(call, "agent")
        for call in harness.entered:
            harness.feed(CallerHungUp(call))
        harness.advance(10.0)
        ended = Counter(entry.call_id for entry in harness.log if entry.ends_call)
        if all(ended[call] for call in harness.entered):
            return


@settings(max_examples=120, deadline=None)
@given(
    strategy=st.sampled_from(list(Strategy)),
    seed=st.integers(0, 1000),
    max_length=st.sampled_from((None, 1, 3)),
    leave_when_empty=st.booleans(),
    steps=st.lists(step, min_size=10, max_size=80),
)
def test_no_double_ring_and_every_call_ends_exactly_once(
    strategy: Strategy,
    seed: int,
    max_length: int | None,
    leave_when_empty: bool,
    steps: list[tuple[object, ...]],
) -> None:
    harness = Harness(build(strategy, seed, max_length, leave_when_empty))
    for op in steps:
        run(harness, op)
    drain(harness)
    ended = Counter(entry.call_id for entry in harness.log if entry.ends_call)
    assert {call: ended[call] for call in harness.entered} == {call: 1 for call in harness.entered}
    # nothing is logged for a call after its end, and an ExitQueue is only ever sent once
    for call in harness.entered:
        entries = [entry for entry in harness.log if entry.call_id == call]
        assert entries[-1].ends_call, entries
    assert all(count == 1 for count in harness.exits.values())
    assert not harness.ringing
