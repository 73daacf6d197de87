"""ACD under load: carrier calls at a steady rate queue for 50 registered agents, 30 s of talk each.

Usage (root: SIPp plays the calls' audio from pcap)::

    .venv/bin/python bench/acd.py                       # rates 0.5,1.0,1.5 calls/s, 40 s each
    .venv/bin/python bench/acd.py --rates 1,1.5 --seconds 30 --talk 30 --agents 50

The store (SQLite in a temporary data dir) gets ``--agents`` agents with SIP passwords, all available,
members of one queue (longest idle, no announcements, no wrap-up) that a flow's ``queue`` node serves
on the DID. ``python -m waterline.telephony`` runs as a child process trusting only 127.0.0.1 (the
carrier) without credentials; every agent REGISTERs with digest auth (one SIPp UAC, an injection file)
a contact on 127.0.0.2 where one SIPp UAS answers for all of them at once, with audio. For each rate
a SIPp carrier places ``rate x seconds`` calls (g711a audio, ``--talk`` s from the answer, then BYE).

Printed per rate: calls placed, succeeded at the carrier, bridged to an agent (engine journal), the
connect latency p50/p95 (``acd_bridged.wait``: the engine's answer of the caller, which the ACK follows
within a loop turn, to the agent's 200 OK), and the live ``call.offered`` latency at a subscriber of the
engine's event socket (receive time minus the event's ``at``; the web side's card lookup on top of it is
``bench/screenpop.py``), and the engine's CPU time per call (its own work, whatever else loads the
machine; a call is ~30 s of two relayed legs). Then the highest rate with zero failed calls (every
call bridged and ended cleanly). With 50 agents and 30 s talk the agents saturate at 50/30 = 1.67 calls/s.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from waterline import bootstrap
from waterline.adapters.db.users import UserRepository
from waterline.adapters.livechannel import socket_path
from waterline.calls.live import CallOffered, EventFrame, decode_event, decode_frame
from waterline.calls.queue import QueueConfig, QueueMember, Strategy
from waterline.config import Settings
from waterline.domain.agents import QueuePurpose
from waterline.domain.stations import Station
from waterline.domain.users import Role
from waterline.services.agents import set_own_state
from waterline.services.callflows import seed_flows
from waterline.services.queues import create_queue

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
DID = "4006369999"
PHONES = "127.0.0.2"
PASSWORD = "bench-acd-123"
FLOW = """
name: bench-acd
start: q
nodes:
  q: {kind: queue, queue: bench-acd, fallback: "13800000000", next: bye, on_failure: bye}
  bye: {kind: hangup}
"""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def prepare(data_dir: Path, agents: int) -> list[str]:
    """Agents, a station, the queue and its flow on the DID; returns the agents' usernames."""
    store = bootstrap.open_store(Settings(data_dir=data_dir))
    uows = bootstrap.uow_factory(store)
    now = datetime.now(UTC)
    names = [f"bench{n:03d}" for n in range(1, agents + 1)]
    try:
        with store.session_factory() as session:
            users = UserRepository(session)
            for name in names:
                users.add(
                    name, Role.AGENT, "web-" + PASSWORD, now=now, sip_password=PASSWORD, sip_realm="waterline"
                )
            session.commit()
        with uows() as uow:
            station = uow.stations.add(Station("压测站", "西安市", "雁塔区", 34.2, 108.9))
            uow.commit()
            assert station.id is not None
            station_id = station.id
        config = QueueConfig(
            "bench-acd",
            strategy=Strategy.LONGEST_IDLE,
            ring_timeout=15.0,
            wrap_up_seconds=0.0,
            max_wait=120.0,
            announce_every=None,
        )
        create_queue(
            uows(),
            station_id=station_id,
            purpose=QueuePurpose.ORDERS,
            config=config,
            members=[QueueMember(name) for name in names],
            now=now,
        )
        with uows() as uow:
            ids = {name: uow.agents.by_username(name) for name in names}
        for name, status in ids.items():
            assert status is not None, name
            set_own_state(uows(), status.user_id, "available", reason="", by="bench", now=datetime.now(UTC))
        seed_flows(uows(), {"bench-acd": FLOW}, {DID: "bench-acd"}, now=now)
    finally:
        store.close()
    return names


