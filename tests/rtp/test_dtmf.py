"""RFC 4733 telephone-events: payload, a receiver under loss and redundancy, the sender, SIPp's capture."""

from __future__ import annotations

import random
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from waterline.rtp.dtmf import (
    DIGITS,
    DigitEnded,
    DigitStarted,
    DtmfEvent,
    DtmfReceiver,
    TelephoneEvent,
    parse_event,
    send_digit,
)
from waterline.rtp.packet import RtpError, RtpPacket, parse_packet
from waterline.rtp.stream import SendStream

SIPP_CAPTURES = Path("/usr/share/sip-tester")


def test_payload_round_trip_and_bits() -> None:
    event = TelephoneEvent(11, True, 63, 1600)
    wire = event.serialise()
    assert wire == bytes([11, 0x80 | 63]) + struct.pack("!H", 1600)
    assert parse_event(wire) == event
    assert event.digit == "#"
    assert TelephoneEvent(16).digit is None  # flash
    # the reserved bit is ignored on receipt
    assert parse_event(bytes([5, 0x40 | 10, 0, 160])) == TelephoneEvent(5, False, 10, 160)


@pytest.mark.parametrize(
    "event", [TelephoneEvent(256), TelephoneEvent(1, volume=64), TelephoneEvent(1, duration=65536)])
def test_payload_out_of_range(event: TelephoneEvent) -> None:
    with pytest.raises(RtpError):
        event.serialise()


def test_short_payload_is_an_rtp_error() -> None:
    with pytest.raises(RtpError):
        parse_event(b"\x01\x0a\x00")


def ev(seq: int, ts: int, event: int, duration: int, end: bool = False, marker: bool = False) -> RtpPacket:
    return RtpPacket(101, seq, ts, 42, TelephoneEvent(event, end, 10, duration).serialise(), marker)


def run(receiver: DtmfReceiver, packets: list[RtpPacket], start: float = 0.0) -> list[DtmfEvent]:
    out: list[DtmfEvent] = []
    for i, packet in enumerate(packets):
        out.extend(receiver.receive(packet, start + i * 0.02))
    return out


def tone(seq: int, ts: int, event: int, updates: int = 4) -> list[RtpPacket]:
    """A complete tone: marker start, updates, three end packets."""
    packets = [ev(seq + i, ts, event, 160 * (i + 1), marker=i == 0) for i in range(updates)]
    packets += [ev(seq + updates + i, ts, event, 160 * updates, end=True) for i in range(3)]
    return packets


def test_digit_reported_once_despite_redundant_end_packets() -> None:
    receiver = DtmfReceiver()
    events = run(receiver, tone(1, 8000, 5))
    assert events == [DigitStarted("5", 8000, 0.0), DigitEnded("5", 8000, 0.08, 0.08, 10, True)]
    assert receiver.active is None and receiver.get_timer() is None


def test_lost_start_packet_still_starts_the_digit() -> None:
    receiver = DtmfReceiver()
    events = run(receiver, tone(1, 8000, 9)[2:])
    assert [type(e) for e in events] == [DigitStarted, DigitEnded]
    assert events[0].digit == "9"


def test_only_an_end_packet_arrives() -> None:
    receiver = DtmfReceiver()
    events = receiver.receive(ev(7, 1000, 0, 800, end=True), 1.0)
    assert events == [DigitStarted("0", 1000, 1.0), DigitEnded("0", 1000, 1.0, 0.1, 10, True)]


def test_same_digit_twice_is_two_digits() -> None:
    receiver = DtmfReceiver()
    events = run(receiver, tone(1, 8000, 1) + tone(8, 9600, 1))
    assert [(type(e).__name__, e.digit) for e in events] == [
        ("DigitStarted", "1"), ("DigitEnded", "1"), ("DigitStarted", "1"), ("DigitEnded", "1")]


