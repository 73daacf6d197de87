"""SDP parsing, serialisation and audio offer/answer."""

from __future__ import annotations

from typing import Any

import pytest

from waterline.sip.sdp import (
    AnswerCache,
    Direction,
    Negotiated,
    SdpError,
    SdpNegotiationError,
    SessionDescription,
    accept_answer,
    answer_offer,
    build_offer,
    is_on_hold,
    parse_sdp,
)


def sdp(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode()


# A typical carrier offer: PCMA preferred, PCMU, telephone-event on 101, ptime 20.
CARRIER_OFFER = sdp(
    "v=0",
    "o=HuaweiSoftX3000 1073741824 1073741825 IN IP4 10.20.30.40",
    "s=SBC call",
    "c=IN IP4 10.20.30.41",
    "t=0 0",
    "m=audio 30000 RTP/AVP 8 0 18 101",
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:18 G729/8000",
    "a=fmtp:18 annexb=no",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-15",
    "a=ptime:20",
    "a=sendrecv",
)


def answer(offer: bytes, **kwargs: Any) -> tuple[SessionDescription, Negotiated]:
    return answer_offer(
        parse_sdp(offer), local_ip="127.0.0.1", local_port=40000, session_id="7", session_version=1, **kwargs
    )


# --- parsing --------------------------------------------------------------------------------------


def test_parse_carrier_offer() -> None:
    session = parse_sdp(CARRIER_OFFER)
    assert session.origin.username == "HuaweiSoftX3000"
    assert session.origin.session_id == "1073741824"
    assert session.origin.session_version == 1073741825
    assert session.origin.address == "10.20.30.40"
    assert session.session_name == "SBC call"
    assert session.connection is not None and session.connection.address == "10.20.30.41"
    assert session.times == [(0, 0)]
    (media,) = session.media
    assert media.media == "audio" and media.port == 30000 and media.proto == "RTP/AVP"
    assert media.payload_types == [8, 0, 18, 101]
    assert media.rtpmaps[101].encoding == "telephone-event" and media.rtpmaps[101].clock_rate == 8000
    assert media.fmtps == {18: "annexb=no", 101: "0-15"}
    assert media.ptime == 20
    assert media.direction is Direction.SENDRECV


def test_static_payload_types_need_no_rtpmap() -> None:
    session = parse_sdp(
        sdp("v=0", "o=- 1 1 IN IP4 1.2.3.4", "s=-", "c=IN IP4 1.2.3.4", "t=0 0", "m=audio 5004 RTP/AVP 0 8")
    )
    media = session.media[0]
    assert media.rtpmaps == {}
    pcmu, pcma = media.codec(0), media.codec(8)
    assert pcmu is not None and pcmu.encoding == "PCMU" and pcmu.clock_rate == 8000
    assert pcma is not None and pcma.encoding == "PCMA"
    assert media.codec(97) is None


def test_media_level_connection_overrides_session_level() -> None:
    session = parse_sdp(
        sdp(
            "v=0",
            "o=- 1 1 IN IP4 1.2.3.4",
            "s=-",
            "c=IN IP4 1.2.3.4",
            "t=0 0",
            "m=audio 5004 RTP/AVP 0",
            "c=IN IP4 5.6.7.8",
            "m=audio 5006 RTP/AVP 0",
        )
    )
    first, second = session.media
    connection_first, connection_second = session.connection_for(first), session.connection_for(second)
    assert connection_first is not None and connection_first.address == "5.6.7.8"
    assert connection_second is not None and connection_second.address == "1.2.3.4"


def test_lf_line_ends_blank_lines_and_fractional_ptime_are_tolerated() -> None:
    text = (
        "v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\n\nc=IN IP4 1.2.3.4\nt=0 0\nm=audio 5004 RTP/AVP 0\na=ptime:20.0\n"
    )
    assert parse_sdp(text).media[0].ptime == 20


def test_gbk_session_name_is_decoded() -> None:
    body = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=西安呼叫\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\n".encode("gbk")
    assert parse_sdp(body).session_name == "西安呼叫"


def test_session_level_direction_applies_to_media_without_one() -> None:
    session = parse_sdp(
        sdp(
            "v=0",
            "o=- 1 1 IN IP4 1.2.3.4",
            "s=-",
            "c=IN IP4 1.2.3.4",
            "t=0 0",
            "a=sendonly",
            "m=audio 1 RTP/AVP 0",
        )
    )
    assert session.direction is Direction.SENDONLY
    assert session.direction_for(session.media[0]) is Direction.SENDONLY


def test_round_trip_keeps_unmodelled_lines() -> None:
    original = sdp(
        "v=0",
        "o=- 1 2 IN IP4 1.2.3.4",
        "s=-",
        "i=info",
        "c=IN IP4 1.2.3.4",
        "b=AS:64",
        "t=0 0",
        "a=group:BUNDLE a",
        "m=audio 5004 RTP/AVP 0 101",
        "b=TIAS:64000",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:101 telephone-event/8000",
        "a=fmtp:101 0-16",
        "a=ptime:20",
        "a=rtcp:5005",
        "a=recvonly",
        "m=video 0 RTP/AVP 96",
        "a=rtpmap:96 H264/90000",
    )
    assert parse_sdp(original).to_bytes() == original
    again = parse_sdp(parse_sdp(original).to_bytes())
    assert again.media[0].attributes == [("rtcp", "5005")]
    assert again.media[0].direction is Direction.RECVONLY


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (sdp("o=- 1 1 IN IP4 1.2.3.4", "s=-"), "v=0"),
        (sdp("v=1", "o=- 1 1 IN IP4 1.2.3.4"), "v=0"),
        (sdp("v=0", "s=-"), "o="),
        (sdp("v=0", "o=- 1 1 IN IP4"), "o="),
        (sdp("v=0", "o=- abc 1 IN IP4 1.2.3.4"), "session id"),
        (sdp("v=0", "o=- 1 1 IN IP4 1.2.3.4", "garbage"), "<type>=<value>"),
        (sdp("v=0", "o=- 1 1 IN IP4 1.2.3.4", "x=1"), "unknown line type"),
        (sdp("v=0", "o=- 1 1 IN IP4 1.2.3.4", "c=IN IP4"), "c="),
        (sdp("v=0", "o=- 1 1 IN IP4 1.2.3.4", "t=now 0"), "start time"),
        (sdp("v=0", "o=- 1 1 IN IP4 1.2.3.4", "c=IN IP4 1.2.3.4", "m=audio 70000 RTP/AVP 0"), "port"),
        (sdp("v=0", "o=- 1 1 IN IP4 1.2.3.4", "c=IN IP4 1.2.3.4", "m=audio 5004 RTP/AVP"), "format"),
        (
            sdp("v=0", "o=- 1 1 IN IP4 1.2.3.4", "c=IN IP4 1.2.3.4", "m=audio 5004 RTP/AVP 0 abc"),
            "payload type",
        ),
        (
            sdp("v=0", "o=- 1 1 IN IP4 1.2.3.4", "c=IN IP4 1.2.3.4", "m=audio 5004 RTP/AVP 200"),
            "payload type",
        ),
        (
            sdp(
                "v=0",
                "o=- 1 1 IN IP4 1.2.3.4",
                "c=IN IP4 1.2.3.4",
                "m=audio 5 RTP/AVP 96",
                "a=rtpmap:96 opus",
            ),
            "rtpmap",
        ),
        (
            sdp("v=0", "o=- 1 1 IN IP4 1.2.3.4", "c=IN IP4 1.2.3.4", "m=audio 5 RTP/AVP 0", "a=ptime:x"),
            "packet time",
        ),
        (
            sdp("v=0", "o=- 1 1 IN IP4 1.2.3.4", "c=IN IP4 1.2.3.4", "m=audio 5 RTP/AVP 0", "s=late"),
            "media section",
        ),
        (sdp("v=0", "o=- 1 1 IN IP4 1.2.3.4", "s=-", "t=0 0", "m=audio 5004 RTP/AVP 0"), "no c= line"),
        (sdp("v=0", "o=- 1 1 IN IP4 1.2.3.4", "o=- 1 1 IN IP4 1.2.3.4"), "repeated"),
    ],
)
def test_malformed_sdp_raises_sdp_error(body: bytes, message: str) -> None:
    with pytest.raises(SdpError, match=message):
        parse_sdp(body)


