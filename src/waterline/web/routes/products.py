"""Products and prices: list and read (products.read), create and change (products.write)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from waterline.domain.errors import InvalidInput, NotFound
from waterline.domain.products import Product
from waterline.domain.users import Permission, User
from waterline.web.deps import UowDep
from waterline.web.routes.access import authorised
from waterline.web.schemas.product import ProductIn, ProductOut, ProductPatch

router = APIRouter(prefix="/api/products", tags=["products"])


@router.get("")
def list_products(
    _user: Annotated[User, authorised(Permission.PRODUCTS_READ)],
    uow: UowDep,
    active_only: Annotated[bool, Query(description="只列在售商品 / only products on sale")] = False,
) -> list[ProductOut]:
    """The catalogue, by id."""
    with uow:
        return [ProductOut.of(p) for p in uow.products.all(active_only=active_only)]


@router.get("/{product_id}")
def get_product(
    product_id: int, _user: Annotated[User, authorised(Permission.PRODUCTS_READ)], uow: UowDep
) -> ProductOut:
    """One product (404 when unknown)."""
    with uow:
        product = uow.products.get(product_id)
        if product is None:
            raise NotFound("product", product_id)
        return ProductOut.of(product)


@router.post("", status_code=201)
def create_product(
    body: ProductIn, _user: Annotated[User, authorised(Permission.PRODUCTS_WRITE)], uow: UowDep
) -> ProductOut:
    """Add a product (422 for a negative price, 409 when the SKU exists)."""
    with uow:
        product = uow.products.add(
            Product(
                sku=body.sku.strip(),
                name=body.name.strip(),
                brand=body.brand.strip(),
                kind=body.kind,
                volume_ml=body.volume_ml,
                price_fen=body.price_fen,
                active=body.active,
            )
        )
        uow.commit()
        return ProductOut.of(product)


@router.patch("/{product_id}")
def change_product(
    product_id: int,
    body: ProductPatch,
    _user: Annotated[User, authorised(Permission.PRODUCTS_WRITE)],
    uow: UowDep,
) -> ProductOut:
    """Rename, re-price or retire a product; orders already placed keep their unit price."""
    with uow:
        product = uow.products.get(product_id)
        if product is None:
            raise NotFound("product", product_id)
        if body.price_fen is not None:
            if body.price_fen < 0:
                raise InvalidInput("product.bad_price", price_fen=body.price_fen)
            product.price_fen = body.price_fen
        if body.name is not None:
            product.name = body.name.strip()
        if body.brand is not None:
            product.brand = body.brand.strip()
        if body.active is not None:
            product.active = body.active
        uow.commit()
        return ProductOut.of(product)
