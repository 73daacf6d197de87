"""The engine in-process: binds UDP+TCP on one port, answers SIP, journals, stops cleanly."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from waterline.config import Settings
from waterline.telephony.engine import LOOP_ENV, Running, choose_loop, run_engine, serve


def _request(method: str, user: str, port: int, local: tuple[str, int], body: bytes = b"") -> bytes:
    headers = (
        f"{method} sip:{user}@127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {local[0]}:{local[1]};branch=z9hG4bK-{method}-{user}\r\n"
        f"From: <sip:test@127.0.0.1>;tag=t1\r\nTo: <sip:{user}@127.0.0.1>\r\n"
        f"Call-ID: engine-test-{method}-{user}\r\nCSeq: 1 {method}\r\nMax-Forwards: 70\r\n"
        f"Contact: <sip:test@{local[0]}:{local[1]}>\r\n"
    )
    if body:
        headers += "Content-Type: application/sdp\r\n"
    return (headers + f"Content-Length: {len(body)}\r\n\r\n").encode() + body


class Client(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.inbox: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # type: ignore[override]
        self.inbox.put_nowait(data)


async def _status(client: Client) -> bytes:
    return (await asyncio.wait_for(client.inbox.get(), 5)).split(b"\r\n", 1)[0]


def test_engine_answers_options_udp_and_tcp_then_stops_and_journals(tmp_path: Path) -> None:
    settings = Settings(sip="127.0.0.1:0", data_dir=tmp_path)

    async def scenario() -> None:
        stop = asyncio.Event()
        ready: asyncio.Queue[Running] = asyncio.Queue()
        task = asyncio.create_task(
            serve(settings, stop=stop, on_ready=ready.put_nowait, mirror_to_stderr=False)
        )
        running = await asyncio.wait_for(ready.get(), 30)  # start-up migrates the store
        loop = asyncio.get_running_loop()
        transport, client = await loop.create_datagram_endpoint(
            Client, remote_addr=("127.0.0.1", running.port)
        )
        local = transport.get_extra_info("sockname")
        transport.sendto(_request("OPTIONS", "probe", running.port, local))
        assert await _status(client) == b"SIP/2.0 200 OK"
        transport.sendto(_request("INVITE", "99999", running.port, local, b"v=0\r\n"))
        statuses = {await _status(client), await _status(client)}
        assert b"SIP/2.0 404 Not Found" in statuses
        # TCP on the very same port number.
        reader, writer = await asyncio.open_connection("127.0.0.1", running.port)
        writer.write(_request("OPTIONS", "probe-tcp", running.port, writer.get_extra_info("sockname")))
        assert (await asyncio.wait_for(reader.readuntil(b"\r\n"), 5)).startswith(b"SIP/2.0 200")
        writer.close()
        transport.close()
        stop.set()
        await asyncio.wait_for(task, 10)

    asyncio.run(scenario())
    lines = [json.loads(line) for line in (tmp_path / "logs" / "telephony.jsonl").read_text().splitlines()]
    events = [entry["event"] for entry in lines]
    assert events[0] == "engine_started" and events[-1] == "engine_stopped"
    assert "call_rejected" in events
    assert lines[-1]["errors"] == 0 and lines[-1]["sip_received"] >= 3
    assert 1 <= lines[-1]["udp_batches"] <= lines[-1]["udp_received"] and lines[-1]["udp_received"] >= 2


def test_choose_loop_honours_the_request() -> None:
    assert choose_loop("asyncio") == "asyncio"
    assert choose_loop("uvloop") == "uvloop"  # uvloop is a dependency on this platform
    assert choose_loop(None) == "uvloop"
    with pytest.raises(ValueError):
        choose_loop("trio")


def test_run_engine_refuses_settings_without_sip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOOP_ENV, "asyncio")
    with pytest.raises(ValueError):
        run_engine(Settings(data_dir=tmp_path))


def test_sdp_answers_name_the_public_media_address_when_one_is_set(tmp_path: Path) -> None:
    settings = Settings(sip="127.0.0.1:0", data_dir=tmp_path, diagnostics=True,
                        media={"port_min": 32000, "port_max": 32999, "public_address": "203.0.113.7"})
    offer = (b"v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
             b"m=audio 40000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n")

    async def scenario() -> None:
        stop = asyncio.Event()
        ready: asyncio.Queue[Running] = asyncio.Queue()
        task = asyncio.create_task(
            serve(settings, stop=stop, on_ready=ready.put_nowait, mirror_to_stderr=False)
        )
        running = await asyncio.wait_for(ready.get(), 30)  # start-up migrates the store
        loop = asyncio.get_running_loop()
        transport, client = await loop.create_datagram_endpoint(
            Client, remote_addr=("127.0.0.1", running.port)
        )
        transport.sendto(_request("INVITE", "*43", running.port, transport.get_extra_info("sockname"), offer))
        answer = b""
        while not answer.startswith(b"SIP/2.0 200"):
            answer = await asyncio.wait_for(client.inbox.get(), 5)
        assert b"c=IN IP4 203.0.113.7\r\n" in answer
        transport.close()
        stop.set()
        await asyncio.wait_for(task, 10)

    asyncio.run(scenario())


def test_echo_test_extension_is_404_unless_diagnostics_are_on(tmp_path: Path) -> None:
    settings = Settings(sip="127.0.0.1:0", data_dir=tmp_path)

    async def scenario() -> None:
        stop = asyncio.Event()
        ready: asyncio.Queue[Running] = asyncio.Queue()
        task = asyncio.create_task(
            serve(settings, stop=stop, on_ready=ready.put_nowait, mirror_to_stderr=False)
        )
        running = await asyncio.wait_for(ready.get(), 30)  # start-up migrates the store
        loop = asyncio.get_running_loop()
        transport, client = await loop.create_datagram_endpoint(
            Client, remote_addr=("127.0.0.1", running.port)
        )
        transport.sendto(_request("INVITE", "*43", running.port, transport.get_extra_info("sockname"),
                                  b"v=0\r\n"))
        statuses = {await _status(client), await _status(client)}
        assert b"SIP/2.0 404 Not Found" in statuses
        transport.close()
        stop.set()
        await asyncio.wait_for(task, 10)

    asyncio.run(scenario())
