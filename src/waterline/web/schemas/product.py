"""Products and prices."""

from __future__ import annotations

from pydantic import BaseModel, Field

from waterline.domain.products import Product, ProductKind


class ProductOut(BaseModel):
    """A product as the API shows it; prices in integer fen."""

    id: int
    sku: str
    name: str
    brand: str
    kind: ProductKind
    volume_ml: int
    price_fen: int
    active: bool
    returnable: bool

    @classmethod
    def of(cls, product: Product) -> ProductOut:
        """The API view of ``product``."""
        assert product.id is not None
        return cls(
            id=product.id,
            sku=product.sku,
            name=product.name,
            brand=product.brand,
            kind=product.kind,
            volume_ml=product.volume_ml,
            price_fen=product.price_fen,
            active=product.active,
            returnable=product.returnable,
        )


class ProductIn(BaseModel):
    """A new product."""

    sku: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=100)
    brand: str = Field(default="", max_length=60)
    kind: ProductKind = ProductKind.BARREL
    volume_ml: int = Field(default=18_900, ge=0)
    price_fen: int
    active: bool = True


class ProductPatch(BaseModel):
    """Changes to a product; absent fields stay as they are."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    brand: str | None = Field(default=None, max_length=60)
    price_fen: int | None = None
    active: bool | None = None
