"""A flow published in the console's editor answers the next call: ``waterline demo --sip`` serves the
console and the telephony engine; the owner writes a flow, publishes it and routes a 400 number to it in
the browser; SIPp (the carrier) calls the number and the call's record names version 1 and its path;
the owner publishes version 2 in the editor and the calls from the engine's next route read on (every
2 s; later on a busy machine) run version 2, the ones before it version 1 — never anything else."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from waterline import bootstrap
from waterline.adapters.db.users import UserRepository
from waterline.config import Settings
from waterline.domain.users import Role

from .conftest import Console, DemoServer, free_tcp_port, start_demo

pytestmark = pytest.mark.sipp

SCENARIO = Path(__file__).with_name("scenarios") / "uac_until_bye.xml"
DID = "4000000555"
OWNER_PASSWORD = "owner-pass-123"
MEDIA_RANGE = ("35400", "35599")  # the engine's RTP ports here, away from the other tests' ranges
VERSION_1 = """\
name: console-call
start: hello
nodes:
  hello: {kind: play, say: [{prompt: bench_confirm}], next: bye}
  bye: {kind: hangup}
"""
VERSION_2 = VERSION_1.replace(
    "next: bye}", "next: thanks}\n  thanks: {kind: play, say: [{prompt: bench_confirm}], next: bye}"
)


def _free_udp_port(even: bool = False) -> int:
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if not even or port % 2 == 0:
            return port


def _wait_engine_ready(data_dir: Path, timeout: float = 180.0) -> None:
    journal = data_dir / "logs" / "telephony.jsonl"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if journal.exists():
            for line in journal.read_text(encoding="utf-8").splitlines():
                if line.strip() and json.loads(line).get("event") == "engine_ready":
                    return
        time.sleep(0.3)
    raise AssertionError(f"the engine did not get ready within {timeout} s")


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DemoServer]:
    """``waterline demo --sip`` on a store that has only the owner (so no demo data is loaded)."""
    if shutil.which("sipp") is None:
        if os.environ.get("WATERLINE_SKIP_SIPP") == "1":
            pytest.skip("SIPp not installed and WATERLINE_SKIP_SIPP=1")
        pytest.fail("SIPp (Debian package sip-tester) is not installed; `make test` installs it")
    data_dir = tmp_path / "data"
    store = bootstrap.open_store(Settings(data_dir=data_dir))
    try:
        with store.session_factory() as session:
            UserRepository(session).add("owner", Role.OWNER, OWNER_PASSWORD, now=datetime.now(UTC))
            session.commit()
    finally:
        store.close()
    monkeypatch.setenv("WATERLINE_MEDIA__PORT_MIN", MEDIA_RANGE[0])
    monkeypatch.setenv("WATERLINE_MEDIA__PORT_MAX", MEDIA_RANGE[1])
    server = start_demo(data_dir, sip=("127.0.0.1", _free_udp_port()), startup=180.0)
    try:
        _wait_engine_ready(data_dir)
        yield server
    finally:
        server.stop()


def _call(server: DemoServer, workdir: Path, caller: str) -> bool:
    """One SIPp call of ``caller`` to the DID until the flow hangs up; False when it was refused (404)."""
    assert server.sip is not None
    workdir.mkdir(parents=True, exist_ok=True)
    command = [
        "sipp", f"{server.sip[0]}:{server.sip[1]}", "-i", "127.0.0.1", "-p", str(free_tcp_port()), "-t", "u1",
        "-sf", str(SCENARIO), "-s", DID, "-key", "caller", caller, "-mp", str(_free_udp_port(even=True)),
        "-m", "1", "-timeout", "40s", "-timeout_error", "-max_retrans", "5", "-nostdin", "-trace_err",
    ]
    result = subprocess.run(command, cwd=workdir, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    errors = "".join(p.read_text(errors="replace") for p in workdir.glob("*_errors.log"))
    if result.returncode != 0 and "SIP/2.0 404" in errors:
        return False  # the engine has not read the new route yet
    assert result.returncode == 0, errors[-3000:] or result.stdout.decode(errors="replace")[-3000:]
    return True


def _call_until_version(server: DemoServer, page: Any, workdir: Path, phase: int, version: int
                        ) -> tuple[dict[str, Any], list[int | None]]:
    """Call until a call runs ``version`` of the flow (the engine re-reads routes every 2 s, later on
    a busy machine); the record of that call and the versions every call ran, refused ones as None."""
    seen: list[int | None] = []
    for attempt in range(8):
        caller = f"13900{phase}{attempt:05d}"
        if not _call(server, workdir / f"call-{phase}-{attempt}", caller):
            seen.append(None)
        else:
            record = _record(page, caller)
            seen.append(record["flow_version"])
            if record["flow_version"] == version:
                return record, seen
        time.sleep(1.0)
    raise AssertionError(f"no call ran version {version} of the flow; the calls ran {seen}")


def _record(page: Any, caller: str, wait: float = 20.0) -> dict[str, Any]:
    """The closed call record of ``caller``, with its path."""
    deadline = time.monotonic() + wait
    while True:
        calls = page.request.get(f"/api/calls?caller={caller}").json()
        closed = [c for c in calls if c["ended_at"] is not None]
        if closed:
            detail: dict[str, Any] = page.request.get(f"/api/calls/{closed[0]['id']}").json()
            return detail
        assert time.monotonic() < deadline, f"no closed call record for {caller}: {calls}"
        time.sleep(0.3)


def _publish(page: Any, text: str, version: int) -> None:
    page.fill("#flow-text", text)
    page.locator("#flow-ok").wait_for()
    page.click("#flow-publish")
    page.locator("#flow-info .wl-tag", has_text=f"当前发布：第 {version} 版").wait_for()


def test_a_flow_published_in_the_editor_answers_the_next_call(
    served: DemoServer, browser: Any, tmp_path: Path
) -> None:
    console = Console(served, browser)
    try:
        page = console.new_page()
        console.log_in(page, "owner", OWNER_PASSWORD)
        page.goto("/console/admin/flows")
        page.fill("#new-flow-name", "console-call")
        page.click("#new-flow")
        _publish(page, VERSION_1, 1)

        page.goto("/console/admin/numbers")
        page.fill("#number-form [name=did]", DID)
        page.select_option("#number-form [name=flow]", "console-call")
        page.click("#number-form button[type=submit]")
        page.locator("#number-table tbody tr", has_text="400-000-0555").wait_for()

        first, seen = _call_until_version(served, page, tmp_path, 1, 1)
        assert set(seen[:-1]) <= {None}  # before the engine read the route the number was unknown (404)
        assert first["flow_name"] == "console-call" and first["hangup_side"] == "system"  # the flow hung up
        assert [step["node"] for step in first["path"]] == ["hello", "bye"]

        page.goto("/console/admin/flows")
        page.select_option("#flow-select", "console-call")
        page.locator("#flow-info .wl-tag", has_text="当前发布：第 1 版").wait_for()
        _publish(page, VERSION_2, 2)
        page.evaluate("window.scrollTo(0, 0)")
        console.screenshot(page, "admin-flow-published-for-calls")

        second, seen = _call_until_version(served, page, tmp_path, 2, 2)
        assert set(seen[:-1]) <= {1}  # calls before the engine's next route read ran version 1
        assert [step["node"] for step in second["path"]] == ["hello", "thanks", "bye"]
        assert page.errors == []
        assert httpx.get(f"{served.base_url}/api/health").status_code == 200
    finally:
        console.close()
