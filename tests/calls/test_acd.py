"""The ACD engine with a fake clock: strategies, ring timeouts, wrap-up, tiers, overflow, call-back."""

from __future__ import annotations

import random
from collections.abc import Sequence

from waterline.calls.acd import Acd
from waterline.calls.acdactions import (
    AcceptCallback,
    AcdAction,
    Announce,
    Bridge,
    CancelLeg,
    DialCustomer,
    ExitQueue,
    MusicOnHold,
    OfferCallback,
    PlayComfort,
    RingAgent,
)
from waterline.calls.acdevents import (
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
    LegRinging,
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
from waterline.calls.queuelog import AgentStateChange, QueueEvent, QueueLogEntry, Record


def make(
    agents: Sequence[str] = ("a", "b", "c"),
    *,
    levels: dict[str, int] | None = None,
    seed: int = 1,
    **config: object,
) -> Acd:
    acd = Acd(rng=random.Random(seed))
    settings: dict[str, object] = {"announce_every": None, "wrap_up_seconds": 0.0, "retry_seconds": 0.0}
    settings.update(config)
    member_levels = levels or {}
    acd.configure_queue(
        QueueConfig("orders", **settings),  # type: ignore[arg-type]
        [QueueMember(agent, member_levels.get(agent, 0)) for agent in agents],
    )
    for agent in agents:
        acd.configure_agent(agent, [f"sip:{agent}@phone"])
    return acd


def login(acd: Acd, *agents: str, now: float = 0.0) -> None:
    for agent in agents:
        acd.handle(AgentStateRequested(agent, "available"), now)


def rings(actions: Sequence[AcdAction]) -> list[RingAgent]:
    return [action for action in actions if isinstance(action, RingAgent)]


def rung(actions: Sequence[AcdAction]) -> list[str]:
    return [ring.agent for ring in rings(actions)]


def queue_log(records: Sequence[Record]) -> list[QueueLogEntry]:
    return [record for record in records if isinstance(record, QueueLogEntry)]


def events(records: Sequence[Record]) -> list[QueueEvent]:
    return [entry.event for entry in queue_log(records)]


def enter(acd: Acd, call: str, now: float, queue: str = "orders") -> list[AcdAction]:
    return acd.handle(CallEntered(call, queue, f"139{call}"), now)


def answer_and_finish(acd: Acd, call: str, actions: Sequence[AcdAction], now: float) -> str:
    ring = rings(actions)[0]
    acd.handle(LegAnswered(ring.leg), now)
    acd.handle(CallCompleted(call, "agent"), now + 1)
    return ring.agent


# strategies


def test_longest_idle_rings_the_agent_idle_longest() -> None:
    acd = make(strategy=Strategy.LONGEST_IDLE)
    login(acd, "a", now=5.0)
    login(acd, "b", now=1.0)
    login(acd, "c", now=3.0)
    assert rung(enter(acd, "1", 10.0)) == ["b"]
    assert rung(enter(acd, "2", 10.0)) == ["c"]
    assert rung(enter(acd, "3", 10.0)) == ["a"]


def test_longest_idle_counts_from_the_end_of_the_last_call() -> None:
    acd = make(strategy=Strategy.LONGEST_IDLE)
    login(acd, "a", "b", now=0.0)
    assert answer_and_finish(acd, "1", enter(acd, "1", 1.0), 2.0) == "a"
    assert rung(enter(acd, "2", 10.0)) == ["b"]


def test_round_robin_remembers_where_it_was() -> None:
    acd = make(strategy=Strategy.ROUND_ROBIN)
    login(acd, "a", "b", "c")
    taken = [answer_and_finish(acd, str(n), enter(acd, str(n), 10.0 * n), 10.0 * n + 1) for n in range(1, 5)]
    assert taken == ["a", "b", "c", "a"]


def test_round_robin_skips_a_busy_agent_and_goes_on_after_the_one_rung() -> None:
    acd = make(strategy=Strategy.ROUND_ROBIN)
    login(acd, "a", "b", "c")
    first = enter(acd, "1", 1.0)
    acd.handle(LegAnswered(rings(first)[0].leg), 1.5)  # a is on call 1
    assert rung(enter(acd, "2", 2.0)) == ["b"]
    assert rung(enter(acd, "3", 3.0)) == ["c"]


def test_fewest_calls_rings_who_took_the_fewest_today() -> None:
    acd = make(strategy=Strategy.FEWEST_CALLS)
    login(acd, "a", "b", now=0.0)
    assert answer_and_finish(acd, "1", enter(acd, "1", 1.0), 2.0) == "a"
    assert answer_and_finish(acd, "2", enter(acd, "2", 5.0), 6.0) == "b"
    assert answer_and_finish(acd, "3", enter(acd, "3", 9.0), 10.0) == "a"
    assert acd.calls_taken("a") == 2
    acd.reset_daily_counts()
    assert acd.calls_taken("a") == 0


def test_random_uses_the_injected_generator() -> None:
    def picks(seed: int) -> list[str]:
        acd = make(strategy=Strategy.RANDOM, seed=seed)
        login(acd, "a", "b", "c")
        return [answer_and_finish(acd, str(n), enter(acd, str(n), float(n)), n + 0.5) for n in range(12)]

    assert picks(7) == picks(7)
    assert set(picks(7)) == {"a", "b", "c"}


def test_ring_all_rings_everyone_and_the_first_answer_cancels_the_rest() -> None:
    acd = make(strategy=Strategy.RING_ALL)
    login(acd, "a", "b", "c")
    actions = enter(acd, "1", 1.0)
    assert sorted(rung(actions)) == ["a", "b", "c"]
    legs = {ring.agent: ring.leg for ring in rings(actions)}
    answered = acd.handle(LegAnswered(legs["b"]), 3.0)
    assert Bridge("1", "b", legs["b"]) in answered
    cancelled = {action.leg for action in answered if isinstance(action, CancelLeg)}
    assert cancelled == {legs["a"], legs["c"]}
    assert acd.agent_state("a") is AgentState.AVAILABLE
    assert acd.agent_state("b") is AgentState.ON_CALL


# ring timeouts, refusals, in-use


def test_no_answer_rings_the_next_agent_after_the_ring_timeout() -> None:
    acd = make(strategy=Strategy.ROUND_ROBIN, ring_timeout=15.0)
    login(acd, "a", "b")
    first = rings(enter(acd, "1", 100.0))[0]
    assert first.agent == "a" and first.timeout == 15.0
    assert acd.get_timer() == 115.0
    assert acd.handle_timer(114.0) == []
    later = acd.handle_timer(115.0)
    assert CancelLeg(first.leg, "no-answer") in later
    assert rung(later) == ["b"]
    acd.take_records()
    answered = acd.handle(LegAnswered(rings(later)[0].leg), 118.0)
    assert Bridge("1", "b", rings(later)[0].leg) in answered
    entries = queue_log(acd.take_records())
    connect = [e for e in entries if e.event is QueueEvent.CONNECT][0]
    assert (connect.agent, connect.wait, connect.position) == ("b", 18.0, 1)


def test_an_agents_own_ring_timeout_wins() -> None:
    acd = make(ring_timeout=15.0)
    acd.configure_agent("a", ["sip:a@phone"], ring_timeout=8.0)
    login(acd, "a")
    assert rings(enter(acd, "1", 0.0))[0].timeout == 8.0
    assert acd.get_timer() == 8.0


def test_a_busy_refusal_moves_on_to_the_next_agent_and_is_logged() -> None:
    acd = make(strategy=Strategy.ROUND_ROBIN, retry_seconds=30.0)
    login(acd, "a", "b")
    first = rings(enter(acd, "1", 0.0))[0]
    acd.take_records()
    after = acd.handle(LegFailed(first.leg, 486, "Busy Here"), 1.0)
    assert rung(after) == ["b"]
    refused = [e for e in queue_log(acd.take_records()) if e.event is QueueEvent.RING_REFUSED]
    assert [(e.agent, e.detail) for e in refused] == [("a", "486")]
    # b does not answer either; a is not rung again for this call before retry_seconds
    assert rung(acd.handle(LegNoAnswer(rings(after)[0].leg), 2.0)) == []
    assert acd.get_timer() == 31.0
    assert rung(acd.handle_timer(31.0)) == ["a"]


def test_all_contacts_ring_and_the_first_to_answer_wins() -> None:
    acd = make(agents=("a",))
    acd.configure_agent("a", ["sip:a@desk", "sip:a@soft"])
    login(acd, "a")
    actions = enter(acd, "1", 0.0)
    assert [ring.contact for ring in rings(actions)] == ["sip:a@desk", "sip:a@soft"]
    desk, soft = (ring.leg for ring in rings(actions))
    # one contact refusing keeps the other ringing
    assert acd.handle(LegFailed(desk, 486), 1.0) == []
    assert acd.agent_state("a") is AgentState.RINGING
    assert Bridge("1", "a", soft) in acd.handle(LegAnswered(soft), 2.0)


def test_an_agent_on_a_call_is_never_rung() -> None:
    acd = make(agents=("a", "b"), strategy=Strategy.RING_ALL)
    login(acd, "a", "b")
    first = enter(acd, "1", 0.0)
    legs = {ring.agent: ring.leg for ring in rings(first)}
    acd.handle(LegAnswered(legs["a"]), 1.0)
    assert acd.agent_state("b") is AgentState.AVAILABLE
    assert rung(enter(acd, "2", 2.0)) == ["b"]
    assert rung(enter(acd, "3", 3.0)) == []  # a on call 1, b ringing for call 2


def test_an_agent_busy_outside_the_acd_is_skipped_unless_ring_in_use() -> None:
    acd = make(agents=("a",))
    login(acd, "a")
    acd.handle(AgentInUse("a", True), 0.0)
    assert rung(enter(acd, "1", 1.0)) == []
    assert rung(acd.handle(AgentInUse("a", False), 2.0)) == ["a"]
    keen = make(agents=("a",), ring_in_use=True)
    login(keen, "a")
    keen.handle(AgentInUse("a", True), 0.0)
    assert rung(enter(keen, "1", 1.0)) == ["a"]


def test_a_late_answer_is_hung_up() -> None:
    acd = make(agents=("a",), ring_timeout=5.0)
    login(acd, "a")
    leg = rings(enter(acd, "1", 0.0))[0].leg
    acd.handle(CallerHungUp("1"), 1.0)
    assert acd.handle(LegAnswered(leg), 2.0) == [CancelLeg(leg, "not-waited-for")]


# agent states, wrap-up, pause


def test_wrap_up_before_the_agent_is_rung_again() -> None:
    acd = make(agents=("a",), wrap_up_seconds=20.0)
    login(acd, "a")
    leg = rings(enter(acd, "1", 0.0))[0].leg
    acd.handle(LegAnswered(leg), 1.0)
    acd.handle(CallCompleted("1", "caller"), 61.0)
    assert acd.agent_state("a") is AgentState.WRAP_UP
    assert rung(enter(acd, "2", 62.0)) == []
    assert acd.get_timer() == 81.0
    assert rung(acd.handle_timer(81.0)) == ["a"]
    changes = [r for r in acd.take_records() if isinstance(r, AgentStateChange)]
    assert [(c.state, c.reason) for c in changes][-3:] == [
        (AgentState.WRAP_UP, "wrap-up"),
        (AgentState.AVAILABLE, "wrap-up-done"),
        (AgentState.RINGING, "ring"),
    ]


def test_available_during_wrap_up_ends_it_early() -> None:
    acd = make(agents=("a",), wrap_up_seconds=60.0)
    login(acd, "a")
    acd.handle(LegAnswered(rings(enter(acd, "1", 0.0))[0].leg), 1.0)
    acd.handle(CallCompleted("1", "agent"), 2.0)
    acd.handle(AgentStateRequested("a", "available"), 10.0)
    assert acd.agent_state("a") is AgentState.AVAILABLE


def test_every_state_change_carries_time_and_reason() -> None:
    acd = make(agents=("a",))
    acd.handle(AgentStateRequested("a", "logged_out"), 0.5)  # already: no change
    acd.handle(AgentStateRequested("a", "available"), 1.0)
    acd.handle(AgentStateRequested("a", "paused", "meal"), 2.0)
    acd.handle(AgentStateRequested("a", "available"), 3.0)
    acd.handle(AgentStateRequested("a", "logged_out"), 4.0)
    changes = [r for r in acd.take_records() if isinstance(r, AgentStateChange)]
    assert [(c.at, c.previous, c.state, c.reason) for c in changes] == [
        (1.0, AgentState.LOGGED_OUT, AgentState.AVAILABLE, "login"),
        (2.0, AgentState.AVAILABLE, AgentState.PAUSED, "pause:meal"),
        (3.0, AgentState.PAUSED, AgentState.AVAILABLE, "unpause"),
        (4.0, AgentState.AVAILABLE, AgentState.LOGGED_OUT, "logout"),
    ]


def test_a_paused_agent_is_not_rung_and_pausing_while_ringing_cancels_the_ring() -> None:
    acd = make(agents=("a", "b"), strategy=Strategy.ROUND_ROBIN)
    login(acd, "a", "b")
    acd.handle(AgentStateRequested("b", "paused", "training"), 0.5)
    leg = rings(enter(acd, "1", 1.0))[0].leg
    acd.take_records()
    out = acd.handle(AgentStateRequested("a", "paused", "meal"), 2.0)
    assert out == [CancelLeg(leg, "pause:meal")]
    changes = [r for r in acd.take_records() if isinstance(r, AgentStateChange)]
    assert [(c.previous, c.state) for c in changes] == [(AgentState.RINGING, AgentState.PAUSED)]


def test_pause_asked_during_a_call_applies_after_the_wrap_up() -> None:
    acd = make(agents=("a",), wrap_up_seconds=30.0)
    login(acd, "a")
    acd.handle(LegAnswered(rings(enter(acd, "1", 0.0))[0].leg), 1.0)
    acd.handle(AgentStateRequested("a", "paused", "meal"), 2.0)
    assert acd.agent_state("a") is AgentState.ON_CALL
    acd.handle(CallCompleted("1", "agent"), 3.0)
    assert acd.agent_state("a") is AgentState.WRAP_UP
    acd.handle_timer(33.0)
    assert acd.agent_state("a") is AgentState.PAUSED
    changes = [r for r in acd.take_records() if isinstance(r, AgentStateChange)]
    assert [(c.state, c.reason) for c in changes][-2:] == [
        (AgentState.WRAP_UP, "wrap-up"),
        (AgentState.PAUSED, "pause:meal"),
    ]


def test_logout_asked_during_a_call_applies_at_its_end_and_pause_without_wrap_up() -> None:
    acd = make(agents=("a", "b"), strategy=Strategy.RING_ALL)
    login(acd, "a", "b")
    legs = {ring.agent: ring.leg for ring in rings(enter(acd, "1", 0.0))}
    acd.handle(LegAnswered(legs["a"]), 1.0)
    acd.handle(LegAnswered(rings(enter(acd, "2", 1.5))[0].leg), 2.0)
    acd.handle(AgentStateRequested("a", "logged_out"), 2.0)
    acd.handle(AgentStateRequested("b", "paused", "meal"), 2.0)
    acd.take_records()
    acd.handle(CallCompleted("1", "agent"), 3.0)
    acd.handle(CallCompleted("2", "agent"), 3.0)
    changes = [r for r in acd.take_records() if isinstance(r, AgentStateChange)]
    assert [(c.agent, c.previous, c.state) for c in changes] == [
        ("a", AgentState.ON_CALL, AgentState.LOGGED_OUT),
        ("b", AgentState.ON_CALL, AgentState.AVAILABLE),
        ("b", AgentState.AVAILABLE, AgentState.PAUSED),
    ]


def test_a_logged_out_agent_may_log_in_paused() -> None:
    acd = make(agents=("a",))
    acd.handle(AgentStateRequested("a", "paused", "training"), 1.0)
    assert acd.agent_state("a") is AgentState.PAUSED
    assert rung(enter(acd, "1", 2.0)) == []


# tiers and overflow


def test_the_neighbouring_station_joins_after_its_tier_time() -> None:
    acd = make(
        agents=("own", "near"),
        levels={"near": 1},
        strategy=Strategy.RING_ALL,
        ring_timeout=60.0,
        tiers=(Tier(1, 20.0),),
    )
    login(acd, "own", "near")
    assert rung(enter(acd, "1", 0.0)) == ["own"]
    assert acd.get_timer() == 20.0
    assert rung(acd.handle_timer(20.0)) == ["near"]


def test_lower_tiers_are_tried_first_once_several_are_eligible() -> None:
    acd = make(agents=("near", "own"), levels={"near": 1}, tiers=(Tier(1, 0.0),))
    login(acd, "near", now=0.0)
    login(acd, "own", now=5.0)  # near has been idle longer, but own is of the station
    assert rung(enter(acd, "1", 10.0)) == ["own"]


def test_timeout_overflows_to_another_queue_then_to_voicemail() -> None:
    acd = make(agents=("a",), max_wait=30.0, overflow=(OverflowQueue("backup"), OverflowVoicemail()))
    acd.configure_queue(
        QueueConfig("backup", max_wait=20.0, announce_every=None, music_on_hold="backup-moh"),
        [QueueMember("z")],
    )
    enter(acd, "1", 0.0)
    moved = acd.handle_timer(30.0)
    assert moved == [MusicOnHold("1", "backup-moh")]
    assert acd.waiting("backup") == ["1"] and acd.waiting("orders") == []
    assert acd.get_timer() == 50.0
    left = acd.handle_timer(50.0)
    assert left == [ExitQueue("1", "timeout", OverflowVoicemail())]
    entries = queue_log(acd.take_records())
    assert [(e.queue, e.event, e.detail) for e in entries] == [
        ("orders", QueueEvent.ENTER, ""),
        ("orders", QueueEvent.TIMEOUT, "queue:backup"),
        ("backup", QueueEvent.ENTER, ""),
        ("backup", QueueEvent.TIMEOUT, "voicemail"),
    ]


def test_full_queue_overflows_to_the_mobile_with_its_reason() -> None:
    acd = make(agents=("a",), max_length=1, overflow=(OverflowMobile("13800000001"),))
    enter(acd, "1", 0.0)
    assert enter(acd, "2", 1.0) == [ExitQueue("2", "full", OverflowMobile("13800000001"))]
    full = [e for e in queue_log(acd.take_records()) if e.event is QueueEvent.FULL]
    assert [(e.call_id, e.detail) for e in full] == [("2", "mobile:13800000001")]


def test_a_refusing_overflow_queue_is_skipped() -> None:
    acd = make(agents=("a",), max_length=1, overflow=(OverflowQueue("backup"), OverflowVoicemail()))
    acd.configure_queue(QueueConfig("backup", join_when_empty=False), [QueueMember("z")])
    enter(acd, "1", 0.0)
    assert enter(acd, "2", 1.0) == [ExitQueue("2", "full", OverflowVoicemail())]


def test_join_empty_and_leave_empty() -> None:
    closed = make(agents=("a",), join_when_empty=False, overflow=())
    assert enter(closed, "1", 0.0) == [ExitQueue("1", "joinempty", None)]
    assert events(closed.take_records()) == [QueueEvent.JOINEMPTY]

    leaving = make(agents=("a",), leave_when_empty=True, overflow=(OverflowVoicemail(),))
    login(leaving, "a")
    leg = rings(enter(leaving, "1", 0.0))[0].leg
    out = leaving.handle(AgentStateRequested("a", "logged_out"), 5.0)
    assert CancelLeg(leg, "logout") in out
    assert ExitQueue("1", "leaveempty", OverflowVoicemail()) in out
    entries = queue_log(leaving.take_records())
    assert (entries[-1].event, entries[-1].wait, entries[-1].position) == (QueueEvent.LEAVEEMPTY, 5.0, 1)


def test_an_empty_chain_hangs_up() -> None:
    acd = make(agents=("a",), max_wait=10.0, overflow=())
    enter(acd, "1", 0.0)
    assert acd.handle_timer(10.0) == [ExitQueue("1", "timeout", None)]
    assert queue_log(acd.take_records())[-1].detail == "hangup"


# waiting: announcements, comfort, abandon


def test_position_and_estimated_wait_are_announced_every_n_seconds() -> None:
    acd = make(agents=("a",), announce_every=30.0, max_wait=None)
    login(acd, "a")
    acd.handle(LegAnswered(rings(enter(acd, "0", 0.0))[0].leg), 40.0)  # a recent wait of 40 s
    enter(acd, "1", 50.0)
    enter(acd, "2", 60.0)
    assert acd.estimated_wait("orders") == 40.0
    assert acd.handle_timer(80.0) == [Announce("1", 1, 40.0)]
    assert acd.handle_timer(90.0) == [Announce("2", 2, 40.0)]
    assert acd.handle_timer(110.0) == [Announce("1", 1, 40.0)]


def test_comfort_prompt_and_music_on_hold() -> None:
    acd = make(agents=("a",), comfort_every=45.0, comfort_prompt="queue-comfort", max_wait=None)
    assert enter(acd, "1", 0.0) == [MusicOnHold("1", "queue-moh")]
    assert acd.handle_timer(45.0) == [PlayComfort("1", "queue-comfort")]
    assert acd.get_timer() == 90.0


def test_abandon_records_position_and_wait() -> None:
    acd = make(agents=("a",), strategy=Strategy.RING_ALL)
    login(acd, "a")
    first_leg = rings(enter(acd, "1", 0.0))[0].leg
    enter(acd, "2", 3.0)
    out = acd.handle(CallerHungUp("1"), 12.5)
    assert CancelLeg(first_leg, "caller-abandoned") in out
    assert rung(out) == ["a"]  # a is free again and rings for the next call
    acd.handle(CallerHungUp("2"), 20.0)
    abandons = [e for e in queue_log(acd.take_records()) if e.event is QueueEvent.ABANDON]
    assert [(e.call_id, e.position, e.wait) for e in abandons] == [("1", 1, 12.5), ("2", 1, 17.0)]


def test_completion_and_transfer_are_logged_with_talk_time() -> None:
    acd = make(agents=("a", "b"))
    login(acd, "a", "b")
    acd.handle(LegAnswered(rings(enter(acd, "1", 0.0))[0].leg), 2.0)
    acd.handle(LegAnswered(rings(enter(acd, "2", 0.0))[0].leg), 2.0)
    acd.handle(CallerHungUp("1"), 32.0)
    acd.handle(CallTransferred("2", "queue:complaints"), 12.0)
    entries = [e for e in queue_log(acd.take_records()) if e.ends_call]
    assert [(e.event, e.wait, e.detail) for e in entries] == [
        (QueueEvent.COMPLETE_CALLER, 30.0, ""),
        (QueueEvent.TRANSFER, 10.0, "queue:complaints"),
    ]


# call-back


def test_callback_keeps_the_place_and_is_served_first() -> None:
    acd = make(agents=("a",), callback_after=60.0, max_wait=None)
    enter(acd, "1", 0.0)
    enter(acd, "2", 10.0)
    assert acd.handle(CallerPressed("1", "1"), 30.0) == []  # not offered yet
    assert acd.handle_timer(60.0) == [OfferCallback("1")]
    assert acd.handle(CallerPressed("1", "1"), 65.0) == [AcceptCallback("1")]
    assert acd.waiting("orders") == ["1", "2"]
    assert acd.handle(CallerHungUp("1"), 66.0) == []  # the caller leg goes; the place stays
    assert acd.waiting("orders") == ["1", "2"]
    ring = rings(acd.handle(AgentStateRequested("a", "available"), 400.0))
    assert [(r.call_id, r.callback) for r in ring] == [("1", True)]


def test_callback_bridges_agent_and_customer() -> None:
    acd = make(agents=("a",), callback_after=10.0, max_wait=None, callback_ring_timeout=20.0)
    enter(acd, "1", 0.0)
    acd.handle_timer(10.0)
    acd.handle(CallerPressed("1", "1"), 11.0)
    ring = rings(acd.handle(AgentStateRequested("a", "available"), 50.0))[0]
    assert ring.callback and ring.call_id == "1"
    dial = acd.handle(LegAnswered(ring.leg), 52.0)
    assert len(dial) == 1 and isinstance(dial[0], DialCustomer)
    assert (dial[0].number, dial[0].agent_leg, dial[0].timeout) == ("1391", ring.leg, 20.0)
    bridged = acd.handle(LegAnswered(dial[0].leg), 60.0)
    assert bridged == [Bridge("1", "a", ring.leg, dial[0].leg)]
    acd.handle(CallCompleted("1", "caller"), 90.0)
    assert events(acd.take_records()) == [
        QueueEvent.ENTER,
        QueueEvent.CALLBACK_REQUESTED,
        QueueEvent.CALLBACK_CONNECTED,
        QueueEvent.COMPLETE_CALLER,
    ]


def test_callback_customer_not_answering_is_a_failed_callback() -> None:
    acd = make(agents=("a",), callback_after=10.0, max_wait=None, callback_ring_timeout=20.0)
    enter(acd, "1", 0.0)
    acd.handle_timer(10.0)
    acd.handle(CallerPressed("1", "1"), 11.0)
    ring = rings(acd.handle(AgentStateRequested("a", "available"), 50.0))[0]
    dial = acd.handle(LegAnswered(ring.leg), 52.0)[0]
    assert isinstance(dial, DialCustomer)
    assert acd.get_timer() == 72.0
    out = acd.handle_timer(72.0)
    assert out == [CancelLeg(dial.leg, "no-answer"), CancelLeg(ring.leg, "callback-failed")]
    assert acd.agent_state("a") is AgentState.AVAILABLE
    failed = queue_log(acd.take_records())[-1]
    assert (failed.event, failed.detail, failed.ends_call) == (QueueEvent.CALLBACK_FAILED, "no-answer", True)
    assert acd.waiting("orders") == []


def test_unknown_queue_is_left_at_once() -> None:
    acd = make()
    assert enter(acd, "1", 0.0, queue="nope") == [ExitQueue("1", "unknown-queue", None)]


def test_agent_states_for_the_supervisor_and_unknown_agents_are_ignored() -> None:
    acd = make(agents=("a", "b"))
    login(acd, "a")
    leg = rings(enter(acd, "1", 0.0))[0].leg
    assert acd.handle(LegRinging(leg), 0.1) == []
    assert acd.agent_states() == {"a": AgentState.RINGING, "b": AgentState.LOGGED_OUT}
    assert acd.handle(AgentStateRequested("ghost", "available"), 1.0) == []
    assert acd.agent_state("ghost") is AgentState.LOGGED_OUT
