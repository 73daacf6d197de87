"""Media sessions on real loopback sockets: echo through the pacer, latching, DTMF, RTCP, port pool."""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

from waterline.rtp.dtmf import send_digit
from waterline.rtp.g711 import PCMA, PCMU
from waterline.rtp.packet import Payload, RtpPacket, parse_packet
from waterline.rtp.rtcp import (
    ReceiverReport,
    ReportBlock,
    SenderReport,
    SourceDescription,
    parse_compound,
    serialise_compound,
)
from waterline.rtp.stream import Arrival, SendStream
from waterline.telephony.media import RELATCH_AFTER, MediaEngine, MediaSession, law_for_codec
from waterline.telephony.pacer import FrameQueue, Pacer, loop_sleep_until
from waterline.telephony.rtpport import PortPool

HOST = "127.0.0.1"
RANGE = (31000, 31999)
WAIT = 3.0


def _discard(data: bytes, addr: tuple[str, int]) -> None:
    pass


def _engine(loop: asyncio.AbstractEventLoop, pool: PortPool | None = None) -> MediaEngine:
    pacer = Pacer(time.monotonic, loop_sleep_until(time.monotonic, loop), _discard)
    return MediaEngine(loop, pool or PortPool(*RANGE), pacer, random.Random(7), host=HOST,
                       clock=time.monotonic, wallclock=time.time)


@contextmanager
def _peer() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((HOST, 0))
    sock.setblocking(False)
    try:
        yield sock
    finally:
        sock.close()


def _address(sock: socket.socket) -> tuple[str, int]:
    host, port = sock.getsockname()[:2]
    return str(host), int(port)


def _run(test: Callable[[asyncio.AbstractEventLoop, MediaEngine], Awaitable[None]],
         pool: PortPool | None = None) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        engine = _engine(loop, pool)
        ticker = loop.create_task(engine.pacer.run())
        await asyncio.sleep(0)  # let the ticker start: a stop() before run() began would be forgotten
        try:
            await test(loop, engine)
        finally:
            engine.close_all()
            engine.pacer.stop()
            await asyncio.wait_for(ticker, 1.0)

    asyncio.run(main())


async def _until(condition: Callable[[], bool]) -> bool:
    """Poll ``condition`` for at most WAIT seconds (a bound, not a timing assertion)."""
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


def _drain(sock: socket.socket) -> list[tuple[bytes, tuple[str, int]]]:
    got: list[tuple[bytes, tuple[str, int]]] = []
    while True:
        try:
            data, addr = sock.recvfrom(2048)
        except BlockingIOError:
            return got
        got.append((data, addr))


def _audio(stream: SendStream, n: int, fill: int) -> list[bytes]:
    return [stream.frame(bytes([fill + i]) * 160).serialise() for i in range(n)]


def test_echo_through_the_pacer_returns_what_was_sent_from_the_session_port() -> None:
    async def test(loop: asyncio.AbstractEventLoop, engine: MediaEngine) -> None:
        session = engine.open("leg")
        assert session is not None and session.port % 2 == 0
        with _peer() as phone:
            session.configure(PCMA, 8, 101, _address(phone))
            queue = FrameQueue(10)
            session.consumers.append(lambda payload, arrival: queue.put(bytes(payload)))
            session.play(queue)
            sent = _audio(SendStream(random.Random(1), 8), 5, 0x10)
            for datagram in sent:
                phone.sendto(datagram, (HOST, session.port))
            received: list[tuple[bytes, tuple[str, int]]] = []

            def enough() -> bool:
                received.extend(_drain(phone))
                return len(received) >= 4

            assert await _until(enough)
        packets = [parse_packet(data) for data, _ in received]
        assert all(source == (HOST, session.port) for _, source in received)
        assert all(p.payload_type == 8 for p in packets)
        # the first packet of a new source is on probation (RFC 3550 A.1), the rest come back in order
        assert [bytes(p.payload) for p in packets[:4]] == [bytes([0x10 + i]) * 160 for i in range(1, 5)]
        assert [p.sequence for p in packets[:4]] == [(packets[0].sequence + i) & 0xFFFF for i in range(4)]
        assert session.stats().packets_in == 5 and session.stats().packets_out >= 4

    _run(test)


