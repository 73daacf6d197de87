"""Calls placed from agents' phones: feature codes, and the toll-fraud guard on dialling out.

An INVITE that passed digest authentication comes from an agent's phone (the switch hands its user
name over). Two things are decided here:

- **feature codes** (``*21`` log in, ``*22`` log out, ``*23`` pause toggle;
  :data:`waterline.services.agents.FEATURE_CODES`): the call is answered, the change is stored through
  :func:`~waterline.services.agents.apply_feature_code` in a worker thread, the engine's ACD follows at
  once, a short spoken confirmation plays (``已签入`` ...) and we hang up;
- **outbound numbers**: an agent's phone may not dial an arbitrary outside number through us (the
  operator pays, and a stolen SIP password must not become free international calls). A number is
  refused with 403 unless the transfer policy's allow list names it; the refusal is journaled
  (``outbound_refused``). Allowed numbers are not dialled by this engine yet (404 like any unknown
  extension): agents call out from their own mobile.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

from waterline.domain.agents import AgentState
from waterline.domain.errors import WaterlineError
from waterline.services.agents import FEATURE_CODES, apply_feature_code
from waterline.services.ports import UnitOfWork
from waterline.telephony.callflow import Scheduler, Worker
from waterline.telephony.journal import Journal
from waterline.telephony.prompt import Player, Prompt
from waterline.telephony.services import Leg, PlayerFeed
from waterline.telephony.transfer import Refusal, TransferPolicy, normalise_number

__all__ = ["CODES", "AgentCalls", "confirmation"]

_log = logging.getLogger(__name__)

CODES = frozenset(code.code for code in FEATURE_CODES)
HANGUP_AFTER_SILENCE = 1.0
"""Seconds before our BYE when no confirmation could be spoken (no synthesiser)."""

_SAY = {
    AgentState.AVAILABLE: "已签入，当前状态空闲。",
    AgentState.LOGGED_OUT: "已签出。",
    AgentState.PAUSED: "已暂停接听。",
}
_FAILED = "操作无效。"


def confirmation(state: AgentState | None) -> str:
    """What the agent hears after a feature code: the new state, or that nothing changed."""
    return _SAY.get(state, _FAILED) if state is not None else _FAILED


class StateFollower(Protocol):
    """The engine's ACD, told about a change the agent made from the phone."""

    def request_state(self, agent: str, state: Literal["available", "paused", "logged_out"],
                      reason: str = "") -> None: ...


@dataclass(slots=True)
class _Pending:
    user: str
    code: str


class AgentCalls:
    """Feature codes and outbound refusals for authenticated agents' INVITEs; one per engine."""

    def __init__(self, *, policy: TransferPolicy, journal: Journal, scheduler: Scheduler, worker: Worker,
                 uow_factory: Callable[[], UnitOfWork] | None, speak: Callable[[str], Prompt | None],
                 hangup: Callable[[str], None], clock: Callable[[], float],
                 wallclock: Callable[[], float], acd: StateFollower | None = None) -> None:
        """``speak(text)`` synthesises (blocking, in the worker); ``hangup(leg)`` sends our BYE."""
        self.policy = policy
        self.journal = journal
        self.scheduler = scheduler
        self.worker = worker
        self.uow_factory = uow_factory
        self.speak = speak
        self.hangup = hangup
        self.clock = clock
        self.wallclock = wallclock
        self.acd = acd
        self._pending: dict[str, _Pending] = {}
        self.refused = 0

    def is_feature(self, user: str, number: str, *, leg: str) -> bool:
        """Whether agent ``user``'s INVITE to ``number`` is a feature code (answer it, then :meth:`start`)."""
        if number not in CODES:
            return False
        self._pending[leg] = _Pending(user, number)
        return True

    def refuses(self, user: str, number: str, *, leg: str, call_id: str) -> bool:
        """Whether agent ``user``'s INVITE to ``number`` (no DID, no service of ours) must be refused (403,
        journaled): an outside number the allow list does not name."""
        dialled = normalise_number(number)
        if dialled is None:
            return False  # an extension we do not have: the switch answers 404
        resolved = self.policy.resolve(dialled)
        if isinstance(resolved, Refusal) and resolved.reason == "not-allowed":
            self.refused += 1
            self.journal.write("outbound_refused", self.wallclock(), call=leg, call_id=call_id, user=user,
                               number=number, reason=resolved.reason)
            return True
        return False

    def wants(self, leg: str) -> bool:
        """Whether the answered leg is a feature-code call of ours."""
        return leg in self._pending

    def end(self, leg: str) -> None:
        """The leg ended (either side)."""
        self._pending.pop(leg, None)

    def start(self, leg: str, session: Leg) -> None:
        """The feature-code call is answered: apply the code off the loop, then confirm and hang up."""
        pending = self._pending.get(leg)
        if pending is None:
            return
        factory = self.uow_factory

        def work() -> tuple[AgentState | None, Prompt | None]:
            state: AgentState | None = None
            if factory is not None:
                try:
                    change = apply_feature_code(factory(), pending.user, pending.code, datetime.now(UTC))
                    state = change.to_state
                except WaterlineError as exc:
                    _log.info("feature code %s of %s refused: %s", pending.code, pending.user, exc)
            return state, self.speak(confirmation(state))

        def done(result: tuple[AgentState | None, Prompt | None] | None, error: BaseException | None) -> None:
            state, prompt = result if result is not None else (None, None)
            if error is not None:
                _log.error("feature code %s of %s failed", pending.code, pending.user, exc_info=error)
            self.journal.write("feature_code", self.wallclock(), call=leg, user=pending.user,
                               code=pending.code, state=None if state is None else state.value)
            if state is not None and self.acd is not None:
                reason = "feature-code" if state is AgentState.PAUSED else ""
                if state is AgentState.AVAILABLE:
                    self.acd.request_state(pending.user, "available", reason)
                elif state is AgentState.PAUSED:
                    self.acd.request_state(pending.user, "paused", reason)
                elif state is AgentState.LOGGED_OUT:
                    self.acd.request_state(pending.user, "logged_out", reason)
            if leg not in self._pending:
                return  # the agent hung up already
            if prompt is None:
                self.scheduler.call_later(HANGUP_AFTER_SILENCE, lambda: self._bye(leg))
                return
            def played(_feed: PlayerFeed) -> None:
                self.scheduler.call_soon(lambda: self._bye(leg))  # from inside the pacer tick

            session.play(PlayerFeed(Player([prompt], session.law, barge_in=""), self.clock, played))

        self.worker.submit(work, done)

    def _bye(self, leg: str) -> None:
        if self._pending.pop(leg, None) is not None:
            self.hangup(leg)
