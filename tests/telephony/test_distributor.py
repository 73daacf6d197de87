import io
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from test_bridge import ANSWER_PCMU, FakeMedia, FakeRecorder, FakeSession

from waterline.calls import live
from waterline.calls.health import StationHealth
from waterline.calls.queue import OverflowMobile, QueueConfig, QueueMember, Strategy
from waterline.domain.agents import AgentContact, AgentState, AgentStatus, ContactKind, QueuePurpose
from waterline.services.ports import QueueDefinition
from waterline.sip import events as ev
from waterline.telephony.distributor import AcdSnapshot, Distributor, LegChain, announcement
from waterline.telephony.eventport import CommandRefused
from waterline.telephony.hold import CallerHold
from waterline.telephony.journal import Journal
from waterline.telephony.prompt import Prompt
from waterline.telephony.transfer import TransferPolicy, Trunk

T0 = 1_795_600_000.0
MOBILE = "13800000000"


class Timer:
    def __init__(self, due: float, callback: Callable[[], object]) -> None:
        self.due = due
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


@dataclass
class FakeCall:
    leg: str
    call_id: str
    caller: str = "13911112222"
    did: str = "4006360888"
    recorder: FakeRecorder = field(default_factory=FakeRecorder)
    did_: list[tuple[str, object]] = field(default_factory=list)

    def queue_hold(self, prompt: str) -> None:
        self.did_.append(("hold", prompt))

    def queue_say(self, text: str, *, then_hangup: bool = False) -> None:
        self.did_.append(("say", text))

    def queue_prompt(self, prompt: str) -> None:
        self.did_.append(("prompt", prompt))

    def queue_connected(self, agent: str) -> FakeRecorder:
        self.did_.append(("connected", agent))
        return self.recorder

    def queue_left(self, number: str | None, detail: str) -> None:
        self.did_.append(("left", (number, detail)))

    def queue_agent_ended(self, talk: float, detail: str) -> None:
        self.did_.append(("agent_ended", talk))

    def queue_context(self) -> tuple[tuple[str, ...], str]:
        return ("menu", "agent"), "0"


class Rig:
    def __init__(self) -> None:
        self.now = T0
        self.timers: list[Timer] = []
        self.soon: list[Callable[[], object]] = []
        self.commands: list[ev.Command] = []
        self.media = FakeMedia()
        self.stream = io.StringIO()
        self.journal = Journal(None, self.stream)
        self.events: list[live.LiveEvent] = []
        self.hung_up: list[str] = []
        self.registered: dict[str, list[str]] = {
            "a1": ["sip:a1@192.0.2.1:5062"], "a2": ["sip:a2@192.0.2.2:5062"], "a3": ["sip:a3@192.0.2.3:5062"]}
        self.distributor = Distributor(
            send=self.send, media=self.media, journal=self.journal, scheduler=self, worker=self,
            policy=TransferPolicy(contacts=lambda user: [], trunk=Trunk("198.51.100.1")),
            uow_factory=None, registered=lambda user: self.registered.get(user, []),
            wallclock=lambda: self.now, clock=lambda: self.now, rng=random.Random(1),
            media_ip=lambda: "127.0.0.1", health=StationHealth(threshold=2, restore_after=60.0),
            on_event=self.events.append, hangup=self.hung_up.append,
        )

    # the engine's loop and worker, by hand
    def call_soon(self, callback: Callable[[], object]) -> object:
        self.soon.append(callback)
        return None

    def call_later(self, delay: float, callback: Callable[[], object]) -> Timer:
        timer = Timer(self.now + delay, callback)
        self.timers.append(timer)
        return timer

    def submit(self, work: Callable[[], Any], done: Callable[[Any, BaseException | None], None]) -> None:
        done(work(), None)

    def send(self, command: ev.Command) -> str | None:
        self.commands.append(command)
        if isinstance(command, ev.Dial):
            return f"out{sum(isinstance(c, ev.Dial) for c in self.commands)}"
        return None

    def run(self) -> None:
        while self.soon:
            self.soon.pop(0)()

    def advance(self, to: float) -> None:
        self.now = to
        self.run()
        for timer in sorted(self.timers, key=lambda t: t.due):
            if not timer.cancelled and timer.due <= to and timer in self.timers:
                self.timers.remove(timer)
                timer.callback()
                self.run()

    def configure(self, *queues: tuple[QueueConfig, list[QueueMember], int], states: dict[str, AgentState],
                  since: datetime | None = None) -> None:
        at = since or datetime.fromtimestamp(self.now, UTC)
        definitions = tuple(QueueDefinition(station, PURPOSE, config, at, tuple(members))
                            for config, members, station in queues)
        agents = tuple(AgentStatus(i, name, name, state, at)
                       for i, (name, state) in enumerate(states.items()))
        self.distributor.apply(AcdSnapshot(definitions, agents, {}, {1: "", 2: ""}))
        self.run()

    def caller(self, n: int = 1) -> FakeCall:
        call = FakeCall(f"leg{n}", f"call{n}@carrier")
        self.media.sessions[call.leg] = FakeSession(20000 + n)
        return call

    def dials(self) -> list[ev.Dial]:
        return [c for c in self.commands if isinstance(c, ev.Dial)]

    def hangups(self) -> list[str]:
        return [c.call for c in self.commands if isinstance(c, ev.Hangup)]

    def journal_events(self) -> list[str]:
        self.journal.flush()
        return [json.loads(line)["event"] for line in self.stream.getvalue().splitlines()]


