"""RTCP compound parse/build and report blocks from receive statistics (RFC 3550 §6, A.3)."""

from __future__ import annotations

import random
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from waterline.rtp.packet import RtpError, RtpPacket
from waterline.rtp.rtcp import (
    Bye,
    OtherRtcp,
    ReceiverReport,
    ReportBlock,
    SdesChunk,
    SenderReport,
    SourceDescription,
    ntp_timestamp,
    parse_compound,
    receiver_report,
    report_block,
    round_trip_time,
    sender_report,
    serialise_compound,
)
from waterline.rtp.stream import ReceiveStream, SendStream


def hand_made_sr_sdes() -> bytes:
    """An SR with one block plus SDES CNAME, laid out by hand from the RFC figures."""
    sr = struct.pack("!BBH", 0x81, 200, 12)
    sr += struct.pack("!IQIII", 0x11111111, 0xE1234567_80000000, 160, 50, 8000)
    sr += struct.pack("!II", 0x22222222, (25 << 24) | 0xFFFFFE)  # fraction 25, cumulative -2
    sr += struct.pack("!IIII", 70000, 37, 0xAABBCCDD, 65536)
    cname = b"bob@10.0.0.1"
    chunk = struct.pack("!I", 0x11111111) + bytes((1, len(cname))) + cname
    chunk += bytes(4 - len(chunk) % 4)
    sdes = struct.pack("!BBH", 0x81, 202, len(chunk) // 4) + chunk
    return sr + sdes


def test_parse_hand_made_compound() -> None:
    sr, sdes = parse_compound(hand_made_sr_sdes())
    assert sr == SenderReport(0x11111111, 0xE1234567_80000000, 160, 50, 8000,
                              (ReportBlock(0x22222222, 25, -2, 70000, 37, 0xAABBCCDD, 65536),))
    assert isinstance(sdes, SourceDescription)
    assert sdes.chunks[0].ssrc == 0x11111111
    assert sdes.chunks[0].cname == "bob@10.0.0.1"


def test_build_matches_the_hand_made_bytes() -> None:
    packets = parse_compound(hand_made_sr_sdes())
    assert serialise_compound(packets) == hand_made_sr_sdes()


def test_round_trip_of_every_type() -> None:
    block = ReportBlock(7, 255, 0x7FFFFF, 2**32 - 1, 12345, 1, 2)
    packets = [
        ReceiverReport(1, (block, ReportBlock(8, 0, -0x800000, 0, 0))),
        SourceDescription((SdesChunk(1, ((1, b"a@b"), (6, b"waterline"))), SdesChunk(2, ()))),
        Bye((1, 2), "挂断"),
        Bye((3,)),
        OtherRtcp(204, 1, b"namedata"),
    ]
    assert parse_compound(serialise_compound(packets)) == packets


def test_padding_of_the_last_packet_is_removed() -> None:
    bye = Bye((5,)).serialise()
    padded = bytes((bye[0] | 0x20,)) + bye[1:2] + struct.pack("!H", 2) + bye[4:] + b"\x00\x00\x00\x04"
    assert parse_compound(padded) == [Bye((5,))]


def test_cumulative_loss_is_clamped_to_24_bits() -> None:
    assert len(ReportBlock(1, 0, 10**9, 0, 0).serialise()) == 24
    wire = ReceiverReport(9, (ReportBlock(1, 0, 10**9, 0, 0), ReportBlock(2, 0, -(10**9), 0, 0))).serialise()
    (report,) = parse_compound(wire)
    clamped = (ReportBlock(1, 0, 0x7FFFFF, 0, 0), ReportBlock(2, 0, -0x800000, 0, 0))
    assert report == ReceiverReport(9, clamped)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x80\xc8",
        struct.pack("!BBH", 0x40 | 0, 201, 1) + b"\x00" * 4,  # version 1
        struct.pack("!BBH", 0x80, 201, 5) + b"\x00" * 4,  # length beyond the datagram
        struct.pack("!BBH", 0x81, 201, 1) + b"\x00" * 4,  # one block announced, none present
        struct.pack("!BBH", 0x80, 200, 1) + b"\x00" * 4,  # sender info truncated
        struct.pack("!BBH", 0x81, 202, 1) + b"\x00\x00\x00\x01",  # SDES chunk without terminator
        struct.pack("!BBH", 0x81, 202, 2) + b"\x00\x00\x00\x01\x01\x09ab",  # SDES item overruns
        struct.pack("!BBH", 0x82, 203, 1) + b"\x00" * 4,  # BYE lists 2, has 1
        struct.pack("!BBH", 0x81, 203, 2) + b"\x00" * 4 + b"\x09abc",  # BYE reason overruns
        struct.pack("!BBH", 0xA0, 201, 1) + b"\x00" * 4,  # padding count 0
        struct.pack("!BBH", 0x80, 201, 1) + b"\x00" * 4 + b"\x80",  # trailing octet
    ],
)
def test_malformed_rtcp_raises_rtp_error(data: bytes) -> None:
    with pytest.raises(RtpError):
        parse_compound(data)