def test_session_latches_to_where_packets_really_come_from() -> None:
    async def test(loop: asyncio.AbstractEventLoop, engine: MediaEngine) -> None:
        session = engine.open("leg")
        assert session is not None
        with _peer() as nat, _peer() as advertised:
            # the SDP names one address; the phone's packets come from another (NAT)
            session.configure(PCMU, 0, None, _address(advertised))
            session.play(lambda skipped: PCMU.silence_frame())
            stream = SendStream(random.Random(2), 0)
            for datagram in _audio(stream, 3, 0x20):
                nat.sendto(datagram, (HOST, session.port))
            assert await _until(lambda: bool(_drain(nat)))
            assert session.latched and session.remote == _address(nat)
            assert session.rtcp_remote == (HOST, _address(nat)[1] + 1)

    _run(test)


def _rtp(seq: int, ssrc: int = 1, pt: int = 0, payload: bytes = b"\xff" * 160) -> bytes:
    return RtpPacket(pt, seq, seq * 160, ssrc, payload).serialise()


def test_a_second_source_is_ignored_while_the_latched_one_is_alive() -> None:
    async def test(loop: asyncio.AbstractEventLoop, engine: MediaEngine) -> None:
        session = engine.open("leg")
        assert session is not None
        session.configure(PCMU, 0, None, ("10.0.0.5", 4000))
        heard: list[int] = []
        session.consumers.append(lambda payload, arrival: heard.append(arrival.extended_seq))
        phone, intruder = ("192.0.2.1", 5000), ("198.51.100.9", 6000)
        session.receive(_rtp(1), phone, 10.0)
        session.receive(_rtp(2), phone, 10.02)
        session.receive(_rtp(3, ssrc=99), intruder, 10.03)
        assert session.remote == phone and session.foreign == 1
        # the phone went quiet: after RELATCH_AFTER the next source wins (NAT rebinding)
        session.receive(_rtp(4, ssrc=99), intruder, 10.02 + RELATCH_AFTER)
        assert session.remote == intruder and session.stats().relatched == 1
        assert heard == [2]  # seq 1 on probation; the new source's first packet too

    _run(test)


def test_rfc4733_digit_is_reported_once_despite_redundant_end_packets() -> None:
    async def test(loop: asyncio.AbstractEventLoop, engine: MediaEngine) -> None:
        session = engine.open("leg")
        assert session is not None
        digits: list[tuple[str, str]] = []
        session.on_digit = lambda digit, via: digits.append((digit, via))
        with _peer() as phone:
            session.configure(PCMA, 8, 101, _address(phone))
            stream = SendStream(random.Random(3), 8)
            packets = [p.serialise() for p in send_digit(stream, "1", payload_type=101)]
            packets += [p.serialise() for p in send_digit(stream, "#", payload_type=101)]
            assert len(packets) > 10
            for datagram in packets:
                phone.sendto(datagram, (HOST, session.port))
            assert await _until(lambda: len(digits) >= 2)
            await asyncio.sleep(0.05)  # anything still queued on the socket is handled too
        assert digits == [("1", "rfc4733"), ("#", "rfc4733")]
        assert session.stats().digits == 2

    _run(test)


def test_info_digits_go_through_the_same_handler() -> None:
    async def test(loop: asyncio.AbstractEventLoop, engine: MediaEngine) -> None:
        session = engine.open("leg")
        assert session is not None
        digits: list[tuple[str, str]] = []
        session.on_digit = lambda digit, via: digits.append((digit, via))
        session.digit("5", "info")
        assert digits == [("5", "info")]

    _run(test)


def test_other_payload_types_and_garbage_do_not_reach_consumers() -> None:
    async def test(loop: asyncio.AbstractEventLoop, engine: MediaEngine) -> None:
        session = engine.open("leg")
        assert session is not None
        session.configure(PCMU, 0, 101, ("192.0.2.1", 5000))
        heard: list[Payload] = []

        def consume(payload: Payload, arrival: Arrival) -> None:
            heard.append(payload)

        session.consumers.append(consume)
        phone = ("192.0.2.1", 5000)
        session.receive(_rtp(1), phone, 1.0)
        session.receive(_rtp(2), phone, 1.02)
        session.receive(_rtp(3, pt=13, payload=b"\x40"), phone, 1.04)  # comfort noise
        session.receive(b"\x00garbage", phone, 1.05)
        session.receive(_rtp(4, pt=101, payload=b"\x01"), phone, 1.06)  # short telephone-event
        assert len(heard) == 1 and session.stats().malformed == 2

    _run(test)


