"""The shipped flows validate against the prompt library and walk as the business plan says."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from waterline.calls.actions import (
    Action,
    Answer,
    Hangup,
    Play,
    Prompt,
    Record,
    Request,
    Speech,
    StopPlayback,
    Transfer,
)
from waterline.calls.call import FlowRun, Outcome
from waterline.calls.events import (
    CallerHungUp,
    DigitPressed,
    PlaybackFinished,
    RecordingFinished,
    RequestAnswered,
    RequestFailed,
    TransferEnded,
)
from waterline.calls.flow import parse_flow
from waterline.calls.shipped import BENCH_FLOWS, DEFAULT, SHIPPED, shipped_flow, shipped_text

MANIFEST = Path(__file__).resolve().parents[2] / "src" / "waterline" / "prompts" / "manifest.json"
PROMPTS: dict[str, dict[str, object]] = json.loads(MANIFEST.read_text(encoding="utf-8"))["prompts"]
T0 = 50_000.0
A = TypeVar("A", Play, Record, Request, Transfer)

KNOWN = {
    "customer_id": 7,
    "name": "王女士",
    "tier": "vip",
    "region_city": "西安",
    "region_source": "address",
    "station_id": 2,
    "station_phone": "02988886666",
    "station_open": True,
    "is_workday": True,
    "usual_order_text": "2桶秦岭山泉矿泉水",
    "usual_order_qty": 2,
    "address_text": "雁塔区小寨东路1号",
    "ticket_balance": None,
    "pays_with_tickets": False,
}
UNKNOWN = {"customer_id": None, "region_city": "宝鸡", "region_source": "area-code", "station_id": 5,
           "station_open": True}


def _one(actions: list[Action], kind: type[A]) -> A:
    found = [action for action in actions if isinstance(action, kind)]
    assert len(found) == 1, actions
    return found[0]


def _start(name: str, **variables: str) -> tuple[FlowRun, list[Action]]:
    flow = shipped_flow(name)
    if variables:  # as an editor would set them through the flow API
        flow = flow.model_copy(update={"variables": {**flow.variables, **variables}})
    run = FlowRun(flow, caller="13991234567", did="4006360888", call_id="call-1", now=T0,
                  rng=random.Random(5))
    return run, run.start(T0)


def _greeted(identity: Mapping[str, object], **variables: str) -> tuple[FlowRun, Play]:
    """A default-flow call past the greeting and the caller lookup, at the main menu."""
    run, actions = _start(DEFAULT, **variables)
    greeting = _one(actions, Play)
    assert greeting.items == (Prompt("greeting"),) and greeting.barge_in
    identify = _one(run.handle(PlaybackFinished(greeting.token), T0 + 9.3), Request)
    assert identify.kind == "identify" and identify.args == {"caller": "13991234567", "did": "4006360888"}
    menu = _one(run.handle(RequestAnswered(identify.token, identity), T0 + 9.4), Play)
    assert menu.items == (Prompt("menu"),)
    return run, menu


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_flow_validates_against_the_prompt_library(name: str) -> None:
    flow = parse_flow(shipped_text(name), prompts=PROMPTS)
    assert flow.name == name and flow.unreachable == ()
    assert flow.prompt_names() <= set(PROMPTS)


def test_an_unknown_shipped_name_is_refused() -> None:
    with pytest.raises(KeyError):
        shipped_text("nope")


def test_known_caller_presses_1_then_1_and_the_order_is_placed() -> None:
    run, menu = _greeted(KNOWN)
    offer = _one(run.handle(DigitPressed("1"), T0 + 10), Play)
    read_back = "您常订的是2桶秦岭山泉矿泉水，送到雁塔区小寨东路1号，确认请按1，转人工请按0。"
    assert offer.items == (Speech(read_back),)
    actions = run.handle(DigitPressed("1"), T0 + 12)
    assert actions[0] == StopPlayback()
    reorder = _one(actions, Request)
    assert reorder.kind == "reorder" and reorder.args == {"customer_id": 7, "call_id": "call-1"}
    result = {"order_id": 301, "number": "20261125-0042", "eta_text": "预计40分钟内送达", "station_id": 2,
              "ticket_balance": None}
    done = _one(run.handle(RequestAnswered(reorder.token, result), T0 + 12.2), Play)
    number = Speech("您的订单号是20261125-0042，预计40分钟内送达。")
    assert done.items == (Prompt("order_confirmation"), number)
    goodbye = _one(run.handle(PlaybackFinished(done.token), T0 + 25), Play)
    assert goodbye.items == (Prompt("goodbye"),)
    assert run.handle(PlaybackFinished(goodbye.token), T0 + 30) == [Hangup("normal")]
    assert run.outcome is Outcome.ORDER_PLACED and run.order_id == 301
    assert [s.node for s in run.path] == ["welcome", "identify", "opening", "menu", "order", "reorder_offer",
                                         "reorder", "ordered", "tickets", "goodbye"]
    assert run.digits == "11"


def test_a_ticket_paying_customer_hears_the_balance() -> None:
    run, menu = _greeted({**KNOWN, "pays_with_tickets": True, "ticket_balance": 8})
    run.handle(DigitPressed("1"), T0 + 10)
    reorder = _one(run.handle(DigitPressed("1"), T0 + 11), Request)
    done = _one(run.handle(RequestAnswered(reorder.token, {"order_id": 1, "number": "1", "eta_text": "",
                                                           "ticket_balance": 6}), T0 + 11), Play)
    balance = _one(run.handle(PlaybackFinished(done.token), T0 + 20), Play)
    assert balance.items == (Speech("本次已使用水票支付，您的水票余额为6张。"),)


def test_an_unknown_caller_hears_the_menu_and_ordering_goes_to_an_agent() -> None:
    run, menu = _greeted(UNKNOWN, hotline_fallback="13700001111")
    assert run.variables["customer.known"] is False
    forward = _one(run.handle(DigitPressed("1"), T0 + 10), Play)
    assert forward.items == (Speech("正在为您转接人工服务，请稍候。"),)
    transfer = _one(run.handle(PlaybackFinished(forward.token), T0 + 12), Transfer)
    assert transfer.target == "13700001111"  # no station phone: the hotline's on-duty fallback


def test_a_caller_of_unknown_region_chooses_the_city_before_the_agent() -> None:
    run, menu = _greeted({"customer_id": None, "region_city": None, "region_source": "unknown"})
    cities = _one(run.handle(DigitPressed("0"), T0 + 10), Play)
    assert "咸阳请按2" in str(cities.items[0])
    identify = _one(run.handle(DigitPressed("2"), T0 + 12), Request)
    assert identify.kind == "identify"
    assert identify.args == {"caller": "13991234567", "did": "4006360888", "region_city": "咸阳市"}
    station = {"customer_id": None, "region_city": "咸阳市", "station_phone": "02933334444"}
    forward = _one(run.handle(RequestAnswered(identify.token, station), T0 + 12.1), Play)
    transfer = _one(run.handle(PlaybackFinished(forward.token), T0 + 14), Transfer)
    assert transfer.target == "02933334444"


def test_the_region_is_asked_only_once() -> None:
    run, menu = _greeted({"customer_id": None, "region_city": None}, hotline_fallback="13700001111")
    run.handle(DigitPressed("0"), T0 + 10)
    identify = _one(run.handle(DigitPressed("1"), T0 + 12), Request)
    forward = _one(run.handle(RequestAnswered(identify.token, {"customer_id": None}), T0 + 12.1), Play)
    transfer = _one(run.handle(PlaybackFinished(forward.token), T0 + 14), Transfer)
    assert transfer.target == "13700001111"


def test_without_a_station_or_on_duty_number_the_caller_leaves_a_message() -> None:
    run, menu = _greeted(UNKNOWN)  # the shipped flow names no on-duty mobile
    busy = _one(run.handle(DigitPressed("0"), T0 + 10), Play)
    assert busy.items == (Prompt("agents_busy"), Prompt("voicemail"))
    assert _one(run.handle(PlaybackFinished(busy.token), T0 + 23), Record).max_seconds == 60


def test_the_agent_leg_goes_to_the_callers_station_then_the_survey() -> None:
    run, menu = _greeted(KNOWN)
    forward = _one(run.handle(DigitPressed("0"), T0 + 10), Play)
    transfer = _one(run.handle(PlaybackFinished(forward.token), T0 + 12), Transfer)
    assert transfer.target == "02988886666"
    survey = _one(run.handle(TransferEnded(transfer.token, True), T0 + 100), Play)
    assert "请按5" in str(survey.items[0])
    goodbye = _one(run.handle(DigitPressed("5"), T0 + 104), Play)
    assert goodbye.items == (Prompt("goodbye"),) and run.survey_score == 5
    assert run.handle(PlaybackFinished(goodbye.token), T0 + 109) == [Hangup("normal")]
    assert run.outcome is Outcome.TRANSFERRED


def test_three_invalid_digits_say_goodbye_and_hang_up() -> None:
    run, menu = _greeted(UNKNOWN)
    run.handle(PlaybackFinished(menu.token), T0 + 17.2)
    retry = _one(run.handle(DigitPressed("7"), T0 + 18), Play)
    assert retry.items == (Speech("对不起，您的输入有误。"), Prompt("menu"))
    run.handle(DigitPressed("8"), T0 + 19)
    actions = run.handle(DigitPressed("9"), T0 + 20)
    goodbye = _one(actions, Play)
    assert goodbye.items == (Prompt("goodbye"),)
    assert run.handle(PlaybackFinished(goodbye.token), T0 + 25) == [Hangup("normal")]
    assert run.outcome is Outcome.IVR_COMPLETED and run.path[-2].digits == "789"


def test_after_hours_the_caller_leaves_a_message_that_becomes_a_task() -> None:
    run, actions = _start(DEFAULT)
    greeting = _one(actions, Play)
    identify = _one(run.handle(PlaybackFinished(greeting.token), T0 + 9.3), Request)
    closing = {**KNOWN, "station_open": False}
    closed = _one(run.handle(RequestAnswered(identify.token, closing), T0 + 9.4), Play)
    assert closed.items == (Prompt("after_hours"),)
    record = _one(run.handle(PlaybackFinished(closed.token), T0 + 24), Record)
    assert record.max_seconds == 60 and record.silence_seconds == 5 and record.beep
    task = _one(run.handle(RecordingFinished(record.token, 77, 21.0), T0 + 46), Request)
    assert task.kind == "missed_call" and task.args["recording_id"] == 77
    run.handle(RequestAnswered(task.token, {"task_id": 9}), T0 + 46.1)
    run.handle(CallerHungUp(), T0 + 47)
    assert run.outcome is Outcome.VOICEMAIL and run.recording_ids == [77] and run.task_ids == [9]


def test_complaint_records_the_reason_and_opens_a_ticket() -> None:
    run, menu = _greeted(KNOWN)
    reasons = _one(run.handle(DigitPressed("3"), T0 + 10), Play)
    assert "投诉水质问题请按2" in str(reasons.items[0])
    complaint = _one(run.handle(DigitPressed("2"), T0 + 12), Request)
    assert complaint.kind == "complaint"
    assert complaint.args == {"reason": "水质问题", "customer_id": 7, "call_id": "call-1"}
    done = _one(run.handle(RequestAnswered(complaint.token, {"ticket_id": 55}), T0 + 12.1), Play)
    assert done.items == (Speech("您的意见已经记录，工单号55，我们会在24小时内给您回复。"),)
    assert run.ticket_ids == [55]


def test_order_status_is_read_back() -> None:
    run, menu = _greeted(KNOWN)
    run.handle(DigitPressed("2"), T0 + 10)
    status = _one(run.handle(DigitPressed("1"), T0 + 12), Request)
    assert status.kind == "order_status" and status.args == {"customer_id": 7}
    result = {"number": "0042", "state_text": "正在配送", "eta_text": "预计20分钟内送达"}
    read = _one(run.handle(RequestAnswered(status.token, result), T0 + 12.1), Play)
    assert read.items == (Speech("您的订单0042正在配送，预计20分钟内送达。"),)
    run, menu = _greeted(KNOWN)
    run.handle(DigitPressed("2"), T0 + 10)
    status = _one(run.handle(DigitPressed("1"), T0 + 12), Request)
    none = _one(run.handle(RequestAnswered(status.token, {"number": None}), T0 + 12.1), Play)
    assert none.items == (Speech("您目前没有正在配送的订单。"),)


def test_a_failed_lookup_still_offers_the_menu() -> None:
    run, actions = _start(DEFAULT)
    identify = _one(run.handle(PlaybackFinished(_one(actions, Play).token), T0 + 9), Request)
    menu = _one(run.handle(RequestFailed(identify.token, "db down"), T0 + 9.1), Play)
    assert menu.items == (Prompt("menu"),)


# ------------------------------------------------------------------ benchmark flows


def test_bench_play_and_bench_record_answer_play_3s_and_hang_up() -> None:
    assert PROMPTS["bench_3s"]["duration"] == 3.0
    for name, recorded in (("bench-play", False), ("bench-record", True)):
        run, actions = _start(name)
        assert run.flow.record is recorded
        assert actions[0] == Answer()
        play = _one(actions, Play)
        assert play.items == (Prompt("bench_3s"),) and not play.barge_in
        assert run.handle(PlaybackFinished(play.token), T0 + 3.0) == [Hangup("bench-done")]
        assert run.outcome is Outcome.IVR_COMPLETED


def test_bench_ivr_on_1_plays_the_confirmation_then_hangs_up() -> None:
    assert PROMPTS["bench_confirm"]["duration"] == pytest.approx(1.9, abs=0.05)
    run, actions = _start("bench-ivr")
    assert actions[0] == Answer() and run.flow.record is False
    menu = _one(actions, Play)
    assert menu.items == (Prompt("bench_3s"),) and menu.barge_in
    actions = run.handle(DigitPressed("1"), T0 + 1.5)  # during the prompt
    assert actions[0] == StopPlayback()
    confirm = _one(actions, Play)
    assert confirm.items == (Prompt("bench_confirm"),)
    assert run.handle(PlaybackFinished(confirm.token), T0 + 3.4) == [Hangup("bench-done")]
    run, actions = _start("bench-ivr")
    menu = _one(actions, Play)
    run.handle(PlaybackFinished(menu.token), T0 + 3.0)
    confirm = _one(run.handle(DigitPressed("1"), T0 + 7.9), Play)  # within 5 s after the prompt
    assert confirm.items == (Prompt("bench_confirm"),)


def test_bench_ivr_hangs_up_on_another_digit_or_after_5_s_of_silence() -> None:
    run, actions = _start("bench-ivr")
    assert run.handle(DigitPressed("2"), T0 + 1) == [StopPlayback(), Hangup("bench-done")]
    run, actions = _start("bench-ivr")
    run.handle(PlaybackFinished(_one(actions, Play).token), T0 + 3.0)
    assert run.get_timer() == T0 + 8.0
    assert run.handle_timer(T0 + 8.0) == [Hangup("bench-done")]
    assert all(name in SHIPPED for name in BENCH_FLOWS)


# ------------------------------------------------------------------ any order of events

_RESULTS: list[Mapping[str, object]] = [
    KNOWN,
    UNKNOWN,
    {"customer_id": None, "region_city": None},
    {**KNOWN, "station_open": False},
    {"order_id": 3, "number": "3", "eta_text": "", "ticket_balance": 2},
    {"ticket_id": 4},
    {"task_id": 5},
    {"number": None},
    {},
]
Value = int | str
_STEP = st.one_of(
    st.tuples(st.just("digit"), st.sampled_from("0123456789*#")),
    st.tuples(st.just("answer"), st.integers(0, len(_RESULTS) - 1)),
    st.tuples(st.just("fail"), st.just(0)),
    st.tuples(st.just("stale"), st.integers(0, 3)),
    st.tuples(st.just("timer"), st.just(0)),
    st.tuples(st.just("hangup"), st.just(0)),
)


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(SHIPPED), steps=st.lists(_STEP, max_size=40))
def test_any_sequence_of_events_keeps_the_run_consistent(name: str, steps: list[tuple[str, Value]]) -> None:
    run, actions = _start(name)
    now = T0
    waiting: Play | Record | Request | Transfer | None = None
    hangups = sum(isinstance(action, Hangup) for action in actions)
    tokens: list[int] = []

    def take(new: list[Action]) -> None:
        nonlocal waiting, hangups
        for action in new:
            if isinstance(action, Play | Record | Request | Transfer):
                tokens.append(action.token)
                waiting = action
            hangups += isinstance(action, Hangup)

    take(actions)
    for kind, value in steps:
        now += 1.0
        finished_before = run.finished
        if kind == "digit":
            new = run.handle(DigitPressed(str(value)), now)
        elif kind == "hangup":
            new = run.handle(CallerHungUp(), now)
        elif kind == "timer":
            timer = run.get_timer()
            now = max(now, timer if timer is not None else now)
            new = run.handle_timer(now)
        elif kind == "stale":
            new = run.handle(PlaybackFinished(-len(str(value))), now)
        elif waiting is None:
            continue
        elif isinstance(waiting, Play):
            new = run.handle(PlaybackFinished(waiting.token), now)
        elif isinstance(waiting, Record):
            new = run.handle(RecordingFinished(waiting.token, 10 if kind == "answer" else None, 3.0), now)
        elif isinstance(waiting, Transfer):
            new = run.handle(TransferEnded(waiting.token, kind == "answer"), now)
        elif kind == "answer":
            new = run.handle(RequestAnswered(waiting.token, _RESULTS[int(str(value))]), now)
        else:
            new = run.handle(RequestFailed(waiting.token, "down"), now)
        if finished_before:
            # after the end only the wrap-up of an answer in flight may ask for a missed-call task
            assert all(isinstance(action, Request) and action.kind == "missed_call" for action in new)
        take(new)
        assert hangups <= 1
        if run.finished:
            assert run.outcome is not None and run.get_timer() is None
        else:
            assert hangups == 0
    assert tokens == sorted(set(tokens))
    assert all(step.node in run.flow.nodes for step in run.path)
