from datetime import date

from fakes import FakeStore, FakeUnitOfWork
from waterline.domain.customers import new_address, new_customer
from waterline.services.ports import OrderFilter, UnitOfWork


def test_fake_unit_of_work_honours_the_port_conventions() -> None:
    uow: UnitOfWork = FakeUnitOfWork(FakeStore())
    with uow:
        customer = uow.customers.add(
            new_customer("张三", ["13991234567"], [new_address("西安", "雁塔", "x")])
        )
        # add() gives ids to the customer and its children
        assert (
            customer.id is not None
            and customer.addresses[0].id is not None
            and customer.phones[0].id is not None
        )
        customer.add_address(new_address("西安", "碑林", "y"))
        uow.flush()
        assert customer.addresses[1].id is not None
        assert uow.customers.find_by_phone("13991234567") is customer
        assert [uow.next_order_sequence(date(2026, 11, 25)) for _ in range(2)] == [1, 2]
        assert uow.next_order_sequence(date(2026, 11, 26)) == 1
        uow.commit()


def test_order_filter_defaults_are_any() -> None:
    criteria = OrderFilter()
    assert (criteria.state, criteria.station_id, criteria.limit, criteria.offset) == (None, None, 50, 0)
