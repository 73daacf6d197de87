"""Edge policy: trunks by address, agents by digest."""

from __future__ import annotations

import random

import pytest

from waterline.sip.auth import DigestServer, answer_challenge, choose_challenge, ha1_table
from waterline.sip.message import Request, parse_message
from waterline.sip.policy import DigestAuthenticator, EdgePolicy, Verdict, parse_networks


def test_loopback_is_the_demo_trunk() -> None:
    policy = EdgePolicy()
    assert policy.is_trunk("127.0.0.1")
    assert policy.is_trunk("[::1]")
    assert not policy.is_trunk("203.0.113.1")
    assert not EdgePolicy(trust_loopback=False).is_trunk("127.0.0.1")


def test_configured_networks_are_trunks_and_names_never_are() -> None:
    policy = EdgePolicy.from_specs(["203.0.113.0/24", " 198.51.100.7 ", ""])
    assert policy.is_trunk("203.0.113.99")
    assert policy.is_trunk("198.51.100.7")
    assert not policy.is_trunk("198.51.100.8")
    assert not policy.is_trunk("trunk.example.com")


def test_bad_network_spec_raises() -> None:
    with pytest.raises(ValueError):
        parse_networks(["300.1.1.1"])


def test_verdicts() -> None:
    policy = EdgePolicy()
    assert policy.check("INVITE", "127.0.0.1", can_authenticate=False) is Verdict.ACCEPT
    assert policy.check("INVITE", "192.0.2.1", can_authenticate=True) is Verdict.CHALLENGE
    assert policy.check("INVITE", "192.0.2.1", can_authenticate=False) is Verdict.REFUSE
    assert policy.check("OPTIONS", "192.0.2.1", can_authenticate=False) is Verdict.ACCEPT
    # a binding redirects calls, so REGISTER needs credentials even from a trunk
    assert policy.check("REGISTER", "127.0.0.1", can_authenticate=True) is Verdict.CHALLENGE
    assert policy.check("REGISTER", "127.0.0.1", can_authenticate=False) is Verdict.REFUSE


def _request(authorization: str | None = None) -> Request:
    auth = f"Authorization: {authorization}\r\n" if authorization else ""
    message = parse_message(
        (
            "INVITE sip:400@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.5;branch=z9hG4bK1\r\n"
            "From: <sip:1001@127.0.0.1>;tag=a\r\nTo: <sip:400@127.0.0.1>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n"
            f"{auth}\r\n"
        ).encode()
    )
    assert isinstance(message, Request)
    return message


def _authenticator() -> DigestAuthenticator:
    server = DigestServer(realm="waterline", secret=b"k" * 20, rng=random.Random(1))
    users = {"1001": ha1_table("1001", "waterline", "pw")}
    return DigestAuthenticator(server, users.get)


def _credentials(challenge: tuple[tuple[str, str], ...], password: str, user: str = "1001") -> str:
    chosen = choose_challenge([value for _name, value in challenge])
    return answer_challenge(chosen, username=user, password=password, method="INVITE",
                            uri="sip:400@127.0.0.1", cnonce="cn")


def test_digest_authenticator_challenges_then_accepts() -> None:
    auth = _authenticator()
    first = auth.check(_request(), 100.0)
    assert first.user is None and first.challenge
    assert all(name == "WWW-Authenticate" for name, _ in first.challenge)
    second = auth.check(_request(_credentials(first.challenge, "pw")), 100.5)
    assert second.user == "1001"


def test_wrong_password_and_unknown_user_are_forbidden() -> None:
    auth = _authenticator()
    challenge = auth.check(_request(), 100.0).challenge
    assert auth.check(_request(_credentials(challenge, "nope")), 100.5).forbidden
    assert auth.check(_request(_credentials(challenge, "pw", user="9999")), 100.5).forbidden


def test_stale_nonce_is_challenged_again_with_stale_flag() -> None:
    auth = _authenticator()
    challenge = auth.check(_request(), 100.0).challenge
    late = auth.check(_request(_credentials(challenge, "pw")), 100.0 + 3600)
    assert late.challenge and "stale=true" in late.challenge[0][1].lower()


def test_garbage_authorization_gets_a_fresh_challenge() -> None:
    auth = _authenticator()
    decision = auth.check(_request("Digest nonsense"), 1.0)
    assert decision.challenge and not decision.forbidden