def test_plain_and_extended_packets_reach_consumers_with_their_payload() -> None:
    async def test(loop: asyncio.AbstractEventLoop, engine: MediaEngine) -> None:
        session = engine.open("leg")
        assert session is not None
        session.configure(PCMU, 0, 101, ("192.0.2.1", 5000))
        heard: list[tuple[bytes, int]] = []
        session.consumers.append(lambda data, arrival: heard.append((bytes(data), arrival.extended_seq)))
        phone = ("192.0.2.1", 5000)
        session.receive(_rtp(1, payload=b"\x01" * 160), phone, 1.0)  # probation
        session.receive(_rtp(2, payload=b"\x02" * 160), phone, 1.02)  # plain header: the fast path
        with_csrc = RtpPacket(0, 3, 480, 1, b"\x03" * 160, csrcs=(9, 10)).serialise()
        padded = RtpPacket(0, 4, 640, 1, b"\x04" * 160, marker=True, padding=4).serialise()
        session.receive(with_csrc, phone, 1.04)
        session.receive(padded, phone, 1.06)
        session.receive(_rtp(5, payload=b"")[:11], phone, 1.08)  # truncated header
        assert heard == [(b"\x02" * 160, 2), (b"\x03" * 160, 3), (b"\x04" * 160, 4)]
        stats = session.stats()
        assert (stats.packets_in, stats.malformed, stats.lost) == (4, 1, 0)

    _run(test)


def test_rtcp_reports_describe_both_directions() -> None:
    async def test(loop: asyncio.AbstractEventLoop, engine: MediaEngine) -> None:
        session = engine.open("leg")
        assert session is not None
        with _peer() as phone:
            session.configure(PCMA, 8, None, _address(phone))
            before = session.report(1.0, 1_700_000_000.0)
            first, sdes = parse_compound(before)
            assert isinstance(first, ReceiverReport) and isinstance(sdes, SourceDescription)
            assert sdes.chunks[0].cname is not None and sdes.chunks[0].cname.startswith("waterline@")
            for seq in range(10, 20):
                if seq != 15:  # one packet lost
                    session.receive(_rtp(seq, ssrc=42, pt=8), _address(phone), 1.0 + seq * 0.02)
            session.play(lambda skipped: PCMA.silence_frame())
            assert await _until(lambda: session.stats().packets_out >= 2)
            report = parse_compound(session.report(2.0, 1_700_000_001.0))
            sr = report[0]
            assert isinstance(sr, SenderReport) and sr.ssrc == session.tx.ssrc
            assert sr.reports[0].ssrc == 42 and sr.reports[0].cumulative_lost == 1
            # the phone reports 25 % loss of our stream
            block = ReportBlock(session.tx.ssrc, 64, 3, 100, 80)
            session.receive_rtcp(serialise_compound([ReceiverReport(42, (block,))]), _address(phone), 3.0,
                                 1_700_000_002.0)
        stats = session.stats()
        assert stats.lost == 1 and stats.remote_fraction_lost == 0.25 and stats.remote_jitter_ms == 10.0

    _run(test)