def test_error_names_the_line() -> None:
    with pytest.raises(SdpError, match="line 4"):
        parse_sdp(sdp("v=0", "o=- 1 1 IN IP4 1.2.3.4", "s=-", "c=IN IP4"))


def test_rejected_media_needs_no_connection() -> None:
    session = parse_sdp(sdp("v=0", "o=- 1 1 IN IP4 1.2.3.4", "s=-", "t=0 0", "m=audio 0 RTP/AVP 0"))
    assert session.media[0].port == 0


# --- answering ------------------------------------------------------------------------------------


def test_answer_picks_first_offered_codec_we_support_and_echoes_dtmf() -> None:
    result, negotiated = answer_offer(
        parse_sdp(CARRIER_OFFER), local_ip="192.0.2.1", local_port=40000, session_id="99", session_version=3
    )
    assert negotiated.codec == "PCMA" and negotiated.payload_type == 8 and negotiated.clock_rate == 8000
    assert negotiated.dtmf_payload_type == 101
    assert (negotiated.remote_address, negotiated.remote_port) == ("10.20.30.41", 30000)
    assert negotiated.direction is Direction.SENDRECV and not negotiated.on_hold
    assert negotiated.ptime == 20 and negotiated.media_index == 0
    text = result.to_bytes().decode()
    assert "o=waterline 99 3 IN IP4 192.0.2.1\r\n" in text
    assert "c=IN IP4 192.0.2.1\r\n" in text
    assert "m=audio 40000 RTP/AVP 8 101\r\n" in text
    assert "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n" in text
    assert "a=ptime:20\r\n" in text and "a=sendrecv\r\n" in text
    # the answer is itself valid SDP
    reparsed = parse_sdp(result.to_bytes())
    assert reparsed.media[0].payload_types == [8, 101]


