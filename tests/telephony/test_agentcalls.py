import io
import json
from collections.abc import Callable
from typing import Any, Literal

from test_bridge import FakeSession

from fakes import FakeStore
from waterline.domain.agents import AgentState, AgentStatus
from waterline.telephony.agentcalls import AgentCalls, confirmation
from waterline.telephony.journal import Journal
from waterline.telephony.prompt import Prompt
from waterline.telephony.services import PlayerFeed
from waterline.telephony.transfer import TransferPolicy, Trunk

BEEP = Prompt("tts", (b"\xff" * 160,) * 3, (b"\xd5" * 160,) * 3)


class Acd:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, str]] = []

    def request_state(self, agent: str, state: Literal["available", "paused", "logged_out"],
                      reason: str = "") -> None:
        self.requests.append((agent, state, reason))


class Rig:
    def __init__(self, *, speak: bool = True) -> None:
        self.store = FakeStore()
        self.store.add_agent("kefu01")
        self.stream = io.StringIO()
        self.log = Journal(None, self.stream)
        self.soon: list[Callable[[], object]] = []
        self.later: list[tuple[float, Callable[[], object]]] = []
        self.hung_up: list[str] = []
        self.spoken: list[str] = []
        self.acd = Acd()

        def say(text: str) -> Prompt | None:
            self.spoken.append(text)
            return BEEP if speak else None

        self.calls = AgentCalls(
            policy=TransferPolicy(contacts=lambda user: [], trunk=Trunk("198.51.100.1"),
                                  allowed=("13800000000",)),
            journal=self.log, scheduler=self, worker=self, uow_factory=self.store.uow,
            speak=say, hangup=self.hung_up.append, clock=lambda: 0.0, wallclock=lambda: 1_795_600_000.0,
            acd=self.acd,
        )

    def call_soon(self, callback: Callable[[], object]) -> object:
        self.soon.append(callback)
        return None

    def call_later(self, delay: float, callback: Callable[[], object]) -> Any:
        self.later.append((delay, callback))
        return None

    def submit(self, work: Callable[[], Any], done: Callable[[Any, BaseException | None], None]) -> None:
        done(work(), None)

    def journal(self) -> list[dict[str, object]]:
        self.log.flush()
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]

    def status(self) -> AgentStatus:
        with self.store.uow() as uow:
            found = uow.agents.by_username("kefu01")
        assert found is not None
        return found

    def dial(self, code: str, leg: str = "leg1") -> FakeSession:
        assert self.calls.is_feature("kefu01", code, leg=leg)
        assert self.calls.wants(leg)
        session = FakeSession(20000)
        self.calls.start(leg, session)
        return session


def _play_out(session: FakeSession) -> None:
    feed = session.feed
    assert isinstance(feed, PlayerFeed)
    while feed(0) is not None:
        pass


def test_star_21_logs_the_agent_in_confirms_and_hangs_up() -> None:
    rig = Rig()
    session = rig.dial("*21")
    status = rig.status()
    assert status.state is AgentState.AVAILABLE
    assert rig.acd.requests == [("kefu01", "available", "")]
    assert rig.spoken == ["已签入，当前状态空闲。"]
    _play_out(session)  # the confirmation plays to its end, then our BYE on the next loop pass
    assert rig.hung_up == []
    rig.soon.pop()()
    assert rig.hung_up == ["leg1"]
    [entry] = [e for e in rig.journal() if e["event"] == "feature_code"]
    assert (entry["user"], entry["code"], entry["state"]) == ("kefu01", "*21", "available")


def test_star_23_toggles_a_pause_with_its_reason() -> None:
    rig = Rig()
    rig.dial("*21", "leg1")
    rig.dial("*23", "leg2")
    status = rig.status()
    assert (status.state, status.reason) == (AgentState.PAUSED, "feature-code")
    assert rig.acd.requests[-1] == ("kefu01", "paused", "feature-code")


def test_a_code_that_makes_no_sense_now_changes_nothing_and_says_so() -> None:
    rig = Rig(speak=False)
    rig.dial("*23")  # pausing while logged out is not allowed
    status = rig.status()
    assert status.state is AgentState.LOGGED_OUT
    assert rig.acd.requests == []
    assert rig.spoken == [confirmation(None)] == ["操作无效。"]
    [(delay, bye)] = rig.later  # nothing to play: hang up after a moment
    assert delay > 0
    bye()
    assert rig.hung_up == ["leg1"]


def test_an_agent_who_hangs_up_first_gets_no_bye() -> None:
    rig = Rig()
    assert rig.calls.is_feature("kefu01", "*22", leg="leg1")
    rig.calls.end("leg1")
    rig.calls.start("leg1", FakeSession(20000))
    assert rig.hung_up == [] and not rig.calls.wants("leg1")


def test_outside_numbers_are_refused_unless_allowed() -> None:
    rig = Rig()
    assert rig.calls.refuses("kefu01", "00881234567890", leg="leg1", call_id="c1")
    assert not rig.calls.refuses("kefu01", "13800000000", leg="leg2", call_id="c2")  # on the allow list
    assert not rig.calls.refuses("kefu01", "kefu02", leg="leg3", call_id="c3")  # not a number: 404 elsewhere
    assert not rig.calls.is_feature("kefu01", "*43", leg="leg4")
    [entry] = rig.journal()
    assert (entry["event"], entry["user"], entry["number"], entry["reason"]) == (
        "outbound_refused", "kefu01", "00881234567890", "not-allowed")
    assert rig.calls.refused == 1
