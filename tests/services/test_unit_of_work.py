from fakes import FakeStore
from waterline.domain.events import CustomerCreated
from waterline.domain.products import Product, ProductKind


def test_leaving_without_commit_rolls_back_and_drops_events() -> None:
    store = FakeStore()
    uow = store.uow()
    with uow:
        uow.products.add(Product("A", "a", "b", ProductKind.BARREL, 1, 1))
        uow.record(CustomerCreated(1))
    assert store.data.products == {} and store.commits == 0
    assert uow.collect_new_events() == []


def test_commit_keeps_changes_and_releases_events_once() -> None:
    store = FakeStore()
    uow = store.uow()
    with uow:
        product = uow.products.add(Product("A", "a", "b", ProductKind.BARREL, 1, 1))
        uow.record(CustomerCreated(1))
        uow.commit()
    assert set(store.data.products) == {product.id}
    assert uow.collect_new_events() == [CustomerCreated(1)]
    assert uow.collect_new_events() == []


def test_exception_inside_rolls_back_work_after_last_commit() -> None:
    store = FakeStore()
    uow = store.uow()
    try:
        with uow:
            uow.products.add(Product("A", "a", "b", ProductKind.BARREL, 1, 1))
            uow.commit()
            uow.products.add(Product("B", "a", "b", ProductKind.BARREL, 1, 1))
            raise RuntimeError("crash")
    except RuntimeError:
        pass
    assert [p.sku for p in store.data.products.values()] == ["A"]
