"""The switch: *43 answered with SDP, *41 rings, anything else 404; calls and registrations journalled."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from waterline.sip import events as ev
from waterline.sip.sdp import Direction, parse_sdp
from waterline.telephony.journal import Journal
from waterline.telephony.media import MediaEngine
from waterline.telephony.pacer import Pacer, loop_sleep_until
from waterline.telephony.prompt import PromptLibrary
from waterline.telephony.rtpport import PortPool
from waterline.telephony.services import Diagnostics, RecordingKeeper
from waterline.telephony.switch import RING_LIMIT, Switch

OFFER = (
    b"v=0\r\no=alice 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\n"
    b"m=audio 40000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
    b"a=fmtp:101 0-16\r\n"
)
HOLD_OFFER = OFFER.replace(b"o=alice 1 1", b"o=alice 1 2") + b"a=sendonly\r\n"


@dataclass
class FakeEndpoint:
    """Records the commands the switch sends."""

    commands: list[ev.Command] = field(default_factory=list)

    def send(self, command: ev.Command, now: float) -> str | None:
        self.commands.append(command)
        return None


@dataclass
class JournalLog:
    """A journal writing into memory, read back as parsed lines."""

    stream: io.StringIO = field(default_factory=io.StringIO)

    def __post_init__(self) -> None:
        self.journal = Journal(None, self.stream)


def _switch() -> tuple[Switch, FakeEndpoint, JournalLog]:
    endpoint = FakeEndpoint()
    log = JournalLog()
    switch = Switch(endpoint, log.journal, clock=lambda: 1700000000.0)
    switch.set_local_address("127.0.0.1", 5060)
    return switch, endpoint, log


def _incoming(user: str | None, call: str = "leg1", sdp: bytes | None = OFFER) -> ev.IncomingCall:
    return ev.IncomingCall(
        call=call, call_id="cid-1", from_uri="sip:13800000000@10.0.0.5", from_display=None,
        to_uri=f"sip:{user}@127.0.0.1", request_user=user, sdp_offer=sdp, source=("10.0.0.5", 5060),
        transport="udp",
    )


def _journal(log: JournalLog) -> list[dict[str, object]]:
    log.journal.flush()
    return [json.loads(line) for line in log.stream.getvalue().splitlines()]


def test_echo_extension_is_answered_with_an_sdp_answer() -> None:
    switch, endpoint, log = _switch()
    switch.handle(_incoming("*43"), 10.0)
    [command] = endpoint.commands
    assert isinstance(command, ev.Answer) and command.call == "leg1"
    assert command.sdp is not None
    answer = parse_sdp(command.sdp)
    audio = answer.media[0]
    assert audio.port != 0 and audio.payload_types == [8, 101]
    assert answer.connection_for(audio) is not None
    assert str(answer.connection_for(audio)).endswith("127.0.0.1")
    assert switch.active_calls == 1
    [entry] = _journal(log)
    assert entry["event"] == "call_answered" and entry["number"] == "*43" and entry["call_id"] == "cid-1"


def test_echo_call_ends_on_bye_and_duration_is_journalled() -> None:
    switch, endpoint, log = _switch()
    switch.handle(_incoming("*43"), 10.0)
    switch.handle(ev.CallEnded("leg1", "remote-bye"), 12.5)
    assert switch.active_calls == 0
    ended = _journal(log)[-1]
    assert ended["event"] == "call_ended" and ended["reason"] == "remote-bye" and ended["duration"] == 2.5


def test_unknown_number_gets_404() -> None:
    switch, endpoint, log = _switch()
    switch.handle(_incoming("12345"), 0.0)
    assert endpoint.commands == [ev.Reject("leg1", 404, "Not Found")]
    assert switch.active_calls == 0
    assert _journal(log)[0]["event"] == "call_rejected"


def test_missing_request_user_gets_404() -> None:
    switch, endpoint, _ = _switch()
    switch.handle(_incoming(None), 0.0)
    assert endpoint.commands == [ev.Reject("leg1", 404, "Not Found")]


def test_unacceptable_offer_gets_488() -> None:
    switch, endpoint, _ = _switch()
    video_only = (
        b"v=0\r\no=a 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\nm=video 5000 RTP/AVP 96\r\n"
    )
    switch.handle(_incoming("*43", sdp=video_only), 0.0)
    assert endpoint.commands == [ev.Reject("leg1", 488, "Not Acceptable Here")]


def test_late_offer_invite_is_answered_with_our_offer() -> None:
    switch, endpoint, _ = _switch()
    switch.handle(_incoming("*43", sdp=None), 0.0)
    [command] = endpoint.commands
    assert isinstance(command, ev.Answer) and command.sdp is not None
    assert parse_sdp(command.sdp).media[0].port != 0


def test_hold_reinvite_is_answered_recvonly_on_the_same_port_with_a_new_version() -> None:
    switch, endpoint, log = _switch()
    switch.handle(_incoming("*43"), 0.0)
    first = endpoint.commands[0]
    assert isinstance(first, ev.Answer) and first.sdp is not None
    switch.handle(ev.Reinvited("leg1", HOLD_OFFER, on_hold=True), 1.0)
    second = endpoint.commands[1]
    assert isinstance(second, ev.Answer) and second.sdp is not None
    before, after = parse_sdp(first.sdp), parse_sdp(second.sdp)
    assert after.direction_for(after.media[0]) == Direction.RECVONLY
    assert after.media[0].port == before.media[0].port
    assert after.origin.session_id == before.origin.session_id
    assert after.origin.session_version == before.origin.session_version + 1
    assert _journal(log)[-1]["event"] == "call_held"


def test_reinvite_for_unknown_call_is_refused_481() -> None:
    switch, endpoint, _ = _switch()
    switch.handle(ev.Reinvited("ghost", OFFER, on_hold=False), 0.0)
    assert endpoint.commands == [ev.Reject("ghost", 481, "Call/Transaction Does Not Exist")]


def test_refer_on_a_leg_no_acd_agent_holds_is_refused_403() -> None:
    switch, endpoint, _ = _switch()
    switch.handle(ev.ReferReceived("leg1", "sip:kefu2@127.0.0.1", "kefu2", None), 0.0)
    assert endpoint.commands == [ev.RejectRefer("leg1", 403, "Transfer Not Allowed")]


def test_ring_extension_rings_and_gives_up_after_the_limit() -> None:
    switch, endpoint, log = _switch()
    switch.handle(_incoming("*41"), 100.0)
    assert endpoint.commands == [ev.Ring("leg1")]
    switch.expire(100.0 + RING_LIMIT - 1)
    assert len(endpoint.commands) == 1
    switch.expire(100.0 + RING_LIMIT)
    assert endpoint.commands[-1] == ev.Reject("leg1", 480, "Temporarily Unavailable")
    switch.handle(ev.CallEnded("leg1", "rejected", 480), 100.0 + RING_LIMIT)
    assert switch.active_calls == 0
    assert _journal(log)[-1]["answered"] is False


def test_cancelled_ringing_call_is_journalled_as_ended() -> None:
    switch, _, log = _switch()
    switch.handle(_incoming("*41"), 0.0)
    switch.handle(ev.CallEnded("leg1", "cancelled", 487), 2.0)
    ended = _journal(log)[-1]
    assert ended["event"] == "call_ended" and ended["reason"] == "cancelled" and ended["status"] == 487


def test_registrations_are_journalled_and_refusals_only_counted() -> None:
    switch, _, log = _switch()
    switch.handle(ev.Registered("sip:1001@waterline", ("<sip:1001@10.0.0.9:5062>",), 600, ("10.0.0.9", 5062),
                                "udp"), 0.0)
    switch.handle(ev.Unregistered("sip:1001@waterline", ("10.0.0.9", 5062)), 1.0)
    for _ in range(3):
        switch.handle(ev.RequestRefused("INVITE", 403, "Forbidden", ("198.51.100.1", 5060), "udp"), 2.0)
    assert [e["event"] for e in _journal(log)] == ["registered", "unregistered"]
    assert _journal(log)[0]["aor"] == "sip:1001@waterline" and _journal(log)[0]["expires"] == 600
    assert switch.refused == 3 and switch.refused_by_status == {403: 3}


def test_two_calls_get_distinct_media_ports() -> None:
    switch, endpoint, _ = _switch()
    switch.handle(_incoming("*43", call="a"), 0.0)
    switch.handle(_incoming("*43", call="b"), 0.0)
    ports = set()
    for command in endpoint.commands:
        assert isinstance(command, ev.Answer) and command.sdp is not None
        ports.add(parse_sdp(command.sdp).media[0].port)
    assert len(ports) == 2


def test_repeated_offers_get_their_own_origin_and_the_current_local_address() -> None:
    switch, endpoint, _ = _switch()
    switch.handle(_incoming("*43", call="a"), 0.0)
    switch.handle(_incoming("*43", call="b", sdp=OFFER.replace(b"10.0.0.5", b"10.0.0.6")), 0.0)
    switch.set_local_address("192.0.2.1", 5060)  # e.g. the engine bound to a real interface
    switch.handle(_incoming("*43", call="c"), 0.0)
    answers = []
    for command in endpoint.commands:
        assert isinstance(command, ev.Answer) and command.sdp is not None
        answers.append(parse_sdp(command.sdp))
    assert len({answer.origin.session_id for answer in answers}) == 3
    assert [answer.origin.address for answer in answers] == ["127.0.0.1", "127.0.0.1", "192.0.2.1"]
    assert [str(answer.connection) for answer in answers][-1] == "IN IP4 192.0.2.1"


def test_hangup_all_ends_answered_and_ringing_calls() -> None:
    switch, endpoint, _ = _switch()
    switch.handle(_incoming("*43", call="answered"), 0.0)
    switch.handle(_incoming("*41", call="ringing"), 0.0)
    switch.handle(_incoming("404", call="refused"), 0.0)
    endpoint.commands.clear()
    assert switch.hangup_all(1.0) == 2
    assert sorted(c.call for c in endpoint.commands if isinstance(c, ev.Hangup)) == ["answered", "ringing"]


# ---------------------------------------------------------------- with a real media engine (issue 4)


def _media_switch(loop: asyncio.AbstractEventLoop, tmp_path: Path, pool: PortPool, *, bench: bool = True
                  ) -> tuple[Switch, FakeEndpoint, JournalLog, MediaEngine]:
    endpoint = FakeEndpoint()
    log = JournalLog()
    pacer = Pacer(time.monotonic, loop_sleep_until(time.monotonic, loop), lambda data, addr: None)
    media = MediaEngine(loop, pool, pacer, random.Random(5), host="127.0.0.1", clock=time.monotonic,
                        wallclock=time.time)
    keeper = RecordingKeeper(tmp_path, log.journal, time.time)
    diagnostics = Diagnostics(PromptLibrary(), keeper, hangup=lambda leg: None, clock=time.monotonic,
                              wallclock=time.time, bench=bench)
    switch = Switch(endpoint, log.journal, clock=lambda: 1700000000.0, media=media, diagnostics=diagnostics)
    switch.set_local_address("127.0.0.1", 5060)
    return switch, endpoint, log, media


def test_bench_play_answers_on_a_bound_media_port_and_journals_quality_at_the_end(tmp_path: Path) -> None:
    async def main() -> None:
        switch, endpoint, log, media = _media_switch(asyncio.get_running_loop(), tmp_path,
                                                     PortPool(31600, 31699))
        switch.handle(_incoming("bench-play"), 10.0)
        [command] = endpoint.commands
        assert isinstance(command, ev.Answer) and command.sdp is not None
        session = media.get("leg1")
        assert session is not None
        assert parse_sdp(command.sdp).media[0].port == session.port
        assert session.law.name == "PCMA" and session.dtmf_payload_type == 101
        assert session.remote == ("10.0.0.5", 40000)
        switch.handle(ev.CallEnded("leg1", "remote-bye"), 11.0)
        assert session.closed and media.get("leg1") is None and media.pool.in_use == 0
        ended = _journal(log)[-1]
        assert ended["event"] == "call_ended" and ended["service"] == "bench-play"
        assert ended["rtp_in"] == 0 and "rtp_lost" in ended and ended["prompt_s"] is None

    asyncio.run(main())


def test_no_free_rtp_port_answers_503(tmp_path: Path) -> None:
    async def main() -> None:
        switch, endpoint, log, media = _media_switch(asyncio.get_running_loop(), tmp_path,
                                                     PortPool(31700, 31701))
        switch.handle(_incoming("*43", call="a"), 0.0)
        switch.handle(_incoming("*43", call="b"), 0.0)
        assert endpoint.commands[-1] == ev.Reject("b", 503, "Service Unavailable")
        assert _journal(log)[-1]["status"] == 503
        media.close_all()

    asyncio.run(main())


def test_bench_services_are_404_without_the_flag(tmp_path: Path) -> None:
    async def main() -> None:
        switch, endpoint, _, media = _media_switch(asyncio.get_running_loop(), tmp_path,
                                                   PortPool(31800, 31899), bench=False)
        switch.handle(_incoming("bench-record"), 0.0)
        assert endpoint.commands == [ev.Reject("leg1", 404, "Not Found")]
        assert len(media) == 0

    asyncio.run(main())


def test_info_digit_is_journalled_once_with_the_call_id(tmp_path: Path) -> None:
    async def main() -> None:
        switch, _, log, media = _media_switch(asyncio.get_running_loop(), tmp_path, PortPool(31900, 31999))
        switch.handle(_incoming("*43"), 0.0)
        switch.handle(ev.DtmfReceived("leg1", "7", 100), 1.0)
        digits = [e for e in _journal(log) if e["event"] == "dtmf"]
        assert digits == [{"ts": 1700000000.0, "event": "dtmf", "call": "leg1", "call_id": "cid-1",
                           "digit": "7", "via": "info"}]
        media.close_all()

    asyncio.run(main())


def test_late_offer_answer_in_ack_configures_the_session(tmp_path: Path) -> None:
    async def main() -> None:
        switch, endpoint, _, media = _media_switch(asyncio.get_running_loop(), tmp_path,
                                                   PortPool(31600, 31699))
        switch.handle(_incoming("*43", sdp=None), 0.0)
        session = media.get("leg1")
        assert session is not None and session.remote is None
        answer = OFFER.replace(b"RTP/AVP 8 101", b"RTP/AVP 0 101").replace(b"PCMA", b"PCMU")
        switch.handle(ev.CallConfirmed("leg1", answer), 0.1)
        assert session.remote == ("10.0.0.5", 40000) and session.law.name == "PCMU"
        media.close_all()

    asyncio.run(main())


def test_close_media_finishes_the_recordings_of_calls_still_up(tmp_path: Path) -> None:
    async def main() -> None:
        switch, _, log, media = _media_switch(asyncio.get_running_loop(), tmp_path, PortPool(31600, 31699))
        switch.handle(_incoming("bench-record"), 0.0)
        assert switch.close_media() == 1
        assert len(media) == 0
        recordings = [e for e in _journal(log) if e["event"] == "recording"]
        assert len(recordings) == 1 and recordings[0]["call_id"] == "cid-1"
        assert (tmp_path / str(recordings[0]["path"])).exists()

    asyncio.run(main())


@dataclass
class FakeTransfers:
    """Outgoing legs: claims the events of ``legs`` only."""

    legs: tuple[str, ...]
    taken: list[object] = field(default_factory=list)

    def handle(self, event: object) -> bool:
        if getattr(event, "call", None) in self.legs:
            self.taken.append(event)
            return True
        return False


def test_events_of_outgoing_legs_go_to_the_transfers_and_the_rest_to_the_switch() -> None:
    switch, endpoint, _ = _switch()
    transfers = FakeTransfers(("out1",))
    switch.transfers = transfers
    switch.handle(ev.CallAnswered("out1", None), 1.0)
    switch.handle(ev.CallEnded("out1", "remote-hangup"), 2.0)
    assert [type(e) for e in transfers.taken] == [ev.CallAnswered, ev.CallEnded]
    switch.handle(_incoming("*43"), 3.0)
    assert switch.active_calls == 1 and len(transfers.taken) == 2
    assert isinstance(endpoint.commands[-1], ev.Answer)


@dataclass
class FakeAgentCalls:
    """Feature code ``*21`` and a refused premium number, as ``telephony.agentcalls`` decides them."""

    started: list[str] = field(default_factory=list)
    ended: list[str] = field(default_factory=list)
    legs: set[str] = field(default_factory=set)

    def is_feature(self, user: str, number: str, *, leg: str) -> bool:
        if number == "*21":
            self.legs.add(leg)
            return True
        return False

    def refuses(self, user: str, number: str, *, leg: str, call_id: str) -> bool:
        return number.startswith("00")

    def wants(self, leg: str) -> bool:
        return leg in self.legs

    def start(self, leg: str, session: object) -> None:
        self.started.append(leg)

    def end(self, leg: str) -> None:
        self.ended.append(leg)


def test_an_authenticated_agent_s_feature_code_is_answered_and_an_outside_number_refused() -> None:
    switch, endpoint, log = _switch()
    agent_calls = FakeAgentCalls()
    switch.agent_calls = agent_calls
    switch.handle(dataclasses.replace(_incoming("*21"), authenticated_user="kefu01"), 0.0)
    assert isinstance(endpoint.commands[-1], ev.Answer)
    switch.handle(dataclasses.replace(_incoming("00881234567890", "leg2"), authenticated_user="kefu01"), 0.0)
    refused = endpoint.commands[-1]
    assert isinstance(refused, ev.Reject) and refused.status == 403
    # the same number from a trunk (no credentials) is just unknown here
    switch.handle(_incoming("00881234567890", "leg3"), 0.0)
    unknown = endpoint.commands[-1]
    assert isinstance(unknown, ev.Reject) and unknown.status == 404
    switch.handle(_incoming("*21", "leg4"), 0.0)  # a feature code needs an agent
    assert isinstance(endpoint.commands[-1], ev.Reject)
    switch.handle(ev.CallEnded("leg1", "remote-bye"), 1.0)
    assert agent_calls.ended == ["leg1"]
