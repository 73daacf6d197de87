"""Receive bookkeeping (RFC 3550 A.1/A.3/A.8) and the sender's numbering."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from waterline.rtp.packet import RtpPacket
from waterline.rtp.stream import Arrival, ReceiveStream, SendStream

SSRC = 0x1234


def pkt(seq: int, ts: int | None = None, ssrc: int = SSRC, pt: int = 0) -> RtpPacket:
    return RtpPacket(pt, seq % 65536, (seq * 160 if ts is None else ts) % 2**32, ssrc, b"\xff" * 160)


def feed(stream: ReceiveStream, seqs: list[int], start: float = 0.0) -> list[Arrival]:
    return [stream.receive(pkt(s), start + i * 0.02) for i, s in enumerate(seqs)]


def test_probation_needs_two_sequential_packets() -> None:
    stream = ReceiveStream()
    first, second, third = feed(stream, [100, 101, 102])
    assert first == Arrival(False, 100, True, True)
    assert second == Arrival(True, 101, True, False)  # valid now; numbering starts here
    assert third == Arrival(True, 102)
    assert stream.valid
    assert (stream.received, stream.expected, stream.lost) == (2, 2, 0)


def test_probation_restarts_when_packets_are_not_in_sequence() -> None:
    stream = ReceiveStream()
    arrivals = feed(stream, [100, 200, 201])
    assert [a.valid for a in arrivals] == [False, False, True]
    assert stream.extended_highest_seq == 201


def test_min_sequential_one_accepts_the_first_packet() -> None:
    stream = ReceiveStream(min_sequential=1)
    arrival = stream.receive(pkt(7), 0.0)
    assert arrival.valid and arrival.extended_seq == 7 and arrival.new_source


def test_wrap_extends_the_sequence_number() -> None:
    stream = ReceiveStream(min_sequential=1)
    arrivals = feed(stream, [65534, 65535, 0, 1])
    assert [a.extended_seq for a in arrivals] == [65534, 65535, 65536, 65537]
    assert stream.extended_highest_seq == 65537
    assert stream.lost == 0


def test_late_packet_across_the_wrap_gets_the_previous_cycle() -> None:
    stream = ReceiveStream(min_sequential=1)
    arrivals = feed(stream, [65533, 0, 1, 65535, 65534])
    assert [a.extended_seq for a in arrivals] == [65533, 65536, 65537, 65535, 65534]
    assert all(a.valid for a in arrivals)
    assert stream.extended_highest_seq == 65537
    assert stream.lost == 0


def test_loss_and_duplicates_are_counted() -> None:
    stream = ReceiveStream(min_sequential=1)
    feed(stream, [1, 2, 4, 5, 8])
    assert (stream.expected, stream.received, stream.lost) == (8, 5, 3)
    stream.receive(pkt(8), 1.0)
    stream.receive(pkt(8), 1.0)
    assert stream.lost == 1  # duplicates count as received, as RFC 3550 A.3 says


def test_interval_loss_fraction() -> None:
    stream = ReceiveStream(min_sequential=1)
    feed(stream, [0, 1, 2, 3])
    first = stream.take_interval()
    assert (first.expected, first.lost, first.fraction) == (4, 0, 0)
    feed(stream, [4, 6, 7])  # 5 lost: 1 of 4 expected
    second = stream.take_interval()
    assert (second.expected, second.lost, second.fraction) == (4, 1, 64)
    assert stream.take_interval().expected == 0


def test_large_jump_is_believed_only_when_the_next_packet_follows() -> None:
    stream = ReceiveStream(min_sequential=1)
    feed(stream, [10, 11])
    stray = stream.receive(pkt(30000), 1.0)
    assert not stray.valid
    assert stream.receive(pkt(12), 1.02).valid  # the stray did not disturb the stream
    assert not stream.receive(pkt(40000), 1.04).valid
    resync = stream.receive(pkt(40001), 1.06)
    assert resync.valid and resync.restarted and not resync.new_source
    assert resync.extended_seq == 40001
    assert (stream.received, stream.lost) == (1, 0)


def test_ssrc_change_starts_over_with_probation() -> None:
    stream = ReceiveStream()
    feed(stream, [1, 2, 3])
    arrival = stream.receive(pkt(500, ssrc=99), 1.0)
    assert arrival.new_source and arrival.restarted and not arrival.valid
    assert stream.ssrc == 99 and stream.ssrc_changes == 1
    assert stream.receive(pkt(501, ssrc=99), 1.02).valid
    assert (stream.received, stream.expected) == (1, 1)


def test_stragglers_of_the_old_source_do_not_switch_back() -> None:
    stream = ReceiveStream(min_sequential=1)
    feed(stream, [1, 2, 3])
    stream.receive(pkt(500, ssrc=99), 1.0)
    straggler = stream.receive(pkt(4), 1.01)
    assert not straggler.valid and not straggler.new_source
    assert stream.receive(pkt(501, ssrc=99), 1.02) == Arrival(True, 501)
    assert (stream.ssrc, stream.ssrc_changes, stream.stragglers) == (99, 1, 1)
    # much later the old source is a real switch back
    back = stream.receive(pkt(10), 5.0)
    assert back.new_source and back.valid and stream.ssrc == SSRC and stream.ssrc_changes == 2


def test_jitter_is_zero_for_perfect_pacing_and_grows_with_variation() -> None:
    stream = ReceiveStream(min_sequential=1)
    for i in range(50):
        stream.receive(pkt(i), 10.0 + i * 0.020)
    assert stream.jitter == pytest.approx(0.0, abs=1e-6)
    # alternate 10 ms early / late: |D| is 160 samples between consecutive packets
    for i in range(50, 400):
        offset = 0.010 if i % 2 else -0.010
        stream.receive(pkt(i), 10.0 + i * 0.020 + offset)
    assert stream.jitter == pytest.approx(160.0, rel=0.01)


def test_jitter_survives_a_timestamp_wrap() -> None:
    stream = ReceiveStream(min_sequential=1)
    base = 2**32 - 800
    for i in range(20):
        stream.receive(pkt(i, ts=base + i * 160), i * 0.020)
    assert stream.jitter == pytest.approx(0.0, abs=1e-6)


def test_telephone_events_do_not_feed_jitter() -> None:
    stream = ReceiveStream(min_sequential=1, event_payload_types=frozenset({101}))
    feed(stream, [0, 1, 2])
    # an event keeps its start timestamp for the whole tone
    for i in range(3, 13):
        stream.receive(pkt(i, ts=3 * 160, pt=101), i * 0.020)
    assert stream.jitter == pytest.approx(0.0, abs=1e-6)
    assert stream.received == 13


def test_sender_report_is_remembered_for_lsr() -> None:
    stream = ReceiveStream()
    stream.note_sender_report(0x0123456789ABCDEF, 5.0)
    assert stream.last_sr == 0x456789AB
    assert stream.last_sr_arrival == 5.0


def test_send_stream_numbers_frames_and_marks_talkspurts() -> None:
    sender = SendStream(random.Random(1), 8)
    ssrc, seq, ts = sender.ssrc, sender.sequence, sender.timestamp
    first = sender.frame(b"\xd5" * 160)
    second = sender.frame(b"\xd5" * 160)
    assert (first.ssrc, first.sequence, first.timestamp, first.marker) == (ssrc, seq, ts, True)
    assert first.payload_type == 8
    assert (second.sequence, second.timestamp) == ((seq + 1) % 65536, (ts + 160) % 2**32)
    assert not second.marker
    sender.pause()
    sender.pause()
    third = sender.frame(b"\xd5" * 80, samples=80)
    assert third.marker and third.timestamp == (ts + 4 * 160) % 2**32
    assert sender.timestamp == (ts + 4 * 160 + 80) % 2**32
    assert (sender.packet_count, sender.octet_count) == (3, 400)
    sender.start_talkspurt()
    assert sender.frame(b"").marker


def test_send_stream_wraps_sequence_and_timestamp() -> None:
    sender = SendStream(random.Random(2), 0)
    sender.sequence, sender.timestamp = 65535, 2**32 - 100
    assert sender.frame(b"x").sequence == 65535
    last = sender.frame(b"x")
    assert (last.sequence, last.timestamp) == (0, 60)
    assert last.serialise()  # fields stay in range


def test_send_stream_is_deterministic_given_the_rng() -> None:
    a, b = SendStream(random.Random(7), 0), SendStream(random.Random(7), 0)
    assert (a.ssrc, a.sequence, a.timestamp) == (b.ssrc, b.sequence, b.timestamp)


def test_ssrc_change_gives_a_new_source() -> None:
    sender = SendStream(random.Random(3), 0)
    sender.frame(b"x")
    old = sender.ssrc
    sender.change_ssrc()
    assert sender.ssrc != old
    assert sender.packet_count == 0
    assert sender.frame(b"x").marker


def test_event_packets_share_the_sequence_space() -> None:
    sender = SendStream(random.Random(4), 0)
    audio = sender.frame(b"x")
    event = sender.event(b"\x01\x0a\x00\xa0", 101, audio.timestamp, True)
    assert event.sequence == (audio.sequence + 1) % 65536
    assert (event.payload_type, event.marker) == (101, True)
    assert (event.timestamp, event.ssrc) == (audio.timestamp, audio.ssrc)


def test_receive_and_send_round_trip() -> None:
    sender = SendStream(random.Random(5), 0)
    receiver = ReceiveStream()
    arrivals = [receiver.receive(sender.frame(b"\xff" * 160), i * 0.02) for i in range(100)]
    assert sum(a.valid for a in arrivals) == 99
    assert receiver.lost == 0 and receiver.ssrc == sender.ssrc


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 65535), st.lists(st.integers(1, 3), min_size=1, max_size=300), st.randoms())
def test_extended_seq_unwraps_loss_and_reordering(start: int, steps: list[int], rnd: random.Random) -> None:
    """Whatever the start, wraps, loss (steps > 1) and neighbour swaps: valid packets get their true index."""
    true_indexes = [start]
    for step in steps:
        true_indexes.append(true_indexes[-1] + step)
    arrival_order = list(true_indexes)
    for i in range(2, len(arrival_order) - 1):  # the first two in order: they pass probation
        if rnd.random() < 0.2:
            arrival_order[i], arrival_order[i + 1] = arrival_order[i + 1], arrival_order[i]
    stream = ReceiveStream(min_sequential=1)
    for i, index in enumerate(arrival_order):
        arrival = stream.receive(pkt(index), i * 0.02)
        assert arrival.valid
        assert arrival.extended_seq == index
    assert stream.extended_highest_seq == true_indexes[-1]
    assert stream.lost == (true_indexes[-1] - start + 1) - len(true_indexes)


def test_pack_frame_writes_the_packet_frame_would_serialise() -> None:
    packer, reference = SendStream(random.Random(9), 8), SendStream(random.Random(9), 8)
    buffer = bytearray(12)
    for size in (160, 160, 80, 160):
        payload = bytes([size & 0xFF]) * size
        if size == 80:
            packer.pause()
            reference.pause()
        datagram = packer.pack_frame(buffer, payload)
        assert datagram is buffer
        assert bytes(datagram) == reference.frame(payload, samples=size).serialise()
    assert (packer.sequence, packer.timestamp) == (reference.sequence, reference.timestamp)
    assert (packer.packet_count, packer.octet_count) == (4, 560)


def test_pack_frame_wraps_sequence_and_timestamp() -> None:
    sender = SendStream(random.Random(2), 0)
    sender.sequence, sender.timestamp = 65535, 2**32 - 100
    buffer = bytearray(12)
    sender.pack_frame(buffer, b"x" * 160)
    assert (sender.sequence, sender.timestamp) == (0, 60)


def test_receive_header_is_receive_without_a_packet() -> None:
    by_packet, by_header = ReceiveStream(), ReceiveStream()
    for i, seq in enumerate([7, 8, 9, 12, 10, 40000, 40001, 13]):
        packet = pkt(seq)
        expected = by_packet.receive(packet, i * 0.021)
        got = by_header.receive_header(packet.payload_type, packet.sequence, packet.timestamp, packet.ssrc,
                                       i * 0.021)
        assert got == expected
    assert (by_header.lost, by_header.jitter) == (by_packet.lost, by_packet.jitter)
