from __future__ import annotations

import gc
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from waterline.adapters.db.engine import create_engine, create_session_factory
from waterline.adapters.db.migrations import current_revision, head_revision
from waterline.adapters.db.users import UserRepository
from waterline.bootstrap import DEMO_LOGINS
from waterline.cli import WEB_GC_THRESHOLD, app, banner, tune_web_gc, worker_app
from waterline.config import Settings
from waterline.domain.users import Role

runner = CliRunner()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("WATERLINE_"):
            monkeypatch.delenv(name)


def _sqlite(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'waterline.sqlite3').resolve()}"


def test_db_upgrade(tmp_path: Path) -> None:
    result = runner.invoke(app, ["db", "upgrade", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert current_revision(_sqlite(tmp_path)) == head_revision()
    assert str(head_revision()) in result.output


def test_db_upgrade_reads_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATERLINE_DB", _sqlite(tmp_path / "elsewhere"))
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert current_revision(_sqlite(tmp_path / "elsewhere")) == head_revision()


def test_users_add_then_login_works(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "users",
            "add",
            "wang",
            "--role",
            "Dispatcher",
            "--password",
            "password-1",
            "--data-dir",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "wang" in result.output
    engine = create_engine(_sqlite(tmp_path))
    try:
        with create_session_factory(engine)() as session:
            user = UserRepository(session).authenticate("wang", "password-1", now=datetime.now(UTC))
            assert user is not None and user.role is Role.DISPATCHER
    finally:
        engine.dispose()


def test_users_add_with_db_url_and_sip_password(tmp_path: Path) -> None:
    url = _sqlite(tmp_path / "custom")
    result = runner.invoke(
        app,
        [
            "users",
            "add",
            "agent7",
            "--role",
            "agent",
            "--password",
            "password-1",
            "--sip-password",
            "7777x",
            "--db",
            url,
        ],
    )
    assert result.exit_code == 0, result.output
    engine = create_engine(url)
    try:
        with create_session_factory(engine)() as session:
            assert UserRepository(session).sip_credentials("agent7") is not None
    finally:
        engine.dispose()


def test_users_add_refuses_duplicates_and_bad_input(tmp_path: Path) -> None:
    args = ["--data-dir", str(tmp_path)]
    assert (
        runner.invoke(
            app, ["users", "add", "li", "--role", "agent", "--password", "password-1", *args]
        ).exit_code
        == 0
    )
    duplicate = runner.invoke(
        app, ["users", "add", "li", "--role", "agent", "--password", "password-1", *args]
    )
    assert duplicate.exit_code == 2 and "already taken" in duplicate.output
    bad_role = runner.invoke(
        app, ["users", "add", "zhao", "--role", "boss", "--password", "password-1", *args]
    )
    assert bad_role.exit_code == 2 and "unknown role" in bad_role.output
    short = runner.invoke(app, ["users", "add", "zhao", "--role", "agent", "--password", "short", *args])
    assert short.exit_code == 2 and "password" in short.output


def test_the_demo_banner_names_the_console_every_login_and_the_softphone_settings(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, http={"host": "127.0.0.1", "port": 8000},
                        sip={"listen": ("127.0.0.1", 5060)})
    text = "\n".join(banner(settings, demo=True))
    assert "http://127.0.0.1:8000/login" in text
    for login in DEMO_LOGINS:
        assert any(line.split()[:3] == [login.username, login.password, login.role.value]
                   for line in text.splitlines()), login
    assert "127.0.0.1:5060 (UDP), 用户名 / user agent, 密码 / password agent123" in text
    assert "sip:4006360888@127.0.0.1:5060" in text
    # serve: no demo logins, no softphone hint
    served = "\n".join(banner(settings, demo=False))
    assert "/login" in served and "owner123" not in served and "4006360888" not in served


def test_serve_refuses_without_secret(tmp_path: Path) -> None:
    result = runner.invoke(app, ["serve", "--data-dir", str(tmp_path), "--http", "127.0.0.1:1"])
    assert result.exit_code == 2
    assert "WATERLINE_SECRET_KEY" in result.output and "拒绝启动" in result.output


def test_serve_rejects_bad_address(tmp_path: Path) -> None:
    result = runner.invoke(app, ["serve", "--data-dir", str(tmp_path), "--http", "nowhere:port"])
    assert result.exit_code == 2 and "invalid configuration" in result.output


def test_import_customers_reports_bad_rows_and_is_idempotent(tmp_path: Path) -> None:
    csv = tmp_path / "customers.csv"
    csv.write_text("姓名,电话\n张三,13912345678\n李四,12345\n", encoding="utf-8")
    args = ["import", "customers", str(csv), "--data-dir", str(tmp_path)]
    first = runner.invoke(app, args)
    assert first.exit_code == 1, first.output  # one bad row: good rows imported, status says "read me"
    assert "1 created" in first.output and "line 3" in first.output
    second = runner.invoke(app, args)
    assert "0 created" in second.output and "1 already present" in second.output


def test_import_customers_unreadable_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.csv"
    junk.write_text("no header here\n", encoding="utf-8")
    result = runner.invoke(app, ["import", "customers", str(junk), "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "缺少" in result.output and "missing required column" in result.output
    assert "Traceback" not in result.output


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.mark.slow
def test_serve_subprocess_answers_health_and_stops_on_sigint(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "WATERLINE_SECRET_KEY": "subprocess-test-secret-0123456789"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "waterline.cli",
            "serve",
            "--http",
            f"127.0.0.1:{port}",
            "--data-dir",
            str(tmp_path),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        health = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert health is not None and health.status_code == 200, "server did not come up"
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    assert process.returncode == 0, output
    assert f"http://127.0.0.1:{port}" in output
    assert "stopped" in output


def test_worker_app_reads_the_environment_and_only_one_worker_runs_the_outbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert runner.invoke(app, ["db", "upgrade", "--data-dir", str(tmp_path)]).exit_code == 0
    monkeypatch.setenv("WATERLINE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("WATERLINE_SECRET_KEY", "worker-test-secret-0123456789")
    first = worker_app()
    second = worker_app()  # stands for a second process: the lock belongs to the open file
    try:
        assert first.state.settings.data_dir == tmp_path
        assert first.state.settings.secret == "worker-test-secret-0123456789"
        assert first.state.outbox_lock is not None  # this one delivers the SMS
        assert second.state.outbox_lock is None
        # the singleton jobs (outbox delivery, recording retention) run in the lock holder only;
        # every worker connects to the engine's live channel
        assert len(first.state.services.background) == 3 and len(second.state.services.background) == 1
    finally:
        first.state.outbox_lock.close()


def test_serve_with_two_workers_answers_and_stops_on_sigint(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "WATERLINE_SECRET_KEY": "subprocess-test-secret-0123456789"}
    process = subprocess.Popen(
        [sys.executable, "-m", "waterline.cli", "serve", "--http", f"127.0.0.1:{port}"]
        + ["--data-dir", str(tmp_path), "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        health = None
        # spawned workers import the whole app first: slow on a busy machine
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.3)
        assert health is not None and health.status_code == 200, "server did not come up"
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    assert process.returncode == 0, output
    assert "web workers: 2" in output and output.count("Started server process") == 2
    assert "stopped" in output


def test_tune_web_gc_freezes_start_up_objects_and_spaces_young_collections() -> None:
    before = gc.get_threshold()
    try:
        tune_web_gc()
        assert gc.get_threshold() == (WEB_GC_THRESHOLD, 20, 100)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
