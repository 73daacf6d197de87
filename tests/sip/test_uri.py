"""URI parsing and serialisation (RFC 3261 §19.1, RFC 3966)."""

from __future__ import annotations

import pytest

from waterline.sip.errors import RemoteProtocolError
from waterline.sip.uri import SipUri, escape, parse_uri, unescape


def test_full_sip_uri() -> None:
    uri = parse_uri("sip:alice:secret@Example.COM:5070;transport=TCP;lr?subject=hi&priority=urgent")
    assert uri.scheme == "sip"
    assert uri.user == "alice"
    assert uri.password == "secret"
    assert uri.host == "Example.COM"
    assert uri.port == 5070
    assert uri.params == {"transport": "TCP", "lr": None}
    assert uri.transport == "tcp"
    assert uri.headers == {"subject": "hi", "priority": "urgent"}
    assert str(uri) == "sip:alice:secret@Example.COM:5070;transport=TCP;lr?subject=hi&priority=urgent"


def test_host_only_and_sips() -> None:
    uri = parse_uri("SIPS:proxy.example.com")
    assert (uri.scheme, uri.user, uri.host, uri.port) == ("sips", None, "proxy.example.com", None)
    assert str(uri) == "sips:proxy.example.com"


@pytest.mark.parametrize("text", ["sip:*43@10.0.0.1", "sip:%2A43@10.0.0.1", "sip:%2a43@10.0.0.1"])
def test_escaped_star_user_is_unescaped(text: str) -> None:
    uri = parse_uri(text)
    assert uri.user == "*43"
    assert str(uri) == "sip:*43@10.0.0.1"


def test_user_with_reserved_characters_round_trips_escaped() -> None:
    uri = parse_uri("sip:a%20b%40c@host")
    assert uri.user == "a b@c"
    assert str(uri) == "sip:a%20b%40c@host"
    assert parse_uri(str(uri)).user == "a b@c"


def test_user_may_contain_semicolon_and_telephone_subscriber() -> None:
    uri = parse_uri("sip:+8629123;isub=12@gw.example.com;user=phone")
    assert uri.user == "+8629123;isub=12"
    assert uri.params == {"user": "phone"}


def test_ipv6_host_keeps_brackets() -> None:
    uri = parse_uri("sip:bob@[2001:db8::10]:5060;maddr=[2001:db8::1]")
    assert uri.host == "[2001:db8::10]"
    assert uri.port == 5060
    assert uri.params["maddr"] == "[2001:db8::1]"
    assert str(uri) == "sip:bob@[2001:db8::10]:5060;maddr=[2001:db8::1]"


def test_tel_uri_puts_number_in_user() -> None:
    uri = parse_uri("tel:+86-29-8888-0000;phone-context=+86")
    assert uri.scheme == "tel"
    assert uri.user == "+86-29-8888-0000"
    assert uri.host == ""
    assert uri.params == {"phone-context": "+86"}
    assert str(uri) == "tel:+86-29-8888-0000;phone-context=+86"


def test_unknown_scheme_suggests_416() -> None:
    with pytest.raises(RemoteProtocolError) as info:
        parse_uri("http://example.com/")
    assert info.value.status == 416


@pytest.mark.parametrize(
    "text",
    [
        "",
        "sip:",
        "sip:@host",
        "sip:user@",
        "sip:user@host:99999",
        "sip:user@host:50a",
        "sip:user@host:",
        "sip:user@[::1",
        "sip:user@[zz::1]",
        "sip:us er@host",
        "sip:user@ho st",
        "sip:user@host;",
        "sip:user@host?noequals",
        "sip:%4@host",
        "sip:%zz@host",
        "tel:",
        "tel:12 34",
        ":nothing",
    ],
)
def test_malformed_uris_raise_remote_errors(text: str) -> None:
    with pytest.raises(RemoteProtocolError):
        parse_uri(text)


def test_gbk_escaped_user_falls_back_to_gb18030() -> None:
    # "张" in GBK is D5 C5, which is not valid UTF-8
    assert parse_uri("sip:%D5%C5@host").user == "张"


def test_escape_and_unescape_are_inverse() -> None:
    safe = frozenset("abc")
    assert escape("abc", safe) == "abc"
    assert escape("a c", safe) == "a%20c"
    assert unescape("a%20c") == "a c"


def test_address_of_record_ignores_port_params_and_host_case() -> None:
    a = parse_uri("sip:8001@PBX.example.com:5062;transport=tcp")
    b = parse_uri("sip:8001@pbx.example.com")
    assert a.address_of_record() == b.address_of_record() == "sip:8001@pbx.example.com"


def test_built_uri_serialises() -> None:
    uri = SipUri("sip", "*43", None, "127.0.0.1", 5060, {"transport": "udp"}, {})
    assert str(uri) == "sip:*43@127.0.0.1:5060;transport=udp"


def test_a_repeated_uri_parses_to_independent_objects() -> None:
    text = "sip:*43@127.0.0.1:5060;transport=udp?subject=x"
    first = parse_uri(text)
    first.params["transport"] = "tcp"
    first.headers.clear()
    second = parse_uri(text)
    assert second.params == {"transport": "udp"}
    assert second.headers == {"subject": "x"}
    assert second == parse_uri(" " + text)
    assert second is not parse_uri(text)
