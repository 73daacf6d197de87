"""Per-packet CPU of the media session paths on real loopback sockets (not a test: it prints figures).

Opens N sessions of a :class:`~waterline.telephony.media.MediaEngine` (real RTP/RTCP sockets) that
play the shipped 3.0 s prompt to N peer sockets, and drives the shared pacer with a simulated clock
(no sleeping): the figure is process CPU per datagram sent, kernel ``sendto`` included, per 20 ms
frame period (best and median: the best is the least disturbed by other load on a shared machine). The peers
then send one frame each back to their session, and the receive path (parse, latch, statistics,
consumers) is timed the same way, per datagram, by calling the sessions' socket callbacks directly.
Finally the set-up cost: close of a session, and open of one. CPU time, so other load on a shared
machine disturbs the figures less.

    .venv/bin/python bench/media_session.py [--sessions 750] [--seconds 3] [--dry]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import socket
import struct
import time

from waterline.rtp.g711 import PCMA
from waterline.telephony.media import MediaEngine, MediaSession
from waterline.telephony.pacer import Pacer, loop_sleep_until
from waterline.telephony.prompt import DEFAULT_PROMPT_DIR, Player, PromptLibrary
from waterline.telephony.rtpport import PortPool
from waterline.telephony.services import PlayerFeed

HOST = "127.0.0.1"


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _discard(data: bytes, addr: tuple[str, int]) -> None:
    pass


def _drain(sock: socket.socket) -> int:
    count = 0
    try:
        while True:
            sock.recv(2048)
            count += 1
    except BlockingIOError:
        return count


def _spread(per_datagram: list[float]) -> str:
    ordered = sorted(per_datagram)
    return f"best {ordered[0] * 1e6:6.2f} us, median {ordered[len(ordered) // 2] * 1e6:6.2f} us"


def main() -> None:
    """Print CPU per datagram sent, per datagram received, and per session set-up."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=750)
    parser.add_argument("--seconds", type=float, default=3.0, help="simulated seconds of sending")
    parser.add_argument("--dry", action="store_true",
                        help="send nowhere: the Python side of the send path alone, without the syscall")
    args = parser.parse_args()
    loop = asyncio.new_event_loop()
    clock = _Clock()
    pacer = Pacer(clock, loop_sleep_until(clock, loop), _discard)
    engine = MediaEngine(loop, PortPool(40000, 49999), pacer, random.Random(1), host=HOST, clock=clock,
                         wallclock=time.time)
    prompt = PromptLibrary([DEFAULT_PROMPT_DIR]).get("bench_3s")
    peers: list[socket.socket] = []
    sessions: list[MediaSession] = []
    for _ in range(args.sessions):
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        peer.bind((HOST, 0))
        peer.setblocking(False)
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        session = engine.open("call")
        assert session is not None
        engine.forget(session)  # one key for all: keep them out of the engine's table, close them below
        session.configure(PCMA, PCMA.payload_type, 101, peer.getsockname()[:2])
        session.play(PlayerFeed(Player([prompt], PCMA, barge_in=""), clock))
        if args.dry:
            session._paced.send = _discard  # noqa: SLF001 - a benchmark's way around the socket
        peers.append(peer)
        sessions.append(session)

    # -- send: the pacer's ticks over simulated time, 1 ms steps; CPU per 20 ms frame period (each
    # session sends once), whose best is the least disturbed by other load on a shared machine
    sent = 0
    periods: list[float] = []
    for _ in range(int(args.seconds * 50)):
        before = time.process_time()
        in_period = 0
        for _ in range(20):
            clock.now += 0.001
            in_period += pacer.run_due(clock.now)
        periods.append((time.process_time() - before) / max(in_period, 1))
        sent += in_period
        for peer in peers:
            _drain(peer)
    print(f"send:    {sent:>8} datagrams  {_spread(periods)} CPU each (pacer + session + sendto)")

    # -- receive: each peer sends frames to its session; the sessions' reader callbacks take them
    header = struct.Struct("!BBHII")
    payload = bytes([0xD5]) * 160
    rounds = 50
    received = 0
    periods = []
    targets = [("127.0.0.1", s.port) for s in sessions]
    for n in range(rounds):
        for index, peer in enumerate(peers):
            peer.sendto(header.pack(0x80, 8, n, n * 160, 0x1000 + index) + payload, targets[index])
        clock.now += 0.02
        before = time.process_time()
        for session in sessions:
            session._on_rtp()  # noqa: SLF001 - the loop's reader callback, called directly
        periods.append((time.process_time() - before) / len(sessions))
        received += len(sessions)
    print(f"receive: {received:>8} datagrams  {_spread(periods)} CPU each (recvfrom + session)")

    # -- set-up and tear-down
    before = time.process_time()
    for session in sessions:
        session.close()
    closed = time.process_time() - before
    before = time.process_time()
    opened = [engine.open(f"c{i}") for i in range(args.sessions)]
    cpu_open = time.process_time() - before
    per_session = 1e6 / args.sessions
    print(f"session: open {cpu_open * per_session:6.1f} us, close {closed * per_session:6.1f} us")
    for session in opened:
        if session is not None:
            session.close()
    engine.close_all()
    for peer in peers:
        peer.close()
    loop.close()


if __name__ == "__main__":
    main()
