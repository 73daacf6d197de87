"""Customers: phones, addresses, preferences, enterprise terms; the screen-pop lookup."""

from __future__ import annotations

from datetime import time

from pydantic import BaseModel, Field

from waterline.domain import phones as phone_rules
from waterline.domain.commands import AddressInput, EnterpriseInput, PreferencesInput
from waterline.domain.customers import Address, Customer, CustomerPhone, EnterpriseAccount, Preferences, Tier
from waterline.domain.users import mask_phone


def phone_kind(number: str) -> str:
    """Kind of a stored (canonical, already validated) number, without parsing it again."""
    if len(number) == 10 and number.startswith(("400", "800")):
        return phone_rules.PhoneKind.SERVICE.value
    if number.startswith("0"):
        return phone_rules.PhoneKind.LANDLINE.value
    return phone_rules.PhoneKind.MOBILE.value


def phone_display(number: str) -> str:
    """Display form of a stored canonical number (``139 1234 5678``, ``029-8888 1234``, ``400-636-0888``).

    Same result as ``domain.phones.display`` for canonical numbers, but string slicing only: the
    screen-pop formats every phone of the customer and must stay within a few milliseconds.
    """
    kind = phone_kind(number)
    if kind == phone_rules.PhoneKind.MOBILE:
        return f"{number[:3]} {number[3:7]} {number[7:]}"
    if kind == phone_rules.PhoneKind.SERVICE:
        return f"{number[:3]}-{number[3:6]}-{number[6:]}"
    # mainland area codes beginning 01/02 have three digits (010, 020-029), all others four
    code = number[:3] if number[1] in "12" else number[:4]
    rest = number[len(code) :]
    return f"{code}-{rest[:-4]} {rest[-4:]}"


def shown_phone(number: str, masked: bool) -> str:
    """``number`` as a viewer may see it: whole, or with its middle hidden."""
    return mask_phone(number) if masked else number


class PhoneOut(BaseModel):
    """One phone of a customer: canonical digits, a display form, its kind and label."""

    number: str
    display: str
    kind: str
    label: str

    @classmethod
    def of(cls, phone: CustomerPhone, masked: bool = False) -> PhoneOut:
        """The API view of ``phone`` (masked for viewers who may not see it)."""
        kind = phone_kind(phone.number)
        if masked:
            hidden = mask_phone(phone.number)
            return cls(number=hidden, display=hidden, kind=kind, label=phone.label)
        return cls(number=phone.number, display=phone_display(phone.number), kind=kind, label=phone.label)


class AddressIn(BaseModel):
    """A delivery address as entered; the district must be one we deliver to."""

    city: str = Field(min_length=1, max_length=20)
    district: str = Field(min_length=1, max_length=20)
    detail: str = Field(min_length=1, max_length=200)
    floor: int = 1
    has_elevator: bool = False
    lat: float | None = None
    lon: float | None = None
    station_override_id: int | None = None
    is_default: bool = False

    def to_command(self) -> AddressInput:
        """The command value."""
        return AddressInput(
            city=self.city,
            district=self.district,
            detail=self.detail,
            floor=self.floor,
            has_elevator=self.has_elevator,
            lat=self.lat,
            lon=self.lon,
            station_override_id=self.station_override_id,
            is_default=self.is_default,
        )


class AddressOut(BaseModel):
    """A stored delivery address."""

    id: int
    city: str
    district: str
    detail: str
    text: str
    floor: int
    has_elevator: bool
    lat: float | None
    lon: float | None
    station_override_id: int | None
    is_default: bool

    @classmethod
    def of(cls, address: Address) -> AddressOut:
        """The API view of ``address``."""
        assert address.id is not None
        return cls(
            id=address.id,
            city=address.city,
            district=address.district,
            detail=address.detail,
            text=address.one_line(),
            floor=address.floor,
            has_elevator=address.has_elevator,
            lat=address.lat,
            lon=address.lon,
            station_override_id=address.station_override_id,
            is_default=address.is_default,
        )


