"""Header names, the header multimap and the Via / name-addr / CSeq parsers."""

from __future__ import annotations

import pytest

from waterline.sip.errors import LocalProtocolError, RemoteProtocolError
from waterline.sip.headers import (
    CSeq,
    Headers,
    NameAddr,
    Via,
    canonical_name,
    parse_cseq,
    parse_name_addr,
    parse_name_addr_list,
    parse_params,
    parse_via,
    split_commas,
)
from waterline.sip.uri import parse_uri


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("v", "Via"),
        ("V", "Via"),
        ("f", "From"),
        ("t", "To"),
        ("i", "Call-ID"),
        ("call-id", "Call-ID"),
        ("CALL-ID", "Call-ID"),
        ("m", "Contact"),
        ("l", "Content-Length"),
        ("c", "Content-Type"),
        ("k", "Supported"),
        ("s", "Subject"),
        ("e", "Content-Encoding"),
        ("o", "Event"),
        ("r", "Refer-To"),
        ("u", "Allow-Events"),
        ("cseq", "CSeq"),
        ("www-authenticate", "WWW-Authenticate"),
        ("max-forwards", "Max-Forwards"),
        ("x-custom-thing", "X-Custom-Thing"),
    ],
)
def test_canonical_name(name: str, expected: str) -> None:
    assert canonical_name(name) == expected


def test_split_commas_respects_quotes_and_angles() -> None:
    value = '"Doe, John" <sip:j@x;a=1,2>;q=0.5 , <sip:k@y>,sip:z@w'
    assert split_commas(value) == ['"Doe, John" <sip:j@x;a=1,2>;q=0.5', "<sip:k@y>", "sip:z@w"]
    assert split_commas('"a \\", b" <sip:a@b>') == ['"a \\", b" <sip:a@b>']


def test_split_commas_rejects_unterminated_quote() -> None:
    with pytest.raises(RemoteProtocolError):
        split_commas('"abc, <sip:a@b>')


def test_headers_are_case_insensitive_and_ordered() -> None:
    headers = Headers([("v", "SIP/2.0/UDP a"), ("CALL-ID", "x"), ("Via", "SIP/2.0/UDP b, SIP/2.0/UDP c")])
    assert headers.get("via") == "SIP/2.0/UDP a"
    assert headers.get_all("V") == ["SIP/2.0/UDP a", "SIP/2.0/UDP b", "SIP/2.0/UDP c"]
    assert "i" in headers and "call-id" in headers
    assert "Contact" not in headers
    assert headers.get("Contact") is None
    assert list(headers.items()) == [
        ("Via", "SIP/2.0/UDP a"),
        ("Call-ID", "x"),
        ("Via", "SIP/2.0/UDP b, SIP/2.0/UDP c"),
    ]


def test_non_list_header_is_not_split() -> None:
    headers = Headers([("WWW-Authenticate", 'Digest realm="a", nonce="b"'), ("Date", "Sat, 13 Nov 2010")])
    assert headers.get_all("www-authenticate") == ['Digest realm="a", nonce="b"']
    assert headers.get_all("Date") == ["Sat, 13 Nov 2010"]


def test_set_replaces_all_in_place_and_remove_deletes() -> None:
    headers = Headers([("X-A", "1"), ("X-B", "2"), ("x-a", "3")])
    headers.set("x-a", "9")
    assert list(headers.items()) == [("X-A", "9"), ("X-B", "2")]
    headers.set("X-C", "4")
    assert headers.get("x-c") == "4"
    headers.remove("x-b")
    assert "X-B" not in headers
    assert len(headers) == 2


def test_prepend_and_pop_first() -> None:
    headers = Headers([("Route", "<sip:p1;lr>, <sip:p2;lr>"), ("Route", "<sip:p3;lr>")])
    headers.prepend("Route", "<sip:p0;lr>")
    assert headers.pop_first("Route") == "<sip:p0;lr>"
    assert headers.pop_first("Route") == "<sip:p1;lr>"
    assert headers.get_all("Route") == ["<sip:p2;lr>", "<sip:p3;lr>"]
    assert headers.pop_first("Record-Route") is None