def test_answer_respects_our_supported_list() -> None:
    _, negotiated = answer(CARRIER_OFFER, supported=("PCMU",))
    assert negotiated.codec == "PCMU" and negotiated.payload_type == 0


def test_answer_without_dtmf_leaves_telephone_event_out() -> None:
    result, negotiated = answer(CARRIER_OFFER, dtmf=False)
    assert negotiated.dtmf_payload_type is None
    assert "telephone-event" not in str(result)


def test_dynamic_telephone_event_payload_type_is_echoed() -> None:
    offer = sdp(
        "v=0", "o=- 1 1 IN IP4 1.2.3.4", "s=-", "c=IN IP4 1.2.3.4", "t=0 0",
        "m=audio 5004 RTP/AVP 0 96", "a=rtpmap:96 telephone-event/8000",
    )  # fmt: skip
    result, negotiated = answer(offer)
    assert negotiated.dtmf_payload_type == 96
    assert "a=fmtp:96 0-16\r\n" in str(result)


def test_static_offer_without_rtpmap_is_answered() -> None:
    offer = sdp(
        "v=0", "o=- 1 1 IN IP4 1.2.3.4", "s=-", "c=IN IP4 1.2.3.4", "t=0 0", "m=audio 5004 RTP/AVP 18 0"
    )
    result, negotiated = answer(offer)
    assert negotiated.codec == "PCMU" and negotiated.dtmf_payload_type is None
    assert negotiated.ptime is None
    assert "m=audio 40000 RTP/AVP 0\r\n" in str(result)


