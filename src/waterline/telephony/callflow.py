"""Run call flows on real calls: the telephony side of :mod:`waterline.calls`.

A :class:`FlowCall` owns one :class:`~waterline.calls.call.FlowRun` and carries out its actions on the
call's media session: ``Play`` becomes a prompt :class:`~waterline.telephony.prompt.Player` on the
session's feed (TTS phrases synthesised in a worker thread, cached by text), digits from RFC 4733 or
SIP INFO become ``DigitPressed``, ``Record`` records the caller (voicemail: beep, max length, silence
end, ``#``), ``Request`` is answered by the business side in a worker thread with its own units of
work, ``Hangup`` is our BYE. Every answered call is recorded (stereo, caller left) by default.

:class:`FlowHost` holds what all calls share (routes DID → flow, prompts, TTS, workers, the CDR
writer) and is the switch's hook: ``prepare`` before the answer (the flow may refuse the call),
``attach`` once the media session is up, ``digit``, ``end``.

Nothing here blocks the loop: prompt files are cached by the library, synthesis, business answers,
recording mixes and CDR writes run through :class:`Offload` workers and come back with
``call_soon``. Flow time (``now``) is Unix time, so a call's path carries wall-clock timestamps.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from waterline.calls import actions as act
from waterline.calls import events as fe
from waterline.calls.call import FlowRun
from waterline.calls.flow import Flow
from waterline.domain.errors import WaterlineError
from waterline.domain.flows import normalise_did
from waterline.rtp.g711 import Law
from waterline.rtp.packet import Payload
from waterline.rtp.stream import Arrival
from waterline.telephony.journal import JournalValue
from waterline.telephony.prompt import (
    Player,
    Prompt,
    PromptError,
    PromptLibrary,
    WavAudio,
    prompt_from_wav,
)
from waterline.telephony.recording import CallRecorder, RecordingIndex
from waterline.telephony.services import CallerTrack, Leg, PlayerFeed
from waterline.telephony.transfer import flow_numbers

__all__ = [
    "BEEP",
    "Business",
    "CallRecords",
    "CallSummary",
    "FlowCall",
    "FlowHost",
    "Route",
    "Scheduler",
    "Speaker",
    "Worker",
    "caller_number",
    "make_beep",
]

_log = logging.getLogger(__name__)

T = TypeVar("T")
FRAME_SECONDS = 0.020
SILENCE_LEVEL = 300
"""Mean absolute sample value (PCM16) below which a 20 ms frame of the caller counts as silence."""
END_DIGIT = "#"
PROMPT_RECHECK = 1.0
SILENCE_CHECK = 0.5
"""Seconds between two looks at a voicemail's silence when the caller sends nothing."""
MAX_VOICEMAIL_GAP = 30_000
"""Frames of silence written for one gap of a message at most (ten minutes, the longest message)."""
WRAP_UP_LIMIT = 30.0
"""Seconds a call's record waits, after the caller hung up, for the answer the flow was waiting for."""


def make_beep(seconds: float = 0.4, hz: float = 1000.0) -> Prompt:
    """The tone before a voicemail message: a sine of ``hz`` for ``seconds``, built in memory."""
    t = np.arange(round(seconds * 8000)) / 8000.0
    samples = (np.sin(2 * np.pi * hz * t) * 8000).astype("<i2")
    return prompt_from_wav("beep", WavAudio(1, 1, 8000, 16, samples.tobytes()))


BEEP = make_beep()


def caller_number(from_uri: str) -> str:
    """The user part of a From URI (``sip:029…@host`` → ``029…``): what the carrier puts there."""
    uri = from_uri.strip()
    if "<" in uri:
        uri = uri[uri.index("<") + 1:uri.rindex(">")] if ">" in uri else uri[uri.index("<") + 1:]
    for scheme in ("sips:", "sip:", "tel:"):
        if uri.lower().startswith(scheme):
            uri = uri[len(scheme):]
            break
    user = uri.split("@", 1)[0]
    return user.split(";", 1)[0]


# -- what the host needs from outside --------------------------------------------------------------------


class Handle(Protocol):
    """A scheduled callback that can be cancelled (``asyncio.TimerHandle``)."""

    def cancel(self) -> None: ...


class Scheduler(Protocol):
    """The event loop as a flow call sees it."""

    def call_soon(self, callback: Callable[[], object]) -> object: ...

    def call_later(self, delay: float, callback: Callable[[], object]) -> Handle: ...


class Worker(Protocol):
    """Runs blocking work off the loop: ``submit(work, done)``; ``done(result, error)`` comes back on
    the loop with exactly one of them set."""

    def submit(self, work: Callable[[], Any], done: Callable[[Any, BaseException | None], None]) -> None: ...


class Business(Protocol):
    """Answers a flow's business requests (blocking; called in a worker thread)."""

    def answer(self, kind: str, args: Mapping[str, object]) -> Mapping[str, object]: ...


