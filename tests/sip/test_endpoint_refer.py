"""REFER inside a confirmed dialog (RFC 3515): the event, 202 or a refusal, and the implicit subscription's
NOTIFYs with ``message/sipfrag`` bodies."""

from __future__ import annotations

from pair import ANSWER, OFFER, make_endpoint

from waterline.sip import events as ev
from waterline.sip.endpoint import Endpoint
from waterline.sip.message import Request, Response, parse_message

PHONE = ("127.0.0.1", 5080)
SDP = "Content-Type: application/sdp\r\n"


def message(method: str, *, to_tag: str | None, cseq: int, branch: str, extra: str = "",
            body: bytes = b"") -> bytes:
    to = "<sip:kefu1@127.0.0.1:5070>" + (f";tag={to_tag}" if to_tag else "")
    head = (
        f"{method} sip:kefu1@127.0.0.1:5070 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:5080;branch={branch}\r\n"
        "Max-Forwards: 70\r\n"
        "From: \"Agent\" <sip:kefu1@127.0.0.1:5080>;tag=ph1\r\n"
        f"To: {to}\r\n"
        "Call-ID: refer-call-1\r\n"
        f"CSeq: {cseq} {method}\r\n"
        "Contact: <sip:kefu1@127.0.0.1:5080>\r\n"
        f"{extra}"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def drain(endpoint: Endpoint) -> list[Request | Response]:
    return [parse_message(data) for data, _addr, _transport in endpoint.datagrams_to_send(0.0)]


def in_call() -> tuple[Endpoint, str]:
    """An endpoint with a confirmed call from the phone at 5080; returns it and the leg."""
    b = make_endpoint(5070, 2)
    b.receive_datagram(message("INVITE", to_tag=None, cseq=1, branch="z9hG4bKinv", extra=SDP, body=OFFER),
                       PHONE, 0.0)
    event = b.next_event()
    assert isinstance(event, ev.IncomingCall)
    b.answer(event.call, ANSWER, 0.0)
    b.receive_datagram(message("ACK", to_tag=event.call, cseq=1, branch="z9hG4bKack"), PHONE, 0.1)
    assert isinstance(b.next_event(), ev.CallConfirmed)
    drain(b)
    return b, event.call


def refer(b: Endpoint, leg: str, headers: str, *, cseq: int = 2) -> None:
    b.receive_datagram(message("REFER", to_tag=leg, cseq=cseq, branch=f"z9hG4bKref{cseq}", extra=headers),
                       PHONE, 1.0)


def test_refer_in_a_dialog_becomes_an_event_with_the_name_addr_target() -> None:
    b, leg = in_call()
    refer(b, leg, 'Refer-To: "Kefu 2" <sip:kefu2@127.0.0.1:5070;transport=udp>\r\n'
                  "Referred-By: <sip:kefu1@127.0.0.1>\r\n")
    assert b.next_event() == ev.ReferReceived(leg, "sip:kefu2@127.0.0.1:5070;transport=udp", "kefu2",
                                              "<sip:kefu1@127.0.0.1>")
    assert drain(b) == []  # call control answers


def test_accepted_refer_gets_202_and_notifies_trying_then_the_final_status() -> None:
    b, leg = in_call()
    refer(b, leg, "r: <sip:default@127.0.0.1>\r\n", cseq=7)  # the compact form of Refer-To
    event = b.next_event()
    assert isinstance(event, ev.ReferReceived) and event.refer_user == "default"
    b.send(ev.AcceptRefer(leg), 1.0)
    accepted, trying = drain(b)
    assert isinstance(accepted, Response) and accepted.status == 202
    assert isinstance(trying, Request) and trying.method == "NOTIFY"
    assert trying.headers.get("Event") == "refer;id=7"
    assert trying.headers.get("Subscription-State") == "active;expires=60"
    assert trying.content_type == "message/sipfrag;version=2.0"
    assert trying.body == b"SIP/2.0 100 Trying\r\n"
    assert trying.call_id == "refer-call-1" and trying.to.tag == "ph1" and trying.from_.tag == leg
    b.send(ev.NotifyRefer(leg, 200), 1.5)
    [done] = drain(b)
    assert isinstance(done, Request) and done.method == "NOTIFY"
    assert done.headers.get("Subscription-State") == "terminated;reason=noresource"
    assert done.body == b"SIP/2.0 200 OK\r\n"
    assert done.cseq.seq > trying.cseq.seq
    assert not b.notify_refer(leg, 200, 2.0)  # the subscription is over


def test_failed_transfer_is_notified_with_its_status() -> None:
    b, leg = in_call()
    refer(b, leg, "Refer-To: <sip:nobody@127.0.0.1>\r\n")
    b.next_event()
    b.send(ev.AcceptRefer(leg), 1.0)
    drain(b)
    b.send(ev.NotifyRefer(leg, 404), 1.0)
    [notify] = drain(b)
    assert isinstance(notify, Request) and notify.body == b"SIP/2.0 404 Not Found\r\n"
    assert notify.headers.get("Subscription-State") == "terminated;reason=noresource"


def test_call_control_can_refuse_a_refer() -> None:
    b, leg = in_call()
    refer(b, leg, "Refer-To: <sip:kefu2@127.0.0.1>\r\n")
    b.next_event()
    b.send(ev.RejectRefer(leg, 403), 1.0)
    [refused] = drain(b)
    assert isinstance(refused, Response) and refused.status == 403
    assert not b.accept_refer(leg, 1.0)  # answered once


def test_refer_without_refer_to_gets_400_and_no_event() -> None:
    b, leg = in_call()
    refer(b, leg, "")
    [bad] = drain(b)
    assert isinstance(bad, Response) and bad.status == 400
    assert b.next_event() is None


def test_refer_with_a_malformed_refer_to_gets_400() -> None:
    b, leg = in_call()
    refer(b, leg, "Refer-To: <sip:kefu2@\r\n")
    [bad] = drain(b)
    assert isinstance(bad, Response) and bad.status == 400


def test_a_second_refer_while_one_is_pending_gets_491() -> None:
    b, leg = in_call()
    refer(b, leg, "Refer-To: <sip:kefu2@127.0.0.1>\r\n", cseq=2)
    refer(b, leg, "Refer-To: <sip:kefu3@127.0.0.1>\r\n", cseq=3)
    [busy] = drain(b)
    assert isinstance(busy, Response) and busy.status == 491


def test_refer_outside_a_dialog_is_refused_481_and_in_an_unknown_dialog_481() -> None:
    b, leg = in_call()
    refer_to = "Refer-To: <sip:kefu2@127.0.0.1>\r\n"
    b.receive_datagram(message("REFER", to_tag=None, cseq=1, branch="z9hG4bKout", extra=refer_to), PHONE, 1.0)
    b.receive_datagram(message("REFER", to_tag="nosuch", cseq=2, branch="z9hG4bKgone", extra=refer_to),
                       PHONE, 1.0)
    statuses = [r.status for r in drain(b) if isinstance(r, Response)]
    assert statuses == [481, 481]
    assert b.next_event() is None


def test_refer_is_advertised_in_allow() -> None:
    b, _leg = in_call()
    b.receive_datagram(message("OPTIONS", to_tag=None, cseq=1, branch="z9hG4bKopt"), PHONE, 1.0)
    [ok] = drain(b)
    assert isinstance(ok, Response) and "REFER" in (ok.headers.get("Allow") or "")


def test_a_pending_refer_is_dropped_when_the_call_ends() -> None:
    b, leg = in_call()
    before = b.transactions()
    refer(b, leg, "Refer-To: <sip:kefu2@127.0.0.1>\r\n")
    assert b.transactions() == before + 1
    b.receive_datagram(message("BYE", to_tag=leg, cseq=3, branch="z9hG4bKbye"), PHONE, 1.0)
    assert b.transactions() == before + 1  # the BYE's; the REFER's went with the call
    assert not b.accept_refer(leg, 1.0)
