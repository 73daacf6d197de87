"""Agents' SIP credentials: looked up by user name, cached briefly, realm-checked, store errors survived."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.exc import OperationalError

from waterline.adapters.db.users import SipCredentials
from waterline.telephony.agents import CACHE_SECONDS, AgentDirectory

ALICE = SipCredentials(username="1001", realm="waterline", ha1_md5="a" * 32, ha1_sha256="b" * 64)


@dataclass
class FakeUsers:
    """Credentials by user name; counts the queries and can fail like a database that went away."""

    table: dict[str, SipCredentials] = field(default_factory=dict)
    queries: int = 0
    down: bool = False

    def fetch(self, username: str) -> SipCredentials | None:
        self.queries += 1
        if self.down:
            raise OperationalError("SELECT", {}, Exception("no such table: users"))
        return self.table.get(username)


@dataclass
class FakeClock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


def test_known_agent_gets_ha1_by_algorithm_and_unknown_gets_none() -> None:
    users = FakeUsers({"1001": ALICE})
    directory = AgentDirectory(users.fetch, "waterline", FakeClock())
    assert directory.lookup("1001") == {"MD5": "a" * 32, "SHA-256": "b" * 64}
    assert directory.lookup("9999") is None


def test_lookups_are_cached_until_the_ttl_passes() -> None:
    users = FakeUsers({"1001": ALICE})
    clock = FakeClock()
    directory = AgentDirectory(users.fetch, "waterline", clock)
    for _ in range(5):
        directory.lookup("1001")
        directory.lookup("nobody")
    assert users.queries == 2
    clock.now += CACHE_SECONDS + 1
    del users.table["1001"]  # SIP password revoked
    assert directory.lookup("1001") is None
    assert users.queries == 3


def test_credentials_of_another_realm_count_as_unknown() -> None:
    users = FakeUsers({"1001": ALICE})
    assert AgentDirectory(users.fetch, "other-realm", FakeClock()).lookup("1001") is None


def test_store_failure_refuses_without_raising_and_is_retried() -> None:
    users = FakeUsers({"1001": ALICE}, down=True)
    directory = AgentDirectory(users.fetch, "waterline", FakeClock())
    assert directory.lookup("1001") is None
    assert directory.store_errors == 1
    users.down = False
    assert directory.lookup("1001") is not None
