"""Fixtures of the end-to-end tests: a running telephony engine process, driven by SIPp.

``sip_server`` (module scope) is ``python -m waterline.telephony`` on a free loopback port, its data dir
holding one agent (``harness.AGENT_USER``/``AGENT_PASSWORD``) able to REGISTER; stopped by PID at the end.
SIPp missing is a failure, not a skip (``make test`` installs it), unless WATERLINE_SKIP_SIPP=1.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import SipServer, add_agent, start_server


@pytest.fixture(scope="session")
def sipp_available() -> None:
    """SIPp must be installed; fail loudly otherwise."""
    if shutil.which("sipp") is None:
        if os.environ.get("WATERLINE_SKIP_SIPP") == "1":
            pytest.skip("SIPp not installed and WATERLINE_SKIP_SIPP=1")
        pytest.fail("SIPp (Debian package sip-tester) is not installed; `make test` installs it")


@pytest.fixture(scope="module")
def sip_server(tmp_path_factory: pytest.TempPathFactory, sipp_available: None) -> Iterator[SipServer]:
    """A running engine for the whole test module; stopped (SIGTERM, by PID) afterwards."""
    data_dir = tmp_path_factory.mktemp("engine")
    add_agent(data_dir)
    server = start_server(data_dir)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sipp_dir(tmp_path: Path) -> Path:
    """Working directory for one SIPp run (its logs and statistics)."""
    return tmp_path / "sipp"
