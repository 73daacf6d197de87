"""The operations pages in a real browser: the dispatch board sees a new order live and dispatches
it, the courier delivers it on a phone with two empties collected (the bucket ledger follows), the
wallboard shows the day's figures, and a recording plays for a role that may hear it and is refused
to one that may not."""

from __future__ import annotations

import io
import math
import random
import struct
import wave
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from waterline.adapters.db.engine import create_engine, create_session_factory
from waterline.adapters.db.recordings import RecordingRepository
from waterline.adapters.db.unit_of_work import SqlAlchemyUnitOfWork
from waterline.domain.callrecords import CallOutcome, CallRecord, HangupSide, PathStep
from waterline.domain.queuelog import QueueLogRecord
from waterline.telephony.recording import RecordingIndex

from .conftest import DEMO_PASSWORDS, Console, DemoServer

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Api:
    """The REST API of the demo server as one of the demo logins."""

    def __init__(self, server: DemoServer, role: str) -> None:
        self.client = httpx.Client(base_url=server.base_url, timeout=15.0)
        login = {"username": role, "password": DEMO_PASSWORDS[role]}
        response = self.client.post("/api/auth/token", data=login)
        response.raise_for_status()
        self.client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def get(self, path: str, **params: Any) -> Any:
        response = self.client.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, path: str, body: Any, status: int = 200) -> Any:
        response = self.client.post(path, json=body)
        assert response.status_code == status, response.text
        return response.json()


def _new_customer(agent: Api) -> dict[str, Any]:
    phone = f"139{random.randrange(10**8):08d}"
    return agent.post("/api/customers", {
        "name": "测试客户", "phones": [phone],
        "addresses": [{"city": "西安市", "district": "雁塔区", "detail": "小寨东路1号301室", "floor": 3}],
    }, status=201)


def _water(agent: Api) -> int:
    return next(p["id"] for p in agent.get("/api/products") if p["returnable"] and p["active"])


def _courier_on_duty(server: DemoServer) -> dict[str, Any]:
    courier = Api(server, "courier")
    me = courier.get("/api/couriers/me")
    if not me["on_duty"]:
        me = courier.post(f"/api/couriers/{me['id']}/duty", {"on_duty": True})
    return me


def _place(agent: Api, customer: dict[str, Any], quantity: int = 1) -> dict[str, Any]:
    return agent.post("/api/orders", {
        "customer_id": customer["id"], "items": [{"product_id": _water(agent), "quantity": quantity}],
        "auto_dispatch": False, "note": "浏览器测试",
    }, status=201)


def test_dispatcher_sees_a_new_order_live_and_dispatches_it(console: Console) -> None:
    me = _courier_on_duty(console.server)
    page = console.page_as("dispatcher")
    page.goto("/console/board")
    page.locator('#db-live[data-live="on"]').wait_for()
    agent = Api(console.server, "agent")
    order = _place(agent, _new_customer(agent))
    assert order["state"] == "placed"
    # no reload: the board's change feed brings the order into the "to dispatch" column
    card = page.locator(f'[data-cards="placed"] .db-order[data-number="{order["number"]}"]')
    card.wait_for(timeout=15_000)
    assert "测试客户" in card.inner_text() and "浏览器测试" in card.inner_text()
    console.screenshot(page, "ops-board-new-order")
    card.locator('[data-role="courier-select"]').select_option(str(me["id"]))
    card.locator('[data-action="assign"]').click()
    moved = page.locator(f'[data-cards="dispatched"] .db-order[data-number="{order["number"]}"]')
    moved.wait_for(timeout=15_000)
    assert me["name"] in moved.inner_text()
    stored = Api(console.server, "dispatcher").get(f"/api/orders/{order['id']}")
    assert (stored["state"], stored["courier_id"]) == ("dispatched", me["id"])
    assert page.locator("#db-map svg .order-dot").count() >= 1
    console.screenshot(page, "ops-board")
    assert page.errors == []


def test_courier_delivers_with_two_empties_and_the_ledger_follows(console: Console) -> None:
    me = _courier_on_duty(console.server)
    agent = Api(console.server, "agent")
    customer = _new_customer(agent)
    order = _place(agent, customer, quantity=2)
    Api(console.server, "dispatcher").post(f"/api/orders/{order['id']}/dispatch", {"courier_id": me["id"]})
    page = console.page_as("courier", mobile=True)
    assert page.url.endswith("/console/deliveries")
    card = page.locator(f'.cv-card[data-number="{order["number"]}"]')
    card.wait_for()
    phone = customer["phones"][0]
    assert card.locator('[data-action="call"]').get_attribute("href") == f"tel:{phone}"
    card.locator('[data-action="start"]').click()
    page.locator(f'.cv-card[data-number="{order["number"]}"][data-state="delivering"]').wait_for()
    console.screenshot(page, "ops-courier")
    page.locator(f'.cv-card[data-number="{order["number"]}"] [data-action="deliver"]').click()
    page.locator("#cv-deliver").wait_for()
    page.fill("#cv-empties", "2")
    console.screenshot(page, "ops-courier-deliver", full_page=False)
    page.click("#cv-deliver-ok")
    page.locator(f'#cv-done [data-order-id="{order["id"]}"]').wait_for(state="attached")
    assert page.locator(f'.cv-card[data-number="{order["number"]}"]').count() == 0
    # the bucket ledger: two full barrels left, two empties came back
    dispatcher = Api(console.server, "dispatcher")
    ledger = dispatcher.get("/api/buckets/ledger", customer_id=customer["id"])
    mine = [(e["kind"], e["held_delta"]) for e in ledger if e["order_id"] == order["id"]]
    assert sorted(mine) == [("collected", -2), ("delivered", 2)], ledger
    stored = dispatcher.get(f"/api/orders/{order['id']}")
    assert (stored["state"], stored["empties_collected"]) == ("delivered", 2)
    assert page.errors == []


