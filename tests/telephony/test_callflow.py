"""The flow driver on a fake leg and a fake loop: prompts and TTS, digits, requests, voicemail, hang-up,
the call's recording and its CDR."""

from __future__ import annotations

import heapq
import itertools
import wave
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from waterline.calls.flow import parse_flow
from waterline.rtp.g711 import PCMA, Law
from waterline.rtp.stream import Arrival
from waterline.telephony.callflow import BEEP, CallSummary, FlowHost, Route, caller_number
from waterline.telephony.cdr import record_of
from waterline.telephony.media import AudioConsumer, Feed
from waterline.telephony.prompt import DEFAULT_PROMPT_DIR, Prompt, PromptLibrary
from waterline.telephony.recording import RecordingIndex

START = 1_795_600_000.0
FLOW = """
name: test
start: who
nodes:
  who: {kind: identify, next: menu, on_error: menu}
  menu:
    kind: menu
    say: [{prompt: menu}]
    options: {"1": reorder, "2": vm, "0": agent}
    timeout: 5
    attempts: 2
    on_failure: bye
  reorder: {kind: reorder, next: done, on_error: bye}
  done: {kind: play, say: [{text: "您的订单号是{order.number}"}], next: bye}
  vm: {kind: voicemail, max_seconds: 3, silence_seconds: 1, next: bye}
  agent: {kind: transfer, target: "13800000000", on_failure: sorry}
  sorry: {kind: play, say: [{text: 坐席忙}], next: bye}
  bye: {kind: hangup, say: [{prompt: goodbye}]}
"""


class Timer:
    def __init__(self, at: float, callback: Callable[[], object]) -> None:
        self.at = at
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeLoop:
    """call_soon/call_later on a hand-driven clock."""

    def __init__(self) -> None:
        self.now = START
        self.soon: list[Callable[[], object]] = []
        self.timers: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()

    def call_soon(self, callback: Callable[[], object]) -> object:
        self.soon.append(callback)
        return None

    def call_later(self, delay: float, callback: Callable[[], object]) -> Timer:
        timer = Timer(self.now + delay, callback)
        heapq.heappush(self.timers, (timer.at, next(self._seq), timer))
        return timer

    def run(self) -> None:
        for _ in range(10_000):
            if not self.soon:
                return
            self.soon.pop(0)()
        raise AssertionError("call_soon loop never settles")

    def advance(self, seconds: float) -> None:
        end = self.now + seconds
        self.run()
        while self.timers and self.timers[0][0] <= end:
            at, _, timer = heapq.heappop(self.timers)
            self.now = max(self.now, at)
            if not timer.cancelled:
                timer.callback()
            self.run()
        self.now = end


class InlineWorker:
    """Runs the work at once; the answer comes back on the next loop pass, as with a thread."""

    def __init__(self, loop: FakeLoop) -> None:
        self.loop = loop
        self.jobs = 0

    def submit(self, work: Callable[[], Any], done: Callable[[Any, BaseException | None], None]) -> None:
        self.jobs += 1
        try:
            result, error = work(), None
        except Exception as exc:  # noqa: BLE001 - handed to done() like a worker thread would
            result, error = None, exc
        self.loop.call_soon(lambda: done(result, error))


@dataclass
class FakeLeg:
    law: Law = PCMA
    consumers: list[AudioConsumer] = field(default_factory=list)
    outbound_tap: Callable[[bytes], None] | None = None
    feed: Feed | None = None
    sent: int = 0

    def play(self, feed: Feed | None) -> None:
        self.feed = feed

    def drain(self, loop: FakeLoop, limit: int = 5000) -> int:
        """Send what the feed has (20 ms a frame of loop time); returns the frames sent."""
        frames = 0
        while self.feed is not None and frames < limit:
            frame = self.feed(0)
            if frame is None:
                break
            if self.outbound_tap is not None:
                self.outbound_tap(frame)
            frames += 1
            loop.now += 0.02
        self.sent += frames
        loop.run()
        return frames

    def hear(self, payload: bytes, seq: int, loop: FakeLoop | None = None) -> None:
        """One packet from the caller (20 ms of loop time pass first when ``loop`` is given)."""
        if loop is not None:
            loop.now += 0.02
        for consumer in list(self.consumers):
            consumer(memoryview(payload), Arrival(True, seq, False))


