"""The live channel's wire format: every event and command survives a round trip; bad frames are refused."""

from __future__ import annotations

import json

import pytest

from waterline.calls.live import (
    COMMANDS,
    EVENTS,
    MAX_FRAME,
    AgentStateChanged,
    AgentStateNotice,
    CallAnswered,
    CallEnded,
    CallOffered,
    CallQueued,
    CommandFrame,
    EventFrame,
    Hangup,
    Hello,
    QueueStats,
    RecordCall,
    Reply,
    TransferCall,
    WireError,
    decode_command,
    decode_event,
    decode_frame,
    encode_frame,
    event_from_fields,
)

EVENT_SAMPLES = [
    CallQueued("c1", "orders", "13800000001", "4000000001", 1764000000.5, "西安市", ("welcome", "menu"),
               "10"),
    CallOffered("c1", "kefu01", "orders", "13800000001", "4000000001", 1764000001.0, 3.5, "leg-1", None,
                ("welcome",), "0"),
    CallAnswered("c1", "kefu01", "orders", 1764000002.0, 4.5),
    CallEnded("c1", 1764000060.0, "caller", "kefu01", "orders"),
    AgentStateChanged("kefu01", "paused", 1764000070.0, "available", "午餐 meal"),
    QueueStats("orders", 1764000000.0, 3, 42.5, 1),
]
COMMAND_SAMPLES = [
    Hangup("c1", by="kefu01"),
    TransferCall("c1", agent="kefu02"),
    TransferCall("c1", queue="complaints"),
    RecordCall("c1", on=True),
    AgentStateNotice("kefu01", "available", 1764000000.0, "paused", ""),
]


@pytest.mark.parametrize("event", EVENT_SAMPLES, ids=lambda e: e.NAME)
def test_events_round_trip_as_one_line_each(event: object) -> None:
    data = encode_frame(event)  # type: ignore[arg-type]
    assert data.endswith(b"\n") and data.count(b"\n") == 1
    frame = decode_frame(data)
    assert isinstance(frame, EventFrame)
    assert decode_event(frame) == event


@pytest.mark.parametrize("command", COMMAND_SAMPLES, ids=lambda c: c.NAME)
def test_commands_round_trip_with_their_id(command: object) -> None:
    frame = decode_frame(encode_frame(command, 41))  # type: ignore[arg-type]
    assert isinstance(frame, CommandFrame) and frame.id == 41
    assert decode_command(frame) == command


def test_every_event_and_command_has_a_sample() -> None:
    assert {e.NAME for e in EVENT_SAMPLES} == set(EVENTS)
    assert {c.NAME for c in COMMAND_SAMPLES} == set(COMMANDS)


def test_hello_and_replies_round_trip() -> None:
    assert decode_frame(encode_frame(Hello("abc", 12.5))) == Hello("abc", 12.5)
    ok = Reply.success(3, {"recording": True})
    assert decode_frame(encode_frame(ok)) == ok
    refused = Reply.failure(4, "unknown_call", "没有这个通话", "no such call")
    assert decode_frame(encode_frame(refused)) == refused


def test_chinese_text_is_sent_as_utf8_not_escaped() -> None:
    data = encode_frame(AgentStateChanged("kefu01", "paused", 1.0, reason="培训"))
    assert "培训".encode() in data


def test_a_command_needs_an_id() -> None:
    with pytest.raises(WireError):
        encode_frame(Hangup("c1"))


def test_a_transfer_names_exactly_one_target() -> None:
    with pytest.raises(WireError):
        TransferCall("c1")
    with pytest.raises(WireError):
        TransferCall("c1", agent="a", queue="q")
    frame = CommandFrame(1, "call.transfer", {"call_id": "c1"})
    with pytest.raises(WireError):
        decode_command(frame)


@pytest.mark.parametrize(
    "line",
    [
        b"not json\n",
        b"[1,2]\n",
        b'{"type":"gossip"}\n',
        b'{"type":"command","id":true,"name":"call.hangup","data":{}}\n',
        b'{"type":"event","name":"call.ended","data":[]}\n',
        b'{"type":"hello","engine":"x","at":"now","version":1}\n',
        b"\xff\xfe\n",
    ],
)
def test_malformed_frames_raise_wire_error(line: bytes) -> None:
    with pytest.raises(WireError):
        decode_frame(line)


@pytest.mark.parametrize(
    "data",
    [
        {"call_id": "c1"},  # fields missing
        {"call_id": "c1", "at": "soon", "reason": "caller"},
        {"call_id": 5, "at": 1.0, "reason": "caller"},
        {"call_id": "c1", "at": True, "reason": "caller"},
    ],
)
def test_events_with_wrong_fields_raise_wire_error(data: dict[str, object]) -> None:
    with pytest.raises(WireError):
        decode_event(EventFrame("call.ended", data))


def test_unknown_names_raise_wire_error_and_extra_fields_are_ignored() -> None:
    with pytest.raises(WireError):
        decode_event(EventFrame("call.teleported", {}))
    with pytest.raises(WireError):
        decode_command(CommandFrame(1, "engine.shutdown", {}))
    # a newer engine may add fields: an older worker still understands the event
    event = decode_event(EventFrame("queue.stats", {"queue": "q", "at": 1, "waiting": 2, "colour": "red"}))
    assert event == QueueStats("q", 1.0, 2)


def test_integers_are_accepted_where_numbers_are_expected_and_lists_become_tuples() -> None:
    raw = json.loads(encode_frame(EVENT_SAMPLES[0]))
    raw["data"]["at"] = 1764000000
    event = decode_event(decode_frame(json.dumps(raw).encode()))  # type: ignore[arg-type]
    assert isinstance(event, CallQueued) and event.at == 1764000000.0
    assert event.ivr_path == ("welcome", "menu")


def test_frames_longer_than_the_limit_are_refused_both_ways() -> None:
    with pytest.raises(WireError):
        encode_frame(CallQueued("c1", "q", "1", "2", 0.0, digits="1" * MAX_FRAME))
    with pytest.raises(WireError):
        decode_frame(b" " * (MAX_FRAME + 1))


def test_flat_hook_fields_become_typed_events_with_aliases_and_extras_dropped() -> None:
    offered = event_from_fields({"type": "call.offered", "call_id": "c1", "agent": "kefu01", "caller": "138",
                                 "did": "400", "queue": "orders", "wait": 2.5, "path": ["menu", "queue"],
                                 "digits": "0", "at": 10.0, "leg": "l1"})
    assert offered == CallOffered("c1", "kefu01", "orders", "138", "400", 10.0, 2.5, "l1", None,
                                  ("menu", "queue"), "0")
    ended = event_from_fields({"type": "call.ended", "call_id": "c1", "agent": "kefu01", "by": "caller",
                               "talk": 31.2, "at": 11.0})
    assert ended == CallEnded("c1", 11.0, "caller", "kefu01")
    with pytest.raises(WireError):
        event_from_fields({"type": "call.offered", "call_id": "c1"})
    with pytest.raises(WireError):
        event_from_fields({"type": "call.teleported"})
