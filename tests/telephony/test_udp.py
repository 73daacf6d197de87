"""The UDP driver with a real loopback socket and a fake sans-IO endpoint."""

from __future__ import annotations

import asyncio
import socket

from fake_endpoint import EchoEndpoint, Received

from waterline.telephony.hub import Hub
from waterline.telephony.udp import UdpDriver, make_udp_socket, open_udp


class Peer(asyncio.DatagramProtocol):
    """The remote side: collects what the server sends."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # type: ignore[override]
        self.inbox.put_nowait(data)


async def _setup(
    endpoint: EchoEndpoint, seen: list[object]
) -> tuple[Hub, UdpDriver, asyncio.DatagramTransport, Peer]:
    loop = asyncio.get_running_loop()
    hub = Hub(endpoint, lambda event, now: seen.append(event), loop)
    driver = await open_udp(hub, make_udp_socket("127.0.0.1", 0))
    transport, peer = await loop.create_datagram_endpoint(Peer, remote_addr=driver.local_address)
    return hub, driver, transport, peer


def test_datagram_is_fed_to_endpoint_and_answer_sent_back() -> None:
    async def scenario() -> None:
        endpoint = EchoEndpoint()
        seen: list[object] = []
        hub, driver, transport, peer = await _setup(endpoint, seen)
        transport.sendto(b"hello")
        assert await asyncio.wait_for(peer.inbox.get(), 5) == b"echo:hello"
        local = transport.get_extra_info("sockname")
        assert seen == [Received(b"hello", (local[0], local[1]), "udp")]
        transport.close()
        driver.close()
        hub.close()

    asyncio.run(scenario())


def test_endpoint_timer_fires_and_its_output_is_sent() -> None:
    async def scenario() -> None:
        endpoint = EchoEndpoint()
        hub, driver, transport, peer = await _setup(endpoint, [])
        transport.sendto(b"later")
        assert await asyncio.wait_for(peer.inbox.get(), 5) == b"echo:later"
        assert await asyncio.wait_for(peer.inbox.get(), 5) == b"tick"
        assert endpoint.timer_calls >= 1
        transport.close()
        driver.close()
        hub.close()

    asyncio.run(scenario())


def test_endpoint_exception_is_counted_and_service_continues() -> None:
    async def scenario() -> None:
        endpoint = EchoEndpoint()
        hub, driver, transport, peer = await _setup(endpoint, [])
        transport.sendto(b"boom")
        transport.sendto(b"after")
        assert await asyncio.wait_for(peer.inbox.get(), 5) == b"echo:after"
        assert hub.errors == 1
        transport.close()
        driver.close()
        hub.close()

    asyncio.run(scenario())


def test_output_for_unattached_transport_is_counted_not_raised() -> None:
    async def scenario() -> None:
        endpoint = EchoEndpoint()
        hub = Hub(endpoint, lambda event, now: None, asyncio.get_running_loop())
        hub.receive(b"x", ("127.0.0.1", 9), "tcp")
        assert hub.unroutable == 1 and hub.errors == 0

    asyncio.run(scenario())


def test_udp_socket_gets_a_raised_receive_buffer() -> None:
    sock = make_udp_socket("127.0.0.1", 0, rcvbuf=4 * 1024 * 1024)
    try:
        # The default is ~200 KB; both the forced (root) and the capped path give at least 1 MB here.
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) >= 1024 * 1024
    finally:
        sock.close()


def test_a_burst_is_read_in_one_wakeup_and_answered_in_order() -> None:
    async def scenario() -> None:
        endpoint = EchoEndpoint()
        seen: list[object] = []
        hub = Hub(endpoint, lambda event, now: seen.append(event), asyncio.get_running_loop())
        driver = await open_udp(hub, make_udp_socket("127.0.0.1", 0))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.bind(("127.0.0.1", 0))
            client.settimeout(5)
            # queued in the kernel before the loop runs again: one wake-up finds all of them
            for n in range(10):
                client.sendto(b"m%d" % n, driver.local_address)
            await asyncio.sleep(0.05)
            answers = [client.recv(100) for _ in range(10)]
        assert answers == [b"echo:m%d" % n for n in range(10)]
        assert driver.received == 10 and driver.batches == 1
        assert len(seen) == 10
        driver.close()
        hub.close()

    asyncio.run(scenario())


def test_send_after_close_is_counted_not_raised() -> None:
    async def scenario() -> None:
        hub = Hub(EchoEndpoint(), lambda event, now: None, asyncio.get_running_loop())
        driver = await open_udp(hub, make_udp_socket("127.0.0.1", 0))
        driver.close()
        driver.send(b"late", ("127.0.0.1", 9))
        assert driver.send_errors == 1
        hub.close()

    asyncio.run(scenario())
