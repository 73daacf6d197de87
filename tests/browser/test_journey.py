"""The whole journey of issue 7's "Done means", in a real browser with real SIP calls.

``waterline demo --sip`` (the README's ``make demo``, on free ports, a temp data dir, the dispatcher
dispatching by hand: ``WATERLINE_DISPATCH__MODE=manual``) serves the console and the telephony engine.
The demo agent logs in to the desktop in Chromium and makes himself available; his SIP phone (SIPp)
REGISTERs with the demo SIP password (digest auth) and answers ``ANSWER_MS`` after it rings. A known
demo customer calls the 400 number through the carrier (SIPp) and presses 0 (人工服务 in the shipped
default flow, which queues him in the demo's ``default`` queue). The customer's card must be on the
agent's screen before the phone's 200 OK reaches the engine. The agent places the usual order from
the card with Enter; the dispatcher (second context) sees it appear live on the board and assigns the
demo courier; the courier (third context, a 390 px phone) sets out and marks it delivered with 2
empties collected; the customer's bucket ledger has the delivery and the empties. The customer hangs
up, the agent files the wrap-up, and the call's record has its recording, which plays in the call log
for the dispatcher. Screenshots ``journey-*.png``.

While working on it, ``WATERLINE_JOURNEY_SERVER=http://127.0.0.1:PORT``, ``WATERLINE_JOURNEY_SIP=
127.0.0.1:PORT`` and ``WATERLINE_JOURNEY_DATA_DIR`` reuse a ``waterline demo --sip`` started by hand
(with ``WATERLINE_DISPATCH__MODE=manual``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import DEMO_PASSWORDS, Console, DemoServer, start_demo

pytestmark = pytest.mark.sipp

SCENARIOS = Path(__file__).with_name("scenarios")
REGISTER = Path(__file__).resolve().parents[1] / "e2e" / "scenarios" / "uac_register.xml"
HOTLINE = "4006360888"
AGENT = "agent"
AGENT_SIP_PASSWORD = "agent123"  # the demo agent's SIP password (README: 演示账号)
ANSWER_MS = 1000
"""The agent's phone answers this long after it starts ringing: the card must be on screen before."""
HANGUP_MS = 20000
"""The customer hangs up this long after pressing 0 (queued, rung, answered, a few seconds of talk)."""
MEDIA_RANGE = ("36800", "36999")  # the engine's RTP ports here, away from the other tests' ranges
STATION_CACHE_SECONDS = 5.5
"""Stations are cached per process and re-read after 5 s: the engine sees the changed hours then."""

CARD_WATCH = """(name) => {
  window.__journey = {};
  const check = () => {
    const call = document.querySelector("#ag-call");
    const shown = document.querySelector("#ag-customer-name");
    if (window.__journey.cardAt || !call || call.hidden || !shown || shown.offsetParent === null) return;
    if (shown.textContent.trim() !== name) return;
    window.__journey.cardAt = Date.now();
    window.__journey.status = document.querySelector("#ag-call-status").textContent;
    requestAnimationFrame(() => { window.__journey.paintedAt = Date.now(); });
  };
  new MutationObserver(check).observe(document.body,
    { subtree: true, childList: true, attributes: true, characterData: true });
  check();
}"""


def _free_udp_port(even: bool = False) -> int:
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if not even or port % 2 == 0:
            return port


