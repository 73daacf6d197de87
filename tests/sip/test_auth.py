"""Digest authentication: header values, published test vectors, nonces, replay, client answers."""

from __future__ import annotations

import hashlib
import random
from typing import Any

import pytest

from waterline.sip.auth import (
    AuthError,
    AuthOutcome,
    Challenge,
    Credentials,
    DigestServer,
    NonceStatus,
    answer_challenge,
    choose_challenge,
    compute_ha1,
    compute_response,
    format_auth_params,
    ha1_table,
    make_cnonce,
    parse_auth_params,
    parse_challenge,
    parse_credentials,
)

SECRET = b"0123456789abcdef-test-secret"
REALM = "waterline.example"


def server(**kwargs: Any) -> DigestServer:
    return DigestServer(realm=REALM, secret=SECRET, rng=random.Random(7), **kwargs)


def h(name: str, text: str) -> str:
    return hashlib.new(name, text.encode()).hexdigest()


# --- published test vectors -----------------------------------------------------------------------

# RFC 2617 §3.5
RFC2617_AUTHORIZATION = (
    'Digest username="Mufasa", realm="testrealm@host.com", '
    'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, '
    'cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", '
    'opaque="5ccc069c403ebaf9f0171e9517f40e41"'
)
RFC2617_CHALLENGE = (
    'Digest realm="testrealm@host.com", qop="auth,auth-int", '
    'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
)

# RFC 7616 §3.9.1 (the SHA-256 algorithm RFC 8760 brings to SIP)
RFC7616_CHALLENGE = (
    'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, '
    'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
    'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'
)
RFC7616_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
RFC7616_SHA256_RESPONSE = "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
RFC7616_MD5_RESPONSE = "8ca523f5e9506fed4657c9700eebdbec"


def test_rfc2617_vector_from_the_formula() -> None:
    ha1 = h("md5", "Mufasa:testrealm@host.com:Circle Of Life")
    ha2 = h("md5", "GET:/dir/index.html")
    by_hand = h("md5", f"{ha1}:dcd98b7102dd2f0e8b11d0f600bfb0c093:00000001:0a4f113b:auth:{ha2}")
    assert by_hand == "6629fae49393a05397450978507c4ef1"
    ours = compute_response(
        algorithm="MD5",
        ha1=compute_ha1("MD5", "Mufasa", "testrealm@host.com", "Circle Of Life"),
        nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
        method="GET",
        uri="/dir/index.html",
        qop="auth",
        nc=1,
        cnonce="0a4f113b",
    )
    assert ours == by_hand


def test_rfc2617_client_answer_matches_published_header() -> None:
    value = answer_challenge(
        RFC2617_CHALLENGE,
        username="Mufasa",
        password="Circle Of Life",
        method="GET",
        uri="/dir/index.html",
        cnonce="0a4f113b",
        nc=1,
    )
    ours, published = parse_credentials(value), parse_credentials(RFC2617_AUTHORIZATION)
    assert ours.response == published.response == "6629fae49393a05397450978507c4ef1"
    assert (ours.qop, ours.nc, ours.cnonce, ours.opaque) == ("auth", 1, "0a4f113b", published.opaque)
    assert "nc=00000001" in value and "qop=auth" in value


def test_rfc7616_sha256_and_md5_vectors() -> None:
    realm, nonce = "http-auth@example.org", "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
    for algorithm, name, published in (
        ("SHA-256", "sha256", RFC7616_SHA256_RESPONSE),
        ("MD5", "md5", RFC7616_MD5_RESPONSE),
    ):
        ha1 = h(name, f"Mufasa:{realm}:Circle of Life")
        ha2 = h(name, "GET:/dir/index.html")
        assert h(name, f"{ha1}:{nonce}:00000001:{RFC7616_CNONCE}:auth:{ha2}") == published
        challenge = RFC7616_CHALLENGE.replace("SHA-256", algorithm)
        value = answer_challenge(
            challenge,
            username="Mufasa",
            password="Circle of Life",
            method="GET",
            uri="/dir/index.html",
            cnonce=RFC7616_CNONCE,
        )
        credentials = parse_credentials(value)
        assert credentials.response == published
        assert credentials.algorithm == algorithm
        assert credentials.opaque == "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"


