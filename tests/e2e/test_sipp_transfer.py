"""End to end transfer (issue 5, first piece of issue 6's B2BUA): a SIPp carrier calls the DID of a
flow whose menu key 0 transfers to an on-duty number; the engine dials it through the trunk (a SIPp
UAS playing the other side: it answers, talks a few seconds and hangs up) and bridges both legs.
Key 9 transfers to a number a flow variable fills in, which no allow list names: the toll-fraud
guard refuses it.
"""

from __future__ import annotations

import os
import subprocess
import time
import wave
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from harness import SIPP, SipServer, free_port, read_sipp_stats, start_server
from test_sipp_flows import DID, _call, _cdr, _uows

from waterline.adapters.db.recordings import RecordingRepository
from waterline.services.callflows import seed_flows

pytestmark = pytest.mark.sipp

ON_DUTY = "13800000000"
CALLER = "13911112222"
PREMIUM = "00881234567890"
"""A satellite number a template fills in: the flow never names it, nor does the operator's list."""
MEDIA_RANGE = (33400, 33599)
FLOW = f"""
name: transfer
start: menu
variables: {{premium: "{PREMIUM}"}}
nodes:
  menu:
    kind: menu
    say: [{{prompt: menu}}]
    options: {{"0": agent, "9": fraud}}
    timeout: 15
    attempts: 1
    on_failure: bye
  agent: {{kind: transfer, target: "{ON_DUTY}", on_failure: bye}}
  fraud: {{kind: transfer, target: "{{premium}}", on_failure: bye}}
  bye: {{kind: hangup, say: [{{prompt: goodbye}}]}}
"""


@pytest.fixture(scope="module")
def trunk_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sipp_available: None,
           trunk_port: int) -> Iterator[SipServer]:
    if os.geteuid() != 0:
        pytest.skip("SIPp pcap play needs root")
    data_dir = tmp_path_factory.mktemp("transfer") / "data"
    data_dir.mkdir()
    store, uows = _uows(data_dir)
    try:
        seed_flows(uows(), {"transfer": FLOW}, {DID: "transfer"}, now=datetime.now(UTC))
    finally:
        store.close()
    env = {"WATERLINE_MEDIA__PORT_MIN": str(MEDIA_RANGE[0]), "WATERLINE_MEDIA__PORT_MAX": str(MEDIA_RANGE[1]),
           "WATERLINE_SIP__TRUNK": f"127.0.0.1:{trunk_port}"}
    engine = start_server(data_dir, env=env)
    try:
        yield engine
    finally:
        engine.stop()


def _target(workdir: Path, port: int) -> tuple[subprocess.Popen[bytes], Path]:
    """The SIPp UAS behind the trunk, waiting for one call."""
    workdir.mkdir(parents=True, exist_ok=True)
    stats = workdir / "target-stat.csv"
    scenario = Path(__file__).resolve().parent / "scenarios" / "uas_transfer_target.xml"
    command = [SIPP, "-sf", str(scenario), "-i", "127.0.0.1", "-p", str(port), "-mp", str(free_port()),
               "-m", "1", "-timeout", "60s", "-timeout_error", "-nostdin", "-trace_stat", "-stf", str(stats),
               "-fd", "1"]
    process = subprocess.Popen(command, cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    time.sleep(0.5)  # bound before the carrier calls
    return process, stats


def test_key_0_bridges_the_caller_to_the_on_duty_number(server: SipServer, sipp_dir: Path,
                                                         trunk_port: int) -> None:
    target, target_stats = _target(sipp_dir / "target", trunk_port)
    try:
        result = _call(server, sipp_dir, "uac_flow_transfer.xml", CALLER, timeout=60, key="0")
        out, _ = target.communicate(timeout=30)
    finally:
        if target.poll() is None:
            target.kill()
            target.communicate(timeout=10)
    assert target.returncode == 0, out.decode(errors="replace")[-3000:]
    stats = read_sipp_stats(target_stats)
    assert int(stats.get("SuccessfulCall(C)", "0")) == 1, stats  # INVITE got, answered, its BYE answered
    [dialled] = server.wait_journal("transfer_dialled", 1)
    assert dialled["kind"] == "number" and dialled["uri"] == f"sip:{ON_DUTY}@127.0.0.1:{trunk_port}"
    [ended] = server.wait_journal("transfer_ended", 1)
    assert ended["answered"] is True
    # audio both ways through the relay: the caller's pcap to the target, the target's to the caller
    assert int(str(ended["to_other"])) > 50 and int(str(ended["to_caller"])) > 50, ended
    assert float(str(ended["talk"])) > 3
    cdr = _cdr(server, f"-{result.pid}@")
    assert cdr.outcome is not None and cdr.outcome.value == "transferred"
    assert cdr.talk_seconds > 3
    assert cdr.digits == "0"
    assert cdr.recording_id is not None
    store, _ = _uows(server.data_dir)
    try:
        with store.session_factory() as session:
            recording = RecordingRepository(session).get(cdr.recording_id)
        assert recording is not None
        with wave.open(str(recording.file(server.data_dir))) as wav:
            frames = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    finally:
        store.close()
    right = np.abs(frames[:, 1].astype(np.int32))
    assert right.max() > 1000  # the other side's voice is on the right channel


def test_a_number_off_the_allow_list_is_refused(server: SipServer, sipp_dir: Path) -> None:
    result = _call(server, sipp_dir, "uac_flow_transfer.xml", CALLER, timeout=60, key="9")
    [refused] = server.wait_journal("transfer_refused", 1)
    assert refused["target"] == PREMIUM and refused["reason"] == "not-allowed"
    cdr = _cdr(server, f"-{result.pid}@")
    assert cdr.digits == "9"
    assert "transfer failed" in [step.detail for step in cdr.path]
    assert cdr.outcome is None or cdr.outcome.value != "transferred"
