import io
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from test_bridge import ANSWER_PCMU
from test_bridge import Rig as TransferRig

from waterline.rtp.g711 import PCMU, Law
from waterline.sip import events as ev
from waterline.sip.sdp import Direction, SessionDescription, build_offer, parse_sdp
from waterline.telephony.hold import MAX_ATTEMPTS, CallerHold, HoldState, held_direction
from waterline.telephony.journal import Journal
from waterline.telephony.media import Feed, MediaStats


def caller_offer(direction: str, address: str = "10.0.0.9") -> bytes:
    return (f"v=0\r\no=carrier 5 2 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 {address}\r\nt=0 0\r\n"
            f"m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na={direction}\r\n").encode()


def agent_answer(direction: str) -> bytes:
    return (f"v=0\r\no=phone 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio 41000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
            f"a={direction}\r\n").encode()


def test_direction_mapping() -> None:
    assert held_direction(caller_offer("sendonly")) is Direction.SENDONLY
    assert held_direction(caller_offer("inactive")) is Direction.INACTIVE
    assert held_direction(caller_offer("sendrecv", "0.0.0.0")) is Direction.SENDONLY  # RFC 2543 hold
    assert held_direction(caller_offer("recvonly", "0.0.0.0")) is Direction.INACTIVE
    assert held_direction(caller_offer("sendrecv")) is Direction.SENDRECV
    assert held_direction(caller_offer("recvonly")) is Direction.SENDRECV
    assert held_direction(b"garbage") is None


@dataclass
class FakeSession:
    port: int = 30002
    law: Law = PCMU
    dtmf_payload_type: int | None = 101
    forward: Callable[[bytes, float], None] | None = None
    sends: bool = True
    remote: tuple[str, int] | None = None

    def configure(self, law: Law, payload_type: int, dtmf_payload_type: int | None,
                  remote: tuple[str, int] | None, *, sends: bool = True) -> None:
        self.law, self.remote, self.sends = law, remote, sends

    def play(self, feed: Feed | None) -> None:
        pass

    def send_raw(self, datagram: bytes) -> None:
        pass

    def close(self) -> MediaStats:
        return MediaStats(0, 0, 0, 0.0, 0, 0, 0, 0, None, None, None)


@dataclass
class FakeLeg:
    sip: str | None
    session: FakeSession
    offer: SessionDescription
    version: int = 1
    hold: HoldState | None = None


@dataclass
class FakeHandle:
    delay: float
    callback: Callable[[], object]
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


@dataclass
class Rig:
    sent: list[ev.Command] = field(default_factory=list)
    timers: list[FakeHandle] = field(default_factory=list)
    stream: io.StringIO = field(default_factory=io.StringIO)

    def __post_init__(self) -> None:
        self.caller = FakeSession(port=30000)
        self.relayed: list[bytes] = []
        self.caller.forward = lambda data, at: self.relayed.append(data)
        self.leg = FakeLeg("agent-leg", FakeSession(), build_offer(local_ip="127.0.0.1", local_port=30002,
                                                                    session_id="7", session_version=1))
        self.bridged = True
        self.journal = Journal(None, self.stream)
        self.hold = CallerHold(send=self.send, find=self.find, journal=self.journal, wallclock=lambda: 1.0,
                               call_later=self.call_later, rng=random.Random(1), media_ip=lambda: "127.0.0.1")

    def send(self, command: ev.Command) -> str | None:
        self.sent.append(command)
        return None

    def find(self, caller_leg: str) -> tuple[FakeLeg, FakeSession] | None:
        return (self.leg, self.caller) if self.bridged and caller_leg == "caller" else None

    def call_later(self, delay: float, callback: Callable[[], object]) -> FakeHandle:
        handle = FakeHandle(delay, callback)
        self.timers.append(handle)
        return handle

    def offers(self) -> list[SessionDescription]:
        return [parse_sdp(c.sdp) for c in self.sent if isinstance(c, ev.Reinvite)]

    def events(self) -> list[str]:
        self.journal.flush()
        return [json.loads(line)["event"] for line in self.stream.getvalue().splitlines()]


def test_hold_and_unhold_pass_through() -> None:
    rig = Rig()
    rig.hold.reoffered("caller", caller_offer("sendonly"))
    offers = rig.offers()
    assert len(offers) == 1
    assert offers[0].media[0].direction is Direction.SENDONLY
    assert offers[0].origin.session_id == "7" and offers[0].origin.session_version == 2
    assert offers[0].media[0].formats == ["0", "101"]  # the leg's codec only: the relay's formats stay
    # the caller's audio no longer reaches the agent
    assert rig.caller.forward is None
    rig.hold.answered(rig.leg, ev.ReinviteAnswered("agent-leg", 200, agent_answer("recvonly")))
    assert rig.leg.hold is not None and rig.leg.hold.agreed is Direction.SENDONLY
    assert rig.leg.session.remote == ("127.0.0.1", 41000)

    rig.hold.reoffered("caller", caller_offer("sendrecv"))
    offers = rig.offers()
    assert len(offers) == 2
    assert offers[1].media[0].direction is Direction.SENDRECV and offers[1].origin.session_version == 3
    assert rig.caller.forward is not None
    rig.caller.forward(b"x", 0.0)
    assert rig.relayed == [b"x"]
    rig.hold.answered(rig.leg, ev.ReinviteAnswered("agent-leg", 200, agent_answer("sendrecv")))
    assert rig.leg.hold.agreed is Direction.SENDRECV
    assert rig.events() == ["caller_held", "hold_passed", "caller_resumed", "hold_passed"]


