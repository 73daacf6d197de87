"""Dialog state (§12) and session-timer negotiation (RFC 4028)."""

from __future__ import annotations

import pytest

from waterline.sip.dialog import (
    Dialog,
    DialogState,
    SessionTimer,
    parse_session_expires,
    uac_session_timer,
    uas_session_timer,
)
from waterline.sip.errors import RemoteProtocolError
from waterline.sip.message import Request, Response, make_response, parse_message


def invite(extra: str = "") -> Request:
    text = (
        "INVITE sip:bob@10.0.0.2 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r\n"
        "Max-Forwards: 70\r\n"
        'From: "Alice" <sip:alice@10.0.0.1>;tag=a1\r\n'
        "To: <sip:bob@10.0.0.2>\r\n"
        "Call-ID: c1\r\n"
        "CSeq: 7 INVITE\r\n"
        "Contact: <sip:alice@10.0.0.1:5060>\r\n"
        "Record-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n"
        f"{extra}"
        "Content-Length: 0\r\n\r\n"
    )
    message = parse_message(text.encode())
    assert isinstance(message, Request)
    return message


def ok(request: Request, extra: tuple[tuple[str, str], ...] = ()) -> Response:
    response = make_response(request, 200, to_tag="b1")
    response.headers.add("Contact", "<sip:bob@10.0.0.2:5070>")
    for name, value in extra:
        response.headers.add(name, value)
    return response


def test_uas_dialog_takes_ids_route_set_and_target_from_the_invite() -> None:
    dialog = Dialog.as_uas(invite(), "b1")
    assert dialog.id == ("c1", "b1", "a1")
    assert dialog.state is DialogState.EARLY
    assert dialog.route_set == ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    assert str(dialog.remote_target) == "sip:alice@10.0.0.1:5060"
    assert dialog.remote_seq == 7


def test_uac_dialog_reverses_record_route() -> None:
    request = invite()
    response = ok(request, (("Record-Route", "<sip:p2.example.com;lr>, <sip:p1.example.com;lr>"),))
    dialog = Dialog.as_uac(request, response)
    assert dialog.id == ("c1", "a1", "b1")
    assert dialog.state is DialogState.CONFIRMED
    assert dialog.route_set == ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    assert str(dialog.remote_target) == "sip:bob@10.0.0.2:5070"


def test_in_dialog_request_uses_target_routes_tags_and_next_cseq() -> None:
    dialog = Dialog.as_uas(invite(), "b1")
    bye = dialog.create_request("BYE", via="SIP/2.0/UDP 10.0.0.2:5070;branch=z9hG4bK9")
    assert str(bye.uri) == "sip:alice@10.0.0.1:5060"
    assert bye.headers.get_all("Route") == ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    assert bye.from_.tag == "b1" and bye.to.tag == "a1"
    assert bye.cseq.seq == 1 and bye.cseq.method == "BYE"
    assert dialog.create_request("INFO", via="SIP/2.0/UDP x;branch=z9hG4bK8").cseq.seq == 2
    assert str(dialog.next_hop()) == "sip:p1.example.com;lr"


def test_strict_router_goes_into_the_request_uri() -> None:
    dialog = Dialog.as_uas(invite(), "b1")
    dialog.route_set = ["<sip:strict.example.com>"]
    bye = dialog.create_request("BYE", via="SIP/2.0/UDP x;branch=z9hG4bK7")
    assert str(bye.uri) == "sip:strict.example.com"
    assert bye.headers.get_all("Route") == ["<sip:alice@10.0.0.1:5060>"]


def test_remote_cseq_must_not_go_backwards() -> None:
    dialog = Dialog.as_uas(invite(), "b1")
    lower = parse_message(
        b"BYE sip:bob@10.0.0.2 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK2\r\n"
        b"From: <sip:alice@10.0.0.1>;tag=a1\r\nTo: <sip:bob@10.0.0.2>;tag=b1\r\nCall-ID: c1\r\n"
        b"CSeq: 3 BYE\r\n\r\n"
    )
    assert isinstance(lower, Request)
    assert not dialog.accept_remote_cseq(lower)
    higher = parse_message(lower.to_bytes().replace(b"CSeq: 3 BYE", b"CSeq: 8 BYE"))
    assert isinstance(higher, Request)
    assert dialog.accept_remote_cseq(higher)
    assert dialog.remote_seq == 8


def test_confirm_on_2xx_fixes_target_and_routes_for_the_uac() -> None:
    request = invite()
    early = make_response(request, 180, to_tag="b1")
    dialog = Dialog.as_uac(request, early)
    assert dialog.state is DialogState.EARLY
    assert dialog.remote_target == request.uri  # no Contact in the 180
    dialog.confirm(ok(request))
    assert dialog.state is DialogState.CONFIRMED
    assert str(dialog.remote_target) == "sip:bob@10.0.0.2:5070"
    dialog.terminate()
    dialog.confirm()
    assert dialog.state is DialogState.TERMINATED


def test_session_expires_parsing() -> None:
    parsed = parse_session_expires("1800;refresher=UAC")
    assert (parsed.interval, parsed.refresher) == (1800, "uac")
    assert str(parsed) == "1800;refresher=uac"
    with pytest.raises(RemoteProtocolError):
        parse_session_expires("soon")
    with pytest.raises(RemoteProtocolError):
        parse_session_expires("90;refresher=proxy")


def test_uas_grants_uac_refresh_when_supported() -> None:
    answer = uas_session_timer(invite("Supported: timer\r\nSession-Expires: 600\r\n"), min_se=90,
                               default_interval=1800)
    assert answer.timer == SessionTimer(600, we_refresh=False)
    assert answer.headers == (("Session-Expires", "600;refresher=uac"), ("Require", "timer"))


def test_uas_refreshes_itself_when_the_uac_lacks_support() -> None:
    answer = uas_session_timer(invite("Session-Expires: 600\r\n"), min_se=90, default_interval=1800)
    assert answer.timer == SessionTimer(600, we_refresh=True)
    assert answer.headers == (("Session-Expires", "600;refresher=uas"),)


def test_uas_rejects_too_small_interval_with_422() -> None:
    answer = uas_session_timer(invite("Session-Expires: 30\r\n"), min_se=90, default_interval=1800)
    assert answer.too_small and answer.min_se == 90


def test_no_timer_when_nobody_asked() -> None:
    answer = uas_session_timer(invite(), min_se=90, default_interval=1800)
    assert answer.timer is None and answer.headers == ()


def test_uac_reads_refresher_from_the_2xx() -> None:
    request = invite()
    we_refresh = ok(request, (("Session-Expires", "300;refresher=uac"),))
    they_refresh = ok(request, (("Session-Expires", "300;refresher=uas"),))
    assert uac_session_timer(we_refresh) == SessionTimer(300, True)
    assert uac_session_timer(they_refresh) == SessionTimer(300, False)
    assert uac_session_timer(ok(request)) is None


def test_session_timer_deadlines() -> None:
    assert SessionTimer(600, we_refresh=True).next_deadline(100.0) == 400.0
    assert SessionTimer(600, we_refresh=False).next_deadline(100.0) == 100.0 + 600 - 32
    assert SessionTimer(90, we_refresh=False).next_deadline(0.0) == 60.0
