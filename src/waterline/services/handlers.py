"""Command handlers: ``(command, uow, deps) -> result``. Each runs in one unit of work and commits once,
so an order, its dispatch, its ledger entries and its SMS in the outbox are written together or not at
all."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from waterline.domain import dispatch as policy
from waterline.domain import hours, phones
from waterline.domain.buckets import BucketEntry
from waterline.domain.catalogue import message
from waterline.domain.commands import (
    AddressInput,
    AdjustBuckets,
    AdjustTickets,
    CancelOrder,
    CollectEmpties,
    Command,
    CreateCustomer,
    DispatchOrder,
    EnterpriseInput,
    PayBucketDeposit,
    PlaceOrder,
    PreferencesInput,
    ReassignOrder,
    RefundBucketDeposit,
    SellTickets,
    TransitionOrder,
    UpdateCustomer,
)
from waterline.domain.customers import (
    Address,
    Customer,
    EnterpriseAccount,
    Preferences,
    new_address,
    new_customer,
)
from waterline.domain.errors import Conflict, IllegalTransition, InvalidInput, found
from waterline.domain.events import (
    BucketsChanged,
    CourierAssigned,
    CustomerCreated,
    CustomerUpdated,
    OrderAwaitingCourier,
    OrderCancelled,
    OrderDelivered,
    OrderDispatched,
    OrderPlaced,
    OrderStateChanged,
    SmsQueued,
    TicketsAdjusted,
    TicketsConsumed,
    TicketsSold,
)
from waterline.domain.orders import (
    SHANGHAI,
    Order,
    OrderItem,
    OrderState,
    OrderTransition,
    business_day,
    new_order,
    order_number,
)
from waterline.domain.outbox import OutboxMessage, new_sms
from waterline.domain.phones import PhoneKind
from waterline.domain.products import Product
from waterline.domain.regions import great_circle_km
from waterline.domain.stations import Courier, Station
from waterline.domain.tickets import TicketAccount, TicketEntry, plan_consumption
from waterline.services.context import CommandHandler, Dependencies
from waterline.services.ports import UnitOfWork

# ---------------------------------------------------------------- lookups


def _customer(uow: UnitOfWork, customer_id: int) -> Customer:
    return found(uow.customers.get(customer_id), "customer", customer_id)


def _product(uow: UnitOfWork, product_id: int) -> Product:
    # read-only: pricing an order never changes the catalogue
    return found(uow.products.snapshot().get(product_id), "product", product_id)


def _station(uow: UnitOfWork, station_id: int) -> Station:
    return found(uow.stations.get(station_id), "station", station_id)


def _courier(uow: UnitOfWork, courier_id: int) -> Courier:
    return found(uow.couriers.get(courier_id), "courier", courier_id)


def _order(uow: UnitOfWork, order_id: int) -> Order:
    return found(uow.orders.get(order_id), "order", order_id)


def _ids(*values: int | None) -> tuple[int, ...]:
    # Repositories assign ids on add; a missing id here is an adapter bug, not bad input.
    if any(v is None for v in values):
        raise RuntimeError("repository returned an object without an id")
    return tuple(v for v in values if v is not None)


# ---------------------------------------------------------------- customers


def _address(uow: UnitOfWork, given: AddressInput) -> Address:
    if given.station_override_id is not None:
        _station(uow, given.station_override_id)
    return new_address(
        given.city,
        given.district,
        given.detail,
        floor=given.floor,
        has_elevator=given.has_elevator,
        lat=given.lat,
        lon=given.lon,
        station_override_id=given.station_override_id,
        is_default=given.is_default,
    )


def _preferences(uow: UnitOfWork, given: PreferencesInput) -> Preferences:
    if given.usual_product_id is not None:
        _product(uow, given.usual_product_id)
    if given.usual_quantity is not None and given.usual_quantity <= 0:
        raise InvalidInput("order.bad_quantity", quantity=given.usual_quantity)
    return Preferences(given.usual_product_id, given.usual_quantity, given.window_start, given.window_end)


def _enterprise(given: EnterpriseInput) -> EnterpriseAccount:
    if given.credit_limit_fen < 0 or given.payment_terms_days < 0:
        raise InvalidInput("invalid_input", detail="credit limit and payment terms must not be negative")
    return EnterpriseAccount(
        given.company_name, given.credit_limit_fen, given.payment_terms_days, given.tax_id
    )


def _claim_phones(uow: UnitOfWork, customer: Customer, raw_phones: tuple[str, ...]) -> None:
    for raw in raw_phones:
        number = phones.normalise(raw)
        owner = uow.customers.find_by_phone(number)
        if owner is not None and owner is not customer and owner.id != customer.id:
            raise Conflict("phone.duplicate", phone=number)
        customer.add_phone(number)


def create_customer(cmd: CreateCustomer, uow: UnitOfWork, deps: Dependencies) -> Customer:
    """Register a customer; ``Conflict`` when one of the phones already belongs to someone."""
    with uow:
        customer = new_customer(cmd.name, list(cmd.phones))
        _claim_phones(uow, customer, tuple(customer.phone_numbers))
        for given in cmd.addresses:
            customer.add_address(_address(uow, given))
        customer.tier = cmd.tier
        customer.tags = list(cmd.tags)
        customer.notes = cmd.notes
        if cmd.preferences is not None:
            customer.preferences = _preferences(uow, cmd.preferences)
        if cmd.enterprise is not None:
            customer.enterprise = _enterprise(cmd.enterprise)
        uow.customers.add(customer)
        (customer_id,) = _ids(customer.id)
        uow.record(CustomerCreated(customer_id))
        uow.commit()
        return customer


def update_customer(cmd: UpdateCustomer, uow: UnitOfWork, deps: Dependencies) -> Customer:
    """Change a customer; a customer keeps at least one phone."""
    with uow:
        customer = _customer(uow, cmd.customer_id)
        if cmd.name is not None:
            if not cmd.name.strip():
                raise InvalidInput("customer.name_required")
            customer.name = cmd.name.strip()
        _claim_phones(uow, customer, cmd.add_phones)
        removing = {phones.normalise(raw) for raw in cmd.remove_phones}
        customer.phones = [p for p in customer.phones if p.number not in removing]
        if not customer.phones:
            raise InvalidInput("customer.no_phone")
        for given in cmd.add_addresses:
            customer.add_address(_address(uow, given))
        if cmd.tier is not None:
            customer.tier = cmd.tier
        if cmd.tags is not None:
            customer.tags = list(cmd.tags)
        if cmd.notes is not None:
            customer.notes = cmd.notes
        if cmd.preferences is not None:
            customer.preferences = _preferences(uow, cmd.preferences)
        if cmd.enterprise is not None:
            customer.enterprise = _enterprise(cmd.enterprise)
        uow.flush()
        uow.record(CustomerUpdated(cmd.customer_id))
        uow.commit()
        return customer


# ---------------------------------------------------------------- orders


def _sms_recipient(customer: Customer) -> str | None:
    # SMS reaches mobiles only; the first mobile listed is the customer's main one.
    for phone in customer.phones:
        if phones.kind(phone.number) is PhoneKind.MOBILE:
            return phone.number
    return None


def _queue_sms(
    uow: UnitOfWork, deps: Dependencies, customer: Customer, order: Order, template: str, **params: Any
) -> OutboxMessage | None:
    to = _sms_recipient(customer)
    if to is None:
        return None
    settings = deps.settings
    text = message(
        template, sign=settings.sms_sign, hotline=settings.hotline, number=order.number, **params
    ).zh
    sms = uow.outbox.add(
        new_sms(to, text, deps.clock.now(), template=template, order_id=order.id, customer_id=customer.id)
    )
    (sms_id,) = _ids(sms.id)
    uow.record(SmsQueued(sms_id, to, order.id))
    return sms


def _record_transition(uow: UnitOfWork, order: Order, record: OrderTransition) -> None:
    (order_id,) = _ids(order.id)
    assert record.from_state is not None  # creation records are not transitions
    uow.record(
        OrderStateChanged(order_id, order.number, record.from_state, record.to_state, record.at, record.by)
    )


def _eta_text(eta: datetime | None) -> str:
    return eta.astimezone(SHANGHAI).strftime("%H:%M") if eta is not None else "尽快"


@dataclass(frozen=True)
class _Assignment:
    """A dispatch decided but not yet applied: the courier (None: the order waits at ``station_id``).

    ``booked``: the order's units are already on the courier's load (``CourierRepository.reserve``).
    """

    station_id: int
    courier: Courier | None
    eta: datetime | None
    reason: str
    at: datetime
    booked: bool = False


def _decide(
    uow: UnitOfWork,
    deps: Dependencies,
    address: Address,
    units: int,
    number: str,
    station_id: int | None = None,
    courier_id: int | None = None,
) -> _Assignment:
    """Where an order of ``units`` to ``address`` goes: the given station/courier, or the policy's choice.

    Reads, and books the units onto the courier the policy chose (a named courier is only locked, and
    booked when the assignment is applied), so a new order can be decided before it takes its number.
    ``number`` only appears in error details.
    """
    now = deps.clock.now()
    if courier_id is not None:
        courier = _courier(uow, courier_id)
        if not courier.on_duty:
            raise InvalidInput(
                "order.not_dispatchable", number=number, detail="courier is off duty / 送水员不在岗"
            )
        station = _station(uow, courier.station_id)
        if station_id is not None and station_id != station.id:
            raise InvalidInput("order.not_dispatchable", number=number, detail="courier of another station")
        lat, lon = address.coordinates()
        km = great_circle_km(station.lat, station.lon, lat, lon)
        minutes = policy.estimate_minutes(km, courier, address, units, deps.settings.dispatch)
        (station_key,) = _ids(station.id)
        return _Assignment(station_key, courier, now + timedelta(minutes=minutes), "manual", now)
    stations = [_station(uow, station_id)] if station_id is not None else uow.stations.snapshot()
    is_open = None
    if deps.calendar is not None:
        # the same holiday-aware hours the IVR tells the caller (a 调休 Saturday opens like a workday)
        calendar = deps.calendar(uow)

        def is_open(station: Station) -> bool:
            return hours.is_open(station, now, calendar)

    choice = policy.choose_station(address, stations, now, is_open)
    # Only the chosen station's couriers can take the order: load those, not every courier.
    (chosen_station,) = _ids(choice.station.id)
    couriers = uow.couriers.candidates(chosen_station)
    # The list is read without locks, so a concurrent placement may have filled the chosen courier
    # since: ``reserve`` books him only if he still has room (one conditional UPDATE, which holds his
    # row until commit), and a courier found full or gone off duty is passed over.
    for _ in range(len(couriers) + 1):
        decision = policy.decide_at_station(choice, address, units, couriers, now, deps.settings.dispatch)
        if decision.courier_id is None:
            return _Assignment(decision.station_id, None, None, "", now)
        booked = uow.couriers.reserve(decision.courier_id, units)
        if booked is not None:
            reason = "; ".join(r.zh for r in decision.reasons)
            return _Assignment(decision.station_id, booked, decision.eta, reason, now, booked=True)
        couriers = [c for c in couriers if c.id != decision.courier_id]
    raise AssertionError("unreachable: every pass drops one courier")  # pragma: no cover


def _dispatch_as_decided(
    order: Order, assignment: _Assignment, by: str
) -> tuple[Courier | None, OrderTransition | None]:
    """Apply ``assignment`` to the domain objects only (order state, courier load); returns the
    courier and the transition record (None, None when the order waits at the station)."""
    courier = assignment.courier
    if courier is None:
        order.station_id = assignment.station_id
        return None, None
    (courier_key, station_key) = _ids(courier.id, courier.station_id)
    record = order.dispatch(station_key, courier_key, assignment.eta, assignment.at, by, assignment.reason)
    if not assignment.booked:
        courier.take(order.units)
    return courier, record


def _record_dispatch(
    uow: UnitOfWork, order: Order, assignment: _Assignment, record: OrderTransition | None
) -> None:
    """The events of a dispatch applied by ``_dispatch_as_decided`` (the order must have its id)."""
    (order_id,) = _ids(order.id)
    now = assignment.at
    courier = assignment.courier
    if courier is None or record is None:
        uow.record(OrderAwaitingCourier(order_id, order.number, assignment.station_id, now))
        return
    (courier_key, station_key) = _ids(courier.id, courier.station_id)
    _record_transition(uow, order, record)
    uow.record(OrderDispatched(order_id, order.number, station_key, courier_key, order.eta, now))
    uow.record(CourierAssigned(order_id, courier_key, now))


def _apply(uow: UnitOfWork, order: Order, assignment: _Assignment, by: str) -> Courier | None:
    """Dispatch ``order`` as decided and record the events; returns the courier, or None when the
    order waits at the station for a courier with room."""
    courier, record = _dispatch_as_decided(order, assignment, by)
    _record_dispatch(uow, order, assignment, record)
    return courier


def _assign(
    uow: UnitOfWork,
    deps: Dependencies,
    order: Order,
    address: Address,
    by: str,
    station_id: int | None = None,
    courier_id: int | None = None,
) -> Courier | None:
    """Dispatch ``order``: to the given station/courier, or by the policy. Returns the courier, or None
    when the policy found a station but no courier with room (the order stays placed at that station)."""
    assignment = _decide(uow, deps, address, order.units, order.number, station_id, courier_id)
    return _apply(uow, order, assignment, by)


def _ticket_accounts(
    uow: UnitOfWork, customer_id: int, product_id: int, station_id: int | None
) -> list[TicketAccount]:
    """Accounts a delivery may spend from: the delivering station's own tickets first, then general ones;
    before a station is known, every account of the product."""
    if station_id is not None:
        return [
            uow.tickets.account(customer_id, product_id, station_id),
            uow.tickets.account(customer_id, product_id, None),
        ]
    return [a for a in uow.tickets.accounts(customer_id) if a.product_id == product_id]


def place_order(cmd: PlaceOrder, uow: UnitOfWork, deps: Dependencies) -> Order:
    """Validate and price an order, dispatch it (unless manual), check ticket cover, and queue the SMS."""
    with uow:
        if not cmd.items:
            raise InvalidInput("order.no_items")
        for item in cmd.items:
            if isinstance(item.quantity, bool) or item.quantity <= 0:
                raise InvalidInput("order.bad_quantity", quantity=item.quantity)
        customer = _customer(uow, cmd.customer_id)
        if cmd.address_id is None:
            address = customer.default_address()
            if address is None:
                raise InvalidInput("customer.no_address")
        else:
            found = customer.address_by_id(cmd.address_id)
            if found is None:
                raise InvalidInput("address.not_of_customer", address_id=cmd.address_id)
            address = found
        lines: list[OrderItem] = []
        for item in cmd.items:
            product = _product(uow, item.product_id)
            if not product.active:
                raise InvalidInput("product.inactive", sku=product.sku)
            # tickets are sold for barrelled water; dispensers and accessories are paid in money
            by_ticket = cmd.pay_with_tickets and product.returnable
            lines.append(
                OrderItem(item.product_id, item.quantity, product.price_fen, paid_with_tickets=by_ticket)
            )
        if cmd.pay_with_tickets and not any(line.paid_with_tickets for line in lines):
            raise InvalidInput(
                "invalid_input",
                detail="no item of this order can be paid with tickets / 无可用水票支付的商品",
            )
        (customer_id, address_id) = _ids(customer.id, address.id)
        auto = deps.settings.auto_dispatch if cmd.auto_dispatch is None else cmd.auto_dispatch
        # Every read (dispatch, ticket accounts) comes before the day's order number: on PostgreSQL
        # taking the number locks the day's sequence row until commit, so only writes run under it.
        units = sum(line.quantity for line in lines)
        assignment = _decide(uow, deps, address, units, "") if auto else None
        station_id = assignment.station_id if assignment is not None else None
        accounts = [
            _ticket_accounts(uow, customer_id, line.product_id, station_id) if line.paid_with_tickets else []
            for line in lines
        ]
        now = deps.clock.now()
        seq = uow.next_order_sequence(business_day(now))
        order = new_order(
            number=order_number(now, seq, deps.settings.order_prefix),
            customer_id=customer_id,
            address_id=address_id,
            items=lines,
            channel=cmd.channel,
            at=now,
            by=cmd.by,
            window_start=cmd.window_start,
            window_end=cmd.window_end,
            pay_with_tickets=cmd.pay_with_tickets,
            note=cmd.note,
        )
        # Dispatched before it is stored: the order is written once, already in its dispatched state
        # (an INSERT, not an INSERT and an UPDATE).
        courier, record = (
            _dispatch_as_decided(order, assignment, "system") if assignment is not None else (None, None)
        )
        uow.orders.add(order)
        (order_id,) = _ids(order.id)
        uow.record(OrderPlaced(order_id, order.number, customer_id, order.channel, order.placed_at))
        if assignment is not None:
            _record_dispatch(uow, order, assignment, record)
        # Tickets are spent on delivery, but an order the customer cannot cover is refused now.
        for line, line_accounts in zip(lines, accounts, strict=True):
            if line.paid_with_tickets:
                plan_consumption(line_accounts, line.quantity, order_id, now, cmd.by)
        if courier is not None:
            _tell_dispatched(uow, deps, customer, order, courier)
        else:
            _queue_sms(uow, deps, customer, order, "sms.order_placed")
        uow.commit()
        return order


def dispatch_order(cmd: DispatchOrder, uow: UnitOfWork, deps: Dependencies) -> Order:
    """Dispatch a placed order (manually to a courier, or by the policy) and tell the customer."""
    with uow:
        order = _order(uow, cmd.order_id)
        if order.state is not OrderState.PLACED:
            raise IllegalTransition(
                "order.illegal_transition",
                number=order.number,
                from_state=order.state.value,
                to_state=OrderState.DISPATCHED.value,
            )
        customer = _customer(uow, order.customer_id)
        address = customer.address_by_id(order.address_id)
        if address is None:
            raise InvalidInput("address.not_of_customer", address_id=order.address_id)
        courier = _assign(uow, deps, order, address, cmd.by, cmd.station_id, cmd.courier_id)
        if courier is None:
            raise InvalidInput(
                "order.not_dispatchable", number=order.number, detail="no courier with room / 无空闲送水员"
            )
        _tell_dispatched(uow, deps, customer, order, courier)
        uow.flush()
        uow.commit()
        return order


def reassign_order(cmd: ReassignOrder, uow: UnitOfWork, deps: Dependencies) -> Order:
    """Give a dispatched order to another courier (改派): the old one's load is freed, the new one takes
    it with a fresh ETA, and the customer is told who comes now. 409 unless dispatched."""
    with uow:
        order = _order(uow, cmd.order_id)
        if order.state is not OrderState.DISPATCHED or order.courier_id == cmd.courier_id:
            raise IllegalTransition(
                "order.illegal_transition",
                number=order.number,
                from_state=order.state.value,
                to_state=OrderState.DISPATCHED.value,
            )
        customer = _customer(uow, order.customer_id)
        address = customer.address_by_id(order.address_id)
        if address is None:
            raise InvalidInput("address.not_of_customer", address_id=order.address_id)
        assignment = _decide(uow, deps, address, order.units, order.number, courier_id=cmd.courier_id)
        courier = assignment.courier
        assert courier is not None  # a named courier is always decided (or refused above)
        previous = _courier(uow, order.courier_id) if order.courier_id is not None else None
        (courier_key, station_key, order_id) = _ids(courier.id, courier.station_id, order.id)
        reason = f"改派：{previous.name if previous else '-'} → {courier.name}"
        record = order.reassign(station_key, courier_key, assignment.eta, assignment.at, cmd.by, reason)
        if previous is not None:
            previous.release(order.units)
        courier.take(order.units)
        _record_transition(uow, order, record)
        uow.record(OrderDispatched(order_id, order.number, station_key, courier_key, order.eta, record.at))
        uow.record(CourierAssigned(order_id, courier_key, record.at))
        _tell_dispatched(uow, deps, customer, order, courier)
        uow.flush()
        uow.commit()
        return order


def _tell_dispatched(uow: UnitOfWork, deps: Dependencies, customer: Customer, order: Order,
                     courier: Courier) -> None:
    """Queue the SMS that tells the customer which courier comes and when."""
    _queue_sms(uow, deps, customer, order, "sms.order_dispatched", courier_name=courier.name,
               courier_phone=courier.mobile, eta=_eta_text(order.eta))


def _cancel(uow: UnitOfWork, deps: Dependencies, order: Order, reason: str, by: str) -> None:
    was_with_courier = order.state is OrderState.DISPATCHED and order.courier_id is not None
    record = order.cancel(reason, deps.clock.now(), by)
    if was_with_courier and order.courier_id is not None:
        _courier(uow, order.courier_id).release(order.units)
    _record_transition(uow, order, record)
    (order_id,) = _ids(order.id)
    uow.record(OrderCancelled(order_id, order.number, order.cancel_reason, record.at))
    _queue_sms(uow, deps, _customer(uow, order.customer_id), order, "sms.order_cancelled")


def cancel_order(cmd: CancelOrder, uow: UnitOfWork, deps: Dependencies) -> Order:
    """Cancel with a reason (placed or dispatched only); frees the courier's load."""
    with uow:
        order = _order(uow, cmd.order_id)
        _cancel(uow, deps, order, cmd.reason, cmd.by)
        uow.flush()
        uow.commit()
        return order


