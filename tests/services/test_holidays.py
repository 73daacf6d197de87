from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from fakes import FakeStore
from waterline.domain.errors import InvalidInput
from waterline.services.holidays import replace_overrides

NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)


def test_replace_sorts_and_refuses_a_day_twice() -> None:
    store = FakeStore()
    entries = [(date(2027, 2, 20), True, "调休"), (date(2027, 2, 15), False, "")]
    saved = replace_overrides(store.uow(), entries, now=NOW)
    assert [o.day for o in saved] == [date(2027, 2, 15), date(2027, 2, 20)]
    assert store.data.holidays[date(2027, 2, 20)].is_workday is True
    with pytest.raises(InvalidInput):
        replace_overrides(store.uow(), [(date(2027, 1, 1), False, ""), (date(2027, 1, 1), True, "")], now=NOW)
    assert len(store.data.holidays) == 2  # the refused replacement changed nothing