def test_rtcp_is_sent_to_the_port_above_the_peer_and_bye_on_close() -> None:
    """Only after media flowed: a session that carried none closes without RTCP."""

    async def test(loop: asyncio.AbstractEventLoop, engine: MediaEngine) -> None:
        rtcp_peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rtp_peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            rtcp_peer.setblocking(False)
            for _ in range(20):  # an even/odd pair of free ports for the fake phone
                rtp_peer.bind((HOST, 0))
                port = rtp_peer.getsockname()[1]
                try:
                    if port % 2:
                        raise OSError
                    rtcp_peer.bind((HOST, port + 1))
                    break
                except OSError:
                    rtp_peer.close()
                    rtp_peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            quiet = engine.open("quiet")
            assert quiet is not None
            quiet.configure(PCMU, 0, None, _address(rtp_peer))
            quiet.close()
            await asyncio.sleep(0.05)
            assert _drain(rtcp_peer) == []
            session = engine.open("leg")
            assert session is not None
            session.configure(PCMU, 0, None, _address(rtp_peer))
            session.play(lambda skipped: PCMU.silence_frame())
            assert await _until(lambda: session.stats().packets_out >= 1)
            session.close()
            got: list[tuple[bytes, tuple[str, int]]] = []

            def arrived() -> bool:
                got.extend(_drain(rtcp_peer))
                return bool(got)

            assert await _until(arrived)
            kinds = [type(p).__name__ for p in parse_compound(got[0][0])]
            assert kinds == ["SenderReport", "SourceDescription", "Bye"]
            assert got[0][1] == (HOST, session.port + 1)
        finally:
            rtp_peer.close()
            rtcp_peer.close()

    _run(test)


def _port_free(port: int) -> bool:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.bind((HOST, port))
    except OSError:
        return False
    finally:
        probe.close()
    return True


def test_the_rtcp_port_is_bound_once_media_flows_and_released_on_close() -> None:
    """A call that carries no media holds one socket; the caller's first packet brings the RTCP one."""

    async def test(loop: asyncio.AbstractEventLoop, engine: MediaEngine) -> None:
        quiet = engine.open("quiet")
        assert quiet is not None
        quiet.configure(PCMU, 0, None, (HOST, 9))
        assert not _port_free(quiet.port) and _port_free(quiet.port + 1)
        quiet.close()
        assert _port_free(quiet.port)
        session = engine.open("leg")
        assert session is not None
        with _peer() as phone:
            session.configure(PCMU, 0, None, _address(phone))
            assert _port_free(session.port + 1)
            phone.sendto(_rtp(1), (HOST, session.port))
            assert await _until(lambda: session.stats().packets_in == 1)
            assert not _port_free(session.port + 1)  # the caller's RTCP has somewhere to go now
        session.close()
        assert _port_free(session.port) and _port_free(session.port + 1)
        assert engine.rtcp_bind_failures == 0

    _run(test, PortPool(31700, 31799))


def test_a_session_that_plays_binds_its_rtcp_port_too() -> None:
    async def test(loop: asyncio.AbstractEventLoop, engine: MediaEngine) -> None:
        session = engine.open("leg")
        assert session is not None
        session.play(lambda skipped: None)
        assert not _port_free(session.port + 1)
        session.close()
        assert _port_free(session.port + 1)

    _run(test, PortPool(31700, 31799))


def test_rtcp_intervals_are_randomised_around_five_seconds() -> None:
    now = [10.0]

    async def test(loop: asyncio.AbstractEventLoop, _: MediaEngine) -> None:
        pacer = Pacer(time.monotonic, loop_sleep_until(time.monotonic, loop), _discard)
        engine = MediaEngine(loop, PortPool(31800, 31999), pacer, random.Random(11), host=HOST,
                             clock=lambda: now[0], wallclock=time.time)
        try:
            sessions = [engine.open(f"leg{i}") for i in range(40)]
            assert all(s is not None for s in sessions)
            # opened together, reporting at different times: no burst of reports every 5 s
            firsts = sorted(s.next_report - now[0] for s in sessions if s is not None)
            assert 2.5 <= firsts[0] and firsts[-1] <= 7.5 and firsts[-1] - firsts[0] > 1.0
            due = {s.call for s in sessions if s is not None and s.next_report <= 15.0}
            now[0] = 15.0
            assert engine.send_reports() == len(due) and 0 < len(due) < 40
            later = [s.next_report - 15.0 for s in sessions if s is not None and s.call in due]
            assert all(2.5 <= delay <= 7.5 for delay in later) and len(set(later)) == len(later)
            assert engine.send_reports() == 0
        finally:
            engine.close_all()

    _run(test)