def _deliver(uow: UnitOfWork, deps: Dependencies, order: Order, cmd: TransitionOrder) -> None:
    if cmd.empties_collected < 0:
        raise InvalidInput("bucket.bad_quantity", quantity=cmd.empties_collected)
    now = deps.clock.now()
    record = order.transition(OrderState.DELIVERED, now, cmd.by, cmd.reason)
    (order_id,) = _ids(order.id)
    # Ticket spending: by default each ticket-paid line spends its quantity; an explicit
    # ``tickets_used`` (what the courier actually collected) is spent on the main barrel product.
    spend: dict[int, int] = {}
    if cmd.tickets_used is None:
        for line in order.items:
            if line.paid_with_tickets:
                spend[line.product_id] = spend.get(line.product_id, 0) + line.quantity
    elif cmd.tickets_used < 0:
        raise InvalidInput("ticket.bad_quantity", quantity=cmd.tickets_used)
    elif cmd.tickets_used > 0:
        ticket_lines = [line for line in order.items if line.paid_with_tickets]
        barrel_lines = [line for line in order.items if _product(uow, line.product_id).returnable]
        main = (ticket_lines or barrel_lines or order.items)[0]
        spend[main.product_id] = cmd.tickets_used
    used = 0
    for product_id, quantity in spend.items():
        accounts = _ticket_accounts(uow, order.customer_id, product_id, order.station_id)
        for entry in plan_consumption(accounts, quantity, order_id, now, cmd.by):
            uow.tickets.append(entry)
            uow.record(
                TicketsConsumed(order.customer_id, product_id, -entry.quantity, order_id, entry.balance_after)
            )
        used += quantity
    order.tickets_used = used
    # Buckets: full barrels stay, empties come back.
    returnable = sum(line.quantity for line in order.items if _product(uow, line.product_id).returnable)
    bucket_entries: list[BucketEntry] = []
    account = uow.buckets.account(order.customer_id)
    if returnable:
        bucket_entries.append(account.deliver(returnable, order_id, now, cmd.by))
        account = account.apply(bucket_entries[-1])
    if cmd.empties_collected:
        bucket_entries.append(account.collect(cmd.empties_collected, order_id, now, cmd.by))
        account = account.apply(bucket_entries[-1])
    for bucket_entry in bucket_entries:
        uow.buckets.append(bucket_entry)
    if bucket_entries:
        uow.record(BucketsChanged(order.customer_id, account.held, account.entitlement, account.debt))
    order.empties_collected = cmd.empties_collected
    if order.courier_id is not None:
        _courier(uow, order.courier_id).release(order.units)
    _record_transition(uow, order, record)
    uow.record(OrderDelivered(order_id, order.number, used, cmd.empties_collected, now))


