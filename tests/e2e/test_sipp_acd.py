"""End to end ACD (issue 6): SIPp agents REGISTER with digest auth and answer or let ring; carrier SIPp
callers reach them through flows whose ``queue`` node hands them to the engine's ACD.

Queues (one station):

- ``acd-main`` (DID ``4006360001``): ``kefu1`` at tier 0, ``kefu2`` at tier 1, 3 s ring timeout;
- ``acd-solo`` (``4006360002``): ``kefu1`` alone, 20 s ring timeout (the caller abandons first);
- ``acd-full`` (``4006360003``): ``max_length`` 1, its one member ``kefu3`` paused (a caller waits),
  overflow to voicemail;
- ``acd-failover`` (``4006360004``): its one member ``kefu4`` logged out, overflow mobile
  ``13800000000`` (reached through the trunk, a SIPp UAS).

Each agent is a SIPp process that first REGISTERs (``uac_register.xml``, digest) from a fixed port
and exits; a SIPp UAS then plays the phone on that port for one test. Agents' phones live on
127.0.0.2 and the engine trusts only 127.0.0.1 (the carrier) without credentials, so agents' own
INVITEs (feature codes, a number dialled out) are digest-authenticated like on a real LAN.
"""

from __future__ import annotations

import os
import subprocess
import time
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from harness import SCENARIOS, SIPP, SipServer, add_agent, free_port, read_sipp_stats, start_server
from test_sipp_flows import _cdr

from waterline import bootstrap
from waterline.adapters.db.recordings import RecordingRepository
from waterline.calls.queue import OverflowMobile, OverflowVoicemail, QueueConfig, QueueMember, Strategy, Tier
from waterline.config import Settings
from waterline.domain.agents import QueuePurpose
from waterline.domain.queuelog import QueueLogRecord
from waterline.domain.stations import Station
from waterline.services.agents import set_own_state
from waterline.services.callflows import seed_flows
from waterline.services.ports import QueueLogFilter, UnitOfWork
from waterline.services.queues import create_queue

pytestmark = pytest.mark.sipp

PASSWORD = "acd-e2e-secret"
MOBILE = "13800000000"
MEDIA_RANGE = (33600, 33799)
DIDS = {"main": "4006360001", "solo": "4006360002", "full": "4006360003", "failover": "4006360004"}
PHONES = "127.0.0.2"
"""Where the agents' phones are: not a trunk source, so their INVITEs are challenged."""
PREMIUM = "00881234567890"


def _flow(queue: str) -> str:
    return f"""
name: {queue}
start: q
nodes:
  q: {{kind: queue, queue: {queue}, fallback: "{MOBILE}", next: bye, on_failure: vm}}
  vm: {{kind: voicemail, say: [{{prompt: voicemail}}], max_seconds: 20, silence_seconds: 10, next: bye}}
  bye: {{kind: hangup}}
"""


@dataclass
class Rig:
    server: SipServer
    agent_ports: dict[str, int]
    trunk_port: int


def _uows(data_dir: Path) -> tuple[bootstrap.Store, Callable[[], UnitOfWork]]:
    store = bootstrap.open_store(Settings(data_dir=data_dir))
    return store, bootstrap.uow_factory(store)