def _free_sip_port() -> int:
    """A port free for both UDP and TCP (the engine binds both)."""
    while True:
        port = _free_udp_port()
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            try:
                tcp.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def _journal(data_dir: Path) -> list[dict[str, Any]]:
    path = data_dir / "logs" / "telephony.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _wait_for(what: str, found: Callable[[], Any], timeout: float) -> Any:
    """Poll ``found`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = found()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.2)


@dataclass
class SipDemo:
    """A ``waterline demo --sip``: the console's server and the engine's SIP address."""

    server: DemoServer
    sip: tuple[str, int]


@pytest.fixture(scope="module")
def sip_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SipDemo]:
    """``waterline demo --sip`` with the demo data, dispatch by hand; stopped by PID afterwards."""
    if shutil.which("sipp") is None:
        if os.environ.get("WATERLINE_SKIP_SIPP") == "1":
            pytest.skip("SIPp not installed and WATERLINE_SKIP_SIPP=1")
        pytest.fail("SIPp (Debian package sip-tester) is not installed; `make test` installs it")
    if os.geteuid() != 0:
        pytest.skip("SIPp's pcap play (the customer's voice and key 0) needs root")
    reuse = os.environ.get("WATERLINE_JOURNEY_SERVER")
    if reuse:
        host, port = os.environ["WATERLINE_JOURNEY_SIP"].rsplit(":", 1)
        data_dir = Path(os.environ["WATERLINE_JOURNEY_DATA_DIR"])
        yield SipDemo(DemoServer(subprocess.Popen(["true"]), reuse.rstrip("/"), data_dir, Path("/dev/null")),
                      (host, int(port)))
        return
    data_dir = tmp_path_factory.mktemp("journey") / "data"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WATERLINE_MEDIA__PORT_MIN", MEDIA_RANGE[0])
        env.setenv("WATERLINE_MEDIA__PORT_MAX", MEDIA_RANGE[1])
        env.setenv("WATERLINE_DISPATCH__MODE", "manual")
        sip = ("127.0.0.1", _free_sip_port())
        server = start_demo(data_dir, sip=sip, startup=300.0)
    try:
        _wait_for("the engine's engine_ready",
                  lambda: any(e["event"] == "engine_ready" for e in _journal(data_dir)), 180.0)
        yield SipDemo(server, sip)
    finally:
        server.stop()


class Api:
    """The REST API as one of the demo logins (set-up and assertions only; the journey is clicked)."""

    def __init__(self, base_url: str, role: str) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=30.0)
        response = self.client.post("/api/auth/token",
                                    data={"username": role, "password": DEMO_PASSWORDS[role]})
        response.raise_for_status()
        self.client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def get(self, path: str, **params: Any) -> Any:
        response = self.client.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def send(self, method: str, path: str, body: Any) -> Any:
        response = self.client.request(method, path, json=body)
        assert response.status_code == 200, response.text
        return response.json()


def _customer_of_the_courier(owner: Api, courier: dict[str, Any]) -> dict[str, Any]:
    """A known customer on a mobile, with a usual order, living in the demo courier's station's area."""
    station = owner.get(f"/api/stations/{courier['station_id']}")
    barrels = {p["id"] for p in owner.get("/api/products") if p["returnable"]}
    for customer in owner.get("/api/customers", limit=300):
        address = next((a for a in customer["addresses"] if a["is_default"]), None)
        mobile = next((p for p in customer["phones"] if len(p) == 11 and p.startswith("1")), None)
        if (customer["preferences"]["usual_product_id"] in barrels and address and mobile
                and address["district"] in station["service_districts"]):
            return {**customer, "mobile": mobile}
    raise AssertionError(f"no demo customer with a usual order in {station['name']}'s area")


class Sipp:
    """One SIPp process with its output in a file; stopped by PID."""

    def __init__(self, workdir: Path, args: list[str]) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.out = workdir / "sipp.out"
        self.workdir = workdir
        with self.out.open("wb") as out:
            self.process = subprocess.Popen(
                ["sipp", *args, "-i", "127.0.0.1", "-nostdin", "-trace_err", "-max_retrans", "5"],
                cwd=workdir, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            )

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError(f"SIPp still running after {timeout} s:\n{self.output()}") from None

    def output(self) -> str:
        errors = "".join(p.read_text(errors="replace") for p in self.workdir.glob("*_errors.log"))
        return (self.out.read_text(errors="replace")[-2000:] + errors[-2000:]).strip()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def _scenario(tmp_path: Path, name: str, **marks: int) -> Path:
    text = (SCENARIOS / name).read_text(encoding="utf-8")
    for mark, value in marks.items():
        text = text.replace(f"@{mark}@", str(value))
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_call_from_the_phone_to_the_delivered_order(
    sip_demo: SipDemo, browser: Any, tmp_path: Path
) -> None:
    server, (sip_host, sip_port) = sip_demo.server, sip_demo.sip
    started = time.monotonic()
    owner = Api(server.base_url, "owner")
    courier = Api(server.base_url, "courier").get("/api/couriers/me")
    customer = _customer_of_the_courier(owner, courier)
    # the demo stations open 07:30-21:00 Beijing time, and a caller after hours leaves a message: the
    # journey must run at any hour, so the stations are open all day (no hours = always open)
    for station in owner.get("/api/stations"):
        owner.send("PATCH", f"/api/stations/{station['id']}", {"hours": []})
    stations_open_at = time.monotonic() + STATION_CACHE_SECONDS
    # the agent starts logged out (409: he is already), and makes himself available in the browser
    response = Api(server.base_url, AGENT).client.post("/api/agents/me/state", json={"state": "logged_out"})
    assert response.status_code in (200, 409), response.text
    console = Console(server, browser)
    processes: list[Sipp] = []
    try:
        # -- the agent: logs in, makes himself available; his phone registers (digest auth)
        agent = console.page_as(AGENT)
        assert agent.url.endswith("/console/agent")
        agent.locator("#ag-state[data-state=logged_out]").wait_for()
        agent.click("#ag-available")
        agent.locator("#ag-state[data-state=available]").wait_for()
        agent.locator("#ag-live.up").wait_for(timeout=30_000)
        agent.evaluate(CARD_WATCH, customer["name"])
        _screenshot(console, agent, "journey-1-agent-available")
        phone_port = _free_udp_port()
        register = Sipp(tmp_path / "register", [
            f"{sip_host}:{sip_port}", "-sf", str(REGISTER), "-s", AGENT, "-au", AGENT,
            "-ap", AGENT_SIP_PASSWORD, "-p", str(phone_port), "-m", "1", "-timeout", "15s", "-timeout_error",
        ])
        assert register.wait(30) == 0, register.output()
        phone = Sipp(tmp_path / "phone", [
            "-sf", str(_scenario(tmp_path, "uas_agent_phone.xml", ANSWER_MS=ANSWER_MS)),
            "-p", str(phone_port),
            "-mp", str(_free_udp_port(even=True)), "-m", "1", "-timeout", "70s", "-timeout_error",
        ])
        processes.append(phone)

        # -- the dispatcher watches the board (live updates)
        board = console.page_as("dispatcher")
        board.goto("/console/board")
        board.locator('#db-live[data-live="on"]').wait_for()

        # -- the customer calls the 400 number and presses 0
        while time.monotonic() < stations_open_at:
            time.sleep(0.2)
        caller = Sipp(tmp_path / "caller", [
            f"{sip_host}:{sip_port}", "-sf", str(_scenario(tmp_path, "uac_customer_to_agent.xml",
                                                          HANGUP_MS=HANGUP_MS)),
            "-s", HOTLINE, "-key", "caller", customer["mobile"], "-p", str(_free_udp_port()),
            "-mp", str(_free_udp_port(even=True)), "-m", "1", "-timeout", "60s", "-timeout_error",
        ])
        processes.append(caller)

        # the card is on the agent's screen while his phone rings, before it answers
        agent.locator("#ag-customer-name", has_text=customer["name"]).wait_for(timeout=40_000)
        watched = agent.evaluate("window.__journey")
        _screenshot(console, agent, "journey-2-card-while-ringing")
        assert agent.locator("#ag-call-caller").inner_text() == customer["mobile"]
        assert agent.locator("#ag-call-queue").inner_text() == "default"
        assert "menu" in agent.locator("#ag-call-ivr").inner_text()
        assert "按键 0" in agent.locator("#ag-call-ivr").inner_text()
        ours = f"-{caller.process.pid}@"  # SIPp's Call-IDs end in -<pid>@<ip>
        [bridged] = _wait_for("the agent's phone answered (acd_bridged)", lambda: [
            e for e in _journal(server.data_dir)
            if e["event"] == "acd_bridged" and e.get("agent") == AGENT and ours in str(e["call_id"])
        ], 30.0)
        call_id = str(bridged["call_id"])
        [dialled] = [e for e in _journal(server.data_dir)
                     if e["event"] == "acd_dialled" and e.get("leg") == bridged["leg"]]
        card_at = watched["cardAt"] / 1000
        assert watched["status"] == "振铃中，请接听", watched
        assert card_at < float(bridged["ts"]), (watched, bridged)
        rung = float(dialled["ts"])
        print(f"INVITE to the agent's phone -> card on screen: {(card_at - rung) * 1000:.0f} ms"
              f" (painted {(watched.get('paintedAt', 0) / 1000 - rung) * 1000:.0f} ms),"
              f" the phone answered {(float(bridged['ts']) - rung) * 1000:.0f} ms after")
        agent.locator("#ag-call-status", has_text="通话中").wait_for(timeout=20_000)

        # -- the agent places the usual order from the card with Enter
        usual = customer["preferences"]
        assert agent.input_value("#order-product") == str(usual["usual_product_id"])
        # the card put the focus on the confirm button: Enter places the usual order
        assert agent.evaluate("document.activeElement.id") == "order-submit"
        agent.keyboard.press("Enter")
        placed = agent.locator("#order-placed")
        placed.wait_for(state="visible")
        number = str(placed.get_attribute("data-order-number"))
        # dispatch by hand: the order waits for the dispatcher
        assert placed.inner_text() == f"订单 {number} 已下单，等待调度派单"
        _screenshot(console, agent, "journey-3-order-placed")

        # -- the dispatcher sees it appear without a reload and assigns the demo courier
        card = board.locator(f'[data-cards="placed"] .db-order[data-number="{number}"]')
        card.wait_for(timeout=20_000)
        assert customer["name"] in card.inner_text()
        _screenshot(console, board, "journey-4-board-new-order")
        card.locator('[data-role="courier-select"]').select_option(str(courier["id"]))
        card.locator('[data-action="assign"]').click()
        moved = board.locator(f'[data-cards="dispatched"] .db-order[data-number="{number}"]')
        moved.wait_for(timeout=20_000)
        assert courier["name"] in moved.inner_text()
        _screenshot(console, board, "journey-5-board-assigned")

        # -- the courier, on his phone, sets out and delivers it with 2 empties collected
        mobile = console.page_as("courier", mobile=True)
        assert mobile.url.endswith("/console/deliveries")
        delivery = mobile.locator(f'.cv-card[data-number="{number}"]')
        delivery.wait_for()
        assert delivery.locator('[data-action="call"]').get_attribute("href") == f"tel:{customer['mobile']}"
        delivery.locator('[data-action="start"]').click()
        mobile.locator(f'.cv-card[data-number="{number}"][data-state="delivering"]').wait_for()
        mobile.locator(f'.cv-card[data-number="{number}"] [data-action="deliver"]').click()
        mobile.locator("#cv-deliver").wait_for()
        mobile.fill("#cv-empties", "2")
        console.screenshot(mobile, "journey-6-courier-deliver", full_page=False)
        mobile.click("#cv-deliver-ok")
        order = Api(server.base_url, "dispatcher").get("/api/orders", customer_id=customer["id"], limit=5)
        order_id = next(o["id"] for o in order if o["number"] == number)
        mobile.locator(f'#cv-done [data-order-id="{order_id}"]').wait_for(state="attached")
        console.screenshot(mobile, "journey-7-courier-delivered")
        dispatcher = Api(server.base_url, "dispatcher")
        stored = dispatcher.get(f"/api/orders/{order_id}")
        assert stored["state"] == "delivered" and stored["empties_collected"] == 2
        assert stored["courier_id"] == courier["id"]
        ledger = dispatcher.get("/api/buckets/ledger", customer_id=customer["id"])
        mine = sorted((e["kind"], e["held_delta"]) for e in ledger if e["order_id"] == order_id)
        barrels = {p["id"] for p in dispatcher.get("/api/products") if p["returnable"]}
        quantity = sum(i["quantity"] for i in stored["items"] if i["product_id"] in barrels)
        assert mine == [("collected", -2), ("delivered", quantity)], ledger

        # -- the customer hangs up; the agent files the wrap-up
        assert caller.wait(60) == 0, caller.output()
        assert phone.wait(30) == 0, phone.output()
        agent.locator("#ag-wrapup-card").wait_for(state="visible", timeout=20_000)
        assert agent.locator("#ag-call-status").inner_text() == "客户已挂机"
        agent.select_option("#wrapup-code", "order")
        agent.fill("#wrapup-notes", f"常订下单 {number}")
        _screenshot(console, agent, "journey-8-wrap-up")
        agent.click("#wrapup-submit")
        agent.locator("#ag-wrapup-card").wait_for(state="hidden")

        # -- the call's record has its recording, which plays in the call log for the dispatcher
        record = _wait_for("the closed call record with its recording", lambda: next((
            c for c in dispatcher.get("/api/calls", caller=customer["mobile"])
            if c["call_id"] == call_id and c["ended_at"] and c["recording_id"]), None), 30.0)
        assert record["customer_id"] == customer["id"] and record["outcome"] == "transferred"
        assert (record["queue"], record["agent"], record["hangup_side"]) == ("default", AGENT, "caller")
        assert record["wait_seconds"] > 0 and record["talk_seconds"] > 1
        # the agent's calls of the day list it
        agent.click("#ag-today-refresh")
        today = agent.locator("#ag-today-rows tr", has_text=customer["mobile"])
        today.wait_for()
        assert "default" in today.inner_text() and "已转接" in today.inner_text()
        _screenshot(console, agent, "journey-9-agent-calls-today")
        # the queue log has the call: entered, connected to the agent, completed by the caller
        log = dispatcher.get("/api/queues/log", queue="default", call_id=call_id)
        assert [(e["event"], e["agent"]) for e in log] == [
            ("enter", ""), ("connect", AGENT), ("complete-caller", AGENT)], log
        board.goto("/console/calls")
        board.fill("#cl-caller", customer["mobile"])
        board.click("#cl-go")
        row = board.locator(f'#cl-rows tr[data-call-id="{record["id"]}"]')
        row.wait_for()
        assert AGENT in row.inner_text().split()  # the agent column
        row.click()
        board.locator("#cl-player").wait_for()
        assert "agent" in board.locator(".cl-path").inner_text()
        board.evaluate("document.querySelector('#cl-player').play()")
        board.wait_for_function("() => { const a = document.querySelector('#cl-player');"
                                " return a.readyState >= 2 && a.duration > 3; }")
        _screenshot(console, board, "journey-10-call-log-recording")
        assert [page.errors for page in (agent, board, mobile)] == [[], [], []]
        print(f"journey (after the server was up): {time.monotonic() - started:.1f} s")
    finally:
        for process in processes:
            process.stop()
        console.close()


def _screenshot(console: Console, page: Any, name: str) -> None:
    """A full-page screenshot from the top (scrolled, the sticky header would be drawn mid-page)."""
    page.evaluate("window.scrollTo(0, 0)")
    console.screenshot(page, name)
