"""The web worker's live hub without sockets: routing to agents and supervisors, the card, ordering,
slow browsers, an engine restart, commands."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Mapping
from typing import Any

from waterline.calls.live import (
    AgentStateChanged,
    AgentStateNotice,
    CallAnswered,
    CallEnded,
    CallOffered,
    CallQueued,
    Command,
    Hangup,
    Hello,
    QueueStats,
    Reply,
)
from waterline.web.live import LiveHub, Subscription


class Cards:
    """A card lookup that counts its calls and can be held back (a slow store)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []
        self.release = threading.Event()
        self.release.set()

    def __call__(self, caller: str, region: str | None) -> Mapping[str, Any]:
        self.calls.append((caller, region))
        assert self.release.wait(5)
        return {"phone": caller, "known": caller == "138", "region": region}


class Channel:
    """The engine end as the hub sees it."""

    def __init__(self, connected: bool = True) -> None:
        self.connected = connected
        self.sent: list[Command] = []

    async def command(self, command: Command, timeout: float = 5.0) -> Reply:
        self.sent.append(command)
        return Reply.success(1, {"done": True})


def _offer(agent: str = "kefu01", call_id: str = "c1", caller: str = "138") -> CallOffered:
    return CallOffered(call_id, agent, "orders", caller, "400", 1.0, 2.0, region="西安市", ivr_path=("menu",),
                       digits="0")


async def _messages(subscription: Subscription, count: int) -> list[dict[str, Any]]:
    result = []
    for _ in range(count):
        text = await asyncio.wait_for(subscription.get(), 5)
        assert text is not None
        result.append(json.loads(text))
    return result


def _pending(subscription: Subscription) -> bool:
    return subscription.pending > 0


def test_an_agent_gets_his_offer_with_the_card_and_others_get_nothing() -> None:
    cards = Cards()

    async def scenario() -> None:
        hub = LiveHub(cards)
        mine, other, boss = hub.attach_agent("kefu01"), hub.attach_agent("kefu02"), hub.attach_supervisor()
        await _messages(mine, 1)
        await _messages(other, 1)
        await _messages(boss, 2)
        hub.on_event(_offer())
        [offered] = await _messages(mine, 1)
        assert offered["type"] == "call.offered" and offered["card"] == {"phone": "138", "known": True,
                                                                         "region": "西安市"}
        assert offered["ivr_path"] == ["menu"] and offered["digits"] == "0"
        [seen] = await _messages(boss, 1)
        assert seen["type"] == "call.offered" and "card" not in seen
        await asyncio.sleep(0.05)
        assert not _pending(other)
        assert hub.calls_of("kefu01") == ["c1"] and hub.has_call("c1") and not hub.calls_of("kefu02")

    asyncio.run(scenario())
    assert cards.calls == [("138", "西安市")]


def test_answered_and_ended_wait_for_a_slow_card() -> None:
    cards = Cards()
    cards.release.clear()

    async def scenario() -> None:
        hub = LiveHub(cards)
        mine = hub.attach_agent("kefu01")
        await _messages(mine, 1)
        hub.on_event(_offer())
        hub.on_event(CallAnswered("c1", "kefu01", "orders", 2.0, 3.0))
        hub.on_event(CallEnded("c1", 9.0, "caller", "kefu01", "orders"))
        await asyncio.sleep(0.05)
        assert not _pending(mine)  # nothing overtakes the offer
        cards.release.set()
        kinds = [m["type"] for m in await _messages(mine, 3)]
        assert kinds == ["call.offered", "call.answered", "call.ended"]
        assert hub.calls_of("kefu01") == []

    asyncio.run(scenario())


def test_the_card_is_prepared_when_the_caller_queues_and_looked_up_once() -> None:
    cards = Cards()

    async def scenario() -> None:
        hub = LiveHub(cards)
        one, two = hub.attach_agent("kefu01"), hub.attach_agent("kefu02")
        await _messages(one, 1)
        await _messages(two, 1)
        hub.on_event(CallQueued("c1", "orders", "138", "400", 1.0, "西安市"))
        await asyncio.sleep(0.05)
        assert cards.calls == [("138", "西安市")]
        hub.on_event(_offer("kefu01"))  # rung first, no answer
        hub.on_event(CallEnded("c1", 2.0, "no-answer", "kefu01", "orders"))
        hub.on_event(_offer("kefu02"))  # then the next agent
        assert (await _messages(one, 1))[0]["card"]["known"] is True
        assert (await _messages(two, 1))[0]["card"]["known"] is True

    asyncio.run(scenario())
    assert len(cards.calls) == 1


