"""The agent store (contacts, states, state log) and the migration 0005 schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from argon2 import PasswordHasher
from sqlalchemy import Engine, inspect
from sqlalchemy.orm import Session, sessionmaker

import waterline.adapters.db.agents
import waterline.adapters.db.queues  # noqa: F401  (register the tables on the metadata)
from waterline.adapters.db.metadata import metadata
from waterline.adapters.db.migrations import downgrade
from waterline.adapters.db.orm import start_mappers
from waterline.adapters.db.unit_of_work import SqlAlchemyUnitOfWork
from waterline.adapters.db.users import UserRepository
from waterline.domain.agents import AgentContact, AgentState, AgentStateChange, ContactKind
from waterline.domain.errors import Conflict
from waterline.domain.users import Role

T0 = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
NEW_TABLES = {"agent_contacts", "agent_states", "agent_state_log", "queues", "queue_members", "queue_log"}
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def _users(factory: sessionmaker[Session]) -> dict[str, int]:
    with factory() as session:
        repo = UserRepository(session, FAST)
        ids = {
            "li": repo.add("li", Role.AGENT, "password-1", now=T0, display_name="李娜",
                           sip_password="sip-pass-1").id,
            "wu": repo.add("wu", Role.AGENT, "password-1", now=T0).id,
            "boss": repo.add("boss", Role.MANAGER, "password-1", now=T0).id,
        }
        session.commit()
    return ids


def test_migration_0005_matches_the_tables(db_engine: Engine) -> None:
    start_mappers()
    assert NEW_TABLES <= set(inspect(db_engine).get_table_names())
    with db_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert list(compare_metadata(context, metadata)) == []


def test_downgrade_to_0004_drops_only_the_agent_tables(migrated_db_url: str) -> None:
    downgrade(migrated_db_url, "0004")
    from waterline.adapters.db.engine import create_engine

    engine = create_engine(migrated_db_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert not NEW_TABLES & tables
    assert {"calls", "users", "stations"} <= tables


def test_agents_listed_with_state_only_agents(session_factory: sessionmaker[Session]) -> None:
    ids = _users(session_factory)
    uow = SqlAlchemyUnitOfWork(session_factory)
    with uow:
        listed = uow.agents.statuses()
        assert [(a.username, a.state, a.since) for a in listed] == [
            ("li", AgentState.LOGGED_OUT, None), ("wu", AgentState.LOGGED_OUT, None)
        ]
        assert uow.agents.status(ids["boss"]) is None
        li = uow.agents.by_username("li")
        assert li is not None and li.user_id == ids["li"] and li.display_name == "李娜"


def test_state_changes_are_logged_and_compare_and_set(session_factory: sessionmaker[Session]) -> None:
    ids = _users(session_factory)
    li = ids["li"]
    uow = SqlAlchemyUnitOfWork(session_factory)
    with uow:
        first = uow.agents.change_state(AgentStateChange(li, T0, AgentState.LOGGED_OUT, AgentState.AVAILABLE,
                                                         reason="login", by="api:li"))
        uow.agents.change_state(AgentStateChange(li, T0 + timedelta(minutes=5), AgentState.AVAILABLE,
                                                 AgentState.PAUSED, reason="用餐", by="api:li"))
        uow.commit()
    assert first.id is not None
    with uow:
        status = uow.agents.status(li)
        assert status is not None
        paused_at = T0 + timedelta(minutes=5)
        assert (status.state, status.reason, status.since) == (AgentState.PAUSED, "用餐", paused_at)
        log = uow.agents.log(li)
        assert [(c.from_state, c.to_state, c.reason, c.by) for c in log] == [
            (AgentState.AVAILABLE, AgentState.PAUSED, "用餐", "api:li"),
            (AgentState.LOGGED_OUT, AgentState.AVAILABLE, "login", "api:li"),
        ]
        later = uow.agents.log(li, since=T0 + timedelta(minutes=1))
        assert [c.to_state for c in later] == [AgentState.PAUSED]
        assert uow.agents.log(ids["wu"]) == []
    with uow:
        # someone else moved him first: the stored state is paused, not available
        with pytest.raises(Conflict):
            uow.agents.change_state(AgentStateChange(li, T0, AgentState.AVAILABLE, AgentState.RINGING))
    with uow:
        with pytest.raises(Conflict):  # no row yet, and the change claims he was not logged out
            uow.agents.change_state(AgentStateChange(ids["wu"], T0, AgentState.AVAILABLE, AgentState.PAUSED))
    with uow:
        assert len(uow.agents.log(li)) == 2


def test_contacts_by_priority_and_unique(session_factory: sessionmaker[Session]) -> None:
    ids = _users(session_factory)
    uow = SqlAlchemyUnitOfWork(session_factory)
    with uow:
        phone = AgentContact(ids["li"], ContactKind.MOBILE, "13991110009", priority=1)
        mobile = uow.agents.add_contact(phone)
        uow.agents.add_contact(AgentContact(ids["li"], ContactKind.SIP, "li", priority=0))
        uow.commit()
    with uow:
        assert [(c.kind, c.address) for c in uow.agents.contacts(ids["li"])] == [
            (ContactKind.SIP, "li"), (ContactKind.MOBILE, "13991110009")
        ]
    with uow:
        with pytest.raises(Conflict):
            uow.agents.add_contact(AgentContact(ids["wu"], ContactKind.MOBILE, "13991110009"))
    with uow:
        assert mobile.id is not None and uow.agents.remove_contact(mobile.id)
        assert not uow.agents.remove_contact(mobile.id)
        uow.commit()
    with uow:
        assert [c.address for c in uow.agents.contacts(ids["li"])] == ["li"]


def test_cli_users_add_makes_an_agent_whose_sip_username_is_the_name(migrated_db_url: str) -> None:
    from typer.testing import CliRunner

    from waterline.adapters.db.engine import create_engine, create_session_factory
    from waterline.adapters.db.users import sip_ha1
    from waterline.cli import app

    args = ["users", "add", "zhao", "--role", "agent", "--password", "password-1",
            "--sip-password", "s3cret-9", "--db", migrated_db_url]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    engine = create_engine(migrated_db_url)
    try:
        factory = create_session_factory(engine)
        with factory() as session:
            credentials = UserRepository(session).sip_credentials("zhao")
        assert credentials is not None
        # the digest a phone registering as "zhao" with the SIP password must match
        assert credentials.ha1_md5 == sip_ha1("zhao", credentials.realm, "s3cret-9")
        uow = SqlAlchemyUnitOfWork(factory)
        with uow:
            agent = uow.agents.by_username("zhao")
            assert agent is not None and agent.state is AgentState.LOGGED_OUT
    finally:
        engine.dispose()