def test_a_problem_reported_by_the_courier_reaches_the_board(console: Console) -> None:
    me = _courier_on_duty(console.server)
    agent = Api(console.server, "agent")
    order = _place(agent, _new_customer(agent))
    Api(console.server, "dispatcher").post(f"/api/orders/{order['id']}/dispatch", {"courier_id": me["id"]})
    phone = console.page_as("courier", mobile=True)
    phone.locator(f'.cv-card[data-number="{order["number"]}"] [data-action="issue"]').click()
    phone.select_option("#cv-issue-kind", "not_home")
    phone.fill("#cv-issue-note", "敲门无人应答")
    phone.click("#cv-issue-ok")
    phone.locator("#cv-issue").wait_for(state="hidden")
    assert phone.errors == []
    board = console.page_as("dispatcher")
    board.goto("/console/board")
    issue = board.locator(".db-issue", has_text=order["number"])
    issue.wait_for()
    assert "客户不在家：敲门无人应答" in issue.inner_text()
    board.locator(f'.db-order[data-number="{order["number"]}"] [data-issue]').wait_for()
    console.screenshot(board, "ops-board-issue")
    issue.locator('[data-action="issue-done"]').click()
    issue.wait_for(state="detached")
    assert board.locator(f'.db-order[data-number="{order["number"]}"] [data-issue]').count() == 0
    assert board.errors == []


def _store(server: DemoServer) -> Any:
    engine = create_engine(f"sqlite:///{server.data_dir / 'waterline.sqlite3'}")
    return engine, create_session_factory(engine)


def _moment_today(seconds_ago: float) -> datetime:
    # never before the Shanghai day's start: the wallboard counts today only
    now = datetime.now(UTC)
    start = datetime.combine(now.astimezone(SHANGHAI).date(), time(0, 0), tzinfo=SHANGHAI)
    return max(now - timedelta(seconds=seconds_ago), start.astimezone(UTC) + timedelta(seconds=1))


def test_wallboard_shows_the_day_figures(console: Console) -> None:
    engine, factory = _store(console.server)
    queue = f"ops-test-{random.randrange(10**6)}"
    try:
        with SqlAlchemyUnitOfWork(factory) as uow:
            t = _moment_today(50)
            uow.queue_log.add_many([
                QueueLogRecord(t, queue, f"{queue}-a", "enter"),
                QueueLogRecord(t + timedelta(seconds=6), queue, f"{queue}-a", "connect", wait=6),
                QueueLogRecord(t, queue, f"{queue}-b", "enter"),
                QueueLogRecord(t + timedelta(seconds=9), queue, f"{queue}-b", "abandon", wait=9),
                QueueLogRecord(t + timedelta(seconds=1), queue, f"{queue}-c", "enter"),
            ])
            for n in range(3):
                uow.calls.add(CallRecord(f"{queue}-{'abc'[n]}", "13900000000", "4006360888", t))
            uow.commit()
    finally:
        engine.dispose()
    page = console.page_as("manager")
    page.goto("/console/wallboard")
    row = page.locator(f'#wb-queues tr[data-queue="{queue}"]')
    row.wait_for(timeout=15_000)
    cells = [c.inner_text() for c in row.locator("td").all()]
    assert cells[0] == queue and cells[1] == "1" and cells[3:6] == ["3", "1", "1"] and cells[6] == "50.0%"
    assert int(page.locator('[data-value="calls_today"]').inner_text()) >= 3
    assert int(page.locator('[data-value="waiting"]').inner_text()) >= 1
    # /ws/supervisor answered (the demo runs without the telephony engine: figures from the queue log)
    page.locator('#wb-engine[data-engine="off"]').wait_for()
    page.locator("#wb-chart-queues svg").wait_for()
    page.locator("#wb-chart-agents svg").wait_for()
    assert page.locator(".wb-agent").count() >= 1  # the demo's agents with their states
    console.screenshot(page, "ops-wallboard")
    assert page.errors == []


