"""The flow interpreter, driven with scripted events and a fake clock (plain floats)."""

from __future__ import annotations

import random
from typing import TypeVar

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
from waterline.calls.call import MAX_STEPS_WITHOUT_INPUT, FlowRun, Outcome, render
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

T0 = 1_000.0
A = TypeVar("A", Play, Record, Request, Transfer)

MENU = """
name: t
start: menu
variables: {company: 陕西XX送水}
nodes:
  menu:
    kind: menu
    say: [{prompt: menu}]
    options: {"1": one, "2": two}
    invalid_say: [{text: 输入有误。}]
    timeout_say: [{text: 没有收到。}]
    timeout: 5
    attempts: 3
    on_failure: bye
  one: {kind: play, say: [{text: "{company}欢迎您，{call.caller}"}], next: done}
  two: {kind: hangup, cause: two}
  done: {kind: hangup}
  bye: {kind: hangup, say: [{prompt: goodbye}], cause: invalid}
"""


def _run(text: str, caller: str = "13912345678") -> FlowRun:
    flow = parse_flow(text)
    return FlowRun(flow, caller=caller, did="4006360888", call_id="c1", now=T0, rng=random.Random(1))


def _one(actions: list[Action], kind: type[A]) -> A:
    found = [action for action in actions if isinstance(action, kind)]
    assert len(found) == 1, actions
    return found[0]


def _outcome(run: FlowRun) -> Outcome | None:
    """The outcome, read afresh (it may change after the hang-up; mypy would keep an earlier narrowing)."""
    return run.outcome


def _play(actions: list[Action]) -> Play:
    return _one(actions, Play)


def _request(actions: list[Action]) -> Request:
    return _one(actions, Request)


def test_start_answers_and_plays_the_first_prompt() -> None:
    run = _run(MENU)
    actions = run.start(T0)
    assert actions[0] == Answer()
    play = _play(actions)
    assert play.items == (Prompt("menu"),) and play.barge_in
    assert run.start(T0) == []  # only once
    assert not run.finished and run.outcome is None and run.get_timer() is None
    assert [step.node for step in run.path] == ["menu"] and run.path[0].at == T0


def test_a_valid_digit_follows_the_option_and_text_is_rendered() -> None:
    run = _run(MENU)
    play = _play(run.start(T0))
    assert run.handle(PlaybackFinished(play.token), T0 + 7) == []
    assert run.get_timer() == T0 + 12  # the timeout starts when the prompt ends
    actions = run.handle(DigitPressed("1"), T0 + 8)
    assert _play(actions).items == (Speech("陕西XX送水欢迎您，13912345678"),)
    assert run.get_timer() is None
    actions = run.handle(PlaybackFinished(_play(actions).token), T0 + 10)
    assert actions == [Hangup("normal")]
    assert run.finished and run.outcome is Outcome.IVR_COMPLETED and str(run.outcome) == "ivr-completed"
    assert run.hangup_side == "flow" and run.digits == "1"
    assert [(s.node, s.digits) for s in run.path] == [("menu", "1"), ("one", ""), ("done", "")]
    assert [s.at for s in run.path] == [T0, T0 + 8, T0 + 10]


def test_barge_in_stops_the_prompt_and_a_late_playback_end_is_ignored() -> None:
    run = _run(MENU)
    play = _play(run.start(T0))
    actions = run.handle(DigitPressed("2"), T0 + 1)
    assert actions == [StopPlayback(), Hangup("two")]
    assert run.handle(PlaybackFinished(play.token), T0 + 1.1) == []


def test_without_barge_in_digits_during_the_prompt_are_ignored() -> None:
    run = _run(MENU.replace("attempts: 3", "attempts: 3\n    barge_in: false"))
    play = _play(run.start(T0))
    assert not play.barge_in
    assert run.handle(DigitPressed("1"), T0 + 1) == []
    assert run.node == "menu" and run.digits == "1"
    run.handle(PlaybackFinished(play.token), T0 + 7)
    assert _play(run.handle(DigitPressed("1"), T0 + 8)).items[0] == Speech("陕西XX送水欢迎您，13912345678")