@pytest.mark.parametrize(
    ("offered", "answered", "on_hold"),
    [
        ("sendrecv", Direction.SENDRECV, False),
        ("sendonly", Direction.RECVONLY, True),
        ("recvonly", Direction.SENDONLY, False),
        ("inactive", Direction.INACTIVE, True),
    ],
)
def test_answer_mirrors_direction(offered: str, answered: Direction, on_hold: bool) -> None:
    offer = sdp(
        "v=0",
        "o=- 1 1 IN IP4 1.2.3.4",
        "s=-",
        "c=IN IP4 1.2.3.4",
        "t=0 0",
        "m=audio 5 RTP/AVP 0",
        f"a={offered}",
    )
    result, negotiated = answer(offer)
    assert negotiated.direction is answered and negotiated.on_hold is on_hold
    assert f"a={answered.value}\r\n" in str(result)
    assert is_on_hold(parse_sdp(offer)) is on_hold


def test_our_own_hold_wish_restricts_the_answer() -> None:
    result, negotiated = answer(CARRIER_OFFER, direction=Direction.SENDONLY)
    assert negotiated.direction is Direction.SENDONLY
    assert "a=sendonly\r\n" in str(result)


def test_old_style_hold_with_null_address() -> None:
    offer = sdp("v=0", "o=- 1 2 IN IP4 1.2.3.4", "s=-", "c=IN IP4 0.0.0.0", "t=0 0", "m=audio 5004 RTP/AVP 0")
    _, negotiated = answer(offer)
    assert negotiated.on_hold
    assert is_on_hold(parse_sdp(offer))
    assert not is_on_hold(parse_sdp(CARRIER_OFFER))


def test_ptime_is_ours_when_the_offer_has_none() -> None:
    offer = sdp("v=0", "o=- 1 1 IN IP4 1.2.3.4", "s=-", "c=IN IP4 1.2.3.4", "t=0 0", "m=audio 5004 RTP/AVP 0")
    result, negotiated = answer(offer, ptime=30)
    assert negotiated.ptime == 30 and "a=ptime:30\r\n" in str(result)


def test_non_audio_and_extra_streams_are_rejected_with_port_zero() -> None:
    offer = sdp(
        "v=0", "o=- 1 1 IN IP4 1.2.3.4", "s=-", "c=IN IP4 1.2.3.4", "t=0 0",
        "m=video 6000 RTP/AVP 96", "a=rtpmap:96 H264/90000",
        "m=audio 5004 RTP/AVP 97", "a=rtpmap:97 opus/48000/2",
        "m=audio 5006 RTP/AVP 0",
        "m=audio 5008 RTP/AVP 8",
        "m=image 7000 udptl t38",
    )  # fmt: skip
    result, negotiated = answer(offer)
    assert negotiated.media_index == 2 and negotiated.remote_port == 5006
    assert [(m.media, m.port) for m in result.media] == [
        ("video", 0), ("audio", 0), ("audio", 40000), ("audio", 0), ("image", 0),
    ]  # fmt: skip
    assert "m=image 0 udptl t38\r\n" in str(result)
    parse_sdp(str(result))


def test_offer_without_common_codec_is_not_acceptable() -> None:
    offer = sdp(
        "v=0", "o=- 1 1 IN IP4 1.2.3.4", "s=-", "c=IN IP4 1.2.3.4", "t=0 0", "m=audio 5004 RTP/AVP 18"
    )
    with pytest.raises(SdpNegotiationError):
        answer(offer)
    with pytest.raises(SdpError):  # one error family for the endpoint
        answer(sdp("v=0", "o=- 1 1 IN IP4 1.2.3.4", "s=-", "t=0 0", "m=audio 0 RTP/AVP 0"))


def test_ipv6_answer() -> None:
    result, _ = answer_offer(
        parse_sdp(CARRIER_OFFER), local_ip="2001:db8::1", local_port=4000, session_id="1", session_version=1
    )
    assert "c=IN IP6 2001:db8::1\r\n" in str(result)


# --- offering -------------------------------------------------------------------------------------