PURPOSE = QueuePurpose.ORDERS
AVAILABLE = AgentState.AVAILABLE


def _queue(**kw: Any) -> QueueConfig:
    defaults: dict[str, Any] = {"name": "orders", "strategy": Strategy.ROUND_ROBIN, "ring_timeout": 10.0,
                                "wrap_up_seconds": 0.0, "announce_every": None}
    defaults.update(kw)
    return QueueConfig(**defaults)


def test_a_queued_caller_hears_music_rings_an_agent_and_is_bridged_until_the_agent_hangs_up() -> None:
    rig = Rig()
    rig.configure((_queue(), [QueueMember("a1"), QueueMember("a2")], 1),
                  states={"a1": AVAILABLE, "a2": AVAILABLE})
    call = rig.caller()
    assert not rig.distributor.knows("sales")
    assert rig.distributor.enter(call, "orders")
    assert call.did_[0] == ("hold", "queue-moh")
    [dial] = rig.dials()
    assert dial.target == "sip:a1@192.0.2.1:5062" and dial.from_uri == "sip:4006360888@127.0.0.1"
    assert dial.sdp is not None and b"m=audio" in dial.sdp
    assert LegChain(rig.distributor).handle(ev.CallRinging("out1", 180, None))
    rig.now = T0 + 2
    assert rig.distributor.handle(ev.CallAnswered("out1", ANSWER_PCMU))
    assert ("connected", "a1") in call.did_
    caller = rig.media.sessions["leg1"]
    agent = rig.media.sessions["leg1>call1@carrier~1"]
    assert caller.forward is not None and agent.forward is not None  # the relay runs both ways
    rig.now = T0 + 32
    assert rig.distributor.handle(ev.CallEnded("out1", "remote-bye"))
    assert call.did_[-1] == ("agent_ended", 30.0)
    assert caller.forward is None and agent.closed
    queued = next(e for e in rig.events if isinstance(e, live.CallQueued))
    assert (queued.queue, queued.caller, queued.ivr_path) == ("orders", "13911112222", ("menu", "agent"))
    stats = [e for e in rig.events if isinstance(e, live.QueueStats)]
    assert (stats[0].waiting, stats[0].available) == (0, 2)  # two agents logged in
    assert any(s.waiting == 1 for s in stats)
    offered = next(e for e in rig.events if isinstance(e, live.CallOffered))
    assert (offered.agent, offered.queue, offered.leg, offered.ivr_path, offered.digits) == (
        "a1", "orders", "out1", ("menu", "agent"), "0")
    answered = next(e for e in rig.events if isinstance(e, live.CallAnswered))
    assert answered.waited == 2.0
    ended = [e for e in rig.events if isinstance(e, live.CallEnded)]
    assert [(e.reason, e.agent) for e in ended] == [("agent", "a1")]
    states = [(e.agent, e.state) for e in rig.events if isinstance(e, live.AgentStateChanged)]
    assert ("a1", "ringing") in states and ("a1", "on_call") in states and states[-1] == ("a1", "available")
    assert rig.distributor.waiting == 0
    assert "acd_bridged" in rig.journal_events()