def test_invalid_digits_re_prompt_then_give_up_after_the_last_attempt() -> None:
    run = _run(MENU)
    play = _play(run.start(T0))
    run.handle(PlaybackFinished(play.token), T0 + 7)
    retry = _play(run.handle(DigitPressed("9"), T0 + 8))
    assert retry.items == (Speech("输入有误。"), Prompt("menu"))
    retry2 = run.handle(DigitPressed("7"), T0 + 9)  # barges into the re-prompt
    assert retry2[0] == StopPlayback() and _play(retry2).items == retry.items
    actions = run.handle(DigitPressed("8"), T0 + 10)
    assert actions[0] == StopPlayback()
    goodbye = _play(actions)
    assert goodbye.items == (Prompt("goodbye"),) and not goodbye.barge_in
    assert run.handle(DigitPressed("1"), T0 + 11) == []  # the goodbye cannot be skipped
    assert run.handle(PlaybackFinished(goodbye.token), T0 + 14) == [Hangup("invalid")]
    assert run.outcome is Outcome.IVR_COMPLETED and run.path[0].digits == "978"
    assert "failed after 3 attempts" in run.path[0].detail


def test_timeouts_re_prompt_with_their_own_text_and_count_as_attempts() -> None:
    run = _run(MENU.replace("attempts: 3", "attempts: 2"))
    play = _play(run.start(T0))
    run.handle(PlaybackFinished(play.token), T0 + 7)
    assert run.handle_timer(T0 + 11.9) == []  # not due yet
    retry = _play(run.handle_timer(T0 + 12))
    assert retry.items == (Speech("没有收到。"), Prompt("menu"))
    assert run.get_timer() is None  # no timer while the prompt plays
    run.handle(PlaybackFinished(retry.token), T0 + 20)
    assert run.get_timer() == T0 + 25
    bye = _play(run.handle_timer(T0 + 25))
    assert bye.items == (Prompt("goodbye"),) and run.node == "bye"


def test_a_menu_without_prompt_starts_its_timeout_at_once() -> None:
    run = _run(MENU.replace("    say: [{prompt: menu}]\n", ""))
    assert run.start(T0) == [Answer()] and run.get_timer() == T0 + 5


HELLO = "  hello: {kind: play, say: [{prompt: greeting}], barge_in: true, next: menu}\n"
PLAY_THEN_MENU = MENU.replace("start: menu\n", "start: hello\n").replace("nodes:\n", "nodes:\n" + HELLO)


def test_a_digit_barging_into_a_play_is_kept_for_the_next_menu() -> None:
    run = _run(PLAY_THEN_MENU)
    greeting = _play(run.start(T0))
    assert greeting.barge_in
    actions = run.handle(DigitPressed("1"), T0 + 1)
    assert actions[0] == StopPlayback()
    assert _play(actions).items[0] == Speech("陕西XX送水欢迎您，13912345678")
    assert [(s.node, s.digits) for s in run.path[:2]] == [("hello", ""), ("menu", "1")]


def test_a_play_without_barge_in_ignores_digits() -> None:
    run = _run(PLAY_THEN_MENU.replace("barge_in: true, ", ""))
    greeting = _play(run.start(T0))
    assert run.handle(DigitPressed("1"), T0 + 1) == []
    menu = _play(run.handle(PlaybackFinished(greeting.token), T0 + 9))
    assert menu.items == (Prompt("menu"),)  # the digit was not typed ahead


COLLECT = """
name: c
start: pin
nodes:
  pin:
    kind: collect
    say: [{text: 请输入订单号，以井号结束。}]
    into: number
    min_digits: 3
    max_digits: 5
    terminator: "#"
    inter_digit_timeout: 3
    timeout: 5
    invalid_say: [{text: 位数不对。}]
    attempts: 2
    next: read
    on_failure: bye
  read: {kind: play, say: [{text: "订单{number}"}], next: bye}
  bye: {kind: hangup}
"""


def test_collect_ends_at_the_terminator() -> None:
    run = _run(COLLECT)
    prompt = _play(run.start(T0))
    assert run.handle(DigitPressed("1"), T0 + 1) == [StopPlayback()]
    assert run.get_timer() == T0 + 4  # inter-digit timeout
    run.handle(DigitPressed("2"), T0 + 2)
    run.handle(DigitPressed("3"), T0 + 3)
    actions = run.handle(DigitPressed("#"), T0 + 4)
    assert _play(actions).items == (Speech("订单123"),)
    assert run.variables["number"] == "123" and run.path[0].digits == "123#"
    assert run.handle(PlaybackFinished(prompt.token), T0 + 5) == []  # stale


