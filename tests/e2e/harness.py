"""Start the telephony engine as a real process and drive it with SIPp (helpers for the e2e tests).

Everything is bounded: start-up waits, SIPp runs (-m, -timeout and a subprocess timeout) and the stop.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
SIPP = "sipp"
AGENT_USER = "1001"
AGENT_PASSWORD = "e2e-secret-1001"
"""One agent able to REGISTER, created in the store with ``waterline users add --sip-password``."""


def add_agent(data_dir: Path, username: str = AGENT_USER, sip_password: str = AGENT_PASSWORD) -> None:
    """Create an agent with a SIP password in the data dir's store, through the real CLI."""
    data_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-c", "from waterline.cli import main; main()", "users", "add", username,
         "--role", "agent", "--password", "web-" + sip_password, "--sip-password", sip_password,
         "--data-dir", str(data_dir)],
        check=True, capture_output=True, timeout=60, env={**os.environ, "WATERLINE_DB": ""},
    )


def free_port(host: str = "127.0.0.1") -> int:
    """A port free for both UDP and TCP on ``host`` right now (the server binds both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((host, 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((host, port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free UDP+TCP port found")


def options_request(host: str, port: int, local: tuple[str, int], n: int = 1) -> bytes:
    """A minimal, valid OPTIONS request from ``local``."""
    unique = f"{os.getpid()}-{n}-{time.monotonic_ns()}"
    return (
        f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {local[0]}:{local[1]};branch=z9hG4bK-probe-{unique}\r\n"
        f"From: <sip:probe@{local[0]}>;tag=probe{n}\r\n"
        f"To: <sip:{host}:{port}>\r\n"
        f"Call-ID: probe-{unique}@{local[0]}\r\n"
        f"CSeq: {n} OPTIONS\r\n"
        "Max-Forwards: 70\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def sip_ping(host: str, port: int, timeout: float = 0.3) -> bytes | None:
    """Send one OPTIONS over UDP; return the first response's status line, or None on silence."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(timeout)
        sock.sendto(options_request(host, port, sock.getsockname()), (host, port))
        try:
            data = sock.recv(65535)
        except (TimeoutError, ConnectionRefusedError):
            return None
    return data.split(b"\r\n", 1)[0]


@dataclass
class SipServer:
    """A running engine process."""

    process: subprocess.Popen[bytes]
    host: str
    port: int
    data_dir: Path
    stderr_path: Path

    @property
    def journal_path(self) -> Path:
        """Where the engine writes its JSON-lines events."""
        return self.data_dir / "logs" / "telephony.jsonl"

    def journal(self) -> list[dict[str, object]]:
        """Every event written so far (the engine flushes twice a second)."""
        if not self.journal_path.exists():
            return []
        lines = self.journal_path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def wait_journal(self, event: str, count: int, timeout: float = 5.0, call_of: int | None = None
                     ) -> list[dict[str, object]]:
        """Poll the journal until it holds ``count`` entries of ``event`` (or the timeout passes).

        ``call_of`` keeps only the calls of the SIPp process with that pid (its Call-IDs end in
        ``-<pid>@<ip>``), so a test sees its own calls even while an earlier test's lines arrive late.
        """
        deadline = time.monotonic() + timeout
        marker = f"-{call_of}@"
        while True:
            found = [
                entry for entry in self.journal()
                if entry["event"] == event and (call_of is None or marker in str(entry.get("call_id", "")))
            ]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.1)

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.process.poll() is None

    def stderr(self) -> str:
        """What the engine wrote to stderr so far."""
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = 10.0, signum: int = signal.SIGTERM) -> int:
        """Send ``signum`` (SIGTERM), wait, SIGKILL if it did not stop; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
                return -9
        return int(self.process.returncode)


def start_server(
    data_dir: Path, env: dict[str, str] | None = None, startup: float = 45.0, command: list[str] | None = None
) -> SipServer:
    """Start the engine on a free loopback port and wait until it answers OPTIONS.

    By default ``python -m waterline.telephony``; ``command`` replaces that (the port is appended as
    ``--sip 127.0.0.1:<port>``, the data dir as ``--data-dir``), e.g. to go through ``waterline serve``.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    stderr_path = data_dir / "engine.stderr"
    # the engines of these tests answer *43 (and bench-*): diagnostics on unless a test says otherwise
    full_env = {"WATERLINE_DIAGNOSTICS": "1", **os.environ, **(env or {})}
    base = command or [sys.executable, "-m", "waterline.telephony"]
    with stderr_path.open("wb") as stderr:
        # Output goes to a file, not a pipe: a pipe nobody reads fills up and blocks the server.
        process = subprocess.Popen(
            [*base, "--sip", f"127.0.0.1:{port}", "--data-dir", str(data_dir)],
            stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr, env=full_env,
        )
    server = SipServer(process, "127.0.0.1", port, data_dir, stderr_path)
    deadline = time.monotonic() + startup
    answered = False
    while time.monotonic() < deadline:
        if not server.alive():
            raise RuntimeError(f"engine exited with {process.returncode}:\n{server.stderr()}")
        answered = answered or sip_ping(server.host, port) is not None
        # Tests start once the engine's background warm-up (business side, TTS) is over: during it
        # the imports compete with SIP for the interpreter and answers come late on a busy machine.
        if answered and any(entry["event"] == "engine_ready" for entry in server.journal()):
            return server
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"engine not answering OPTIONS and ready within {startup} s:\n{server.stderr()}")


@dataclass
class SippResult:
    """Outcome of one SIPp run."""

    returncode: int
    output: str
    stats: dict[str, str]
    pid: int

    def count(self, column: str) -> int:
        """An integer column of SIPp's final statistics line (cumulative ``(C)`` columns)."""
        return int(self.stats.get(column, "0") or 0)


def run_sipp(
    server: SipServer,
    workdir: Path,
    *args: str,
    scenario: str | None = None,
    calls: int = 1,
    rate: float = 10,
    timeout: float = 30,
    transport: str = "u1",
) -> SippResult:
    """Run SIPp against ``server`` (built-in ``-sn`` or a scenario file name from scenarios/)."""
    workdir.mkdir(parents=True, exist_ok=True)
    stat_file = workdir / f"stat-{time.monotonic_ns()}.csv"
    command = [
        SIPP, f"{server.host}:{server.port}",
        "-i", "127.0.0.1", "-p", "0", "-t", transport,
        "-m", str(calls), "-r", str(rate), "-l", str(max(calls, 10)),
        "-timeout", f"{int(timeout)}s", "-timeout_error", "-max_retrans", "5",
        "-nostdin", "-trace_stat", "-stf", str(stat_file), "-fd", "1",
    ]
    if scenario is not None:
        command += ["-sf", str(SCENARIOS / scenario)]
    command += list(args)
    process = subprocess.Popen(
        command, cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        out, _ = process.communicate(timeout=timeout + 15)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate(timeout=10)
    output = out.decode(errors="replace")
    return SippResult(process.returncode, output, read_sipp_stats(stat_file), process.pid)


def read_sipp_stats(path: Path) -> dict[str, str]:
    """The last row of a SIPp ``-trace_stat`` CSV as a column → value dict."""
    if not path.exists():
        return {}
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    if len(lines) < 2:
        return {}
    header = lines[0].rstrip(";").split(";")
    values = lines[-1].rstrip(";").split(";")
    return dict(zip(header, values, strict=False))
