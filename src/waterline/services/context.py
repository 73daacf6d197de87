"""What handlers get besides the message and the unit of work: settings and the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from waterline.domain.dispatch import DispatchParams
from waterline.domain.hours import WorkCalendar
from waterline.domain.outbox import RetryPolicy
from waterline.services.ports import Clock, UnitOfWork


@dataclass(frozen=True)
class ServiceSettings:
    """Business settings the handlers follow (built from the app settings at bootstrap)."""

    auto_dispatch: bool = True
    dispatch: DispatchParams = field(default_factory=DispatchParams)
    order_prefix: str = "SX"
    sms_sign: str = "水线送水"
    hotline: str = "400-636-0888"
    retry: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass(frozen=True)
class Dependencies:
    """Passed to every handler as its third argument."""

    clock: Clock
    settings: ServiceSettings = field(default_factory=ServiceSettings)
    calendar: Callable[[UnitOfWork], WorkCalendar] | None = None
    """The working calendar (public holidays, 调休 workdays, the store's override rows, read through the
    handler's unit of work) that dispatch checks opening hours against; None: weekly hours only."""


CommandHandler = Callable[[Any, UnitOfWork, Dependencies], Any]
EventHandler = Callable[[Any, UnitOfWork, Dependencies], None]