def test_a_ring_timeout_cancels_the_leg_and_rings_the_next_agent() -> None:
    rig = Rig()
    rig.configure((_queue(ring_timeout=5.0), [QueueMember("a1"), QueueMember("a2")], 1),
                  states={"a1": AVAILABLE, "a2": AVAILABLE})
    rig.distributor.enter(rig.caller(), "orders")
    rig.advance(T0 + 5)
    assert rig.hangups() == ["out1"]  # CANCEL of the first agent's leg
    assert [d.target for d in rig.dials()] == ["sip:a1@192.0.2.1:5062", "sip:a2@192.0.2.2:5062"]
    # the cancelled leg's 487 changes nothing more
    rig.distributor.handle(ev.CallEnded("out1", "cancelled", 487))
    assert len(rig.dials()) == 2
    ended = [e for e in rig.events if isinstance(e, live.CallEnded)]
    assert [(e.reason, e.agent) for e in ended] == [("no-answer", "a1")]


def test_a_refusing_phone_moves_on_at_once() -> None:
    rig = Rig()
    rig.configure((_queue(), [QueueMember("a1"), QueueMember("a2")], 1),
                  states={"a1": AVAILABLE, "a2": AVAILABLE})
    rig.distributor.enter(rig.caller(), "orders")
    rig.distributor.handle(ev.CallEnded("out1", "rejected", 486))
    rig.run()
    assert [d.target for d in rig.dials()][-1] == "sip:a2@192.0.2.2:5062"


def test_a_caller_who_hangs_up_while_ringing_cancels_the_agent_leg_and_abandons() -> None:
    rig = Rig()
    rig.configure((_queue(), [QueueMember("a1")], 1), states={"a1": AVAILABLE})
    call = rig.caller()
    rig.distributor.enter(call, "orders")
    rig.now = T0 + 4
    rig.distributor.caller_gone(call.call_id)
    assert rig.hangups() == ["out1"]
    [ended] = [e for e in rig.events if isinstance(e, live.CallEnded)]
    assert ended.reason == "abandon" and ended.queue == "orders"
    assert rig.distributor.waiting == 0
    assert rig.distributor.acd.agent_state("a1").value == "available"


def test_the_caller_hanging_up_when_bridged_hangs_up_the_agent() -> None:
    rig = Rig()
    rig.configure((_queue(), [QueueMember("a1")], 1), states={"a1": AVAILABLE})
    call = rig.caller()
    rig.distributor.enter(call, "orders")
    rig.distributor.handle(ev.CallAnswered("out1", ANSWER_PCMU))
    rig.now = T0 + 10
    rig.distributor.caller_gone(call.call_id)
    assert rig.hangups() == ["out1"]  # BYE to the agent
    rig.distributor.handle(ev.CallEnded("out1", "bye-sent"))
    assert ("agent_ended", 10.0) not in call.did_  # the caller is gone: nothing to resume
    [ended] = [e for e in rig.events if isinstance(e, live.CallEnded)]
    assert (ended.reason, ended.agent) == ("caller", "a1")


def test_a_full_queue_sends_the_caller_to_voicemail() -> None:
    rig = Rig()
    rig.configure((_queue(max_length=1), [QueueMember("a1")], 1), states={"a1": AgentState.PAUSED})
    first, second = rig.caller(1), rig.caller(2)
    rig.distributor.enter(first, "orders")
    rig.distributor.enter(second, "orders")
    assert second.did_ == [("left", (None, "queue orders: full -> voicemail"))]
    assert rig.dials() == []


def test_no_member_logged_in_fails_over_to_the_queues_mobile() -> None:
    rig = Rig()
    rig.configure((_queue(overflow=(OverflowMobile(MOBILE),)), [QueueMember("a1")], 1),
                  states={"a1": AgentState.LOGGED_OUT})
    call = rig.caller()
    assert rig.distributor.enter(call, "orders")
    detail = f"queue orders: failover (no-agent-logged-in) -> mobile {MOBILE}"
    assert call.did_ == [("left", (MOBILE, detail))]
    assert rig.distributor.failovers == 1
    [ended] = [e for e in rig.events if isinstance(e, live.CallEnded)]
    assert ended.reason == "joinempty"