def test_copy_is_independent() -> None:
    headers = Headers([("To", "<sip:a@b>")])
    clone = headers.copy()
    clone.set("To", "<sip:c@d>")
    assert headers.get("To") == "<sip:a@b>"
    assert clone != headers


def test_line_breaks_in_values_are_refused() -> None:
    with pytest.raises(LocalProtocolError):
        Headers().add("Subject", "a\r\nVia: evil")


def test_cached_is_cleared_by_mutation() -> None:
    headers = Headers([("CSeq", "1 INVITE")])
    calls: list[int] = []

    def build() -> int:
        calls.append(1)
        return len(calls)

    assert headers.cached("k", build) == 1
    assert headers.cached("k", build) == 1
    headers.add("X", "y")
    assert headers.cached("k", build) == 2


def test_via_full() -> None:
    (via,) = parse_via("SIP/2.0/udp 192.0.2.4:5062;branch=z9hG4bK77;received=198.51.100.1;rport=6000")
    assert via.transport == "UDP"
    assert via.host == "192.0.2.4"
    assert via.port == 5062
    assert via.branch == "z9hG4bK77"
    assert via.received == "198.51.100.1"
    assert via.rport == 6000
    assert str(via) == "SIP/2.0/UDP 192.0.2.4:5062;branch=z9hG4bK77;received=198.51.100.1;rport=6000"


def test_via_empty_rport_and_no_port() -> None:
    (via,) = parse_via("SIP/2.0/TCP host.example;rport;branch=z9hG4bKx")
    assert via.port is None
    assert via.rport is True
    (plain,) = parse_via("SIP/2.0/UDP h;branch=z9hG4bKy")
    assert plain.rport is None


def test_via_with_lws_everywhere_and_several_entries() -> None:
    vias = parse_via(
        "SIP  /  2.0 /  UDP   h1.example : 5060 ; branch = z9hG4bKa , SIP/2.0/TLS [2001:db8::9]:5061"
    )
    assert [(v.transport, v.host, v.port) for v in vias] == [
        ("UDP", "h1.example", 5060),
        ("TLS", "[2001:db8::9]", 5061),
    ]
    assert vias[0].branch == "z9hG4bKa"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "SIP/2.0 host",
        "SIP/3.0/UDP host",
        "HTTP/2.0/UDP host",
        "SIP/2.0/UDP",
        "SIP/2.0/UDP host:99999",
        "SIP/2.0/UDP host:abc",
        "SIP/2.0/UDP ho st",
        "SIP/2.0/UDP host;rport=x",
        "SIP/2.0/UDP host;branch=",
        "SIP/2.0/UDP [::1",
        "SIP/2.0/UDPhost",
    ],
)
def test_malformed_via(value: str) -> None:
    with pytest.raises(RemoteProtocolError):
        parse_via(value)


def test_via_built_serialises() -> None:
    via = Via("UDP", "127.0.0.1", 5060, {"branch": "z9hG4bKq", "rport": None})
    assert str(via) == "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKq;rport"


def test_name_addr_with_quoted_display_and_escapes() -> None:
    addr = parse_name_addr('"Bob \\"the\\" Builder" <sip:bob@example.com;transport=udp>;tag=a48s')
    assert addr.display_name == 'Bob "the" Builder'
    assert addr.uri.user == "bob"
    assert addr.uri.params == {"transport": "udp"}
    assert addr.tag == "a48s"
    assert str(addr) == '"Bob \\"the\\" Builder" <sip:bob@example.com;transport=udp>;tag=a48s'


def test_name_addr_with_token_display_and_chinese_words() -> None:
    assert parse_name_addr("Alice  Smith <sip:a@b>").display_name == "Alice Smith"
    assert parse_name_addr("张三 <sip:a@b>").display_name == "张三"


def test_addr_spec_params_belong_to_header() -> None:
    addr = parse_name_addr("sip:alice@atlanta.example.com;tag=88sja8x")
    assert addr.display_name is None
    assert addr.uri.params == {}
    assert addr.tag == "88sja8x"
    assert str(addr) == "<sip:alice@atlanta.example.com>;tag=88sja8x"


