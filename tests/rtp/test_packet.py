"""RTP packet parse/serialise (RFC 3550 §5.1)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from waterline.rtp.packet import HeaderExtension, RtpError, RtpPacket, is_rtcp, parse_packet

# A PCMU packet as SIPp's g711a.pcap-style captures carry it: V=2, PT 0, seq 0x1234, ts 0x10, SSRC 0xdeadbeef
PLAIN = bytes.fromhex("80001234" "00000010" "deadbeef") + b"\xff" * 160


def test_parse_plain_header_and_payload_view() -> None:
    packet = parse_packet(PLAIN)
    header = (packet.payload_type, packet.sequence, packet.timestamp, packet.ssrc)
    assert header == (0, 0x1234, 16, 0xDEADBEEF)
    assert packet.marker is False
    assert packet.csrcs == () and packet.extension is None and packet.padding == 0
    assert isinstance(packet.payload, memoryview)
    assert bytes(packet.payload) == b"\xff" * 160


def test_marker_and_payload_type_share_the_second_octet() -> None:
    data = bytes.fromhex("80e5" "0001" "00000000" "00000001")  # M=1, PT=101
    packet = parse_packet(data)
    assert packet.marker is True
    assert packet.payload_type == 101
    assert packet.payload == b""


def test_csrc_extension_and_padding_are_parsed() -> None:
    csrcs = struct.pack("!II", 7, 8)
    extension = struct.pack("!HH", 0xBEDE, 1) + b"\x10\xaa\x00\x00"
    payload = b"abc"
    padding = b"\x00\x00\x03"
    data = bytes([0x80 | 0x20 | 0x10 | 2, 8]) + struct.pack("!HII", 65535, 2**32 - 1, 42)
    packet = parse_packet(data + csrcs + extension + payload + padding)
    assert packet.csrcs == (7, 8)
    assert packet.extension == HeaderExtension(0xBEDE, b"\x10\xaa\x00\x00")
    assert bytes(packet.payload) == b"abc"
    assert packet.padding == 3
    assert (packet.sequence, packet.timestamp) == (65535, 2**32 - 1)


def test_serialise_round_trips_every_optional_part() -> None:
    packet = RtpPacket(payload_type=8, sequence=9, timestamp=160, ssrc=5, payload=b"\xd5" * 160, marker=True,
                       csrcs=(1, 2, 3), extension=HeaderExtension(0x1000, b"12345678"), padding=4)
    wire = packet.serialise()
    assert len(wire) == 12 + 12 + 4 + 8 + 160 + 4
    assert wire[-1] == 4
    again = parse_packet(wire)
    extension = HeaderExtension(0x1000, b"12345678")
    assert again == RtpPacket(8, 9, 160, 5, b"\xd5" * 160, True, (1, 2, 3), extension, 4)


def test_serialise_plain_is_header_plus_payload() -> None:
    packet = parse_packet(PLAIN)
    assert packet.serialise() == PLAIN


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x80\x00\x00",
        bytes.fromhex("40001234000000100000000a"),  # version 1
        bytes.fromhex("00001234000000100000000a"),  # version 0
        bytes.fromhex("81001234000000100000000a"),  # CC=1, no CSRC
        bytes.fromhex("90001234000000100000000a"),  # X=1, no extension header
        bytes.fromhex("90001234000000100000000a" "00000002" "00000000"),  # extension claims 2 words, has 1
        bytes.fromhex("a0001234000000100000000a" "00"),  # padding count 0
        bytes.fromhex("a0001234000000100000000a" "0005"),  # padding longer than the packet body
    ],
)
def test_malformed_packets_raise_rtp_error(data: bytes) -> None:
    with pytest.raises(RtpError):
        parse_packet(data)


@pytest.mark.parametrize(
    "packet",
    [
        RtpPacket(128, 0, 0, 0),
        RtpPacket(0, 65536, 0, 0),
        RtpPacket(0, 0, 2**32, 0),
        RtpPacket(0, 0, 0, -1),
        RtpPacket(0, 0, 0, 0, csrcs=tuple(range(16))),
        RtpPacket(0, 0, 0, 0, padding=256),
    ],
)
def test_serialise_refuses_out_of_range_fields(packet: RtpPacket) -> None:
    with pytest.raises(RtpError):
        packet.serialise()


def test_header_extension_must_be_whole_words() -> None:
    with pytest.raises(RtpError):
        HeaderExtension(1, b"abc")


def test_is_rtcp_tells_muxed_rtcp_from_rtp() -> None:
    assert is_rtcp(bytes.fromhex("80c8000c"))  # SR
    assert is_rtcp(bytes.fromhex("81c90007"))  # RR
    assert not is_rtcp(PLAIN)
    assert not is_rtcp(bytes.fromhex("80e5"))  # PT 101 with marker: 0xe5 = 229 is outside 192-223
    assert not is_rtcp(b"\x80")


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=120))
def test_fuzz_only_rtp_error_escapes(data: bytes) -> None:
    try:
        packet = parse_packet(data)
    except RtpError:
        return
    assert parse_packet(packet.serialise()) == packet


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 127), st.integers(0, 65535), st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1),
    st.binary(max_size=64), st.booleans(), st.lists(st.integers(0, 2**32 - 1), max_size=15),
    st.one_of(st.none(), st.tuples(st.integers(0, 65535), st.binary(max_size=12))), st.integers(0, 40),
)
def test_fuzz_round_trip_of_valid_packets(
    pt: int, seq: int, ts: int, ssrc: int, payload: bytes, marker: bool, csrcs: list[int],
    ext: tuple[int, bytes] | None, padding: int,
) -> None:
    extension = None if ext is None else HeaderExtension(ext[0], ext[1] + bytes(-len(ext[1]) % 4))
    packet = RtpPacket(pt, seq, ts, ssrc, payload, marker, tuple(csrcs), extension, padding)
    assert parse_packet(packet.serialise()) == packet


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=12, max_size=80), st.integers(0, 79), st.integers(0, 255))
def test_fuzz_mutated_valid_packet(tail: bytes, position: int, value: int) -> None:
    data = bytearray(b"\x80" + tail[1:])
    data[position % len(data)] = value
    try:
        parse_packet(bytes(data))
    except RtpError:
        pass
