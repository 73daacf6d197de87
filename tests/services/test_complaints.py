"""Complaint tickets filed by an agent."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fakes import FakeStore
from waterline.domain.customers import Customer, CustomerPhone
from waterline.domain.errors import InvalidInput, NotFound
from waterline.services.complaints import file_complaint

NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)


def a_customer(store: FakeStore) -> int:
    with store.uow() as uow:
        customer = uow.customers.add(Customer("李女士", phones=[CustomerPhone("13991001234")]))
        uow.commit()
    assert customer.id is not None
    return customer.id


def test_a_complaint_about_a_customer_takes_his_number() -> None:
    store = FakeStore()
    customer_id = a_customer(store)
    ticket = file_complaint(store.uow(), reason=" 水质问题 ", note=" 有异味 ", customer_id=customer_id,
                            call_id="c1", now=NOW)
    assert ticket.id is not None
    stored = store.data.complaints[ticket.id]
    assert (stored.reason, stored.note, stored.caller, stored.call_id, stored.created_at) == (
        "水质问题", "有异味", "13991001234", "c1", NOW,
    )


def test_a_given_number_is_normalised_and_must_be_a_phone() -> None:
    store = FakeStore()
    ticket = file_complaint(store.uow(), reason="其他", caller="+86 139 9100 1234", now=NOW)
    assert ticket.caller == "13991001234" and ticket.customer_id is None
    with pytest.raises(InvalidInput):
        file_complaint(store.uow(), reason="其他", caller="abc", now=NOW)


def test_refusals_store_nothing() -> None:
    store = FakeStore()
    with pytest.raises(InvalidInput):
        file_complaint(store.uow(), reason="  ", now=NOW)
    with pytest.raises(InvalidInput):
        file_complaint(store.uow(), reason="x" * 51, now=NOW)
    with pytest.raises(InvalidInput):
        file_complaint(store.uow(), reason="其他", note="x" * 1001, now=NOW)
    with pytest.raises(NotFound):
        file_complaint(store.uow(), reason="其他", customer_id=404, now=NOW)
    assert store.data.complaints == {}