def test_wallboard_follows_agent_states_over_the_supervisor_socket(console: Console) -> None:
    agent = Api(console.server, "agent")
    me = agent.get("/api/auth/me")
    current = next(a for a in agent.get("/api/agents") if a["id"] == me["id"])["state"]
    target = "paused" if current == "available" else "available"
    page = console.page_as("manager")
    # the REST figures stay frozen as first read: only /ws/supervisor can move the agent's card
    frozen: dict[str, str] = {}

    def stale(route: Any) -> None:
        if "body" not in frozen:
            frozen["body"] = route.fetch().text()
        route.fulfill(status=200, content_type="application/json", body=frozen["body"])

    page.route("**/api/wallboard", stale)
    page.goto("/console/wallboard")
    card = page.locator(f'.wb-agent[data-agent="{me["username"]}"]')
    page.locator(f'.wb-agent[data-agent="{me["username"]}"][data-state="{current}"]').wait_for()
    page.locator('#wb-engine[data-engine="off"]').wait_for()  # the socket said hello
    agent.post("/api/agents/me/state", {"state": target, "reason": "培训" if target == "paused" else ""})
    page.locator(f'.wb-agent[data-agent="{me["username"]}"][data-state="{target}"]').wait_for()
    assert "body" in frozen and card.count() == 1
    assert page.errors == []


def _wav(seconds: float = 2.0) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        frames = b"".join(
            struct.pack("<hh", int(8000 * math.sin(2 * math.pi * 440 * i / 8000)), 0)
            for i in range(int(8000 * seconds))
        )
        wav.writeframes(frames)
    return out.getvalue()


def _recorded_call(server: DemoServer) -> tuple[str, int]:
    caller = f"137{random.randrange(10**8):08d}"
    call_id = f"ops-rec-{caller}"
    started = _moment_today(120)
    path = server.data_dir / "recordings" / "ops-test" / f"{call_id}.wav"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_wav())
    engine, factory = _store(server)
    try:
        with factory() as session:
            recording = RecordingRepository(session).add(
                RecordingIndex(call_id, path, started, 2.0, path.stat().st_size),
                data_dir=server.data_dir, now=datetime.now(UTC),
            )
            session.commit()
        with SqlAlchemyUnitOfWork(factory) as uow:
            record = CallRecord(call_id, caller, "4006360888", started, flow_name="default", flow_version=1,
                                region_city="西安市")
            record.path = [PathStep("welcome", "menu", started, digits="1"),
                           PathStep("order", "queue", started + timedelta(seconds=5), detail="雁塔站订水")]
            record.recording_id = recording.id
            record.close(ended_at=started + timedelta(seconds=40), outcome=CallOutcome.ORDER_PLACED,
                         hangup_side=HangupSide.CALLER)
            uow.calls.add(record)
            uow.commit()
    finally:
        engine.dispose()
    return caller, recording.id


def test_a_recording_plays_for_a_dispatcher_and_is_refused_to_an_agent(console: Console) -> None:
    caller, recording_id = _recorded_call(console.server)
    page = console.page_as("dispatcher")
    page.goto("/console/calls")
    page.fill("#cl-caller", caller)
    page.click("#cl-go")
    row = page.locator("#cl-rows tr[data-call-id]")
    # the page's first, unfiltered list holds the other tests' calls of the shared demo: wait until the
    # search's answer replaced it (one row, this caller)
    page.wait_for_function(
        "(caller) => { const rows = document.querySelectorAll('#cl-rows tr[data-call-id]');"
        " return rows.length === 1 && rows[0].innerText.includes(caller); }",
        arg=caller,
    )
    assert row.count() == 1 and caller in row.first.inner_text()
    row.first.click()
    player = page.locator("#cl-player")
    player.wait_for()
    assert "welcome" in page.locator(".cl-path").inner_text()
    page.evaluate("document.querySelector('#cl-player').play()")
    page.wait_for_function(
        "() => { const a = document.querySelector('#cl-player');"
        " return a.readyState >= 2 && a.duration > 1.5; }"
    )
    url = f"/api/recordings/{recording_id}/audio"
    assert page.locator("#cl-download").get_attribute("href") == url
    download = page.request.get(url)
    assert download.status == 200 and download.headers["content-type"] == "audio/wav"
    console.screenshot(page, "ops-calls")
    assert page.errors == []

    agent = console.page_as("agent")
    assert agent.request.get(url).status == 403
    assert agent.request.get(f"/api/recordings/{recording_id}").status == 403
    refused = agent.goto("/console/calls")
    assert refused is not None and refused.status == 403


@pytest.mark.parametrize("path", ["/console/board", "/console/wallboard", "/console/calls"])
def test_the_pages_switch_to_english(console: Console, path: str) -> None:
    page = console.page_as("manager", lang="en")
    page.goto(path)
    page.wait_for_load_state("networkidle")
    title = page.locator(".wl-page-title").inner_text()
    assert title == {"/console/board": "Dispatch board", "/console/wallboard": "Wallboard",
                     "/console/calls": "Call log"}[path]
    assert page.errors == []