def test_lost_end_packets_are_ended_by_the_next_tone() -> None:
    receiver = DtmfReceiver()
    first = tone(1, 8000, 2)[:4]  # no end packets
    events = run(receiver, first + tone(5, 9600, 3))
    assert [(type(e).__name__, e.digit) for e in events] == [
        ("DigitStarted", "2"), ("DigitEnded", "2"), ("DigitStarted", "3"), ("DigitEnded", "3")]
    ended = events[1]
    assert isinstance(ended, DigitEnded) and not ended.end_seen and ended.duration == pytest.approx(0.08)


def test_lost_end_packets_are_ended_by_the_timeout() -> None:
    receiver = DtmfReceiver(timeout=0.3)
    run(receiver, tone(1, 8000, 4)[:3])  # last packet at t=0.04
    assert receiver.active == "4"
    assert receiver.get_timer() == pytest.approx(0.34)
    assert receiver.handle_timer(0.30) == []
    events = receiver.handle_timer(0.35)
    assert len(events) == 1 and isinstance(events[0], DigitEnded)
    assert events[0].digit == "4" and not events[0].end_seen and events[0].duration == pytest.approx(0.06)
    assert receiver.handle_timer(1.0) == []
    # a straggler of the timed-out tone does not start it again
    assert receiver.receive(ev(9, 8000, 4, 640, end=True), 1.0) == []


def test_reordered_and_duplicated_packets() -> None:
    receiver = DtmfReceiver()
    packets = tone(1, 8000, 6)
    shuffled = [packets[i] for i in (0, 2, 1, 1, 3, 5, 4, 6)]
    events = run(receiver, shuffled)
    assert [type(e) for e in events] == [DigitStarted, DigitEnded]


def test_end_with_heavy_loss_only_duplicate_end_survives() -> None:
    receiver = DtmfReceiver()
    packets = tone(1, 8000, 7)
    events = run(receiver, [packets[1], packets[6]])
    assert [type(e) for e in events] == [DigitStarted, DigitEnded]
    assert isinstance(events[1], DigitEnded) and events[1].duration == pytest.approx(0.08)


def test_non_dtmf_events_are_ignored() -> None:
    receiver = DtmfReceiver()
    assert receiver.receive(ev(1, 8000, 16, 160), 0.0) == []
    assert receiver.active is None


def test_reset_forgets_finished_tones() -> None:
    receiver = DtmfReceiver()
    run(receiver, tone(1, 8000, 1))
    receiver.reset()
    assert len(run(receiver, tone(1, 8000, 1))) == 2


def test_sender_packets_follow_rfc_4733() -> None:
    stream = SendStream(random.Random(9), 0)
    start_ts, start_seq = stream.timestamp, stream.sequence
    packets = list(send_digit(stream, "#", duration=0.1, volume=12))
    assert len(packets) == 5 + 3
    assert [p.marker for p in packets] == [True] + [False] * 7
    assert {p.timestamp for p in packets} == {start_ts}
    assert [p.sequence for p in packets] == [(start_seq + i) % 65536 for i in range(8)]
    events = [parse_event(p.payload) for p in packets]
    assert [e.duration for e in events] == [160, 320, 480, 640, 800, 800, 800, 800]
    assert [e.end for e in events] == [False] * 5 + [True] * 3
    assert {(e.event, e.volume) for e in events} == {(11, 12)}
    assert all(p.payload_type == 101 and p.ssrc == stream.ssrc for p in packets)
    # media time moved on one frame per tick; the next audio frame starts a talkspurt
    after = stream.frame(b"\xff" * 160)
    assert after.timestamp == (start_ts + 8 * 160) % 2**32 and after.marker


def test_sender_with_other_ptime_and_rounding_up() -> None:
    stream = SendStream(random.Random(1), 8)
    events = [parse_event(p.payload) for p in send_digit(stream, "a", duration=0.09, ptime=0.05)]
    assert [e.duration for e in events] == [400, 800, 800, 800, 800]
    assert events[0].event == 12


