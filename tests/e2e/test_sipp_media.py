"""End to end media (issue 4): SIPp plays G.711 and RFC 4733 from pcaps against the engine's services.

SIPp's pcap play needs root, and so does the loopback sniffer that counts the echo coming back (SIPp
has no RTP receive counter): both are what this machine gives the tests.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from harness import SippResult, SipServer, run_sipp, start_server

from waterline.adapters.db.engine import create_engine, create_session_factory
from waterline.adapters.db.recordings import RecordingRepository
from waterline.config import Settings

pytestmark = pytest.mark.sipp

MEDIA_RANGE = (32000, 32699)
"""The engine's RTP ports in these tests: below Linux's ephemeral range, away from the default range
that other engines on the machine may be using."""
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


@pytest.fixture(scope="module")
def media_server(tmp_path_factory: pytest.TempPathFactory, sipp_available: None) -> Iterator[SipServer]:
    """An engine with the diagnostic services on."""
    if os.geteuid() != 0:
        pytest.skip("SIPp pcap play needs root")
    env = {"WATERLINE_DIAGNOSTICS": "1", "WATERLINE_MEDIA__PORT_MIN": str(MEDIA_RANGE[0]),
           "WATERLINE_MEDIA__PORT_MAX": str(MEDIA_RANGE[1])}
    server = start_server(tmp_path_factory.mktemp("media-engine"), env=env)
    try:
        yield server
    finally:
        server.stop()


def _media_port() -> int:
    """An even UDP port (and the odd one above) free right now, for SIPp's -mp."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port % 2 == 0 and port + 3 < 65536:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a, \
                    socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b:
                try:
                    a.bind(("127.0.0.1", port))
                    b.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free even UDP port")


class RtpSniffer:
    """Counts RTP datagrams on the loopback sent from the engine's media range (an AF_PACKET socket).

    Bounded: it runs until stopped or ``limit`` seconds, and keeps at most ``cap`` records.
    """

    def __init__(self, ports: tuple[int, int], limit: float = 30.0, cap: int = 100_000) -> None:
        self.ports = ports
        self.limit = limit
        self.cap = cap
        self.records: list[tuple[int, int, int]] = []  # (source port, destination port, payload type)
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self._sock.bind(("lo", 0))
        self._sock.settimeout(0.1)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RtpSniffer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()

    def _run(self) -> None:
        deadline = time.monotonic() + self.limit
        low, high = self.ports
        while not self._stop.is_set() and time.monotonic() < deadline and len(self.records) < self.cap:
            try:
                frame, info = self._sock.recvfrom(65535)
            except TimeoutError:
                continue
            if info[2] == PACKET_OUTGOING:
                continue  # loopback shows each datagram twice: count the delivered copy
            # Ethernet (14) + IPv4 header + UDP (8) + RTP
            if len(frame) < 14 + 20 + 8 + 12 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
                continue
            ihl = (frame[14] & 0x0F) * 4
            source, destination = struct.unpack_from("!HH", frame, 14 + ihl)
            if low <= source <= high and source % 2 == 0:
                rtp = 14 + ihl + 8
                if len(frame) >= rtp + 12 and frame[rtp] >> 6 == 2:
                    self.records.append((source, destination, frame[rtp + 1] & 0x7F))


def _assert_ok(result: SippResult, calls: int) -> None:
    assert result.returncode == 0, result.output[-3000:]
    assert result.count("FailedCall(C)") == 0, result.output[-3000:]
    assert result.count("SuccessfulCall(C)") == calls, result.output[-3000:]


