"""The engine's event port on a real Unix socket: hello and snapshot, fan-out, commands, slow readers."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from waterline.calls.live import (
    AgentStateChanged,
    AgentStateNotice,
    CallAnswered,
    CallEnded,
    CallOffered,
    Command,
    CommandFrame,
    EventFrame,
    Hangup,
    Hello,
    QueueStats,
    RecordCall,
    Reply,
    TransferCall,
    decode_event,
    decode_frame,
    encode_frame,
)
from waterline.telephony.eventport import CommandRefused, EventPort


class Peer:
    """A web worker's raw end of the socket."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, path: Path) -> Peer:
        reader, writer = await asyncio.open_unix_connection(os.fspath(path))
        return cls(reader, writer)

    async def frame(self) -> object:
        line = await asyncio.wait_for(self.reader.readline(), 5)
        assert line, "the port closed the connection"
        return decode_frame(line)

    async def event(self) -> object:
        frame = await self.frame()
        assert isinstance(frame, EventFrame), frame
        return decode_event(frame)

    async def send(self, command: Command, command_id: int) -> Reply:
        self.writer.write(encode_frame(command, command_id))
        frame = await self.frame()
        while isinstance(frame, EventFrame):  # events published meanwhile come first
            frame = await self.frame()
        assert isinstance(frame, Reply), frame
        return frame

    def close(self) -> None:
        self.writer.close()


def run(tmp_path: Path, scenario: Callable[[EventPort], Awaitable[None]], **options: int) -> EventPort:
    port = EventPort(tmp_path / "events.sock", clock=lambda: 1000.0, engine_id="engine-1", **options)

    async def main() -> None:
        await port.start()
        try:
            await scenario(port)
        finally:
            await port.close()

    asyncio.run(main())
    return port


def test_every_subscriber_gets_hello_then_every_event(tmp_path: Path) -> None:
    offered = CallOffered("c1", "kefu01", "orders", "13800000001", "4000", 10.0, 2.0)

    async def scenario(port: EventPort) -> None:
        one, two = await Peer.connect(port.path), await Peer.connect(port.path)
        assert await one.frame() == Hello("engine-1", 1000.0)
        assert await two.frame() == Hello("engine-1", 1000.0)
        while port.subscribers < 2:
            await asyncio.sleep(0.01)
        port.publish(offered)
        assert await one.event() == offered
        assert await two.event() == offered
        one.close()
        two.close()

    assert run(tmp_path, scenario).stats.published == 1


def test_a_new_subscriber_gets_the_snapshot_of_agents_queues_and_open_calls(tmp_path: Path) -> None:
    async def scenario(port: EventPort) -> None:
        port.publish(AgentStateChanged("kefu01", "available", 1.0))
        port.publish(AgentStateChanged("kefu01", "ringing", 2.0, "available"))
        port.publish(AgentStateChanged("kefu02", "paused", 2.0, "available", "meal"))
        port.publish(QueueStats("orders", 2.0, 1, 5.0, 0))
        port.publish(CallOffered("c1", "kefu01", "orders", "138", "400", 2.0))
        port.publish(CallAnswered("c1", "kefu01", "orders", 3.0, 3.0))
        port.publish(CallOffered("c2", "kefu02", "orders", "139", "400", 2.0))
        port.publish(CallEnded("c2", 4.0, "no-answer", "kefu02", "orders"))
        peer = await Peer.connect(port.path)
        assert isinstance(await peer.frame(), Hello)
        snapshot = [await peer.event() for _ in range(5)]
        assert snapshot == [
            AgentStateChanged("kefu01", "ringing", 2.0, "available"),
            AgentStateChanged("kefu02", "paused", 2.0, "available", "meal"),
            QueueStats("orders", 2.0, 1, 5.0, 0),
            CallOffered("c1", "kefu01", "orders", "138", "400", 2.0),
            CallAnswered("c1", "kefu01", "orders", 3.0, 3.0),
        ]
        port.publish(CallEnded("c1", 9.0, "caller"))  # without an agent: ends it for everyone
        assert await peer.event() == CallEnded("c1", 9.0, "caller")
        peer.close()
        late = await Peer.connect(port.path)
        assert isinstance(await late.frame(), Hello)
        rest = [await late.event() for _ in range(3)]
        assert not any(isinstance(event, CallOffered | CallAnswered) for event in rest)
        late.close()

    run(tmp_path, scenario)


