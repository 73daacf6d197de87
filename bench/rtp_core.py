"""Sans-IO RTP core benchmark: packets (or frames) per second for each per-packet operation.

One leg is 50 packets/s each way, so "legs" below is rate / 50 for one direction on one core.
Run: .venv/bin/python bench/rtp_core.py [seconds-per-case]
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable

import numpy as np

from waterline.rtp.dtmf import DtmfReceiver, send_digit
from waterline.rtp.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode, ulaw_to_alaw
from waterline.rtp.jitter import JitterBuffer
from waterline.rtp.packet import RtpPacket, parse_packet
from waterline.rtp.stream import ReceiveStream, SendStream


def _rate(work: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``work`` over about ``seconds`` of wall time."""
    count = 0
    batch = 500
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(batch):
            work()
        count += batch
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def _cases() -> dict[str, Callable[[], object]]:
    rng = random.Random(1)
    frame = bytes(rng.getrandbits(8) for _ in range(160))
    samples = np.frombuffer(bytes(rng.getrandbits(8) for _ in range(320)), dtype=np.int16).copy()
    wire = RtpPacket(8, 1000, 160_000, 0x1234, frame).serialise()
    parsed = parse_packet(wire)
    sender = SendStream(random.Random(2), 8)

    receiver = ReceiveStream(min_sequential=1)
    counter = iter(range(10**12))

    def receive() -> object:
        i = next(counter)
        return receiver.receive(RtpPacket(8, i & 0xFFFF, (i * 160) & 0xFFFFFFFF, 1, frame), i * 0.02)

    buffer: JitterBuffer[bytes] = JitterBuffer(depth=3)
    seqs = iter(range(10**12))

    def jitter() -> object:
        buffer.put(next(seqs), frame)
        return buffer.pop()

    digit_stream = SendStream(random.Random(3), 0)
    sent = [packet for digit in "0123456789*#" for packet in send_digit(digit_stream, digit)]
    dtmf_packets = [parse_packet(packet.serialise()) for packet in sent]
    dtmf = DtmfReceiver()
    position = iter(range(10**12))

    def dtmf_receive() -> object:
        i = next(position)
        return dtmf.receive(dtmf_packets[i % len(dtmf_packets)], i * 0.02)

    def full_receive_path() -> object:
        # what a relaying/recording leg does per inbound packet: parse, account, transcode
        packet = parse_packet(wire)
        return ulaw_to_alaw(packet.payload)

    return {
        "parse": lambda: parse_packet(wire),
        "serialise": parsed.serialise,
        "sender frame+serialise": lambda: sender.frame(frame).serialise(),
        "receive bookkeeping": receive,
        "jitter put+pop": jitter,
        "PCMU decode 160": lambda: ulaw_decode(frame),
        "PCMU encode 160": lambda: ulaw_encode(samples),
        "PCMA decode 160": lambda: alaw_decode(frame),
        "PCMA encode 160": lambda: alaw_encode(samples),
        "PCMU->PCMA 160": lambda: ulaw_to_alaw(frame),
        "DTMF receive": dtmf_receive,
        "parse+transcode": full_receive_path,
    }


def main() -> None:
    """Print the rate of each case and the leg-directions one core could afford at that rate."""
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    print(f"{'operation':<26}{'per second':>14}{'legs (1 dir)':>14}{'us each':>10}")
    for label, work in _cases().items():
        rate = _rate(work, seconds)
        print(f"{label:<26}{rate:>14,.0f}{rate / 50:>14,.0f}{1e6 / rate:>10.2f}")


if __name__ == "__main__":
    main()
