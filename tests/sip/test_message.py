"""Whole-message parsing, accessors, serialisation, responses and TCP framing."""

from __future__ import annotations

from pathlib import Path

import pytest

from waterline.sip.errors import LocalProtocolError, RemoteProtocolError
from waterline.sip.headers import CSeq, Headers
from waterline.sip.message import (
    Request,
    Response,
    StreamFramer,
    error_response,
    make_response,
    parse_message,
)
from waterline.sip.uri import parse_uri

SDP = b"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"

INVITE = (
    b"INVITE sip:*43@192.0.2.10 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK74bf9;rport\r\n"
    b"Via: SIP/2.0/UDP 10.0.0.2;branch=z9hG4bKolder\r\n"
    b"Max-Forwards: 70\r\n"
    b'From: "Caller" <sip:13800000000@carrier.example>;tag=9fxced76sl\r\n'
    b"To: <sip:*43@192.0.2.10>\r\n"
    b"Call-ID: 3848276298220188511@10.0.0.1\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"Contact: <sip:13800000000@10.0.0.1:5060>\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: " + str(len(SDP)).encode() + b"\r\n\r\n" + SDP
)


def _request(data: bytes) -> Request:
    message = parse_message(data)
    assert isinstance(message, Request)
    return message


def _response(data: bytes) -> Response:
    message = parse_message(data)
    assert isinstance(message, Response)
    return message


def test_invite_accessors() -> None:
    request = _request(INVITE)
    assert request.method == "INVITE"
    assert request.uri.user == "*43"
    assert [v.branch for v in request.vias] == ["z9hG4bK74bf9", "z9hG4bKolder"]
    assert request.top_via.rport is True
    assert request.top_via.port == 5060
    assert request.from_.tag == "9fxced76sl"
    assert request.from_.display_name == "Caller"
    assert request.to.tag is None
    assert request.call_id == "3848276298220188511@10.0.0.1"
    assert request.cseq == CSeq(1, "INVITE")
    assert [str(c.uri) for c in request.contacts] == ["sip:13800000000@10.0.0.1:5060"]
    assert request.max_forwards == 70
    assert request.content_type == "application/sdp"
    assert request.body == SDP
    request.validate()


def test_compact_headers_and_folding() -> None:
    data = (
        b"OPTIONS sip:pbx.example SIP/2.0\r\n"
        b"v: SIP/2.0/TCP 10.0.0.9;branch=z9hG4bKc\r\n"
        b"f: <sip:a@b>\r\n ;tag=1\r\n"
        b"t: <sip:pbx.example>\r\n"
        b"i: c1\r\n"
        b"CSeq:\r\n\t7\r\n   OPTIONS\r\n"
        b"m: <sip:a@10.0.0.9>\r\n"
        b"k: timer, 100rel\r\n"
        b"l: 0\r\n\r\n"
    )
    request = _request(data)
    assert request.top_via.transport == "TCP"
    assert request.from_.tag == "1"
    assert request.cseq == CSeq(7, "OPTIONS")
    assert request.headers.get_all("Supported") == ["timer", "100rel"]
    assert request.contacts[0].uri.host == "10.0.0.9"


def test_leading_crlf_and_bare_lf_are_tolerated() -> None:
    data = b"\r\n\r\nBYE sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nCSeq: 2 BYE\n\n"
    request = _request(data)
    assert request.method == "BYE"
    assert request.cseq.seq == 2


def test_response_with_gbk_reason_phrase() -> None:
    data = (
        "SIP/2.0 486 用户忙\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
        'From: "张三" <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n'
    ).encode("gbk")
    response = _response(data)
    assert response.status == 486
    assert response.reason == "用户忙"
    assert response.from_.display_name == "张三"
    assert response.to.tag == "2"


def test_invalid_bytes_are_never_dropped() -> None:
    data = b"SIP/2.0 200 \xff\xfe\r\nCall-ID: x\r\n\r\n"
    response = _response(data)
    assert response.status == 200
    assert response.reason  # replacement characters, but the message is kept