def journal(data_dir: Path) -> list[dict[str, object]]:
    path = data_dir / "logs" / "telephony.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def start_engine(data_dir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = {
        **os.environ,
        "WATERLINE_SIP__TRUST_LOOPBACK": "0",
        "WATERLINE_SIP__TRUNK_SOURCES": "127.0.0.1/32",
        "WATERLINE_DIAGNOSTICS": "0",
        "WATERLINE_MEDIA__PORT_MIN": "36000",
        "WATERLINE_MEDIA__PORT_MAX": "36999",
    }
    err = (data_dir / "engine.stderr").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "waterline.telephony",
            "--sip",
            f"127.0.0.1:{port}",
            "--data-dir",
            str(data_dir),
        ],
        stdin=subprocess.DEVNULL,
        stdout=err,
        stderr=err,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"engine exited: {(data_dir / 'engine.stderr').read_text()[-2000:]}")
        if any(e["event"] == "engine_ready" for e in journal(data_dir)):
            return process, port
        time.sleep(0.2)
    process.terminate()
    raise SystemExit("engine not ready within 60 s")


def sipp(args: list[str], workdir: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["sipp", *args, "-nostdin", "-fd", "1"],
        cwd=workdir,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def stats(path: Path) -> dict[str, str]:
    lines = (
        [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
        if path.exists()
        else []
    )
    if len(lines) < 2:
        return {}
    return dict(zip(lines[0].rstrip(";").split(";"), lines[-1].rstrip(";").split(";"), strict=False))


class Offers:
    """Subscribes to the engine's live events; keeps each call.offered's delivery latency."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.latencies: list[tuple[str, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(str(self.path))
            sock.settimeout(0.5)
            buffer = b""
            while not self._stop.is_set():
                try:
                    data = sock.recv(65536)
                except TimeoutError:
                    continue
                if not data:
                    return
                received = time.time()
                buffer += data
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    frame = decode_frame(line + b"\n")
                    if isinstance(frame, EventFrame):
                        event = decode_event(frame)
                        if isinstance(event, CallOffered):
                            self.latencies.append((event.call_id, received - event.at))

    def stop(self) -> None:
        self._stop.set()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far (the engine's own work, whatever else loads the machine)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def run_rate(
    port: int, data_dir: Path, workdir: Path, rate: float, seconds: float, talk: float, offers: Offers
) -> dict[str, object]:
    calls = max(1, round(rate * seconds))
    scenario = workdir / f"caller-{rate}.xml"
    scenario.write_text(
        (SCENARIOS / "acd_caller.xml").read_text().replace("@TALK_MS@", str(int(talk * 1000)))
    )
    stat = workdir / f"caller-{rate}.csv"
    timeout = seconds + talk + 150
    # -r/-rp: rate*1000 calls per 1,000 s, i.e. ``rate`` calls a second spread evenly (not in bursts)
    process = sipp([f"127.0.0.1:{port}", "-sf", str(scenario), "-i", "127.0.0.1", "-p", "0", "-s", DID,
                    "-mp", str(free_port()), "-m", str(calls), "-r", str(round(rate * 1000)),
                    "-rp", "1000000", "-l", str(calls), "-timeout", f"{int(timeout)}s", "-timeout_error",
                    "-trace_stat", "-stf", str(stat)], workdir)
    try:
        process.communicate(timeout=timeout + 30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
    marker = f"-{process.pid}@"
    time.sleep(1.0)  # the engine flushes its journal twice a second
    entries = [e for e in journal(data_dir) if marker in str(e.get("call_id", ""))]
    bridged = [float(str(e["wait"])) for e in entries if e["event"] == "acd_bridged"]
    result = stats(stat)
    succeeded = int(result.get("SuccessfulCall(C)", "0") or 0)
    failed = int(result.get("FailedCall(C)", "0") or 0)
    offered = [latency for call, latency in offers.latencies if marker in call]
    return {
        "rate": rate,
        "calls": calls,
        "succeeded": succeeded,
        "failed": failed,
        "bridged": len(bridged),
        "connect": bridged,
        "offered": offered,
    }


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def summary(result: dict[str, object]) -> str:
    """One line per rate: calls, outcomes, connect and offer-event latencies."""
    connect, offered = result["connect"], result["offered"]
    assert isinstance(connect, list) and isinstance(offered, list)
    line = (f"rate {result['rate']}/s: {result['calls']} calls, {result['succeeded']} ok, "
            f"{result['failed']} failed, {result['bridged']} bridged")
    if connect:
        line += f"; connect p50 {ms(percentile(connect, 50))} p95 {ms(percentile(connect, 95))}"
    cpu = result.get("cpu_per_call")
    if isinstance(cpu, float):
        line += f"; engine CPU {cpu * 1000:.0f} ms per call"
    if offered:
        line += (f"; call.offered at a subscriber p50 {ms(percentile(offered, 50))} "
                 f"p95 {ms(percentile(offered, 95))} ({len(offered)})")
    return line


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--rates", default="0.5,1.0,1.5")
    parser.add_argument("--seconds", type=float, default=40.0, help="seconds of calls per rate")
    parser.add_argument("--talk", type=float, default=30.0)
    parser.add_argument("--keep", action="store_true", help="keep the data dir (journal, SIPp logs)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("SIPp plays the calls' audio from pcap: run as root")
    rates = [float(r) for r in args.rates.split(",") if r.strip()]
    place = (contextlib.nullcontext(tempfile.mkdtemp(prefix="acd-bench-")) if args.keep
             else tempfile.TemporaryDirectory(prefix="acd-bench-"))
    with place as tmp:
        if args.keep:
            print(f"data dir kept: {tmp}", flush=True)
        data_dir, workdir = Path(tmp) / "data", Path(tmp) / "sipp"
        data_dir.mkdir()
        workdir.mkdir()
        names = prepare(data_dir, args.agents)
        engine, port = start_engine(data_dir)
        phone_port = free_port(PHONES)
        agents = None
        try:
            register = workdir / "register.xml"
            phone = f"{PHONES}:{phone_port}"
            register.write_text((SCENARIOS / "acd_register.xml").read_text().replace("@PHONE@", phone))
            for name in names:  # SIPp's [authentication] takes no per-call user: one run per agent
                reg = sipp([f"127.0.0.1:{port}", "-sf", str(register), "-s", name, "-au", name,
                            "-ap", PASSWORD, "-i", PHONES, "-p", "0", "-m", "1", "-timeout", "20s",
                            "-timeout_error", "-trace_err"], workdir)
                out, _ = reg.communicate(timeout=40)
                if reg.returncode != 0:
                    logs = workdir.glob("*_errors.log")
                    errors = "".join(f.read_text(errors="replace")[-1500:] for f in logs)
                    raise SystemExit(f"agent {name} did not register:\n{errors}")
            agents = sipp(["-sf", str(SCENARIOS / "acd_agent.xml"), "-i", PHONES, "-p", str(phone_port),
                           "-mp", str(free_port(PHONES)), "-l", "1000", "-timeout", "3600s"], workdir)
            time.sleep(3.0)  # the distributor reads the bindings with its configuration every 2 s
            offers = Offers(socket_path(data_dir))
            results = []
            for rate in rates:
                before = cpu_seconds(engine.pid)
                result = run_rate(port, data_dir, workdir, rate, args.seconds, args.talk, offers)
                result["cpu_per_call"] = (cpu_seconds(engine.pid) - before) / float(str(result["calls"]))
                results.append(result)
                print(summary(result), flush=True)
            offers.stop()
            clean = [r for r in results if r["failed"] == 0 and r["succeeded"] == r["calls"] == r["bridged"]]
            if clean:
                best = max(clean, key=lambda r: float(str(r["rate"])))
                connect = best["connect"]
                assert isinstance(connect, list)
                print(f"highest rate with zero failed calls: {best['rate']}/s "
                      f"({args.agents} agents, {args.talk:.0f} s talk); connect (caller answered -> "
                      f"agent 200) p50 {ms(percentile(connect, 50))} p95 {ms(percentile(connect, 95))}")
            else:
                print("no rate ran without failures")
        finally:
            if agents is not None:
                agents.kill()
                agents.communicate()
            engine.terminate()
            try:
                engine.wait(15)
            except subprocess.TimeoutExpired:
                engine.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
