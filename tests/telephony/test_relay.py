"""Relay between two legs: transcoding, RFC 4733 events, rewriting, the recording tap, and real sockets."""

from __future__ import annotations

import asyncio
import random
import socket

import numpy as np

from waterline.rtp.dtmf import TelephoneEvent, parse_event
from waterline.rtp.g711 import PCMA, PCMU, alaw_to_ulaw, ulaw_to_alaw
from waterline.rtp.packet import RtpPacket, parse_packet
from waterline.rtp.rtcp import ReceiverReport, serialise_compound
from waterline.telephony.relay import LegFormat, Relay, open_udp_relay

SSRC_A = 0x11111111
SSRC_B = 0x22222222


def _tone(n: int = 160, freq: float = 440.0, offset: int = 0) -> np.ndarray:
    t = (np.arange(n) + offset) / 8000
    return (np.sin(2 * np.pi * freq * t) * 8000).astype(np.int16)


def _audio(seq: int, ts: int, payload: bytes, pt: int = 0, ssrc: int = SSRC_A, marker: bool = False) -> bytes:
    return RtpPacket(pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc, payload, marker).serialise()


ULAW_LEG = LegFormat(PCMU)


def _relay(a: LegFormat = ULAW_LEG, b: LegFormat = ULAW_LEG, *, tap: FakeRecorder | None = None,
           now: float = 0.0) -> Relay:
    return Relay(a, b, random.Random(7), tap=tap, now=now)


class FakeRecorder:
    """Records what the tap writes, per channel (None = silence frame)."""

    def __init__(self) -> None:
        self.a: list[bytes | None] = []
        self.b: list[bytes | None] = []

    def write_a(self, frame: bytes | None) -> None:
        self.a.append(frame)

    def write_b(self, frame: bytes | None) -> None:
        self.b.append(frame)


def test_same_law_passes_payload_and_rewrites_ssrc_seq_timestamp() -> None:
    relay = _relay()
    payload = PCMU.encode(_tone())
    out = [relay.from_a(_audio(1000 + i, 50_000 + 160 * i, payload), i * 0.02) for i in range(3)]
    packets = [parse_packet(o) for o in out if o is not None]
    assert len(packets) == 3
    assert all(p.ssrc == relay.to_b_stream.ssrc != SSRC_A for p in packets)
    assert all(bytes(p.payload) == payload and p.payload_type == 0 for p in packets)
    assert [(p.sequence - packets[0].sequence) & 0xFFFF for p in packets] == [0, 1, 2]
    assert [(p.timestamp - packets[0].timestamp) & 0xFFFFFFFF for p in packets] == [0, 160, 320]
    assert packets[0].marker and not packets[1].marker
    assert relay.a_to_b.forwarded == 3 and relay.a_to_b.transcoded == 0
    assert relay.to_b_stream.packet_count == 3 and relay.to_b_stream.octet_count == 480


def test_loss_and_reordering_pass_through_as_gaps() -> None:
    relay = _relay()
    payload = PCMU.silence_frame()
    seqs = [10, 11, 13, 12]
    out = [parse_packet(relay.from_a(_audio(s, s * 160, payload), 0.0) or b"") for s in seqs]
    base = out[0].sequence
    assert [(p.sequence - base) & 0xFFFF for p in out] == [0, 1, 3, 2]
    assert [(p.timestamp - out[0].timestamp) & 0xFFFFFFFF for p in out] == [0, 160, 480, 320]


def test_pcmu_caller_to_pcma_agent_is_transcoded_both_ways() -> None:
    relay = _relay(LegFormat(PCMU), LegFormat(PCMA))
    ulaw = PCMU.encode(_tone())
    to_b = parse_packet(relay.from_a(_audio(1, 0, ulaw, pt=0), 0.0) or b"")
    assert to_b.payload_type == 8
    assert bytes(to_b.payload) == ulaw_to_alaw(ulaw)
    alaw = PCMA.encode(_tone(freq=1000.0))
    to_a = parse_packet(relay.from_b(_audio(5, 0, alaw, pt=8, ssrc=SSRC_B), 0.0) or b"")
    assert to_a.payload_type == 0 and to_a.ssrc == relay.to_a_stream.ssrc
    assert bytes(to_a.payload) == alaw_to_ulaw(alaw)
    assert relay.a_to_b.transcoded == 1 and relay.b_to_a.transcoded == 1


