"""Number -> region: the ``NumberInfo`` port over the mobile block table and ``phonenumbers``.

Order of the answer for one number (issue 5):

1. mobiles: the PyPI ``phone`` package's block table (``phone.dat``: the first seven digits of a
   mobile -> province, city, area code; MIT/BSD licensed, 2023-12 edition with 16x/19x blocks);
2. mobiles it lacks: ``phonenumbers``' geocoder. It is the second choice because it knows no 16x or
   19x blocks and answers 北京 for every 173 number, so it must never override the table;
3. landlines: our own table of Shaanxi area codes (029 is shared by 西安, 咸阳 and 杨凌: province
   only), then ``phonenumbers``' geocoder for the other provinces;
4. anything else (400/800 numbers, unknown blocks): unknown.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import phonenumbers
from phone import Phone
from phonenumbers import geocoder

from waterline.domain import phones
from waterline.domain.locality import UNKNOWN, Locality, LocalitySource

SHAANXI = "陕西省"
# 029 is one local network for 西安, 咸阳 and the 杨凌 zone: a landline there names no city.
SHARED_029 = ("西安市", "咸阳市", "杨凌示范区")
SHAANXI_AREA_CODES: Mapping[str, str | None] = {
    "029": None,
    "0911": "延安市",
    "0912": "榆林市",
    "0913": "渭南市",
    "0914": "商洛市",
    "0915": "安康市",
    "0916": "汉中市",
    "0917": "宝鸡市",
    "0919": "铜川市",
}

# Short province names as the block table and the geocoder write them -> full official names.
_AUTONOMOUS = {
    "内蒙古": "内蒙古自治区",
    "广西": "广西壮族自治区",
    "宁夏": "宁夏回族自治区",
    "新疆": "新疆维吾尔自治区",
    "西藏": "西藏自治区",
}
_MUNICIPALITIES = ("北京", "上海", "天津", "重庆")
_PROVINCES = (
    "河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 广东 海南 "
    "四川 贵州 云南 陕西 甘肃 青海 台湾"
).split()


def province_name(short: str) -> str | None:
    """The full name of a province given short (``陕西``) or full (``陕西省``); None when not one."""
    for name in _MUNICIPALITIES:
        if short in (name, name + "市"):
            return name + "市"
    for name, full in _AUTONOMOUS.items():
        if short in (name, full):
            return full
    for name in _PROVINCES:
        if short in (name, name + "省"):
            return name + "省"
    return None


def _split_description(text: str) -> tuple[str | None, str | None, tuple[str, ...]]:
    """Province, city and candidate cities of a geocoder description.

    ``广东省深圳市`` -> (广东省, 深圳市); ``北京市`` -> (北京市, 北京市); ``陕西省西安市、咸阳市`` ->
    (陕西省, None, (西安市, 咸阳市)); ``中国`` or "" -> nothing.
    """
    shorts = [*_MUNICIPALITIES, *_AUTONOMOUS, *_AUTONOMOUS.values(), *_PROVINCES]
    for short in sorted(shorts, key=len, reverse=True):
        if not text.startswith(short):
            continue
        province = province_name(short)
        rest = text[len(short) :].lstrip("省市")
        if short in _MUNICIPALITIES:
            return province, province, ()
        if not rest:
            return province, None, ()
        cities = tuple(c for c in rest.split("、") if c)
        if len(cities) > 1:
            return province, None, cities
        return province, cities[0], ()
    return None, None, ()


def _block_city(province: str | None, city: str) -> str:
    # Our stations and addresses name Shaanxi cities in full (西安市); the table writes 西安.
    if province == SHAANXI and not city.endswith("市"):
        return city + "市"
    return city


class PhoneNumberInfo:
    """The ``NumberInfo`` port. The block table (4.5 MB) is read on the first mobile lookup."""

    def __init__(self, table: Any = None) -> None:
        # ``table`` is anything with ``find(seven_digits) -> dict | None`` like ``phone.Phone``.
        self._table = table
        self._lock = threading.Lock()

    def _blocks(self) -> Any:
        with self._lock:
            if self._table is None:
                self._table = Phone()
            return self._table

    def locate(self, phone: str) -> Locality:
        """The region of ``phone`` (any mainland form); ``InvalidInput`` when it is not a phone."""
        number = phones.normalise(phone)
        # The canonical form tells its kind by shape (see ``phones.normalise``): parsing it again
        # with phonenumbers would double the cost of a lookup.
        if number.startswith("0"):
            return self._landline(number)
        if len(number) == 10 and number.startswith(("400", "800")):
            return UNKNOWN  # a nationwide service number is nowhere
        return self._mobile(number)

    def _mobile(self, number: str) -> Locality:
        record = self._blocks().find(number[:7])
        if isinstance(record, dict) and record.get("province"):
            province = province_name(str(record["province"])) or str(record["province"])
            city = str(record.get("city") or "") or None
            return Locality(
                province=province,
                city=_block_city(province, city) if city else None,
                source=LocalitySource.MOBILE_BLOCK,
                area_code=str(record.get("area_code") or "") or None,
            )
        return self._geocoded(number, area_code=None)

    def _landline(self, number: str) -> Locality:
        # Chinese area codes are prefix-free, so a Shaanxi code is recognised by its first digits.
        code = next((c for c in SHAANXI_AREA_CODES if number.startswith(c)), None) or phones.area_code(number)
        if code is not None and code in SHAANXI_AREA_CODES:
            city = SHAANXI_AREA_CODES[code]
            return Locality(
                province=SHAANXI,
                city=city,
                source=LocalitySource.AREA_CODE,
                area_code=code,
                candidates=() if city else SHARED_029,
            )
        return self._geocoded(number, area_code=code)

    @staticmethod
    def _geocoded(number: str, area_code: str | None) -> Locality:
        parsed = phonenumbers.parse(number, "CN")
        description = geocoder.description_for_number(parsed, "zh")
        province, city, candidates = _split_description(description)
        if province is None:
            return UNKNOWN
        return Locality(
            province=province,
            city=city,
            source=LocalitySource.GEOCODER,
            area_code=area_code,
            candidates=candidates,
        )
