"""Fuzzing the parser: whatever bytes arrive, only RemoteProtocolError may escape.

Mutations start from the captured corpus, so most inputs are almost-valid SIP and reach deep into
the header parsers rather than failing on the first line.
"""

from __future__ import annotations

import random
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from waterline.sip.errors import RemoteProtocolError
from waterline.sip.message import Request, StreamFramer, error_response, make_response, parse_message

CORPUS = sorted((Path(__file__).parent / "corpus").rglob("*.sip"))
SEEDS = [path.read_bytes() for path in CORPUS]
# bytes that matter to the grammar: mutating towards them finds more edge cases than random bytes
SPECIAL = [b":", b";", b",", b"<", b">", b'"', b"\\", b"%", b"@", b"[", b"]", b"=", b"/", b" ", b"\t",
           b"\r\n", b"\r\n ", b"\n", b"\r", b"\x00", b"\xff", b"\xd5\xc5", b"?", b"&", b"*", b"0", b"99999",
           b"SIP/2.0", b"Content-Length: 99", b"l: 0", b"Via: ", b"sip:", b"tel:", b"\r\n\r\n"]


def _exercise(data: bytes) -> None:
    """Parse and touch every accessor; RemoteProtocolError is the only allowed failure."""
    try:
        message = parse_message(data)
    except RemoteProtocolError as error:
        error_response(error)
        return
    for name in ("vias", "top_via", "from_", "to", "call_id", "cseq", "contacts", "max_forwards", "expires"):
        try:
            getattr(message, name)
        except RemoteProtocolError:
            pass
    try:
        message.validate()
        if isinstance(message, Request):
            make_response(message, 200, to_tag="fz").to_bytes()
    except RemoteProtocolError:
        pass
    try:
        again = parse_message(message.to_bytes())
    except RemoteProtocolError:
        return
    assert type(again) is type(message)


def _mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.randrange(6)
        pos = rng.randrange(len(buf) + 1)
        if choice == 0 and buf:
            buf[min(pos, len(buf) - 1)] = rng.randrange(256)
        elif choice == 1:
            buf[pos:pos] = rng.choice(SPECIAL)
        elif choice == 2:
            del buf[pos : pos + rng.randint(1, 20)]
        elif choice == 3:
            end = min(len(buf), pos + rng.randint(1, 40))
            buf[pos:pos] = buf[pos:end]
        elif choice == 4:
            del buf[pos:]
        else:
            buf[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    return bytes(buf)


def test_corpus_is_loaded() -> None:
    assert len(SEEDS) >= 30


def test_mutation_loop_over_corpus() -> None:
    rng = random.Random(20240601)
    for round_ in range(3000):
        _exercise(_mutate(rng, SEEDS[round_ % len(SEEDS)]))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SEEDS), st.randoms(use_true_random=False))
def test_hypothesis_mutations(seed: bytes, rng: random.Random) -> None:
    _exercise(_mutate(rng, seed))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes(data: bytes) -> None:
    _exercise(data)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(SEEDS), min_size=1, max_size=4), st.randoms(use_true_random=False))
def test_stream_framer_on_mutated_streams(seeds: list[bytes], rng: random.Random) -> None:
    stream = _mutate(rng, b"\r\n".join(seeds)) if rng.random() < 0.7 else b"".join(seeds)
    framer = StreamFramer(max_size=4096)
    position = 0
    try:
        while position < len(stream):
            size = rng.randint(1, 300)
            for message in framer.feed(stream[position : position + size]):
                _exercise(message)
            position += size
    except RemoteProtocolError:
        pass


def test_server_still_parses_a_normal_message_after_the_storm() -> None:
    rng = random.Random(7)
    for _ in range(500):
        _exercise(_mutate(rng, SEEDS[0]))
    good = next(path.read_bytes() for path in CORPUS if path.name == "invite-carrier.sip")
    message = parse_message(good)
    assert isinstance(message, Request)
    message.validate()