def test_collect_ends_at_max_digits_and_after_inter_digit_silence() -> None:
    run = _run(COLLECT)
    run.start(T0)
    for index, digit in enumerate("98765"):
        actions = run.handle(DigitPressed(digit), T0 + index)
    assert _play(actions).items == (Speech("订单98765"),)
    run = _run(COLLECT)
    run.start(T0)
    for digit in "4321":
        run.handle(DigitPressed(digit), T0 + 1)
    assert run.handle_timer(T0 + 3.9) == []
    assert _play(run.handle_timer(T0 + 4)).items == (Speech("订单4321"),)


def test_collect_too_few_digits_is_invalid() -> None:
    run = _run(COLLECT)
    run.start(T0)
    run.handle(DigitPressed("1"), T0 + 1)
    retry = _play(run.handle(DigitPressed("#"), T0 + 2))
    assert retry.items == (Speech("位数不对。"), Speech("请输入订单号，以井号结束。"))
    run.handle(PlaybackFinished(retry.token), T0 + 6)
    run.handle(DigitPressed("1"), T0 + 7)
    assert run.handle_timer(T0 + 10) == [Hangup("normal")]  # second (last) attempt failed
    assert "number" not in run.variables


BRANCH = """
name: b
start: route
nodes:
  route:
    kind: branch
    cases:
      - when: {tier: vip, region: {in: [西安, 咸阳]}}
        next: vip
      - when: {balance: {ge: 10, lt: 100}}
        next: rich
      - when: {name: {set: false}}
        next: anonymous
    else: other
  vip: {kind: hangup, cause: vip}
  rich: {kind: hangup, cause: rich}
  anonymous: {kind: hangup, cause: anonymous}
  other: {kind: hangup, cause: other}
"""


def _branch(**variables: object) -> str:
    values = ", ".join(f"{key}: {value}" for key, value in variables.items())
    run = _run(BRANCH.replace("nodes:\n", f"variables: {{{values}}}\nnodes:\n"))
    hangup = run.start(T0)[-1]
    assert isinstance(hangup, Hangup)
    return hangup.cause


def test_branch_takes_the_first_case_whose_tests_all_hold() -> None:
    assert _branch(tier="vip", region="西安", name="王") == "vip"
    assert _branch(tier="vip", region="宝鸡", name="王") == "other"
    assert _branch(tier="vip", region="宝鸡", balance=10, name="王") == "rich"
    assert _branch(balance=100, name="王") == "other"
    assert _branch(balance="many", name="王") == "other"  # comparisons need numbers
    assert _branch(balance=5) == "anonymous"
    assert _branch(name="''") == "anonymous"


def test_set_renders_templates_and_keeps_plain_values() -> None:
    text = """
name: s
start: set
variables: {a: 甲}
nodes:
  set: {kind: set, values: {b: "{a}{call.did}", n: 3, flag: true}, next: say}
  say: {kind: hangup, say: [{text: "{b}-{n}-{missing}"}]}
"""
    run = _run(text)
    assert _play(run.start(T0)).items == (Speech("甲4006360888-3-"),)
    assert run.variables["n"] == 3 and run.variables["flag"] is True


def test_render_handles_literal_braces_and_whole_floats() -> None:
    assert render("{{x}} {a} {b} {c}", {"a": 2.0, "b": 2.5, "c": None}) == "{x} 2 2.5 "


SELF_SERVICE = """
name: s
start: identify
nodes:
  identify: {kind: identify, next: known, on_error: sorry}
  known:
    kind: branch
    cases: [{when: {customer.known: true}, next: offer}]
    else: sorry
  offer:
    kind: menu
    say: [{text: "您常订的是{customer.usual_order_text}，确认请按1"}]
    options: {"1": reorder}
    on_failure: bye
  reorder: {kind: reorder, next: ordered, on_error: sorry}
  ordered: {kind: hangup, say: [{text: "订单号{order.number}"}]}
  sorry: {kind: hangup, say: [{text: 抱歉}], cause: sorry}
  bye: {kind: hangup}
"""