def test_failing_agent_legs_degrade_the_station_and_new_callers_fail_over() -> None:
    rig = Rig()
    rig.configure((_queue(overflow=(OverflowMobile(MOBILE),), retry_seconds=0.0), [QueueMember("a1")], 1),
                  states={"a1": AVAILABLE})
    first = rig.caller(1)
    rig.distributor.enter(first, "orders")
    rig.distributor.handle(ev.CallEnded("out1", "timeout", 503))
    rig.run()
    rig.distributor.handle(ev.CallEnded("out2", "timeout", 503))  # the second failure: degraded
    rig.run()
    assert "station_degraded" in rig.journal_events()
    second = rig.caller(2)
    rig.distributor.enter(second, "orders")
    assert second.did_ == [("left", (MOBILE, f"queue orders: failover (degraded) -> mobile {MOBILE}"))]
    # an answer restores it
    rig.distributor.handle(ev.CallAnswered("out3", ANSWER_PCMU))
    third = rig.caller(3)
    rig.distributor.enter(third, "orders")
    assert third.did_[0] == ("hold", "queue-moh")


def test_states_from_the_store_are_followed_unless_older_than_the_acds_own_changes() -> None:
    rig = Rig()
    queue = (_queue(), [QueueMember("a1")], 1)
    rig.configure(queue, states={"a1": AVAILABLE})
    assert rig.distributor.acd.agent_state("a1").value == "available"
    call = rig.caller()
    rig.now = T0 + 10
    rig.distributor.enter(call, "orders")  # a1 rings: the ACD's own change at T0 + 10
    # the store still says available (the ring is on its way there): not a request
    rig.configure(queue, states={"a1": AVAILABLE}, since=datetime.fromtimestamp(T0 + 5, UTC))
    assert rig.distributor.acd.agent_state("a1").value == "ringing"
    # a pause the agent asked for afterwards is followed (the ring is cancelled)
    rig.now = T0 + 12
    rig.configure(queue, states={"a1": AgentState.PAUSED}, since=datetime.fromtimestamp(T0 + 11, UTC))
    assert rig.distributor.acd.agent_state("a1").value == "paused"
    assert rig.hangups() == ["out1"]


def test_a_busy_state_left_by_a_crash_is_taken_as_logged_in() -> None:
    rig = Rig()
    rig.configure((_queue(), [QueueMember("a1")], 1), states={"a1": AgentState.ON_CALL})
    assert rig.distributor.acd.agent_state("a1").value == "available"


def test_contacts_are_registered_phones_then_mobiles_by_priority() -> None:
    rig = Rig()
    contacts = {"a1": (AgentContact(0, ContactKind.MOBILE, "13912345678", 1),
                       AgentContact(0, ContactKind.SIP, "a1", 0))}
    definition = QueueDefinition(1, PURPOSE, _queue(strategy=Strategy.RING_ALL), datetime.now(UTC),
                                 (QueueMember("a1"),))
    agents = (AgentStatus(0, "a1", "a1", AVAILABLE, datetime.fromtimestamp(T0, UTC)),)
    rig.distributor.apply(AcdSnapshot((definition,), agents, contacts, {}))
    rig.distributor.enter(rig.caller(), "orders")
    assert [d.target for d in rig.dials()] == ["sip:a1@192.0.2.1:5062", "sip:13912345678@198.51.100.1:5060"]


def test_console_commands_hang_up_a_queued_call_and_follow_state_notices() -> None:
    rig = Rig()
    rig.configure((_queue(), [QueueMember("a1")], 1), states={"a1": AgentState.LOGGED_OUT})
    handlers = rig.distributor.command_handlers()
    handlers["agent.state"](live.AgentStateNotice("a1", "available", T0))
    assert rig.distributor.acd.agent_state("a1").value == "available"
    call = rig.caller()
    rig.distributor.enter(call, "orders")
    handlers["call.hangup"](live.Hangup(call.call_id, by="boss"))
    assert rig.hung_up == ["leg1"]
    with pytest.raises(CommandRefused):
        handlers["call.hangup"](live.Hangup("nope"))


def test_announcements_are_spoken_in_chinese() -> None:
    assert announcement(3, 90.0) == "您现在排在第3位，预计等待约2分钟，请您耐心等待。"
    assert announcement(None, 20.0) == "预计等待不到一分钟，请您耐心等待。"
    assert announcement(None, None) == "请您耐心等待。"