def test_echo_returns_the_callers_audio_and_the_rfc4733_digit_is_detected(
    media_server: SipServer, sipp_dir: Path
) -> None:
    with RtpSniffer(MEDIA_RANGE) as sniffer:
        result = run_sipp(media_server, sipp_dir, "-s", "*43", "-mp", str(_media_port()),
                          scenario="uac_media_echo.xml", calls=1, timeout=20)
    _assert_ok(result, 1)
    [answered] = media_server.wait_journal("call_answered", 1, call_of=result.pid)
    digits = media_server.wait_journal("dtmf", 1, call_of=result.pid)
    assert [(d["digit"], d["via"]) for d in digits] == [("1", "rfc4733")]
    [ended] = media_server.wait_journal("call_ended", 1, call_of=result.pid)
    # 2 s of the pcap at 30 ms a packet, then the digit's 10 packets
    assert isinstance(ended["rtp_in"], int) and ended["rtp_in"] >= 60
    assert ended["rtp_digits"] == 1
    echoed = [r for r in sniffer.records if r[0] == answered["media_port"]]
    assert len(echoed) >= 50, (len(sniffer.records), ended)
    assert {pt for _, _, pt in echoed} == {8}  # PCMA, as the caller sent


def test_bench_play_hangs_up_after_the_three_second_prompt(media_server: SipServer, sipp_dir: Path) -> None:
    result = run_sipp(media_server, sipp_dir, "-s", "bench-play", "-mp", str(_media_port()),
                      scenario="uac_media_bench.xml", calls=3, rate=5, timeout=20)
    _assert_ok(result, 3)
    ended = media_server.wait_journal("call_ended", 3, call_of=result.pid)
    assert [e["reason"] for e in ended] == ["local-hangup"] * 3
    for entry in ended:
        # every frame of the prompt, but for the few a stall of this shared machine made the pacer skip
        assert isinstance(entry["rtp_out"], int) and 140 <= entry["rtp_out"] <= 150
        assert entry["prompt_s"] == pytest.approx(3.0, abs=0.1)
        assert isinstance(entry["duration"], float) and 3.0 <= entry["duration"] < 3.5


def test_bench_record_writes_a_stereo_wav_of_the_call(media_server: SipServer, sipp_dir: Path) -> None:
    result = run_sipp(media_server, sipp_dir, "-s", "bench-record", "-mp", str(_media_port()),
                      scenario="uac_media_bench.xml", calls=2, rate=5, timeout=20)
    _assert_ok(result, 2)
    recordings = media_server.wait_journal("recording", 2, call_of=result.pid)
    assert len(recordings) == 2
    index = (media_server.data_dir / "recordings" / "index.jsonl").read_text().splitlines()
    for entry in recordings:
        path = media_server.data_dir / str(entry["path"])
        assert any(str(entry["path"]) in line for line in index)
        assert entry["size"] == path.stat().st_size
        with wave.open(str(path)) as wav:
            assert (wav.getnchannels(), wav.getframerate(), wav.getsampwidth()) == (2, 8000, 2)
            duration = wav.getnframes() / 8000
            stereo = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
        assert duration == pytest.approx(3.0, abs=0.1)
        assert entry["duration"] == pytest.approx(duration, abs=0.01)
        caller = np.abs(stereo[:, 0].astype(np.int32))
        assert int(caller.max()) > 5000  # the pcap's speech, in the left channel
        assert int(np.abs(stereo[:, 1].astype(np.int32)).max()) > 1000  # our prompt, right
    _assert_indexed_in_store(media_server.data_dir, [str(entry["path"]) for entry in recordings])


def _assert_indexed_in_store(data_dir: Path, paths: list[str], wait: float = 10.0) -> None:
    """The engine indexes each WAV in the store too (what GET /api/recordings lists)."""
    engine = create_engine(Settings(data_dir=data_dir).database_url)
    try:
        deadline = time.monotonic() + wait
        while True:
            with create_session_factory(engine)() as session:
                stored = {str(r.path) for r in RecordingRepository(session).search(limit=100)}
            if all(any(p.endswith(s) or s.endswith(p) for s in stored) for p in paths):
                return
            assert time.monotonic() < deadline, f"not indexed in the store: {paths} (stored: {stored})"
            time.sleep(0.2)
    finally:
        engine.dispose()