KNOWN = {"customer_id": 7, "name": "王", "usual_order_text": "2桶矿泉水", "station_open": True}


def test_identify_then_reorder_places_the_order() -> None:
    run = _run(SELF_SERVICE)
    identify = _request(run.start(T0))
    assert identify.kind == "identify" and identify.args == {"caller": "13912345678", "did": "4006360888"}
    offer = _play(run.handle(RequestAnswered(identify.token, KNOWN), T0 + 0.1))
    assert offer.items == (Speech("您常订的是2桶矿泉水，确认请按1"),)
    assert run.variables["customer.known"] is True and run.variables["customer.name"] == "王"
    reorder = _request(run.handle(DigitPressed("1"), T0 + 2))
    assert reorder.kind == "reorder" and reorder.args == {"customer_id": 7, "call_id": "c1"}
    done = _play(run.handle(RequestAnswered(reorder.token, {"order_id": 41, "number": "0042"}), T0 + 2.2))
    assert done.items == (Speech("订单号0042"),)
    assert run.order_id == 41
    assert run.handle(PlaybackFinished(done.token), T0 + 5) == [Hangup("normal")]
    assert run.outcome is Outcome.ORDER_PLACED
    assert [s.node for s in run.path] == ["identify", "known", "offer", "reorder", "ordered"]


def test_an_unknown_caller_takes_the_other_branch() -> None:
    run = _run(SELF_SERVICE)
    identify = _request(run.start(T0))
    run.handle(RequestAnswered(identify.token, {"customer_id": None}), T0)
    assert run.variables["customer.known"] is False and run.node == "sorry"


def test_a_failed_request_continues_with_on_error_or_fails_the_call() -> None:
    run = _run(SELF_SERVICE)
    identify = _request(run.start(T0))
    assert run.handle(RequestAnswered(identify.token + 5, KNOWN), T0) == []  # unknown token
    run.handle(RequestFailed(identify.token, "store down"), T0)
    assert run.node == "sorry" and "store down" in run.path[0].detail
    run = _run(SELF_SERVICE.replace("next: known, on_error: sorry", "next: known"))
    identify = _request(run.start(T0))
    assert run.handle(RequestFailed(identify.token, "store down"), T0) == [Hangup("error")]
    assert run.outcome is Outcome.FAILED


def test_an_order_placed_as_the_caller_hangs_up_is_still_recorded() -> None:
    run = _run(SELF_SERVICE)
    identify = _request(run.start(T0))
    run.handle(RequestAnswered(identify.token, KNOWN), T0 + 0.1)
    reorder = _request(run.handle(DigitPressed("1"), T0 + 2))
    assert run.handle(CallerHungUp(), T0 + 2.1) == []
    assert run.finished and run.outcome is Outcome.ABANDONED and run.wrapping_up
    assert run.handle(DigitPressed("1"), T0 + 2.2) == []
    assert run.handle(RequestAnswered(reorder.token, {"order_id": 77, "number": "7"}), T0 + 2.3) == []
    assert run.order_id == 77 and _outcome(run) is Outcome.ORDER_PLACED and not run.wrapping_up
    assert run.handle(RequestAnswered(reorder.token, {"order_id": 78}), T0 + 2.4) == []  # only once
    assert run.order_id == 77


def test_a_request_failing_after_the_hang_up_changes_nothing() -> None:
    run = _run(SELF_SERVICE)
    identify = _request(run.start(T0))
    run.handle(CallerHungUp(), T0 + 0.05)
    run.handle(RequestFailed(identify.token, "timeout"), T0 + 1)
    assert run.outcome is Outcome.ABANDONED and not run.wrapping_up
    assert "identify failed" in run.path[-1].detail


def test_digits_pressed_while_a_request_is_pending_are_typed_ahead() -> None:
    run = _run(SELF_SERVICE)
    identify = _request(run.start(T0))
    assert run.handle(DigitPressed("1"), T0 + 0.05) == []
    actions = run.handle(RequestAnswered(identify.token, KNOWN), T0 + 0.1)
    assert _request(actions).kind == "reorder"  # the offer was skipped by the typed-ahead '1'