def test_a_caller_who_takes_the_call_back_is_called_back_once_an_agent_answers() -> None:
    rig = Rig()
    queue = _queue(callback_after=5.0)
    rig.configure((queue, [QueueMember("a1")], 1), states={"a1": AgentState.PAUSED})
    call = rig.caller()
    rig.distributor.enter(call, "orders")
    rig.advance(T0 + 5)
    assert call.did_[-1][0] == "say"  # the offer to press 1
    rig.distributor.digit(call.call_id, "1")
    assert call.did_[-1] == ("say", "好的，我们会尽快给您回电，再见。")
    rig.distributor.caller_gone(call.call_id)  # we hung up after the confirmation: the place is kept
    assert rig.dials() == []
    rig.distributor.request_state("a1", "available")
    [agent_dial] = rig.dials()
    assert agent_dial.target == "sip:a1@192.0.2.1:5062"
    rig.distributor.handle(ev.CallAnswered("out1", ANSWER_PCMU))
    customer_dial = rig.dials()[-1]
    assert customer_dial.target == "sip:13911112222@198.51.100.1:5060"  # the caller's number, by the trunk
    rig.distributor.handle(ev.CallAnswered("out2", ANSWER_PCMU))
    agent = rig.media.sessions["leg1>call1@carrier~1"]
    customer = rig.media.sessions["leg1>call1@carrier~2"]
    assert agent.forward is not None and customer.forward is not None  # bridged to each other
    rig.now = T0 + 100
    rig.distributor.handle(ev.CallEnded("out1", "remote-bye"))  # the agent hangs up: the customer goes too
    assert rig.hangups()[-1] == "out2"
    ended = [e for e in rig.events if isinstance(e, live.CallEnded)]
    assert ended[-1].reason == "agent"


def test_a_call_back_to_a_number_that_is_no_mainland_phone_is_not_dialled() -> None:
    rig = Rig()
    rig.configure((_queue(callback_after=5.0), [QueueMember("a1")], 1), states={"a1": AgentState.PAUSED})
    call = rig.caller()
    call.caller = "00881234567890"  # a spoofed From
    rig.distributor.enter(call, "orders")
    rig.advance(T0 + 5)
    rig.distributor.digit(call.call_id, "1")
    rig.distributor.caller_gone(call.call_id)
    rig.distributor.request_state("a1", "available")
    rig.distributor.handle(ev.CallAnswered("out1", ANSWER_PCMU))
    rig.run()
    assert [d.target for d in rig.dials()] == ["sip:a1@192.0.2.1:5062"]  # the agent only
    assert rig.hangups() == ["out1"]  # the agent's leg is released
    assert "acd_leg_failed" in rig.journal_events()


def test_an_agent_busy_outside_the_acd_is_not_rung() -> None:
    rig = Rig()
    rig.configure((_queue(), [QueueMember("a1"), QueueMember("a2")], 1),
                  states={"a1": AVAILABLE, "a2": AVAILABLE})
    rig.distributor.agent_in_use("a1", True)  # a flow's transfer rings a1's phone
    rig.distributor.enter(rig.caller(), "orders")
    assert [d.target for d in rig.dials()] == ["sip:a2@192.0.2.2:5062"]


def test_a_bridged_call_is_transferred_blind_to_another_queue_or_agent() -> None:
    rig = Rig()
    rig.configure((_queue(), [QueueMember("a1")], 1), (_queue(name="complaints"), [QueueMember("a2")], 1),
                  states={"a1": AVAILABLE, "a2": AVAILABLE, "a3": AVAILABLE})
    call = rig.caller()
    rig.distributor.enter(call, "orders")
    rig.distributor.handle(ev.CallAnswered("out1", ANSWER_PCMU))
    handlers = rig.distributor.command_handlers()
    with pytest.raises(CommandRefused):
        handlers["call.transfer"](live.TransferCall(call.call_id, queue="nope"))
    handlers["call.transfer"](live.TransferCall(call.call_id, queue="complaints", by="a1"))
    assert rig.hangups() == ["out1"]  # the first agent's leg
    assert rig.dials()[-1].target == "sip:a2@192.0.2.2:5062"
    assert call.did_[-1] == ("hold", "queue-moh")  # the caller waits again
    assert rig.distributor.acd.agent_state("a1").value == "available"
    rig.distributor.handle(ev.CallEnded("out1", "bye-sent"))
    assert ("agent_ended", 0.0) not in call.did_  # the transfer, not the end of the call
    rig.distributor.handle(ev.CallAnswered("out2", ANSWER_PCMU))
    assert call.did_[-1] == ("connected", "a2")
    handlers["call.transfer"](live.TransferCall(call.call_id, agent="a3"))
    assert rig.dials()[-1].target == "sip:a3@192.0.2.3:5062"
    ended = [e for e in rig.events if isinstance(e, live.CallEnded)]
    assert [e.reason for e in ended] == ["transferred", "transferred"]
    with pytest.raises(CommandRefused):  # only a connected call can be transferred
        handlers["call.transfer"](live.TransferCall(call.call_id, agent="a1"))