class FakeBusiness:
    def __init__(self, answers: Mapping[str, Mapping[str, object]]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, dict[str, object]]] = []

    def answer(self, kind: str, args: Mapping[str, object]) -> Mapping[str, object]:
        self.asked.append((kind, dict(args)))
        if kind not in self.answers:
            raise LookupError(kind)
        return self.answers[kind]


class Records:
    def __init__(self) -> None:
        self.opens: list[CallSummary] = []
        self.closes: list[tuple[CallSummary, int | None]] = []

    def opened(self, summary: CallSummary) -> None:
        self.opens.append(summary)

    def closed(self, summary: CallSummary, recording_id: int | None = None) -> None:
        self.closes.append((summary, recording_id))


class FakeSpeaker:
    def __init__(self) -> None:
        self.spoken: list[str] = []

    def prompt(self, text: str, name: str | None = None) -> Prompt:
        self.spoken.append(text)
        return Prompt(name or text, (bytes(160),) * 10, (bytes(160),) * 10)


@dataclass
class World:
    host: FlowHost
    loop: FakeLoop
    business: FakeBusiness
    records: Records
    speaker: FakeSpeaker
    hangups: list[str]
    stored: list[RecordingIndex]
    leg: FakeLeg

    def call(self, caller: str = "sip:13991234567@carrier.example") -> str:
        assert self.host.prepare("leg1", "call-1", "4006360888", caller) is None
        self.host.attach("leg1", self.leg)
        self.loop.run()
        return "leg1"


IDENTITY: Mapping[str, object] = {"customer_id": 7, "name": "王芳", "region_city": "西安市",
                                   "region_source": "address"}


def _world(tmp_path: Path, answers: Mapping[str, Mapping[str, object]] | None = None) -> World:
    loop = FakeLoop()
    business = FakeBusiness(answers if answers is not None else {
        "identify": IDENTITY, "reorder": {"order_id": 42, "number": "SX20261125001", "eta_text": "尽快"},
        "missed_call": {"task_id": 5},
    })
    records = Records()
    speaker = FakeSpeaker()
    hangups: list[str] = []
    stored: list[RecordingIndex] = []

    def store(index: RecordingIndex) -> int:
        stored.append(index)
        return 100 + len(stored)

    host = FlowHost(
        routes={"4006360888": Route(parse_flow(FLOW), 3, "default")},
        prompts=PromptLibrary([DEFAULT_PROMPT_DIR]),
        speaker=speaker, business=business, records=records, scheduler=loop, worker=InlineWorker(loop),
        hangup=hangups.append, data_dir=tmp_path, clock=lambda: loop.now, wallclock=lambda: loop.now,
        rng=__import__("random").Random(1), store_recording=store,
    )
    return World(host, loop, business, records, speaker, hangups, stored, FakeLeg())


def _end(world: World, leg: str = "leg1") -> CallSummary:
    world.host.end(leg)
    world.loop.run()
    [(summary, _)] = world.records.closes
    return summary


def test_caller_number_is_the_from_user() -> None:
    assert caller_number('"x" <sip:02988886666@10.0.0.1:5060>;tag=1') == "02988886666"
    assert caller_number("sip:+8613991234567@carrier;user=phone") == "+8613991234567"
    assert caller_number("tel:13991234567") == "13991234567"


def test_only_routed_dids_are_accepted(tmp_path: Path) -> None:
    world = _world(tmp_path)
    assert world.host.accepts("4006360888")
    assert world.host.accepts("+864006360888") and world.host.accepts("400-636-0888")
    assert not world.host.accepts("4006360999")
    assert not world.host.accepts("") and not world.host.accepts("*43")