def test_order_status_complaint_and_clock_requests() -> None:
    text = """
name: r
start: status
variables: {complaint_reason: 水质问题}
nodes:
  status: {kind: order_status, next: complain}
  complain: {kind: complaint, reason: "{complaint_reason}", next: clock}
  clock: {kind: clock, station: station, next: bye}
  bye: {kind: hangup, say: [{text: "{status.state_text}{complaint.ticket_id}{clock.open}"}]}
"""
    run = _run(text.replace("nodes:", "  customer.customer_id: 7\n  station: 3\nnodes:").replace(
        "variables: {complaint_reason: 水质问题}", "variables:\n  complaint_reason: 水质问题"))
    status = _request(run.start(T0))
    assert status.kind == "order_status" and status.args == {"customer_id": 7}
    complaint = _request(run.handle(RequestAnswered(status.token, {"state_text": "配送中"}), T0))
    assert complaint.kind == "complaint"
    assert complaint.args == {"reason": "水质问题", "customer_id": 7, "call_id": "c1"}
    clock = _request(run.handle(RequestAnswered(complaint.token, {"ticket_id": 12}), T0))
    assert clock.kind == "clock" and clock.args == {"station_id": 3}
    bye = _play(run.handle(RequestAnswered(clock.token, {"open": False}), T0))
    assert bye.items == (Speech("配送中12False"),)
    assert run.ticket_ids == [12]


VOICEMAIL = """
name: v
start: vm
nodes:
  vm:
    kind: voicemail
    say: [{prompt: voicemail}]
    max_seconds: 30
    silence_seconds: 4
    next: bye
  bye: {kind: hangup, say: [{prompt: goodbye}]}
"""


def test_voicemail_records_then_asks_for_a_missed_call_task() -> None:
    run = _run(VOICEMAIL)
    prompt = _play(run.start(T0))
    assert run.handle(DigitPressed("1"), T0 + 1) == []  # not a barge-in prompt
    record = _one(run.handle(PlaybackFinished(prompt.token), T0 + 6), Record)
    assert record == Record(record.token, 30.0, 4.0, True)
    task = _request(run.handle(RecordingFinished(record.token, 88, 12.5), T0 + 20))
    assert task.kind == "missed_call"
    assert task.args == {"recording_id": 88, "caller": "13912345678", "call_id": "c1"}
    bye = _play(run.handle(RequestAnswered(task.token, {"task_id": 5}), T0 + 20.1))
    assert run.recording_ids == [88] and run.task_ids == [5]
    run.handle(PlaybackFinished(bye.token), T0 + 24)
    assert run.outcome is Outcome.VOICEMAIL and "message 88 (12.5 s)" in run.path[0].detail


def test_voicemail_without_a_message_creates_no_task() -> None:
    run = _run(VOICEMAIL)
    prompt = _play(run.start(T0))
    record = _one(run.handle(PlaybackFinished(prompt.token), T0 + 6), Record)
    _play(run.handle(RecordingFinished(record.token, None, 0.0), T0 + 10))
    assert run.node == "bye" and run.recording_ids == [] and run.task_ids == []


def test_a_caller_hanging_up_while_recording_still_leaves_a_voicemail() -> None:
    run = _run(VOICEMAIL)
    prompt = _play(run.start(T0))
    record = _one(run.handle(PlaybackFinished(prompt.token), T0 + 6), Record)
    task = _request(run.handle(RecordingFinished(record.token, 90, 8.0), T0 + 14))
    assert run.handle(CallerHungUp(), T0 + 14.1) == []
    assert run.outcome is Outcome.VOICEMAIL and run.hangup_side == "caller"
    assert run.wrapping_up  # the task request is still in flight
    assert run.handle(RequestAnswered(task.token, {"task_id": 6}), T0 + 14.2) == []
    assert run.task_ids == [6] and not run.wrapping_up