def test_the_calls_of_the_day_start_again_at_midnight() -> None:
    rig = Rig()
    rig.now = datetime(2026, 11, 25, 23, 59, 0, tzinfo=UTC).timestamp()
    rig.distributor = Distributor(
        send=rig.send, media=rig.media, journal=rig.journal, scheduler=rig, worker=rig,
        policy=TransferPolicy(contacts=lambda user: []), uow_factory=None,
        registered=lambda user: rig.registered.get(user, []), wallclock=lambda: rig.now,
        clock=lambda: rig.now, rng=random.Random(1), media_ip=lambda: "127.0.0.1")
    rig.configure((_queue(strategy=Strategy.FEWEST_CALLS), [QueueMember("a1")], 1), states={"a1": AVAILABLE})
    rig.distributor.enter(rig.caller(), "orders")
    rig.distributor.handle(ev.CallAnswered("out1", ANSWER_PCMU))
    rig.distributor.handle(ev.CallEnded("out1", "remote-bye"))
    assert rig.distributor.acd.calls_taken("a1") == 1
    rig.distributor.start()
    rig.advance(rig.now + 30)  # a refresh before midnight changes nothing
    assert rig.distributor.acd.calls_taken("a1") == 1
    rig.advance(rig.now + 60)  # past midnight (UTC here)
    assert rig.distributor.acd.calls_taken("a1") == 0


def test_mobiles_are_left_out_without_a_trunk() -> None:
    rig = Rig()
    rig.distributor.policy = TransferPolicy(contacts=lambda user: [])
    contacts = {"a1": (AgentContact(0, ContactKind.SIP, "a1", 0),
                       AgentContact(0, ContactKind.MOBILE, "13912345678", 1))}
    definition = QueueDefinition(1, PURPOSE, _queue(), datetime.now(UTC), (QueueMember("a1"),))
    agents = (AgentStatus(0, "a1", "a1", AVAILABLE, datetime.fromtimestamp(T0, UTC)),)
    rig.distributor.apply(AcdSnapshot((definition,), agents, contacts, {}))
    rig.distributor.enter(rig.caller(), "orders")
    assert [d.target for d in rig.dials()] == ["sip:a1@192.0.2.1:5062"]


def test_a_phone_that_never_answers_the_invite_counts_against_the_station_one_that_rang_does_not() -> None:
    rig = Rig()
    rig.configure((_queue(retry_seconds=0.0), [QueueMember("a1")], 1), states={"a1": AVAILABLE})
    rig.distributor.enter(rig.caller(), "orders")
    rig.distributor.handle(ev.CallRinging("out1", 180, None))
    rig.distributor.handle(ev.CallEnded("out1", "rejected", 480))  # rang, then gave up: the phone works
    rig.run()
    rig.distributor.handle(ev.CallRinging("out2", 180, None))
    rig.distributor.handle(ev.CallEnded("out2", "rejected", 408))
    rig.run()
    assert not rig.distributor.health.degraded(1, rig.now)
    rig.distributor.handle(ev.CallEnded("out3", "timeout", 408))  # no answer to the INVITE at all
    rig.run()
    rig.distributor.handle(ev.CallEnded("out4", "timeout", 408))
    assert rig.distributor.health.degraded(1, rig.now)


