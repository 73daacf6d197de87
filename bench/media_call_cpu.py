"""CPU per call of ``bench-play`` / ``bench-record`` in the engine's own code, without SIPp (not a test).

What bench/media.py runs against SIPp, replayed in one process so the figure is the engine's CPU and
nothing else's: the sans-IO endpoint gets SIPp's INVITE (PCMA + telephone-event), ACK and the 200 to
our BYE; the :class:`~waterline.telephony.switch.Switch` answers with real RTP sockets from a
:class:`~waterline.telephony.media.MediaEngine`; the diagnostics play the 3.0 s prompt (and record, for
``bench-record``) through the shared :class:`~waterline.telephony.pacer.Pacer`, which runs on a
simulated clock (4 ms steps, no sleeping); a peer socket per call sends the caller's audio as
``g711a.pcap`` does (240 octets every 30 ms) and the session's socket callback reads it. Calls start at
``--rate`` per simulated second up to ``--calls``, so ``rate x 3 s`` are up at once, as under SIPp.

Printed per run: the main thread's CPU (``time.thread_time``) per call, split into the pacer's sends,
the RTP receive path, SIP + call set-up/tear-down, and the rest (RTCP reports); and the other threads'
CPU per call (recording files and mixing). Kernel time of the syscalls is included (sendto on loopback
also delivers the datagram), SIPp's raw sockets are not there (under SIPp every UDP datagram also
walks them: ~15 % of the engine's CPU at 150 calls/s, measured with perf). Alternate runs compare.

    .venv/bin/python bench/media_call_cpu.py [--service bench-play] [--calls 1500] [--rate 150] [--slots 20,5]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import socket
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from waterline.sip import events as ev
from waterline.sip.endpoint import Endpoint, EndpointConfig
from waterline.telephony.journal import Journal
from waterline.telephony.media import MediaEngine, MediaSession
from waterline.telephony.pacer import Pacer, loop_sleep_until
from waterline.telephony.prompt import DEFAULT_PROMPT_DIR, PromptLibrary
from waterline.telephony.recording import RecordingIndex
from waterline.telephony.rtpport import PortPool
from waterline.telephony.services import Diagnostics, RecordingKeeper
from waterline.telephony.switch import Switch

HOST = "127.0.0.1"
PORT = 5070
STEP = 0.004
PEER_PTIME = 0.030
PEER_PAYLOAD = bytes([0xD5]) * 240
CALL_LIMIT = 15.0
"""Simulated seconds a call may last before the run is declared broken (the service hangs up at ~3 s)."""


class Clock:
    """The simulated clock of the pacer, the media and the services."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _offer(media_port: int) -> bytes:
    return (
        f"v=0\r\no=bench 1 1 IN IP4 {HOST}\r\ns=bench\r\nc=IN IP4 {HOST}\r\nt=0 0\r\n"
        f"m=audio {media_port} RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
    ).encode()