def transition_order(cmd: TransitionOrder, uow: UnitOfWork, deps: Dependencies) -> Order:
    """Move an order along its state machine; delivered spends tickets and books buckets."""
    if cmd.to is OrderState.DISPATCHED:
        return dispatch_order(DispatchOrder(cmd.order_id, by=cmd.by), uow, deps)
    if cmd.to is OrderState.CANCELLED:
        return cancel_order(CancelOrder(cmd.order_id, cmd.reason, cmd.by), uow, deps)
    with uow:
        order = _order(uow, cmd.order_id)
        if cmd.to is OrderState.DELIVERED:
            _deliver(uow, deps, order, cmd)
        else:
            record = order.transition(cmd.to, deps.clock.now(), cmd.by, cmd.reason)
            _record_transition(uow, order, record)
        uow.flush()
        uow.commit()
        return order


# ---------------------------------------------------------------- tickets and buckets


def sell_tickets(cmd: SellTickets, uow: UnitOfWork, deps: Dependencies) -> TicketEntry:
    """Sell a ticket package (general, or valid at one station only)."""
    with uow:
        _customer(uow, cmd.customer_id)
        _product(uow, cmd.product_id)
        if cmd.station_id is not None:
            _station(uow, cmd.station_id)
        account = uow.tickets.account(cmd.customer_id, cmd.product_id, cmd.station_id)
        entry = uow.tickets.append(
            account.sell(cmd.quantity, cmd.price_fen, deps.clock.now(), cmd.by, cmd.note)
        )
        uow.record(
            TicketsSold(cmd.customer_id, cmd.product_id, cmd.quantity, cmd.price_fen, entry.balance_after)
        )
        uow.commit()
        return entry