def test_the_agent_putting_the_caller_on_hold_plays_music_to_the_caller_until_resumed() -> None:
    rig = Rig()
    rig.configure((_queue(), [QueueMember("a1")], 1), states={"a1": AVAILABLE})
    call = rig.caller()
    rig.distributor.enter(call, "orders")
    rig.distributor.handle(ev.CallAnswered("out1", ANSWER_PCMU))
    hold = ANSWER_PCMU.replace(b"o=target 1 1", b"o=target 1 2").replace(b"a=sendrecv", b"a=sendonly")
    assert rig.distributor.handle(ev.Reinvited("out1", hold, True))
    answer = rig.commands[-1]
    assert isinstance(answer, ev.Answer) and answer.call == "out1"
    assert answer.sdp is not None and b"a=recvonly" in answer.sdp  # RFC 3264: the answer to sendonly
    assert call.did_[-1] == ("hold", "queue-moh")
    resume = ANSWER_PCMU.replace(b"o=target 1 1", b"o=target 1 3")
    rig.distributor.handle(ev.Reinvited("out1", resume, False))
    assert call.did_[-1] == ("connected", "a1")
    assert "acd_held" in rig.journal_events() and "acd_resumed" in rig.journal_events()


def test_queue_figures_are_published_again_while_callers_wait() -> None:
    rig = Rig()
    rig.configure((_queue(), [QueueMember("a1")], 1), states={"a1": AgentState.PAUSED})
    rig.distributor.enter(rig.caller(), "orders")
    rig.distributor.start()
    before = [e for e in rig.events if isinstance(e, live.QueueStats)]
    rig.advance(rig.now + 2)
    after = [e for e in rig.events if isinstance(e, live.QueueStats)]
    assert len(after) == len(before) + 1
    assert (after[-1].waiting, after[-1].longest_wait) == (1, 2.0)


def test_a_call_back_whose_customer_does_not_answer_is_forgotten() -> None:
    rig = Rig()
    rig.configure((_queue(callback_after=5.0), [QueueMember("a1")], 1), states={"a1": AgentState.PAUSED})
    call = rig.caller()
    rig.distributor.enter(call, "orders")
    rig.advance(T0 + 5)
    rig.distributor.digit(call.call_id, "1")
    rig.distributor.caller_gone(call.call_id)
    assert rig.distributor.waiting == 1  # the kept place
    rig.distributor.request_state("a1", "available")
    rig.distributor.handle(ev.CallAnswered("out1", ANSWER_PCMU))
    rig.distributor.handle(ev.CallEnded("out2", "rejected", 486))  # the customer is busy
    rig.run()
    assert rig.distributor.waiting == 0
    assert rig.hangups()[-1] == "out1"  # the agent is let go
    assert rig.distributor.acd.agent_state("a1").value == "available"


def test_a_whispering_queue_tells_the_agent_the_queue_before_the_caller_is_connected() -> None:
    rig = Rig()
    spoken: list[str] = []

    def speak(text: str) -> Prompt:
        spoken.append(text)
        return Prompt("tts", (b"\xff" * 160,) * 3, (b"\xd5" * 160,) * 3)

    rig.distributor.speak = speak
    rig.configure((_queue(whisper=True), [QueueMember("a1")], 1), states={"a1": AVAILABLE})
    call = rig.caller()
    rig.distributor.enter(call, "orders")
    rig.distributor.handle(ev.CallAnswered("out1", ANSWER_PCMU))
    assert spoken == ["来自orders队列的来电。"]
    assert not any(kind == "connected" for kind, _ in call.did_)  # the caller still hears music
    agent = rig.media.sessions["leg1>call1@carrier~1"]
    feed = agent.feed
    assert feed is not None
    while feed(0) is not None:
        pass
    rig.run()
    assert call.did_[-1] == ("connected", "a1")
    assert agent.forward is not None and rig.media.sessions["leg1"].forward is not None
    assert any(isinstance(e, live.CallAnswered) for e in rig.events)


def test_an_agent_hanging_up_during_the_whisper_ends_the_call_for_the_acd() -> None:
    rig = Rig()
    rig.distributor.speak = lambda text: Prompt("tts", (b"\xff" * 160,), (b"\xd5" * 160,))
    rig.configure((_queue(whisper=True), [QueueMember("a1")], 1), states={"a1": AVAILABLE})
    call = rig.caller()
    rig.distributor.enter(call, "orders")
    rig.distributor.handle(ev.CallAnswered("out1", ANSWER_PCMU))
    rig.distributor.handle(ev.CallEnded("out1", "remote-bye"))
    assert call.did_[-1][0] == "agent_ended"
    assert rig.distributor.acd.agent_state("a1").value == "available"