def test_rfc2617_vector_from_a_stored_ha1() -> None:
    credentials = parse_credentials(RFC2617_AUTHORIZATION)
    table = ha1_table("Mufasa", "testrealm@host.com", "Circle Of Life", ("MD5",))
    assert table == {"MD5": h("md5", "Mufasa:testrealm@host.com:Circle Of Life")}
    expected = compute_response(
        algorithm="MD5",
        ha1=table["MD5"],
        nonce=credentials.nonce,
        method="GET",
        uri=credentials.uri,
        qop=credentials.qop,
        nc=credentials.nc,
        cnonce=credentials.cnonce,
    )
    assert expected == credentials.response


# --- auth-param syntax ----------------------------------------------------------------------------


def test_parse_auth_params_handles_quotes_escapes_tokens_and_case() -> None:
    scheme, params = parse_auth_params(
        'DIGEST UserName="a\\"b\\\\c", Realm = "r,1" ,ALGORITHM=sha-256,, nc=0000000A, '
        "uri=sip:x@y;transport=udp"
    )
    assert scheme == "DIGEST"
    assert params == {
        "username": 'a"b\\c',
        "realm": "r,1",
        "algorithm": "sha-256",
        "nc": "0000000A",
        "uri": "sip:x@y;transport=udp",
    }


def test_format_auth_params_escapes_and_round_trips() -> None:
    text = format_auth_params("Digest", [("username", 'a"b\\c', True), ("algorithm", "MD5", False)])
    assert text == 'Digest username="a\\"b\\\\c", algorithm=MD5'
    assert parse_auth_params(text) == ("Digest", {"username": 'a"b\\c', "algorithm": "MD5"})


@pytest.mark.parametrize(
    "value",
    [
        "",
        '="x"',
        'Digest realm="unterminated',
        'Digest realm="a" junk, nonce="b"',
        "Digest realm",
        'Digest realm="a", realm="b"',
        "Digest realm=",
        'Digest re@lm="a"',
    ],
)
def test_malformed_auth_params_raise(value: str) -> None:
    with pytest.raises(AuthError):
        parse_auth_params(value)


def test_challenge_round_trip_and_defaults() -> None:
    challenge = parse_challenge(RFC2617_CHALLENGE)
    assert challenge.realm == "testrealm@host.com" and challenge.algorithm == "MD5"
    assert challenge.qop == ("auth", "auth-int") and not challenge.stale
    again = parse_challenge(str(challenge))
    assert again == challenge
    stale = Challenge(realm="r", nonce="n", algorithm="SHA-256", stale=True)
    assert str(stale) == 'Digest realm="r", nonce="n", algorithm=SHA-256, qop="auth", stale=true'
    assert parse_challenge(str(stale)).stale


def test_credentials_round_trip() -> None:
    credentials = parse_credentials(RFC2617_AUTHORIZATION)
    assert credentials.username == "Mufasa" and credentials.nc == 1 and credentials.algorithm == "MD5"
    assert parse_credentials(str(credentials)) == credentials


@pytest.mark.parametrize(
    "value",
    [
        'Basic realm="x"',
        'Digest realm="r", nonce="n", uri="u", response="x"',  # no username
        'Digest username="u", realm="r", nonce="n", uri="u", response="x", qop=auth, cnonce="c"',  # no nc
        'Digest username="u", realm="r", nonce="n", uri="u", response="x", qop=auth, nc=zz, cnonce="c"',
        # no cnonce
        'Digest username="u", realm="r", nonce="n", uri="u", response="x", qop=auth, nc=00000001',
    ],
)
def test_malformed_credentials_raise(value: str) -> None:
    with pytest.raises(AuthError):
        parse_credentials(value)


