"""The customer card of an offered call, on the fake store: known and unknown callers, complaints,
the region's source."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fakes import FakeStore
from waterline.adapters.numberinfo import PhoneNumberInfo
from waterline.domain.customers import new_address, new_customer
from waterline.domain.tasks import Complaint
from waterline.web.card import RECENT_COMPLAINTS, card_lookup, known_number

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def _store_with_customer() -> tuple[FakeStore, int]:
    store = FakeStore()
    with store.uow() as uow:
        address = new_address("西安市", "雁塔区", "科技路10号", is_default=True)
        customer = uow.customers.add(new_customer("张伟", ["13912345678"], [address]))
        assert customer.id is not None
        for n in range(RECENT_COMPLAINTS + 2):
            uow.complaints.add(Complaint(f"reason-{n}", "13912345678", T0 + timedelta(minutes=n),
                                         customer_id=customer.id))
        uow.complaints.add(Complaint("someone else", "13800000000", T0, customer_id=None))
        uow.commit()
    return store, customer.id


def test_a_known_caller_gets_the_customer_his_latest_complaints_and_his_address_region() -> None:
    store, customer_id = _store_with_customer()
    card = card_lookup(store.uow, PhoneNumberInfo())("+86 139-1234-5678", "咸阳市")
    assert card["phone"] == "13912345678" and card["known"] is True
    assert card["customer"]["id"] == customer_id and card["customer"]["name"] == "张伟"
    assert {"last_orders", "tickets", "buckets", "addresses", "preferences", "tier"} <= set(card["customer"])
    reasons = [c["reason"] for c in card["complaints"]]
    assert reasons == [f"reason-{n}" for n in range(RECENT_COMPLAINTS + 1, 1, -1)]  # newest five
    # his address says where he is, whatever city he chose in the menu
    assert card["region"] == {"province": "陕西省", "city": "西安市", "district": "雁塔区",
                              "source": "address"}


def test_an_unknown_caller_gets_the_chosen_city_or_the_number_region() -> None:
    look_up = card_lookup(FakeStore().uow, PhoneNumberInfo())
    chosen = look_up("13709110000", "宝鸡市")
    assert (chosen["known"], chosen["customer"], chosen["complaints"]) == (False, None, [])
    assert chosen["region"]["city"] == "宝鸡市" and chosen["region"]["source"] == "caller"
    by_number = look_up("02988886666", None)
    assert by_number["region"]["province"] == "陕西省" and by_number["region"]["source"] == "area_code"


def test_known_number_names_some_customer_phone_for_the_warm_up() -> None:
    store, _ = _store_with_customer()
    assert known_number(store.uow) == "13912345678"
    assert known_number(FakeStore().uow) is None


def test_a_withheld_number_is_nobody_from_nowhere() -> None:
    card = card_lookup(FakeStore().uow, PhoneNumberInfo())("anonymous", None)
    assert card == {"phone": "anonymous", "known": False, "customer": None, "complaints": [],
                    "region": {"province": None, "city": None, "district": None, "source": "unknown"}}
