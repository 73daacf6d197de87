"""Media benchmark of the telephony engine: ``bench-play``, ``bench-record`` and ``bench-ivr`` under SIPp
(not a test).

``bench-ivr`` is the shipped flow of that name (answer, 3.0 s menu listening for one digit, on '1' the
1.9 s confirmation, hang up), called with ``bench/scenarios/ivr_caller.xml``: '1' by RFC 4733
(``dtmf_2833_1.pcap``) one second into the menu; its prompt column is the confirmation as sent.
``bench-play-flow`` and ``bench-record-flow`` are the other two services run as flows (the flow
driver instead of the diagnostic services), to compare in the same run.

For each service it starts ``python -m waterline.telephony`` (diagnostics on, uvloop by default; the
helpers of ``bench/sip_cps.py``) and ramps SIPp with ``bench/scenarios/media_caller.xml``: INVITE with
PCMA + telephone-event SDP, caller audio from ``/usr/share/sip-tester/g711a.pcap`` (play_pcap_audio,
needs root), wait for the server's BYE after its 3.0 s prompt, answer 200. Every run is bounded
(``-m rate*duration``, ``-l`` concurrency limit, ``-timeout``). Per run it prints:

- SIPp's successful and failed calls, retransmissions and peak concurrent calls;
- the server's CPU (% of one core, and ms per successful call), RSS and peak RSS, and SIPp's own CPU
  (it shares the two cores);
- the prompt length as the server sent it (first to last RTP frame: the engine journal's ``prompt_s``
  of each ``call_ended``), p50/p95/max; the fewest frames one call sent and how many calls sent fewer
  than the prompt's 150 (frames skipped by the pacer); the mean RTP packets received per call;
- for ``bench-record``, the WAVs indexed;
- the machine's load average at the end of the run: SIPp's pcap players (a thread and a raw socket
  per call) and anything else running share the two cores. Every UDP datagram delivered on the
  machine is also offered to each raw socket open for UDP: at 150 calls/s (~450 SIPp players) that
  walk was ~15 % of the engine's CPU (perf: ``raw_local_deliver`` under the engine's sendto), and it
  grows with the rate, for Asterisk under the same harness as for us.

At the end, per service: the highest rate of the ramp before its first run with a failed call or a
prompt past 3.1 s at p95 (and the highest without SIP retransmissions), with its peak concurrency,
CPU and RSS. Asterisk 20 on this machine kind (/work/shared/ANCHORS.md): 120-130 calls/s answer-play,
110 record, in 30 s runs on a quiet machine; compare in the same conditions.

    sudo .venv/bin/python bench/media.py                              # 20 s runs, 100..300 calls/s
    .venv/bin/python bench/media.py --services bench-play --rates 250,300 --duration 30

SIPp runs on the same machine as the server and takes a share of the same two cores.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sip_cps import cpu_seconds, read_stats, rss_mb, start_server, stop_server

SCENARIO = Path(__file__).resolve().parent / "scenarios" / "media_caller.xml"
IVR_SCENARIO = Path(__file__).resolve().parent / "scenarios" / "ivr_caller.xml"
PCAP = Path("/usr/share/sip-tester/g711a.pcap")
DEFAULT_RATES = "100,150,200,250,300"
PROMPT_FRAMES = 150
PROMPT_LIMIT = 3.1
IVR_PROMPT_LIMIT = 2.0
"""bench-ivr's measured prompt is its 1.9 s confirmation (the last prompt of the call)."""
JOURNAL = Path("logs") / "telephony.jsonl"
HEADER = (
    f"{'service':12} {'rate':>5} {'calls':>6} {'ok':>6} {'failed':>6} {'retr':>5} {'peak':>5} "
    f"{'cpu %':>6} {'ms/call':>7} {'sipp %':>6} {'rss MB':>7} {'hwm MB':>7} {'prompt p50':>10} {'p95':>6} "
    f"{'max':>6} "
    f"{'frames min':>10} {'short':>5} {'rtp in':>6} {'wavs':>5} {'load':>5}"
)


