"""In-process SIP endpoint benchmark: SIPp-like UAC calls through the sans-IO UAS, no sockets.

Each call is what SIPp's built-in ``-sn uac`` scenario sends to ``*43``: INVITE with an SDP offer, ACK
with the To tag of our 200 OK, BYE; the answer goes through ``Endpoint.receive_datagram`` → events →
``answer`` → ``datagrams_to_send``, just as the hub drives it. A simulated clock advances by 1/rate per
call and the endpoint's timers are fired when due, so lingering transactions (Timer I/J, 32 s) pile up
as they would at that rate and their heap work is counted. Prints calls/s and CPU µs per call (process
time, so other load on a shared machine disturbs it less than wall time).

    .venv/bin/python bench/sip_endpoint.py                 # 3 rounds of 30,000 calls at a simulated 3,000/s
    .venv/bin/python bench/sip_endpoint.py --calls 60000 --rounds 5 --sdp
    .venv/bin/python bench/sip_endpoint.py --profile       # cProfile of one round, top functions

``--sdp`` answers like the switch does (parse the offer, build the answer) instead of a fixed body;
``--switch`` hands the events to the engine's real ``telephony.switch.Switch`` (SDP answer, call table,
journal lines kept in memory), i.e. everything the server does per call except the event loop and
sockets. The figures include this script's own message formatting (~2 µs per call).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import time

from waterline.sip import events as ev
from waterline.sip.endpoint import Endpoint, EndpointConfig
from waterline.sip.sdp import answer_offer, parse_sdp
from waterline.sip.transaction import TimerConfig
from waterline.telephony.engine import tune_gc
from waterline.telephony.journal import Journal
from waterline.telephony.switch import Switch

SERVER = ("127.0.0.1", 5060)
CLIENT = ("127.0.0.1", 5061)
OFFER = (
    b"v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)
ANSWER = (
    b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 20000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
)
# SIPp's uac scenario, headers as SIPp writes them ([pid]SIPpTag00[call_number], [call_number]-[pid]@ip)
INVITE = (
    "INVITE sip:*43@127.0.0.1:5060 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-4242-{n}-0\r\n"
    "From: sipp <sip:sipp@127.0.0.1:5061>;tag=4242SIPpTag00{n}\r\n"
    "To: *43 <sip:*43@127.0.0.1:5060>\r\n"
    "Call-ID: {n}-4242@127.0.0.1\r\n"
    "CSeq: 1 INVITE\r\n"
    "Contact: sip:sipp@127.0.0.1:5061\r\n"
    "Max-Forwards: 70\r\n"
    "Subject: Performance Test\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: {length}\r\n\r\n"
)
IN_DIALOG = (
    "{method} sip:*43@127.0.0.1:5060 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-4242-{n}-{step}\r\n"
    "From: sipp <sip:sipp@127.0.0.1:5061>;tag=4242SIPpTag00{n}\r\n"
    "To: *43 <sip:*43@127.0.0.1:5060>;tag={tag}\r\n"
    "Call-ID: {n}-4242@127.0.0.1\r\n"
    "CSeq: {cseq} {method}\r\n"
    "Contact: sip:sipp@127.0.0.1:5061\r\n"
    "Max-Forwards: 70\r\n"
    "Subject: Performance Test\r\n"
    "Content-Length: 0\r\n\r\n"
)


class Uas:
    """The endpoint plus a call-control stand-in that answers every IncomingCall."""

    def __init__(self, sdp: bool, switch: bool = False) -> None:
        config = EndpointConfig(host=SERVER[0], port=SERVER[1], timers=TimerConfig())
        self.endpoint = Endpoint(config, rng=random.Random(7))
        self.switch = Switch(self.endpoint, Journal(None), time.time) if switch else None
        self.sdp = sdp
        self.sessions = 0
        self.unexpected: list[str] = []

    def pump(self, now: float) -> list[bytes]:
        """Drain events (answering calls) and return what the endpoint sends, as the hub does."""
        endpoint = self.endpoint
        event = endpoint.next_event()
        while event is not None:
            if self.switch is not None:
                self.switch.handle(event, now)
            elif isinstance(event, ev.IncomingCall):
                endpoint.answer(event.call, self._answer(event.sdp_offer), now)
            elif not isinstance(event, ev.CallConfirmed | ev.CallEnded):
                self.unexpected.append(type(event).__name__)
            event = endpoint.next_event()
        return [data for data, _addr, _transport in endpoint.datagrams_to_send(now)]

    def _answer(self, offer: bytes | None) -> bytes:
        if not self.sdp or offer is None:
            return ANSWER
        self.sessions += 1
        answer, _ = answer_offer(parse_sdp(offer), local_ip=SERVER[0], local_port=20000,
                                 session_id=str(self.sessions), session_version=1)
        return answer.to_bytes()


def _to_tag(ok: bytes) -> str:
    start = ok.index(b"\nTo:")
    end = ok.index(b"\r\n", start + 1)
    line = ok[start:end]
    return line[line.index(b";tag=") + 5 :].decode()


def run_calls(uas: Uas, first: int, calls: int, rate: float, now: float) -> tuple[float, int]:
    """Run ``calls`` calls numbered from ``first``; returns the simulated clock and failures."""
    endpoint = uas.endpoint
    step = 1.0 / rate
    failures = 0
    invite_head = INVITE.replace("{length}", str(len(OFFER)))
    for n in range(first, first + calls):
        now += step
        deadline = endpoint.get_timer()
        if deadline is not None and deadline <= now:
            endpoint.handle_timer(now)
            uas.pump(now)
        endpoint.receive_datagram(invite_head.replace("{n}", str(n)).encode() + OFFER, CLIENT, now)
        replies = uas.pump(now)
        if not replies or not replies[-1].startswith(b"SIP/2.0 200"):
            failures += 1
            continue
        tag = _to_tag(replies[-1])
        endpoint.receive_datagram(
            IN_DIALOG.format(method="ACK", n=n, step=0, tag=tag, cseq=1).encode(), CLIENT, now
        )
        uas.pump(now)
        endpoint.receive_datagram(
            IN_DIALOG.format(method="BYE", n=n, step=2, tag=tag, cseq=2).encode(), CLIENT, now
        )
        replies = uas.pump(now)
        if not replies or not replies[-1].startswith(b"SIP/2.0 200"):
            failures += 1
    return now, failures


def main(argv: list[str] | None = None) -> int:
    """Run the rounds and print one line per round."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=30_000, help="calls per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=float, default=3000.0, help="simulated calls/s (drives the clock)")
    parser.add_argument("--sdp", action="store_true", help="parse the offer and build the answer per call")
    parser.add_argument("--switch", action="store_true", help="answer through the engine's Switch")
    parser.add_argument("--profile", action="store_true", help="cProfile one round instead")
    args = parser.parse_args(argv)
    tune_gc()  # the engine's garbage-collector settings, so the figures are the engine's
    uas = Uas(args.sdp, args.switch)
    now = 1000.0
    first = 0
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        run_calls(uas, first, args.calls, args.rate, now)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        return 0
    print(f"{'round':>5} {'calls':>7} {'failed':>6} {'calls/s':>9} {'cpu us/call':>11} {'live tx':>8}")
    for round_number in range(1, args.rounds + 1):
        wall, cpu = time.perf_counter(), time.process_time()
        now, failures = run_calls(uas, first, args.calls, args.rate, now)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        first += args.calls
        print(f"{round_number:>5} {args.calls:>7} {failures:>6} {args.calls / wall:>9,.0f} "
              f"{cpu / args.calls * 1e6:>11.1f} {uas.endpoint.transactions():>8}")
    if uas.unexpected:
        print("unexpected events:", sorted(set(uas.unexpected)))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
