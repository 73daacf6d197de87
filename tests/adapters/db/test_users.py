from __future__ import annotations

from datetime import UTC, datetime

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from waterline.adapters.db.users import UsernameTaken, UserRepository, sip_ha1, users_table
from waterline.domain.users import InvalidUser, Role

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
# Cheap parameters: the tests check behaviour, not hashing cost.
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def test_add_and_authenticate(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        repo = UserRepository(session, FAST)
        user = repo.add("wang", Role.AGENT, "correct horse", now=NOW, display_name="王芳")
        session.commit()
    with session_factory() as session:
        repo = UserRepository(session, FAST)
        assert repo.authenticate("wang", "correct horse", now=NOW) == user
        assert repo.authenticate("wang", "wrong horse", now=NOW) is None
        assert repo.authenticate("nobody", "correct horse", now=NOW) is None
        assert repo.get(user.id) == user
        assert repo.get_by_username("wang") == user
        assert user.display_name == "王芳" and user.role is Role.AGENT


def test_password_is_stored_as_argon2_hash(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        UserRepository(session, FAST).add("li", Role.OWNER, "s3cret-pass", now=NOW)
        stored = session.execute(select(users_table.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$")
    assert "s3cret-pass" not in stored


def test_duplicate_username_refused(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        repo = UserRepository(session, FAST)
        repo.add("zhao", Role.COURIER, "password1", now=NOW)
        with pytest.raises(UsernameTaken):
            repo.add("zhao", Role.AGENT, "password2", now=NOW)
        assert repo.count() == 1


def test_bad_username_and_short_password_refused(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        repo = UserRepository(session, FAST)
        with pytest.raises(InvalidUser):
            repo.add("Bad Name", Role.AGENT, "password1", now=NOW)
        with pytest.raises(InvalidUser):
            repo.add("good", Role.AGENT, "short", now=NOW)
        assert repo.count() == 0


def test_disabled_user_cannot_log_in(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        repo = UserRepository(session, FAST)
        user = repo.add("sun", Role.DISPATCHER, "password1", now=NOW)
        repo.set_active(user.id, False, now=NOW)
        assert repo.authenticate("sun", "password1", now=NOW) is None
        assert repo.get(user.id) is not None and not repo.get(user.id).active  # type: ignore[union-attr]


def test_set_password(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        repo = UserRepository(session, FAST)
        user = repo.add("zhou", Role.MANAGER, "password1", now=NOW)
        repo.set_password(user.id, "password2", now=NOW)
        assert repo.authenticate("zhou", "password1", now=NOW) is None
        assert repo.authenticate("zhou", "password2", now=NOW) == user


def test_weak_hash_is_upgraded_on_login(session_factory: sessionmaker[Session]) -> None:
    stronger = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    with session_factory() as session:
        UserRepository(session, FAST).add("wu", Role.AGENT, "password1", now=NOW)
        assert UserRepository(session, stronger).authenticate("wu", "password1", now=NOW) is not None
        stored = session.execute(select(users_table.c.password_hash)).scalar_one()
    assert not stronger.check_needs_rehash(stored)


def test_sip_credentials_store_digests_not_password(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        repo = UserRepository(session, FAST)
        repo.add("agent1", Role.AGENT, "password1", now=NOW, sip_password="1234phone", sip_realm="wl")
        repo.add("owner1", Role.OWNER, "password1", now=NOW)
        creds = repo.sip_credentials("agent1")
        assert creds is not None
        assert creds.realm == "wl"
        assert creds.ha1_md5 == sip_ha1("agent1", "wl", "1234phone", "MD5")
        assert creds.ha1_sha256 == sip_ha1("agent1", "wl", "1234phone", "SHA-256")
        assert repo.sip_credentials("owner1") is None
        assert repo.sip_credentials("nobody") is None


def test_sip_ha1_known_value() -> None:
    # RFC 2617 §3.5 example: Mufasa / testrealm@host.com / Circle Of Life
    assert sip_ha1("Mufasa", "testrealm@host.com", "Circle Of Life") == "939e7578ed9e3c518a452acee763bce9"


def test_list_orders_by_id(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        repo = UserRepository(session, FAST)
        for name in ("c-user", "a-user", "b-user"):
            repo.add(name, Role.AGENT, "password1", now=NOW)
        assert [u.username for u in repo.list()] == ["c-user", "a-user", "b-user"]
