"""The live call card of the agent desktop, end to end from the live channel to the screen.

A stand-in for the telephony engine listens on the live channel's Unix socket of the demo's data dir
(the demo runs without ``--sip``, so nothing else does): the web worker connects to it as to the
engine, and the test publishes the events the engine publishes for a call (the engine's side is
tested with SIPp in ``tests/e2e``). The web worker looks the caller's card up in the store and pushes
it over ``/ws/agent``; the page must show it while the phone is still ringing, then follow the
answer and the end of the call, send the hang-up command to the engine and store the wrap-up.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from waterline.adapters.livechannel import socket_path
from waterline.calls.live import (
    CallAnswered,
    CallEnded,
    CallOffered,
    CommandFrame,
    Hello,
    LiveEvent,
    Reply,
    decode_frame,
    encode_frame,
)


class StandInEngine:
    """The engine's end of the live channel: hello, then the test's events; commands recorded and
    answered ok."""

    def __init__(self, path: Any) -> None:
        path.unlink(missing_ok=True)
        self.path = path
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(path))
        self.listener.listen(4)
        self.listener.settimeout(0.5)
        self.connection: socket.socket | None = None
        self.connected = threading.Event()
        self.commands: list[CommandFrame] = []
        self.stopped = False
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopped:
            try:
                connection, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            with self.lock:
                self.connection = connection
                connection.sendall(encode_frame(Hello(engine=uuid.uuid4().hex, at=time.time())))
            self.connected.set()
            buffer = b""
            connection.settimeout(0.5)
            while not self.stopped:
                try:
                    chunk = connection.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not chunk:
                    break
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    frame = decode_frame(line)
                    if isinstance(frame, CommandFrame):
                        self.commands.append(frame)
                        with self.lock:
                            connection.sendall(encode_frame(Reply.success(frame.id, {})))
            self.connected.clear()

    def publish(self, event: LiveEvent) -> None:
        """Send ``event`` to the connected web worker."""
        assert self.connection is not None
        with self.lock:
            self.connection.sendall(encode_frame(event))

    def close(self) -> None:
        self.stopped = True
        self.thread.join(5)
        if self.connection is not None:
            self.connection.close()
        self.listener.close()
        self.path.unlink(missing_ok=True)


@pytest.fixture
def engine(console: Any) -> Iterator[StandInEngine]:
    stand_in = StandInEngine(socket_path(console.server.data_dir))
    try:
        # the worker retries every 2 s at most
        assert stand_in.connected.wait(30), "the web worker did not connect to the live channel"
        yield stand_in
    finally:
        stand_in.close()


@contextlib.contextmanager
def agent_api(console: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=console.url, timeout=30.0) as client:
        token = client.post("/api/auth/token", data={"username": "agent", "password": "agent123"}).json()
        client.headers["Authorization"] = f"Bearer {token['access_token']}"
        yield client


def test_the_card_shows_before_the_answer_and_follows_the_call(console: Any, engine: StandInEngine) -> None:
    with agent_api(console) as api:
        customer = next(
            c for c in api.get("/api/customers", params={"limit": 100}).json() if c["addresses"]
        )
    page = console.page_as("agent")
    page.locator("#ag-live.up").wait_for()
    call_id = f"browser-{uuid.uuid4().hex[:8]}"
    phone = customer["phones"][0]
    engine.publish(CallOffered(
        call_id=call_id, agent="agent", queue="orders-01", caller=phone, did="4006360888", at=time.time(),
        waited=4.0, leg="leg-1", region="西安市", ivr_path=("welcome", "menu", "queue"), digits="2",
    ))
    card = page.locator("#ag-call")
    card.wait_for(state="visible")
    # ringing: the caller's card is there before the phone is answered
    assert page.locator("#ag-call-status").inner_text() == "振铃中，请接听"
    assert page.locator("#ag-call-caller").inner_text() == phone
    assert page.locator("#ag-call-queue").inner_text() == "orders-01"
    assert "welcome → menu → queue" in page.locator("#ag-call-ivr").inner_text()
    assert "按键 2" in page.locator("#ag-call-ivr").inner_text()
    assert "西安" in page.locator("#ag-call-region").inner_text()
    assert "已等待" in page.locator("#ag-call-wait").inner_text()
    page.locator("#ag-customer").wait_for(state="visible")
    assert page.locator("#ag-customer-name").inner_text() == customer["name"]
    assert page.locator("#ag-order").is_visible()
    console.screenshot(page, "agent-desktop-incoming-call")

    engine.publish(
        CallAnswered(call_id=call_id, agent="agent", queue="orders-01", at=time.time(), waited=6.0)
    )
    page.locator("#ag-call-status", has_text="通话中").wait_for()

    page.click("#ag-hangup")
    deadline = time.monotonic() + 10
    while not any(c.name == "call.hangup" for c in engine.commands) and time.monotonic() < deadline:
        time.sleep(0.1)
    hangups = [c for c in engine.commands if c.name == "call.hangup"]
    assert len(hangups) == 1 and hangups[0].data["call_id"] == call_id and hangups[0].data["by"] == "agent"

    engine.publish(
        CallEnded(call_id=call_id, at=time.time(), reason="agent", agent="agent", queue="orders-01")
    )
    page.locator("#ag-wrapup-card").wait_for(state="visible")
    assert page.locator("#ag-hangup").is_disabled()
    page.select_option("#wrapup-code", "inquiry")
    page.fill("#wrapup-notes", "问价格")
    page.click("#wrapup-submit")
    page.locator("#ag-wrapup-card").wait_for(state="hidden")
    with agent_api(console) as api:
        stored = api.get(f"/api/calls/{call_id}/dispositions").json()
        assert [(d["code"], d["notes"]) for d in stored] == [("inquiry", "问价格")]
    assert page.errors == []
