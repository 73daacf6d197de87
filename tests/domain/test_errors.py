import pytest

from waterline.domain.errors import (
    Conflict,
    IllegalTransition,
    InvalidInput,
    NoStationAvailable,
    NotFound,
    TicketOverdraw,
    WaterlineError,
    found,
)


@pytest.mark.parametrize(
    "error",
    [
        NotFound("order", 42),
        InvalidInput("order.bad_quantity", quantity=-1),
        Conflict("phone.duplicate", phone="13991234567"),
        IllegalTransition("order.illegal_transition", number="N", from_state="closed", to_state="placed"),
        TicketOverdraw("ticket.overdraw", needed=2, balance=0),
        NoStationAvailable("dispatch.no_station"),
    ],
)
def test_errors_carry_code_and_both_messages(error: WaterlineError) -> None:
    assert isinstance(error, WaterlineError)
    assert error.code and error.message_zh and error.message_en
    assert str(error) == error.message_en
    assert error.message_zh != error.message_en


def test_not_found_names_what_and_key() -> None:
    error = NotFound("order", 42)
    assert error.code == "not_found" and error.params == {"what": "order", "key": 42}
    assert "42" in error.message_zh


def test_found_passes_values_through_and_refuses_none() -> None:
    assert found(0, "order", 1) == 0  # falsy but present
    with pytest.raises(NotFound) as caught:
        found(None, "courier", 7)
    assert caught.value.params == {"what": "courier", "key": 7}
