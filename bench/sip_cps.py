"""SIP calls-per-second benchmark of the telephony engine (not a test: it prints its figures).

For each event loop (stock asyncio, then uvloop) it starts ``python -m waterline.telephony`` on a free
loopback port and ramps SIPp's built-in ``uac`` scenario against the ``*43`` echo extension in bounded
runs (``-m rate*duration``, ``-timeout``), one run per rate. Per run it prints SIPp's successful and
failed calls and retransmissions, and the server's CPU (from /proc/<pid>/stat deltas, % of one core)
(and per successful call, in µs: the figure least disturbed by other load on a shared machine) and
RSS; at the end, per loop, the highest rate with zero failed calls and zero retransmissions.

    .venv/bin/python bench/sip_cps.py                      # default ramp, 10 s runs
    .venv/bin/python bench/sip_cps.py --rates 1000,2000 --duration 5 --loops uvloop

SIPp runs on the same machine as the server, so both share its cores (as in /work/shared/ANCHORS.md).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")
HEADER = (
    f"{'loop':8} {'rate':>6} {'calls':>7} {'ok':>7} {'failed':>6} {'retrans':>7} "
    f"{'achieved/s':>10} {'cpu %':>6} {'us/call':>7} {'rss MB':>7} {'sipp rc':>7} {'load':>5}"
)
DEFAULT_RATES = "500,1000,1500,2000,2500,3000,4000,5000,6000,7000,8000"


@dataclass
class Run:
    """One bounded SIPp run at one rate."""

    loop: str
    rate: int
    attempted: int
    successful: int
    failed: int
    retransmissions: int
    elapsed: float
    cpu_percent: float
    cpu_us_per_call: float
    rss_mb: float
    sipp_rc: int
    load: float
    """The machine's 1-minute load average when the run ended: on a shared 2-core machine a rate that
    fails at load 8 may pass at load 1, so the table says which it was."""

    def row(self) -> str:
        """One line of the table (columns as in :data:`HEADER`)."""
        return (
            f"{self.loop:8} {self.rate:>6} {self.attempted:>7} {self.successful:>7} {self.failed:>6} "
            f"{self.retransmissions:>7} {self.successful / self.elapsed:>10.0f} {self.cpu_percent:>6.1f} "
            f"{self.cpu_us_per_call:>7.0f} {self.rss_mb:>7.1f} {self.sipp_rc:>7} {self.load:>5.1f}"
        )

    @property
    def clean(self) -> bool:
        """Every call succeeded and SIPp never had to retransmit."""
        return self.failed == 0 and self.retransmissions == 0 and self.successful == self.attempted


def free_port() -> int:
    """A port free for UDP and TCP on loopback."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port")


