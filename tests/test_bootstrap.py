from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from pydantic import SecretStr

from fakes import FakeClock, FakeSmsSender, FakeStore, FakeUnitOfWork
from waterline import bootstrap
from waterline.adapters.db.migrations import current_revision, head_revision
from waterline.adapters.db.users import UserRepository
from waterline.adapters.sms.log import LogSmsSender
from waterline.config import ConfigError, Settings
from waterline.domain.outbox import OutboxMessage
from waterline.services.bus import MessageBus

FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
NOW = datetime(2026, 11, 25, tzinfo=UTC)


def _settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, secret_key=SecretStr("s" * 32), demo=True)


def _wait_for(condition: Callable[[], bool], limit: float = 30.0) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_open_store_migrates(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    store = bootstrap.open_store(settings)
    store.close()
    assert current_revision(settings.database_url) == head_revision()
    assert (tmp_path / "waterline.sqlite3").exists()


def test_demo_users_created_once_and_log_in(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    store = bootstrap.open_store(settings)
    try:
        assert bootstrap.ensure_demo_users(store, settings, now=NOW, hasher=FAST)
        assert not bootstrap.ensure_demo_users(store, settings, now=NOW, hasher=FAST)
        with store.session_factory() as session:
            repo = UserRepository(session, FAST)
            assert repo.count() == len(bootstrap.DEMO_LOGINS)
            for login in bootstrap.DEMO_LOGINS:
                user = repo.authenticate(login.username, login.password, now=NOW)
                assert user is not None and user.role is login.role
            assert repo.sip_credentials("agent") is not None
    finally:
        store.close()


def test_build_app_serves_health(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    store = bootstrap.open_store(settings)
    try:
        with TestClient(bootstrap.build_app(settings, store, hasher=FAST)) as client:
            assert client.get("/api/health").json()["status"] == "ok"
    finally:
        store.close()


def test_optional_module() -> None:
    assert bootstrap.optional_module("waterline.config") is not None
    assert bootstrap.optional_module("waterline.no_such_module_here") is None


def test_supervisor_restarts_a_crashing_child() -> None:
    supervisor = bootstrap.ProcessSupervisor(os._exit, (3,), first_backoff=0.05, poll_interval=0.05)
    supervisor.start()
    try:
        assert _wait_for(lambda: supervisor.restarts >= 2)
    finally:
        supervisor.stop(timeout=10)
    assert supervisor.pid is None


def test_supervisor_leaves_a_cleanly_exited_child_alone() -> None:
    supervisor = bootstrap.ProcessSupervisor(sys.exit, (0,), first_backoff=0.05, poll_interval=0.05)
    supervisor.start()
    try:
        assert _wait_for(lambda: supervisor.exitcode == 0)
        time.sleep(0.3)  # several poll intervals: room for a wrong restart to happen
        assert supervisor.restarts == 0
    finally:
        supervisor.stop(timeout=10)


def test_supervisor_stop_terminates_a_running_child() -> None:
    supervisor = bootstrap.ProcessSupervisor(time.sleep, (120,), poll_interval=0.05)
    supervisor.start()
    assert _wait_for(lambda: supervisor.pid is not None)
    supervisor.stop(timeout=10)
    assert supervisor.pid is None
    assert supervisor.exitcode is not None and supervisor.exitcode != 0
    assert supervisor.restarts == 0


def test_outbox_worker_delivers_due_messages_until_cancelled() -> None:
    store = FakeStore()
    clock = FakeClock()
    with FakeUnitOfWork(store) as uow:
        uow.outbox.add(OutboxMessage(to="13812345678", text="您的订单已派送", created_at=clock.now()))
        uow.commit()
    sender = FakeSmsSender()
    job = bootstrap.outbox_worker(lambda: FakeUnitOfWork(store), sender, clock, interval=0.01)

    async def run() -> None:
        task = asyncio.create_task(job())
        for _ in range(500):
            if sender.sent:
                break
            await asyncio.sleep(0.01)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(run())
    assert sender.sent == [("13812345678", "您的订单已派送")]
    with FakeUnitOfWork(store) as uow:
        assert uow.outbox.due(clock.now(), 10) == []


def test_outbox_worker_survives_a_failing_store() -> None:
    calls: list[int] = []

    def broken_uow() -> FakeUnitOfWork:
        calls.append(1)
        raise RuntimeError("database is down")

    job = bootstrap.outbox_worker(broken_uow, FakeSmsSender(), FakeClock(), interval=0.01)

    async def run() -> None:
        task = asyncio.create_task(job())
        for _ in range(500):
            if len(calls) >= 3:
                break
            await asyncio.sleep(0.01)
        assert not task.done()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(run())
    assert len(calls) >= 3


def test_system_clock_is_aware_utc() -> None:
    assert bootstrap.SystemClock().now().tzinfo is UTC


def test_build_app_wires_bus_and_units_of_work(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    store = bootstrap.open_store(settings)
    try:
        web = bootstrap.build_app(settings, store, hasher=FAST, sender=FakeSmsSender(), clock=FakeClock())
        services = web.state.services
        assert isinstance(services.bus, MessageBus)
        assert services.bus.deps.settings.auto_dispatch is True
        with services.uow_factory() as uow:
            assert uow.products.all() == []
        # the outbox worker, the recording retention job and the live channel to the engine
        assert len(services.background) == 3
        assert services.live is not None
    finally:
        store.close()


def test_dispatch_mode_reaches_the_handlers(tmp_path: Path) -> None:
    manual = Settings(data_dir=tmp_path, dispatch={"mode": "manual"})
    assert bootstrap.service_settings(manual).auto_dispatch is False
    assert bootstrap.service_settings(Settings(data_dir=tmp_path)).auto_dispatch is True


def test_unknown_sms_sender_is_a_config_error(tmp_path: Path) -> None:
    assert isinstance(bootstrap.sms_sender(Settings(data_dir=tmp_path)), LogSmsSender)
    with pytest.raises(ConfigError, match="unknown SMS sender"):
        bootstrap.sms_sender(Settings(data_dir=tmp_path, sms={"sender": "aliyun-typo"}))