def test_press_1_reorders_reads_the_number_and_hangs_up(tmp_path: Path) -> None:
    world = _world(tmp_path)
    leg = world.call()
    assert world.records.opens[0].caller == "13991234567"
    assert world.records.opens[0].flow_version == 3
    assert [kind for kind, _ in world.business.asked] == ["identify"]
    assert world.business.asked[0][1]["caller"] == "13991234567"
    assert world.leg.feed is not None  # the menu prompt plays
    world.host.digit(leg, "1")  # barge-in: the flow stops the menu
    world.loop.run()
    kinds = [kind for kind, _ in world.business.asked]
    assert kinds == ["identify", "reorder"]
    assert world.business.asked[1][1]["customer_id"] == 7
    assert world.business.asked[1][1]["call_id"] == "call-1"
    assert world.business.asked[1][1]["caller"] == "13991234567"
    assert world.speaker.spoken == ["您的订单号是SX20261125001"]
    world.leg.drain(world.loop)  # the order number
    world.leg.drain(world.loop)  # goodbye
    assert world.hangups == [leg]
    summary = _end(world, leg)
    assert summary.outcome == "order-placed"
    assert summary.order_id == 42
    assert summary.digits == "1"
    assert [step["node"] for step in summary.path][:3] == ["who", "menu", "reorder"]
    assert summary.hangup_side == "flow"
    # the whole call was recorded (stereo) and stored; the CDR got its id
    [index] = world.stored
    assert world.records.closes[0][1] == 101
    with wave.open(str(index.path)) as wav:
        assert wav.getnchannels() == 2
        assert wav.getnframes() > 8000  # goodbye alone is 4.6 s


def test_the_console_finds_a_running_call_and_its_recording_by_call_id(tmp_path: Path) -> None:
    world = _world(tmp_path)
    leg = world.call()
    call = world.host.find("call-1")
    assert call is world.host.get(leg) and call is not None
    assert call.recorder is not None and call.recorder.call_id == "call-1"  # the default flow records
    assert world.host.find("call-2") is None
    _end(world, leg)
    assert world.host.find("call-1") is None


def test_no_digit_twice_ends_with_goodbye(tmp_path: Path) -> None:
    world = _world(tmp_path)
    leg = world.call()
    for _ in range(2):
        world.leg.drain(world.loop)
        world.loop.advance(5.01)
    world.leg.drain(world.loop)  # goodbye
    assert world.hangups == [leg]
    summary = _end(world, leg)
    assert summary.digits == ""
    assert summary.outcome == "ivr-completed"


def test_caller_hanging_up_mid_menu_is_abandoned_and_timers_stop(tmp_path: Path) -> None:
    world = _world(tmp_path)
    leg = world.call()
    summary = _end(world, leg)
    assert summary.outcome == "abandoned"
    assert summary.hangup_side == "caller"
    assert world.hangups == []
    world.loop.advance(60)
    assert world.hangups == []


def test_voicemail_ends_on_silence_and_asks_for_a_missed_call_task(tmp_path: Path) -> None:
    world = _world(tmp_path)
    leg = world.call()
    world.host.digit(leg, "2")
    world.loop.run()
    assert world.leg.drain(world.loop) == len(BEEP)
    loud = PCMA.encode(__import__("numpy").full(160, 8000, dtype="<i2"))
    quiet = PCMA.silence_frame()
    seq = 0
    for frame in [loud] * 25 + [quiet] * 60:
        world.leg.hear(frame, seq, world.loop)
        seq += 1
    world.loop.run()
    kinds = [kind for kind, _ in world.business.asked]
    assert kinds == ["identify", "missed_call"]
    voicemail = world.stored[0]
    assert "voicemail" in voicemail.path.name
    assert world.business.asked[1][1]["recording_id"] == 101
    # 25 loud frames, then 1 s (50 frames) of silence ends it: 1.5 s
    assert voicemail.duration == pytest.approx(1.5, abs=0.05)
    world.leg.drain(world.loop)
    summary = _end(world, leg)
    assert summary.outcome == "voicemail"


