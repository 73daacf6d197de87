"""Products: barrelled water of several brands, dispensers, accessories."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from waterline.domain.errors import InvalidInput


class ProductKind(enum.StrEnum):
    """Kinds of goods; only barrels travel with a returnable, deposit-backed bucket."""

    BARREL = "barrel"  # 桶装水, returnable bucket
    BOTTLED = "bottled"  # 瓶装水 by the case
    DISPENSER = "dispenser"  # 饮水机
    ACCESSORY = "accessory"  # pumps, stands


@dataclass
class Product:
    """Something we sell, priced in fen."""

    sku: str
    name: str
    brand: str
    kind: ProductKind
    volume_ml: int
    price_fen: int
    active: bool = True
    id: int | None = None

    def __post_init__(self) -> None:
        if self.price_fen < 0:
            raise InvalidInput("product.bad_price", price_fen=self.price_fen)

    @property
    def returnable(self) -> bool:
        """True when delivering it leaves a bucket at the customer's."""
        return self.kind is ProductKind.BARREL
