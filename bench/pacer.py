"""Benchmark of the shared pacer: N outbound 20 ms streams to a loopback UDP sink, on asyncio and uvloop.

Prints, per loop and N, the send lateness (p50/p99/max, an upper bound per datagram: measured when its
slot finished sending), wake-up lateness p99, datagrams sent per second against the ideal N*50, and
the CPU used (process time / wall time). Each run is bounded (``--seconds``, at most 10).

    .venv/bin/python bench/pacer.py [--seconds 5] [--streams 500 1000 2000 3000] [--slots 20]

The sink is a bound socket nobody reads: the kernel drops what overflows it, so the figures are the
sender's cost alone.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import struct
import sys
import time
from collections.abc import Callable

from waterline.telephony.pacer import Pacer, loop_sleep_until

WARM_UP = 0.5


def _datagram(index: int) -> bytes:
    header = struct.pack("!BBHII", 0x80, 8, index & 0xFFFF, index * 160, 0x10000 + index)
    return header + bytes([0xD5]) * 160


async def _run(streams: int, seconds: float, slots: int, sink: tuple[str, int]) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0))
    pacer = Pacer(time.monotonic, loop_sleep_until(time.monotonic), transport.sendto, slots=slots)
    for index in range(streams):
        datagram = _datagram(index)

        def source(skipped: int, datagram: bytes = datagram) -> bytes:
            return datagram

        pacer.add(source, sink)
    task = asyncio.create_task(pacer.run())
    await asyncio.sleep(WARM_UP)
    pacer.send_jitter.reset()
    pacer.wakeup_lateness.reset()
    sent_before = pacer.stats.frames_sent
    cpu_before, wall_before = time.process_time(), time.monotonic()
    await asyncio.sleep(seconds)
    cpu, wall = time.process_time() - cpu_before, time.monotonic() - wall_before
    sent = pacer.stats.frames_sent - sent_before
    pacer.stop()
    await asyncio.wait_for(task, 2)
    transport.close()
    jitter = pacer.send_jitter
    return {
        "p50": jitter.percentile(50) * 1000,
        "p99": jitter.percentile(99) * 1000,
        "max": jitter.max * 1000,
        "wake_p99": pacer.wakeup_lateness.percentile(99) * 1000,
        "rate": sent / wall,
        "ideal": streams * 50.0,
        "cpu": cpu / wall * 100,
        "skipped": float(pacer.stats.frames_skipped),
    }


def main() -> int:
    """Run every (loop, N) combination and print one line each."""
    parser = argparse.ArgumentParser(description="shared pacer benchmark")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--streams", type=int, nargs="+", default=[500, 1000, 2000, 3000])
    parser.add_argument("--slots", type=int, default=20)
    args = parser.parse_args()
    seconds = min(max(args.seconds, 1.0), 10.0)
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sink.bind(("127.0.0.1", 0))
    address = sink.getsockname()
    loops: list[tuple[str, Callable[[], asyncio.AbstractEventLoop]]] = [("asyncio", asyncio.new_event_loop)]
    try:
        import uvloop

        loops.append(("uvloop", uvloop.new_event_loop))
    except ImportError:  # uvloop is a dependency on Linux only
        pass
    out = sys.stdout
    out.write(f"shared pacer, {args.slots} slots per 20 ms, {seconds:.0f} s per run "
              f"after {WARM_UP} s warm-up\n")
    out.write(f"{'loop':8} {'N':>5} {'send p50':>9} {'p99':>7} {'max':>7} {'wake p99':>9} "
              f"{'pkt/s':>8} {'ideal':>8} {'skipped':>8} {'CPU %':>6}\n")
    try:
        for name, factory in loops:
            for streams in args.streams:
                with asyncio.Runner(loop_factory=factory) as runner:
                    r = runner.run(_run(streams, seconds, args.slots, address))
                out.write(f"{name:8} {streams:5d} {r['p50']:7.2f}ms {r['p99']:5.2f}ms {r['max']:5.1f}ms "
                          f"{r['wake_p99']:7.2f}ms {r['rate']:8.0f} {r['ideal']:8.0f} {r['skipped']:8.0f} "
                          f"{r['cpu']:6.1f}\n")
                out.flush()
    finally:
        sink.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