def test_challenge_needs_realm_and_nonce() -> None:
    with pytest.raises(AuthError, match="nonce"):
        parse_challenge('Digest realm="r"')


# --- client side ----------------------------------------------------------------------------------


def test_legacy_challenge_without_qop_gets_rfc2069_answer() -> None:
    value = answer_challenge(
        'Digest realm="r", nonce="abc"',
        username="u",
        password="p",
        method="REGISTER",
        uri="sip:r",
        cnonce="c",
    )
    credentials = parse_credentials(value)
    assert credentials.qop is None and credentials.nc is None and credentials.cnonce is None
    ha1, ha2 = h("md5", "u:r:p"), h("md5", "REGISTER:sip:r")
    assert credentials.response == h("md5", f"{ha1}:abc:{ha2}")


def test_md5_sess_answer() -> None:
    value = answer_challenge(
        'Digest realm="r", nonce="abc", algorithm=MD5-sess, qop="auth"',
        username="u",
        password="p",
        method="INVITE",
        uri="sip:x@r",
        cnonce="cc",
        nc=2,
    )
    session_ha1 = h("md5", f"{h('md5', 'u:r:p')}:abc:cc")
    ha2 = h("md5", "INVITE:sip:x@r")
    assert parse_credentials(value).response == h("md5", f"{session_ha1}:abc:00000002:cc:auth:{ha2}")
    assert parse_credentials(value).algorithm == "MD5-SESS"


def test_client_refuses_unknown_algorithm_and_auth_int_only() -> None:
    common = {"username": "u", "password": "p", "method": "INVITE", "uri": "sip:x", "cnonce": "c"}
    with pytest.raises(AuthError, match="algorithm"):
        answer_challenge('Digest realm="r", nonce="n", algorithm=SHA-512-256, qop="auth"', **common)
    with pytest.raises(AuthError, match="auth-int"):
        answer_challenge('Digest realm="r", nonce="n", qop="auth-int"', **common)


def test_choose_challenge_prefers_sha256_and_skips_what_it_cannot_use() -> None:
    values = [
        'Basic realm="x"',
        'Digest realm="r", nonce="n1", algorithm=MD5, qop="auth"',
        'Digest realm="r", nonce="n2", algorithm=SHA-512-256, qop="auth"',
        'Digest realm="r", nonce="n3", algorithm=SHA-256, qop="auth"',
        "Digest garbage",
    ]
    assert choose_challenge(values).nonce == "n3"
    assert choose_challenge(values[:2]).nonce == "n1"
    with pytest.raises(AuthError):
        choose_challenge(['Basic realm="x"', 'Digest realm="r", nonce="n", qop="auth-int"'])


def test_make_cnonce_comes_from_the_injected_generator() -> None:
    assert make_cnonce(random.Random(1)) == make_cnonce(random.Random(1))
    assert len(make_cnonce(random.Random(1))) == 16
    assert make_cnonce(random.Random(1)) != make_cnonce(random.Random(2))


# --- server side ----------------------------------------------------------------------------------


def register(value: str, *, password: str = "s3cret", nc: int = 1, user: str = "8001") -> Credentials:
    return parse_credentials(
        answer_challenge(
            value, username=user, password=password, method="REGISTER", uri=f"sip:{REALM}", cnonce="cn", nc=nc
        )
    )


def test_server_offers_sha256_then_md5_with_one_fresh_nonce() -> None:
    values = server().challenges(now=1000.0)
    sha, md5 = (parse_challenge(v) for v in values)
    assert (sha.algorithm, md5.algorithm) == ("SHA-256", "MD5")
    assert sha.nonce == md5.nonce and sha.realm == REALM and sha.qop == ("auth",)
    assert not sha.stale
    assert server().challenges(now=1000.0, stale=True)[0].endswith("stale=true")


@pytest.mark.parametrize("index", [0, 1])
def test_full_exchange_with_each_algorithm(index: int) -> None:
    digest = server()
    challenge = digest.challenges(now=1000.0)[index]
    credentials = register(challenge)
    assert (
        digest.verify(credentials, method="REGISTER", now=1001.0, password="s3cret") is AuthOutcome.ACCEPTED
    )


