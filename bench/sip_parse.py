"""SIP message layer benchmark: parse (+ the accessors a UAS touches) and serialise rates per message kind.

Run: .venv/bin/python bench/sip_parse.py [seconds-per-case]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from waterline.sip.message import Request, make_response, parse_message

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "sip" / "corpus" / "valid"
CASES = {
    "INVITE": "invite-carrier.sip",
    "ACK": "ack.sip",
    "BYE": "bye.sip",
    "200 OK": "ok-with-sdp.sip",
}


def _rate(work: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``work`` over about ``seconds`` of wall time."""
    count = 0
    batch = 200
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(batch):
            work()
        count += batch
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def _parse_and_touch(data: bytes) -> Callable[[], object]:
    def work() -> object:
        message = parse_message(data)
        # what a transaction/dialog layer reads on every message
        return (message.top_via.branch, message.call_id, message.cseq, message.from_.tag, message.to.tag)

    return work


def _respond(request: Request) -> Callable[[], object]:
    def work() -> object:
        return make_response(request, 200, to_tag="abc123").to_bytes()

    return work


def main() -> None:
    """Print parse, parse+accessors and serialise rates for each case."""
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    print(f"{'message':<10}{'parse/s':>12}{'parse+acc/s':>14}{'to_bytes/s':>13}{'response/s':>13}")
    for label, name in CASES.items():
        data = (CORPUS / name).read_bytes()
        parsed = parse_message(data)
        parse_rate = _rate(partial(parse_message, data), seconds)
        access_rate = _rate(_parse_and_touch(data), seconds)
        serialise_rate = _rate(parsed.to_bytes, seconds)
        if isinstance(parsed, Request):
            response_rate = _rate(_respond(parsed), seconds)
            response = f"{response_rate:>13,.0f}"
        else:
            response = f"{'-':>13}"
        print(f"{label:<10}{parse_rate:>12,.0f}{access_rate:>14,.0f}{serialise_rate:>13,.0f}{response}")


if __name__ == "__main__":
    main()