def _prepare(data_dir: Path) -> None:
    for name in ("kefu1", "kefu2", "kefu3", "kefu4"):
        add_agent(data_dir, name, PASSWORD)
    store, uows = _uows(data_dir)
    now = datetime.now(UTC)
    try:
        with uows() as uow:
            station = uow.stations.add(Station("测试站", "西安市", "雁塔区", 34.2, 108.9))
            uow.commit()
            station_id = station.id
        assert station_id is not None
        queues = [
            (QueuePurpose.ORDERS, QueueConfig("acd-main", strategy=Strategy.LONGEST_IDLE, ring_timeout=3.0,
                                              retry_seconds=30.0, wrap_up_seconds=0.0, max_wait=60.0,
                                              tiers=(Tier(1, 0.0),), announce_every=None),
             [QueueMember("kefu1", 0), QueueMember("kefu2", 1)]),
            (QueuePurpose.INQUIRIES, QueueConfig("acd-solo", ring_timeout=20.0, wrap_up_seconds=0.0,
                                                 announce_every=None),
             [QueueMember("kefu1")]),
            (QueuePurpose.COMPLAINTS, QueueConfig("acd-full", max_length=1, announce_every=None,
                                                  overflow=(OverflowVoicemail(),)),
             [QueueMember("kefu3")]),
        ]
        for purpose, config, members in queues:
            create_queue(uows(), station_id=station_id, purpose=purpose, config=config, members=members,
                         now=now)
        with uows() as uow:
            other = uow.stations.add(Station("备用站", "西安市", "未央区", 34.3, 108.9))
            uow.commit()
            other_id = other.id
        assert other_id is not None
        failover = QueueConfig("acd-failover", announce_every=None, overflow=(OverflowMobile(MOBILE),))
        create_queue(uows(), station_id=other_id, purpose=QueuePurpose.ORDERS, config=failover,
                     members=[QueueMember("kefu4")], now=now)
        with uows() as uow:
            ids = {name: uow.agents.by_username(name) for name in ("kefu1", "kefu2", "kefu3")}
        for name, state, reason in (("kefu1", "available", ""), ("kefu2", "available", ""),
                                    ("kefu3", "available", ""), ("kefu3", "paused", "meal")):
            status = ids[name]
            assert status is not None
            set_own_state(uows(), status.user_id, state, reason=reason, by="test", now=datetime.now(UTC))
        seed_flows(uows(), {f"acd-{name}": _flow(f"acd-{name}") for name in DIDS},
                   {did: f"acd-{name}" for name, did in DIDS.items()}, now=now)
    finally:
        store.close()


def _agent_sipp(server: SipServer, workdir: Path, scenario: Path, user: str, *args: str,
                timeout: float = 20) -> tuple[int, str]:
    """SIPp as agent ``user``'s phone on 127.0.0.2, authenticating with the agent's SIP password."""
    workdir.mkdir(parents=True, exist_ok=True)
    command = [SIPP, f"{server.host}:{server.port}", "-sf", str(scenario), "-i", PHONES, "-au", user,
               "-ap", PASSWORD, "-key", "agent", user, "-m", "1", "-timeout", f"{int(timeout)}s",
               "-timeout_error", "-nostdin", "-fd", "1", *args]
    process = subprocess.run(command, cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=timeout + 15)
    return process.returncode, process.stdout.decode(errors="replace")


def _register(server: SipServer, workdir: Path, user: str, port: int) -> None:
    scenario = SCENARIOS / "uac_register.xml"
    code, out = _agent_sipp(server, workdir, scenario, user, "-s", user, "-p", str(port))
    assert code == 0, out[-2000:]


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory, sipp_available: None) -> Iterator[Rig]:
    if os.geteuid() != 0:
        pytest.skip("SIPp pcap play needs root")
    data_dir = tmp_path_factory.mktemp("acd") / "data"
    _prepare(data_dir)
    trunk_port = free_port()
    env = {"WATERLINE_MEDIA__PORT_MIN": str(MEDIA_RANGE[0]), "WATERLINE_MEDIA__PORT_MAX": str(MEDIA_RANGE[1]),
           "WATERLINE_SIP__TRUNK": f"127.0.0.1:{trunk_port}", "WATERLINE_SIP__TRUST_LOOPBACK": "0",
           "WATERLINE_SIP__TRUNK_SOURCES": "127.0.0.1/32"}
    server = start_server(data_dir, env=env)
    try:
        ports = {"kefu1": free_port(PHONES), "kefu2": free_port(PHONES)}
        workdir = tmp_path_factory.mktemp("acd-register")
        for user, port in ports.items():
            _register(server, workdir, user, port)
        time.sleep(2.5)  # the distributor reads the bindings with the configuration every 2 s
        yield Rig(server, ports, trunk_port)
    finally:
        server.stop()


