"""The number lookup's API view."""

from __future__ import annotations

from waterline.domain.locality import Locality, LocalitySource
from waterline.services.callers import CallerIdentity
from waterline.web.schemas.caller import CallerLookupOut


def test_undecided_029_landline_lists_its_candidates() -> None:
    where = Locality(
        "陕西省", None, LocalitySource.AREA_CODE, area_code="029", candidates=("西安市", "咸阳市")
    )
    out = CallerLookupOut.of(CallerIdentity(phone="02988881234", locality=where))
    assert (out.kind, out.province, out.city, out.source) == ("landline", "陕西省", None, "area_code")
    assert out.candidates == ["西安市", "咸阳市"]
    assert out.customer_id is None and out.station_id is None


def test_known_customer_with_station() -> None:
    where = Locality("陕西省", "西安市", LocalitySource.ADDRESS, district="雁塔区")
    identity = CallerIdentity(
        phone="13991234567",
        locality=where,
        customer_id=7,
        name="张先生",
        station_id=3,
        station_name="雁塔站",
        station_open=False,
    )
    out = CallerLookupOut.of(identity).model_dump()
    assert out["kind"] == "mobile" and out["district"] == "雁塔区" and out["source"] == "address"
    assert (out["customer_id"], out["customer_name"]) == (7, "张先生")
    assert (out["station_id"], out["station_name"], out["station_open"]) == (3, "雁塔站", False)