class PreferencesModel(BaseModel):
    """The usual order and delivery window (pre-fills the agent's order form)."""

    usual_product_id: int | None = None
    usual_quantity: int | None = None
    window_start: time | None = None
    window_end: time | None = None

    @classmethod
    def of(cls, preferences: Preferences) -> PreferencesModel:
        """The API view of ``preferences``."""
        return cls(
            usual_product_id=preferences.usual_product_id,
            usual_quantity=preferences.usual_quantity,
            window_start=preferences.window_start,
            window_end=preferences.window_end,
        )

    def to_command(self) -> PreferencesInput:
        """The command value."""
        return PreferencesInput(
            self.usual_product_id, self.usual_quantity, self.window_start, self.window_end
        )


class EnterpriseModel(BaseModel):
    """Credit terms of an enterprise customer; money in fen."""

    company_name: str = Field(min_length=1, max_length=100)
    credit_limit_fen: int
    payment_terms_days: int = 30
    tax_id: str = Field(default="", max_length=40)

    @classmethod
    def of(cls, account: EnterpriseAccount) -> EnterpriseModel:
        """The API view of ``account``."""
        return cls(
            company_name=account.company_name,
            credit_limit_fen=account.credit_limit_fen,
            payment_terms_days=account.payment_terms_days,
            tax_id=account.tax_id,
        )

    def to_command(self) -> EnterpriseInput:
        """The command value."""
        return EnterpriseInput(self.company_name, self.credit_limit_fen, self.payment_terms_days, self.tax_id)


class CustomerIn(BaseModel):
    """A new customer: a name, at least one phone (any common format), optional addresses."""

    name: str = Field(max_length=100)
    phones: list[str] = Field(max_length=10)
    addresses: list[AddressIn] = Field(default_factory=list, max_length=20)
    tier: Tier = Tier.NORMAL
    tags: list[str] = Field(default_factory=list, max_length=20)
    notes: str = Field(default="", max_length=2000)
    preferences: PreferencesModel | None = None
    enterprise: EnterpriseModel | None = None


class CustomerPatch(BaseModel):
    """Changes to a customer; absent fields stay as they are, lists add or remove."""

    name: str | None = Field(default=None, max_length=100)
    add_phones: list[str] = Field(default_factory=list, max_length=10)
    remove_phones: list[str] = Field(default_factory=list, max_length=10)
    add_addresses: list[AddressIn] = Field(default_factory=list, max_length=20)
    tier: Tier | None = None
    tags: list[str] | None = Field(default=None, max_length=20)
    notes: str | None = Field(default=None, max_length=2000)
    preferences: PreferencesModel | None = None
    enterprise: EnterpriseModel | None = None


class CustomerOut(BaseModel):
    """A customer; ``phones`` are the canonical numbers, ``phone_details`` add label, kind, display."""

    id: int
    name: str
    phones: list[str]
    phone_details: list[PhoneOut]
    addresses: list[AddressOut]
    preferences: PreferencesModel
    tier: Tier
    tags: list[str]
    notes: str
    enterprise: EnterpriseModel | None

    @classmethod
    def fields_of(cls, customer: Customer) -> dict[str, object]:
        """The field values of ``customer`` (shared with the lookup view)."""
        assert customer.id is not None
        return {
            "id": customer.id,
            "name": customer.name,
            "phones": [p.number for p in customer.phones],
            "phone_details": [PhoneOut.of(p) for p in customer.phones],
            "addresses": [AddressOut.of(a) for a in customer.addresses],
            "preferences": PreferencesModel.of(customer.preferences),
            "tier": customer.tier,
            "tags": list(customer.tags),
            "notes": customer.notes,
            "enterprise": EnterpriseModel.of(customer.enterprise) if customer.enterprise else None,
        }

    @classmethod
    def of(cls, customer: Customer) -> CustomerOut:
        """The API view of ``customer``."""
        return cls.model_validate(cls.fields_of(customer))


class ContactOut(BaseModel):
    """Who and where to deliver to, as shown with an order (phones masked for some viewers)."""

    customer_id: int
    name: str
    phones: list[str]
    address: AddressOut | None

    @classmethod
    def of(cls, customer: Customer, address: Address | None, masked: bool) -> ContactOut:
        """The contact block of an order for ``customer`` at ``address``."""
        assert customer.id is not None
        return cls(
            customer_id=customer.id,
            name=customer.name,
            phones=[shown_phone(p.number, masked) for p in customer.phones],
            address=AddressOut.of(address) if address is not None else None,
        )
