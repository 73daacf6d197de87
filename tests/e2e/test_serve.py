"""The product path of issue 3: ``waterline demo --sip`` runs the engine in its own process next to the
web app; a demo agent registers with its documented SIP password and calls to *43 are answered."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest
from harness import free_port, run_sipp, start_server

pytestmark = pytest.mark.sipp

DEMO_AGENT = "agent"
DEMO_AGENT_SIP_PASSWORD = "agent123"  # documented demo login (bootstrap.DEMO_LOGINS, README)


def test_demo_with_sip_answers_calls_and_registers_demo_agent(tmp_path: Path, sipp_available: None) -> None:
    http = f"127.0.0.1:{free_port()}"
    command = [sys.executable, "-c", "from waterline.cli import main; main()", "demo", "--http", http]
    server = start_server(tmp_path / "data", command=command, startup=60.0)
    try:
        call = run_sipp(server, tmp_path / "sipp", "-sn", "uac", "-s", "*43", calls=3)
        assert call.returncode == 0 and call.count("SuccessfulCall(C)") == 3, call.output[-3000:]
        register = run_sipp(
            server, tmp_path / "sipp", "-s", DEMO_AGENT, "-au", DEMO_AGENT, "-ap", DEMO_AGENT_SIP_PASSWORD,
            scenario="uac_register.xml",
        )
        assert register.returncode == 0, register.output[-3000:]
        registered = server.wait_journal("registered", 1)
        assert any(f"sip:{DEMO_AGENT}@" in str(entry["aor"]) for entry in registered)
    finally:
        code = server.stop(timeout=20, signum=signal.SIGINT)
    assert code == 0, server.stderr()[-3000:]
    assert (tmp_path / "data" / "registrations.json").exists()