def test_sender_using_the_other_law_than_negotiated_is_still_converted() -> None:
    # a phone that offered both laws may send PCMA on a leg answered with PCMU: go by the packet's PT
    relay = _relay(LegFormat(PCMU), LegFormat(PCMU))
    alaw = PCMA.encode(_tone())
    out = parse_packet(relay.from_a(_audio(1, 0, alaw, pt=8), 0.0) or b"")
    assert out.payload_type == 0 and bytes(out.payload) == alaw_to_ulaw(alaw)


def test_telephone_events_take_the_target_payload_type_in_the_same_sequence_space() -> None:
    relay = _relay(LegFormat(PCMA, 101), LegFormat(PCMU, 96))
    audio = PCMA.encode(_tone())
    first = parse_packet(relay.from_a(_audio(100, 8000, audio, pt=8), 0.0) or b"")
    event = TelephoneEvent(5, False, 10, 160).serialise()
    ev = parse_packet(relay.from_a(_audio(101, 8160, event, pt=101, marker=True), 0.02) or b"")
    end = TelephoneEvent(5, True, 10, 320).serialise()
    ev_end = parse_packet(relay.from_a(_audio(102, 8160, end, pt=101), 0.04) or b"")
    assert ev.payload_type == 96 and ev_end.payload_type == 96
    assert ev.sequence == (first.sequence + 1) & 0xFFFF and ev_end.sequence == (first.sequence + 2) & 0xFFFF
    assert ev.timestamp == ev_end.timestamp == (first.timestamp + 160) & 0xFFFFFFFF
    assert ev.marker
    assert parse_event(ev_end.payload) == TelephoneEvent(5, True, 10, 320)
    assert relay.a_to_b.events == 2


def test_events_dropped_when_the_other_leg_has_no_telephone_event() -> None:
    relay = _relay(LegFormat(PCMU, 101), LegFormat(PCMU, None))
    event = TelephoneEvent(1, False, 10, 160).serialise()
    assert relay.from_a(_audio(1, 0, event, pt=101), 0.0) is None
    assert relay.a_to_b.dropped_events == 1 and relay.a_to_b.forwarded == 0


def test_unknown_payload_types_rtcp_and_garbage_are_dropped() -> None:
    relay = _relay()
    assert relay.from_a(_audio(1, 0, b"\x00" * 10, pt=13), 0.0) is None  # comfort noise
    rtcp = serialise_compound([ReceiverReport(SSRC_A, ())])
    assert relay.from_a(rtcp, 0.0) is None
    assert relay.from_a(b"\x00\x01garbage", 0.0) is None
    stats = relay.a_to_b
    assert (stats.dropped_payload_type, stats.dropped_rtcp, stats.dropped_malformed) == (1, 1, 1)
    assert stats.forwarded == 0


def test_new_source_continues_the_outgoing_stream_with_a_marker() -> None:
    relay = _relay()
    frame = PCMU.silence_frame()
    out = [parse_packet(relay.from_a(_audio(500 + i, 1000 + 160 * i, frame), i * 0.02) or b"")
           for i in range(3)]
    # re-INVITE to another media server: new SSRC, unrelated sequence and timestamp, 100 ms later
    switched = parse_packet(relay.from_a(_audio(40_000, 9_999_999, frame, ssrc=0x33333333), 0.14) or b"")
    nxt = parse_packet(relay.from_a(_audio(40_001, 9_999_999 + 160, frame, ssrc=0x33333333), 0.16) or b"")
    assert switched.ssrc == out[0].ssrc
    assert switched.sequence == (out[2].sequence + 1) & 0xFFFF
    assert switched.timestamp == (out[2].timestamp + 800) & 0xFFFFFFFF  # 0.04 -> 0.14 s: 800 samples
    assert switched.marker and not nxt.marker
    assert nxt.timestamp == (switched.timestamp + 160) & 0xFFFFFFFF
    assert relay.a_to_b.source_changes == 1