def test_verify_with_stored_ha1() -> None:
    digest = server()
    table = ha1_table("8001", REALM, "s3cret")
    assert set(table) == {"SHA-256", "MD5"}
    for index in (0, 1):
        credentials = register(digest.challenges(now=10.0)[index])
        assert digest.verify(credentials, method="REGISTER", now=11.0, ha1=table).ok
    only_md5 = {"MD5": table["MD5"]}
    credentials = register(digest.challenges(now=10.0)[0])  # SHA-256
    assert digest.verify(credentials, method="REGISTER", now=11.0, ha1=only_md5) is AuthOutcome.UNSUPPORTED


def test_wrong_password_and_wrong_method() -> None:
    digest = server()
    challenge = digest.challenges(now=10.0)[0]
    bad = register(challenge, password="guess")
    assert digest.verify(bad, method="REGISTER", now=11.0, password="s3cret") is AuthOutcome.BAD_RESPONSE
    good = register(challenge)
    assert digest.verify(good, method="INVITE", now=11.0, password="s3cret") is AuthOutcome.BAD_RESPONSE
    assert (
        digest.verify(good, method="REGISTER", now=11.0, password="s3cret", request_uri="sip:other")
        is AuthOutcome.BAD_RESPONSE
    )
    assert digest.verify(good, method="REGISTER", now=11.0, password="s3cret", request_uri=f"sip:{REALM}").ok


def test_expired_nonce_with_right_password_is_stale_and_with_wrong_password_is_not() -> None:
    digest = server(nonce_lifetime=60.0)
    challenge = digest.challenges(now=100.0)[0]
    nonce = parse_challenge(challenge).nonce
    assert digest.nonce_status(nonce, 159.0) is NonceStatus.VALID
    assert digest.nonce_status(nonce, 161.0) is NonceStatus.STALE
    assert (
        digest.verify(register(challenge), method="REGISTER", now=161.0, password="s3cret")
        is AuthOutcome.STALE
    )
    wrong = register(challenge, password="guess")
    assert digest.verify(wrong, method="REGISTER", now=161.0, password="s3cret") is AuthOutcome.BAD_RESPONSE


def test_forged_tampered_and_future_nonces_are_invalid() -> None:
    digest = server()
    nonce = digest.new_nonce(100.0)
    assert digest.nonce_status(nonce, 100.0) is NonceStatus.VALID
    assert digest.nonce_status("dcd98b7102dd2f0e8b11d0f600bfb0c093", 100.0) is NonceStatus.INVALID
    tampered = ("A" if nonce[0] != "A" else "B") + nonce[1:]
    assert digest.nonce_status(tampered, 100.0) is NonceStatus.INVALID
    assert digest.nonce_status(nonce[:-1] + "!", 100.0) is NonceStatus.INVALID
    assert digest.nonce_status(nonce, 50.0) is NonceStatus.INVALID  # issued "in the future"
    other_secret = DigestServer(realm=REALM, secret=b"another-secret-of-16+", rng=random.Random(7))
    assert other_secret.nonce_status(nonce, 100.0) is NonceStatus.INVALID
    other_realm = DigestServer(realm="elsewhere", secret=SECRET, rng=random.Random(7))
    assert other_realm.nonce_status(nonce, 100.0) is NonceStatus.INVALID
    forged = register(f'Digest realm="{REALM}", nonce="{tampered}", qop="auth"')
    assert digest.verify(forged, method="REGISTER", now=100.0, password="s3cret") is AuthOutcome.BAD_NONCE


def test_nonces_differ_even_at_the_same_instant() -> None:
    digest = server()
    assert digest.new_nonce(5.0) != digest.new_nonce(5.0)