def test_content_length_truncates_and_overlong_is_error() -> None:
    base = b"MESSAGE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nContent-Length: "
    assert _request(base + b"3\r\n\r\nhello").body == b"hel"
    with pytest.raises(RemoteProtocolError):
        parse_message(base + b"30\r\n\r\nhello")
    with pytest.raises(RemoteProtocolError):
        parse_message(base + b"-1\r\n\r\nhello")
    assert _request(base.replace(b"Content-Length: ", b"X: ") + b"1\r\n\r\nhello").body == b"hello"


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"", 400),
        (b"INVITE sip:a@b SIP/2.0\r\nVia: x", 400),
        (b"INVITE sip:a@b SIP/3.0\r\n\r\n", 505),
        (b"SIP/3.0 200 OK\r\n\r\n", 505),
        (b"INVITE  sip:a@b SIP/2.0\r\n\r\n", 400),
        (b"INVITE sip:a@b\r\n\r\n", 400),
        (b"INV(TE sip:a@b SIP/2.0\r\n\r\n", 400),
        (b"INVITE http://a SIP/2.0\r\n\r\n", 416),
        (b"SIP/2.0 20 OK\r\n\r\n", 400),
        (b"SIP/2.0 999 OK\r\n\r\n", 400),
        (b"INVITE sip:a@b SIP/2.0\r\nNo colon here\r\n\r\n", 400),
        (b"INVITE sip:a@b SIP/2.0\r\nBad Name: x\r\n\r\n", 400),
        (b"INVITE sip:a@b SIP/2.0\r\nX: a\rb\r\n\r\n", 400),
    ],
)
def test_malformed_messages(data: bytes, status: int) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        parse_message(data)
    assert info.value.status == status


@pytest.mark.parametrize(
    ("header", "accessor"),
    [
        ("Via", "vias"),
        ("From", "from_"),
        ("To", "to"),
        ("Call-ID", "call_id"),
        ("CSeq", "cseq"),
    ],
)
def test_missing_mandatory_header_raises_on_access(header: str, accessor: str) -> None:
    request = _request(INVITE)
    request.headers.remove(header)
    with pytest.raises(RemoteProtocolError):
        getattr(request, accessor)
    with pytest.raises(RemoteProtocolError):
        request.validate()


def test_bad_max_forwards_and_cseq_mismatch() -> None:
    request = _request(INVITE)
    request.headers.set("Max-Forwards", "300")
    with pytest.raises(RemoteProtocolError):
        _ = request.max_forwards
    request.headers.set("Max-Forwards", "10")
    assert request.max_forwards == 10
    request.headers.set("CSeq", "1 BYE")
    with pytest.raises(RemoteProtocolError):
        request.validate()


def test_accessor_cache_follows_header_changes() -> None:
    request = _request(INVITE)
    assert request.cseq.seq == 1
    request.headers.set("CSeq", "2 INVITE")
    assert request.cseq.seq == 2
    request.headers.prepend("Via", "SIP/2.0/UDP proxy.example;branch=z9hG4bKnew")
    assert request.top_via.host == "proxy.example"
    assert len(request.vias) == 3


def test_wildcard_contact() -> None:
    request = _request(INVITE)
    request.headers.set("Contact", "*")
    assert request.contacts == []
    assert request.contact_is_wildcard
    request.headers.add("Contact", "<sip:a@b>")
    with pytest.raises(RemoteProtocolError):
        _ = request.contacts


def test_expires_accessor() -> None:
    request = _request(INVITE)
    assert request.expires is None
    request.headers.set("Expires", "3600")
    assert request.expires == 3600
    request.headers.set("Expires", "soon")
    with pytest.raises(RemoteProtocolError):
        _ = request.expires


def test_round_trip_sets_content_length() -> None:
    request = _request(INVITE)
    request.body = b"abc"
    data = request.to_bytes()
    assert data.startswith(b"INVITE sip:*43@192.0.2.10 SIP/2.0\r\n")
    assert b"\r\nContent-Length: 3\r\n\r\nabc" in data
    again = _request(data)
    assert again.body == b"abc"
    assert again.headers.get_all("Via") == request.headers.get_all("Via")
    assert again.cseq == request.cseq


def test_content_length_is_added_when_absent() -> None:
    request = Request("OPTIONS", parse_uri("sip:pbx"), Headers([("Call-ID", "x")]))
    assert request.to_bytes() == b"OPTIONS sip:pbx SIP/2.0\r\nCall-ID: x\r\nContent-Length: 0\r\n\r\n"