def test_tap_records_both_legs_in_their_own_law_with_gaps_as_silence() -> None:
    recorder = FakeRecorder()
    relay = _relay(LegFormat(PCMU), LegFormat(PCMA), tap=recorder, now=10.0)
    frames = [PCMU.encode(_tone(offset=160 * i)) for i in range(5)]
    for i in (0, 1, 3, 4):  # packet 2 lost
        relay.from_a(_audio(i, 160 * i, frames[i]), 10.0 + 0.02 * i)
    assert recorder.a == [frames[0], frames[1], None, frames[3], frames[4]]
    # a late duplicate of an old frame cannot be written into the past
    relay.from_a(_audio(1, 160, frames[1]), 10.1)
    assert len(recorder.a) == 5 and relay.a_to_b.tap_late == 1
    # the agent's first packet arrives 60 ms after the bridge started: three frames of silence first
    alaw = PCMA.encode(_tone(freq=300.0))
    relay.from_b(_audio(77, 123_456, alaw, pt=8, ssrc=SSRC_B), 10.06)
    assert recorder.b == [None, None, None, alaw]


def test_tap_fills_the_time_of_a_dtmf_tone_with_silence() -> None:
    recorder = FakeRecorder()
    relay = _relay(tap=recorder)
    frame = PCMU.encode(_tone())
    relay.from_a(_audio(1, 0, frame), 0.0)
    for k in range(3):  # a 60 ms tone starting at ts 160: the media clock stands still in the events
        relay.from_a(_audio(2 + k, 160, TelephoneEvent(3, k == 2, 10, 160 * (k + 1)).serialise(), pt=101),
                     0.02 * (k + 1))
    relay.from_a(_audio(5, 640, frame), 0.08)
    assert recorder.a == [frame, None, None, None, frame]


def _phone() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock


async def _receive(sock: socket.socket, timeout: float = 2.0) -> tuple[bytes, tuple[str, int]]:
    loop = asyncio.get_running_loop()
    return await asyncio.wait_for(loop.sock_recvfrom(sock, 2048), timeout)


def test_loopback_sockets_bridge_latch_and_transcode() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        phone_a, phone_b = _phone(), _phone()
        # phone A is behind NAT: the SDP says one port, its packets come from another (phone_a)
        sdp_a = ("127.0.0.1", 9)
        relay = _relay(LegFormat(PCMU), LegFormat(PCMA))
        bridge, leg_a, leg_b = await open_udp_relay(relay, ("127.0.0.1", 0), sdp_a, ("127.0.0.1", 0),
                                                    phone_b.getsockname(), loop.time)
        try:
            ulaw = PCMU.encode(_tone())
            phone_a.sendto(_audio(1, 0, ulaw), leg_a.local_address)
            data, source = await _receive(phone_b)
            assert source == leg_b.local_address
            packet = parse_packet(data)
            assert packet.payload_type == 8 and bytes(packet.payload) == ulaw_to_alaw(ulaw)
            assert leg_a.latched and leg_a.remote == phone_a.getsockname()
            alaw = PCMA.encode(_tone(freq=700.0))
            phone_b.sendto(_audio(9, 0, alaw, pt=8, ssrc=SSRC_B), leg_b.local_address)
            data, source = await _receive(phone_a)
            assert source == leg_a.local_address
            assert bytes(parse_packet(data).payload) == alaw_to_ulaw(alaw)
            assert bridge.send_errors == 0
        finally:
            leg_a.close()
            leg_b.close()
            phone_a.close()
            phone_b.close()

    asyncio.run(scenario())
