"""The flow store: versions, publishing, DID routes, the per-call lookup; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from waterline.adapters.db.unit_of_work import SqlAlchemyUnitOfWork
from waterline.domain.errors import Conflict

AT = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)


def test_versions_count_up_per_flow_and_keep_their_text(session_factory: sessionmaker[Session]) -> None:
    uow = SqlAlchemyUnitOfWork(session_factory)
    with uow:
        first = uow.flows.add_version("default", "v1", author="owner", at=AT)
        second = uow.flows.add_version("default", "v2", author="manager", at=AT)
        other = uow.flows.add_version("bench-ivr", "b1", author="owner", at=AT)
        uow.commit()
    assert (first.version, second.version, other.version) == (1, 2, 1)
    with uow:
        assert [v.text for v in uow.flows.versions("default")] == ["v2", "v1"]
        summary = uow.flows.get("default")
        assert summary is not None and summary.latest_version == 2 and summary.current_version is None
        assert [f.name for f in uow.flows.all()] == ["bench-ivr", "default"]
        found = uow.flows.get_version("default", 1)
        assert found is not None and found.author == "owner" and found.created_at == AT
        assert uow.flows.get_version("default", 3) is None


def test_current_for_did_follows_publish_and_route(session_factory: sessionmaker[Session]) -> None:
    uow = SqlAlchemyUnitOfWork(session_factory)
    with uow:
        uow.flows.add_version("default", "v1", author="owner", at=AT)
        uow.flows.add_version("default", "v2", author="owner", at=AT)
        uow.flows.set_route("4006360888", "default", at=AT)
        assert uow.flows.current_for_did("4006360888") is None  # nothing published yet
        uow.flows.publish("default", 1, at=AT)
        current = uow.flows.current_for_did("4006360888")
        assert current is not None and current.text == "v1"
        uow.flows.publish("default", 2, at=AT)
        current = uow.flows.current_for_did("4006360888")
        assert current is not None and current.text == "v2"
        assert uow.flows.current_for_did("4008000000") is None
        uow.flows.add_version("other", "o1", author="owner", at=AT)
        uow.flows.publish("other", 1, at=AT)
        uow.flows.set_route("4006360888", "other", at=AT)  # re-routing replaces, not duplicates
        assert [(r.did, r.flow_name) for r in uow.flows.routes()] == [("4006360888", "other")]
        current = uow.flows.current_for_did("4006360888")
        assert current is not None and current.text == "o1"
        assert uow.flows.remove_route("4006360888") is True
        assert uow.flows.remove_route("4006360888") is False
        assert uow.flows.current_for_did("4006360888") is None


def test_route_to_unknown_flow_is_refused(session_factory: sessionmaker[Session]) -> None:
    uow = SqlAlchemyUnitOfWork(session_factory)
    with uow, pytest.raises(Conflict):
        uow.flows.set_route("4006360888", "nope", at=AT)
        uow.commit()