def test_make_response_copies_dialog_headers_and_adds_tag() -> None:
    request = _request(INVITE)
    request.headers.add("Timestamp", "54")
    response = make_response(request, 200, to_tag="as8f", body=b"v=0\r\n", content_type="application/sdp")
    assert response.reason == "OK"
    assert response.headers.get_all("Via") == request.headers.get_all("Via")
    assert response.to.tag == "as8f"
    assert response.from_ == request.from_
    assert response.call_id == request.call_id
    assert response.cseq == request.cseq
    assert response.content_type == "application/sdp"
    assert "Timestamp" not in response.headers
    assert "Contact" not in response.headers
    data = response.to_bytes()
    assert data.startswith(b"SIP/2.0 200 OK\r\n")
    assert _response(data).body == b"v=0\r\n"


def test_make_response_keeps_existing_to_tag_and_trying_has_none() -> None:
    request = _request(INVITE)
    trying = make_response(request, 100, to_tag="zzz")
    assert trying.to.tag is None
    request.headers.add("Timestamp", "54")
    assert make_response(request, 100).headers.get("Timestamp") == "54"
    request.headers.set("To", "sip:x@y;tag=old")
    assert make_response(request, 486, "Busy", to_tag="new").to.tag == "old"


def test_make_response_rejects_invalid_status() -> None:
    with pytest.raises(LocalProtocolError):
        make_response(_request(INVITE), 99)
    with pytest.raises(LocalProtocolError):
        Response(700, "x", Headers()).to_bytes()


def test_error_response_answers_a_readable_bad_request() -> None:
    data = INVITE.replace(b"SIP/2.0\r\n", b"SIP/7.0\r\n", 1)
    with pytest.raises(RemoteProtocolError) as info:
        parse_message(data)
    response = error_response(info.value)
    assert response is not None
    assert (response.status, response.reason) == (505, "Version Not Supported")
    assert response.call_id == "3848276298220188511@10.0.0.1"
    assert response.cseq == CSeq(1, "INVITE")


def test_error_response_is_none_for_garbage_and_for_ack() -> None:
    with pytest.raises(RemoteProtocolError) as info:
        parse_message(b"\x00\x01garbage")
    assert error_response(info.value) is None
    ack = INVITE.replace(b"INVITE sip", b"ACK sip").replace(b"1 INVITE", b"1 ACK")
    ack = ack.replace(b"SIP/2.0\r\n", b"SIP/9\r\n", 1)
    with pytest.raises(RemoteProtocolError) as info:
        parse_message(ack)
    assert error_response(info.value) is None


def test_framer_splits_stream_and_skips_keepalives() -> None:
    framer = StreamFramer()
    stream = b"\r\n\r\n" + INVITE + b"\r\n" + INVITE
    out: list[bytes] = []
    for i in range(0, len(stream), 7):
        out.extend(framer.feed(stream[i : i + 7]))
    assert out == [INVITE, INVITE]
    assert framer.keepalives == 1
    assert framer.buffered == 0
    assert _request(out[1]).body == SDP


def test_framer_handles_several_messages_in_one_chunk() -> None:
    framer = StreamFramer()
    assert framer.feed(INVITE * 3) == [INVITE] * 3


def test_framer_needs_content_length() -> None:
    with pytest.raises(RemoteProtocolError):
        StreamFramer().feed(b"OPTIONS sip:a SIP/2.0\r\nCall-ID: x\r\n\r\n")
    with pytest.raises(RemoteProtocolError):
        StreamFramer().feed(b"OPTIONS sip:a SIP/2.0\r\nl: 1x\r\n\r\n")
    assert StreamFramer().feed(b"OPTIONS sip:a SIP/2.0\r\nl: 2\r\n\r\nhi") == [
        b"OPTIONS sip:a SIP/2.0\r\nl: 2\r\n\r\nhi"
    ]


def test_framer_limits_size() -> None:
    framer = StreamFramer(max_size=100)
    with pytest.raises(RemoteProtocolError) as info:
        framer.feed(b"A" * 101)
    assert info.value.status == 513
    with pytest.raises(RemoteProtocolError):
        StreamFramer(max_size=100).feed(b"OPTIONS sip:a SIP/2.0\r\nContent-Length: 500\r\n\r\n")


CORPUS = Path(__file__).parent / "corpus"
VALID = sorted((CORPUS / "valid").glob("*.sip"))
INVALID = sorted((CORPUS / "invalid").glob("*.sip"))


