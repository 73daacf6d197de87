import io
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from waterline.config import Settings
from waterline.rtp.g711 import PCMA, PCMU, Law
from waterline.rtp.packet import RtpPacket, parse_packet
from waterline.sip import events as ev
from waterline.telephony.bridge import Transfers, policy_from_settings
from waterline.telephony.journal import Journal
from waterline.telephony.media import Feed, MediaStats
from waterline.telephony.transfer import TransferPolicy, Trunk

ANSWER_PCMU = (
    b"v=0\r\no=target 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
    b"a=sendrecv\r\n"
)


@dataclass
class FakeSession:
    port: int
    law: Law = PCMA
    dtmf_payload_type: int | None = 101
    forward: Callable[[bytes, float], None] | None = None
    remote: tuple[str, int] | None = None
    sent: list[bytes] = field(default_factory=list)
    feed: Feed | None = None
    closed: bool = False

    def configure(self, law: Law, payload_type: int, dtmf_payload_type: int | None,
                  remote: tuple[str, int] | None, *, sends: bool = True) -> None:
        self.law = law
        self.dtmf_payload_type = dtmf_payload_type
        self.remote = remote

    def play(self, feed: Feed | None) -> None:
        self.feed = feed

    def send_raw(self, datagram: bytes) -> None:
        self.sent.append(datagram)

    def close(self) -> MediaStats:
        self.closed = True
        return MediaStats(len(self.sent), 0, 0, 0.0, 0, 0, 0, 0, None, None, None)


@dataclass
class FakeMedia:
    sessions: dict[str, FakeSession] = field(default_factory=dict)
    ports: int = 30000

    def open(self, call: str) -> FakeSession | None:
        self.ports += 2
        session = self.sessions[call] = FakeSession(self.ports)
        return session

    def get(self, call: str) -> FakeSession | None:
        return self.sessions.get(call)


class Timer:
    def __init__(self, delay: float, callback: Callable[[], object]) -> None:
        self.delay = delay
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


@dataclass
class FakeRecorder:
    a: list[bytes | None] = field(default_factory=list)
    b: list[bytes | None] = field(default_factory=list)

    def write_a(self, frame: bytes | None) -> None:
        self.a.append(frame)

    def write_b(self, frame: bytes | None) -> None:
        self.b.append(frame)

    def align(self) -> None:
        while len(self.a) < len(self.b):
            self.a.append(None)
        while len(self.b) < len(self.a):
            self.b.append(None)


class Rig:
    def __init__(self, *, registered: dict[str, list[str]] | None = None,
                 allowed: tuple[str, ...] = ()) -> None:
        self.commands: list[ev.Command] = []
        self.media = FakeMedia()
        self.caller = FakeSession(20000)
        self.media.sessions["leg1"] = self.caller
        self.timers: list[Timer] = []
        self.stream = io.StringIO()
        self.log = Journal(None, self.stream)
        self.done: list[tuple[bool, float]] = []
        self.now = 100.0
        contacts = registered or {}
        self.transfers = Transfers(
            send=self.send, media=self.media, journal=self.log, call_later=self.later,
            clock=lambda: self.now, wallclock=lambda: 1_795_600_000.0, rng=random.Random(1),
            media_ip=lambda: "127.0.0.1",
            policy=TransferPolicy(contacts=lambda user: contacts.get(user, []), trunk=Trunk("198.51.100.1"),
                                  allowed=allowed),
        )

    def send(self, command: ev.Command) -> str | None:
        self.commands.append(command)
        return "out1" if isinstance(command, ev.Dial) else None

    def later(self, delay: float, callback: Callable[[], object]) -> Timer:
        timer = Timer(delay, callback)
        self.timers.append(timer)
        return timer

    def start(self, target: str, recorder: FakeRecorder | None = None) -> bool:
        return self.transfers.start("leg1", target, caller_number="13911112222", did="4006360888",
                                    flow_allowed=frozenset(), recorder=recorder,
                                    done=lambda ok, talk: self.done.append((ok, talk)))

    def journal(self) -> list[dict[str, object]]:
        self.log.flush()
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]


def _rtp(pt: int, seq: int, payload: bytes) -> bytes:
    packet = RtpPacket(payload_type=pt, sequence=seq, timestamp=seq * 160, ssrc=1234, payload=payload)
    return packet.serialise()


def test_refused_target_dials_nothing_and_is_journaled() -> None:
    rig = Rig(allowed=("13800000000",))
    assert rig.start("00881234567890") is False
    assert rig.commands == []
    [entry] = rig.journal()
    assert (entry["event"], entry["target"], entry["reason"]) == ("transfer_refused", "00881234567890",
                                                                   "not-allowed")
    assert rig.transfers.refused == 1


def test_registered_agent_is_dialled_with_an_offer_from_a_new_session() -> None:
    rig = Rig(registered={"1001": ["sip:1001@192.0.2.7:5062"]})
    assert rig.start("1001") is True
    [dial] = rig.commands
    assert isinstance(dial, ev.Dial)
    assert (dial.target, dial.dest, dial.from_uri) == ("sip:1001@192.0.2.7:5062", ("192.0.2.7", 5062),
                                                       "sip:4006360888@127.0.0.1")
    assert dial.sdp is not None and b"m=audio 30002 RTP/AVP" in dial.sdp
    assert [e["event"] for e in rig.journal()] == ["transfer_dialled"]
    assert rig.start("1001") is False  # one transfer per call at a time