def _phone(workdir: Path, scenario: str, port: int, calls: int = 1,
           host: str = PHONES) -> tuple[subprocess.Popen[bytes], Path]:
    """A SIPp UAS playing an agent's phone (or the trunk's target) on ``port`` for ``calls`` calls."""
    workdir.mkdir(parents=True, exist_ok=True)
    stats = workdir / f"phone-{port}-stat.csv"
    command = [SIPP, "-sf", str(SCENARIOS / scenario), "-i", host, "-p", str(port),
               "-mp", str(free_port()), "-m", str(calls), "-timeout", "40s", "-timeout_error", "-nostdin",
               "-trace_stat", "-stf", str(stats), "-fd", "1"]
    process = subprocess.Popen(command, cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    time.sleep(0.3)  # bound before the carrier calls
    return process, stats


def _finish(process: subprocess.Popen[bytes], timeout: float = 30) -> str:
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate(timeout=10)
    return out.decode(errors="replace")


def _caller(server: SipServer, workdir: Path, did: str, scenario: str, *, hold_ms: int = 0,
            timeout: float = 45) -> subprocess.Popen[bytes]:
    """A carrier's caller to ``did`` (started, not waited for)."""
    workdir.mkdir(parents=True, exist_ok=True)
    source = (SCENARIOS / scenario).read_text()
    path = workdir / f"{time.monotonic_ns()}-{scenario}"
    path.write_text(source.replace("@HOLD_MS@", str(hold_ms)))
    command = [SIPP, f"{server.host}:{server.port}", "-sf", str(path), "-i", "127.0.0.1", "-p", "0",
               "-s", did, "-key", "caller", "13911112222", "-mp", str(free_port()), "-m", "1",
               "-timeout", f"{int(timeout)}s", "-timeout_error", "-nostdin", "-fd", "1",
               "-trace_stat", "-stf", str(workdir / f"caller-{time.monotonic_ns()}.csv")]
    return subprocess.Popen(command, cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)


def _queue_log(server: SipServer, queue: str, *, until: Callable[[list[QueueLogRecord]], bool],
               wait: float = 10.0) -> list[QueueLogRecord]:
    store, uows = _uows(server.data_dir)
    try:
        deadline = time.monotonic() + wait
        while True:
            with uows() as uow:
                records = [r for r in uow.queue_log.search(QueueLogFilter(queue=queue))]
            if until(records) or time.monotonic() > deadline:
                return sorted(records, key=lambda r: r.at)
            time.sleep(0.2)
    finally:
        store.close()


def _entries(server: SipServer, event: str, **match: object) -> list[dict[str, object]]:
    return [e for e in server.journal()
            if e["event"] == event and all(e.get(k) == v for k, v in match.items())]


def test_first_tier_rings_out_then_the_second_agent_answers_and_audio_flows(rig: Rig, sipp_dir: Path) -> None:
    server = rig.server
    first, _ = _phone(sipp_dir / "kefu1", "uas_acd_noanswer.xml", rig.agent_ports["kefu1"])
    second, second_stats = _phone(sipp_dir / "kefu2", "uas_transfer_target.xml", rig.agent_ports["kefu2"])
    caller = _caller(server, sipp_dir / "caller", DIDS["main"], "uac_acd_caller.xml")
    caller_out = _finish(caller, 50)
    first_out, second_out = _finish(first), _finish(second)
    assert caller.returncode == 0, caller_out[-3000:]
    assert first.returncode == 0, first_out[-3000:]
    assert second.returncode == 0, second_out[-3000:]
    assert int(read_sipp_stats(second_stats).get("SuccessfulCall(C)", "0")) == 1
    dialled = server.wait_journal("acd_dialled", 2, timeout=5, call_of=caller.pid)
    assert [e["agent"] for e in dialled] == ["kefu1", "kefu2"]
    gap = float(str(dialled[1]["ts"])) - float(str(dialled[0]["ts"]))
    assert 2.8 <= gap <= 5.0, dialled  # the second rang after the first's 3 s ring timeout
    [ended] = [e for e in server.wait_journal("acd_leg_ended", 2) if e["agent"] == "kefu2"]
    assert ended["bridged"] is True
    # audio both ways through the relay: the caller's pcap to the agent, the agent's to the caller
    assert int(str(ended["to_agent"])) > 50 and int(str(ended["to_caller"])) > 50, ended
    log = _queue_log(server, "acd-main", until=lambda rs: any(r.event == "complete-agent" for r in rs))
    assert [r.event for r in log] == ["enter", "ring-no-answer", "connect", "complete-agent"]
    assert log[1].agent == "kefu1" and log[1].wait is not None and 2.8 <= log[1].wait <= 4.0
    assert log[2].agent == "kefu2"
    # the call's record: transferred, the talk time, and the agent's voice on the recording's right channel
    cdr = _cdr(server, f"-{caller.pid}@")
    assert cdr.outcome is not None and cdr.outcome.value == "transferred"
    assert cdr.talk_seconds > 3 and cdr.recording_id is not None
    store, _ = _uows(server.data_dir)
    try:
        with store.session_factory() as session:
            recording = RecordingRepository(session).get(cdr.recording_id)
        assert recording is not None
        with wave.open(str(recording.file(server.data_dir))) as wav:
            frames = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    finally:
        store.close()
    # the last seconds are the bridge (the agent talked ~4 s, then the flow hung up): without the relay's
    # tap the right channel would be padded with silence there
    bridged = frames[-3 * 8000:-8000, 1].astype(np.int32)
    assert len(frames) > 6 * 8000 and np.abs(bridged).max() > 1000


def test_a_caller_who_hangs_up_while_the_agent_rings_is_an_abandon(rig: Rig, sipp_dir: Path) -> None:
    server = rig.server
    phone, _ = _phone(sipp_dir / "kefu1", "uas_acd_noanswer.xml", rig.agent_ports["kefu1"])
    caller = _caller(server, sipp_dir / "caller", DIDS["solo"], "uac_acd_hangup.xml", hold_ms=3000)
    caller_out = _finish(caller, 30)
    phone_out = _finish(phone)
    assert caller.returncode == 0, caller_out[-3000:]
    assert phone.returncode == 0, phone_out[-3000:]  # it got the CANCEL
    log = _queue_log(server, "acd-solo", until=lambda rs: any(r.event == "abandon" for r in rs))
    assert [r.event for r in log] == ["enter", "abandon"]
    assert log[1].position == 1 and log[1].wait is not None and 2.5 <= log[1].wait <= 5.0, log


def test_a_full_queue_overflows_to_voicemail(rig: Rig, sipp_dir: Path) -> None:
    server = rig.server
    waiting = _caller(server, sipp_dir / "waiting", DIDS["full"], "uac_acd_hangup.xml", hold_ms=6000)
    time.sleep(2.0)
    overflow = _caller(server, sipp_dir / "overflow", DIDS["full"], "uac_acd_hangup.xml", hold_ms=3000)
    overflow_out, waiting_out = _finish(overflow, 30), _finish(waiting, 30)
    assert waiting.returncode == 0, waiting_out[-3000:]
    assert overflow.returncode == 0, overflow_out[-3000:]
    log = _queue_log(server, "acd-full", until=lambda rs: any(r.event == "abandon" for r in rs))
    events = [(r.event, r.reason) for r in log]
    assert events == [("enter", ""), ("full", "voicemail"), ("abandon", "")], events
    [left] = _entries(server, "acd_left", queue="acd-full")
    assert left["reason"] == "full" and left["to"] == "voicemail"


def test_no_agent_logged_in_fails_over_to_the_mobile(rig: Rig, sipp_dir: Path) -> None:
    server = rig.server
    target, target_stats = _phone(sipp_dir / "mobile", "uas_transfer_target.xml", rig.trunk_port,
                                  host="127.0.0.1")
    caller = _caller(server, sipp_dir / "caller", DIDS["failover"], "uac_acd_caller.xml")
    caller_out, target_out = _finish(caller, 40), _finish(target)
    assert caller.returncode == 0, caller_out[-3000:]
    assert target.returncode == 0, target_out[-3000:]
    assert int(read_sipp_stats(target_stats).get("SuccessfulCall(C)", "0")) == 1
    [failover] = _entries(server, "acd_failover")
    assert failover["number"] == MOBILE and failover["reason"] == "no-agent-logged-in"
    [dialled] = [e for e in server.journal() if e["event"] == "transfer_dialled"]
    assert dialled["uri"] == f"sip:{MOBILE}@127.0.0.1:{rig.trunk_port}"
    log = _queue_log(server, "acd-failover", until=lambda rs: bool(rs))
    assert [(r.event, r.reason) for r in log] == [("joinempty", f"mobile:{MOBILE}")]


ACK_2XX = """
  <send>
    <![CDATA[

      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:[agent]@[remote_ip]:[remote_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
"""
ACK_REFUSAL = """
  <send>
    <![CDATA[

      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      [last_Via:]
      From: <sip:[agent]@[remote_ip]:[remote_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
"""
OUR_BYE = """
  <recv request="BYE" timeout="15000"/>

  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
"""


def _dial(server: SipServer, workdir: Path, user: str, number: str, *, final: int) -> str:
    """Agent ``user`` dials ``number`` from the phones' address; asserts the final status seen."""
    template = (SCENARIOS / "uac_agent_dial.xml").read_text()
    scenario = workdir / f"dial-{time.monotonic_ns()}.xml"
    workdir.mkdir(parents=True, exist_ok=True)
    scenario.write_text(template.replace("@FINAL@", str(final))
                        .replace("@FINAL_ACK@", ACK_2XX if final == 200 else ACK_REFUSAL)
                        .replace("@AFTER@", OUR_BYE if final == 200 else ""))
    code, out = _agent_sipp(server, workdir, scenario, user, "-s", number, "-p", "0",
                            "-mp", str(free_port(PHONES)))
    assert code == 0, out[-3000:]
    return out


def _state(server: SipServer, user: str) -> tuple[str, str]:
    store, uows = _uows(server.data_dir)
    try:
        with uows() as uow:
            status = uow.agents.by_username(user)
        assert status is not None
        return status.state.value, status.reason
    finally:
        store.close()


def test_feature_codes_from_an_agents_phone_change_the_state_with_a_spoken_confirmation(
        rig: Rig, sipp_dir: Path) -> None:
    server = rig.server
    assert _state(server, "kefu4")[0] == "logged_out"
    _dial(server, sipp_dir, "kefu4", "*21", final=200)  # answered, confirmed, our BYE
    assert _state(server, "kefu4") == ("available", "login")
    _dial(server, sipp_dir, "kefu4", "*23", final=200)
    assert _state(server, "kefu4") == ("paused", "feature-code")
    codes = [(e["user"], e["code"], e["state"]) for e in server.wait_journal("feature_code", 2)]
    assert codes == [("kefu4", "*21", "available"), ("kefu4", "*23", "paused")]
    _dial(server, sipp_dir, "kefu4", "*22", final=200)
    assert _state(server, "kefu4")[0] == "logged_out"


def test_an_agent_dialling_an_outside_number_is_refused(rig: Rig, sipp_dir: Path) -> None:
    server = rig.server
    _dial(server, sipp_dir, "kefu4", PREMIUM, final=403)
    [refused] = server.wait_journal("outbound_refused", 1)
    assert (refused["user"], refused["number"], refused["reason"]) == ("kefu4", PREMIUM, "not-allowed")
    assert not [e for e in server.journal() if e["event"] == "transfer_dialled" and PREMIUM in str(e)]
