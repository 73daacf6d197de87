"""Live events through the product path: ``waterline serve --sip --http`` runs the engine in its child
process and the web app; an agent's browser socket (``/ws/agent``, a real WebSocket client) sees his
state change, made through the API, come back from the engine over the live channel; when the engine
child dies and the supervisor restarts it, the web worker reconnects by itself."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import websockets
from harness import AGENT_PASSWORD, AGENT_USER, add_agent, free_port, start_server

SECRET = {"WATERLINE_SECRET_KEY": "e2e-secret-key-0123456789abcdef"}


async def _until(ws: Any, predicate: Any, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
        if predicate(message):
            return message


def _children(pid: int) -> list[int]:
    """The spawned interpreters among ``pid``'s children (the engine; not multiprocessing's helpers)."""
    found = [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return [p for p in found if "spawn_main" in _cmdline(p)]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def test_an_agent_state_change_comes_back_from_the_engine_to_the_agent_socket(tmp_path: Path) -> None:
    data = tmp_path / "data"
    add_agent(data)
    http = f"127.0.0.1:{free_port()}"
    command = [sys.executable, "-c", "from waterline.cli import main; main()", "serve", "--http", http]
    server = start_server(data, env=SECRET, command=command, startup=60.0)

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=f"http://{http}", timeout=10) as client:
            login = await client.post("/api/auth/token",
                                      data={"username": AGENT_USER, "password": "web-" + AGENT_PASSWORD})
            assert login.status_code == 200, login.text
            token = login.json()["access_token"]
            async with websockets.connect(f"ws://{http}/ws/agent?token={token}") as ws:
                hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert hello["type"] == "hello" and hello["agent"] == AGENT_USER
                if not hello["engine"]:  # the web worker may still be connecting to the engine
                    await _until(ws, lambda m: m == {"type": "engine", "connected": True})
                changed = await client.post("/api/agents/me/state", json={"state": "available"},
                                            headers={"Authorization": f"Bearer {token}"})
                assert changed.status_code == 200, changed.text
                state = await _until(ws, lambda m: m["type"] == "agent.state")
                assert (state["agent"], state["state"]) == (AGENT_USER, "available")
                # the engine child crashes; the supervisor starts a new one and the worker reconnects
                [engine] = _children(server.process.pid)
                os.kill(engine, signal.SIGKILL)
                await _until(ws, lambda m: m == {"type": "engine", "connected": False})
                await _until(ws, lambda m: m == {"type": "engine", "connected": True}, timeout=60)
                # the new engine follows the next change and tells the reconnected worker
                again = await client.post("/api/agents/me/state", json={"state": "paused", "reason": "培训"},
                                          headers={"Authorization": f"Bearer {token}"})
                assert again.status_code == 200, again.text
                paused = await _until(ws, lambda m: m["type"] == "agent.state" and m["state"] == "paused")
                assert "培训" in paused["reason"]  # the ACD says "pause:培训"
            # another agent's socket is refused without a token
            async with websockets.connect(f"ws://{http}/ws/agent") as anonymous:
                await anonymous.send(json.dumps({"type": "auth", "token": "forged"}))
                try:
                    await asyncio.wait_for(anonymous.recv(), 10)
                except websockets.ConnectionClosed as closed:
                    assert closed.rcvd is not None and closed.rcvd.code == 4401
                else:
                    raise AssertionError("an unauthenticated socket got a message")

    try:
        asyncio.run(scenario())
    finally:
        code = server.stop(timeout=20, signum=signal.SIGINT)
    assert code == 0, server.stderr()[-3000:]
    stopped = [entry for entry in server.journal() if entry["event"] == "engine_stopped"]
    # the change went through the engine's port (the web worker alone would not count there)
    assert stopped and int(str(stopped[-1]["live_published"])) >= 1
