"""The phone's blind transfer glue: Refer-To user → call.transfer, and the outcome as NOTIFY statuses."""

from __future__ import annotations

from collections.abc import Callable

from waterline.calls import live
from waterline.sip import events as ev
from waterline.telephony.eventport import CommandRefused
from waterline.telephony.refer import referred, transfer_command

QUEUES = {"default", "complaints"}
AGENTS = {"kefu1", "kefu2", "default"}


def command(target: str | None) -> live.TransferCall | None:
    return transfer_command("c1", target, "kefu1", knows_queue=QUEUES.__contains__,
                            knows_agent=AGENTS.__contains__)


def test_the_refer_to_user_names_a_queue_first_then_an_agent() -> None:
    assert command("complaints") == live.TransferCall("c1", queue="complaints", by="kefu1")
    assert command("kefu2") == live.TransferCall("c1", agent="kefu2", by="kefu1")
    assert command("default") == live.TransferCall("c1", queue="default", by="kefu1")
    assert command("nobody") is None
    assert command(None) is None


class Transfers:
    def __init__(self, refusal: CommandRefused | None = None) -> None:
        self.refusal = refusal
        self.done: list[live.TransferCall] = []

    def __call__(self, command: live.TransferCall, before_hangup: Callable[[], None]) -> None:
        if self.refusal is not None:
            raise self.refusal
        before_hangup()
        self.done.append(command)


def run(target: str, transfers: Transfers) -> tuple[int, list[ev.Command]]:
    sent: list[ev.Command] = []
    event = ev.ReferReceived("leg9", f"sip:{target}@127.0.0.1", target, None)
    status = referred(event, call_id="c1", agent="kefu1", send=sent.append, knows_queue=QUEUES.__contains__,
                      knows_agent=AGENTS.__contains__, transfer=transfers)
    return status, sent


def test_a_transfer_is_accepted_and_notified_200_before_the_agent_is_hung_up() -> None:
    transfers = Transfers()
    status, sent = run("kefu2", transfers)
    assert status == 200
    assert sent == [ev.AcceptRefer("leg9"), ev.NotifyRefer("leg9", 200)]
    assert transfers.done == [live.TransferCall("c1", agent="kefu2", by="kefu1")]


def test_an_unknown_target_is_notified_404_and_nothing_is_transferred() -> None:
    transfers = Transfers()
    assert run("nobody", transfers) == (404, [ev.AcceptRefer("leg9"), ev.NotifyRefer("leg9", 404)])
    assert transfers.done == []


def test_a_refused_transfer_is_notified_with_a_matching_status() -> None:
    away = Transfers(CommandRefused("agent_unavailable", "该坐席未签入", "not logged in"))
    assert run("kefu2", away) == (480, [ev.AcceptRefer("leg9"), ev.NotifyRefer("leg9", 480)])
    gone = Transfers(CommandRefused("unknown_call", "没有", "no call"))
    assert run("kefu2", gone)[0] == 403
