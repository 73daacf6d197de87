"""The TCP driver with real loopback connections and a fake sans-IO endpoint."""

from __future__ import annotations

import asyncio

from fake_endpoint import EchoEndpoint, Received

from waterline.telephony.hub import Address, Hub
from waterline.telephony.tcp import TcpDriver

OPTIONS = b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nCall-ID: a\r\nContent-Length: 0\r\n\r\n"
MESSAGE = b"MESSAGE sip:x@127.0.0.1 SIP/2.0\r\nCall-ID: b\r\nContent-Length: 5\r\n\r\nhello"


async def _server(endpoint: EchoEndpoint, lost: list[Address]) -> tuple[Hub, TcpDriver]:
    hub = Hub(endpoint, lambda event, now: None, asyncio.get_running_loop())
    driver = TcpDriver(hub, on_connection_lost=lost.append)
    await driver.listen("127.0.0.1", 0)
    return hub, driver


async def _read_exactly(reader: asyncio.StreamReader, count: int) -> bytes:
    return await asyncio.wait_for(reader.readexactly(count), 5)


def test_stream_is_framed_into_whole_messages_and_answers_go_back_on_the_connection() -> None:
    async def scenario() -> None:
        endpoint = EchoEndpoint()
        lost: list[Address] = []
        hub, driver = await _server(endpoint, lost)
        reader, writer = await asyncio.open_connection(*driver.local_address)
        # Two messages in one segment, the third split in the middle of its body.
        writer.write(OPTIONS + MESSAGE + MESSAGE[:-3])
        await writer.drain()
        expected = b"echo:" + OPTIONS + b"echo:" + MESSAGE
        assert await _read_exactly(reader, len(expected)) == expected
        writer.write(MESSAGE[-3:])
        assert await _read_exactly(reader, len(MESSAGE) + 5) == b"echo:" + MESSAGE
        local = writer.get_extra_info("sockname")
        assert driver.connection_count == 1
        writer.close()
        await writer.wait_closed()
        for _ in range(100):
            if lost:
                break
            await asyncio.sleep(0.01)
        assert lost == [(local[0], local[1])]
        assert driver.connection_count == 0
        await driver.close()
        hub.close()

    asyncio.run(scenario())


def test_events_carry_the_peer_address_and_tcp_transport() -> None:
    async def scenario() -> None:
        endpoint = EchoEndpoint()
        seen: list[object] = []
        hub = Hub(endpoint, lambda event, now: seen.append(event), asyncio.get_running_loop())
        driver = TcpDriver(hub)
        await driver.listen("127.0.0.1", 0)
        reader, writer = await asyncio.open_connection(*driver.local_address)
        writer.write(OPTIONS)
        await _read_exactly(reader, len(OPTIONS) + 5)
        local = writer.get_extra_info("sockname")
        assert seen == [Received(OPTIONS, (local[0], local[1]), "tcp")]
        writer.close()
        await driver.close()
        hub.close()

    asyncio.run(scenario())


def test_crlf_ping_gets_a_pong() -> None:
    async def scenario() -> None:
        hub, driver = await _server(EchoEndpoint(), [])
        reader, writer = await asyncio.open_connection(*driver.local_address)
        writer.write(b"\r\n\r\n")
        assert await _read_exactly(reader, 2) == b"\r\n"
        writer.close()
        await driver.close()
        hub.close()

    asyncio.run(scenario())


def test_unframeable_junk_closes_the_connection_and_is_counted() -> None:
    async def scenario() -> None:
        hub, driver = await _server(EchoEndpoint(), [])
        reader, writer = await asyncio.open_connection(*driver.local_address)
        writer.write(b"INVITE sip:x SIP/2.0\r\nContent-Length: banana\r\n\r\n")
        assert await asyncio.wait_for(reader.read(), 5) == b""  # EOF: the server closed
        assert driver.framing_errors == 1
        writer.close()
        await driver.close()
        hub.close()

    asyncio.run(scenario())


def test_output_to_an_unknown_address_opens_a_connection() -> None:
    async def scenario() -> None:
        received: asyncio.Queue[bytes] = asyncio.Queue()

        async def peer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            received.put_nowait(await reader.readexactly(len(OPTIONS) * 2))
            writer.close()

        server = await asyncio.start_server(peer, "127.0.0.1", 0)
        address = server.sockets[0].getsockname()[:2]
        hub, driver = await _server(EchoEndpoint(), [])
        # Two messages before the connection is up: both queued, both delivered in order.
        driver.send(OPTIONS, address)
        driver.send(OPTIONS, address)
        assert await asyncio.wait_for(received.get(), 5) == OPTIONS * 2
        await driver.close()
        server.close()
        await server.wait_closed()
        hub.close()

    asyncio.run(scenario())


def test_failed_outbound_connect_counts_the_dropped_messages() -> None:
    async def scenario() -> None:
        hub, driver = await _server(EchoEndpoint(), [])
        # Grab a port nobody listens on.
        probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        address = probe.sockets[0].getsockname()[:2]
        probe.close()
        await probe.wait_closed()
        driver.send(OPTIONS, address)
        for _ in range(200):
            if driver.send_errors:
                break
            await asyncio.sleep(0.01)
        assert driver.send_errors == 1
        await driver.close()
        hub.close()

    asyncio.run(scenario())


def test_connections_beyond_the_limit_are_closed() -> None:
    async def scenario() -> None:
        hub = Hub(EchoEndpoint(), lambda event, now: None, asyncio.get_running_loop())
        driver = TcpDriver(hub, max_connections=1)
        await driver.listen("127.0.0.1", 0)
        first_reader, first_writer = await asyncio.open_connection(*driver.local_address)
        first_writer.write(OPTIONS)
        await _read_exactly(first_reader, len(OPTIONS) + 5)
        second_reader, second_writer = await asyncio.open_connection(*driver.local_address)
        assert await asyncio.wait_for(second_reader.read(), 5) == b""  # closed by the server
        assert driver.refused_connections == 1 and driver.connection_count == 1
        first_writer.close()
        second_writer.close()
        await driver.close()
        hub.close()

    asyncio.run(scenario())
