"""End to end: an agent's phone blind-transfers an ACD call with REFER (RFC 3515, issue 6).

A carrier SIPp caller reaches ``kefu1`` through queue ``acd-main`` of ``test_sipp_acd``'s rig. After 2 s
kefu1's SIPp phone sends REFER with ``Refer-To: <sip:kefu2@...>`` in the agent leg's dialog and checks
what comes back (``uas_agent_refer.xml``): 202, NOTIFY ``100 Trying``, NOTIFY ``200 OK`` ending the
subscription, then our BYE. kefu2's phone then rings, answers, talks 4 s and hangs up; the caller hears
the flow's end (our BYE). The queue log records the transfer and kefu2's connect.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import SCENARIOS, read_sipp_stats
from test_sipp_acd import DIDS, Rig, _caller, _finish, _phone, _queue_log, rig

pytestmark = pytest.mark.sipp

__all__ = ["rig"]  # the module-scoped server with registered agents, shared with test_sipp_acd


def test_an_agent_transfers_the_caller_to_another_agent_from_the_phone(rig: Rig, sipp_dir: Path) -> None:
    server = rig.server
    workdir = sipp_dir / "kefu1"
    workdir.mkdir(parents=True, exist_ok=True)
    scenario = workdir / "uas_agent_refer_kefu2.xml"
    scenario.write_text((SCENARIOS / "uas_agent_refer.xml").read_text().replace("@TARGET@", "kefu2"))
    first, first_stats = _phone(workdir, str(scenario), rig.agent_ports["kefu1"])
    second, second_stats = _phone(sipp_dir / "kefu2", "uas_transfer_target.xml", rig.agent_ports["kefu2"])
    caller = _caller(server, sipp_dir / "caller", DIDS["main"], "uac_acd_caller.xml", timeout=25)
    caller_out = _finish(caller, 28)
    first_out, second_out = _finish(first, 10), _finish(second, 10)
    assert first.returncode == 0, first_out[:5000]  # 202, both NOTIFYs as expected, our BYE
    assert second.returncode == 0, second_out[-3000:]
    assert caller.returncode == 0, caller_out[-3000:]
    assert int(read_sipp_stats(first_stats).get("SuccessfulCall(C)", "0")) == 1
    assert int(read_sipp_stats(second_stats).get("SuccessfulCall(C)", "0")) == 1
    [refer] = server.wait_journal("acd_refer", 1, timeout=5)
    assert refer["agent"] == "kefu1" and refer["status"] == 200, refer
    assert str(refer["refer_to"]).startswith("sip:kefu2@")
    [transferred] = server.wait_journal("acd_transferred", 1, timeout=5)
    assert transferred["to"] == "agent:kefu2" and transferred["by"] == "kefu1"
    [bridged] = [e for e in server.wait_journal("acd_bridged", 2, timeout=5) if e.get("agent") == "kefu2"]
    assert bridged["call_id"] == refer["call_id"]  # the same caller, now with kefu2
    log = _queue_log(server, "acd-main", until=lambda rs: any(r.event == "transfer" for r in rs))
    assert [r.event for r in log] == ["enter", "connect", "transfer"], log
    assert log[1].agent == "kefu1"
    agent = _queue_log(server, "agent:kefu2",
                       until=lambda rs: any(r.event.startswith("complete") for r in rs))
    assert [r.event for r in agent][:2] == ["enter", "connect"], agent
    assert agent[1].agent == "kefu2"
