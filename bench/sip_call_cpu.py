"""CPU cost of one SIPp-style call in the SIP core, without sockets (not a test: it prints its figures).

Feeds the sans-IO endpoint the exact INVITE / ACK / BYE that SIPp's built-in ``uac`` scenario sends to
``*43`` and measures process CPU time per call, twice: with a trivial call control that answers with a
fixed SDP (the endpoint alone: parsing, transactions, dialogs, serialising), with the engine's
:class:`~waterline.telephony.switch.Switch` (adds SDP offer/answer and the journal), and with the switch
plus a real :class:`~waterline.telephony.media.MediaEngine` and the ``*43`` echo service on a running
event loop (real RTP sockets bound, watched and closed per call, as in the engine). The SIP sockets and
the loop's own work come on top (see bench/sip_cps.py). CPU time rather than wall time, so other load
on a shared machine disturbs the figures less.

    .venv/bin/python bench/sip_call_cpu.py [--calls 20000] [--modes fixed,switch,media]

At 3,000 calls/s on one core the whole process may spend 333 µs per call; at 6,000, 167 µs.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import sys
import time
from pathlib import Path

from waterline.sip import events as ev
from waterline.sip.endpoint import Endpoint, EndpointConfig
from waterline.telephony.journal import Journal
from waterline.telephony.media import MediaEngine
from waterline.telephony.pacer import Pacer, loop_sleep_until
from waterline.telephony.prompt import DEFAULT_PROMPT_DIR, PromptLibrary
from waterline.telephony.rtpport import PortPool
from waterline.telephony.services import Diagnostics, RecordingKeeper
from waterline.telephony.switch import Switch

PEER = ("127.0.0.1", 5060)
OFFER = (
    b"v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)


def _invite(n: int, port: int) -> bytes:
    head = (
        f"INVITE sip:*43@127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-1-{n}-0\r\n"
        f"From: sipp <sip:sipp@127.0.0.1:5060>;tag=1SIPpTag00{n}\r\n"
        f"To: *43 <sip:*43@127.0.0.1:{port}>\r\nCall-ID: {n}-1@127.0.0.1\r\nCSeq: 1 INVITE\r\n"
        "Contact: sip:sipp@127.0.0.1:5060\r\nMax-Forwards: 70\r\nSubject: Performance Test\r\n"
        f"Content-Type: application/sdp\r\nContent-Length: {len(OFFER)}\r\n\r\n"
    )
    return head.encode() + OFFER


def _in_dialog(method: str, cseq: int, n: int, port: int, to: str, branch: int) -> bytes:
    return (
        f"{method} sip:*43@127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-1-{n}-{branch}\r\n"
        f"From: sipp <sip:sipp@127.0.0.1:5060>;tag=1SIPpTag00{n}\r\nTo: {to}\r\n"
        f"Call-ID: {n}-1@127.0.0.1\r\nCSeq: {cseq} {method}\r\nContact: sip:sipp@127.0.0.1:5060\r\n"
        "Max-Forwards: 70\r\nSubject: Performance Test\r\nContent-Length: 0\r\n\r\n"
    ).encode()


class FixedAnswer:
    """Call control reduced to nothing: answer every call with the same SDP."""

    def __init__(self, endpoint: Endpoint) -> None:
        self._endpoint = endpoint

    def handle(self, event: object, now: float) -> None:
        """Answer incoming calls."""
        if isinstance(event, ev.IncomingCall):
            self._endpoint.send(ev.Answer(event.call, OFFER), now)


def _discard(data: bytes, addr: tuple[str, int]) -> None:
    pass


def _media_switch(endpoint: Endpoint, loop: asyncio.AbstractEventLoop) -> Switch:
    """The engine's *43 set-up: a media engine on real loopback sockets and the diagnostics."""
    rng = random.Random(8)
    pacer = Pacer(time.monotonic, loop_sleep_until(time.monotonic, loop), _discard)
    media = MediaEngine(loop, PortPool(20000, 30000, rng=rng), pacer, rng, host="127.0.0.1",
                        clock=time.monotonic, wallclock=time.time)
    journal = Journal(None)
    keeper = RecordingKeeper(Path("/nonexistent"), journal, time.time)
    diagnostics = Diagnostics(PromptLibrary([DEFAULT_PROMPT_DIR]), keeper, hangup=lambda leg: None,
                              clock=time.monotonic, wallclock=time.time, bench=True)
    return Switch(endpoint, journal, clock=time.time, media=media, diagnostics=diagnostics)


def run(mode: str, calls: int) -> float:
    """CPU µs per call for ``calls`` calls (clock advancing 1 ms per call, timers fired as due)."""
    if mode == "media":
        async def on_loop() -> float:
            return _run(mode, calls, asyncio.get_running_loop())

        return asyncio.run(on_loop())
    return _run(mode, calls, None)


def _run(mode: str, calls: int, loop: asyncio.AbstractEventLoop | None) -> float:
    port = 5070
    endpoint = Endpoint(EndpointConfig(host="127.0.0.1", port=port), rng=random.Random(7))
    control: FixedAnswer | Switch
    if mode == "fixed":
        control = FixedAnswer(endpoint)
    elif loop is None:
        control = Switch(endpoint, Journal(None), clock=time.time)
    else:
        control = _media_switch(endpoint, loop)
    now = 1000.0

    def feed(data: bytes) -> list[tuple[bytes, tuple[str, int], str]]:
        endpoint.receive_datagram(data, PEER, now)
        event = endpoint.next_event()
        while event is not None:
            control.handle(event, now)
            event = endpoint.next_event()
        return endpoint.datagrams_to_send(now)

    started = time.process_time()
    for n in range(calls):
        sent = feed(_invite(n, port))
        ok = next(data for data, _, _ in sent if data.startswith(b"SIP/2.0 200"))
        to = ok.split(b"\r\nTo: ", 1)[1].split(b"\r\n", 1)[0].decode()
        feed(_in_dialog("ACK", 1, n, port, to, 4))
        bye_answer = feed(_in_dialog("BYE", 2, n, port, to, 6))
        if not bye_answer or not bye_answer[0][0].startswith(b"SIP/2.0 200"):
            raise RuntimeError("the BYE was not answered 200: the benchmark is not measuring a call")
        now += 0.001
        deadline = endpoint.get_timer()
        if deadline is not None and deadline <= now:
            endpoint.handle_timer(now)
            endpoint.datagrams_to_send(now)
    return (time.process_time() - started) / calls * 1e6


def main(argv: list[str] | None = None) -> int:
    """Print µs of CPU per call: endpoint alone, with the switch, with switch and media; twice."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--modes", default="fixed,switch,media",
                        help="comma-separated, each run twice in turn: fixed,switch,media")
    args = parser.parse_args(argv)
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 100)  # as the engine does (engine.tune_gc)
    print(f"{'call control':14} {'calls':>7} {'CPU us/call':>12}")
    names = {"fixed": "fixed answer", "switch": "switch (*43)", "media": "switch+media"}
    modes = [mode.strip() for mode in args.modes.split(",") if mode.strip()]
    if not modes or set(modes) - set(names):
        parser.error(f"--modes takes {','.join(names)}")
    for mode in modes * 2:
        print(f"{names[mode]:14} {args.calls:>7} {run(mode, args.calls):>12.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
