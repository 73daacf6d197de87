"""/ws/agent, /ws/supervisor and the console's call commands, against a real event port.

The app is wired by ``bootstrap.build_app`` (its live job connects to the data dir's socket); the engine
is stood in for by a real ``EventPort`` on its own loop in a thread, so every event crosses the real
socket, the real client and the real hub.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from pydantic import SecretStr
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from waterline import bootstrap
from waterline.adapters.db.users import UserRepository
from waterline.adapters.livechannel import socket_path
from waterline.calls.live import (
    AgentStateChanged,
    AgentStateNotice,
    CallAnswered,
    CallEnded,
    CallOffered,
    CallQueued,
    Command,
    Hangup,
    LiveEvent,
    QueueStats,
    RecordCall,
    TransferCall,
)
from waterline.config import Settings
from waterline.domain.users import Role
from waterline.rtp.g711 import PCMU
from waterline.telephony.eventport import CommandHandler, CommandRefused, EventPort
from waterline.telephony.journal import JournalValue
from waterline.telephony.recordcontrol import RecordControl
from waterline.telephony.recording import CallRecorder

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "password-123"
CALLER = "13912345678"


class EngineStandIn:
    """A real event port on a loop of its own (the engine's side of the channel)."""

    def __init__(self, path: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.port = EventPort(path, clock=time.time, engine_id="stand-in")
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self._call(self.port.start())

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(10)

    def publish(self, *events: LiveEvent) -> None:
        done: Future[None] = Future()

        def publish() -> None:
            for event in events:
                self.port.publish(event)
            done.set_result(None)

        self.loop.call_soon_threadsafe(publish)
        done.result(5)

    def on_command(self, name: str, handler: CommandHandler) -> None:
        self.loop.call_soon_threadsafe(self.port.on_command, name, handler)

    def subscribers(self) -> int:
        return self.port.subscribers

    def close(self) -> None:
        if self.loop.is_closed():
            return
        self._call(self.port.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@dataclass
class Desk:
    client: TestClient
    engine: EngineStandIn
    tokens: dict[str, str] = field(default_factory=dict)
    commands: list[Command] = field(default_factory=list)

    def token(self, username: str) -> str:
        if username not in self.tokens:
            response = self.client.post("/api/auth/token", data={"username": username, "password": PASSWORD})
            assert response.status_code == 200, response.text
            self.tokens[username] = response.json()["access_token"]
        return self.tokens[username]

    def auth(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(username)}"}

    def socket(self, path: str, username: str) -> Any:
        return self.client.websocket_connect(f"{path}?token={self.token(username)}")

    def wait_connected(self) -> None:
        deadline = time.monotonic() + 10
        while self.engine.subscribers() < 1:
            assert time.monotonic() < deadline, "the web worker did not connect to the engine"
            time.sleep(0.02)


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    settings = Settings(data_dir=tmp_path, secret_key=SecretStr("live-test-secret-0123456789"))
    store = bootstrap.open_store(settings)
    now = datetime.now(UTC)
    with store.session_factory() as session:
        repo = UserRepository(session, FAST_HASHER)
        for name, role in (("kefu01", Role.AGENT), ("kefu02", Role.AGENT), ("banzhang", Role.DISPATCHER),
                           ("courier", Role.COURIER)):
            repo.add(name, role, PASSWORD, now=now, display_name=name)
        session.commit()
    engine = EngineStandIn(socket_path(tmp_path))
    app = bootstrap.build_app(settings, store, hasher=FAST_HASHER, outbox=False)
    try:
        with TestClient(app) as client:
            desk = Desk(client, engine)
            desk.wait_connected()
            yield desk
    finally:
        engine.close()
        store.close()


def _customer(desk: Desk) -> dict[str, Any]:
    body = {"name": "张伟", "phones": [CALLER], "tier": "vip",
            "addresses": [{"city": "西安市", "district": "雁塔区", "detail": "科技路10号3单元501",
                           "floor": 5}]}
    response = desk.client.post("/api/customers", json=body, headers=desk.auth("kefu01"))
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def _offer(agent: str, call_id: str = "call-1", caller: str = CALLER) -> CallOffered:
    return CallOffered(call_id, agent, "orders", caller, "4006360888", time.time(), waited=4.0, leg="leg-1",
                       region="西安市", ivr_path=("welcome", "menu", "queue"), digits="0")


def _next(ws: WebSocketTestSession, kind: str | None = None) -> dict[str, Any]:
    """The next message (of type ``kind``: others before it are skipped)."""
    while True:
        message: dict[str, Any] = ws.receive_json()
        if kind is None or message["type"] == kind:
            return message


def test_a_socket_without_a_valid_token_is_closed_4401(desk: Desk) -> None:
    with desk.client.websocket_connect("/ws/agent?token=v1.forged.token") as ws:
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4401
    with desk.client.websocket_connect("/ws/supervisor") as ws:
        ws.send_json({"type": "auth", "token": "nonsense"})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4401


def test_the_token_may_come_as_the_first_message(desk: Desk) -> None:
    with desk.client.websocket_connect("/ws/agent") as ws:
        ws.send_json({"type": "auth", "token": desk.token("kefu01")})
        hello = _next(ws)
        assert hello["type"] == "hello" and hello["agent"] == "kefu01" and hello["engine"] is True
        assert hello["state"]["state"] == "logged_out"
        ws.send_json({"type": "ping"})
        assert _next(ws, "pong") == {"type": "pong"}


def test_roles_are_checked_4403(desk: Desk) -> None:
    for path, user in (("/ws/agent", "banzhang"), ("/ws/agent", "courier"), ("/ws/supervisor", "kefu01")):
        with desk.socket(path, user) as ws:
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
        assert closed.value.code == 4403, (path, user)


def test_an_agent_gets_his_own_offer_with_the_customer_card_and_nothing_of_others(desk: Desk) -> None:
    customer = _customer(desk)
    with desk.socket("/ws/agent", "kefu01") as mine, desk.socket("/ws/agent", "kefu02") as other:
        assert _next(mine)["type"] == "hello" and _next(other)["type"] == "hello"
        desk.engine.publish(
            CallQueued("call-1", "orders", CALLER, "4006360888", time.time(), "西安市", ("welcome",), "0"),
            AgentStateChanged("kefu01", "ringing", time.time(), "available", "ring", "call-1"),
            _offer("kefu01"),
            CallAnswered("call-1", "kefu01", "orders", time.time(), 6.0),
            CallEnded("call-1", time.time(), "caller", "kefu01", "orders"),
            AgentStateChanged("kefu02", "paused", time.time(), "available", "meal"),
        )
        assert _next(mine)["type"] == "agent.state"
        offered = _next(mine)
        assert offered["type"] == "call.offered" and offered["call_id"] == "call-1"
        assert (offered["caller"], offered["queue"], offered["digits"]) == (CALLER, "orders", "0")
        assert offered["ivr_path"] == ["welcome", "menu", "queue"] and offered["waited"] == 4.0
        card = offered["card"]
        assert card["known"] is True and card["customer"]["id"] == customer["id"]
        assert card["customer"]["name"] == "张伟" and card["customer"]["tier"] == "vip"
        assert card["customer"]["addresses"][0]["district"] == "雁塔区"
        assert card["customer"]["buckets"] is not None and card["customer"]["last_orders"] == []
        assert card["region"] == {"province": "陕西省", "city": "西安市", "district": "雁塔区",
                                  "source": "address"}
        assert [_next(mine)["type"], _next(mine)["type"]] == ["call.answered", "call.ended"]
        # the other agent saw none of it: his next message is his own state change
        theirs = _next(other)
        assert (theirs["type"], theirs["agent"], theirs["state"]) == ("agent.state", "kefu02", "paused")


def test_an_unknown_caller_gets_a_card_with_the_region_of_the_number(desk: Desk) -> None:
    with desk.socket("/ws/agent", "kefu02") as ws:
        _next(ws, "hello")
        desk.engine.publish(_offer("kefu02", "call-7", "13709110000"))
        card = _next(ws, "call.offered")["card"]
        assert (card["known"], card["customer"], card["phone"]) == (False, None, "13709110000")
        assert card["region"]["city"] == "西安市" and card["region"]["source"] == "caller"


def test_an_agent_connecting_during_a_ring_gets_the_offer_then(desk: Desk) -> None:
    _customer(desk)
    desk.engine.publish(_offer("kefu01", "call-3"))
    deadline = time.monotonic() + 5
    while True:  # the event reached the web worker once it forwards commands for that call
        reply = desk.client.post("/api/calls/call-3/hangup", headers=desk.auth("kefu01"))
        if reply.status_code != 403 or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    with desk.socket("/ws/agent", "kefu01") as ws:
        offered = _next(ws, "call.offered")
        assert offered["call_id"] == "call-3" and offered["card"]["customer"]["name"] == "张伟"


def test_the_supervisor_gets_a_snapshot_then_queue_and_agent_changes(desk: Desk) -> None:
    desk.engine.publish(QueueStats("orders", time.time(), 2, 35.0, 1), _offer("kefu01", "call-9"))
    time.sleep(0.2)  # the worker has the picture before the supervisor connects
    with desk.socket("/ws/supervisor", "banzhang") as ws:
        assert _next(ws)["type"] == "hello"
        snapshot = _next(ws)
        assert snapshot["type"] == "snapshot"
        assert {a["agent"] for a in snapshot["agents"]} == {"kefu01", "kefu02"}
        queues = [(q["queue"], q["waiting"], q["longest_wait"]) for q in snapshot["queues"]]
        assert queues == [("orders", 2, 35.0)]
        assert [c["call_id"] for c in snapshot["calls"]] == ["call-9"] and "card" not in snapshot["calls"][0]
        desk.engine.publish(QueueStats("orders", time.time(), 3, 40.0, 0))
        stats = _next(ws, "queue.stats")
        assert (stats["waiting"], stats["longest_wait"], stats["available"]) == (3, 40.0, 0)
        # an agent's own change through the API reaches the engine, which tells every worker
        notices: list[Command] = []

        def follow(command: Command) -> None:
            notices.append(command)
            assert isinstance(command, AgentStateNotice)
            desk.engine.port.publish(AgentStateChanged(command.agent, command.state, command.at,
                                                       command.previous, command.reason))

        desk.engine.on_command(AgentStateNotice.NAME, follow)
        changed = desk.client.post("/api/agents/me/state", json={"state": "available"},
                                   headers=desk.auth("kefu02"))
        assert changed.status_code == 200, changed.text
        state = _next(ws, "agent.state")
        assert (state["agent"], state["state"], state["previous"]) == ("kefu02", "available", "logged_out")
        assert [type(c) for c in notices] == [AgentStateNotice]


@dataclass
class _RecordedCall:
    recorder: CallRecorder | None
    ended: bool = False


class _NoJournal:
    def write(self, event: str, ts: float, **fields: JournalValue) -> None:
        pass


def test_commands_are_forwarded_for_the_agents_own_calls_only(desk: Desk, tmp_path: Path) -> None:
    handled: list[Command] = []

    def hangup(command: Command) -> dict[str, Any]:
        handled.append(command)
        assert isinstance(command, Hangup)
        if command.call_id == "call-gone":
            raise CommandRefused("unknown_call", "通话已结束", "the call has ended")
        return {"legs": 2}

    def transfer(command: Command) -> None:
        handled.append(command)

    desk.engine.on_command(Hangup.NAME, hangup)
    desk.engine.on_command(TransferCall.NAME, transfer)
    desk.engine.publish(_offer("kefu01", "call-5"), _offer("kefu01", "call-gone"))
    deadline = time.monotonic() + 5
    post: Callable[..., Any] = desk.client.post
    while True:
        ok = post("/api/calls/call-5/hangup", headers=desk.auth("kefu01"))
        if ok.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"call_id": "call-5", "command": "call.hangup", "result": {"legs": 2}}
    assert post("/api/calls/call-5/hangup", headers=desk.auth("kefu02")).status_code == 403
    gone = post("/api/calls/call-gone/hangup", headers=desk.auth("kefu01"))
    assert gone.status_code == 404 and gone.json()["message_zh"] == "通话已结束"
    # a supervisor may act on any call
    moved = post("/api/calls/call-5/transfer", json={"queue": "complaints"}, headers=desk.auth("banzhang"))
    assert moved.status_code == 200, moved.text
    both = post("/api/calls/call-5/transfer", json={"queue": "a", "agent": "b"}, headers=desk.auth("kefu01"))
    assert both.status_code == 422
    # recording on demand: the engine's handler pauses (``on`` false) and resumes the call's recording
    recorder = CallRecorder(tmp_path, "call-5", datetime.now(UTC), PCMU, PCMU)
    calls = {"call-5": _RecordedCall(recorder)}
    desk.engine.on_command(RecordCall.NAME, RecordControl(find=calls.get, journal=_NoJournal(),
                                                          wallclock=time.time).handle)
    paused = post("/api/calls/call-5/recording", json={"on": False}, headers=desk.auth("kefu01"))
    assert paused.status_code == 200, paused.text
    assert paused.json() == {"call_id": "call-5", "command": "call.record",
                             "result": {"recording": True, "paused": True}}
    assert recorder.paused
    resumed = post("/api/calls/call-5/recording", json={"on": True}, headers=desk.auth("banzhang"))
    assert resumed.status_code == 200 and resumed.json()["result"]["paused"] is False and not recorder.paused
    unknown = post("/api/calls/call-gone/recording", json={"on": False}, headers=desk.auth("kefu01"))
    assert unknown.status_code == 404 and unknown.json()["error"] == "call.unknown_call"
    not_his = post("/api/calls/call-5/recording", json={"on": False}, headers=desk.auth("kefu02"))
    assert not_his.status_code == 403 and not recorder.paused
    assert recorder.finish().pauses == ((0.0, 0.0),)  # paused and resumed before any audio came
    assert handled == [Hangup("call-5", by="kefu01"), Hangup("call-gone", by="kefu01"),
                       TransferCall("call-5", queue="complaints", by="banzhang")]
    assert post("/api/calls/call-5/hangup", headers=desk.auth("courier")).status_code == 403


def test_commands_without_an_engine_are_503(desk: Desk) -> None:
    desk.engine.close()
    deadline = time.monotonic() + 5
    while True:
        reply = desk.client.post("/api/calls/call-1/hangup", headers=desk.auth("banzhang"))
        if reply.status_code == 503 or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert reply.status_code == 503 and reply.json()["error"] == "live.unavailable"


def test_a_socket_that_leaves_before_authenticating_is_just_forgotten(desk: Desk) -> None:
    with desk.client.websocket_connect("/ws/agent"):
        pass  # closed at once, no token sent
    with desk.socket("/ws/agent", "kefu01") as ws:  # the worker is still fine
        assert _next(ws)["type"] == "hello"