def test_sender_refuses_bad_input() -> None:
    stream = SendStream(random.Random(1), 0)
    with pytest.raises(ValueError):
        list(send_digit(stream, "x"))
    with pytest.raises(ValueError):
        list(send_digit(stream, "1", duration=9.0))


def test_sender_and_receiver_agree_through_the_wire() -> None:
    stream = SendStream(random.Random(3), 0)
    receiver = DtmfReceiver()
    events: list[DtmfEvent] = []
    now = 0.0
    for digit in "159#":
        for packet in send_digit(stream, digit):
            events.extend(receiver.receive(parse_packet(packet.serialise()), now))
            now += 0.02
        for _ in range(5):
            stream.frame(b"\xff" * 160)
            now += 0.02
    assert "".join(e.digit for e in events if isinstance(e, DigitStarted)) == "159#"
    assert all(e.end_seen for e in events if isinstance(e, DigitEnded))


def _pcap_udp_payloads(path: Path) -> list[tuple[float, bytes]]:
    """UDP payloads of a little-endian Ethernet/IPv4 pcap (the format SIPp ships)."""
    data = path.read_bytes()
    assert struct.unpack_from("<I", data)[0] == 0xA1B2C3D4
    offset, out = 24, []
    while offset + 16 <= len(data):
        seconds, micros, length, _ = struct.unpack_from("<IIII", data, offset)
        frame = data[offset + 16: offset + 16 + length]
        offset += 16 + length
        ihl = (frame[14] & 0x0F) * 4
        out.append((seconds + micros / 1e6, frame[14 + ihl + 8:]))
    return out


@pytest.mark.parametrize("digit", ["0", "1", "5"])
def test_sipp_capture_gives_one_digit(digit: str) -> None:
    path = SIPP_CAPTURES / f"dtmf_2833_{digit}.pcap"
    if not path.exists():
        pytest.skip("sip-tester captures not installed")
    receiver = DtmfReceiver()
    events: list[DtmfEvent] = []
    for now, datagram in _pcap_udp_payloads(path):
        events.extend(receiver.receive(parse_packet(datagram), now))
    assert [type(e) for e in events] == [DigitStarted, DigitEnded]
    assert {e.digit for e in events} == {digit}
    assert isinstance(events[1], DigitEnded) and events[1].end_seen


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 15), min_size=1, max_size=6), st.randoms())
def test_loss_and_duplication_report_each_surviving_digit_once(digits: list[int], rnd: random.Random) -> None:
    """Drop, duplicate and locally swap packets of several tones: every digit that left any packet is
    started once and ended once, in order, and nothing is left running after the timeout."""
    packets: list[RtpPacket] = []
    for n, code in enumerate(digits):
        packets += tone(1 + 10 * n, 8000 + 1600 * n, code)
    mangled: list[RtpPacket] = []
    for packet in packets:
        roll = rnd.random()
        if roll < 0.3:
            continue
        mangled.append(packet)
        if roll > 0.85:
            mangled.append(packet)
    for i in range(len(mangled) - 1):
        if rnd.random() < 0.1 and mangled[i].timestamp == mangled[i + 1].timestamp:
            mangled[i], mangled[i + 1] = mangled[i + 1], mangled[i]
    receiver = DtmfReceiver()
    events = run(receiver, mangled)
    events += receiver.handle_timer(1e9)
    surviving = list(dict.fromkeys(p.timestamp for p in mangled))
    started = [e for e in events if isinstance(e, DigitStarted)]
    ended = [e for e in events if isinstance(e, DigitEnded)]
    assert [e.timestamp for e in started] == surviving
    assert [e.timestamp for e in ended] == surviving
    assert [e.digit for e in started] == [DIGITS[digits[(ts - 8000) // 1600]] for ts in surviving]
    # started and ended strictly alternate
    assert [type(e) for e in events] == [DigitStarted, DigitEnded] * len(surviving)
