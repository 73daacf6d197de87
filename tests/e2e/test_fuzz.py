"""Fuzz: thousands of malformed datagrams (mutations of real messages), then a normal call still works."""

from __future__ import annotations

import random
import socket
import time
from pathlib import Path

import pytest
from harness import SipServer, run_sipp, sip_ping, start_server

pytestmark = pytest.mark.sipp

MESSAGES = 3000
TCP_MESSAGES = 200
SEED = 20240917


def _corpus(port: int) -> list[bytes]:
    """Real messages of every kind the engine meets, as captured from SIPp and desk phones."""
    target = f"127.0.0.1:{port}"
    sdp = (
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        "m=audio 40000 RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
        "a=fmtp:101 0-16\r\na=ptime:20\r\n"
    )
    common = (
        "Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-fz{n};rport\r\n"
        'From: "张三" <sip:13800000000@127.0.0.1>;tag=f{n}\r\n'
        f"To: <sip:*43@{target}>\r\n"
        "Call-ID: fuzz-{n}@127.0.0.1\r\n"
        "Max-Forwards: 70\r\n"
    )
    texts = [
        f"INVITE sip:%2A43@{target} SIP/2.0\r\n{common}CSeq: 1 INVITE\r\nContact: <sip:fz@127.0.0.1:5999>\r\n"
        f"Content-Type: application/sdp\r\nContent-Length: {len(sdp)}\r\n\r\n{sdp}",
        f"OPTIONS sip:{target} SIP/2.0\r\n{common}CSeq: 2 OPTIONS\r\nAccept: application/sdp\r\n"
        "Content-Length: 0\r\n\r\n",
        f"REGISTER sip:{target} SIP/2.0\r\n{common}CSeq: 3 REGISTER\r\nContact: <sip:1001@127.0.0.1:5999>"
        ";expires=600\r\nAuthorization: Digest username=\"1001\", realm=\"waterline\", nonce=\"abc\", "
        f"uri=\"sip:{target}\", response=\"0123456789abcdef0123456789abcdef\", algorithm=MD5\r\n"
        "Content-Length: 0\r\n\r\n",
        f"BYE sip:*43@{target} SIP/2.0\r\n{common}CSeq: 4 BYE\r\nContent-Length: 0\r\n\r\n",
        f"CANCEL sip:*43@{target} SIP/2.0\r\n{common}CSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n",
        f"ACK sip:*43@{target} SIP/2.0\r\n{common}CSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
        f"INFO sip:*43@{target} SIP/2.0\r\n{common}CSeq: 5 INFO\r\nContent-Type: application/dtmf-relay\r\n"
        "Content-Length: 24\r\n\r\nSignal=5\r\nDuration=160\r\n",
        f"SIP/2.0 200 OK\r\n{common}CSeq: 6 OPTIONS\r\nContent-Length: 0\r\n\r\n",
        # Compact header forms.
        f"INVITE sip:*43@{target} SIP/2.0\r\nv: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-c{{n}}\r\n"
        f"f: <sip:a@127.0.0.1>;tag=c{{n}}\r\nt: <sip:*43@{target}>\r\ni: compact-{{n}}\r\nCSeq: 1 INVITE\r\n"
        f"m: <sip:a@127.0.0.1:5999>\r\nc: application/sdp\r\nl: {len(sdp)}\r\n\r\n{sdp}",
    ]
    return [text.encode("utf-8") for text in texts]