def test_nonce_count_replay_is_refused_but_reordering_is_allowed() -> None:
    digest = server()
    challenge = digest.challenges(now=10.0)[0]

    def check(nc: int) -> AuthOutcome:
        return digest.verify(register(challenge, nc=nc), method="REGISTER", now=11.0, password="s3cret")

    assert check(1) is AuthOutcome.ACCEPTED
    assert check(1) is AuthOutcome.REPLAY
    assert check(3) is AuthOutcome.ACCEPTED
    assert check(2) is AuthOutcome.ACCEPTED  # arrived late over UDP
    assert check(2) is AuthOutcome.REPLAY
    assert check(100) is AuthOutcome.ACCEPTED
    assert check(4) is AuthOutcome.REPLAY  # fell out of the window
    assert check(99) is AuthOutcome.ACCEPTED


def test_a_failed_attempt_does_not_burn_the_nonce_count() -> None:
    digest = server()
    challenge = digest.challenges(now=10.0)[0]
    wrong = register(challenge, password="guess", nc=1)
    assert digest.verify(wrong, method="REGISTER", now=11.0, password="s3cret") is AuthOutcome.BAD_RESPONSE
    assert digest.verify(register(challenge, nc=1), method="REGISTER", now=11.0, password="s3cret").ok


def test_replay_memory_is_bounded_and_forgotten_nonces_turn_stale() -> None:
    digest = server(max_nonces=3)
    challenges = [digest.challenges(now=10.0 + i)[1] for i in range(5)]
    for challenge in challenges:
        assert digest.verify(register(challenge), method="REGISTER", now=20.0, password="s3cret").ok
    assert digest.tracked_nonces == 3
    # the evicted nonces can no longer be proved fresh, so their next use must renew the nonce
    again = digest.verify(register(challenges[0], nc=2), method="REGISTER", now=21.0, password="s3cret")
    assert again is AuthOutcome.STALE
    # tracked ones go on counting
    assert digest.verify(register(challenges[4], nc=2), method="REGISTER", now=21.0, password="s3cret").ok


def test_expired_nonces_leave_the_replay_table() -> None:
    digest = server(nonce_lifetime=60.0)
    old = digest.challenges(now=0.0)[0]
    assert digest.verify(register(old), method="REGISTER", now=1.0, password="s3cret").ok
    fresh = digest.challenges(now=100.0)[0]
    assert digest.verify(register(fresh), method="REGISTER", now=100.0, password="s3cret").ok
    assert digest.tracked_nonces == 1


def test_realm_algorithm_and_qop_policy() -> None:
    digest = server(algorithms=("SHA-256",))
    assert len(digest.challenges(now=1.0)) == 1
    nonce = digest.new_nonce(1.0)
    elsewhere = register(f'Digest realm="other", nonce="{nonce}", qop="auth"')
    assert digest.verify(elsewhere, method="REGISTER", now=2.0, password="s3cret") is AuthOutcome.WRONG_REALM
    md5 = register(f'Digest realm="{REALM}", nonce="{nonce}", qop="auth"')
    assert digest.verify(md5, method="REGISTER", now=2.0, password="s3cret") is AuthOutcome.UNSUPPORTED
    legacy = register(f'Digest realm="{REALM}", nonce="{nonce}", algorithm=SHA-256')
    assert legacy.qop is None
    assert digest.verify(legacy, method="REGISTER", now=2.0, password="s3cret") is AuthOutcome.UNSUPPORTED
    lenient = DigestServer(realm=REALM, secret=SECRET, rng=random.Random(1), allow_legacy=True)
    assert lenient.verify(legacy, method="REGISTER", now=2.0, password="s3cret").ok


def test_server_configuration_errors() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        DigestServer(realm=REALM, secret=b"short", rng=random.Random(1))
    with pytest.raises(ValueError, match="algorithm"):
        DigestServer(realm=REALM, secret=SECRET, rng=random.Random(1), algorithms=("SHA-1",))
    credentials = register(server().challenges(now=1.0)[0])
    with pytest.raises(ValueError, match="exactly one"):
        server().verify(credentials, method="REGISTER", now=1.0)
