"""The switch's hook for call flows: a routed DID is prepared, answered (or refused) and ended."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from test_callflow import FakeBusiness, FakeLoop, FakeSpeaker, InlineWorker, Records

from waterline.calls.flow import parse_flow
from waterline.sip import events as ev
from waterline.telephony.callflow import FlowHost, Route
from waterline.telephony.journal import Journal
from waterline.telephony.prompt import DEFAULT_PROMPT_DIR, PromptLibrary
from waterline.telephony.switch import Switch

OFFER = (
    b"v=0\r\no=carrier 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\n"
    b"m=audio 40000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
)
OPEN = "name: open\nstart: bye\nnodes:\n  bye: {kind: hangup, say: [{prompt: goodbye}]}\n"
BARRED = "name: barred\nanswer: false\nstart: no\nnodes:\n  no: {kind: hangup, outcome: blocked}\n"


@dataclass
class FakeEndpoint:
    commands: list[ev.Command] = field(default_factory=list)

    def send(self, command: ev.Command, now: float) -> str | None:
        self.commands.append(command)
        return None


def _switch(tmp_path: Path) -> tuple[Switch, FakeEndpoint, Records]:
    loop = FakeLoop()
    records = Records()
    host = FlowHost(
        routes={"4006360888": Route(parse_flow(OPEN)), "4006360999": Route(parse_flow(BARRED))},
        prompts=PromptLibrary([DEFAULT_PROMPT_DIR]), speaker=FakeSpeaker(), business=FakeBusiness({}),
        records=records, scheduler=loop, worker=InlineWorker(loop), hangup=lambda leg: None,
        data_dir=tmp_path, clock=lambda: loop.now, wallclock=lambda: loop.now, rng=random.Random(2),
        store_recording=lambda index: None,
    )
    endpoint = FakeEndpoint()
    switch = Switch(endpoint, Journal(None, None), clock=lambda: 1.0, flows=host)
    loop.run()
    return switch, endpoint, records


def _incoming(user: str) -> ev.IncomingCall:
    return ev.IncomingCall(
        call="leg1", call_id="cid-1", from_uri="sip:02988886666@10.0.0.5", from_display=None,
        to_uri=f"sip:{user}@127.0.0.1", request_user=user, sdp_offer=OFFER, source=("10.0.0.5", 5060),
        transport="udp",
    )


def test_a_routed_did_is_answered_and_its_record_opened_and_closed(tmp_path: Path) -> None:
    switch, endpoint, records = _switch(tmp_path)
    switch.handle(_incoming("+86 400 636 0888"), 1.0)
    [answer] = endpoint.commands
    assert isinstance(answer, ev.Answer) and answer.sdp
    assert switch.flows is not None and switch.flows.running == 1
    switch.handle(ev.CallEnded("leg1", "remote-bye", None), 2.0)
    assert switch.flows.running == 0
    assert [s.did for s in records.opens] == ["4006360888"]


def test_a_flow_that_does_not_answer_refuses_the_call(tmp_path: Path) -> None:
    switch, endpoint, records = _switch(tmp_path)
    switch.handle(_incoming("4006360999"), 1.0)
    [reject] = endpoint.commands
    assert isinstance(reject, ev.Reject) and reject.status == 403
    assert switch.flows is not None and switch.flows.running == 0 and switch.active_calls == 0


def test_unrouted_numbers_are_still_404(tmp_path: Path) -> None:
    switch, endpoint, _ = _switch(tmp_path)
    switch.handle(_incoming("4006360000"), 1.0)
    [reject] = endpoint.commands
    assert isinstance(reject, ev.Reject) and reject.status == 404