def ping(port: int) -> bool:
    """Whether the server answers an OPTIONS over UDP."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(0.3)
        local = sock.getsockname()
        request = (
            f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{local[1]};branch=z9hG4bK-bench-{time.monotonic_ns()}\r\n"
            f"From: <sip:bench@127.0.0.1>;tag=b{time.monotonic_ns()}\r\nTo: <sip:127.0.0.1:{port}>\r\n"
            f"Call-ID: bench-{time.monotonic_ns()}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
            "Content-Length: 0\r\n\r\n"
        )
        sock.sendto(request.encode(), ("127.0.0.1", port))
        try:
            return sock.recv(65535).startswith(b"SIP/2.0 ")
        except (TimeoutError, ConnectionRefusedError):
            return False


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    # After the ")" of the command name, utime and stime are fields 12 and 13 (0-based 11, 12).
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mb(pid: int) -> float:
    """Resident set size of ``pid`` in MB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def start_server(loop: str, workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Start the engine with the given loop; wait (bounded) until it answers OPTIONS and is warm."""
    port = free_port()
    env = {"WATERLINE_DIAGNOSTICS": "true", **os.environ, "WATERLINE_LOOP": loop}  # *43 needs it
    stderr = (workdir / f"engine-{loop}.stderr").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "waterline.telephony", "--sip", f"127.0.0.1:{port}",
         "--data-dir", str(workdir / f"data-{loop}")],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr, env=env,
    )
    stderr.close()
    journal = workdir / f"data-{loop}" / "logs" / "telephony.jsonl"
    answered = False
    for _ in range(600):
        if process.poll() is not None:
            raise RuntimeError(f"engine exited with {process.returncode}; see {workdir}")
        answered = answered or ping(port)
        # measure the steady state: until ``engine_ready`` the engine's background warm-up (imports of
        # the business side and the TTS) competes with SIP for the interpreter
        if answered and journal.exists() and b'"engine_ready"' in journal.read_bytes():
            return process, port
        time.sleep(0.1)
    stop_server(process)
    raise RuntimeError("engine did not answer OPTIONS and report engine_ready within 60 s")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, bounded wait, SIGKILL as a last resort."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def read_stats(path: Path) -> dict[str, str]:
    """Last row of SIPp's -trace_stat CSV."""
    if not path.exists():
        return {}
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    if len(lines) < 2:
        return {}
    return dict(zip(lines[0].rstrip(";").split(";"), lines[-1].rstrip(";").split(";"), strict=False))


def run_rate(loop: str, process: subprocess.Popen[bytes], port: int, rate: int, duration: float,
             workdir: Path) -> Run:
    """One bounded SIPp run at ``rate`` calls/s for ``duration`` seconds."""
    calls = int(rate * duration)
    stat_file = workdir / f"stat-{loop}-{rate}.csv"
    command = [
        "sipp", f"127.0.0.1:{port}", "-sn", "uac", "-s", "*43", "-i", "127.0.0.1", "-p", "0",
        "-r", str(rate), "-rp", "1000", "-m", str(calls), "-l", str(max(rate, 100)),
        "-timeout", f"{int(duration) + 30}s", "-timeout_error", "-max_retrans", "5",
        "-nostdin", "-trace_stat", "-stf", str(stat_file), "-fd", "1",
        # SIPp's default 64 KB socket buffers drop bursts of responses at these rates, and every drop
        # becomes a retransmission blamed on the server: give the load generator room (4 MB).
        "-buff_size", str(4 * 1024 * 1024),
    ]
    cpu_before = cpu_seconds(process.pid)
    started = time.monotonic()
    completed = subprocess.run(command, cwd=workdir, stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=duration + 60, check=False)
    elapsed = time.monotonic() - started
    cpu = cpu_seconds(process.pid) - cpu_before
    stats = read_stats(stat_file)

    def count(column: str) -> int:
        value = stats.get(column, "0") or "0"
        return int(value) if value.isdigit() else 0

    return Run(
        loop=loop, rate=rate, attempted=calls, successful=count("SuccessfulCall(C)"),
        failed=count("FailedCall(C)"), retransmissions=count("Retransmissions(C)"), elapsed=elapsed,
        cpu_percent=100.0 * cpu / elapsed, cpu_us_per_call=1e6 * cpu / max(1, count("SuccessfulCall(C)")),
        rss_mb=rss_mb(process.pid), sipp_rc=completed.returncode, load=os.getloadavg()[0],
    )


def main(argv: list[str] | None = None) -> int:
    """Run the ramp for each loop and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--loops", default="asyncio,uvloop", help="comma-separated: asyncio,uvloop")
    parser.add_argument("--rates", default=DEFAULT_RATES, help="comma-separated calls/s, increasing")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--failures", type=int, default=2, help="stop a ramp after this many unclean runs")
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between runs")
    args = parser.parse_args(argv)
    rates = [int(r) for r in args.rates.split(",") if r.strip()]
    best: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="sip-cps-") as tmp:
        workdir = Path(tmp)
        print(HEADER, flush=True)
        for loop in [name.strip() for name in args.loops.split(",") if name.strip()]:
            process, port = start_server(loop, workdir)
            unclean = 0
            try:
                for rate in rates:
                    run = run_rate(loop, process, port, rate, args.duration, workdir)
                    print(run.row(), flush=True)
                    if run.clean:
                        best[loop] = max(best.get(loop, 0), rate)
                    else:
                        unclean += 1
                        if unclean >= args.failures:
                            break
                    if process.poll() is not None:
                        print(f"{loop}: engine died with exit code {process.returncode}", flush=True)
                        break
                    time.sleep(args.pause)
            finally:
                stop_server(process)
        print()
        for loop, rate in best.items():
            print(f"{loop}: highest rate with zero failed calls and zero retransmissions: {rate} calls/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
