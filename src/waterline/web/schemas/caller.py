"""The number lookup: where a caller is, how we know it, and who he is when he is a customer."""

from __future__ import annotations

from pydantic import BaseModel, Field

from waterline.domain import phones
from waterline.services.callers import CallerIdentity


class CallerLookupOut(BaseModel):
    """``GET /api/lookup/number/{phone}``: region of the number and the customer/station if known."""

    phone: str = Field(description="规范化号码 / canonical number")
    kind: str = Field(description="mobile | landline | service (400/800)")
    province: str | None = Field(description="省份 / province, null when unknown")
    city: str | None = Field(description="城市 / city, null when unknown or undecided (029)")
    district: str | None = Field(description="区县（仅来自客户地址）/ district, only from an address")
    source: str = Field(description="address | mobile_block | geocoder | area_code | caller | unknown")
    area_code: str | None = Field(description="长途区号 / long-distance area code")
    candidates: list[str] = Field(description="无法确定时的候选城市 / cities an undecided answer may be")
    customer_id: int | None
    customer_name: str | None
    station_id: int | None = Field(description="负责该地区的送水站 / station serving the region")
    station_name: str | None
    station_open: bool | None

    @classmethod
    def of(cls, identity: CallerIdentity) -> CallerLookupOut:
        """The API view of an identification."""
        where = identity.locality
        return cls(
            phone=identity.phone,
            kind=phones.kind(identity.phone).value,
            province=where.province,
            city=where.city,
            district=where.district,
            source=where.source.value,
            area_code=where.area_code,
            candidates=list(where.candidates),
            customer_id=identity.customer_id,
            customer_name=identity.name,
            station_id=identity.station_id,
            station_name=identity.station_name,
            station_open=identity.station_open,
        )
