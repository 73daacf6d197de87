"""Domain errors: one base class with a stable code and a Chinese and an English message.

The web layer maps the subclasses to HTTP statuses (NotFound -> 404, InvalidInput -> 422,
IllegalTransition/Conflict -> 409, TicketOverdraw -> 409) and returns ``code``, ``message_zh``
and ``message_en``.
"""

from __future__ import annotations

from typing import Any, TypeVar

from waterline.domain.catalogue import message

T = TypeVar("T")


class WaterlineError(Exception):
    """Base of every business-rule error; ``code`` is stable and safe to match on."""

    def __init__(self, code: str, **params: Any) -> None:
        msg = message(code, **params)
        super().__init__(msg.en)
        self.code = code
        self.params = params
        self.message_zh = msg.zh
        self.message_en = msg.en


class NotFound(WaterlineError):
    """A referenced entity does not exist."""

    def __init__(self, what: str, key: object) -> None:
        super().__init__("not_found", what=what, key=key)


def found(value: T | None, what: str, key: object) -> T:
    """``value`` itself, or :class:`NotFound` when a lookup by ``key`` returned None."""
    if value is None:
        raise NotFound(what, key)
    return value


class InvalidInput(WaterlineError):
    """Input that can never be valid (bad phone, unknown district, negative quantity...)."""


class Conflict(WaterlineError):
    """Valid input that clashes with the current state (duplicate phone...)."""


class IllegalTransition(WaterlineError):
    """An order state change that the state table does not allow."""


class TicketOverdraw(WaterlineError):
    """Paying with more water tickets than the customer holds."""


class NoStationAvailable(WaterlineError):
    """Dispatch found no station for an address."""