@dataclass
class MediaRun:
    """One bounded SIPp run of one service at one rate."""

    service: str
    rate: int
    attempted: int
    successful: int
    failed: int
    retransmissions: int
    peak_calls: int
    elapsed: float
    cpu_percent: float
    sipp_cpu_percent: float
    rss_mb: float
    hwm_mb: float
    prompts: list[float]
    frames: list[int]
    received: list[int]
    recordings: int
    load: float = 0.0
    """The machine's 1-minute load average at the end of the run (other work shares the two cores)."""
    prompt_limit: float = PROMPT_LIMIT
    frames_expected: int = PROMPT_FRAMES  # 0: the frames sent vary by call (bench-ivr's barge-in)

    def percentile(self, q: float) -> float:
        """The ``q``-th percentile of the prompt lengths (nearest rank), 0 without any."""
        if not self.prompts:
            return 0.0
        ordered = sorted(self.prompts)
        return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]

    @property
    def cpu_ms_per_call(self) -> float:
        """The engine's CPU per successful call in ms: the figure least moved by other load."""
        return self.cpu_percent * self.elapsed / 100.0 / max(1, self.successful) * 1000.0

    @property
    def short_prompts(self) -> int:
        """Calls that sent fewer frames than the whole prompt (frames skipped by the pacer)."""
        return sum(1 for f in self.frames if f < self.frames_expected)

    @property
    def clean(self) -> bool:
        """Every call succeeded and the prompt kept its length (p95 within 3.1 s)."""
        return (self.failed == 0 and self.successful == self.attempted
                and bool(self.prompts) and self.percentile(95) <= self.prompt_limit)

    def row(self) -> str:
        """One line of the table (columns as in :data:`HEADER`)."""
        median = statistics.median(self.prompts) if self.prompts else 0.0
        return (
            f"{self.service:12} {self.rate:>5} {self.attempted:>6} {self.successful:>6} {self.failed:>6} "
            f"{self.retransmissions:>5} {self.peak_calls:>5} {self.cpu_percent:>6.1f} "
            f"{self.cpu_ms_per_call:>7.2f} "
            f"{self.sipp_cpu_percent:>6.1f} {self.rss_mb:>7.1f} {self.hwm_mb:>7.1f} {median:>10.3f} "
            f"{self.percentile(95):>6.3f} "
            f"{max(self.prompts, default=0.0):>6.3f} {min(self.frames, default=0):>10} "
            f"{self.short_prompts:>5} {statistics.mean(self.received) if self.received else 0:>6.0f} "
            f"{self.recordings:>5} {self.load:>5.1f}"
        )


def hwm_mb(pid: int) -> float:
    """Peak resident set size of ``pid`` in MB (VmHWM)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_concurrency(path: Path) -> int:
    """The highest ``CurrentCall`` of SIPp's periodic statistics rows."""
    if not path.exists():
        return 0
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    if len(lines) < 2:
        return 0
    columns = lines[0].rstrip(";").split(";")
    if "CurrentCall" not in columns:
        return 0
    index = columns.index("CurrentCall")
    values = [row.split(";")[index] for row in lines[1:] if len(row.split(";")) > index]
    return max((int(v) for v in values if v.isdigit()), default=0)


def journal_since(path: Path, offset: int) -> tuple[list[dict[str, object]], int]:
    """Journal records appended after byte ``offset``, and the new offset."""
    if not path.exists():
        return [], offset
    with path.open("rb") as handle:
        handle.seek(offset)
        data = handle.read()
    complete = data[: data.rfind(b"\n") + 1]
    records = []
    for line in complete.splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records, offset + len(complete)


