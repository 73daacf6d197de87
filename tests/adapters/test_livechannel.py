"""The web worker's client of the live channel against a real event port: events, commands, restarts."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from waterline.adapters.livechannel import MAX_SOCKET_PATH, LiveClient, socket_path
from waterline.calls.live import AgentStateChanged, Command, Hangup, Hello, LiveEvent, QueueStats
from waterline.telephony.eventport import EventPort


async def _until(condition: object, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def test_socket_path_is_in_the_data_dir_unless_too_long(tmp_path: Path) -> None:
    assert socket_path(tmp_path) == tmp_path.resolve() / "events.sock"
    deep = tmp_path / ("d" * 120)
    long_one = socket_path(deep)
    assert len(str(long_one)) <= MAX_SOCKET_PATH and long_one != socket_path(tmp_path / ("e" * 120))
    assert socket_path(deep) == long_one  # the same for the engine and every web worker


def test_client_receives_events_sends_commands_and_survives_an_engine_restart(tmp_path: Path) -> None:
    path = tmp_path / "events.sock"
    events: list[LiveEvent] = []
    hellos: list[Hello] = []
    handled: list[Command] = []

    async def scenario() -> None:
        client = LiveClient(path, events.append, on_hello=hellos.append, retry_min=0.02, retry_max=0.1)
        runner = asyncio.create_task(client.run())
        # no engine yet: commands are answered at once, not queued
        reply = await client.command(Hangup("c1"))
        assert (reply.ok, reply.code) == (False, "unavailable")
        first = EventPort(path, clock=lambda: 1.0, engine_id="run-1")
        first.publish(AgentStateChanged("kefu01", "available", 1.0))
        await first.start()
        assert await client.wait_connected(5)
        first.on_command(Hangup.NAME, lambda command: handled.append(command) or {"ok": 1})
        assert (await client.command(Hangup("c1", by="kefu01"))).data == {"ok": 1}
        await _until(lambda: events)
        first.publish(QueueStats("orders", 2.0, 1))
        await _until(lambda: len(events) == 2)
        await first.close()
        await _until(lambda: not client.connected)
        assert (await client.command(Hangup("c1"))).code == "unavailable"
        second = EventPort(path, clock=lambda: 2.0, engine_id="run-2")
        await second.start()
        assert await client.wait_connected(5)
        second.publish(QueueStats("orders", 3.0, 0))
        await _until(lambda: len(events) == 3)
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        await second.close()
        assert client.engine == "run-2" and client.connections == 2

    asyncio.run(scenario())
    assert [h.engine for h in hellos] == ["run-1", "run-2"]
    # the snapshot (the state published before the worker connected) arrived first
    assert events == [AgentStateChanged("kefu01", "available", 1.0), QueueStats("orders", 2.0, 1),
                      QueueStats("orders", 3.0, 0)]
    assert handled == [Hangup("c1", by="kefu01")]


def test_a_command_the_engine_never_answers_times_out(tmp_path: Path) -> None:
    path = tmp_path / "events.sock"

    async def scenario() -> None:
        port = EventPort(path, clock=lambda: 1.0, engine_id="slow")
        never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        port.on_command(Hangup.NAME, lambda command: never)
        await port.start()
        client = LiveClient(path, lambda event: None)
        runner = asyncio.create_task(client.run())
        assert await client.wait_connected(5)
        reply = await client.command(Hangup("c1"), timeout=0.2)
        assert (reply.ok, reply.code) == (False, "timeout")
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        await port.close()

    asyncio.run(scenario())


def test_a_failing_event_handler_does_not_stop_the_client(tmp_path: Path) -> None:
    path = tmp_path / "events.sock"
    seen: list[LiveEvent] = []

    def handler(event: LiveEvent) -> None:
        seen.append(event)
        if len(seen) == 1:
            raise RuntimeError("a bug in one subscriber")

    async def scenario() -> None:
        port = EventPort(path, clock=lambda: 1.0, engine_id="e")
        await port.start()
        client = LiveClient(path, handler)
        runner = asyncio.create_task(client.run())
        assert await client.wait_connected(5)
        await _until(lambda: port.subscribers == 1)
        port.publish(QueueStats("a", 1.0, 0))
        port.publish(QueueStats("b", 1.0, 0))
        await _until(lambda: len(seen) == 2)
        assert client.connections == 1
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        await port.close()

    asyncio.run(scenario())
