"""Blind transfer from the agent's phone: a REFER (RFC 3515) in the agent leg of a bridged ACD call.

The phone's transfer key sends ``REFER`` with ``Refer-To: <sip:kefu2@...>``; the user part names an agent
(username) or a queue. The transfer is the console's ``call.transfer``: the agent is released, the caller
queues again. The REFER is always accepted (202) and its outcome reported in the NOTIFYs: ``100 Trying``,
then ``200 OK`` just before the agent's leg is hung up, or a failure (``404`` for an unknown target) that
leaves the call bridged.
"""

from __future__ import annotations

from collections.abc import Callable

from waterline.calls import live
from waterline.sip import events as ev
from waterline.telephony.eventport import CommandRefused

Transfer = Callable[[live.TransferCall, Callable[[], None]], object]
"""Carries out a transfer, calling its second argument just before it hangs up the agent's leg."""

REFUSAL_STATUS = {"unknown_queue": 404, "agent_unavailable": 480}
"""The sipfrag status a refused transfer reports, by refusal code (403 for any other)."""


def transfer_command(call_id: str, target: str | None, by: str, *, knows_queue: Callable[[str], bool],
                     knows_agent: Callable[[str], bool]) -> live.TransferCall | None:
    """The ``call.transfer`` a REFER to ``target`` (the Refer-To user part) asks for; None when it names
    neither a queue nor an agent. A queue wins over an agent of the same name."""
    if not target:
        return None
    if knows_queue(target):
        return live.TransferCall(call_id, queue=target, by=by)
    if knows_agent(target):
        return live.TransferCall(call_id, agent=target, by=by)
    return None


def referred(event: ev.ReferReceived, *, call_id: str, agent: str, send: Callable[[ev.Command], object],
             knows_queue: Callable[[str], bool], knows_agent: Callable[[str], bool],
             transfer: Transfer) -> int:
    """Answer ``agent``'s REFER on call ``call_id`` and carry the transfer out; returns the final sipfrag
    status reported (200 when the caller was handed on)."""
    send(ev.AcceptRefer(event.call))
    command = transfer_command(call_id, event.refer_user, agent, knows_queue=knows_queue,
                               knows_agent=knows_agent)
    if command is None:
        send(ev.NotifyRefer(event.call, 404))
        return 404

    def done() -> None:
        send(ev.NotifyRefer(event.call, 200))

    try:
        transfer(command, done)
    except CommandRefused as refused:
        status = REFUSAL_STATUS.get(refused.code, 403)
        send(ev.NotifyRefer(event.call, status))
        return status
    return 200