def run_rate(service: str, pid: int, port: int, rate: int, duration: float, workdir: Path,
             journal: Path, offset: int, settle: float) -> tuple[MediaRun, int]:
    """One bounded SIPp run; returns its figures and the journal offset after it."""
    calls = int(rate * duration)
    stat_file = workdir / f"stat-{service}-{rate}.csv"
    # the server holds each call ~3.1 s: allow twice the expected concurrency before SIPp waits
    limit = max(50, int(rate * 3.2 * 2))
    ivr = service == "bench-ivr"
    command = [
        "sipp", f"127.0.0.1:{port}", "-sf", str(IVR_SCENARIO if ivr else SCENARIO), "-s", service,
        "-i", "127.0.0.1", "-p", "0",
        "-mi", "127.0.0.1", "-r", str(rate), "-rp", "1000", "-m", str(calls), "-l", str(limit),
        "-timeout", f"{int(duration) + 40}s", "-timeout_error", "-max_retrans", "5", "-nostdin",
        "-trace_stat", "-stf", str(stat_file), "-fd", "1", "-buff_size", str(4 * 1024 * 1024),
    ]
    cpu_before = cpu_seconds(pid)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    subprocess.run(command, cwd=workdir, stdin=subprocess.DEVNULL, capture_output=True,
                   timeout=duration + 90, check=False)
    elapsed = time.monotonic() - started
    cpu = cpu_seconds(pid) - cpu_before
    # the load generator shares the two cores: its CPU says how much of the machine it took
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    sipp_cpu = (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
    rss, hwm = rss_mb(pid), hwm_mb(pid)
    load = os.getloadavg()[0]
    time.sleep(settle)  # the engine flushes its journal every 0.5 s; recordings are mixed after the BYE
    records, offset = journal_since(journal, offset)
    ended = [r for r in records if r.get("event") == "call_ended" and r.get("service") == service]
    prompts = [float(str(r["prompt_s"])) for r in ended if r.get("prompt_s") is not None]
    frames = [int(str(r["rtp_out"])) for r in ended if r.get("rtp_out") is not None]
    received = [int(str(r["rtp_in"])) for r in ended if r.get("rtp_in") is not None]
    recordings = sum(1 for r in records if r.get("event") == "recording")
    stats = read_stats(stat_file)

    def count(column: str) -> int:
        value = stats.get(column, "0") or "0"
        return int(value) if value.isdigit() else 0

    run = MediaRun(
        service=service, rate=rate, attempted=calls, successful=count("SuccessfulCall(C)"),
        failed=count("FailedCall(C)"), retransmissions=count("Retransmissions(C)"),
        peak_calls=peak_concurrency(stat_file), elapsed=elapsed, cpu_percent=100.0 * cpu / elapsed,
        sipp_cpu_percent=100.0 * sipp_cpu / elapsed,
        rss_mb=rss, hwm_mb=hwm, prompts=prompts, frames=frames, received=received,
        recordings=recordings, load=load, prompt_limit=IVR_PROMPT_LIMIT if ivr else PROMPT_LIMIT,
        frames_expected=0 if ivr else PROMPT_FRAMES,
    )
    return run, offset


def main(argv: list[str] | None = None) -> int:
    """Ramp each service and print the table and the summary."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--services", default="bench-play,bench-record", help="comma-separated")
    parser.add_argument("--rates", default=DEFAULT_RATES, help="comma-separated calls/s, increasing")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of calls per run")
    parser.add_argument("--loop", default="uvloop", help="asyncio or uvloop")
    parser.add_argument("--failures", type=int, default=1, help="stop a ramp after this many unclean runs")
    parser.add_argument("--pause", type=float, default=3.0, help="seconds between runs")
    parser.add_argument("--keep", type=Path, default=None, help="keep SIPp stats and engine data here")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("warning: SIPp plays pcap audio only as root; calls will carry no caller audio",
              file=sys.stderr)
    if not PCAP.exists():
        print(f"{PCAP} is missing (Debian package sip-tester)", file=sys.stderr)
        return 2
    # start_server passes the environment on: diagnostics enables bench-play and bench-record
    os.environ["WATERLINE_DIAGNOSTICS"] = "true"
    rates = [int(r) for r in args.rates.split(",") if r.strip()]
    services = [s.strip() for s in args.services.split(",") if s.strip()]
    summary: dict[str, MediaRun] = {}
    quiet: dict[str, MediaRun] = {}
    with tempfile.TemporaryDirectory(prefix="media-bench-") as tmp:
        root = args.keep or Path(tmp)
        print(HEADER, flush=True)
        for service in services:
            workdir = root / service
            workdir.mkdir(parents=True, exist_ok=True)
            process, port = start_server(args.loop, workdir)
            journal = workdir / f"data-{args.loop}" / JOURNAL
            offset = journal.stat().st_size if journal.exists() else 0
            unclean = 0
            try:
                for rate in rates:
                    run, offset = run_rate(service, process.pid, port, rate, args.duration, workdir, journal,
                                           offset, settle=2.0)
                    print(run.row(), flush=True)
                    # the limit is where the ramp first fails: a clean run above a failed one is luck
                    if run.clean and not unclean:
                        summary[service] = run
                        if run.retransmissions == 0:
                            quiet[service] = run
                    if not run.clean:
                        unclean += 1
                        if unclean >= args.failures:
                            break
                    if process.poll() is not None:
                        print(f"{service}: engine died with exit code {process.returncode}", flush=True)
                        break
                    time.sleep(args.pause)
            finally:
                stop_server(process)
        print()
        for service in services:
            best = summary.get(service)
            if best is None:
                print(f"{service}: no rate ran with zero failed calls")
                continue
            print(
                f"{service}: highest rate of the ramp before its first failure {best.rate} calls/s "
                f"({args.duration:.0f} s runs; {best.retransmissions} retransmissions), "
                f"peak {best.peak_calls} concurrent calls, server CPU {best.cpu_percent:.0f} % of one core "
                f"({best.cpu_ms_per_call:.2f} ms per call), "
                f"RSS {best.rss_mb:.0f} MB (peak {best.hwm_mb:.0f}), prompt p95 {best.percentile(95):.3f} s "
                f"(max {max(best.prompts):.3f} s, {best.short_prompts} calls short of {best.frames_expected} "
                "frames)"
            )
            calm = quiet.get(service)
            print(f"{service}: highest rate with zero failed calls and zero retransmissions: "
                  f"{calm.rate if calm else 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
