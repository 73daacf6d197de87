"""End to end: the caller's hold passed through to the agent (issue 6, ``telephony.hold``).

A carrier SIPp caller reaches ``kefu1`` through the ACD (queue ``acd-solo`` of ``test_sipp_acd``'s rig),
then holds the call with a re-INVITE ``a=sendonly`` and takes it off hold with ``a=sendrecv``. The
agent's SIPp phone checks the re-INVITEs it gets from us: ``sendonly``/``inactive`` first, ``sendrecv``
next (the scenario fails otherwise); the caller checks our answers (recvonly, then not held). The call
goes on and ends with the caller's BYE.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from harness import SCENARIOS, SIPP, free_port
from test_sipp_acd import DIDS, PHONES, Rig, _caller, _entries, _finish, rig

pytestmark = pytest.mark.sipp

__all__ = ["rig"]  # test_sipp_acd's module-scoped rig: a server of this module's own, agents registered


def _phone(workdir: Path, port: int) -> subprocess.Popen[bytes]:
    """The agent's SIPp phone on ``port``, its messages and errors traced in ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    command = [SIPP, "-sf", str(SCENARIOS / "uas_agent_held.xml"), "-i", PHONES, "-p", str(port),
               "-mp", str(free_port()), "-m", "1", "-timeout", "25s", "-timeout_error", "-nostdin",
               "-trace_msg", "-trace_err", "-fd", "1"]
    process = subprocess.Popen(command, cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    time.sleep(0.3)  # bound before the carrier calls
    return process


def test_a_caller_hold_and_unhold_reach_the_agent_and_the_call_goes_on(rig: Rig, sipp_dir: Path) -> None:
    server = rig.server
    phone = _phone(sipp_dir / "kefu1", rig.agent_ports["kefu1"])
    caller = _caller(server, sipp_dir / "caller", DIDS["solo"], "uac_acd_hold.xml", hold_ms=3000, timeout=25)
    caller_out = _finish(caller, 28)
    phone_out = _finish(phone, 10)
    assert caller.returncode == 0, caller_out[-3000:]
    errors = "".join(p.read_text(errors="replace") for p in (sipp_dir / "kefu1").glob("*_errors.log"))
    assert phone.returncode == 0, phone_out[-2000:] + errors[-3000:]
    [bridged] = server.wait_journal("acd_bridged", 1, timeout=5, call_of=caller.pid)
    leg = bridged["leg"]
    [held] = [e for e in server.wait_journal("caller_held", 1, timeout=5) if e["leg"] == leg]
    assert held["direction"] == "sendonly"
    passed = [e for e in server.wait_journal("hold_passed", 2, timeout=5) if e["leg"] == leg]
    assert [e["direction"] for e in passed] == ["sendonly", "sendrecv"]
    assert _entries(server, "caller_resumed", leg=leg)
    assert not _entries(server, "hold_failed", leg=leg)
    [ended] = [e for e in server.wait_journal("acd_leg_ended", 1, timeout=5) if e["leg"] == leg]
    assert ended["bridged"] is True and ended["reason"] != "timeout"
    # the caller's audio reached the agent before and after the hold
    assert int(str(ended["to_agent"])) > 50, ended