def test_a_message_ended_by_the_hang_up_still_gets_its_task() -> None:
    run = _run(VOICEMAIL)
    prompt = _play(run.start(T0))
    record = _one(run.handle(PlaybackFinished(prompt.token), T0 + 6), Record)
    assert run.handle(CallerHungUp(), T0 + 20) == []  # the usual end of a message
    assert run.outcome is Outcome.ABANDONED and run.wrapping_up
    task = _request(run.handle(RecordingFinished(record.token, 91, 14.0), T0 + 20.3))
    assert task.kind == "missed_call" and task.args["recording_id"] == 91
    assert _outcome(run) is Outcome.VOICEMAIL and run.recording_ids == [91] and run.wrapping_up
    assert run.handle(RequestAnswered(task.token + 1, {"task_id": 1}), T0 + 20.4) == []  # not that one
    run.handle(RequestAnswered(task.token, {"task_id": 8}), T0 + 20.5)
    assert run.task_ids == [8] and not run.wrapping_up


def test_a_hang_up_before_any_message_leaves_none() -> None:
    run = _run(VOICEMAIL)
    prompt = _play(run.start(T0))
    record = _one(run.handle(PlaybackFinished(prompt.token), T0 + 6), Record)
    run.handle(CallerHungUp(), T0 + 7)
    assert run.handle(RecordingFinished(record.token, None, 0.0), T0 + 7.1) == []
    assert run.outcome is Outcome.ABANDONED and not run.wrapping_up and run.recording_ids == []


TRANSFER = """
name: x
start: xfer
variables: {agent: "13800000001"}
nodes:
  xfer:
    kind: transfer
    say: [{text: 正在转接。}]
    target: "{agent}"
    next: survey
    on_failure: busy
  survey:
    kind: survey
    say: [{prompt: survey}]
    scale: 5
    invalid_say: [{text: 请按1到5。}]
    next: bye
    on_failure: bye
  busy: {kind: hangup, say: [{prompt: agents_busy}]}
  bye: {kind: hangup}
"""


def test_transfer_then_survey_scores_the_call() -> None:
    run = _run(TRANSFER)
    prompt = _play(run.start(T0))
    transfer = _one(run.handle(PlaybackFinished(prompt.token), T0 + 1), Transfer)
    assert transfer.target == "13800000001"
    assert run.transfer_target == "13800000001"
    assert run.handle(DigitPressed("5"), T0 + 30) == []  # digits during the agent leg are not the flow's
    survey = _play(run.handle(TransferEnded(transfer.token, True), T0 + 60))
    assert survey.items == (Prompt("survey"),)
    retry = run.handle(DigitPressed("7"), T0 + 61)
    assert _play(retry).items == (Speech("请按1到5。"), Prompt("survey"))
    assert run.handle(DigitPressed("4"), T0 + 62)[-1] == Hangup("normal")
    assert run.survey_score == 4 and run.variables["survey"] == 4
    assert run.outcome is Outcome.TRANSFERRED


def test_a_failed_transfer_continues_with_on_failure() -> None:
    run = _run(TRANSFER)
    prompt = _play(run.start(T0))
    transfer = _one(run.handle(PlaybackFinished(prompt.token), T0 + 1), Transfer)
    assert isinstance(transfer, Transfer)
    busy = _play(run.handle(TransferEnded(transfer.token, False), T0 + 20))
    assert busy.items == (Prompt("agents_busy"),) and run.transfer_target is None


def test_a_caller_hanging_up_during_the_transfer_counts_as_transferred() -> None:
    run = _run(TRANSFER)
    prompt = _play(run.start(T0))
    run.handle(PlaybackFinished(prompt.token), T0 + 1)
    run.handle(CallerHungUp(), T0 + 40)
    assert run.outcome is Outcome.TRANSFERRED and run.finished


def test_a_queue_node_names_its_queue_and_fallback() -> None:
    text = """
name: q
start: q
nodes:
  q: {kind: queue, queue: sales, fallback: "1390000{ext}", on_failure: bye}
  bye: {kind: hangup}
"""
    run = _run(text.replace("nodes:", "variables: {ext: '0001'}\nnodes:"))
    transfer = _one(run.start(T0), Transfer)
    assert isinstance(transfer, Transfer) and transfer.target == "13900000001" and transfer.queue == "sales"
    assert "queue sales (fallback 13900000001)" in run.path[0].detail
    assert run.handle(TransferEnded(transfer.token, True, "agent kefu01"), T0 + 50) == [Hangup("transferred")]
    assert run.outcome is Outcome.TRANSFERRED
    assert "agent kefu01" in run.path[0].detail


