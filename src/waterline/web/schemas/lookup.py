"""The screen-pop lookup: everything an agent needs when a known caller rings, in one response."""

from __future__ import annotations

from waterline.services.queries import ScreenPop
from waterline.web.schemas.bucket import BucketBalanceOut
from waterline.web.schemas.customer import CustomerOut
from waterline.web.schemas.order import OrderSummaryOut
from waterline.web.schemas.ticket import TicketBalanceOut


class CustomerLookupOut(CustomerOut):
    """The customer (``id``, ``phones``, ``addresses``...) plus ``last_orders``, ``tickets``, ``buckets``."""

    last_orders: list[OrderSummaryOut]
    tickets: list[TicketBalanceOut]
    buckets: BucketBalanceOut

    @classmethod
    def of_screen_pop(cls, pop: ScreenPop) -> CustomerLookupOut:
        """The API view of a screen-pop query result."""
        fields = CustomerOut.fields_of(pop.customer)
        fields.update(
            last_orders=[OrderSummaryOut.of(o) for o in pop.last_orders],
            tickets=[TicketBalanceOut.of(a) for a in pop.tickets],
            buckets=BucketBalanceOut.of(pop.buckets),
        )
        return cls.model_validate(fields)