def _invite(n: int, service: str, sip_port: int, media_port: int) -> bytes:
    body = _offer(media_port)
    head = (
        f"INVITE sip:{service}@{HOST}:{PORT} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {HOST}:{sip_port};branch=z9hG4bK-{n}-0\r\n"
        f"From: \"bench\" <sip:bench@{HOST}:{sip_port}>;tag={n}-1\r\n"
        f"To: <sip:{service}@{HOST}:{PORT}>\r\nCall-ID: {n}-bench@{HOST}\r\nCSeq: 1 INVITE\r\n"
        f"Contact: <sip:bench@{HOST}:{sip_port};transport=UDP>\r\nMax-Forwards: 70\r\n"
        f"Subject: media benchmark\r\nContent-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _ack(n: int, service: str, sip_port: int, to: str) -> bytes:
    return (
        f"ACK sip:{service}@{HOST}:{PORT} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {HOST}:{sip_port};branch=z9hG4bK-{n}-4\r\n"
        f"From: \"bench\" <sip:bench@{HOST}:{sip_port}>;tag={n}-1\r\nTo: {to}\r\n"
        f"Call-ID: {n}-bench@{HOST}\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def _bye_ok(bye: bytes) -> bytes:
    head = bye.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")
    keep = [line for line in head[1:] if line.split(":", 1)[0] in ("Via", "From", "To", "Call-ID", "CSeq")]
    return ("SIP/2.0 200 OK\r\n" + "\r\n".join(keep) + "\r\nContent-Length: 0\r\n\r\n").encode()


class _Peer:
    """The caller's media: sends 30 ms A-law packets to the session's port (nobody reads ours)."""

    HEADER = struct.Struct("!BBHII")

    def __init__(self, index: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the kernel drops our RTP
        self.sock.bind((HOST, 0))
        self.port = int(self.sock.getsockname()[1])
        self.ssrc = 0x5000 + index
        self.seq = 0
        self.target: tuple[str, int] | None = None
        self.session: MediaSession | None = None
        self.next_send = 0.0

    def send(self) -> None:
        assert self.target is not None
        self.sock.sendto(self.HEADER.pack(0x80, 8, self.seq & 0xFFFF, self.seq * 240, self.ssrc)
                         + PEER_PAYLOAD, self.target)
        self.seq += 1
        self.next_send += PEER_PTIME


def run(service: str, calls: int, rate: float, loop: asyncio.AbstractEventLoop, slots: int | None = None
        ) -> dict[str, float]:
    """Run ``calls`` calls; returns CPU ms per call by part, and counts."""
    clock = Clock()
    rng = random.Random(8)
    workdir = Path(tempfile.mkdtemp(prefix="media-call-cpu-"))
    pacer = (Pacer(clock, loop_sleep_until(clock, loop), lambda data, addr: None) if slots is None
             else Pacer(clock, loop_sleep_until(clock, loop), lambda data, addr: None, slots=slots))
    media = MediaEngine(loop, PortPool(30000, 39999, rng=rng), pacer, rng, host=HOST, clock=clock,
                        wallclock=time.time)
    journal = Journal(workdir / "telephony.jsonl")
    indexed: list[RecordingIndex] = []
    keeper = RecordingKeeper(workdir, journal, time.time, indexed.append)
    pool = ThreadPoolExecutor(max_workers=2)
    finishing = []

    def offload(work: object, done: object) -> None:
        finishing.append(pool.submit(work))  # type: ignore[arg-type]

    hangups: list[str] = []
    diagnostics = Diagnostics(PromptLibrary([DEFAULT_PROMPT_DIR]), keeper, hangup=hangups.append, clock=clock,
                              wallclock=time.time, bench=True, offload=offload)
    endpoint = Endpoint(EndpointConfig(host=HOST, port=PORT), rng=random.Random(7))
    switch = Switch(endpoint, journal, clock=time.time, media=media, diagnostics=diagnostics)
    switch.set_local_address(HOST, PORT)
    sip_peer = 5060
    cpu = {"send": 0.0, "receive": 0.0, "sip": 0.0, "rest": 0.0}
    peers: dict[str, _Peer] = {}  # Call-ID -> the caller's media
    incoming: list[str] = []  # legs of the INVITEs fed
    ended = 0
    sessions_seen = 0

    def feed(data: bytes) -> list[bytes]:
        endpoint.receive_datagram(data, (HOST, sip_peer), clock.now)
        event = endpoint.next_event()
        while event is not None:
            if isinstance(event, ev.IncomingCall):
                incoming.append(event.call)
            switch.handle(event, clock.now)
            event = endpoint.next_event()
        return [data for data, _, _ in endpoint.datagrams_to_send(clock.now)]

    thread_before = time.thread_time()
    process_before = time.process_time()
    started = 0
    interval = 1.0 / rate
    next_start = clock.now
    deadline = clock.now + calls / rate + CALL_LIMIT
    while (started < calls or peers) and clock.now < deadline:
        clock.now += STEP
        t0 = time.thread_time()
        # new calls: INVITE, 200 (the answer names our RTP port), ACK
        while started < calls and next_start <= clock.now:
            peer = _Peer(started)
            out = feed(_invite(started, service, sip_peer, peer.port))
            ok = next((d for d in out if d.startswith(b"SIP/2.0 200")), None)
            if ok is None:
                raise RuntimeError("the INVITE was not answered 200")
            to = ok.split(b"\r\nTo: ", 1)[1].split(b"\r\n", 1)[0].decode()
            media_port = int(ok.split(b"m=audio ", 1)[1].split(b" ", 1)[0])
            feed(_ack(started, service, sip_peer, to))
            peer.target = (HOST, media_port)
            peer.session = media.get(incoming.pop())
            peer.next_send = clock.now
            peers[f"{started}-bench@{HOST}"] = peer
            started += 1
            next_start += interval
        # the services' hang-ups (the engine runs them on the next loop pass): BYE, SIPp's 200
        while hangups:
            leg = hangups.pop()
            switch.hangup(leg, clock.now)
            for data in [d for d, _, _ in endpoint.datagrams_to_send(clock.now)]:
                if data.startswith(b"BYE "):
                    feed(_bye_ok(data))
                    call_id = data.split(b"\r\nCall-ID: ", 1)[1].split(b"\r\n", 1)[0].decode()
                    peer = peers.pop(call_id)
                    peer.sock.close()
                    ended += 1
        timer = endpoint.get_timer()
        if timer is not None and timer <= clock.now:
            endpoint.handle_timer(clock.now)
            endpoint.datagrams_to_send(clock.now)
        t1 = time.thread_time()
        pacer.run_due(clock.now)
        t2 = time.thread_time()
        # the caller's audio: the peers send (not counted), the sessions' socket callbacks read
        due = [peer for peer in peers.values() if peer.next_send <= clock.now]
        for peer in due:
            peer.send()
        t3 = time.thread_time()
        for peer in due:
            if peer.session is not None:
                peer.session._on_rtp()  # noqa: SLF001 - the loop's reader callback, called directly
        t4 = time.thread_time()
        if int(clock.now / 5) != int((clock.now - STEP) / 5):
            media.send_reports()
        t5 = time.thread_time()
        cpu["sip"] += t1 - t0
        cpu["send"] += t2 - t1
        cpu["receive"] += t4 - t3
        cpu["rest"] += t5 - t4
        sessions_seen = max(sessions_seen, len(media))
    for future in finishing:
        future.result()
    other = time.process_time() - process_before - (time.thread_time() - thread_before)
    pool.shutdown()
    journal.close()
    for peer in peers.values():
        peer.sock.close()
    if ended != calls:
        raise RuntimeError(f"only {ended} of {calls} calls ended (the service did not hang up in time)")
    per_call = {name: 1000 * value / calls for name, value in cpu.items()}
    per_call["main"] = sum(per_call.values())  # the peers' sends are not the engine's
    per_call["threads"] = 1000 * other / calls
    per_call["peak"] = float(sessions_seen)
    per_call["recordings"] = float(sum(1 for f in finishing if f.exception() is None))
    return per_call


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def main(argv: list[str] | None = None) -> int:
    """Print CPU ms per call by part, alternating the services given."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--service", default="bench-play,bench-record", help="comma-separated, alternated")
    parser.add_argument("--calls", type=int, default=1500)
    parser.add_argument("--rate", type=float, default=150.0, help="calls started per simulated second")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--slots", default="", help="comma-separated pacer slot counts to alternate "
                        "(default: the pacer's own)")
    args = parser.parse_args(argv)
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 100)  # as the engine does (engine.tune_gc)
    slot_counts: list[int | None] = [int(n) for n in args.slots.split(",") if n.strip()] or [None]
    print(f"{'service':13} {'slots':>5} {'calls':>6} {'peak':>5} {'main ms/call':>12} {'send':>6} "
          f"{'recv':>6} {'sip':>6} {'rest':>6} {'threads':>8}")
    services = [s.strip() for s in args.service.split(",") if s.strip()]
    for _ in range(min(args.rounds, 5)):
        for service, slots in [(service, slots) for service in services for slots in slot_counts]:
            async def on_loop(service: str = service, slots: int | None = slots) -> dict[str, float]:
                return run(service, args.calls, args.rate, asyncio.get_running_loop(), slots)

            with asyncio.Runner(loop_factory=_loop_factory()) as runner:
                r = runner.run(on_loop())
            shown = "-" if slots is None else str(slots)
            print(f"{service:13} {shown:>5} {args.calls:>6} {r['peak']:>5.0f} {r['main']:>12.3f} "
                  f"{r['send']:>6.3f} {r['receive']:>6.3f} {r['sip']:>6.3f} {r['rest']:>6.3f} "
                  f"{r['threads']:>8.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
