"""The UA core end to end: two endpoints paired in memory, plus hand-written requests from a fake peer."""

from __future__ import annotations

import random

from pair import ANSWER, HOLD, OFFER, Packet, Wire, make_endpoint

from waterline.sip import events as ev
from waterline.sip.auth import DigestServer, answer_challenge, choose_challenge, ha1_table
from waterline.sip.endpoint import Endpoint, EndpointConfig
from waterline.sip.message import Response, parse_message
from waterline.sip.policy import DigestAuthenticator, EdgePolicy
from waterline.sip.registrar import Binding, Registrar

PEER = ("127.0.0.1", 5080)
TARGET = "sip:*43@127.0.0.1:5070"
ALICE = "sip:alice@127.0.0.1"
B = ("127.0.0.1", 5070)


def incoming(wire: Wire) -> ev.IncomingCall:
    [event] = [e for e in wire.events(5070) if isinstance(e, ev.IncomingCall)]
    return event


def established(wire: Wire, a: Endpoint, b: Endpoint) -> tuple[str, str]:
    call = a.dial(TARGET, ALICE, B, OFFER, wire.now)
    wire.flush()
    callee = incoming(wire).call
    b.answer(callee, ANSWER, wire.now)
    wire.flush()
    wire.events(5060)
    wire.events(5070)
    return call, callee


def responses(endpoint: Endpoint) -> list[Response]:
    out = []
    for data, _addr, _transport in endpoint.datagrams_to_send(0.0):
        message = parse_message(data)
        assert isinstance(message, Response)
        out.append(message)
    return out