def test_build_refuses_out_of_range() -> None:
    with pytest.raises(RtpError):
        ReportBlock(2**32, 0, 0, 0, 0).serialise()
    with pytest.raises(RtpError):
        ReceiverReport(1, tuple(ReportBlock(i, 0, 0, 0, 0) for i in range(32))).serialise()
    with pytest.raises(RtpError):
        SourceDescription((SdesChunk(1, ((1, b"x" * 256),)),)).serialise()


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=120))
def test_fuzz_only_rtp_error_escapes(data: bytes) -> None:
    try:
        parse_compound(data)
    except RtpError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 119), st.integers(0, 255))
def test_fuzz_mutated_compound(position: int, value: int) -> None:
    data = bytearray(hand_made_sr_sdes())
    data[position % len(data)] = value
    try:
        parse_compound(bytes(data))
    except RtpError:
        pass


def test_ntp_timestamp() -> None:
    assert ntp_timestamp(0.0) == 2_208_988_800 << 32
    assert ntp_timestamp(1.5) == ((2_208_988_800 + 1) << 32) | (1 << 31)


def _received(seqs: list[int]) -> ReceiveStream:
    stream = ReceiveStream(min_sequential=1)
    for i, seq in enumerate(seqs):
        stream.receive(RtpPacket(0, seq, seq * 160, 0xCAFE, b""), i * 0.02)
    return stream


def test_report_block_from_stream_statistics() -> None:
    stream = _received([65530, 65531, 65533, 65534, 65535, 0, 1, 3])  # 65532 and 2 lost, wrapped
    stream.note_sender_report(ntp_timestamp(1000.0), now=50.0)
    block = report_block(stream, now=50.25)
    assert block is not None
    assert block.ssrc == 0xCAFE
    assert block.cumulative_lost == 2
    assert block.fraction_lost == (2 << 8) // 10
    assert block.highest_seq == 65536 + 3
    assert block.lsr == (ntp_timestamp(1000.0) >> 16) & 0xFFFFFFFF
    assert block.dlsr == 65536 // 4
    # the next block covers only the new interval
    again = report_block(stream, now=51.0)
    assert again is not None and again.fraction_lost == 0 and again.cumulative_lost == 2


def test_report_block_jitter_is_in_timestamp_units() -> None:
    stream = ReceiveStream(min_sequential=1)
    for i in range(300):
        stream.receive(RtpPacket(0, i, i * 160, 1, b""), i * 0.02 + (0.01 if i % 2 else 0.0))
    block = report_block(stream, 10.0)
    assert block is not None and 75 <= block.jitter <= 80


def test_no_report_block_before_the_source_is_valid() -> None:
    assert report_block(ReceiveStream(), 0.0) is None
    stream = ReceiveStream()
    stream.receive(RtpPacket(0, 1, 0, 1, b""), 0.0)
    assert report_block(stream, 0.0) is None


def test_sender_report_from_send_stream_and_round_trip_time() -> None:
    sender = SendStream(random.Random(1), 0)
    for _ in range(10):
        sender.frame(b"\xff" * 160)
    sr = sender_report(sender, wallclock=1_700_000_000.0)
    assert (sr.ssrc, sr.rtp_timestamp, sr.packet_count, sr.octet_count) == (
        sender.ssrc, sender.timestamp, 10, 1600)
    # the peer receives our SR, holds it 0.5 s, reports; its report reaches us 0.7 s after we sent the SR
    peer = ReceiveStream(min_sequential=1)
    peer.receive(RtpPacket(0, 1, 0, sender.ssrc, b""), 0.0)
    (parsed,) = parse_compound(sr.serialise())
    assert isinstance(parsed, SenderReport)
    peer.note_sender_report(parsed.ntp_timestamp, now=20.1)
    block = report_block(peer, now=20.6)
    assert block is not None
    rr = receiver_report(0x5150, [block])
    (back,) = parse_compound(rr.serialise())
    assert isinstance(back, ReceiverReport)
    rtt = round_trip_time(back.reports[0], arrival_wallclock=1_700_000_000.7)
    assert rtt == pytest.approx(0.2, abs=1e-4)


def test_round_trip_time_needs_an_lsr() -> None:
    assert round_trip_time(ReportBlock(1, 0, 0, 0, 0), 1_700_000_000.0) is None
