"""A small message bus: each command goes to exactly one handler, each event to any number.

Handlers are plain functions ``(message, uow, deps)``. Every message gets a fresh unit of work from
the factory (the handler opens and commits it); events recorded by committed work are then handled in
turn, breadth-first, each in its own unit of work. An event handler's failure is logged and does not
undo the command that raised the event: the command's work is already committed.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from waterline.domain.commands import Command
from waterline.domain.events import Event
from waterline.services import handlers
from waterline.services.context import CommandHandler, Dependencies, EventHandler
from waterline.services.ports import UnitOfWork

log = logging.getLogger(__name__)

# a cascade of events longer than this is a bug (an event handler re-raising its own event)
MAX_EVENTS_PER_MESSAGE = 1000


class MessageBus:
    """Dispatches commands and the events they cause."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        deps: Dependencies,
        command_handlers: Mapping[type[Command], CommandHandler] | None = None,
        event_handlers: Mapping[type[Event], list[EventHandler]] | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.deps = deps
        self.command_handlers: dict[type[Command], CommandHandler] = dict(
            command_handlers if command_handlers is not None else handlers.COMMAND_HANDLERS
        )
        self.event_handlers: dict[type[Event], list[EventHandler]] = {
            kind: list(subscribers) for kind, subscribers in (event_handlers or {}).items()
        }

    def subscribe(self, event_type: type[Event], handler: EventHandler) -> None:
        """Add a handler for ``event_type`` (e.g. the web layer's live dispatch board)."""
        self.event_handlers.setdefault(event_type, []).append(handler)

    def handle(self, command: Command) -> Any:
        """Run the command's handler, then the handlers of the events it caused; return its result.

        Errors of the command handler (``WaterlineError`` and others) propagate to the caller.
        """
        handler = self.command_handlers.get(type(command))
        if handler is None:
            raise LookupError(f"no handler for {type(command).__name__}")
        uow = self.uow_factory()
        result = handler(command, uow, self.deps)
        self._publish(deque(uow.collect_new_events()))
        return result

    def _publish(self, queue: deque[Event]) -> None:
        handled = 0
        while queue and handled < MAX_EVENTS_PER_MESSAGE:
            event = queue.popleft()
            handled += 1
            for subscriber in self.event_handlers.get(type(event), []):
                uow = self.uow_factory()
                try:
                    subscriber(event, uow, self.deps)
                except Exception:
                    # the command already committed; one failing listener must not hide the others
                    log.exception("event handler %r failed for %r", subscriber, event)
                    continue
                queue.extend(uow.collect_new_events())
        if queue:
            log.error("event cascade stopped after %d events; %d dropped", handled, len(queue))
