"""The SIP error family."""

from __future__ import annotations

import pytest

from waterline.sip.errors import LocalProtocolError, RemoteProtocolError, SipError
from waterline.sip.message import parse_message


def test_remote_error_carries_suggested_status_and_reason() -> None:
    error = RemoteProtocolError("Too Many Hops", 483)
    assert isinstance(error, SipError)
    assert (error.status, error.reason) == (483, "Too Many Hops")
    assert "483" in str(error)


def test_remote_error_defaults_to_bad_request() -> None:
    error = RemoteProtocolError("Malformed CSeq")
    assert error.status == 400
    assert error.headers is None


def test_local_error_is_a_sip_error() -> None:
    assert issubclass(LocalProtocolError, SipError)
    assert not issubclass(LocalProtocolError, RemoteProtocolError)


def test_parser_raises_only_remote_errors() -> None:
    with pytest.raises(RemoteProtocolError) as info:
        parse_message(b"garbage")
    assert info.value.status == 400