def test_voicemail_of_a_caller_sending_nothing_ends_on_the_silence_timer(tmp_path: Path) -> None:
    world = _world(tmp_path)
    leg = world.call()
    world.host.digit(leg, "2")
    world.loop.run()
    world.leg.drain(world.loop)
    world.loop.advance(0.9)
    assert [kind for kind, _ in world.business.asked] == ["identify"]
    world.loop.advance(0.7)  # 1 s of silence is noticed within the next half-second check
    assert [kind for kind, _ in world.business.asked] == ["identify", "missed_call"]
    assert world.stored[0].duration == pytest.approx(1.0, abs=0.05)  # silence written on the time line
    assert leg


@pytest.mark.parametrize(("frames", "hash_key", "seconds"), [(100, True, 2.0), (200, False, 3.0)])
def test_voicemail_stops_on_hash_or_at_its_max_length(
    tmp_path: Path, frames: int, hash_key: bool, seconds: float
) -> None:
    world = _world(tmp_path)
    leg = world.call()
    world.host.digit(leg, "2")
    world.loop.run()
    world.leg.drain(world.loop)
    loud = PCMA.encode(__import__("numpy").full(160, 8000, dtype="<i2"))
    for seq in range(frames):
        world.leg.hear(loud, seq, world.loop)
        world.loop.advance(0)  # timers due now run, as on a real loop
    if hash_key:
        world.host.digit(leg, "#")
        world.loop.run()
    assert world.stored[0].duration == pytest.approx(seconds, abs=0.05)
    assert [kind for kind, _ in world.business.asked][-1] == "missed_call"


def test_a_transfer_is_reported_failed_and_the_flow_goes_on(tmp_path: Path) -> None:
    world = _world(tmp_path)
    leg = world.call()
    world.host.digit(leg, "0")
    world.loop.run()
    assert world.speaker.spoken == ["坐席忙"]


class FakeTransfers:
    """The engine's transfers as the flow host sees them: records what is asked, ``accept`` decides."""

    def __init__(self, accept: bool = True) -> None:
        self.accept = accept
        self.started: list[dict[str, object]] = []
        self.stopped: list[str] = []
        self.done: Callable[[bool, float], None] | None = None

    def start(self, caller_leg: str, target: str, *, caller_number: str, did: str,
              flow_allowed: frozenset[str], recorder: object, done: Callable[[bool, float], None]) -> bool:
        self.started.append({"leg": caller_leg, "target": target, "caller": caller_number, "did": did,
                             "allowed": flow_allowed, "recorded": recorder is not None})
        self.done = done
        return self.accept

    def stop(self, caller_leg: str) -> None:
        self.stopped.append(caller_leg)


def test_a_transfer_bridges_and_the_call_ends_transferred_with_its_talk_time(tmp_path: Path) -> None:
    world = _world(tmp_path)
    transfers = FakeTransfers()
    world.host.transfers = transfers
    leg = world.call()
    world.host.digit(leg, "0")
    world.loop.run()
    [asked] = transfers.started
    assert asked == {"leg": leg, "target": "13800000000", "caller": "13991234567", "did": "4006360888",
                     "allowed": frozenset({"13800000000"}), "recorded": True}
    assert world.leg.feed is None  # the menu prompt stopped: the bridge speaks now
    assert transfers.done is not None
    transfers.done(True, 12.5)  # the other side hung up after talking
    world.loop.run()
    assert world.hangups == [leg]  # the transfer node has no next: the flow ends the call
    summary = _end(world, leg)
    assert summary.outcome == "transferred"
    assert summary.talk_seconds == 12.5
    assert transfers.stopped == []  # the other leg was over already


def test_a_refused_transfer_takes_the_failure_branch(tmp_path: Path) -> None:
    world = _world(tmp_path)
    transfers = FakeTransfers(accept=False)
    world.host.transfers = transfers
    leg = world.call()
    world.host.digit(leg, "0")
    world.loop.run()
    assert world.speaker.spoken == ["坐席忙"]