def raw(method: str, *, extra: str = "", body: bytes = b"", to_tag: str | None = None,
        branch: str = "z9hG4bKpeer1", max_forwards: int = 70, call_id: str = "raw-1", cseq: int = 1) -> bytes:
    to = "<sip:*43@127.0.0.1:5070>" + (f";tag={to_tag}" if to_tag else "")
    head = (
        f"{method} sip:*43@127.0.0.1:5070 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:5080;branch={branch}\r\n"
        f"Max-Forwards: {max_forwards}\r\n"
        "From: <sip:peer@127.0.0.1:5080>;tag=p1\r\n"
        f"To: {to}\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: {cseq} {method}\r\n"
        "Contact: <sip:peer@127.0.0.1:5080>\r\n"
        f"{extra}"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def test_basic_call_and_bye_from_caller() -> None:
    wire, a, b = Wire.pair()
    call = a.dial(TARGET, ALICE, B, OFFER, 0.0)
    wire.flush()
    offer = incoming(wire)
    assert offer.request_user == "*43"
    assert offer.sdp_offer == OFFER
    assert offer.source == ("127.0.0.1", 5060)
    b.answer(offer.call, ANSWER, 0.0)
    wire.flush()
    assert wire.events(5060) == [ev.CallAnswered(call, ANSWER)]
    assert wire.events(5070) == [ev.CallConfirmed(offer.call, None)]
    a.hangup(call, 1.0)
    wire.flush()
    assert wire.events(5060) == [ev.CallEnded(call, "local-hangup")]
    assert wire.events(5070) == [ev.CallEnded(offer.call, "remote-bye")]
    assert wire.lines() == [
        "INVITE sip:*43@127.0.0.1:5070 SIP/2.0",
        "SIP/2.0 100 Trying",
        "SIP/2.0 200 OK",
        "ACK sip:127.0.0.1:5070 SIP/2.0",
        "BYE sip:127.0.0.1:5070 SIP/2.0",
        "SIP/2.0 200 OK",
    ]
    assert a.legs() == b.legs() == 0


def test_bye_from_callee() -> None:
    wire, a, b = Wire.pair()
    call, callee = established(wire, a, b)
    b.hangup(callee, 2.0)
    wire.flush()
    assert wire.events(5060) == [ev.CallEnded(call, "remote-bye")]
    assert wire.events(5070) == [ev.CallEnded(callee, "local-hangup")]
    wire.run_until(100.0)  # every transaction runs out
    assert a.transactions() == b.transactions() == 0


def test_retransmitted_invite_is_absorbed_not_a_second_call() -> None:
    wire, a, b = Wire.pair()
    dropped: list[Packet] = []

    def lose_first_trying(packet: Packet) -> bool:
        if packet.first_line.startswith("SIP/2.0 100") and not dropped:
            dropped.append(packet)
            return True
        return False

    wire.drop = lose_first_trying
    a.dial(TARGET, ALICE, B, OFFER, 0.0)
    wire.flush()
    wire.run_until(0.6)  # Timer A retransmits the INVITE, B answers it with the 100 again
    assert len([e for e in wire.events(5070) if isinstance(e, ev.IncomingCall)]) == 1
    assert wire.lines().count("INVITE sip:*43@127.0.0.1:5070 SIP/2.0") == 2
    assert wire.lines().count("SIP/2.0 100 Trying") == 2
    assert b.stats.retransmissions_absorbed == 1


def test_lost_200_is_retransmitted_until_the_ack() -> None:
    wire, a, b = Wire.pair()
    oks: list[Packet] = []

    def lose_two_oks(packet: Packet) -> bool:
        if packet.first_line == "SIP/2.0 200 OK" and len(oks) < 2:
            oks.append(packet)
            return True
        return False

    wire.drop = lose_two_oks
    call = a.dial(TARGET, ALICE, B, OFFER, 0.0)
    wire.flush()
    b.answer(incoming(wire).call, ANSWER, 0.0)
    wire.flush()
    wire.run_until(3.0)
    # 200 at 0 (lost), 0.5 (lost), 1.5 delivered -> ACK, then no more
    assert wire.lines(5070).count("SIP/2.0 200 OK") == 3
    assert wire.events(5060) == [ev.CallAnswered(call, ANSWER)]
    assert [type(e) for e in wire.events(5070)] == [ev.CallConfirmed]


def test_lost_ack_makes_callee_retransmit_and_caller_ack_again() -> None:
    wire, a, b = Wire.pair()
    acks: list[Packet] = []

    def lose_first_ack(packet: Packet) -> bool:
        if packet.first_line.startswith("ACK") and not acks:
            acks.append(packet)
            return True
        return False

    wire.drop = lose_first_ack
    a.dial(TARGET, ALICE, B, OFFER, 0.0)
    wire.flush()
    b.answer(incoming(wire).call, ANSWER, 0.0)
    wire.flush()
    wire.run_until(1.0)
    assert wire.lines(5060).count("ACK sip:127.0.0.1:5070 SIP/2.0") == 2
    assert [type(e) for e in wire.events(5070)] == [ev.CallConfirmed]


def test_no_ack_at_all_gives_up_after_64_t1_with_bye() -> None:
    wire, a, b = Wire.pair()
    wire.drop = lambda packet: packet.first_line.startswith("ACK")
    a.dial(TARGET, ALICE, B, OFFER, 0.0)
    wire.flush()
    callee = incoming(wire).call
    b.answer(callee, ANSWER, 0.0)
    wire.run_until(40.0)
    assert ev.CallEnded(callee, "ack-timeout") in wire.events(5070)
    oks = wire.lines(5070).count("SIP/2.0 200 OK")
    assert 8 <= oks <= 12  # 0, 0.5, 1.5, 3.5, 7.5, then every T2=4 s up to 32 s
    assert "BYE sip:127.0.0.1:5060 SIP/2.0" in wire.lines(5070)


def test_timer_b_unanswered_invite_times_out() -> None:
    wire, a, b = Wire.pair()
    wire.drop = lambda packet: True  # the callee never hears anything
    call = a.dial(TARGET, ALICE, B, OFFER, 0.0)
    wire.run_until(40.0)
    assert wire.events(5060) == [ev.CallEnded(call, "timeout", 408)]
    assert wire.lines(5060).count("INVITE sip:*43@127.0.0.1:5070 SIP/2.0") == 7
    assert a.legs() == 0


def test_timer_f_bye_without_answer_cleans_up() -> None:
    wire, a, b = Wire.pair()
    call, _callee = established(wire, a, b)
    wire.drop = lambda packet: True
    a.hangup(call, wire.now)
    wire.run_until(wire.now + 40.0)
    assert wire.events(5060) == [ev.CallEnded(call, "local-hangup")]
    assert a.transactions() == 0


def test_rejected_call_reports_status_and_acks() -> None:
    wire, a, b = Wire.pair()
    call = a.dial(TARGET, ALICE, B, OFFER, 0.0)
    wire.flush()
    callee = incoming(wire).call
    b.reject(callee, 0.0, status=404)
    wire.flush()
    assert wire.events(5060) == [ev.CallEnded(call, "rejected", 404)]
    assert wire.events(5070) == [ev.CallEnded(callee, "rejected", 404)]
    assert "ACK sip:*43@127.0.0.1:5070 SIP/2.0" in wire.lines(5060)
    wire.run_until(60.0)
    assert wire.lines(5070).count("SIP/2.0 404 Not Found") == 1  # the ACK stopped Timer G


def test_cancel_before_answer_gets_200_and_487() -> None:
    wire, a, b = Wire.pair()
    call = a.dial(TARGET, ALICE, B, OFFER, 0.0)
    wire.flush()
    callee = incoming(wire).call
    b.ring(callee, 0.0)
    wire.flush()
    assert wire.events(5060) == [ev.CallRinging(call, 180, None)]
    a.hangup(call, 1.0)
    wire.flush()
    assert wire.events(5070) == [ev.CallEnded(callee, "cancelled", 487)]
    assert wire.events(5060) == [ev.CallEnded(call, "cancelled", 487)]
    lines = wire.lines()
    assert "CANCEL sip:*43@127.0.0.1:5070 SIP/2.0" in lines
    assert "SIP/2.0 487 Request Terminated" in lines
    assert lines.count("SIP/2.0 200 OK") == 1  # the CANCEL's
    assert lines[-1] == "ACK sip:*43@127.0.0.1:5070 SIP/2.0"


def test_cancel_waits_for_a_provisional_response() -> None:
    wire, a, b = Wire.pair(send_trying=False)
    call = a.dial(TARGET, ALICE, B, OFFER, 0.0)
    a.hangup(call, 0.0)
    wire.flush()
    assert not any(line.startswith("CANCEL") for line in wire.lines())
    b.ring(incoming(wire).call, 0.1)
    wire.flush()
    assert any(line.startswith("CANCEL") for line in wire.lines())
    assert wire.events(5060) == [ev.CallEnded(call, "cancelled", 487)]


def test_200_and_cancel_crossing_ends_with_ack_and_bye() -> None:
    wire, a, b = Wire.pair()
    call = a.dial(TARGET, ALICE, B, OFFER, 0.0)
    wire.flush()
    callee = incoming(wire).call
    a.hangup(call, 0.1)  # CANCEL queued at A ...
    b.answer(callee, ANSWER, 0.1)  # ... while B's 200 is already on its way
    wire.flush()
    lines = wire.lines()
    assert "CANCEL sip:*43@127.0.0.1:5070 SIP/2.0" in lines
    assert "SIP/2.0 487 Request Terminated" not in lines
    assert "ACK sip:127.0.0.1:5070 SIP/2.0" in lines
    assert "BYE sip:127.0.0.1:5070 SIP/2.0" in lines
    assert wire.events(5060) == [ev.CallEnded(call, "cancelled", 487)]
    assert wire.events(5070) == [ev.CallConfirmed(callee, None), ev.CallEnded(callee, "remote-bye")]


def test_reinvite_hold_and_unhold() -> None:
    wire, a, b = Wire.pair()
    call, callee = established(wire, a, b)
    assert a.reinvite(call, HOLD, 5.0)
    wire.flush()
    [held] = wire.events(5070)
    assert held == ev.Reinvited(callee, HOLD, True)
    hold_answer = ANSWER.replace(b"a=sendrecv", b"a=recvonly")
    b.answer(callee, hold_answer, 5.0)
    wire.flush()
    assert wire.events(5060) == [ev.ReinviteAnswered(call, 200, hold_answer)]
    unhold = OFFER.replace(b"o=caller 1 1", b"o=caller 1 3")
    assert a.reinvite(call, unhold, 6.0)
    wire.flush()
    assert wire.events(5070) == [ev.Reinvited(callee, unhold, False)]
    b.answer(callee, ANSWER, 6.0)
    wire.flush()
    assert wire.events(5060) == [ev.ReinviteAnswered(call, 200, ANSWER)]
    assert wire.lines().count("ACK sip:127.0.0.1:5070 SIP/2.0") == 3
    wire.run_until(20.0)
    assert "SIP/2.0 200 OK" not in wire.lines()[-1:]  # no 2xx retransmission storm after the ACKs


def test_reinvite_with_unchanged_sdp_is_answered_without_call_control() -> None:
    wire, a, b = Wire.pair()
    call, _callee = established(wire, a, b)
    assert a.reinvite(call, OFFER, 5.0)
    wire.flush()
    assert wire.events(5070) == []
    assert wire.events(5060) == [ev.ReinviteAnswered(call, 200, ANSWER)]


def test_glare_gets_491() -> None:
    wire, a, b = Wire.pair()
    call, callee = established(wire, a, b)
    wire.drop = lambda packet: True
    assert a.reinvite(call, HOLD, 5.0)
    assert b.reinvite(callee, HOLD.replace(b"caller", b"callee"), 5.0)
    wire.drop = lambda packet: False
    wire.flush()
    wire.run_until(6.0)
    assert wire.lines().count("SIP/2.0 491 Request Pending") == 2


def test_info_dtmf_becomes_an_event() -> None:
    wire, a, b = Wire.pair()
    call, callee = established(wire, a, b)
    a.send_info(call, b"Signal=5\r\nDuration=160\r\n", 3.0)
    wire.flush()
    assert wire.events(5070) == [ev.DtmfReceived(callee, "5", 160)]


def test_session_timer_refresh_by_the_uac() -> None:
    wire, a, b = Wire.pair(session_expires=120)
    call, callee = established(wire, a, b)
    wire.run_until(200.0)
    # A is the refresher (granted refresher=uac): it refreshes every 60 s and nobody hangs up
    refreshes = [line for line in wire.lines(5060) if line.startswith(("UPDATE", "INVITE sip:127"))]
    assert len(refreshes) == 3
    assert a.legs() == b.legs() == 1
    assert not [e for e in wire.events(5070) if isinstance(e, ev.CallEnded)]


def test_session_expiry_without_refresh_ends_the_call() -> None:
    wire, a, b = Wire.pair(session_expires=120)
    call, callee = established(wire, a, b)
    wire.drop = lambda packet: packet.src == 5060 and not packet.first_line.startswith("SIP/")
    wire.run_until(200.0)
    assert ev.CallEnded(callee, "session-expired") in wire.events(5070)


# -------------------------------------------------------------- requests from a hand-written peer


def peer_endpoint(**config: object) -> Endpoint:
    return make_endpoint(5070, 7, **config)


def test_unknown_dialog_gets_481() -> None:
    b = peer_endpoint()
    b.receive_datagram(raw("BYE", to_tag="nope"), PEER, 0.0)
    [response] = responses(b)
    assert response.status == 481


def test_max_forwards_zero_gets_483() -> None:
    b = peer_endpoint()
    b.receive_datagram(raw("INVITE", max_forwards=0, body=OFFER, extra="Content-Type: application/sdp\r\n"),
                       PEER, 0.0)
    [response] = responses(b)
    assert response.status == 483
    assert response.to.tag is not None


def test_merged_request_gets_482() -> None:
    b = peer_endpoint()
    sdp = "Content-Type: application/sdp\r\n"
    b.receive_datagram(raw("INVITE", body=OFFER, extra=sdp), PEER, 0.0)
    b.receive_datagram(raw("INVITE", body=OFFER, extra=sdp, branch="z9hG4bKforked"), PEER, 0.0)
    assert sorted(r.status for r in responses(b)) == [100, 482]


def test_unknown_method_501_and_unsupported_method_405_with_allow() -> None:
    b = peer_endpoint()
    b.receive_datagram(raw("FROBNICATE"), PEER, 0.0)
    b.receive_datagram(raw("SUBSCRIBE", branch="z9hG4bKpeer2"), PEER, 0.0)
    first, second = responses(b)
    assert first.status == 501
    assert second.status == 405
    assert "INVITE" in (second.headers.get("Allow") or "")


def test_unsupported_body_gets_415_with_accept() -> None:
    b = peer_endpoint()
    b.receive_datagram(raw("INVITE", body=b"<xml/>", extra="Content-Type: application/xml\r\n"), PEER, 0.0)
    [response] = responses(b)
    assert response.status == 415
    assert response.headers.get("Accept") == "application/sdp"


def test_unknown_required_extension_gets_420_with_unsupported() -> None:
    b = peer_endpoint()
    b.receive_datagram(raw("INVITE", extra="Require: 100rel, timer\r\n"), PEER, 0.0)
    [response] = responses(b)
    assert response.status == 420
    assert response.headers.get("Unsupported") == "100rel"


def test_options_answered_with_capabilities() -> None:
    b = peer_endpoint()
    b.receive_datagram(raw("OPTIONS"), PEER, 0.0)
    [response] = responses(b)
    assert response.status == 200
    assert "OPTIONS" in (response.headers.get("Allow") or "")


def test_bad_request_answered_with_400_and_garbage_dropped_and_counted() -> None:
    b = peer_endpoint()
    b.receive_datagram(raw("INVITE").replace(b"CSeq: 1 INVITE", b"CSeq: x INVITE"), PEER, 0.0)
    [response] = responses(b)
    assert response.status == 400
    b.receive_datagram(b"\x00\xffjunk\r\n\r\n", PEER, 0.0)
    b.receive_datagram(b"SIP/2.0 200 OK\r\n\r\n", PEER, 0.0)
    assert responses(b) == []
    assert b.stats.garbage_dropped >= 1


def test_cseq_method_mismatch_gets_400() -> None:
    b = peer_endpoint()
    b.receive_datagram(raw("OPTIONS").replace(b"CSeq: 1 OPTIONS", b"CSeq: 1 INVITE"), PEER, 0.0)
    [response] = responses(b)
    assert response.status == 400


def test_oversize_message_gets_513() -> None:
    b = make_endpoint(5070, 7, max_message_size=600)
    b.receive_datagram(raw("OPTIONS", extra="X-Pad: " + "a" * 700 + "\r\n"), PEER, 0.0)
    [response] = responses(b)
    assert response.status == 513


def test_rport_and_received_are_stamped_and_the_response_goes_to_the_source_port() -> None:
    b = peer_endpoint()
    request = raw("OPTIONS").replace(b"5080;branch", b"5080;rport;branch")
    request = request.replace(b"UDP 127.0.0.1", b"UDP 10.9.9.9")
    b.receive_datagram(request, ("127.0.0.1", 40000), 0.0)
    [(data, addr, _transport)] = b.datagrams_to_send(0.0)
    assert addr == ("127.0.0.1", 40000)
    response = parse_message(data)
    assert response.top_via.received == "127.0.0.1"
    assert response.top_via.rport == 40000


def test_response_without_rport_goes_to_the_via_port() -> None:
    b = peer_endpoint()
    b.receive_datagram(raw("OPTIONS"), ("127.0.0.1", 40000), 0.0)
    [(_data, addr, _transport)] = b.datagrams_to_send(0.0)
    assert addr == ("127.0.0.1", 5080)


def test_policy_refuses_unknown_sources_without_authentication() -> None:
    b = Endpoint(EndpointConfig(port=5070, policy=EdgePolicy(trust_loopback=False)), rng=random.Random(3))
    sdp = "Content-Type: application/sdp\r\n"
    b.receive_datagram(raw("INVITE", body=OFFER, extra=sdp), ("203.0.113.9", 5080), 0.0)
    [(data, _addr, _t)] = b.datagrams_to_send(0.0)
    response = parse_message(data)
    assert isinstance(response, Response) and response.status == 403
    refused = b.next_event()
    assert isinstance(refused, ev.RequestRefused) and refused.status == 403
    b.receive_datagram(raw("OPTIONS", branch="z9hG4bKo"), ("203.0.113.9", 5080), 0.0)
    assert [r.status for r in responses(b)] == [200]  # OPTIONS stays open for keepalives


def test_trunk_network_is_accepted() -> None:
    policy = EdgePolicy.from_specs(["203.0.113.0/24"], trust_loopback=False)
    b = Endpoint(EndpointConfig(port=5070, policy=policy), rng=random.Random(3))
    b.receive_datagram(raw("INVITE", body=OFFER, extra="Content-Type: application/sdp\r\n"),
                       ("203.0.113.9", 5080), 0.0)
    assert isinstance(b.next_event(), ev.IncomingCall)


def test_retransmitted_bye_gets_the_same_200_again() -> None:
    wire, a, b = Wire.pair()
    call, callee = established(wire, a, b)
    lost: list[Packet] = []

    def lose_first_bye_ok(packet: Packet) -> bool:
        if packet.src == 5070 and packet.first_line == "SIP/2.0 200 OK" and not lost:
            lost.append(packet)
            return True
        return False

    wire.drop = lose_first_bye_ok
    a.hangup(call, wire.now)
    wire.run_until(wire.now + 1.0)
    assert wire.lines(5060).count("BYE sip:127.0.0.1:5070 SIP/2.0") == 2
    assert wire.events(5070) == [ev.CallEnded(callee, "remote-bye")]  # once, not twice
    assert b.stats.retransmissions_absorbed == 1


def test_keepalive_crlf_is_ignored() -> None:
    b = peer_endpoint()
    b.receive_datagram(b"\r\n\r\n", PEER, 0.0)
    assert b.datagrams_to_send(0.0) == []
    assert b.stats.keepalives == 1



# -------------------------------------------------------------- REGISTER with digest authentication


class FakeStore:
    """In-memory RegistrationStore."""

    def __init__(self) -> None:
        self.saved: dict[str, list[Binding]] = {}

    def load_all(self) -> dict[str, list[Binding]]:
        return dict(self.saved)

    def save(self, aor: str, bindings: list[Binding]) -> None:
        self.saved[aor] = bindings


def registrar_endpoint() -> tuple[Endpoint, FakeStore]:
    server = DigestServer(realm="waterline", secret=b"0123456789abcdef0123", rng=random.Random(5))
    users = {"1001": ha1_table("1001", "waterline", "s3cret")}
    store = FakeStore()
    endpoint = Endpoint(
        EndpointConfig(port=5070),
        rng=random.Random(4),
        authenticator=DigestAuthenticator(server, users.get),
        registrar=Registrar(store),
    )
    return endpoint, store


def register(user: str = "1001", *, authorization: str | None = None, cseq: int = 1,
             expires: int = 600) -> bytes:
    lines = [
        "REGISTER sip:127.0.0.1:5070 SIP/2.0",
        f"Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKreg{cseq}",
        "Max-Forwards: 70",
        f"From: <sip:{user}@127.0.0.1>;tag=r1",
        f"To: <sip:{user}@127.0.0.1>",
        "Call-ID: reg-1",
        f"CSeq: {cseq} REGISTER",
        f"Contact: <sip:{user}@127.0.0.1:5080>",
        f"Expires: {expires}",
    ]
    if authorization is not None:
        lines.append(f"Authorization: {authorization}")
    return ("\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n").encode()


def answer(challenge: Response, password: str, nc: int = 1) -> str:
    chosen = choose_challenge(challenge.headers.get_all("WWW-Authenticate"))
    return answer_challenge(chosen, username="1001", password=password, method="REGISTER",
                            uri="sip:127.0.0.1:5070", cnonce="c0ffee", nc=nc)


def test_register_with_digest_challenge() -> None:
    b, store = registrar_endpoint()
    b.receive_datagram(register(), PEER, 10.0)
    [challenge] = responses(b)
    assert challenge.status == 401
    b.receive_datagram(register(authorization=answer(challenge, "s3cret"), cseq=2), PEER, 10.1)
    [ok] = responses(b)
    assert ok.status == 200
    assert store.saved["sip:1001@127.0.0.1"][0].contact == "sip:1001@127.0.0.1:5080"
    event = b.next_event()
    assert event == ev.Registered("sip:1001@127.0.0.1", ("sip:1001@127.0.0.1:5080",), 600, PEER, "udp")


def test_register_with_wrong_password_is_forbidden() -> None:
    b, store = registrar_endpoint()
    b.receive_datagram(register(), PEER, 10.0)
    [challenge] = responses(b)
    b.receive_datagram(register(authorization=answer(challenge, "wrong"), cseq=2), PEER, 10.1)
    [refused] = responses(b)
    assert refused.status == 403
    assert store.saved == {}


def test_unregister_emits_unregistered() -> None:
    b, _store = registrar_endpoint()
    b.receive_datagram(register(), PEER, 10.0)
    [challenge] = responses(b)
    b.receive_datagram(register(authorization=answer(challenge, "s3cret"), cseq=2), PEER, 10.1)
    responses(b)
    b.next_event()
    again = register(authorization=answer(challenge, "s3cret", nc=2), cseq=3, expires=0)
    b.receive_datagram(again, PEER, 10.2)
    [ok] = responses(b)
    assert ok.status == 200
    assert b.next_event() == ev.Unregistered("sip:1001@127.0.0.1", PEER)


def test_register_without_registrar_is_not_allowed() -> None:
    b = peer_endpoint()
    b.receive_datagram(register(), PEER, 0.0)
    [response] = responses(b)
    assert response.status == 405
    assert "REGISTER" not in (response.headers.get("Allow") or "")


def test_authenticated_agent_may_call_from_an_untrusted_address() -> None:
    server = DigestServer(realm="waterline", secret=b"0123456789abcdef0123", rng=random.Random(5))
    users = {"1001": ha1_table("1001", "waterline", "s3cret")}
    b = Endpoint(EndpointConfig(port=5070, policy=EdgePolicy(trust_loopback=False)), rng=random.Random(4),
                 authenticator=DigestAuthenticator(server, users.get))
    agent = ("192.0.2.5", 5080)
    sdp = "Content-Type: application/sdp\r\n"
    b.receive_datagram(raw("INVITE", body=OFFER, extra=sdp), agent, 0.0)
    [challenge] = responses(b)
    assert challenge.status == 401
    chosen = choose_challenge(challenge.headers.get_all("WWW-Authenticate"))
    credentials = answer_challenge(chosen, username="1001", password="s3cret", method="INVITE",
                                   uri="sip:*43@127.0.0.1:5070", cnonce="c1")
    b.receive_datagram(raw("INVITE", body=OFFER, cseq=2, branch="z9hG4bKauth",
                           extra=sdp + f"Authorization: {credentials}\r\n"), agent, 0.1)
    assert [r.status for r in responses(b)] == [100]
    call = b.next_event()
    assert isinstance(call, ev.IncomingCall) and call.authenticated_user == "1001"


def test_commands_for_a_cancelled_call_are_ignored() -> None:
    wire, a, b = Wire.pair()
    call = a.dial(TARGET, ALICE, B, OFFER, 0.0)
    wire.flush()
    callee = incoming(wire).call
    a.hangup(call, 0.1)
    wire.flush()
    assert not b.answer(callee, ANSWER, 0.2)
    assert not b.ring(callee, 0.2)
    assert not b.hangup(callee, 0.2)
    assert b.send(ev.Reject(callee, 486), 0.2) is None


def test_trying_is_skipped_when_call_control_answers_at_once() -> None:
    b = peer_endpoint()
    b.receive_datagram(raw("INVITE", body=OFFER, extra="Content-Type: application/sdp\r\n"), PEER, 0.0)
    event = b.next_event()
    assert isinstance(event, ev.IncomingCall)
    b.answer(event.call, ANSWER, 0.0)
    assert [r.status for r in responses(b)] == [200]  # §17.2.1: no 100 owed when the TU was quick


def test_outgoing_call_answers_a_digest_challenge_once() -> None:
    server = DigestServer(realm="trunk", secret=b"0123456789abcdef0123", rng=random.Random(5))
    users = {"waterline": ha1_table("waterline", "trunk", "pw")}
    a = make_endpoint(5060, 1)
    b = Endpoint(EndpointConfig(port=5070, policy=EdgePolicy(trust_loopback=False)), rng=random.Random(4),
                 authenticator=DigestAuthenticator(server, users.get))
    wire = Wire({5060: a, 5070: b})
    call = a.send(ev.Dial(TARGET, ALICE, B, OFFER, credentials=("waterline", "pw")), 0.0)
    assert call is not None
    wire.flush()
    offer = incoming(wire)
    assert offer.authenticated_user == "waterline"
    b.answer(offer.call, ANSWER, 0.1)
    wire.flush()
    assert wire.events(5060) == [ev.CallAnswered(call, ANSWER)]
    invites = [p.message for p in wire.log if p.first_line.startswith("INVITE")]
    assert [m.cseq.seq for m in invites] == [1, 2]
    assert "Authorization" in invites[1].headers


def test_outgoing_call_with_wrong_credentials_fails_after_one_retry() -> None:
    server = DigestServer(realm="trunk", secret=b"0123456789abcdef0123", rng=random.Random(5))
    users = {"waterline": ha1_table("waterline", "trunk", "pw")}
    a = make_endpoint(5060, 1)
    b = Endpoint(EndpointConfig(port=5070, policy=EdgePolicy(trust_loopback=False)), rng=random.Random(4),
                 authenticator=DigestAuthenticator(server, users.get))
    wire = Wire({5060: a, 5070: b})
    call = a.dial(TARGET, ALICE, B, OFFER, 0.0, credentials=("waterline", "bad"))
    wire.flush()
    assert wire.events(5060) == [ev.CallEnded(call, "rejected", 403)]
    assert len([line for line in wire.lines(5060) if line.startswith("INVITE")]) == 2


# -------------------------------------------------------------- robustness


def _mutate(rng: random.Random, data: bytes) -> bytes:
    raw_bytes = bytearray(data)
    kind = rng.randrange(6)
    if kind == 0:  # flip bytes
        for _ in range(rng.randint(1, 8)):
            raw_bytes[rng.randrange(len(raw_bytes))] = rng.randrange(256)
    elif kind == 1:  # truncate
        del raw_bytes[rng.randrange(len(raw_bytes)):]
    elif kind == 2:  # drop a line
        lines = bytes(raw_bytes).split(b"\r\n")
        del lines[rng.randrange(len(lines))]
        return b"\r\n".join(lines)
    elif kind == 3:  # duplicate a line
        lines = bytes(raw_bytes).split(b"\r\n")
        index = rng.randrange(len(lines))
        lines.insert(index, lines[index])
        return b"\r\n".join(lines)
    elif kind == 4:  # splice junk into a header value
        at = rng.randrange(len(raw_bytes))
        raw_bytes[at:at] = rng.choice([b";;", b"<", b">", b'"', b"\x00", b"%", b"%zz", b"\xc4\xe3", b"99999"])
    else:  # numbers out of range
        text = bytes(raw_bytes)
        return text.replace(b"5080", b"99999").replace(b"CSeq: 1", b"CSeq: 4294967296")
    return bytes(raw_bytes)


def test_thousands_of_malformed_messages_then_a_normal_call_still_works() -> None:
    rng = random.Random(20260101)
    wire, a, b = Wire.pair()
    seeds = [
        raw("INVITE", body=OFFER, extra="Content-Type: application/sdp\r\n"),
        raw("BYE", to_tag="x"),
        raw("OPTIONS"),
        raw("CANCEL"),
        raw("ACK", to_tag="y"),
        raw("INFO", to_tag="z", body=b"Signal=1\r\n", extra="Content-Type: application/dtmf-relay\r\n"),
        b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=1\r\n"
        b"To: <sip:c@d>;tag=2\r\nCall-ID: q\r\nCSeq: 1 INVITE\r\n\r\n",
    ]
    for index in range(3000):
        data = _mutate(rng, rng.choice(seeds))
        b.receive_datagram(data, PEER, wire.now + index * 0.001)
        b.datagrams_to_send(wire.now)
    wire.run_until(100.0)
    wire.events(5070)
    assert b.stats.internal_errors == 0
    call, callee = established(wire, a, b)
    a.hangup(call, wire.now)
    wire.flush()
    assert wire.events(5070) == [ev.CallEnded(callee, "remote-bye")]


def test_connection_lost_fails_the_transactions_on_it() -> None:
    a = make_endpoint(5060, 1)
    call = a.dial(TARGET, ALICE, B, OFFER, 0.0, transport="tcp")
    a.datagrams_to_send(0.0)
    a.connection_lost(B, 0.5, "tcp")
    assert a.next_event() == ev.CallEnded(call, "transport-error", 503)
    assert a.transactions() == 0


def test_tcp_leg_is_not_retransmitted() -> None:
    a = make_endpoint(5060, 1)
    a.dial(TARGET, ALICE, B, OFFER, 0.0, transport="tcp")
    [(first, _addr, transport)] = a.datagrams_to_send(0.0)
    assert transport == "tcp"
    assert b"SIP/2.0/TCP" in first and b"transport=tcp" in first
    a.handle_timer(10.0)
    assert a.datagrams_to_send(10.0) == []


# -------------------------------------------------------------- more in-dialog behaviour


def test_update_refreshes_the_session_and_keeps_the_call() -> None:
    wire, a, b = Wire.pair(session_expires=120)
    call, callee = established(wire, a, b)
    wire.now = 50.0
    assert a.send_info(call, b"Signal=#\r\n", wire.now)
    wire.flush()
    wire.run_until(130.0)  # the UAC (refresher) refreshes at 60 s and 120 s by itself
    refresh_answers = [p for p in wire.log if p.src == 5070 and p.first_line == "SIP/2.0 200 OK"
                       and p.message.cseq.method in ("UPDATE", "INVITE")]
    assert len(refresh_answers) >= 2  # the initial 200 and at least one refresh
    assert ev.DtmfReceived(callee, "#", None) in wire.events(5070)
    assert a.legs() == b.legs() == 1


def test_cseq_going_backwards_gets_500() -> None:
    wire, a, b = Wire.pair()
    call, callee = established(wire, a, b)
    a.send_info(call, b"Signal=1\r\n", 1.0)
    wire.flush()
    [info] = [p.message for p in wire.log if p.first_line.startswith("INFO")]
    replay = info.to_bytes().replace(b"CSeq: 2 INFO", b"CSeq: 1 INFO")
    replay = replay.replace(b"branch=z9hG4bK", b"branch=z9hG4bKr")
    b.receive_datagram(replay, ("127.0.0.1", 5060), 2.0)
    [response] = responses(b)
    assert response.status == 500


def test_malformed_dtmf_info_gets_400_and_no_event() -> None:
    wire, a, b = Wire.pair()
    call, _callee = established(wire, a, b)
    a.send_info(call, b"Signal=\r\n", 1.0)
    wire.flush()
    assert "SIP/2.0 400" in " ".join(wire.lines(5070))
    assert wire.events(5070) == []


def test_session_interval_below_min_se_gets_422() -> None:
    b = peer_endpoint()
    extra = "Content-Type: application/sdp\r\nSession-Expires: 30\r\n"
    b.receive_datagram(raw("INVITE", body=OFFER, extra=extra), PEER, 0.0)
    [response] = responses(b)
    assert response.status == 422
    assert response.headers.get("Min-SE") == "90"


def test_callee_hangup_before_ack_waits_for_the_ack() -> None:
    wire, a, b = Wire.pair()
    held_acks: list[Packet] = []

    def hold_ack(packet: Packet) -> bool:
        if packet.first_line.startswith("ACK") and not held_acks:
            held_acks.append(packet)
            return True
        return False

    wire.drop = hold_ack
    call = a.dial(TARGET, ALICE, B, OFFER, 0.0)
    wire.flush()
    callee = incoming(wire).call
    b.answer(callee, ANSWER, 0.0)
    wire.flush()
    b.hangup(callee, 0.1)
    wire.flush()
    assert not any(line.startswith("BYE") for line in wire.lines(5070))
    wire.run_until(1.0)  # the 200 is retransmitted, A ACKs again, now B may say BYE
    assert "BYE sip:127.0.0.1:5060 SIP/2.0" in wire.lines(5070)
    assert ev.CallEnded(call, "remote-bye") in wire.events(5060)
    assert ev.CallEnded(callee, "local-hangup") in wire.events(5070)


def test_timer_c_cancels_a_call_that_rings_forever() -> None:
    wire, a, b = Wire.pair()
    call = a.dial(TARGET, ALICE, B, OFFER, 0.0)
    wire.flush()
    b.ring(incoming(wire).call, 0.0)
    wire.run_until(200.0)
    assert "CANCEL sip:*43@127.0.0.1:5070 SIP/2.0" in wire.lines(5060)
    assert ev.CallEnded(call, "cancelled", 487) in wire.events(5060)


def test_stray_ack_and_stray_response_are_counted_and_ignored() -> None:
    b = peer_endpoint()
    b.receive_datagram(raw("ACK", to_tag="gone"), PEER, 0.0)
    b.receive_datagram(
        b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKnope\r\nFrom: <sip:a@b>;tag=1\r\n"
        b"To: <sip:c@d>;tag=2\r\nCall-ID: q\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
        PEER,
        0.0,
    )
    assert b.datagrams_to_send(0.0) == []
    assert b.stats.stray_acks == 1 and b.stats.stray_responses == 1


def test_unanswered_incoming_call_is_given_up_after_max_ring_time() -> None:
    wire, a, b = Wire.pair(max_ring_time=60.0)
    call = a.dial(TARGET, ALICE, B, OFFER, 0.0)
    wire.flush()
    callee = incoming(wire).call
    wire.run_until(61.0)
    assert wire.events(5070) == [ev.CallEnded(callee, "rejected", 480)]
    assert wire.events(5060) == [ev.CallEnded(call, "rejected", 480)]


def test_bye_before_ack_stops_the_2xx_retransmission() -> None:
    wire, a, b = Wire.pair()
    wire.drop = lambda packet: packet.first_line.startswith("ACK")
    call = a.dial(TARGET, ALICE, B, OFFER, 0.0)
    wire.flush()
    b.answer(incoming(wire).call, ANSWER, 0.0)
    wire.flush()
    a.hangup(call, 0.1)
    wire.flush()
    oks_before = wire.lines(5070).count("SIP/2.0 200 OK")
    wire.run_until(40.0)
    assert wire.lines(5070).count("SIP/2.0 200 OK") == oks_before


def test_ipv6_host_is_bracketed_in_via_and_contact() -> None:
    a = Endpoint(EndpointConfig(host="::1", port=5060), rng=random.Random(1))
    a.dial("sip:*43@[::1]:5070", "sip:alice@[::1]", ("::1", 5070), OFFER, 0.0)
    [(data, addr, _t)] = a.datagrams_to_send(0.0)
    invite = parse_message(data)
    assert addr == ("::1", 5070)
    assert invite.top_via.host == "[::1]" and invite.top_via.port == 5060
    assert str(invite.contacts[0].uri) == "sip:[::1]:5060"


def _bye_to_b(from_value: str, to_value: str, call_id: str) -> bytes:
    return (
        "BYE sip:127.0.0.1:5070 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKhandmade\r\n"
        f"From: {from_value}\r\nTo: {to_value}\r\nCall-ID: {call_id}\r\nCSeq: 9 BYE\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def test_dialog_tags_are_found_in_every_spelling_of_from_and_to() -> None:
    wire, a, b = Wire.pair()
    call, callee = established(wire, a, b)
    invite = next(p.message for p in wire.log if p.first_line.startswith("INVITE"))
    caller_tag = invite.from_.tag
    # a quoted display name hiding ">" and ";tag=", and the To in addr-spec form with its tag
    from_value = f'"x>y;tag=bad" <sip:alice@127.0.0.1>;tag={caller_tag}'
    to_value = f"sip:*43@127.0.0.1:5070;TAG={callee}"
    b.receive_datagram(_bye_to_b(from_value, to_value, invite.call_id), ("127.0.0.1", 5060), 1.0)
    assert [r.status for r in responses(b)] == [200]
    assert b.next_event() == ev.CallEnded(callee, "remote-bye")


def test_in_dialog_request_without_from_gets_400() -> None:
    b = peer_endpoint()
    bye = raw("BYE", to_tag="t").replace(b"From: <sip:peer@127.0.0.1:5080>;tag=p1\r\n", b"")
    b.receive_datagram(bye, PEER, 0.0)
    [response] = responses(b)
    assert response.status == 400


def test_display_name_with_quotes_is_escaped() -> None:
    a = make_endpoint(5060, 1)
    a.dial(TARGET, ALICE, B, OFFER, 0.0, from_display='陕西 "送水"')
    [(data, _addr, _t)] = a.datagrams_to_send(0.0)
    assert parse_message(data).from_.display_name == '陕西 "送水"'


def test_reinvite_before_the_answer_gets_500_with_retry_after() -> None:
    wire, a, b = Wire.pair()
    a.dial(TARGET, ALICE, B, OFFER, 0.0)
    wire.flush()
    callee = incoming(wire).call
    b.ring(callee, 0.0)
    wire.flush()
    ringing = next(p.message for p in wire.log if p.first_line.startswith("SIP/2.0 180"))
    invite = next(p.message for p in wire.log if p.first_line.startswith("INVITE"))
    early = invite.to_bytes().replace(b"CSeq: 1 INVITE", b"CSeq: 2 INVITE")
    early = early.replace(b"To: <sip:*43@127.0.0.1:5070>", f"To: {ringing.headers.get('To')}".encode())
    early = early.replace(b"branch=z9hG4bK", b"branch=z9hG4bKearly")
    b.receive_datagram(early, ("127.0.0.1", 5060), 0.5)
    [response] = responses(b)
    assert response.status == 500
    assert response.headers.get("Retry-After") is not None


def test_uas_refresher_refreshes_with_reinvite_naming_itself_uac_of_the_refresh() -> None:
    a = make_endpoint(5060, 1, session_expires=None)
    b = make_endpoint(5070, 2)
    wire = Wire({5060: a, 5070: b})
    # the caller asks for a short session and leaves refreshing to the callee
    invite_headers = (("Session-Expires", "120;refresher=uas"),)
    a_call = a.dial(TARGET, ALICE, B, OFFER, 0.0, headers=invite_headers)
    wire.flush()
    callee = incoming(wire).call
    b.answer(callee, ANSWER, 0.0)
    wire.flush()
    wire.run_until(130.0)
    refreshes = [p.message for p in wire.log
                 if p.src == 5070 and p.first_line.startswith(("UPDATE", "INVITE"))]
    assert len(refreshes) == 2  # at 60 s and 120 s
    assert all(m.headers.get("Session-Expires") == "120;refresher=uac" for m in refreshes)
    assert a.legs() == b.legs() == 1
    assert not [e for e in wire.events(5060) if isinstance(e, ev.CallEnded) and e.call == a_call]


def test_a_peer_that_ignores_our_cancel_cannot_keep_the_call_forever() -> None:
    wire, a, b = Wire.pair()
    call = a.dial(TARGET, ALICE, B, OFFER, 0.0)
    wire.flush()
    b.ring(incoming(wire).call, 0.0)
    wire.flush()
    wire.drop = lambda packet: packet.first_line.startswith("SIP/2.0 487")  # the 487 never arrives
    a.hangup(call, 1.0)
    wire.run_until(400.0)
    assert ev.CallEnded(call, "timeout", 408) in wire.events(5060)
    assert a.legs() == 0
    wire.run_until(500.0)
    assert a.transactions() == 0


def test_incoming_call_carries_the_asserted_identity() -> None:
    b = peer_endpoint()
    extra = "Content-Type: application/sdp\r\nP-Asserted-Identity: <tel:+8613800000000>\r\n"
    b.receive_datagram(raw("INVITE", body=OFFER, extra=extra), PEER, 0.0)
    event = b.next_event()
    assert isinstance(event, ev.IncomingCall)
    assert event.asserted_identity == "<tel:+8613800000000>"
    assert event.from_uri == "sip:peer@127.0.0.1:5080"


def test_refused_invite_from_an_untrusted_source_is_answered_once_not_retransmitted() -> None:
    b = Endpoint(EndpointConfig(port=5070, policy=EdgePolicy(trust_loopback=False)), rng=random.Random(3))
    scanner = ("198.51.100.66", 5060)
    b.receive_datagram(raw("INVITE", body=OFFER, extra="Content-Type: application/sdp\r\n"), scanner, 0.0)
    assert [r.status for r in responses(b)] == [403]
    for t in (0.5, 1.5, 3.5, 7.5, 40.0):
        b.handle_timer(t)
        assert b.datagrams_to_send(t) == []
    assert b.transactions() == 0


def test_lost_tcp_connection_ends_an_unanswered_incoming_call() -> None:
    b = peer_endpoint()
    tcp_invite = raw("INVITE", body=OFFER, extra="Content-Type: application/sdp\r\n").replace(b"UDP", b"TCP")
    b.receive_datagram(tcp_invite, ("127.0.0.1", 40001), 0.0, "tcp")
    call = b.next_event()
    assert isinstance(call, ev.IncomingCall) and call.transport == "tcp"
    b.connection_lost(("127.0.0.1", 40002), 0.1, "tcp")  # another connection: no effect
    assert b.next_event() is None
    b.connection_lost(("127.0.0.1", 40001), 0.2, "tcp")
    assert b.next_event() == ev.CallEnded(call.call, "transport-error", 503)
    assert b.transactions() == 0