def test_no_lookup_for_agents_connected_to_another_worker() -> None:
    cards = Cards()

    async def scenario() -> None:
        hub = LiveHub(cards)
        hub.on_event(CallQueued("c1", "orders", "138", "400", 1.0))
        hub.on_event(_offer("kefu09"))
        await asyncio.sleep(0.05)
        # he connects here during the ring: the card is looked up now
        late = hub.attach_agent("kefu09")
        messages = await _messages(late, 2)
        assert [m["type"] for m in messages] == ["hello", "call.offered"] and messages[1]["card"]

    asyncio.run(scenario())
    assert len(cards.calls) == 1


def test_a_browser_that_falls_behind_is_told_to_go() -> None:
    async def scenario() -> None:
        hub = LiveHub(None, socket_queue=3)
        slow = hub.attach_supervisor()  # hello and snapshot: 2 of 3
        for n in range(5):
            hub.on_event(QueueStats("orders", float(n), n))
        assert slow.overflowed and hub.overflowed == 1
        texts = [await slow.get() for _ in range(4)]
        assert texts[-1] is None and all(texts[:3])

    asyncio.run(scenario())


def test_the_supervisor_snapshot_merges_the_store_with_live_states() -> None:
    async def scenario() -> None:
        hub = LiveHub(None)
        hub.on_event(AgentStateChanged("kefu01", "on_call", 5.0, "ringing", "answered", "c1"))
        hub.on_event(QueueStats("orders", 5.0, 1, 12.0, 0))
        hub.on_event(_offer())
        hub.on_event(CallAnswered("c1", "kefu01", "orders", 5.0, 4.0))
        stored = [{"agent": "kefu01", "state": "available", "display_name": "刘芳"},
                  {"agent": "kefu02", "state": "paused", "display_name": "王丽"}]
        boss = hub.attach_supervisor(stored)
        hello, snapshot = await _messages(boss, 2)
        assert hello == {"type": "hello", "engine": False}
        agents = {a["agent"]: (a["state"], a["display_name"]) for a in snapshot["agents"]}
        assert agents == {"kefu01": ("on_call", "刘芳"), "kefu02": ("paused", "王丽")}
        assert [q["waiting"] for q in snapshot["queues"]] == [1]
        assert [c["type"] for c in snapshot["calls"]] == ["call.offered", "call.answered"]

    asyncio.run(scenario())


def test_an_engine_restart_clears_the_picture_and_tells_every_browser() -> None:
    async def scenario() -> None:
        hub = LiveHub(None)
        hub.on_event(_offer())
        agent, boss = hub.attach_agent("kefu01"), hub.attach_supervisor()
        await _messages(agent, 2)
        await _messages(boss, 2)
        hub.on_lost()
        hub.on_hello(Hello("second-run", 1.0))
        assert hub.engine == "second-run" and hub.calls_of("kefu01") == []
        assert [m["connected"] for m in await _messages(agent, 2)] == [False, True]
        assert [m["type"] for m in await _messages(boss, 2)] == ["engine", "engine"]

    asyncio.run(scenario())


def test_the_warm_up_looks_one_card_up_and_survives_a_failing_store() -> None:
    cards = Cards()

    def broken(caller: str, region: str | None) -> Mapping[str, Any]:
        raise RuntimeError("store down")

    asyncio.run(LiveHub(cards).warm_up())
    asyncio.run(LiveHub(broken).warm_up())
    asyncio.run(LiveHub(None).warm_up())
    assert cards.calls == [("13800000000", None)]


def test_commands_and_notices() -> None:
    async def scenario() -> None:
        hub = LiveHub(None)
        assert await hub.command(Hangup("c1")) is None  # no channel at all
        channel = Channel()
        hub.channel = channel
        hub.bind(asyncio.get_running_loop())
        assert hub.connected and (await hub.command(Hangup("c1"))).ok
        notice = AgentStateNotice("kefu01", "paused", 1.0, "available", "meal")
        local = AgentStateChanged("kefu01", "paused", 1.0, "available", "meal")
        await asyncio.to_thread(hub.notify_threadsafe, notice, local)
        await asyncio.sleep(0.05)
        assert channel.sent == [Hangup("c1"), notice]
        # without a connected engine the notice is applied here instead
        channel.connected = False
        mine = hub.attach_agent("kefu01")
        await _messages(mine, 1)
        await asyncio.to_thread(hub.notify_threadsafe, notice, local)
        [state] = await _messages(mine, 1)
        assert (state["type"], state["state"], state["reason"]) == ("agent.state", "paused", "meal")
        assert channel.sent == [Hangup("c1"), notice]

    asyncio.run(scenario())
