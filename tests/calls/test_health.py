import pytest

from waterline.calls.health import StationHealth, is_failure


def test_a_station_is_degraded_after_threshold_consecutive_failures() -> None:
    health = StationHealth(threshold=3, restore_after=60.0)
    assert health.failure(7, 0.0) is False
    assert health.failure(7, 1.0) is False
    assert not health.degraded(7, 1.5)
    assert health.failure(7, 2.0) is True  # the third one degrades it, and says so once
    assert health.degraded(7, 2.0)
    assert health.failure(7, 3.0) is False
    assert health.degraded_stations(3.0) == [7]
    assert not health.degraded(8, 3.0)  # stations are counted apart


def test_a_success_in_between_resets_the_count() -> None:
    health = StationHealth(threshold=2)
    health.failure("a", 0.0)
    assert health.success("a", 1.0) is False  # was not degraded
    health.failure("a", 2.0)
    assert not health.degraded("a", 2.0)
    assert health.failure("a", 3.0) is True


def test_a_success_restores_a_degraded_station() -> None:
    health = StationHealth(threshold=1)
    health.failure(1, 0.0)
    assert health.degraded(1, 0.0)
    assert health.success(1, 5.0) is True
    assert not health.degraded(1, 5.0)
    assert health.degraded_stations(5.0) == []


def test_a_degraded_station_is_tried_again_after_the_timeout_and_one_failure_degrades_it_again() -> None:
    health = StationHealth(threshold=3, restore_after=60.0)
    for t in (0.0, 1.0, 2.0):
        health.failure(1, t)
    assert health.degraded(1, 61.9)
    assert not health.degraded(1, 62.0)  # restored by time
    assert health.failure(1, 63.0) is True  # still failing: degraded at once, no three more callers lost
    assert health.degraded(1, 63.0)


def test_human_refusals_and_successes_are_no_failures() -> None:
    assert not is_failure(486) and not is_failure(603) and not is_failure(600)
    assert not is_failure(200) and not is_failure(180)
    assert is_failure(503) and is_failure(408) and is_failure(404) and is_failure(0)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        StationHealth(threshold=0)
    with pytest.raises(ValueError):
        StationHealth(restore_after=0)