def test_commands_reach_their_handler_and_get_replies(tmp_path: Path) -> None:
    seen: list[Command] = []

    def hangup(command: Command) -> dict[str, object]:
        seen.append(command)
        assert isinstance(command, Hangup)
        if command.call_id != "c1":
            raise CommandRefused("unknown_call", "没有这个通话", "no such call")
        return {"hung_up": True}

    async def transfer(command: Command) -> None:
        await asyncio.sleep(0)
        seen.append(command)

    def broken(command: Command) -> None:
        raise RuntimeError("boom")

    async def scenario(port: EventPort) -> None:
        port.on_command(Hangup.NAME, hangup)
        port.on_command(TransferCall.NAME, transfer)
        port.on_command(RecordCall.NAME, broken)
        peer = await Peer.connect(port.path)
        await peer.frame()
        assert await peer.send(Hangup("c1"), 1) == Reply.success(1, {"hung_up": True})
        refused = await peer.send(Hangup("c9"), 2)
        assert (refused.ok, refused.code, refused.zh) == (False, "unknown_call", "没有这个通话")
        assert (await peer.send(TransferCall("c1", queue="complaints"), 3)).ok
        assert (await peer.send(RecordCall("c1", True), 4)).code == "failed"
        peer.writer.write(encode_frame(CommandFrame(5, "call.transfer", {"call_id": "c1"})))
        bad = await peer.frame()
        assert isinstance(bad, Reply) and (bad.id, bad.ok, bad.code) == (5, False, "bad_command")
        assert "exactly one of agent and queue" in bad.en
        peer.close()

    run(tmp_path, scenario)
    assert seen == [Hangup("c1"), Hangup("c9"), TransferCall("c1", queue="complaints")]


def test_a_command_without_a_handler_is_not_supported(tmp_path: Path) -> None:
    async def scenario(port: EventPort) -> None:
        peer = await Peer.connect(port.path)
        await peer.frame()
        reply = await peer.send(RecordCall("c1", on=True), 1)
        assert (reply.ok, reply.code) == (False, "not_supported")
        peer.close()

    run(tmp_path, scenario)


def test_an_agent_state_notice_is_published_to_every_subscriber_until_replaced(tmp_path: Path) -> None:
    async def scenario(port: EventPort) -> None:
        sender, watcher = await Peer.connect(port.path), await Peer.connect(port.path)
        await sender.frame()
        await watcher.frame()
        while port.subscribers < 2:
            await asyncio.sleep(0.01)
        assert (await sender.send(AgentStateNotice("kefu01", "paused", 5.0, "available", "meal"), 1)).ok
        assert await watcher.event() == AgentStateChanged("kefu01", "paused", 5.0, "available", "meal")
        handled: list[Command] = []
        port.on_command(AgentStateNotice.NAME, lambda command: handled.append(command))
        assert (await sender.send(AgentStateNotice("kefu01", "available", 6.0), 2)).ok
        assert handled == [AgentStateNotice("kefu01", "available", 6.0)]
        sender.close()
        watcher.close()

    run(tmp_path, scenario)


def test_a_subscriber_that_stops_reading_is_cut_off_and_the_others_keep_up(tmp_path: Path) -> None:
    big = "x" * 8000

    async def scenario(port: EventPort) -> None:
        stuck, healthy = await Peer.connect(port.path), await Peer.connect(port.path)
        await healthy.frame()
        while port.subscribers < 2:
            await asyncio.sleep(0.01)
        received = 0
        # `stuck` never reads: once the socket buffers are full its queue fills and it is cut off,
        # while publish() itself never waits
        for n in range(400):
            port.publish(CallEnded(f"c{n}", float(n), big))
            while received <= n - 8:  # the healthy one reads along, a few frames behind
                await healthy.event()
                received += 1
            await asyncio.sleep(0)
        assert port.stats.cut_off == 1 and port.stats.dropped == 1
        while received < 400:
            await healthy.event()
            received += 1
        # the stuck one sees the end of its stream
        data = await asyncio.wait_for(stuck.reader.read(), 5)
        while data:
            data = await asyncio.wait_for(stuck.reader.read(), 5)
        assert port.subscribers == 1
        stuck.close()
        healthy.close()

    run(tmp_path, scenario, queue_limit=16)


def test_a_garbage_line_disconnects_only_that_peer(tmp_path: Path) -> None:
    async def scenario(port: EventPort) -> None:
        bad, good = await Peer.connect(port.path), await Peer.connect(port.path)
        await bad.frame()
        await good.frame()
        bad.writer.write(b"this is not json\n")
        assert await asyncio.wait_for(bad.reader.read(), 5) == b""
        port.publish(QueueStats("orders", 1.0, 0))
        assert await good.event() == QueueStats("orders", 1.0, 0)
        assert port.stats.protocol_errors == 1
        bad.close()
        good.close()

    run(tmp_path, scenario)


def test_the_socket_is_private_and_a_stale_one_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "events.sock").write_text("left over by a crash")

    async def scenario(port: EventPort) -> None:
        assert (port.path.stat().st_mode & 0o777) == 0o600

    port = run(tmp_path, scenario)
    assert not port.path.exists()


def test_flat_fields_from_an_engine_hook_are_published_typed_and_bad_ones_counted(tmp_path: Path) -> None:
    async def scenario(port: EventPort) -> None:
        peer = await Peer.connect(port.path)
        await peer.frame()
        while port.subscribers < 1:
            await asyncio.sleep(0.01)
        port.publish_fields({"type": "call.ended", "call_id": "c1", "agent": "kefu01", "by": "agent",
                             "talk": 12.0, "at": 5.0})
        port.publish_fields({"type": "call.ended"})  # not an event: counted, not raised
        assert await peer.event() == CallEnded("c1", 5.0, "agent", "kefu01")
        peer.close()

    port = run(tmp_path, scenario)
    assert (port.stats.published, port.stats.bad_events) == (1, 1)