def test_pool_exhaustion_and_release_on_close() -> None:
    pool = PortPool(31500, 31503)

    async def test(loop: asyncio.AbstractEventLoop, engine: MediaEngine) -> None:
        sessions = [engine.open(f"leg{i}") for i in range(2)]
        opened = [s for s in sessions if s is not None]
        assert opened, "both test ports are busy on this host"
        while engine.open("more") is not None:
            pass
        assert pool.exhausted >= 1
        first: MediaSession = opened[0]
        stats = first.close()
        assert stats.packets_in == 0 and first.closed
        assert first.close() == stats  # idempotent
        again = engine.open("again")
        assert again is not None and again.port == first.port
        assert engine.get("again") is again and engine.get("leg0") is None

    _run(test, pool)


def test_codec_names_map_to_laws() -> None:
    assert law_for_codec("pcma") is PCMA and law_for_codec("PCMU") is PCMU and law_for_codec("G722") is None


def test_sdp_addresses_that_cannot_be_sent_to_are_ignored_until_a_packet_latches() -> None:
    async def test(loop: asyncio.AbstractEventLoop, engine: MediaEngine) -> None:
        session = engine.open("leg")
        assert session is not None
        for bad in [("phone.example.com", 4000), ("\udcff\x00", 4000), ("0.0.0.0", 4000), ("::1", 4000),
                    ("10.0.0.5", 0)]:
            session.configure(PCMU, 0, None, bad)
            assert session.remote is None and session.rtcp_remote is None
        session.close()  # its RTCP BYE has nowhere to go and is not sent

    _run(test)


def test_frames_the_pacer_skipped_reach_the_outbound_tap_as_silence() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        now = [100.0]
        pacer = Pacer(lambda: now[0], loop_sleep_until(time.monotonic, loop), _discard, slots=1, max_burst=1)
        engine = MediaEngine(loop, PortPool(*RANGE), pacer, random.Random(9), host=HOST,
                             clock=time.monotonic, wallclock=time.time)
        session = engine.open("leg")
        assert session is not None
        with _peer() as phone:
            session.configure(PCMA, 8, None, _address(phone))
            recorded: list[bytes] = []
            session.outbound_tap = recorded.append
            session.play(lambda skipped: b"\x11" * 160)
            pacer.run_due(100.0)
            now[0] = 100.1  # a 100 ms stall: four periods skipped, the fifth sent
            pacer.run_due(100.1)
            session.close()
        assert recorded == [b"\x11" * 160] + [PCMA.silence_frame()] * 4 + [b"\x11" * 160]

    asyncio.run(main())


def test_open_jumps_over_ports_another_program_holds() -> None:
    held = []
    try:
        for port in range(31300, 31340):  # the first 20 pairs of the pool are taken by "someone else"
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            held.append(sock)
            sock.bind((HOST, port))
    except OSError:
        pass  # already busy on this machine: busy is what the test wants anyway

    async def test(loop: asyncio.AbstractEventLoop, engine: MediaEngine) -> None:
        session = engine.open("leg")
        assert session is not None and session.port >= 31340
        assert engine.bind_failures < 5

    try:
        _run(test, PortPool(31300, 31499))
    finally:
        for sock in held:
            sock.close()


def test_a_bridged_session_forwards_datagrams_as_they_are_and_sends_raw() -> None:
    async def test(loop: asyncio.AbstractEventLoop, engine: MediaEngine) -> None:
        session = engine.open("leg")
        assert session is not None
        heard: list[bytes] = []
        forwarded: list[bytes] = []
        session.consumers.append(lambda payload, arrival: heard.append(bytes(payload)))
        session.forward = lambda data, now: forwarded.append(data)
        with _peer() as phone:
            session.configure(PCMU, 0, 101, _address(phone))
            datagram = _rtp(1)
            phone.sendto(datagram, (HOST, session.port))
            assert await _until(lambda: bool(forwarded))
            assert forwarded == [datagram] and heard == []  # the relay has it, not the consumers
            assert session.latched and session.packets_in == 1
            session.send_raw(b"relayed")
            assert await _until(lambda: any(data == b"relayed" for data, _ in _drain(phone)))
            session.close()
            assert session.forward is None
            session.send_raw(b"late")  # a closed session sends nothing (and does not raise)

    _run(test)
