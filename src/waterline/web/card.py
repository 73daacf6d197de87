"""The customer card of an incoming call (screen pop), as ``/ws/agent`` pushes it with ``call.offered``.

The same read as ``GET /api/customers/lookup`` (``services.queries.screen_pop``: the customer with
phones, addresses, preferences, tier, the last orders, ticket and bucket balances), plus the
customer's latest complaints and the caller's region: the default address's for a known customer,
else the city the caller chose in the flow, else what the number says. Blocking (store reads): the
hub runs it in a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from waterline.domain import phones
from waterline.domain.errors import InvalidInput
from waterline.domain.tasks import Complaint
from waterline.services.ports import NumberInfo, UnitOfWork
from waterline.services.queries import SCREEN_POP_ORDERS, ScreenPop, ScreenPopReader, screen_pop
from waterline.web.schemas.lookup import CustomerLookupOut
from waterline.web.schemas.task import ComplaintOut

__all__ = ["RECENT_COMPLAINTS", "card_lookup", "known_number"]

RECENT_COMPLAINTS = 5
SHAANXI = "陕西省"


def card_lookup(
    uow_factory: Callable[[], UnitOfWork], number_info: NumberInfo
) -> Callable[[str, str | None], dict[str, Any]]:
    """A blocking ``(caller, region) -> card`` for the live hub.

    The card: ``phone`` (canonical, or as received when it is no phone), ``known``, ``customer`` (the
    lookup's JSON, None for an unknown caller), ``complaints`` (newest first), ``region``
    (``province``, ``city``, ``district``, ``source``).
    """

    def look_up(caller: str, region: str | None) -> dict[str, Any]:
        try:
            number = phones.normalise(caller)
        except InvalidInput:
            # withheld or odd caller id: nobody to look up
            return {"phone": caller, "known": False, "customer": None, "complaints": [],
                    "region": _chosen(region) or _nowhere()}
        pop, complaints = _read(uow_factory, number)
        if pop is None:
            return {"phone": number, "known": False, "customer": None, "complaints": [],
                    "region": _chosen(region) or _located(number_info, number)}
        address = pop.customer.default_address()
        where = (
            {"province": SHAANXI, "city": address.city, "district": address.district, "source": "address"}
            if address is not None
            else _chosen(region) or _located(number_info, number)
        )
        return {
            "phone": number,
            "known": True,
            "customer": CustomerLookupOut.of_screen_pop(pop).model_dump(mode="json"),
            "complaints": [ComplaintOut.of(c).model_dump(mode="json") for c in complaints],
            "region": where,
        }

    return look_up


def known_number(uow_factory: Callable[[], UnitOfWork]) -> str | None:
    """Some customer's phone (to warm the card's path for known callers up), or None in an empty store."""
    with uow_factory() as uow:
        customers = uow.customers.search(limit=1)
    for customer in customers:
        for phone in customer.phones:
            return phone.number
    return None


def _read(uow_factory: Callable[[], UnitOfWork], number: str) -> tuple[ScreenPop | None, list[Complaint]]:
    uow = uow_factory()
    if not isinstance(uow, ScreenPopReader):
        pop = screen_pop(uow, number)
        if pop is None:
            return None, []
        with uow_factory() as again:
            return pop, again.complaints.search(customer_id=pop.customer.id, limit=RECENT_COMPLAINTS)
    # the store's fast read and the complaints in one unit of work: one pooled connection, not two
    # (on PostgreSQL a second checkout and its transaction cost more than both queries)
    with uow:
        found = uow.read_screen_pop(number, SCREEN_POP_ORDERS)
        if found is None:
            return None, []
        return found, uow.complaints.search(customer_id=found.customer.id, limit=RECENT_COMPLAINTS)


def _chosen(region: str | None) -> dict[str, Any] | None:
    if not region:
        return None
    return {"province": None, "city": region, "district": None, "source": "caller"}


def _nowhere() -> dict[str, Any]:
    return {"province": None, "city": None, "district": None, "source": "unknown"}


def _located(number_info: NumberInfo, number: str) -> dict[str, Any]:
    try:
        where = number_info.locate(number)
    except InvalidInput:
        return _nowhere()
    return {"province": where.province, "city": where.city, "district": where.district,
            "source": where.source.value}