def test_answer_bridges_both_legs_with_transcoding_and_records_both_sides() -> None:
    rig = Rig(allowed=("13800000000",))
    recorder = FakeRecorder(a=[None] * 5, b=[None] * 3)  # the prompts' time before the transfer
    assert rig.start("13800000000", recorder)
    assert rig.transfers.handle(ev.CallRinging("out1", 180, None))
    assert rig.transfers.handle(ev.CallAnswered("out1", ANSWER_PCMU))
    other = rig.media.sessions["leg1>out"]
    assert other.law is PCMU and other.remote == ("127.0.0.1", 40000)
    assert rig.caller.forward is not None and other.forward is not None
    assert len(recorder.a) == len(recorder.b) == 5  # aligned at the bridge's start
    loud = PCMA.encode(np.full(160, 8000, dtype="<i2"))
    rig.caller.forward(_rtp(8, 1, loud), 100.0)
    [to_other] = other.sent
    packet = parse_packet(to_other)
    assert packet.payload_type == 0  # PCMA -> PCMU for the other leg
    assert abs(int(PCMU.decode(packet.payload).mean()) - 8000) < 600
    other.forward(_rtp(0, 1, PCMU.encode(np.full(160, -4000, dtype="<i2"))), 100.02)
    [to_caller] = rig.caller.sent
    assert parse_packet(to_caller).payload_type == 8
    # the recording's right channel is in the caller's law whatever the other leg speaks
    assert recorder.b[-1] is not None and abs(int(PCMA.decode(recorder.b[-1]).mean()) + 4000) < 400
    assert recorder.a[-1] is not None
    rig.now = 104.5
    assert rig.transfers.handle(ev.CallEnded("out1", "remote-hangup"))
    assert rig.done == [(True, 4.5)]
    assert rig.caller.forward is None and other.closed
    ended = rig.journal()[-1]
    assert ended["event"] == "transfer_ended" and ended["to_other"] == 1 and ended["to_caller"] == 1
    assert not rig.transfers.handle(ev.CallEnded("out1", "remote-hangup"))  # forgotten


def test_failed_leg_reports_not_ok() -> None:
    rig = Rig(allowed=("13800000000",))
    rig.start("13800000000")
    rig.transfers.handle(ev.CallEnded("out1", "rejected", 486))
    assert rig.done == [(False, 0.0)]
    assert rig.media.sessions["leg1>out"].closed


def test_ring_timeout_cancels_and_the_487_fails_the_transfer() -> None:
    rig = Rig(allowed=("13800000000",))
    rig.start("13800000000")
    [timer] = rig.timers
    assert timer.delay == 30.0
    timer.callback()
    assert rig.commands[-1] == ev.Hangup("out1")
    rig.transfers.handle(ev.CallEnded("out1", "cancelled", 487))
    assert rig.done == [(False, 0.0)]
    assert "transfer_timeout" in [e["event"] for e in rig.journal()]


def test_answer_stops_the_ring_timer() -> None:
    rig = Rig(allowed=("13800000000",))
    rig.start("13800000000")
    rig.transfers.handle(ev.CallAnswered("out1", ANSWER_PCMU))
    assert rig.timers[0].cancelled


def test_caller_hangup_ends_the_other_leg() -> None:
    rig = Rig(allowed=("13800000000",))
    rig.start("13800000000")
    rig.transfers.handle(ev.CallAnswered("out1", ANSWER_PCMU))
    rig.transfers.stop("leg1")
    assert rig.commands[-1] == ev.Hangup("out1")
    assert rig.caller.forward is None


def test_unusable_answer_hangs_up_the_other_leg() -> None:
    rig = Rig(allowed=("13800000000",))
    rig.start("13800000000")
    rig.transfers.handle(ev.CallAnswered("out1", b"garbage"))
    assert rig.commands[-1] == ev.Hangup("out1")
    assert rig.caller.forward is None


def test_events_of_other_legs_are_left_alone() -> None:
    rig = Rig()
    assert not rig.transfers.handle(ev.CallEnded("leg1", "remote-hangup"))


def test_policy_from_settings() -> None:
    settings = Settings.model_validate({"sip": {"trunk": "203.0.113.5:5080", "trunk_username": "u",
                                                "trunk_password": "p", "transfer_allow": "13800000000"}})
    policy = policy_from_settings(settings, lambda user: [])
    assert policy.trunk == Trunk("203.0.113.5", 5080, "u", "p", "did")
    assert policy.allowed == frozenset({"13800000000"})


def test_an_agent_rung_by_a_transfer_is_busy_for_the_acd_until_the_leg_ends() -> None:
    rig = Rig(registered={"1001": ["sip:1001@192.0.2.7:5062"]})
    busy: list[tuple[str, bool]] = []
    rig.transfers.agent_busy = lambda agent, flag: busy.append((agent, flag))
    assert rig.start("1001")
    assert busy == [("1001", True)]
    rig.transfers.handle(ev.CallEnded("out1", "rejected", 486))
    assert busy == [("1001", True), ("1001", False)]


def test_a_refer_from_a_transferred_leg_is_refused_at_once() -> None:
    rig = Rig(allowed=("13800000000",))
    rig.start("13800000000")
    rig.transfers.handle(ev.CallAnswered("out1", ANSWER_PCMU))
    assert rig.transfers.handle(ev.ReferReceived("out1", "sip:kefu2@127.0.0.1", "kefu2", None))
    assert rig.commands[-1] == ev.RejectRefer("out1", 403)
