"""The product path of issue 3: ``waterline serve --sip`` runs the engine in its own process next to the
web app; an agent added with ``waterline users add --sip-password`` registers, calls to *43 are answered."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest
from harness import AGENT_PASSWORD, AGENT_USER, add_agent, free_port, run_sipp, start_server

pytestmark = pytest.mark.sipp

SECRET = {"WATERLINE_SECRET_KEY": "e2e-secret-key-0123456789abcdef"}


def test_serve_with_sip_answers_calls_and_registers_an_agent(tmp_path: Path, sipp_available: None) -> None:
    add_agent(tmp_path / "data")
    http = f"127.0.0.1:{free_port()}"
    command = [sys.executable, "-c", "from waterline.cli import main; main()", "serve", "--http", http]
    server = start_server(tmp_path / "data", env=SECRET, command=command, startup=60.0)
    try:
        call = run_sipp(server, tmp_path / "sipp", "-sn", "uac", "-s", "*43", calls=3)
        assert call.returncode == 0 and call.count("SuccessfulCall(C)") == 3, call.output[-3000:]
        register = run_sipp(
            server, tmp_path / "sipp", "-s", AGENT_USER, "-au", AGENT_USER, "-ap", AGENT_PASSWORD,
            scenario="uac_register.xml",
        )
        assert register.returncode == 0, register.output[-3000:]
        registered = server.wait_journal("registered", 1)
        assert any(f"sip:{AGENT_USER}@" in str(entry["aor"]) for entry in registered)
    finally:
        code = server.stop(timeout=20, signum=signal.SIGINT)
    assert code == 0, server.stderr()[-3000:]
    assert (tmp_path / "data" / "registrations.json").exists()
