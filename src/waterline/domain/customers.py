"""Customers: several phones, several delivery addresses, preferences, tier/tags, enterprise terms."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import time

from waterline.domain import phones
from waterline.domain.errors import InvalidInput
from waterline.domain.regions import canonical_city, find_district


class Tier(enum.StrEnum):
    """Customer tier; drives priority in the queue and dispatch board."""

    NORMAL = "normal"
    VIP = "vip"
    ENTERPRISE = "enterprise"


@dataclass
class CustomerPhone:
    """One phone of a customer, in canonical form (see ``phones.normalise``)."""

    number: str
    label: str = ""  # e.g. "家", "办公室"
    id: int | None = None


@dataclass
class Address:
    """A delivery address; coordinates are optional (the district centre is used when missing)."""

    city: str
    district: str
    detail: str
    floor: int = 1
    has_elevator: bool = False
    lat: float | None = None
    lon: float | None = None
    station_override_id: int | None = None
    is_default: bool = False
    id: int | None = None

    def coordinates(self) -> tuple[float, float]:
        """The address's coordinates, falling back to its district's centre."""
        if self.lat is not None and self.lon is not None:
            return self.lat, self.lon
        district = find_district(self.city, self.district)
        if district is None:
            raise InvalidInput("address.unknown_district", city=self.city, district=self.district)
        return district.lat, district.lon

    def one_line(self) -> str:
        """Display form: ``西安市雁塔区 科技路 10 号 3 楼``."""
        return f"{self.city}{self.district}{self.detail}"


@dataclass
class Preferences:
    """What the customer usually orders and when; pre-fills the agent's order form."""

    usual_product_id: int | None = None
    usual_quantity: int | None = None
    window_start: time | None = None
    window_end: time | None = None


@dataclass
class EnterpriseAccount:
    """Credit terms for companies, schools, offices that pay monthly."""

    company_name: str
    credit_limit_fen: int
    payment_terms_days: int = 30
    tax_id: str = ""


@dataclass
class Customer:
    """A person or company we deliver water to."""

    name: str
    phones: list[CustomerPhone] = field(default_factory=list)
    addresses: list[Address] = field(default_factory=list)
    preferences: Preferences = field(default_factory=Preferences)
    tier: Tier = Tier.NORMAL
    tags: list[str] = field(default_factory=list)
    notes: str = ""
    enterprise: EnterpriseAccount | None = None
    id: int | None = None

    @property
    def phone_numbers(self) -> list[str]:
        """Canonical numbers, in the order they were added."""
        return [p.number for p in self.phones]

    def add_phone(self, raw: str, label: str = "") -> CustomerPhone:
        """Normalise and add a phone; adding a number the customer already has returns it unchanged."""
        number = phones.normalise(raw)
        for existing in self.phones:
            if existing.number == number:
                return existing
        phone = CustomerPhone(number=number, label=label)
        self.phones.append(phone)
        return phone

    def add_address(self, address: Address) -> Address:
        """Add a validated address; the first one becomes the default."""
        if not self.addresses:
            address.is_default = True
        elif address.is_default:
            for other in self.addresses:
                other.is_default = False
        self.addresses.append(address)
        return address

    def default_address(self) -> Address | None:
        """The default delivery address, else the first one, else None."""
        for address in self.addresses:
            if address.is_default:
                return address
        return self.addresses[0] if self.addresses else None

    def address_by_id(self, address_id: int) -> Address | None:
        """The customer's address with that id, or None (addresses of others are not found)."""
        for address in self.addresses:
            if address.id == address_id:
                return address
        return None


def new_address(
    city: str,
    district: str,
    detail: str,
    *,
    floor: int = 1,
    has_elevator: bool = False,
    lat: float | None = None,
    lon: float | None = None,
    station_override_id: int | None = None,
    is_default: bool = False,
) -> Address:
    """Build an address after checking the district is one we know and the numbers make sense."""
    found = find_district(city, district)
    if found is None:
        raise InvalidInput("address.unknown_district", city=city, district=district)
    if not -5 <= floor <= 200:
        raise InvalidInput("address.bad_floor", floor=floor)
    if (lat is None) != (lon is None) or (
        lat is not None and lon is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180)
    ):
        raise InvalidInput("address.bad_coordinates", lat=lat, lon=lon)
    if not detail.strip():
        raise InvalidInput("invalid_input", detail="address detail is empty / 详细地址为空")
    return Address(
        city=canonical_city(city),
        district=found.name,
        detail=detail.strip(),
        floor=floor,
        has_elevator=has_elevator,
        lat=lat,
        lon=lon,
        station_override_id=station_override_id,
        is_default=is_default,
    )


def new_customer(name: str, raw_phones: list[str], addresses: list[Address] | None = None) -> Customer:
    """Build a customer with at least one valid phone; phones are normalised and de-duplicated."""
    if not name.strip():
        raise InvalidInput("customer.name_required")
    if not raw_phones:
        raise InvalidInput("customer.no_phone")
    customer = Customer(name=name.strip())
    for raw in raw_phones:
        customer.add_phone(raw)
    for address in addresses or []:
        customer.add_address(address)
    return customer
