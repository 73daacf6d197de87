"""The four §17 state machines, driven directly with a fake transaction owner and a float clock."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from waterline.sip.errors import LocalProtocolError
from waterline.sip.message import Request, Response, make_response, parse_message
from waterline.sip.transaction import (
    COMPACT_MIN,
    TRANSITIONS,
    ClientTransaction,
    Kind,
    ServerTransaction,
    State,
    Timer,
    TimerConfig,
    TimerHeap,
    Transaction,
    build_non2xx_ack,
    cancelled_key,
    response_key,
    server_key,
)

DEST = ("127.0.0.1", 5070)


def request(method: str = "INVITE", branch: str = "z9hG4bKabc", to_tag: str | None = None) -> Request:
    to = "<sip:bob@example.com>" + (f";tag={to_tag}" if to_tag else "")
    cseq_method = method
    text = (
        f"{method} sip:bob@example.com SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 10.0.0.1:5060;branch={branch}\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:alice@example.com>;tag=a1\r\n"
        f"To: {to}\r\n"
        "Call-ID: call-1\r\n"
        f"CSeq: 1 {cseq_method}\r\n"
        "Route: <sip:proxy.example.com;lr>\r\n"
        "Contact: <sip:alice@10.0.0.1>\r\n"
        "Content-Length: 0\r\n\r\n"
    )
    message = parse_message(text.encode())
    assert isinstance(message, Request)
    return message


def reply(req: Request, status: int) -> Response:
    return make_response(req, status, to_tag="b2" if status > 100 else None)


@dataclass
class FakeOwner:
    """Records everything a transaction asks of its TU."""

    sent: list[bytes] = field(default_factory=list)
    responses: list[int] = field(default_factory=list)
    acks: list[Request] = field(default_factory=list)
    timeouts: int = 0
    transport_errors: int = 0
    terminated: int = 0
    heap: TimerHeap = field(default_factory=TimerHeap)

    def transmit(self, data: bytes, dest: tuple[str, int], transport: str) -> None:
        self.sent.append(data)

    def transaction_response(self, tx: ClientTransaction, response: Response, now: float) -> None:
        self.responses.append(response.status)

    def transaction_ack(self, tx: ServerTransaction, ack: Request, now: float) -> None:
        self.acks.append(ack)

    def transaction_timeout(self, tx: Transaction, now: float) -> None:
        self.timeouts += 1

    def transaction_transport_error(self, tx: Transaction, now: float) -> None:
        self.transport_errors += 1

    def transaction_terminated(self, tx: Transaction) -> None:
        self.terminated += 1

    def transaction_rescheduled(self, tx: Transaction) -> None:
        self.heap.schedule(tx)

    def start_lines(self) -> list[str]:
        return [data.split(b"\r\n", 1)[0].decode() for data in self.sent]


def run(owner: FakeOwner, until: float) -> list[float]:
    """Fire timers up to ``until``; returns the times at which something fired."""
    fired: list[float] = []
    for _ in range(1000):
        when = owner.heap.earliest()
        if when is None or when > until:
            break
        for obj in owner.heap.pop_due(when):
            obj.handle_timer(when)
        fired.append(when)
    return fired


def test_invite_client_retransmits_with_doubling_timer_a_until_timer_b() -> None:
    owner = FakeOwner()
    tx = ClientTransaction(request(), DEST, "udp", owner, TimerConfig(t1=0.5))
    tx.start(0.0)
    run(owner, 100.0)
    # sent at 0, then A fires at 0.5, 1.5, 3.5, 7.5, 15.5, 31.5; B fires at 32 and ends it
    assert len(owner.sent) == 7
    assert owner.timeouts == 1
    assert tx.state is State.TERMINATED
    assert owner.terminated == 1


def test_invite_client_provisional_stops_retransmission() -> None:
    owner = FakeOwner()
    req = request()
    tx = ClientTransaction(req, DEST, "udp", owner)
    tx.start(0.0)
    tx.receive_response(reply(req, 180), 0.1)
    run(owner, 10.0)
    assert len(owner.sent) == 1
    assert tx.state is State.PROCEEDING
    assert owner.responses == [180]


def test_invite_client_acks_error_response_inside_transaction_and_absorbs_retransmissions() -> None:
    owner = FakeOwner()
    req = request()
    tx = ClientTransaction(req, DEST, "udp", owner)
    tx.start(0.0)
    tx.receive_response(reply(req, 486), 0.1)
    tx.receive_response(reply(req, 486), 0.6)
    assert owner.responses == [486]  # the retransmission is not passed up again
    ack = "ACK sip:bob@example.com SIP/2.0"
    assert owner.start_lines() == ["INVITE sip:bob@example.com SIP/2.0", ack, ack]
    assert tx.state is State.COMPLETED
    run(owner, 40.0)  # Timer D
    assert tx.state is State.TERMINATED


def test_non2xx_ack_copies_the_invite_identity_and_the_response_to_tag() -> None:
    req = request()
    ack = build_non2xx_ack(req, reply(req, 404))
    assert ack.method == "ACK"
    assert ack.cseq.seq == 1 and ack.cseq.method == "ACK"
    assert ack.top_via.branch == "z9hG4bKabc"
    assert ack.to.tag == "b2"
    assert ack.headers.get_all("Route") == ["<sip:proxy.example.com;lr>"]


def test_invite_client_2xx_goes_to_accepted_and_passes_retransmitted_2xx() -> None:
    owner = FakeOwner()
    req = request()
    tx = ClientTransaction(req, DEST, "udp", owner)
    tx.start(0.0)
    tx.receive_response(reply(req, 200), 0.1)
    tx.receive_response(reply(req, 200), 0.6)
    assert owner.responses == [200, 200]
    assert tx.state is State.ACCEPTED
    assert len(owner.sent) == 1  # no ACK from the transaction for a 2xx
    run(owner, 40.0)  # Timer M
    assert tx.terminated


def test_timer_c_reports_a_timeout_but_keeps_waiting_for_the_final_response() -> None:
    owner = FakeOwner()
    req = request()
    tx = ClientTransaction(req, DEST, "udp", owner, TimerConfig(timer_c=180.0))
    tx.start(0.0)
    tx.receive_response(reply(req, 180), 1.0)
    run(owner, 200.0)
    assert owner.timeouts == 1
    assert tx.state is State.PROCEEDING
    tx.receive_response(reply(req, 487), 201.0)
    assert tx.state is State.COMPLETED


def test_non_invite_client_timer_e_caps_at_t2_and_timer_f_times_out() -> None:
    owner = FakeOwner()
    tx = ClientTransaction(request("OPTIONS"), DEST, "udp", owner, TimerConfig(t1=0.5, t2=4.0))
    tx.start(0.0)
    fired = run(owner, 100.0)
    # E: 0.5, 1.5, 3.5, 7.5, 11.5, ... every 4 s, F at 32
    assert fired[:5] == [0.5, 1.5, 3.5, 7.5, 11.5]
    assert owner.timeouts == 1
    assert len(owner.sent) == 11  # 0 + 0.5,1.5,3.5,7.5,11.5,15.5,19.5,23.5,27.5,31.5
    assert tx.terminated


def test_non_invite_client_in_proceeding_retransmits_every_t2() -> None:
    owner = FakeOwner()
    req = request("BYE", to_tag="b2")
    tx = ClientTransaction(req, DEST, "udp", owner)
    tx.start(0.0)
    tx.receive_response(reply(req, 100), 0.1)
    fired = run(owner, 10.0)
    assert fired == [0.5, 4.5, 8.5]
    tx.receive_response(reply(req, 200), 9.0)
    assert owner.responses == [100, 200]
    assert tx.state is State.COMPLETED
    run(owner, 9.0 + 5.0)  # Timer K = T4
    assert tx.terminated


def test_reliable_transport_does_not_retransmit_and_skips_timer_k() -> None:
    owner = FakeOwner()
    req = request("BYE", to_tag="b2")
    tx = ClientTransaction(req, DEST, "tcp", owner)
    tx.start(0.0)
    assert not tx.timer_running(Timer.E)
    assert tx.timer_running(Timer.F)
    tx.receive_response(reply(req, 200), 0.2)
    assert tx.terminated  # Timer K is zero on TCP


def test_invite_server_absorbs_retransmissions_by_resending_the_last_response() -> None:
    owner = FakeOwner()
    req = request()
    tx = ServerTransaction(req, server_key(req), DEST, "udp", owner)
    tx.respond(reply(req, 100), 0.0)
    tx.receive_request(req, 0.5)
    assert owner.start_lines() == ["SIP/2.0 100 Trying"] * 2


def test_invite_server_error_response_retransmitted_by_timer_g_until_ack() -> None:
    owner = FakeOwner()
    req = request()
    tx = ServerTransaction(req, server_key(req), DEST, "udp", owner)
    tx.respond(reply(req, 486), 0.0)
    fired = run(owner, 2.0)
    assert fired == [0.5, 1.5]
    ack = request("ACK", to_tag="b2")
    assert server_key(ack) == tx.key  # §17.2.3: the ACK matches its INVITE
    tx.receive_request(ack, 2.0)
    assert tx.state is State.CONFIRMED
    assert owner.acks == []  # absorbed, not passed up
    run(owner, 2.0 + 5.0)  # Timer I
    assert tx.terminated
    assert len(owner.sent) == 3


def test_invite_server_timer_h_gives_up_waiting_for_ack() -> None:
    owner = FakeOwner()
    req = request()
    tx = ServerTransaction(req, server_key(req), DEST, "udp", owner)
    tx.respond(reply(req, 404), 0.0)
    run(owner, 40.0)
    assert owner.timeouts == 1
    assert tx.terminated


def test_invite_server_2xx_enters_accepted_and_absorbs_invite_retransmissions() -> None:
    owner = FakeOwner()
    req = request()
    tx = ServerTransaction(req, server_key(req), DEST, "udp", owner)
    tx.respond(reply(req, 200), 0.0)
    tx.receive_request(req, 0.5)
    assert tx.state is State.ACCEPTED
    assert len(owner.sent) == 1  # RFC 6026: retransmitted INVITEs are absorbed silently
    tx.respond(reply(req, 200), 0.5)  # the TU's own 2xx retransmission passes through
    assert len(owner.sent) == 2
    with pytest.raises(LocalProtocolError):
        tx.respond(reply(req, 486), 0.6)
    run(owner, 40.0)  # Timer L
    assert tx.terminated


def test_non_invite_server_resends_final_response_then_terminates_after_timer_j() -> None:
    owner = FakeOwner()
    req = request("BYE", to_tag="b2")
    tx = ServerTransaction(req, server_key(req), DEST, "udp", owner)
    tx.receive_request(req, 0.0)  # Trying: nothing to resend yet
    assert owner.sent == []
    tx.respond(reply(req, 200), 0.1)
    tx.receive_request(req, 0.2)
    assert owner.start_lines() == ["SIP/2.0 200 OK"] * 2
    run(owner, 40.0)
    assert tx.terminated


def test_transport_error_terminates_and_reports() -> None:
    owner = FakeOwner()
    req = request("OPTIONS")
    tx = ClientTransaction(req, DEST, "tcp", owner)
    tx.start(0.0)
    tx.transport_error(0.1)
    assert owner.transport_errors == 1
    assert tx.terminated


def test_keys_match_per_17_2_3() -> None:
    invite = request()
    cancel = request("CANCEL")
    assert server_key(cancel) != server_key(invite)
    assert cancelled_key(server_key(cancel)) == server_key(invite)
    other_branch = request(branch="z9hG4bKother")
    assert server_key(other_branch) != server_key(invite)
    assert response_key(reply(invite, 200)) == ("z9hG4bKabc", "INVITE")


def test_rfc2543_requests_without_magic_cookie_still_match() -> None:
    invite = request(branch="old1")
    ack = request("ACK", branch="old1", to_tag="b2")
    assert server_key(ack) == server_key(invite)
    assert server_key(invite)[0] == "2543"


def test_the_table_has_no_transition_out_of_terminated() -> None:
    assert not [key for key in TRANSITIONS if key[1] is State.TERMINATED]
    kinds = {key[0] for key in TRANSITIONS}
    assert kinds == set(Kind)


def test_timer_heap_skips_stale_entries() -> None:
    owner = FakeOwner()
    req = request()
    tx = ClientTransaction(req, DEST, "udp", owner)
    tx.start(0.0)
    assert owner.heap.earliest() == 0.5
    tx.receive_response(reply(req, 180), 0.1)  # cancels A and B, starts C
    assert owner.heap.earliest() == pytest.approx(180.1)


def test_server_transaction_lets_the_request_go_after_the_final_response() -> None:
    owner = FakeOwner()
    req = request("BYE", to_tag="b2")
    tx = ServerTransaction(req, server_key(req), DEST, "udp", owner)
    tx.user_data = "leg"
    assert tx.request is req
    tx.respond(reply(req, 200), 0.0)
    assert tx.final_sent and tx.last_status == 200
    assert tx.user_data is None
    with pytest.raises(LocalProtocolError):
        _ = tx.request
    tx.receive_request(req, 0.1)  # a retransmission is still answered from the kept bytes
    assert owner.start_lines() == ["SIP/2.0 200 OK"] * 2


class _Alarm:
    """A minimal Timed object."""

    def __init__(self, deadline: float | None) -> None:
        self.deadline = deadline
        self.fired: list[float] = []

    def handle_timer(self, now: float) -> None:
        self.fired.append(now)
        self.deadline = None


def test_timer_heap_does_not_keep_forgotten_objects_alive() -> None:
    heap = TimerHeap()
    kept = _Alarm(10.0)
    forgotten = _Alarm(5.0)
    heap.schedule(kept)
    heap.schedule(forgotten)
    del forgotten  # e.g. a call that ended with a session timer far in the future
    assert heap.earliest() == 10.0
    due = heap.pop_due(20.0)
    assert due == [kept]


def test_timer_heap_returns_each_object_once_and_in_deadline_order() -> None:
    heap = TimerHeap()
    first, second = _Alarm(1.0), _Alarm(2.0)
    heap.schedule(second)
    heap.schedule(first)
    heap.schedule(first)  # scheduled twice at the same deadline
    assert heap.pop_due(3.0) == [first, second]
    assert heap.earliest() is None


def test_timer_heap_drops_stale_entries_so_it_stays_within_twice_the_live_timers() -> None:
    heap = TimerHeap()
    live = [_Alarm(1000.0 + n) for n in range(100)]
    for alarm in live:
        heap.schedule(alarm)
    for n in range(50_000):
        # ended calls whose session refresh lay far ahead, and re-armed timers of live objects
        heap.schedule(_Alarm(900.0 + n))
        if n % 10 == 0:
            alarm = live[n % 100]
            alarm.deadline = (alarm.deadline or 0.0) + 0.5
            heap.schedule(alarm)
    assert len(heap) <= max(COMPACT_MIN, 2 * 100)
    due = heap.pop_due(1e9)
    assert sorted(due, key=lambda a: a.deadline or 0.0) == sorted(live, key=lambda a: a.deadline or 0.0)