class Speaker(Protocol):
    """Offline TTS (blocking): text → playable prompt (:class:`~waterline.telephony.tts.Synthesizer`)."""

    def prompt(self, text: str, name: str | None = None) -> Prompt: ...


@dataclass(frozen=True, slots=True)
class CallSummary:
    """What the CDR of one call says, at its start (``ended_at`` None) or its end."""

    call_id: str
    caller: str
    did: str
    flow_name: str
    flow_version: int | None
    started_at: float  # Unix time
    answered_at: float | None = None
    ended_at: float | None = None
    outcome: str | None = None
    hangup_side: str | None = None
    hangup_cause: str | None = None
    path: tuple[Mapping[str, object], ...] = ()
    digits: str = ""
    variables: Mapping[str, object] = field(default_factory=dict)
    recording: str | None = None  # path of the call's stereo WAV, relative to the data dir
    order_id: int | None = None
    voicemail_ids: tuple[int, ...] = ()
    talk_seconds: float = 0.0  # bridged to an agent or an outside number
    queue: str | None = None  # the ACD queue the caller entered
    agent: str | None = None  # the agent who answered
    wait_seconds: float = 0.0  # queued until an agent answered (or the caller left the queue)


class Transferer(Protocol):
    """Sets up a flow's transfer: an outgoing leg bridged to the caller (see ``telephony.bridge``)."""

    def start(self, caller_leg: str, target: str, *, caller_number: str, did: str,
              flow_allowed: frozenset[str], recorder: CallRecorder | None,
              done: Callable[[bool, float], None]) -> bool: ...

    def stop(self, caller_leg: str) -> None: ...


class Queues(Protocol):
    """The engine's ACD as a flow call sees it (:class:`~waterline.telephony.distributor.Distributor`)."""

    def knows(self, queue: str) -> bool: ...

    def enter(self, call: Any, queue: str) -> bool: ...

    def digit(self, call_id: str, digit: str) -> None: ...

    def caller_gone(self, call_id: str) -> None: ...


class CallRecords(Protocol):
    """Where CDRs go (blocking; called in a worker thread)."""

    def opened(self, summary: CallSummary) -> None: ...

    def closed(self, summary: CallSummary, recording_id: int | None = None) -> None: ...


@dataclass(frozen=True, slots=True)
class Route:
    """A DID's flow as loaded when the call arrives: the call keeps it to its end."""

    flow: Flow
    version: int | None = None
    name: str | None = None  # the stored flow's name (the YAML's own name when None)
    cdr: bool = True  # write a call record; the benchmark extensions are diagnostics and write none

    @property
    def flow_name(self) -> str:
        """The name the CDR gives."""
        return self.name or self.flow.name


# -- one call --------------------------------------------------------------------------------------------


