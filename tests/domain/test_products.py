import pytest

from waterline.domain.errors import InvalidInput
from waterline.domain.products import Product, ProductKind


@pytest.mark.parametrize(
    ("kind", "returnable"),
    [
        (ProductKind.BARREL, True),
        (ProductKind.BOTTLED, False),
        (ProductKind.DISPENSER, False),
        (ProductKind.ACCESSORY, False),
    ],
)
def test_only_barrels_are_returnable(kind: ProductKind, returnable: bool) -> None:
    assert Product("S", "n", "b", kind, 0, 100).returnable is returnable


def test_negative_price_refused_zero_allowed() -> None:
    assert Product("FREE", "赠品压水器", "x", ProductKind.ACCESSORY, 0, 0).price_fen == 0
    with pytest.raises(InvalidInput) as info:
        Product("S", "n", "b", ProductKind.BARREL, 0, -100)
    assert info.value.code == "product.bad_price"
