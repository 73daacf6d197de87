"""DTMF in INFO bodies."""

from __future__ import annotations

import pytest

from waterline.sip.info import (
    DTMF_CONTENT_TYPES,
    DtmfDigit,
    InfoError,
    parse_dtmf,
    parse_dtmf_info,
    parse_dtmf_relay,
)


def test_dtmf_relay_body() -> None:
    assert parse_dtmf_relay(b"Signal=5\r\nDuration=160\r\n") == DtmfDigit("5", 160)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"Signal=*\r\nDuration=100", DtmfDigit("*", 100)),
        (b"Signal=#\nDuration=250\n", DtmfDigit("#", 250)),
        (b"signal = 10\r\nduration = 80\r\n", DtmfDigit("*", 80)),
        (b"SIGNAL=11", DtmfDigit("#", None)),
        (b"Signal=a\r\nDuration=160", DtmfDigit("A", 160)),
        (b"Signal=15", DtmfDigit("D", None)),
        (b"\r\nSignal=0\r\nDuration=0\r\nVolume=10\r\n", DtmfDigit("0", 0)),
        ("Signal=9", DtmfDigit("9", None)),
    ],
)
def test_dtmf_relay_variants(body: bytes | str, expected: DtmfDigit) -> None:
    assert parse_dtmf_relay(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"Duration=160",
        b"Signal=",
        b"Signal=5\r\nSignal=6",
        b"Signal=16",
        b"Signal=E",
        b"Signal=55",
        b"Signal=5\r\nDuration=-1",
        b"Signal=5\r\nDuration=long",
        b"Signal=5\r\nDuration=999999",
        b"Signal=5\r\nDuration=1\r\nDuration=2",
        b"Signal 5",
        b"Signal=\xff",
        b"Signal=5\r\n" + b"X=y\r\n" * 300,
        b"hello world",
    ],
)
def test_dtmf_relay_junk_raises(body: bytes) -> None:
    with pytest.raises(InfoError):
        parse_dtmf_relay(body)


@pytest.mark.parametrize(
    ("body", "digit"),
    [(b"5", "5"), (b"5\r\n", "5"), (b" # ", "#"), (b"*", "*"), (b"10", "*"), (b"11", "#"), (b"b", "B")],
)
def test_dtmf_body(body: bytes, digit: str) -> None:
    assert parse_dtmf(body) == DtmfDigit(digit, None)


@pytest.mark.parametrize("body", [b"", b"  ", b"55", b"x", b"5 6", b"Signal=5", b"\xa3\xb5"])
def test_dtmf_junk_raises(body: bytes) -> None:
    with pytest.raises(InfoError):
        parse_dtmf(body)


def test_dispatch_on_content_type() -> None:
    assert parse_dtmf_info("application/dtmf-relay", b"Signal=3\r\nDuration=120") == DtmfDigit("3", 120)
    assert parse_dtmf_info("Application/DTMF-Relay; charset=us-ascii", b"Signal=3") == DtmfDigit("3")
    assert parse_dtmf_info("application/dtmf", b"7") == DtmfDigit("7")
    with pytest.raises(InfoError, match="content type"):
        parse_dtmf_info("application/sdp", b"v=0")
    with pytest.raises(InfoError):
        parse_dtmf_info(None, b"5")
    assert DTMF_CONTENT_TYPES == {"application/dtmf-relay", "application/dtmf"}


def test_event_codes_match_rfc4733() -> None:
    assert [DtmfDigit(d).event for d in "0123456789*#ABCD"] == list(range(16))
