"""Queues as configuration: the JSON form of the ACD's ``QueueConfig``, and the service functions that
create and change queues, their members, and append the ACD's records to the queue log.

The JSON form is what the store keeps and what the API takes (``config`` of ``POST /api/queues``):
the ``QueueConfig`` fields by name except ``name``; ``strategy`` by value; ``tiers`` as
``[{"level": 1, "after_seconds": 20}]``; ``overflow`` as ``[{"queue": "orders-weiyang"},
{"voicemail": true}, {"mobile": "13991110001"}]``. Missing fields take the ACD's defaults.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from waterline.calls.queue import (
    OverflowMobile,
    OverflowQueue,
    OverflowTarget,
    OverflowVoicemail,
    QueueConfig,
    QueueConfigError,
    QueueMember,
    Strategy,
    Tier,
)
from waterline.calls.queuelog import QueueEvent, QueueLogEntry
from waterline.domain.agents import QueuePurpose
from waterline.domain.errors import InvalidInput, found
from waterline.domain.phones import normalise
from waterline.domain.queuelog import QueueLogRecord
from waterline.domain.tasks import Task, TaskKind
from waterline.services.ports import QueueDefinition, UnitOfWork

__all__ = [
    "config_from_json",
    "config_to_json",
    "create_queue",
    "log_record",
    "set_members",
    "store_log",
    "update_queue",
]

_FIELDS = {f.name: f for f in dataclasses.fields(QueueConfig) if f.name != "name"}


def _overflow_to_json(target: OverflowTarget) -> dict[str, Any]:
    if isinstance(target, OverflowQueue):
        return {"queue": target.queue}
    if isinstance(target, OverflowMobile):
        return {"mobile": target.number}
    return {"voicemail": True}


def config_to_json(config: QueueConfig) -> dict[str, Any]:
    """Every field of ``config`` but the name, as JSON-ready values."""
    out: dict[str, Any] = {}
    for name in _FIELDS:
        value = getattr(config, name)
        if name == "strategy":
            value = value.value
        elif name == "tiers":
            value = [{"level": t.level, "after_seconds": t.after_seconds} for t in value]
        elif name == "overflow":
            value = [_overflow_to_json(t) for t in value]
        out[name] = value
    return out


def _invalid(name: str, detail: str) -> InvalidInput:
    return InvalidInput("queue.invalid_config", detail=f"{name}: {detail}")


def _overflow_from_json(name: str, item: Any) -> OverflowTarget:
    if isinstance(item, Mapping) and len(item) == 1:
        if isinstance(item.get("queue"), str):
            return OverflowQueue(item["queue"])
        if item.get("voicemail") is True:
            return OverflowVoicemail()
        if isinstance(item.get("mobile"), str):
            try:
                return OverflowMobile(normalise(item["mobile"]))
            except InvalidInput:
                raise _invalid(name, f"overflow mobile {item['mobile']!r} is no phone number") from None
    raise _invalid(name, f"overflow step {item!r} is none of queue/voicemail/mobile")


def config_from_json(name: str, data: Mapping[str, Any]) -> QueueConfig:
    """The ``QueueConfig`` named ``name`` from its JSON form; ``InvalidInput`` (bilingual) when a field
    is unknown, of the wrong shape, or the ACD refuses the combination."""
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise _invalid(name, f"unknown fields {', '.join(unknown)}")
    values: dict[str, Any] = {}
    try:
        for key, value in data.items():
            if key == "strategy":
                values[key] = Strategy(value)
            elif key == "tiers":
                values[key] = tuple(Tier(int(t["level"]), float(t["after_seconds"])) for t in value)
            elif key == "overflow":
                values[key] = tuple(_overflow_from_json(name, t) for t in value)
            else:
                values[key] = value
        config = QueueConfig(name=name, **values)
    except InvalidInput:
        raise
    except (QueueConfigError, ValueError, TypeError, KeyError) as exc:
        raise _invalid(name, str(exc)) from exc
    defaults = QueueConfig(name=name)
    for key, value in values.items():
        # a JSON true where a number belongs passes the ACD's own checks (True > 0), so refuse it here
        if isinstance(value, bool) is not isinstance(getattr(defaults, key), bool):
            raise _invalid(name, f"{key} has the wrong type")
    return config


def create_queue(
    uow: UnitOfWork, *, station_id: int, purpose: QueuePurpose, config: QueueConfig,
    members: Sequence[QueueMember], now: datetime,
) -> QueueDefinition:
    """Store a new queue of ``station_id`` with its members; ``NotFound`` for an unknown station or
    agent, ``Conflict`` when the name or the station's purpose is taken."""
    with uow:
        found(uow.stations.get(station_id), "station", station_id)
        stored = uow.queues.add(QueueDefinition(station_id, purpose, config, now))
        assert stored.id is not None
        uow.queues.set_members(stored.id, members)
        result = found(uow.queues.get(stored.id), "queue", stored.id)
        uow.commit()
    return result


