from __future__ import annotations

import pytest

from waterline.domain.users import Role, User
from waterline.web.auth import InvalidToken, issue_token, verify_token

SECRET = "unit-test-secret-0123456789"
USER = User(id=7, username="li", role=Role.AGENT)


def test_token_round_trip() -> None:
    token = issue_token(SECRET, USER, now=1000.0, ttl_seconds=60)
    claims = verify_token(SECRET, token, now=1059.0)
    assert (claims.user_id, claims.role, claims.issued_at, claims.expires_at) == (7, "agent", 1000, 1060)


def test_token_expires() -> None:
    token = issue_token(SECRET, USER, now=1000.0, ttl_seconds=60)
    with pytest.raises(InvalidToken, match="expired"):
        verify_token(SECRET, token, now=1060.0)


def test_token_signed_with_other_secret_is_refused() -> None:
    token = issue_token("another-secret-0123456789", USER, now=1000.0, ttl_seconds=60)
    with pytest.raises(InvalidToken, match="signature"):
        verify_token(SECRET, token, now=1001.0)


def test_tampered_payload_is_refused() -> None:
    token = issue_token(SECRET, USER, now=1000.0, ttl_seconds=60)
    owner = issue_token(SECRET, User(id=1, username="boss", role=Role.OWNER), now=1000.0, ttl_seconds=60)
    version, _payload, signature = token.split(".")
    forged = ".".join((version, owner.split(".")[1], signature))
    with pytest.raises(InvalidToken):
        verify_token(SECRET, forged, now=1001.0)


@pytest.mark.parametrize("garbage", ["", "abc", "v1.x", "v2.a.b", "v1.!!.??", "v1..", "v1.e30.AAAA"])
def test_garbage_is_refused(garbage: str) -> None:
    with pytest.raises(InvalidToken):
        verify_token(SECRET, garbage, now=0.0)