def adjust_tickets(cmd: AdjustTickets, uow: UnitOfWork, deps: Dependencies) -> TicketEntry:
    """Correct a ticket balance (never below zero)."""
    with uow:
        _customer(uow, cmd.customer_id)
        _product(uow, cmd.product_id)
        account = uow.tickets.account(cmd.customer_id, cmd.product_id, cmd.station_id)
        entry = uow.tickets.append(account.adjust(cmd.delta, cmd.reason, deps.clock.now(), cmd.by))
        uow.record(TicketsAdjusted(cmd.customer_id, cmd.product_id, cmd.delta, entry.balance_after))
        uow.commit()
        return entry


def _book_buckets(uow: UnitOfWork, customer_id: int, entry: BucketEntry) -> BucketEntry:
    stored = uow.buckets.append(entry)
    debt = max(0, entry.held_after - entry.entitlement_after)
    uow.record(BucketsChanged(customer_id, entry.held_after, entry.entitlement_after, debt))
    uow.commit()
    return stored


def pay_bucket_deposit(cmd: PayBucketDeposit, uow: UnitOfWork, deps: Dependencies) -> BucketEntry:
    """Record a bucket deposit payment."""
    with uow:
        _customer(uow, cmd.customer_id)
        account = uow.buckets.account(cmd.customer_id)
        entry = account.deposit(cmd.quantity, cmd.amount_fen, deps.clock.now(), cmd.by, cmd.note)
        return _book_buckets(uow, cmd.customer_id, entry)