def test_the_agents_phone_transfers_blind_with_refer_and_hears_the_outcome_in_notifys() -> None:
    rig = Rig()
    rig.configure((_queue(), [QueueMember("a1")], 1), (_queue(name="complaints"), [QueueMember("a2")], 1),
                  states={"a1": AVAILABLE, "a2": AVAILABLE, "a3": AVAILABLE})
    call = rig.caller()
    rig.distributor.enter(call, "orders")
    rig.distributor.handle(ev.CallAnswered("out1", ANSWER_PCMU))
    seen = len(rig.commands)  # (the rig names dialled legs by counting the commands)
    assert rig.distributor.handle(ev.ReferReceived("out1", "sip:nobody@192.0.2.9", "nobody", None))
    # an unknown target: 404 in the final NOTIFY, and the call stays bridged
    assert rig.commands[seen:] == [ev.AcceptRefer("out1"), ev.NotifyRefer("out1", 404)]
    assert call.did_[-1] == ("connected", "a1")
    seen = len(rig.commands)
    rig.distributor.handle(ev.ReferReceived("out1", "sip:a3@192.0.2.9", "a3", "<sip:a1@192.0.2.1>"))
    accept, notify, hangup, dial = rig.commands[seen:]
    assert accept == ev.AcceptRefer("out1")
    assert (notify, hangup) == (ev.NotifyRefer("out1", 200), ev.Hangup("out1"))  # NOTIFY before the BYE
    assert isinstance(dial, ev.Dial) and dial.target == "sip:a3@192.0.2.3:5062"
    assert call.did_[-1] == ("hold", "queue-moh")
    assert rig.distributor.acd.agent_state("a1").value == "available"
    rig.distributor.handle(ev.CallEnded("out1", "remote-bye"))  # the phone's own BYE, or ours: the same
    assert ("agent_ended", 0.0) not in call.did_
    assert "acd_transferred" in rig.journal_events()
    rig.distributor.handle(ev.CallAnswered("out2", ANSWER_PCMU))
    assert call.did_[-1] == ("connected", "a3")
    seen = len(rig.commands)
    rig.distributor.handle(ev.ReferReceived("out2", "sip:complaints@192.0.2.9", "complaints", None))
    accepted = [ev.AcceptRefer("out2"), ev.NotifyRefer("out2", 200), ev.Hangup("out2")]
    assert rig.commands[seen:seen + 3] == accepted
    assert rig.dials()[-1].target == "sip:a2@192.0.2.2:5062"


def test_the_callers_hold_reaches_the_bridged_agent_leg_and_its_answer_comes_back() -> None:
    rig = Rig()
    rig.configure((_queue(), [QueueMember("a1")], 1), states={"a1": AVAILABLE})
    call = rig.caller()
    assert rig.distributor.bridged(call.leg) is None  # not bridged yet
    rig.distributor.enter(call, "orders")
    rig.distributor.handle(ev.CallAnswered("out1", ANSWER_PCMU))
    bridged = rig.distributor.bridged(call.leg)
    assert bridged is not None and bridged[0].sip == "out1"
    hold = CallerHold(send=rig.send, find=rig.distributor.bridged, journal=rig.journal,
                      wallclock=lambda: rig.now, call_later=rig.call_later, rng=random.Random(1),
                      media_ip=lambda: "127.0.0.1")
    rig.distributor.on_reinvite_answered = hold.answered
    held = ANSWER_PCMU.replace(b"a=sendrecv", b"a=sendonly")
    hold.reoffered(call.leg, held)
    reinvite = rig.commands[-1]
    assert isinstance(reinvite, ev.Reinvite) and reinvite.call == "out1" and b"a=sendonly" in reinvite.sdp
    answer = ANSWER_PCMU.replace(b"o=target 1 1", b"o=target 1 2").replace(b"a=sendrecv", b"a=recvonly")
    assert rig.distributor.handle(ev.ReinviteAnswered("out1", 200, answer))
    assert "hold_passed" in rig.journal_events()
    assert not any(isinstance(c, ev.Hangup) for c in rig.commands)
