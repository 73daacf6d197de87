"""Signed bearer tokens: ``v1.<payload>.<signature>``, HMAC-SHA256 with a key derived from the secret.

The same token is used as the ``Authorization: Bearer`` credential of the API and as the value of
the console's session cookie.  Tokens carry the user id, role and expiry; the web layer still loads
the user on each request, so disabling a user takes effect at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass

from waterline.domain.users import User

TOKEN_VERSION = "v1"
# Purpose-bound key, so a signature made here is worthless anywhere else the secret is used.
_KEY_LABEL = b"waterline/auth-token/v1"


class InvalidToken(Exception):
    """The token is malformed, forged or expired."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a verified token says."""

    user_id: int
    role: str
    issued_at: int
    expires_at: int


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), _KEY_LABEL, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_token(secret: str, user: User, *, now: float, ttl_seconds: int) -> str:
    """A token for ``user`` valid from ``now`` for ``ttl_seconds``."""
    claims = {"sub": user.id, "role": user.role.value, "iat": int(now), "exp": int(now) + ttl_seconds}
    payload = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    signing_input = f"{TOKEN_VERSION}.{payload}".encode("ascii")
    signature = _b64(hmac.new(_key(secret), signing_input, hashlib.sha256).digest())
    return f"{TOKEN_VERSION}.{payload}.{signature}"


def verify_token(secret: str, token: str, *, now: float) -> TokenClaims:
    """The claims of ``token`` if its signature is ours and it has not expired; else InvalidToken."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != TOKEN_VERSION:
        raise InvalidToken("malformed token")
    signing_input = f"{parts[0]}.{parts[1]}".encode("ascii", errors="replace")
    expected = hmac.new(_key(secret), signing_input, hashlib.sha256).digest()
    try:
        given = _unb64(parts[2])
        if not hmac.compare_digest(expected, given):
            raise InvalidToken("bad signature")
        claims = json.loads(_unb64(parts[1]))
        result = TokenClaims(
            user_id=int(claims["sub"]),
            role=str(claims["role"]),
            issued_at=int(claims["iat"]),
            expires_at=int(claims["exp"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidToken("malformed token") from exc
    if now >= result.expires_at:
        raise InvalidToken("token expired")
    return result
