"""The screen pop end to end (issue 6): ``waterline serve --sip --http``; a SIPp agent phone registered
with digest auth; a known customer calls the 400 number, the flow queues him, the ACD rings the agent —
and the agent's browser socket (``/ws/agent``, a real WebSocket client) has the call with the right
customer's card before the phone answers (it answers 0.5 s after the INVITE)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from harness import SCENARIOS, SIPP, SipServer, add_agent, free_port, run_sipp, start_server

from waterline import bootstrap
from waterline.calls.queue import QueueConfig, QueueMember
from waterline.config import Settings
from waterline.domain.agents import QueuePurpose
from waterline.domain.customers import new_address, new_customer
from waterline.domain.stations import Station
from waterline.services.agents import set_own_state
from waterline.services.callflows import seed_flows
from waterline.services.queues import create_queue

pytestmark = pytest.mark.sipp

AGENT = "kefu1"
PASSWORD = "live-e2e-secret"
CALLER = "13911112222"
DID = "4006360009"
SECRET = {"WATERLINE_SECRET_KEY": "e2e-secret-key-0123456789abcdef"}
FLOW = """
name: live-main
start: q
nodes:
  q: {kind: queue, queue: live-main, fallback: "13800000000", next: bye, on_failure: bye}
  bye: {kind: hangup}
"""


def _prepare(data_dir: Path) -> int:
    add_agent(data_dir, AGENT, PASSWORD)
    store = bootstrap.open_store(Settings(data_dir=data_dir))
    uows = bootstrap.uow_factory(store)
    now = datetime.now(UTC)
    try:
        with uows() as uow:
            station = uow.stations.add(Station("测试站", "西安市", "雁塔区", 34.2, 108.9))
            address = new_address("西安市", "雁塔区", "科技路10号3单元501", is_default=True)
            customer = uow.customers.add(new_customer("王秀兰", [CALLER], [address]))
            uow.commit()
        assert station.id is not None and customer.id is not None
        config = QueueConfig("live-main", ring_timeout=10.0, wrap_up_seconds=0.0, announce_every=None)
        create_queue(uows(), station_id=station.id, purpose=QueuePurpose.ORDERS, config=config,
                     members=[QueueMember(AGENT)], now=now)
        with uows() as uow:
            agent = uow.agents.by_username(AGENT)
        assert agent is not None
        set_own_state(uows(), agent.user_id, "available", reason="", by="test", now=now)
        seed_flows(uows(), {"live-main": FLOW}, {DID: "live-main"}, now=now)
        return customer.id
    finally:
        store.close()


def _sipp(server: SipServer, workdir: Path, scenario: str, *args: str) -> subprocess.Popen[bytes]:
    workdir.mkdir(parents=True, exist_ok=True)
    command = [SIPP, *args, "-sf", str(SCENARIOS / scenario), "-i", "127.0.0.1", "-mp", str(free_port()),
               "-m", "1", "-timeout", "30s", "-timeout_error", "-nostdin", "-fd", "1"]
    return subprocess.Popen(command, cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)


def _finish(process: subprocess.Popen[bytes], timeout: float = 30) -> str:
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate(timeout=10)
    return out.decode(errors="replace")


def test_the_card_reaches_the_agent_socket_before_his_phone_answers(
    tmp_path: Path, sipp_available: None
) -> None:
    if os.geteuid() != 0:
        pytest.skip("SIPp pcap play needs root")
    data = tmp_path / "data"
    customer_id = _prepare(data)
    http = f"127.0.0.1:{free_port()}"
    command = [sys.executable, "-c", "from waterline.cli import main; main()", "serve", "--http", http]
    env = {**SECRET, "WATERLINE_MEDIA__PORT_MIN": "33800", "WATERLINE_MEDIA__PORT_MAX": "33899"}
    server = start_server(data, env=env, command=command, startup=60.0)
    phone_port = free_port()
    received: dict[str, tuple[float, dict[str, Any]]] = {}

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=f"http://{http}", timeout=10) as client:
            login = await client.post("/api/auth/token",
                                      data={"username": AGENT, "password": "web-" + PASSWORD})
            assert login.status_code == 200, login.text
            token = login.json()["access_token"]
        async with websockets.connect(f"ws://{http}/ws/agent?token={token}") as ws:
            hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert hello["type"] == "hello"
            phone = _sipp(server, tmp_path / "phone", "uas_transfer_target.xml", "-p", str(phone_port))
            await asyncio.sleep(0.3)  # the phone is bound before the carrier calls
            caller = _sipp(server, tmp_path / "caller", "uac_acd_caller.xml", f"{server.host}:{server.port}",
                           "-p", "0", "-s", DID, "-key", "caller", CALLER)
            try:
                deadline = time.monotonic() + 30
                while "call.answered" not in received:
                    text = await asyncio.wait_for(ws.recv(), max(0.1, deadline - time.monotonic()))
                    message = json.loads(text)
                    received.setdefault(message["type"], (time.time(), message))
            finally:
                caller_out = await asyncio.to_thread(_finish, caller, 40)
                phone_out = await asyncio.to_thread(_finish, phone)
            assert caller.returncode == 0, caller_out[-3000:]
            assert phone.returncode == 0, phone_out[-3000:]

    try:
        registered = run_sipp(server, tmp_path / "register", "-s", AGENT, "-au", AGENT, "-ap", PASSWORD,
                              "-p", str(phone_port), scenario="uac_register.xml", timeout=15)
        assert registered.returncode == 0, registered.output[-2000:]
        time.sleep(2.5)  # the distributor reads the bindings with its configuration every 2 s
        asyncio.run(scenario())
    finally:
        server.stop(timeout=20, signum=signal.SIGINT)
    card_at, offered = received["call.offered"]
    assert offered["agent"] == AGENT and offered["queue"] == "live-main" and offered["did"] == DID
    assert offered["caller"] == CALLER and "q" in offered["ivr_path"]
    card = offered["card"]
    assert card["known"] is True and card["customer"]["id"] == customer_id
    assert card["customer"]["name"] == "王秀兰" and card["region"]["district"] == "雁塔区"
    [dialled] = [e for e in server.journal() if e["event"] == "acd_dialled" and e.get("agent") == AGENT]
    [bridged] = [e for e in server.journal() if e["event"] == "acd_bridged" and e.get("agent") == AGENT]
    # the card was in the browser before the engine had the phone's 200 OK (sent 0.5 s after the INVITE)
    assert card_at < float(str(bridged["ts"])), (card_at, bridged)
    assert received["call.offered"][0] <= received["call.answered"][0]
    latency = (card_at - float(str(dialled["ts"]))) * 1000
    web = (card_at - float(offered["at"])) * 1000
    print(f"INVITE to the agent -> card at the browser: {latency:.0f} ms "
          f"(from the published offer {web:.0f} ms)")