def test_the_caller_hanging_up_during_a_transfer_ends_the_other_leg(tmp_path: Path) -> None:
    world = _world(tmp_path)
    transfers = FakeTransfers()
    world.host.transfers = transfers
    leg = world.call()
    world.host.digit(leg, "0")
    world.loop.run()
    summary = _end(world, leg)
    assert transfers.stopped == [leg]
    assert summary.outcome == "transferred"
    assert summary.hangup_side == "caller"


def test_a_failed_request_takes_the_error_branch(tmp_path: Path) -> None:
    world = _world(tmp_path, answers={})  # identify fails
    leg = world.call()
    assert world.leg.feed is not None  # on_error: the menu all the same
    world.host.digit(leg, "1")  # reorder fails too: goodbye
    world.loop.run()
    world.leg.drain(world.loop)
    assert world.hangups == [leg]


def test_hanging_up_during_the_voicemail_still_makes_the_task_then_closes_the_record(tmp_path: Path) -> None:
    world = _world(tmp_path)
    leg = world.call()
    world.host.digit(leg, "2")
    world.loop.run()
    world.leg.drain(world.loop)  # the beep
    loud = PCMA.encode(__import__("numpy").full(160, 8000, dtype="<i2"))
    for seq in range(40):
        world.leg.hear(loud, seq, world.loop)
    world.host.end(leg)
    world.loop.run()
    assert [kind for kind, _ in world.business.asked] == ["identify", "missed_call"]
    assert world.business.asked[1][1]["recording_id"] == 101
    [(summary, recording_id)] = world.records.closes
    assert summary.outcome == "voicemail" and summary.hangup_side == "caller"
    assert summary.voicemail_ids == (101,)
    assert recording_id == 102  # the call's own recording, stored after the message
    assert world.hangups == []


QUEUE_FLOW = """
name: q
start: q
nodes:
  q: {kind: queue, queue: orders, fallback: "13800000000", next: thanks, on_failure: sorry}
  thanks: {kind: hangup, say: [{text: 谢谢}]}
  sorry: {kind: play, say: [{text: 坐席忙}], next: bye}
  bye: {kind: hangup}
"""


class FakeQueues:
    """The engine's ACD as the flow host sees it: records the calls handed over."""

    def __init__(self, known: bool = True) -> None:
        self.known = known
        self.entered: list[tuple[Any, str]] = []
        self.digits: list[tuple[str, str]] = []
        self.gone: list[str] = []

    def knows(self, queue: str) -> bool:
        return self.known

    def enter(self, call: Any, queue: str) -> bool:
        self.entered.append((call, queue))
        return True

    def digit(self, call_id: str, digit: str) -> None:
        self.digits.append((call_id, digit))

    def caller_gone(self, call_id: str) -> None:
        self.gone.append(call_id)


def _queued(tmp_path: Path, *, known: bool = True) -> tuple[World, FakeQueues, FakeTransfers, Any]:
    world = _world(tmp_path)
    world.host.set_routes({"4006360888": Route(parse_flow(QUEUE_FLOW), 1, "q")})
    queues, transfers = FakeQueues(known), FakeTransfers()
    world.host.queues = queues
    world.host.transfers = transfers
    world.call()
    call = queues.entered[0][0] if queues.entered else None
    return world, queues, transfers, call


def test_a_queue_node_hands_the_caller_to_the_acd_which_plays_music_in_a_loop(tmp_path: Path) -> None:
    world, queues, transfers, call = _queued(tmp_path)
    assert queues.entered == [(call, "orders")] and transfers.started == []
    assert (call.call_id, call.caller, call.did) == ("call-1", "13991234567", "4006360888")
    call.queue_hold("queue-moh")
    moh = PromptLibrary([DEFAULT_PROMPT_DIR]).get("queue-moh")
    assert world.leg.drain(world.loop) == len(moh)
    assert world.leg.feed is not None  # the music starts over
    call.queue_say("您现在排在第1位，请您耐心等待。")
    world.loop.run()
    assert world.speaker.spoken[-1] == "您现在排在第1位，请您耐心等待。"
    assert world.leg.drain(world.loop) == 10  # the phrase, then back to the music
    assert world.leg.feed is not None
    world.host.digit("leg1", "1")
    assert queues.digits == [("call-1", "1")]  # a waiting caller's keys go to the ACD
    assert call.queue_context() == (("q",), "")


