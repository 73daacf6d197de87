"""End to end: the telephony engine as a process, driven over loopback by SIPp scenarios."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from harness import (
    AGENT_PASSWORD,
    AGENT_USER,
    SippResult,
    SipServer,
    run_sipp,
    sip_ping,
    start_server,
)

pytestmark = pytest.mark.sipp


def _assert_ok(result: SippResult) -> None:
    assert result.returncode == 0, result.output[-3000:]
    assert result.count("FailedCall(C)") == 0, result.output[-3000:]


def test_options_is_answered(sip_server: SipServer) -> None:
    assert sip_ping(sip_server.host, sip_server.port) == b"SIP/2.0 200 OK"


def test_basic_calls_to_echo_extension(sip_server: SipServer, sipp_dir: Path) -> None:
    result = run_sipp(sip_server, sipp_dir, "-sn", "uac", "-s", "*43", calls=5, rate=10)
    _assert_ok(result)
    assert result.count("SuccessfulCall(C)") == 5
    ended = sip_server.wait_journal("call_ended", 5, call_of=result.pid)
    assert len(ended) == 5 and all(entry["reason"] == "remote-bye" for entry in ended)


def test_unknown_number_gets_404(sip_server: SipServer, sipp_dir: Path) -> None:
    result = run_sipp(sip_server, sipp_dir, "-s", "4008123456", scenario="uac_404.xml", calls=3)
    _assert_ok(result)
    rejected = sip_server.wait_journal("call_rejected", 3, call_of=result.pid)
    assert [(entry["number"], entry["status"]) for entry in rejected] == [("4008123456", 404)] * 3


def test_cancel_before_answer(sip_server: SipServer, sipp_dir: Path) -> None:
    result = run_sipp(sip_server, sipp_dir, "-s", "*41", scenario="uac_cancel.xml", calls=3)
    _assert_ok(result)
    ended = sip_server.wait_journal("call_ended", 3, call_of=result.pid)
    assert len(ended) == 3 and all(entry["answered"] is False for entry in ended)


def test_register_with_digest_auth(sip_server: SipServer, sipp_dir: Path) -> None:
    result = run_sipp(
        sip_server, sipp_dir, "-s", AGENT_USER, "-au", AGENT_USER, "-ap", AGENT_PASSWORD,
        scenario="uac_register.xml", calls=1,
    )
    _assert_ok(result)
    registered = sip_server.wait_journal("registered", 1)
    assert any(AGENT_USER in str(entry["aor"]) for entry in registered)


def test_register_with_wrong_password_is_refused(sip_server: SipServer, sipp_dir: Path) -> None:
    before = len(sip_server.wait_journal("registered", 0, timeout=0))
    result = run_sipp(
        sip_server, sipp_dir, "-s", AGENT_USER, "-au", AGENT_USER, "-ap", "not-the-password",
        scenario="uac_register_wrong.xml", calls=1,
    )
    _assert_ok(result)
    assert len(sip_server.wait_journal("registered", before + 1, timeout=1.5)) == before


def test_reinvite_hold_and_unhold(sip_server: SipServer, sipp_dir: Path) -> None:
    result = run_sipp(sip_server, sipp_dir, "-s", "*43", scenario="uac_hold.xml", calls=2)
    _assert_ok(result)
    assert len(sip_server.wait_journal("call_held", 2, call_of=result.pid)) == 2
    assert len(sip_server.wait_journal("call_resumed", 2, call_of=result.pid)) == 2


def test_calls_over_tcp(sip_server: SipServer, sipp_dir: Path) -> None:
    result = run_sipp(sip_server, sipp_dir, "-sn", "uac", "-s", "*43", calls=5, transport="t1")
    _assert_ok(result)
    answered = sip_server.wait_journal("call_answered", 5, call_of=result.pid)
    assert [entry["transport"] for entry in answered] == ["tcp"] * 5


def test_retransmitted_invite_is_absorbed(sip_server: SipServer, sipp_dir: Path) -> None:
    result = run_sipp(sip_server, sipp_dir, "-s", "*43", scenario="uac_retrans.xml", calls=3)
    _assert_ok(result)
    sip_server.wait_journal("call_ended", 3, call_of=result.pid)
    # Each SIPp call sent its INVITE twice; each must have become exactly one call.
    answered = sip_server.wait_journal("call_answered", 4, timeout=1.0, call_of=result.pid)
    assert len(answered) == 3 and len({entry["call_id"] for entry in answered}) == 3


def test_engine_stops_cleanly_on_sigterm(tmp_path: Path, sipp_available: None) -> None:
    server = start_server(tmp_path / "engine")
    assert server.stop() == 0, server.stderr()
    events = [entry["event"] for entry in server.journal()]
    assert events[0] == "engine_started" and events[-1] == "engine_stopped"


def test_stopping_the_engine_hangs_up_active_calls(tmp_path: Path, sipp_available: None) -> None:
    server = start_server(tmp_path / "engine")
    workdir = tmp_path / "sipp"
    workdir.mkdir()
    # A call that would stay up for 30 s; SIPp traces every message it receives.
    sipp = subprocess.Popen(
        ["sipp", f"{server.host}:{server.port}", "-sn", "uac", "-s", "*43", "-i", "127.0.0.1", "-p", "0",
         "-m", "1", "-d", "30000", "-timeout", "40s", "-nostdin", "-trace_msg", "-message_file", "msg.log"],
        cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        assert len(server.wait_journal("call_answered", 1, call_of=sipp.pid)) == 1
        assert server.stop() == 0, server.stderr()[-3000:]
        sipp.wait(45)
    finally:
        if sipp.poll() is None:
            sipp.kill()
            sipp.wait(10)
    received_bye = [
        block for block in (workdir / "msg.log").read_text(errors="replace").split("-" * 20)
        if "message received" in block and "BYE sip:" in block
    ]
    assert received_bye, (workdir / "msg.log").read_text(errors="replace")[-3000:]