def test_build_offer_and_accept_answer() -> None:
    offer = build_offer(local_ip="192.0.2.1", local_port=40000, session_id="5", session_version=1)
    text = offer.to_bytes().decode()
    assert "m=audio 40000 RTP/AVP 0 8 101\r\n" in text
    assert "a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n" in text
    assert "a=fmtp:101 0-16\r\n" in text and "a=ptime:20\r\n" in text and "a=sendrecv\r\n" in text

    # the far end answers through our own answerer, preferring what we listed first
    remote_answer, remote_view = answer_offer(
        parse_sdp(text), local_ip="198.51.100.7", local_port=50000, session_id="8", session_version=1
    )
    assert remote_view.codec == "PCMU"
    negotiated = accept_answer(offer, parse_sdp(remote_answer.to_bytes()))
    assert negotiated.codec == "PCMU" and negotiated.payload_type == 0
    assert negotiated.dtmf_payload_type == 101
    assert (negotiated.remote_address, negotiated.remote_port) == ("198.51.100.7", 50000)
    assert negotiated.direction is Direction.SENDRECV and not negotiated.on_hold


def test_hold_reoffer_is_answered_recvonly() -> None:
    offer = build_offer(
        local_ip="192.0.2.1",
        local_port=40000,
        session_id="5",
        session_version=2,
        direction=Direction.SENDONLY,
    )
    remote_answer, remote_view = answer_offer(
        offer, local_ip="198.51.100.7", local_port=50000, session_id="8", session_version=2
    )
    assert remote_view.on_hold and remote_view.direction is Direction.RECVONLY
    negotiated = accept_answer(offer, remote_answer)
    assert negotiated.direction is Direction.SENDONLY


def test_accept_answer_rejects_mismatched_or_empty_answers() -> None:
    offer = build_offer(local_ip="192.0.2.1", local_port=40000, session_id="5", session_version=1)
    two = sdp(
        "v=0", "o=- 1 1 IN IP4 1.2.3.4", "s=-", "c=IN IP4 1.2.3.4", "t=0 0",
        "m=audio 5004 RTP/AVP 0", "m=audio 5006 RTP/AVP 0",
    )  # fmt: skip
    with pytest.raises(SdpNegotiationError, match="media lines"):
        accept_answer(offer, parse_sdp(two))
    rejected = sdp("v=0", "o=- 1 1 IN IP4 1.2.3.4", "s=-", "t=0 0", "m=audio 0 RTP/AVP 0")
    with pytest.raises(SdpNegotiationError):
        accept_answer(offer, parse_sdp(rejected))
    foreign = sdp("v=0", "o=- 1 1 IN IP4 1.2.3.4", "s=-", "c=IN IP4 1.2.3.4", "t=0 0", "m=audio 5 RTP/AVP 18")
    with pytest.raises(SdpNegotiationError):
        accept_answer(offer, parse_sdp(foreign))


def test_build_offer_refuses_unknown_codecs_and_bad_dtmf_type() -> None:
    with pytest.raises(ValueError, match="opus"):
        build_offer(local_ip="1.2.3.4", local_port=1, session_id="1", session_version=1, codecs=("opus",))
    with pytest.raises(ValueError, match="dynamic"):
        build_offer(local_ip="1.2.3.4", local_port=1, session_id="1", session_version=1, dtmf_payload_type=8)


def test_srtp_only_offer_is_not_acceptable() -> None:
    offer = sdp(
        "v=0", "o=- 1 1 IN IP4 1.2.3.4", "s=-", "c=IN IP4 1.2.3.4", "t=0 0",
        "m=audio 5004 RTP/SAVP 0", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:abc",
        "m=audio 5006 RTP/AVP 8",
    )  # fmt: skip
    result, negotiated = answer(offer)
    assert negotiated.media_index == 1 and negotiated.codec == "PCMA"
    assert [m.port for m in result.media] == [0, 40000]
    with pytest.raises(SdpNegotiationError):
        answer(offer.replace(b"RTP/AVP 8", b"RTP/SAVP 8"))


# ---------------------------------------------------------------------------------------------- AnswerCache


def _phone_offer(session: int, port: int, address: str = "192.0.2.10", extra: str = "") -> bytes:
    return (
        f"v=0\r\no=phone {session} {session + 1} IN IP4 {address}\r\ns=-\r\nc=IN IP4 {address}\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n"
        f"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\n{extra}"
    ).encode()