def test_corpus_is_present() -> None:
    assert len(VALID) >= 15 and len(INVALID) >= 20


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_corpus_parses_validates_and_round_trips(path: Path) -> None:
    message = parse_message(path.read_bytes())
    message.validate()
    again = parse_message(message.to_bytes())
    again.validate()
    assert type(again) is type(message)
    if isinstance(message, Request):
        assert isinstance(again, Request)
        assert (again.method, str(again.uri)) == (message.method, str(message.uri))
    else:
        assert isinstance(again, Response)
        assert (again.status, again.reason) == (message.status, message.reason)
    assert again.vias == message.vias
    assert again.from_ == message.from_
    assert again.to == message.to
    assert again.call_id == message.call_id
    assert again.cseq == message.cseq
    assert again.contacts == message.contacts
    assert again.body == message.body


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_corpus_is_refused_with_suggested_status(path: Path) -> None:
    expected = int(path.stem.split("-", 1)[0])
    with pytest.raises(RemoteProtocolError) as info:
        parse_message(path.read_bytes()).validate()
    assert info.value.status == expected


def test_torture_whitespace_details() -> None:
    request = _request((CORPUS / "valid" / "torture-whitespace.sip").read_bytes())
    assert request.uri.user == "*43"
    assert request.to.tag == "1918181833n"
    assert request.from_.display_name == 'J Rosenberg \\"'
    assert request.from_.tag == "98asjd8"
    assert request.max_forwards == 68
    assert request.cseq == CSeq(9, "INVITE")
    assert [(v.transport, v.host, v.branch) for v in request.vias] == [
        ("UDP", "192.0.2.2", "390skdjuw"),
        ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239"),
    ]
    assert request.contacts[0].display_name == 'Quoted string ""'
    assert request.contacts[0].params == {"newparam": "newvalue", "secondparam": None, "q": "0.33"}
    assert request.headers.get("NewFangledHeader") == "newfangled value continued newfangled value"
    assert request.headers.get("Subject") == ""


def test_escaped_uri_details() -> None:
    request = _request((CORPUS / "valid" / "escaped-uri.sip").read_bytes())
    assert request.uri.user == "sips:user@example.com"
    assert request.to.uri.user == "user"
    assert request.from_.uri.user == "I have spaces"
    assert request.content_type == "application/sdp"


def test_register_contacts_details() -> None:
    request = _request((CORPUS / "valid" / "register-multi-contact.sip").read_bytes())
    assert [c.uri.host for c in request.contacts] == ["192.168.1.20", "10.8.0.5", "[2001:db8::20]"]
    assert [c.params.get("expires") for c in request.contacts] == ["600", "60", None]
    assert request.from_.display_name == "坐席 8001"
    assert request.expires == 3600


@pytest.mark.parametrize(
    "data",
    [
        b"SIP/2.0 200 O\rK\r\nCall-ID: x\r\n\r\n",
        b"BYE sip:a@b SIP/2.0\r\nCall-ID: x\ry\r\n\r\n",
        b"BYE sip:a@b SIP/2.0\nCall-ID: x\ry\n\n",
    ],
)
def test_stray_carriage_return_is_refused(data: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        parse_message(data)


def test_mixed_line_endings_are_tolerated() -> None:
    request = _request(b"BYE sip:a@b SIP/2.0\r\nCall-ID: x\nCSeq: 1 BYE\r\n\r\n")
    assert request.call_id == "x"
    assert request.cseq == CSeq(1, "BYE")


def test_tags_are_read_without_a_full_parse_and_agree_with_it() -> None:
    cases = {
        "Bob <sip:bob@example.com>;tag=a1": "a1",
        "sip:bob@example.com;tag=b2": "b2",
        '"Bob; <the tag=no>" <sip:bob@example.com;tag=uri-param>;TAG=c3': "c3",
        "<sip:bob@example.com;tag=uri-param>": None,
        "sip:bob@example.com": None,
    }
    for value, tag in cases.items():
        request = _request(INVITE)
        request.headers.set("To", value)
        request.headers.set("From", value)
        assert request.to_tag == tag == request.to.tag
        assert request.from_tag == tag == request.from_.tag


def test_response_tags_a_quoted_to_only_when_it_has_no_tag() -> None:
    request = _request(INVITE)
    request.headers.set("To", '"A;tag=x" <sip:a@b>')
    assert make_response(request, 200, to_tag="t1").to.tag == "t1"
    request.headers.set("To", '"A" <sip:a@b>;tag=t0')
    assert make_response(request, 200, to_tag="t1").to.tag == "t0"