def refund_bucket_deposit(cmd: RefundBucketDeposit, uow: UnitOfWork, deps: Dependencies) -> BucketEntry:
    """Record a deposit refund (not more than the deposit held)."""
    with uow:
        _customer(uow, cmd.customer_id)
        account = uow.buckets.account(cmd.customer_id)
        entry = account.refund(cmd.quantity, cmd.amount_fen, deps.clock.now(), cmd.by, cmd.note)
        return _book_buckets(uow, cmd.customer_id, entry)


def adjust_buckets(cmd: AdjustBuckets, uow: UnitOfWork, deps: Dependencies) -> BucketEntry:
    """Stock-take correction of held buckets / deposit entitlement."""
    with uow:
        _customer(uow, cmd.customer_id)
        account = uow.buckets.account(cmd.customer_id)
        entry = account.adjust(cmd.held_delta, cmd.entitlement_delta, cmd.reason, deps.clock.now(), cmd.by)
        return _book_buckets(uow, cmd.customer_id, entry)


def collect_empties(cmd: CollectEmpties, uow: UnitOfWork, deps: Dependencies) -> BucketEntry:
    """Empties picked up outside a delivery."""
    with uow:
        _customer(uow, cmd.customer_id)
        account = uow.buckets.account(cmd.customer_id)
        entry = account.collect(cmd.quantity, cmd.order_id, deps.clock.now(), cmd.by)
        return _book_buckets(uow, cmd.customer_id, entry)


COMMAND_HANDLERS: Mapping[type[Command], CommandHandler] = {
    CreateCustomer: create_customer,
    UpdateCustomer: update_customer,
    PlaceOrder: place_order,
    DispatchOrder: dispatch_order,
    ReassignOrder: reassign_order,
    TransitionOrder: transition_order,
    CancelOrder: cancel_order,
    SellTickets: sell_tickets,
    AdjustTickets: adjust_tickets,
    PayBucketDeposit: pay_bucket_deposit,
    RefundBucketDeposit: refund_bucket_deposit,
    AdjustBuckets: adjust_buckets,
    CollectEmpties: collect_empties,
}
