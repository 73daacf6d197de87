import string

import pytest

from waterline.domain.catalogue import MESSAGES, message
from waterline.domain.outbox import sms_segments


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_both_languages_present_with_the_same_placeholders(code: str) -> None:
    zh, en = MESSAGES[code]
    assert zh.strip() and en.strip()
    assert _fields(zh) == _fields(en)


def test_message_fills_both_languages() -> None:
    msg = message("ticket.overdraw", needed=3, balance=1)
    assert (msg.code, msg.zh) == ("ticket.overdraw", "水票余额不足：需要3张，余额1张")
    assert msg.en == "Not enough water tickets: 3 needed, balance 1"
    with pytest.raises(KeyError):
        message("no.such.code")


def test_dispatch_sms_fits_one_segment() -> None:
    text = message(
        "sms.order_dispatched",
        sign="水线送水",
        number="SX20261125-0007",
        courier_name="王师傅",
        courier_phone="13991110001",
        eta="10:35",
        hotline="400-636-0888",
    ).zh
    assert sms_segments(text) == 1