class _Voicemail:
    """Records the caller's audio into its own recorder until max length, silence or ``#``.

    Silence is measured in time, not in frames received: a phone with voice activity detection
    sends nothing while the caller is quiet, and the message must end all the same. The message's
    time line is kept the same way (what never arrived is written as silence).
    """

    def __init__(self, token: int, recorder: CallRecorder, law: Law, silence_seconds: float,
                 clock: Callable[[], float], on_end: Callable[[_Voicemail], None]) -> None:
        self.token = token
        self.recorder = recorder
        self.law = law
        self.silence_seconds = silence_seconds
        self.clock = clock
        self.started = clock()
        self.last_voice = self.started
        self.done = False
        self.limit: Handle | None = None
        self.check: Handle | None = None
        self._on_end = on_end

    def _pad(self) -> None:
        due = round((self.clock() - self.started) / FRAME_SECONDS)
        for _ in range(min(due - self.recorder.a_samples // 160, MAX_VOICEMAIL_GAP)):
            self.recorder.write_a(None)

    def __call__(self, payload: Payload, arrival: Arrival) -> None:
        if self.done:
            return
        self._pad()
        self.recorder.write_a(bytes(payload))
        level = float(np.abs(self.law.decode(payload).astype(np.int32)).mean()) if len(payload) else 0.0
        if level >= SILENCE_LEVEL:
            self.last_voice = self.clock()
        elif self.clock() - self.last_voice >= self.silence_seconds:
            self.stop()

    def silent_for(self) -> float:
        """Seconds since the caller last spoke (or since the beep)."""
        return self.clock() - self.last_voice

    def stop(self) -> None:
        if not self.done:
            self.done = True
            self._pad()
            for handle in (self.limit, self.check):
                if handle is not None:
                    handle.cancel()
            self._on_end(self)

    @property
    def seconds(self) -> float:
        return self.recorder.a_samples / 8000


class FlowCall:
    """One call's flow on its media session (created by :class:`FlowHost`)."""

    def __init__(self, host: FlowHost, leg: str, call_id: str, run: FlowRun, route: Route,
                 caller: str, did: str) -> None:
        self.host = host
        self.leg = leg
        self.call_id = call_id
        self.run = run
        self.route = route
        self.caller = caller
        self.did = did
        self.session: Leg | None = None
        self.started_at = host.wallclock()
        self.answered_at: float | None = None
        self.pending: list[act.Action] = []
        self.hung_up = False
        self.ended = False
        self.ended_at: float | None = None
        self._closed = False
        self._timer: Handle | None = None
        self._timer_at: float | None = None
        self._play_token: int | None = None
        self._player: Player | None = None
        self._feed: PlayerFeed | None = None
        self._after_beep: Callable[[], None] | None = None
        self._voicemail: _Voicemail | None = None
        self._recorder: CallRecorder | None = None
        self._answered_clock = 0.0
        self.recording: str | None = None
        self.voicemail_ids: list[int] = []
        self.plays = 0
        self.last_prompt_s: float | None = None
        self.transferring = False
        self.talk_seconds = 0.0
        self.queued = False
        self.queue_agent: str | None = None
        self.queue_name: str | None = None
        self.wait_seconds = 0.0
        self._queued_at: float | None = None  # waiting in the ACD since
        self._connected_at: float | None = None  # talking to an agent since
        self._queue_token: int | None = None
        self._hold: str | None = None

    # -- input -------------------------------------------------------------------------------------------

    @property
    def recorder(self) -> CallRecorder | None:
        """The call's recording (None when its flow records nothing or it is not answered yet)."""
        return self._recorder

    def start(self) -> list[act.Action]:
        """Start the flow; returns its first actions, kept until the call is answered."""
        return self.run.start(self.host.wallclock())

    def attach(self, session: Leg, pending: list[act.Action]) -> None:
        """The call is answered and its media configured: record it, then carry out ``pending``."""
        self.session = session
        self.answered_at = self.host.wallclock()
        self._answered_clock = self.host.clock()
        if self.host.record_calls and self.route.flow.record:
            started = dt.datetime.fromtimestamp(self.answered_at, self.host.timezone)
            recorder = CallRecorder(self.host.data_dir, self.call_id, started, session.law, session.law)
            session.consumers.append(CallerTrack(recorder, self.host.clock))
            session.outbound_tap = recorder.write_b
            self._recorder = recorder
        self._execute(pending)

    def digit(self, digit: str) -> None:
        """A digit from the caller (RFC 4733 or INFO)."""
        voicemail = self._voicemail
        if voicemail is not None and digit == END_DIGIT:
            voicemail.stop()
            return
        queues = self.host.queues
        if self.queued and queues is not None:
            queues.digit(self.call_id, digit)
            return
        self._feed_event(fe.DigitPressed(digit))

    def end(self) -> dict[str, JournalValue]:
        """The call is over (either side): tell the flow if the caller left, finish recordings, write
        the CDR; returns fields for the engine journal."""
        if self.ended:
            return {}
        self.ended = True
        self.ended_at = self.host.wallclock()
        self.hung_up = True  # the leg is gone: nothing to send a BYE to
        if self.transferring and self.host.transfers is not None:
            self.transferring = False
            self.host.transfers.stop(self.leg)  # the caller left: the other leg goes too
        if self.queued and self.host.queues is not None:
            self.queued = False
            self._hold = None
            self.host.queues.caller_gone(self.call_id)  # an abandon, or the agent's leg goes too
        if not self.run.finished:
            self._execute(self.run.handle(fe.CallerHungUp(), self.ended_at))
        self._cancel_timer()
        self._after_beep = None
        self._stop_playback()
        if self._player is not None:
            self._player.stop()
        if self._voicemail is not None:
            self._voicemail.stop()
        recorder = self._recorder
        if recorder is not None:
            self._pad_recording()
            recorder.align()
            self.recording = self.host.recording_path(recorder)
        if self.run.wrapping_up:
            # the caller left while a request or a voicemail was in flight: its answer still counts
            # (an order placed, a message that becomes a call-back task); close the record after it,
            # or after WRAP_UP_LIMIT seconds whatever happens
            self.host.scheduler.call_later(WRAP_UP_LIMIT, self._close)
        self._maybe_close()
        fields: dict[str, JournalValue] = {
            "service": self.did, "flow": self.route.flow_name, "outcome": _text(self.run.outcome),
            "prompt_s": None if self.last_prompt_s is None else round(self.last_prompt_s, 3),
            "digits": "".join(self.run.digits), "path": ",".join(step.node for step in self.run.path),
        }
        if self.recording is not None:
            fields["recording"] = self.recording
        return fields

    def _maybe_close(self) -> None:
        if self.ended and not self.run.wrapping_up:
            self._close()

    def _close(self) -> None:
        """Finish the call's recording and close its record (once)."""
        if self._closed:
            return
        self._closed = True
        self.host.finish_call(self._recorder, self.summary(), cdr=self.route.cdr)

    def summary(self) -> CallSummary:
        """The CDR as it stands."""
        run = self.run
        # a caller who hangs up while waiting or talking to an agent: the time up to now counts
        end = self.ended_at if self.ended_at is not None else self.host.wallclock()
        wait = self.wait_seconds + (end - self._queued_at if self._queued_at is not None else 0.0)
        talk = self.talk_seconds + (end - self._connected_at if self._connected_at is not None else 0.0)
        return CallSummary(
            call_id=self.call_id, caller=self.caller, did=self.did, flow_name=self.route.flow_name,
            flow_version=self.route.version, started_at=self.started_at, answered_at=self.answered_at,
            ended_at=self.ended_at, outcome=_text(run.outcome),
            hangup_side=_text(run.hangup_side) if run.finished else None,
            hangup_cause=_text(run.hangup_cause) if run.finished else None,
            path=tuple(_step(step) for step in run.path), digits="".join(run.digits),
            variables=dict(run.variables), recording=self.recording, order_id=run.order_id,
            voicemail_ids=tuple(self.voicemail_ids), talk_seconds=round(max(talk, 0.0), 3),
            queue=self.queue_name, agent=self.queue_agent, wait_seconds=round(max(wait, 0.0), 3),
        )

    # -- flow plumbing -------------------------------------------------------------------------------------

    def _feed_event(self, event: fe.Event) -> None:
        if self.run.finished and not self.run.wrapping_up:
            return
        self._execute(self.run.handle(event, self.host.wallclock()))
        self._maybe_close()

    def _later(self, event: fe.Event) -> None:
        """Feed ``event`` on the next loop pass (never from inside a pacer tick or another action)."""
        self.host.scheduler.call_soon(lambda: self._feed_event(event))

    def _execute(self, actions: list[act.Action]) -> None:
        for action in actions:
            if isinstance(action, act.Play):
                self._play(action)
            elif isinstance(action, act.StopPlayback):
                self._stop_playback()
            elif isinstance(action, act.Request):
                self._request(action)
            elif isinstance(action, act.Record):
                self._record(action)
            elif isinstance(action, act.Hangup):
                self._hangup()
            elif isinstance(action, act.Transfer):
                self._transfer(action)
            # Answer: the switch answered already (FlowHost.prepare saw it first)
        if self.run.finished and not self.hung_up:
            self._hangup()
        self._arm_timer()

    def _arm_timer(self) -> None:
        deadline = None if self.ended else self.run.get_timer()
        if deadline == self._timer_at:
            return
        self._cancel_timer()
        if deadline is None:
            return
        self._timer_at = deadline
        delay = max(0.0, deadline - self.host.wallclock())
        self._timer = self.host.scheduler.call_later(delay, self._on_timer)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._timer_at = None

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        if self.run.finished:
            return
        self._execute(self.run.handle_timer(self.host.wallclock()))

    # -- actions -------------------------------------------------------------------------------------------

    def _play(self, action: act.Play) -> None:
        self._stop_playback()
        self._play_token = action.token
        ready: list[Prompt | None] = []
        missing: list[str] = []
        for item in action.items:
            if isinstance(item, act.Prompt):
                try:
                    ready.append(self.host.prompt(item.name))
                except (PromptError, OSError):
                    _log.exception("call %s: prompt %r unavailable", self.call_id, item.name)
                    ready.append(None)
            else:
                cached = self.host.speech.get(item.text)
                ready.append(cached)
                if cached is None:
                    missing.append(item.text)
        if not missing:
            self._start_player(action.token, [p for p in ready if p is not None])
            return

        def synthesise() -> list[Prompt | None]:
            out: list[Prompt | None] = []
            for item, known in zip(action.items, ready, strict=True):
                if known is not None or isinstance(item, act.Prompt):
                    out.append(known)
                else:
                    out.append(self.host.speak(item.text))
            return out

        def synthesised(result: list[Prompt | None] | None, error: BaseException | None) -> None:
            if error is not None:
                _log.error("call %s: TTS failed", self.call_id, exc_info=error)
                result = ready
            if self._play_token != action.token or self.ended:
                return  # the flow moved on (barge-in, hang-up) while we were synthesising
            self._start_player(action.token, [p for p in (result or []) if p is not None])

        self.host.worker.submit(synthesise, synthesised)

    def _start_player(self, token: int, prompts: list[Prompt]) -> None:
        session = self.session
        if session is None or not prompts:
            self._later(fe.PlaybackFinished(token))
            return

        # barge-in is the flow's decision (it sends StopPlayback), so the player itself never stops on a digit
        player = Player(list(prompts), session.law, barge_in="")
        feed = PlayerFeed(player, self.host.clock, self._prompt_done, token)
        self._pad_recording()
        self._player = player
        self._feed = feed
        self.plays += 1
        session.play(feed)

    def _prompt_done(self, feed: PlayerFeed) -> None:
        # called from inside the pacer tick that found the end: the flow runs on the next loop pass
        if self._feed is feed:
            self._player = None
            self._feed = None
        self.host.scheduler.call_soon(lambda: self._played(feed))

    def _pad_recording(self) -> None:
        """Silence on our channel of the recording for the time nothing played (a pause between
        prompts, a TTS phrase being synthesised, a wait for a digit): the session's tap only sees
        frames that are sent, and the recording must keep the call's time line."""
        recorder = self._recorder
        if recorder is None:
            return
        due = round((self.host.clock() - self._answered_clock) / FRAME_SECONDS)
        for _ in range(max(0, due - recorder.b_samples // 160)):
            recorder.write_b(None)

    def _played(self, feed: PlayerFeed) -> None:
        if feed.token is None:  # the beep before a voicemail
            after, self._after_beep = self._after_beep, None
            if after is not None:
                after()
            return
        if feed.length is not None:
            self.last_prompt_s = feed.length  # as sent: the benchmark checks it is not stretched
        self._feed_event(fe.PlaybackFinished(feed.token))

    def _stop_playback(self) -> None:
        player = self._player
        self._play_token = None
        if self._feed is not None:
            self._feed.owner = None  # a stopped prompt reports nothing (the flow moved on already)
            self._feed = None
        if player is not None:
            self._player = None
            player.stop()
            if self.session is not None:
                self.session.play(None)

    def _request(self, action: act.Request) -> None:
        business = self.host.business
        args = dict(action.args)
        # every answer may need to know the call and who is calling (tickets and tasks are linked to both)
        args.setdefault("call_id", self.call_id)
        args.setdefault("caller", self.caller)

        def done(result: Mapping[str, object] | None, error: BaseException | None) -> None:
            if error is not None or result is None:
                reason = f"{type(error).__name__}: {error}" if error is not None else "no answer"
                _log.warning("call %s: request %s failed: %s", self.call_id, action.kind, reason)
                self._feed_event(fe.RequestFailed(action.token, reason))
            else:
                self._feed_event(fe.RequestAnswered(action.token, result))

        self.host.worker.submit(lambda: business.answer(action.kind, args), done)

    def _record(self, action: act.Record) -> None:
        session = self.session
        if session is None:
            self._later(fe.RecordingFinished(action.token, None, 0.0))
            return
        self._stop_playback()
        started = dt.datetime.fromtimestamp(self.host.wallclock(), self.host.timezone)
        n = len(self.voicemail_ids) + 1
        recorder = CallRecorder(self.host.data_dir, f"{self.call_id}-voicemail-{n}", started,
                                session.law, session.law)
        voicemail = _Voicemail(action.token, recorder, session.law, action.silence_seconds, self.host.clock,
                               self._voicemail_ended)
        scheduler = self.host.scheduler

        def check() -> None:
            # a caller who sends no packets while quiet is never seen by the consumer: look on a timer
            if voicemail.done:
                return
            if voicemail.silent_for() >= voicemail.silence_seconds:
                voicemail.stop()
            else:
                voicemail.check = scheduler.call_later(SILENCE_CHECK, check)

        def begin() -> None:
            if self.ended or voicemail.done:
                return
            self._voicemail = voicemail
            voicemail.started = voicemail.last_voice = self.host.clock()  # after the beep
            session.consumers.append(voicemail)
            voicemail.limit = scheduler.call_later(action.max_seconds, voicemail.stop)
            voicemail.check = scheduler.call_later(SILENCE_CHECK, check)

        if action.beep:
            player = Player([BEEP], session.law, barge_in="")
            feed = PlayerFeed(player, self.host.clock, self._prompt_done, None)
            self._after_beep = begin
            self._player = player
            self._feed = feed
            self._pad_recording()
            session.play(feed)
        else:
            begin()

    def _voicemail_ended(self, voicemail: _Voicemail) -> None:
        if self._voicemail is voicemail:
            self._voicemail = None
        if self.session is not None:
            try:
                self.session.consumers.remove(voicemail)
            except ValueError:
                pass
        recorder = voicemail.recorder
        recorder.align()
        seconds = voicemail.seconds
        host = self.host

        def store() -> int | None:
            index = recorder.finish()
            recording_id = host.store_recording(index)
            host.scheduler.call_soon(lambda: host.note_recording(index))
            return recording_id

        def stored(recording_id: int | None, error: BaseException | None) -> None:
            if error is not None:
                _log.error("call %s: voicemail not stored", self.call_id, exc_info=error)
                recording_id = None
            if recording_id is not None:
                self.voicemail_ids.append(recording_id)
            self._feed_event(fe.RecordingFinished(voicemail.token, recording_id, round(seconds, 2)))

        host.worker.submit(store, stored)

    def _transfer(self, action: act.Transfer) -> None:
        queues = self.host.queues
        if (action.queue is not None and queues is not None and self.session is not None and not self.ended
                and queues.knows(action.queue)):
            self._stop_playback()
            self._pad_recording()
            self._queue_token = action.token
            self.queued = True
            self.queue_name, self._queued_at = action.queue, self.host.wallclock()
            if queues.enter(self, action.queue):
                return
            self.queued = False
            self.queue_name, self._queued_at = None, None
        transfers = self.host.transfers
        if transfers is None or self.session is None or self.ended:
            # no outgoing legs in this engine (unit tests, SIP off): the flow takes its failure branch
            # rather than leave the caller in silence
            _log.warning("call %s: transfer to %s not available", self.call_id, action.target)
            self._later(fe.TransferEnded(action.token, False))
            return
        self._stop_playback()
        self._pad_recording()  # the bridge's tap continues the recording from here
        token = action.token

        def done(ok: bool, talk: float) -> None:
            self.transferring = False
            self.talk_seconds += talk
            # from inside the endpoint's event handling: the flow goes on on the next loop pass
            self._later(fe.TransferEnded(token, ok))

        started = transfers.start(self.leg, action.target, caller_number=self.caller, did=self.did,
                                  flow_allowed=self.host.flow_numbers(self.route), recorder=self._recorder,
                                  done=done)
        if started:
            self.transferring = True
        else:
            self._later(fe.TransferEnded(token, False))

    # -- the ACD's side of the caller (see telephony.distributor.QueuedCall) ---------------------------------

    def queue_hold(self, prompt: str) -> None:
        """Music on hold: ``prompt`` in a loop until the bridge or the end of the wait."""
        self._hold = prompt
        self._queue_play_prompt(prompt, _HOLD)

    def queue_prompt(self, prompt: str) -> None:
        """A comfort prompt, then back to the music."""
        self._queue_play_prompt(prompt, _THEN_HOLD)

    def queue_say(self, text: str, *, then_hangup: bool = False) -> None:
        """Speak ``text`` (synthesised in the worker when not cached), then the music or our BYE."""
        kind = _THEN_HANGUP if then_hangup else _THEN_HOLD
        cached = self.host.speech.get(text)
        if cached is not None:
            self._queue_play([cached], kind)
            return

        def synthesised(prompt: Prompt | None, error: BaseException | None) -> None:
            if error is not None:
                _log.error("call %s: TTS failed", self.call_id, exc_info=error)
            if not self.queued or self.ended:
                return
            if prompt is None:
                self._queue_after(kind)
            else:
                self._queue_play([prompt], kind)

        self.host.worker.submit(lambda: self.host.speak(text), synthesised)

    def queue_connected(self, agent: str) -> CallRecorder | None:
        """An agent answered: the relay speaks to the caller from now on."""
        self._hold = None
        self.queue_agent = agent
        now = self.host.wallclock()
        self._stop_waiting(now)
        if self._connected_at is None:  # not again when the agent takes the caller off hold
            self._connected_at = now
        self._stop_playback()
        self._pad_recording()  # the bridge's tap continues the recording from here
        return self._recorder

    def queue_left(self, number: str | None, detail: str) -> None:
        """The ACD let the caller go: forward to ``number`` (a mobile of the overflow chain, the station's
        on-duty phone), or the queue node's failure branch (voicemail)."""
        self.queued = False
        self._stop_waiting(self.host.wallclock())
        self._hold = None
        self._stop_playback()
        token = self._queue_token
        if token is None:
            return
        transfers = self.host.transfers
        if number is None or transfers is None or self.session is None or self.ended:
            self._later(fe.TransferEnded(token, False, detail))
            return
        self._pad_recording()

        def done(ok: bool, talk: float) -> None:
            self.transferring = False
            self.talk_seconds += talk
            self._later(fe.TransferEnded(token, ok, detail))

        allowed = self.host.flow_numbers(self.route) | {number}
        started = transfers.start(self.leg, number, caller_number=self.caller, did=self.did,
                                  flow_allowed=allowed, recorder=self._recorder, done=done)
        if started:
            self.transferring = True
        else:
            self._later(fe.TransferEnded(token, False, f"{detail} (forward failed)"))

    def queue_agent_ended(self, talk: float, detail: str) -> None:
        """The agent hung up: the flow goes on (a survey) or ends."""
        self.queued = False
        self._connected_at = None
        self.talk_seconds += talk
        if self._queue_token is not None:
            self._later(fe.TransferEnded(self._queue_token, True, detail))

    def _stop_waiting(self, now: float) -> None:
        if self._queued_at is not None:
            self.wait_seconds += max(now - self._queued_at, 0.0)
            self._queued_at = None

    def queue_context(self) -> tuple[tuple[str, ...], str]:
        """The IVR path (node ids) and digits so far, for the agent's screen."""
        return tuple(step.node for step in self.run.path), "".join(self.run.digits)

    def _queue_play_prompt(self, name: str, kind: int) -> None:
        try:
            prompt = self.host.prompt(name)
        except (PromptError, OSError):
            _log.exception("call %s: queue prompt %r unavailable", self.call_id, name)
            if kind != _HOLD:  # music that cannot play leaves silence; anything else moves on
                self._queue_after(kind)
            return
        self._queue_play([prompt], kind)

    def _queue_play(self, prompts: list[Prompt], kind: int) -> None:
        session = self.session
        if session is None or not self.queued or self.ended:
            return
        self._stop_playback()
        player = Player(list(prompts), session.law, barge_in="")
        feed = PlayerFeed(player, self.host.clock, self._queue_prompt_done, kind)
        self._pad_recording()
        self._player = player
        self._feed = feed
        session.play(feed)

    def _queue_prompt_done(self, feed: PlayerFeed) -> None:
        # from inside the pacer tick: continue on the next loop pass
        if self._feed is feed:
            self._player = None
            self._feed = None
            kind = feed.token if feed.token is not None else _THEN_HOLD
            self.host.scheduler.call_soon(lambda: self._queue_after(kind))

    def _queue_after(self, kind: int) -> None:
        if not self.queued or self.ended or self._feed is not None:
            return
        if kind == _THEN_HANGUP:
            self._hangup()
        elif self._hold is not None:
            self._queue_play_prompt(self._hold, _HOLD)

    def _hangup(self) -> None:
        if self.hung_up:
            return
        self.hung_up = True
        self._stop_playback()
        if not self.ended:
            self.host.scheduler.call_soon(lambda: self.host.hangup(self.leg))


_HOLD, _THEN_HOLD, _THEN_HANGUP = -1, -2, -3
"""Kinds of the ACD's playbacks on a waiting caller (a feed's token; the flow's own tokens are >= 1)."""


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _step(step: Any) -> Mapping[str, object]:
    return {"node": step.node, "kind": str(step.kind), "at": step.at, "digits": step.digits,
            "detail": step.detail}


# -- every call ------------------------------------------------------------------------------------------


class FlowHost:
    """What the switch calls for DIDs that have a flow; one per engine."""

    def __init__(self, *, routes: Mapping[str, Route], prompts: PromptLibrary, speaker: Speaker | None,
                 business: Business, records: CallRecords | None, scheduler: Scheduler, worker: Worker,
                 hangup: Callable[[str], None], data_dir: Path, clock: Callable[[], float],
                 wallclock: Callable[[], float], rng: random.Random,
                 store_recording: Callable[[RecordingIndex], int | None],
                 on_recording: Callable[[RecordingIndex], None] | None = None,
                 timezone: dt.tzinfo = dt.UTC, record_calls: bool = True) -> None:
        """``routes``: DID (request-URI user) → flow; replace with :meth:`set_routes` when the store
        changes. ``hangup(leg)`` sends our BYE; ``store_recording(index)`` stores a finished recording
        (call or voicemail) and returns its id (blocking, runs in the worker); ``on_recording(index)``
        then notes it on the loop (the ``recordings/index.jsonl`` line and the journal)."""
        self._routes = dict(routes)
        self.prompts = prompts
        self.speaker = speaker
        self.business = business
        self.records = records
        self.scheduler = scheduler
        self.worker = worker
        self.hangup = hangup
        self.data_dir = data_dir
        self.clock = clock
        self.wallclock = wallclock
        self.rng = rng
        self.store_recording = store_recording
        self._on_recording = on_recording
        self.timezone = timezone
        self.record_calls = record_calls
        self.speech: dict[str, Prompt] = {}
        self._prompts: dict[str, tuple[float, Prompt]] = {}
        self._calls: dict[str, FlowCall] = {}
        self._pending: dict[str, list[act.Action]] = {}
        self.started = 0
        self.refused = 0
        self.transfers: Transferer | None = None
        """Outgoing legs for the flows' transfers (set by the engine once its switch is up)."""
        self.queues: Queues | None = None
        """The ACD for the flows' queue nodes (set by the engine; without it a queue node forwards to
        its fallback)."""
        self._flow_numbers: dict[int, tuple[Flow, frozenset[str]]] = {}

    @property
    def routes(self) -> Mapping[str, Route]:
        """DID → flow as of now."""
        return self._routes

    def set_routes(self, routes: Mapping[str, Route]) -> None:
        """New DID mapping (a flow was edited): new calls take it, calls already up keep theirs."""
        self._routes = dict(routes)

    def route_of(self, number: str) -> Route | None:
        """The route of a request-URI user: as it is (``bench-ivr``), else as a DID in digits (carriers
        send ``4006360888``, ``+864006360888`` or ``400-636-0888``)."""
        route = self._routes.get(number)
        if route is None and number[:1] in "+0123456789":
            try:
                route = self._routes.get(normalise_did(number))
            except WaterlineError:
                return None
        return route

    def accepts(self, number: str) -> bool:
        """Whether ``number`` (request-URI user) is a DID with a flow."""
        return bool(number) and self.route_of(number) is not None

    def prepare(self, leg: str, call_id: str, number: str, from_uri: str) -> str | None:
        """Start the DID's flow for a new call before it is answered. Returns None when the flow wants
        the call answered, else the cause of its refusal (the switch rejects the INVITE)."""
        route = self.route_of(number)
        if route is None:
            return "not-routed"
        try:
            number = normalise_did(number)  # the CDR names the DID as the routes do
        except WaterlineError:
            pass  # a named test extension (bench-ivr)
        caller = caller_number(from_uri)
        run = FlowRun(route.flow, caller=caller, did=number, call_id=call_id, now=self.wallclock(),
                      rng=random.Random(self.rng.getrandbits(64)))
        call = FlowCall(self, leg, call_id, run, route, caller, number)
        actions = call.start()
        self.started += 1
        if not actions or not isinstance(actions[0], act.Answer):
            cause = next((a.cause for a in actions if isinstance(a, act.Hangup)), "not-answered")
            self.refused += 1
            call.ended = True
            if route.cdr:
                self.write_cdr(call.summary())
            return cause
        self._calls[leg] = call
        self._pending[leg] = actions[1:]
        if route.cdr:
            self.write_cdr(call.summary(), opened=True)
        return None

    def attach(self, leg: str, session: Leg) -> None:
        """The prepared call is answered on ``session``: run the flow's next actions."""
        call = self._calls.get(leg)
        if call is not None:
            call.attach(session, self._pending.pop(leg, []))

    def digit(self, leg: str, digit: str) -> None:
        """A digit on leg ``leg``."""
        call = self._calls.get(leg)
        if call is not None:
            call.digit(digit)

    def end(self, leg: str) -> dict[str, JournalValue]:
        """Leg ``leg`` ended; returns fields for the journal (empty for legs without a flow)."""
        self._pending.pop(leg, None)
        call = self._calls.pop(leg, None)
        return call.end() if call is not None else {}

    def get(self, leg: str) -> FlowCall | None:
        """The running flow call of ``leg``."""
        return self._calls.get(leg)

    def find(self, call_id: str) -> FlowCall | None:
        """The running flow call whose Call-ID is ``call_id`` (the console's call id); a scan (commands)."""
        return next((call for call in self._calls.values() if call.call_id == call_id), None)

    @property
    def running(self) -> int:
        """Calls in a flow now."""
        return len(self._calls)

    # -- shared services for the calls ---------------------------------------------------------------------

    def flow_numbers(self, route: Route) -> frozenset[str]:
        """The numbers ``route``'s flow names itself (the transfer allow list's part from the flow)."""
        cached = self._flow_numbers.get(id(route.flow))
        if cached is None or cached[0] is not route.flow:
            cached = (route.flow, flow_numbers(route.flow))
            self._flow_numbers[id(route.flow)] = cached
        return cached[1]

    def prompt(self, name: str) -> Prompt:
        """Prompt ``name`` of the library, its file looked at once a second at most (a ``stat`` per play
        costs tens of microseconds per call at benchmark rates; an upload still arrives within a second)."""
        now = self.clock()
        cached = self._prompts.get(name)
        if cached is not None and now - cached[0] < PROMPT_RECHECK:
            return cached[1]
        prompt = self.prompts.get(name)
        self._prompts[name] = (now, prompt)
        return prompt

    def speak(self, text: str) -> Prompt | None:
        """Synthesise ``text`` (blocking, worker thread); None without a synthesiser."""
        if self.speaker is None:
            return None
        prompt = self.speaker.prompt(text, "tts")
        self.speech[text] = prompt  # a dict store is atomic: the loop reads it without a lock
        return prompt

    def recording_path(self, recorder: CallRecorder) -> str:
        """Where the call's WAV will be, relative to the data dir."""
        try:
            return recorder.wav_path.relative_to(self.data_dir).as_posix()
        except ValueError:
            return str(recorder.wav_path)

    def note_recording(self, index: RecordingIndex) -> None:
        """A recording is finished and stored (on the loop)."""
        if self._on_recording is not None:
            self._on_recording(index)

    def finish_call(self, recorder: CallRecorder | None, summary: CallSummary, *, cdr: bool = True) -> None:
        """Mix the call's recording, store it, then close the CDR with its id (in the worker)."""
        records = self.records if cdr else None
        if recorder is None and records is None:
            return

        def work() -> RecordingIndex | None:
            index = None
            recording_id = None
            if recorder is not None:
                index = recorder.finish()
                try:
                    recording_id = self.store_recording(index)
                except Exception:
                    # the WAV exists and recordings/index.jsonl will list it: the CDR must still be written
                    _log.exception("call %s: recording not stored", summary.call_id)
            if records is not None:
                records.closed(summary, recording_id)
            return index

        def done(index: RecordingIndex | None, error: BaseException | None) -> None:
            if error is not None:
                _log.error("call %s: end of call not recorded", summary.call_id, exc_info=error)
            elif index is not None:
                self.note_recording(index)

        self.worker.submit(work, done)

    def write_cdr(self, summary: CallSummary, *, opened: bool = False) -> None:
        """Write a CDR (start or end) in the worker."""
        records = self.records
        if records is None:
            return
        work = (lambda: records.opened(summary)) if opened else (lambda: records.closed(summary, None))

        def done(_: object, error: BaseException | None) -> None:
            if error is not None:
                _log.error("CDR of %s not written", summary.call_id, exc_info=error)

        self.worker.submit(work, done)