def test_an_agent_answering_then_hanging_up_goes_on_with_the_flow(tmp_path: Path) -> None:
    world, queues, _, call = _queued(tmp_path)
    call.queue_hold("queue-moh")
    recorder = call.queue_connected("kefu01")
    assert recorder is not None and world.leg.feed is None  # the relay speaks now
    call.queue_agent_ended(42.0, "agent kefu01: 42 s")
    world.loop.run()
    assert world.speaker.spoken[-1] == "谢谢"
    world.leg.drain(world.loop)
    assert world.hangups == ["leg1"]
    summary = _end(world)
    assert summary.outcome == "transferred" and summary.talk_seconds == 42.0
    assert "agent kefu01: 42 s" in summary.path[0]["detail"]
    assert queues.gone == []  # the ACD let go of the call already


def test_the_record_names_the_queue_the_agent_the_wait_and_the_talk_of_a_caller_who_hangs_up(
    tmp_path: Path
) -> None:
    world, _, _, call = _queued(tmp_path)
    call.queue_hold("queue-moh")
    world.loop.advance(4.0)
    call.queue_connected("kefu01")
    world.loop.advance(30.0)
    call.queue_hold("queue-moh")  # the agent holds the caller, then takes him back: still one talk
    world.loop.advance(5.0)
    call.queue_connected("kefu01")
    world.loop.advance(5.0)
    summary = _end(world)  # the caller hangs up while talking to the agent
    assert (summary.queue, summary.agent) == ("orders", "kefu01")
    assert summary.wait_seconds == 4.0 and summary.talk_seconds == 40.0
    assert record_of(summary).agent == "kefu01" and record_of(summary).wait_seconds == 4.0


def test_a_caller_who_gives_up_waiting_has_the_queue_and_the_wait_in_the_record(tmp_path: Path) -> None:
    world, _, _, call = _queued(tmp_path)
    call.queue_hold("queue-moh")
    world.loop.advance(7.5)
    summary = _end(world)
    assert (summary.queue, summary.agent) == ("orders", None)
    assert (summary.wait_seconds, summary.talk_seconds) == (7.5, 0.0)


def test_overflow_to_voicemail_takes_the_failure_branch_and_to_a_mobile_forwards(tmp_path: Path) -> None:
    world, _, transfers, call = _queued(tmp_path)
    call.queue_left(None, "queue orders: full -> voicemail")
    world.loop.run()
    assert world.speaker.spoken[-1] == "坐席忙"
    assert transfers.started == []
    world, _, transfers, call = _queued(tmp_path / "2")
    call.queue_left("13912345678", "queue orders: timeout -> mobile 13912345678")
    [asked] = transfers.started
    assert asked["target"] == "13912345678" and "13912345678" in asked["allowed"]  # ACD-configured
    assert transfers.done is not None
    transfers.done(True, 20.0)
    world.loop.run()
    assert world.speaker.spoken[-1] == "谢谢"


def test_a_caller_hanging_up_while_queued_is_handed_to_the_acd(tmp_path: Path) -> None:
    world, queues, _, call = _queued(tmp_path)
    summary = _end(world)
    assert queues.gone == ["call-1"]
    assert summary.hangup_side == "caller"


def test_an_engine_without_the_queue_forwards_to_the_fallback(tmp_path: Path) -> None:
    _, queues, transfers, _ = _queued(tmp_path, known=False)
    assert queues.entered == []
    assert [asked["target"] for asked in transfers.started] == ["13800000000"]