def test_name_addr_quoted_param_value() -> None:
    addr = parse_name_addr('<sip:a@10.0.0.2:5060>;+sip.instance="<urn:uuid:1;x>";expires=60')
    assert addr.params == {"+sip.instance": '"<urn:uuid:1;x>"', "expires": "60"}


@pytest.mark.parametrize(
    "value",
    ["", '"unterminated <sip:a@b>', "<sip:a@b", '"x" y <sip:a@b>', "<sip:a@b> junk", "sip:a b@c", "<http://x>"],
)
def test_malformed_name_addr(value: str) -> None:
    with pytest.raises(RemoteProtocolError):
        parse_name_addr(value)


def test_name_addr_list() -> None:
    addrs = parse_name_addr_list('"A, B" <sip:a@x>;q=0.7, <sip:b@y>;expires=0')
    assert [a.uri.host for a in addrs] == ["x", "y"]
    assert addrs[0].display_name == "A, B"
    assert addrs[1].params == {"expires": "0"}


def test_built_name_addr_serialises() -> None:
    addr = NameAddr("坐席 1", parse_uri("sip:8001@pbx"), {"tag": "t1"})
    assert str(addr) == '"坐席 1" <sip:8001@pbx>;tag=t1'


def test_cseq() -> None:
    assert parse_cseq("4711 INVITE") == CSeq(4711, "INVITE")
    assert parse_cseq("  1\t ACK ") == CSeq(1, "ACK")
    assert str(CSeq(2, "BYE")) == "2 BYE"


@pytest.mark.parametrize(
    "value",
    ["", "INVITE", "1", "x INVITE", "-1 INVITE", "99999999999 INVITE", "1 IN VITE", "4294967296 INVITE"]
    + ["1 INV@TE"],
)
def test_malformed_cseq(value: str) -> None:
    with pytest.raises(RemoteProtocolError):
        parse_cseq(value)


def test_params_parser() -> None:
    assert parse_params("a=1;B;c = 3") == {"a": "1", "b": None, "c": "3"}
    with pytest.raises(RemoteProtocolError):
        parse_params("=1")


def test_lookups_follow_every_change_after_an_indexed_read() -> None:
    headers = Headers([("Via", "SIP/2.0/UDP a"), ("Call-ID", "x")])
    assert headers.get("call-id") == "x"  # builds the lookup index
    assert headers.get_all("Require") == []
    headers.add("Require", "timer")
    headers.set("Call-ID", "y")
    headers.prepend("Via", "SIP/2.0/UDP b")
    assert headers.get("i") == "y"
    assert headers.get_all("Require") == ["timer"]
    assert headers.get("Via") == "SIP/2.0/UDP b"
    headers.remove("Call-ID")
    assert headers.get("Call-ID") is None
    assert headers.pop_first("Via") == "SIP/2.0/UDP b"
    assert headers.get("Via") == "SIP/2.0/UDP a"


def test_vias_with_the_same_sent_by_stay_independent() -> None:
    first = parse_via("SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1;rport")[0]
    first.params["received"] = "192.0.2.1"
    second = parse_via("SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK2")[0]
    assert (second.transport, second.host, second.port) == ("UDP", "10.0.0.1", 5060)
    assert second.params == {"branch": "z9hG4bK2"}
    with pytest.raises(RemoteProtocolError):
        parse_via("SIP/2.0/UDP 10.0.0.1:5060;rport=99999")
    with pytest.raises(RemoteProtocolError):
        parse_via("SIP/2.0/UDP 10.0.0.1:99999;branch=z9hG4bK3")


def test_extend_canonical_appends_in_order_and_invalidates_lookups() -> None:
    headers = Headers()
    headers.add("Via", "SIP/2.0/UDP h;branch=z9hG4bK1")
    assert headers.get("Allow") is None  # builds the first-value index
    headers.extend_canonical((("Allow", "INVITE, ACK"), ("Supported", "timer")))
    assert headers.get("Allow") == "INVITE, ACK"
    assert list(headers.items())[1:] == [("Allow", "INVITE, ACK"), ("Supported", "timer")]