def test_inactive_hold_and_repeated_offer() -> None:
    rig = Rig()
    rig.hold.reoffered("caller", caller_offer("inactive"))
    rig.hold.reoffered("caller", caller_offer("inactive"))  # a refresh of the same hold: no new offer
    assert [o.media[0].direction for o in rig.offers()] == [Direction.INACTIVE]


def test_not_bridged_or_not_held_does_nothing() -> None:
    rig = Rig()
    rig.hold.reoffered("caller", caller_offer("sendrecv"))  # a media move, not a hold
    rig.bridged = False
    rig.hold.reoffered("caller", caller_offer("sendonly"))
    assert rig.sent == [] and rig.caller.forward is not None


def test_glare_is_retried_and_call_goes_on() -> None:
    rig = Rig()
    rig.hold.reoffered("caller", caller_offer("sendonly"))
    rig.hold.answered(rig.leg, ev.ReinviteAnswered("agent-leg", 491, None))
    assert not any(isinstance(c, ev.Hangup) for c in rig.sent)
    retry = [t for t in rig.timers if not t.cancelled and 2.1 <= t.delay <= 4.0]
    assert len(retry) == 1
    retry[0].callback()
    offers = rig.offers()
    assert len(offers) == 2 and offers[1].origin.session_version == 3
    assert offers[1].media[0].direction is Direction.SENDONLY
    assert "hold_glare" in rig.events()


def test_refusal_is_logged_and_bridge_kept() -> None:
    rig = Rig()
    rig.hold.reoffered("caller", caller_offer("sendonly"))
    rig.hold.answered(rig.leg, ev.ReinviteAnswered("agent-leg", 488, None))
    assert not any(isinstance(c, ev.Hangup) for c in rig.sent)
    assert len(rig.offers()) == 1
    assert "hold_failed" in rig.events()
    # the caller comes back: the relay resumes and the leg is asked again
    rig.hold.reoffered("caller", caller_offer("sendrecv"))
    assert rig.caller.forward is not None
    assert rig.offers()[-1].media[0].direction is Direction.SENDRECV


def test_unhold_while_hold_in_flight_follows_after_answer() -> None:
    rig = Rig()
    rig.hold.reoffered("caller", caller_offer("sendonly"))
    rig.hold.reoffered("caller", caller_offer("sendrecv"))
    assert len(rig.offers()) == 1  # one re-INVITE at a time
    rig.hold.answered(rig.leg, ev.ReinviteAnswered("agent-leg", 200, agent_answer("recvonly")))
    assert [o.media[0].direction for o in rig.offers()] == [Direction.SENDONLY, Direction.SENDRECV]


def test_lost_offer_is_retried_a_bounded_number_of_times() -> None:
    rig = Rig()
    rig.hold.reoffered("caller", caller_offer("sendonly"))
    for _ in range(MAX_ATTEMPTS + 2):
        pending = [t for t in rig.timers if not t.cancelled and t.delay > 30]
        if not pending:
            break
        handle = pending[-1]
        handle.cancelled = True
        handle.callback()
    assert len(rig.offers()) == MAX_ATTEMPTS
    assert rig.events().count("hold_failed") == MAX_ATTEMPTS


def test_a_flow_transfers_leg_is_held_and_resumed_too() -> None:
    rig = TransferRig(allowed=("13800000000",))
    assert rig.transfers.bridged("leg1") is None
    assert rig.start("13800000000")
    assert rig.transfers.bridged("leg1") is None  # ringing: nothing to hold yet
    rig.transfers.handle(ev.CallAnswered("out1", ANSWER_PCMU))
    bridged = rig.transfers.bridged("leg1")
    assert bridged is not None and bridged[0].sip == "out1"
    hold = CallerHold(send=rig.send, find=rig.transfers.bridged, journal=rig.log, wallclock=lambda: 1.0,
                      call_later=rig.later, rng=random.Random(1), media_ip=lambda: "127.0.0.1")
    rig.transfers.on_reinvite_answered = hold.answered
    hold.reoffered("leg1", caller_offer("inactive"))
    reinvite = rig.commands[-1]
    assert isinstance(reinvite, ev.Reinvite) and reinvite.call == "out1"
    assert parse_sdp(reinvite.sdp).media[0].direction is Direction.INACTIVE
    assert rig.caller.forward is None
    assert rig.transfers.handle(ev.ReinviteAnswered("out1", 200, agent_answer("inactive").replace(
        b"RTP/AVP 0 101", b"RTP/AVP 0")))
    hold.reoffered("leg1", caller_offer("sendrecv"))
    assert rig.caller.forward is not None
    resume = rig.commands[-1]
    assert isinstance(resume, ev.Reinvite) and parse_sdp(resume.sdp).media[0].direction is Direction.SENDRECV
    events = [e["event"] for e in rig.journal()]
    assert events.count("hold_passed") == 1 and "hold_failed" not in events
    assert not any(isinstance(c, ev.Hangup) for c in rig.commands)
