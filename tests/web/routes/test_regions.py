"""GET /api/regions/districts: the known districts with their centres, for anyone who sees stations."""

from __future__ import annotations

from waterline.domain.regions import find_district

from ..conftest import WebEnv


def test_districts_by_city_with_centres(web: WebEnv) -> None:
    response = web.client.get("/api/regions/districts", headers=web.auth("courier"))
    assert response.status_code == 200, response.text
    districts = response.json()
    yanta = next(d for d in districts if d["name"] == "雁塔区")
    known = find_district("西安", "雁塔")
    assert known is not None
    assert (yanta["city"], yanta["lat"], yanta["lon"]) == ("西安市", known.lat, known.lon)
    assert {"西安市", "咸阳市", "宝鸡市"} <= {d["city"] for d in districts}
    assert len({(d["city"], d["name"]) for d in districts}) == len(districts)
    assert web.client.get("/api/regions/districts").status_code == 401
