"""Fixtures of the browser tests: the real product (``waterline demo``) and headless Chromium.

``demo_server`` (session scope) runs ``waterline demo`` on a free loopback port with a fresh data dir
(demo logins and Shaanxi demo data), stopped by PID at the end. ``console`` gives
``console.page_as(role)`` — a Playwright page logged in as the demo login of that role — and
``console.screenshot(page, name)``, which saves ``test-output/screenshots/<name>.png`` (the directory
is ``WATERLINE_TEST_OUTPUT`` when set). The browser is Debian's ``/usr/bin/chromium``: Playwright
never downloads its own. Chromium or Playwright missing is a failure (``make test`` installs both),
unless ``WATERLINE_SKIP_BROWSER=1``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEMO_PASSWORDS = {
    "owner": "owner123",
    "manager": "manager123",
    "dispatcher": "dispatcher123",
    "agent": "agent123",
    "courier": "courier123",
}
REPO = Path(__file__).resolve().parents[2]
OUTPUT = Path(os.environ.get("WATERLINE_TEST_OUTPUT", REPO / "test-output"))
SECRET = "browser-test-secret-0123456789abcdef"


def free_tcp_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class DemoServer:
    """A running ``waterline demo`` process."""

    process: subprocess.Popen[bytes]
    base_url: str
    data_dir: Path
    log: Path
    sip: tuple[str, int] | None = None

    def output(self) -> str:
        """What the server printed so far."""
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = 20.0) -> int:
        """Stop the server (SIGINT, then SIGKILL after ``timeout``) and return its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode


def start_demo(data_dir: Path, *, sip: tuple[str, int] | None = None, startup: float = 300.0) -> DemoServer:
    """``waterline demo`` on a free port with ``data_dir``; waits until /api/health answers."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_tcp_port()
    command = [
        sys.executable, "-c", "from waterline.cli import main; main()",
        "demo", "--http", f"127.0.0.1:{port}", "--data-dir", str(data_dir),
    ]
    if sip is not None:
        command += ["--sip", f"{sip[0]}:{sip[1]}"]
    log = data_dir / "server.log"
    env = {**os.environ, "WATERLINE_SECRET_KEY": SECRET, "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    server = DemoServer(process, f"http://127.0.0.1:{port}", data_dir, log, sip)
    deadline = time.monotonic() + startup
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"waterline demo exited with {process.returncode}:\n{server.output()[-3000:]}")
        try:
            if httpx.get(f"{server.base_url}/api/health", timeout=2.0).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"waterline demo did not answer within {startup} s:\n{server.output()[-3000:]}")


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """The product in demo mode for the whole session; stopped by PID afterwards.

    Loading the demo data takes 10-100 s on a busy 2-core machine; while working on the console,
    ``WATERLINE_TEST_SERVER=http://127.0.0.1:PORT`` reuses a ``waterline demo`` you started yourself
    (``WATERLINE_TEST_DATA_DIR`` naming its data dir).
    """
    reuse = os.environ.get("WATERLINE_TEST_SERVER")
    if reuse:
        data_dir = Path(os.environ.get("WATERLINE_TEST_DATA_DIR", "."))
        yield DemoServer(subprocess.Popen(["true"]), reuse.rstrip("/"), data_dir, Path("/dev/null"))
        return
    server = start_demo(tmp_path_factory.mktemp("demo"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium through Playwright."""
    missing = not Path(CHROMIUM).exists()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = True
    if missing:
        if os.environ.get("WATERLINE_SKIP_BROWSER") == "1":
            pytest.skip("chromium or playwright missing and WATERLINE_SKIP_BROWSER=1")
        pytest.fail(f"{CHROMIUM} (Debian chromium) or playwright is missing; `make test` installs them")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Console:
    """Pages of the running console in the browser; contexts are closed after the test."""

    server: DemoServer
    browser: Any
    contexts: list[Any] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The console's base URL."""
        return self.server.base_url

    def new_page(self, *, mobile: bool = False, lang: str | None = None) -> Any:
        """A fresh browser page (own cookies), desktop 1440x900 or phone 390x844."""
        viewport = {"width": 390, "height": 844} if mobile else {"width": 1440, "height": 900}
        context = self.browser.new_context(
            base_url=self.url, viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai",
            device_scale_factor=1, is_mobile=mobile, has_touch=mobile,
        )
        context.set_default_timeout(15_000)
        if lang is not None:
            host = self.url.split("//", 1)[1].split(":")[0]
            context.add_cookies([{"name": "waterline_lang", "value": lang, "domain": host, "path": "/"}])
        self.contexts.append(context)
        page = context.new_page()
        page.errors = []  # type: ignore[attr-defined]
        page.on("pageerror", lambda error: page.errors.append(str(error)))  # type: ignore[attr-defined]
        return page

    def log_in(self, page: Any, username: str, password: str | None = None) -> None:
        """Log ``page`` in through the login form as ``username`` and wait for the home page."""
        page.goto("/login")
        page.fill("#login-username", username)
        page.fill("#login-password", password or DEMO_PASSWORDS[username])
        page.click("#login-submit")
        page.wait_for_url(lambda url: "/login" not in url)
        page.wait_for_load_state("networkidle")

    def page_as(self, role: str, *, mobile: bool = False, lang: str | None = None) -> Any:
        """A page logged in as the demo login of ``role``, on his home page."""
        page = self.new_page(mobile=mobile, lang=lang)
        self.log_in(page, role)
        return page

    def screenshot(self, page: Any, name: str, *, full_page: bool = True) -> Path:
        """Save ``test-output/screenshots/<name>.png`` and return its path."""
        path = OUTPUT / "screenshots" / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=full_page)
        return path

    def close(self) -> None:
        """Close every context opened by this test."""
        for context in self.contexts:
            context.close()
        self.contexts.clear()


@pytest.fixture
def console(demo_server: DemoServer, browser: Any) -> Iterator[Console]:
    """The running console and a way to open logged-in pages (see the module docstring)."""
    console = Console(demo_server, browser)
    try:
        yield console
    finally:
        console.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/browser carries the ``browser`` marker."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