def _mutate(message: bytes, rng: random.Random) -> bytes:
    """One random corruption, chosen among the kinds of damage that reach a real SIP edge."""
    data = bytearray(message)
    lines = message.split(b"\r\n")
    kind = rng.randrange(14)
    if kind == 0:  # flipped bytes
        for _ in range(rng.randint(1, 12)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return bytes(data)
    if kind == 1:  # truncated
        return bytes(data[: rng.randrange(len(data))])
    if kind == 2:  # a line dropped (often a mandatory header)
        del lines[rng.randrange(len(lines))]
        return b"\r\n".join(lines)
    if kind == 3:  # a line repeated many times
        index = rng.randrange(len(lines))
        lines[index:index] = [lines[index]] * rng.randint(2, 60)
        return b"\r\n".join(lines)
    if kind == 4:  # random bytes inserted
        at = rng.randrange(len(data))
        data[at:at] = rng.randbytes(rng.randint(1, 40))
        return bytes(data)
    if kind == 5:  # hostile header values
        hostile = rng.choice([
            b"Content-Length: -1", b"Content-Length: 99999999999999999999", b"Content-Length: 12abc",
            b"CSeq: abc INVITE", b"CSeq: 4294967296 INVITE", b"CSeq: 1 BYE", b"Max-Forwards: 0",
            b"Max-Forwards: -5", b"Via: SIP/2.0/UDP 127.0.0.1:99999;branch=z9hG4bK-p", b"Via: garbage",
            b"Via: SIP/2.0/UDP [::1;branch=x", b"From: <sip:@>;tag=", b"To: \"unterminated <sip:x@y>",
            b"Call-ID:", b"Expires: -1", b"Contact: *", b"Require: 100rel, timer, foo",
            b"Content-Type: application/x-unknown", b"Authorization: Digest nonce=\"\\", b"Route: <sip:;lr>",
        ])
        lines.insert(rng.randrange(1, len(lines)), hostile)
        return b"\r\n".join(lines)
    if kind == 6:  # lines swapped
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
        return b"\r\n".join(lines)
    if kind == 7:  # mangled start line
        lines[0] = rng.choice([
            b"INVITE sip:*43@127.0.0.1 SIP/3.0", b"INVITE  SIP/2.0", b"INVITE", b"SIP/2.0 abc OK",
            b"SIP/2.0 99 Too Low", b"FOO sip:x SIP/2.0", b"INVITE <sip:x> SIP/2.0", b"\x00\x01\x02",
            b"invite sip:*43@127.0.0.1 sip/2.0", b"INVITE sip:%zz@127.0.0.1 SIP/2.0",
        ])
        return b"\r\n".join(lines)
    if kind == 8:  # pure noise
        return rng.randbytes(rng.randint(0, 1400))
    if kind == 9:  # one enormous header
        lines.insert(1, b"X-Padding: " + b"A" * rng.randint(1000, 60000))
        return b"\r\n".join(lines)
    if kind == 10:  # GBK bytes where UTF-8 is expected (Chinese carriers do this)
        lines.insert(1, "From: \"李四\" <sip:1@127.0.0.1>;tag=g".encode("gbk"))
        return b"\r\n".join(lines)
    if kind == 11:  # bare LF line ends, folding
        return message.replace(b"\r\n", rng.choice([b"\n", b"\r\n ", b"\r", b"\r\n\t"]), rng.randint(1, 6))
    if kind == 12:  # body without blank line / body longer than Content-Length
        return message + rng.randbytes(rng.randint(1, 200))
    return b"\x00" * rng.randint(1, 100)  # NULs


def _fuzz_udp(server: SipServer, rng: random.Random, corpus: list[bytes]) -> int:
    sent = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        for n in range(MESSAGES):
            message = rng.choice(corpus).replace(b"{n}", str(n).encode())
            try:
                sock.sendto(_mutate(message, rng)[:65000], (server.host, server.port))
                sent += 1
            except OSError:
                pass  # e.g. an ICMP error reported on this socket: the fuzzer does not care
            if n % 100 == 99:
                # Drain whatever came back and let the server breathe: a fuzz run, not a flood test.
                try:
                    while sock.recv(65535):
                        pass
                except (BlockingIOError, ConnectionRefusedError):
                    pass
                time.sleep(0.02)
    return sent


def _fuzz_tcp(server: SipServer, rng: random.Random, corpus: list[bytes]) -> None:
    for batch in range(TCP_MESSAGES // 20):
        try:
            with socket.create_connection((server.host, server.port), timeout=2) as sock:
                for n in range(20):
                    message = rng.choice(corpus).replace(b"{n}", f"t{batch}-{n}".encode())
                    sock.sendall(_mutate(message, rng)[:65000])
        except OSError:
            pass  # the server may close a connection it cannot frame: that is the expected defence


def test_malformed_flood_leaves_the_engine_serving(tmp_path: Path, sipp_available: None) -> None:
    server = start_server(tmp_path / "engine")
    sent = 0
    try:
        rng = random.Random(SEED)
        corpus = _corpus(server.port)
        sent = _fuzz_udp(server, rng, corpus)
        _fuzz_tcp(server, rng, corpus)
        assert sent > MESSAGES * 0.9
        assert server.alive(), server.stderr()
        assert sip_ping(server.host, server.port, timeout=2.0) == b"SIP/2.0 200 OK"
        result = run_sipp(server, tmp_path / "sipp", "-sn", "uac", "-s", "*43", calls=5, rate=10)
        assert result.returncode == 0, result.output[-3000:]
        assert result.count("SuccessfulCall(C)") == 5
        assert server.alive()
        # No input may have made the SIP stack raise: the hub logs such a bug with its traceback.
        assert "Traceback" not in server.stderr(), server.stderr()[-5000:]
    finally:
        assert server.stop() == 0, server.stderr()[-3000:]
    [stopped] = [entry for entry in server.journal() if entry["event"] == "engine_stopped"]
    # The flood really reached the SIP stack, and it sorted junk from answerable requests.
    assert int(str(stopped["sip_received"])) >= sent * 0.9
    assert int(str(stopped["sip_garbage_dropped"])) > 0 and int(str(stopped["sip_bad_requests"])) > 0
    assert stopped["errors"] == 0