def test_a_queue_that_overflows_to_voicemail_takes_the_failure_branch() -> None:
    text = """
name: q
start: q
nodes:
  q: {kind: queue, queue: sales, fallback: "13900000001", on_failure: bye}
  bye: {kind: hangup, outcome: voicemail}
"""
    run = _run(text)
    transfer = _one(run.start(T0), Transfer)
    assert isinstance(transfer, Transfer)
    out = run.handle(TransferEnded(transfer.token, False, "queue sales: full -> voicemail"), T0 + 1)
    assert out == [Hangup("normal")]
    assert [step.node for step in run.path] == ["q", "bye"]
    assert "queue sales: full -> voicemail" in run.path[0].detail


def test_a_hangup_node_may_set_the_outcome() -> None:
    text = "name: h\nanswer: false\nstart: no\nnodes:\n  no: {kind: hangup, cause: barred, outcome: blocked}"
    run = _run(text)
    assert run.start(T0) == [Hangup("barred")]  # not answered first
    assert run.outcome is Outcome.BLOCKED


def test_a_caller_hanging_up_early_abandons_the_call_and_ends_the_run() -> None:
    run = _run(MENU)
    play = _play(run.start(T0))
    assert run.handle(CallerHungUp(), T0 + 2) == []
    assert run.finished and run.outcome is Outcome.ABANDONED and run.hangup_side == "caller"
    assert run.handle(PlaybackFinished(play.token), T0 + 3) == []
    assert run.handle(DigitPressed("1"), T0 + 3) == [] and run.get_timer() is None
    assert run.handle_timer(T0 + 100) == []
    assert "caller hung up" in run.path[-1].detail


def test_a_caller_hanging_up_during_the_goodbye_completed_the_call() -> None:
    run = _run(MENU)
    play = _play(run.start(T0))
    run.handle(PlaybackFinished(play.token), T0 + 7)
    run.handle(DigitPressed("9"), T0 + 8)
    run.handle(DigitPressed("9"), T0 + 9)
    run.handle(DigitPressed("9"), T0 + 10)
    run.handle(CallerHungUp(), T0 + 11)
    assert run.outcome is Outcome.IVR_COMPLETED


def test_a_loop_without_input_fails_cleanly() -> None:
    text = """
name: loop
start: a
nodes:
  a: {kind: set, values: {x: 1}, next: b}
  b: {kind: branch, cases: [{when: {x: 1}, next: a}], else: c}
  c: {kind: hangup}
"""
    run = _run(text)
    actions = run.start(T0)
    assert actions == [Answer(), Hangup("loop")]
    assert run.outcome is Outcome.FAILED and len(run.path) == MAX_STEPS_WITHOUT_INPUT
    assert "without input" in run.path[-1].detail


def test_a_menu_loop_with_input_is_not_a_loop() -> None:
    text = MENU.replace('"2": two', '"2": menu')
    run = _run(text)
    token = _play(run.start(T0)).token
    for index in range(MAX_STEPS_WITHOUT_INPUT + 5):
        actions = run.handle(DigitPressed("2"), T0 + index)
        token = _play(actions).token
    assert not run.finished and token > MAX_STEPS_WITHOUT_INPUT


def test_a_run_keeps_the_flow_it_was_started_with() -> None:
    old = parse_flow(MENU)
    run = FlowRun(old, caller="1", did="2", call_id="c", now=T0, rng=random.Random(0))
    run.start(T0)
    new = parse_flow(MENU.replace('"1": one', '"1": two'))  # the store's next version
    assert new != old
    run.handle(DigitPressed("1"), T0 + 1)
    assert run.flow is old and run.node == "one"


def test_events_before_start_are_ignored() -> None:
    run = _run(MENU)
    assert run.handle(DigitPressed("1"), T0) == [] and run.path == []


def test_identify_sends_the_chosen_region_when_the_node_names_one() -> None:
    text = """
name: r
start: who
variables: {choice: 宝鸡市}
nodes:
  who: {kind: identify, region: "{choice}", next: bye}
  bye: {kind: hangup}
"""
    identify = _request(_run(text).start(T0))
    assert identify.args == {"caller": "13912345678", "did": "4006360888", "region_city": "宝鸡市"}