def _full_answer(offer: bytes, port: int, session_id: str, version: int) -> tuple[bytes, Negotiated]:
    answer, negotiated = answer_offer(parse_sdp(offer), local_ip="203.0.113.5", local_port=port,
                                      session_id=session_id, session_version=version)
    return answer.to_bytes(), negotiated


@pytest.mark.parametrize(
    "offers",
    [
        [_phone_offer(1, 4000), _phone_offer(77, 5002, "198.51.100.7"), _phone_offer(3, 65535)],
        [_phone_offer(1, 4000, extra="a=sendonly\r\n"), _phone_offer(2, 4010, extra="a=sendonly\r\n")],
        [_phone_offer(1, 4000, "2001:db8::1"), _phone_offer(2, 4002, "2001:db8::2")],
    ],
)
def test_answer_cache_gives_exactly_the_full_answer(offers: list[bytes]) -> None:
    cache = AnswerCache(local_ip="203.0.113.5")
    for index, offer in enumerate(offers):
        port, session_id = 20000 + 2 * index, str(900 + index)
        assert cache.answer(offer, local_port=port, session_id=session_id, session_version=index + 1) == (
            _full_answer(offer, port, session_id, index + 1)
        )
    assert (cache.misses, cache.hits) == (1, len(offers) - 1)


def test_answer_cache_keys_on_everything_but_origin_address_and_port() -> None:
    cache = AnswerCache(local_ip="203.0.113.5")
    plain = _phone_offer(1, 4000)
    held = _phone_offer(2, 4000, extra="a=sendonly\r\n")
    cache.answer(plain, local_port=20000, session_id="1", session_version=1)
    body, negotiated = cache.answer(held, local_port=20002, session_id="2", session_version=1)
    assert (body, negotiated) == _full_answer(held, 20002, "2", 1)
    assert negotiated.on_hold and b"a=recvonly" in body
    assert cache.hits == 0


def test_answer_cache_still_refuses_a_malformed_origin_on_a_hit() -> None:
    cache = AnswerCache(local_ip="203.0.113.5")
    cache.answer(_phone_offer(1, 4000), local_port=20000, session_id="1", session_version=1)
    broken = _phone_offer(1, 4000).replace(b"o=phone 1 2 IN", b"o=phone x 2 IN")
    with pytest.raises(SdpError):
        cache.answer(broken, local_port=20002, session_id="2", session_version=1)


@pytest.mark.parametrize(
    "offer",
    [
        _phone_offer(1, 4000, "0.0.0.0"),  # old-style hold: the address decides on_hold
        _phone_offer(1, 4000) + b"m=video 5000 RTP/AVP 96\r\n",  # two m= lines
        _phone_offer(1, 4000).replace(b"m=audio 4000", b"m=audio 4000/2"),
        "v=0\r\no=电话 1 2 IN IP4 192.0.2.1\r\ns=通话\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
        "m=audio 4000 RTP/AVP 0\r\n".encode("gb18030"),  # not UTF-8
    ],
)
def test_answer_cache_answers_unusual_offers_in_full_every_time(offer: bytes) -> None:
    cache = AnswerCache(local_ip="203.0.113.5")
    for version in (1, 2):
        assert cache.answer(offer, local_port=20000, session_id="5", session_version=version) == (
            _full_answer(offer, 20000, "5", version)
        )
    assert cache.hits == 0


def test_answer_cache_raises_like_the_full_path_and_stays_bounded() -> None:
    cache = AnswerCache(local_ip="203.0.113.5", max_entries=2)
    with pytest.raises(SdpNegotiationError):
        cache.answer(_phone_offer(1, 4000).replace(b"RTP/AVP", b"RTP/SAVP"), local_port=20000,
                     session_id="1", session_version=1)
    for ptime in (10, 20, 30):
        offer = _phone_offer(1, 4000).replace(b"a=ptime:20", f"a=ptime:{ptime}".encode())
        cache.answer(offer, local_port=20000, session_id="1", session_version=1)
    cache.answer(_phone_offer(1, 4000).replace(b"a=ptime:20", b"a=ptime:10"), local_port=20000,
                 session_id="1", session_version=1)
    assert cache.hits == 0  # ptime 10 was the oldest of three and dropped