def update_queue(
    uow: UnitOfWork, queue_id: int, *, station_id: int, purpose: QueuePurpose, config: QueueConfig,
    members: Sequence[QueueMember] | None, now: datetime,
) -> QueueDefinition:
    """Replace a queue's station, purpose, configuration and (when given) members."""
    with uow:
        current = found(uow.queues.get(queue_id), "queue", queue_id)
        found(uow.stations.get(station_id), "station", station_id)
        uow.queues.save(dataclasses.replace(current, station_id=station_id, purpose=purpose, config=config,
                                            updated_at=now))
        if members is not None:
            uow.queues.set_members(queue_id, members)
        result = found(uow.queues.get(queue_id), "queue", queue_id)
        uow.commit()
    return result


def set_members(uow: UnitOfWork, queue_id: int, members: Sequence[QueueMember]) -> QueueDefinition:
    """Replace a queue's members; ``NotFound`` for an unknown queue or a name that is no agent."""
    with uow:
        found(uow.queues.get(queue_id), "queue", queue_id)
        uow.queues.set_members(queue_id, members)
        result = found(uow.queues.get(queue_id), "queue", queue_id)
        uow.commit()
    return result


def log_record(entry: QueueLogEntry) -> QueueLogRecord:
    """The stored form of one ACD queue log entry (the ACD's ``now`` is epoch seconds)."""
    return QueueLogRecord(
        at=datetime.fromtimestamp(entry.at, UTC), queue=entry.queue, call_id=entry.call_id,
        event=entry.event.value, agent=entry.agent, position=entry.position, wait=entry.wait,
        reason=entry.detail,
    )


def store_log(uow: UnitOfWork, entries: Iterable[QueueLogEntry]) -> int:
    """Append ACD entries to the queue log in one transaction; returns how many.

    Queue call-backs are tracked as tasks in the same transaction: a caller who pressed 1 opens a
    ``queue_callback`` task; it is done once the agent and the customer are connected, and a call-back that
    could not reach the customer stays open, noted, for a person to ring back.
    """
    entries = list(entries)
    records = [log_record(entry) for entry in entries]
    with uow:
        uow.queue_log.add_many(records)
        for entry in entries:
            _track_callback(uow, entry)
        uow.commit()
    return len(records)


def _track_callback(uow: UnitOfWork, entry: QueueLogEntry) -> None:
    at = datetime.fromtimestamp(entry.at, UTC)
    if entry.event is QueueEvent.CALLBACK_REQUESTED:
        record = uow.calls.get_by_call_id(entry.call_id)
        uow.tasks.add(Task(
            kind=TaskKind.QUEUE_CALLBACK, caller=record.caller if record is not None else "", created_at=at,
            call_id=entry.call_id, customer_id=record.customer_id if record is not None else None,
            note=f"排队回拨（队列 {entry.queue}）/ queue call-back ({entry.queue})",
        ))
        return
    if entry.event not in (QueueEvent.CALLBACK_CONNECTED, QueueEvent.CALLBACK_FAILED):
        return
    task = uow.tasks.find_open(entry.call_id, TaskKind.QUEUE_CALLBACK)
    if task is None:
        return
    if entry.event is QueueEvent.CALLBACK_CONNECTED:
        task.note += f"；已回拨接通（坐席 {entry.agent}）/ connected to {entry.agent}"
        task.mark_done(at=at, by=None)
    else:
        task.note += (f"；自动回拨未接通（{entry.detail}），请人工回电"
                      f" / call-back failed ({entry.detail}): ring back")
    uow.tasks.save(task)
