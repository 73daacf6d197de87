"""The RTP port pool: even ports, RTCP pair inside the range, exhaustion, reuse order."""

from __future__ import annotations

import pytest

from waterline.telephony.rtpport import PortPool


def test_ports_are_even_and_their_rtcp_port_stays_in_range() -> None:
    pool = PortPool(20001, 20010)
    ports = [pool.allocate() for _ in range(pool.capacity)]
    assert ports == [20002, 20004, 20006, 20008]
    assert all(port is not None and port + 1 <= 20010 for port in ports)


def test_exhaustion_returns_none_and_is_counted() -> None:
    pool = PortPool(30000, 30003)
    assert pool.capacity == 2
    assert pool.allocate() == 30000 and pool.allocate() == 30002
    assert pool.allocate() is None
    assert pool.exhausted == 1 and pool.in_use == 2 and len(pool) == 0


def test_released_port_is_reused_last() -> None:
    pool = PortPool(40000, 40005)
    first = pool.allocate()
    assert first is not None
    pool.release(first)
    assert [pool.allocate() for _ in range(3)] == [40002, 40004, 40000]


def test_release_is_idempotent_and_ignores_foreign_ports() -> None:
    pool = PortPool(40000, 40003)
    port = pool.allocate()
    assert port is not None
    pool.release(port)
    pool.release(port)
    pool.release(12345)
    assert len(pool) == 2 and pool.in_use == 0


@pytest.mark.parametrize(
    ("low", "high"), [(0, 100), (5000, 4000), (5000, 5000), (70000, 70010), (5001, 5002)]
)
def test_bad_ranges_are_refused(low: int, high: int) -> None:
    with pytest.raises(ValueError):
        PortPool(low, high)


def test_a_seeded_pool_starts_somewhere_in_the_range_and_still_hands_out_every_pair() -> None:
    import random

    pool = PortPool(20000, 20999, rng=random.Random(3))
    ports = [pool.allocate() for _ in range(pool.capacity)]
    assert ports[0] != 20000
    assert sorted(p for p in ports if p is not None) == list(range(20000, 20999, 2))
    assert pool.allocate() is None


def test_skip_moves_free_pairs_to_the_back() -> None:
    pool = PortPool(40000, 40009)
    pool.skip(2)
    assert [pool.allocate() for _ in range(5)] == [40004, 40006, 40008, 40000, 40002]
    pool.skip(3)  # nothing free: nothing to do
    assert pool.allocate() is None
