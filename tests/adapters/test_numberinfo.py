"""Number -> region: block table first, geocoder second, Shaanxi area codes, unknown."""

from __future__ import annotations

import phonenumbers
import pytest
from phonenumbers import geocoder

from waterline.adapters.numberinfo import PhoneNumberInfo, province_name
from waterline.domain.errors import InvalidInput
from waterline.domain.locality import LocalitySource


class EmptyTable:
    """A block table that knows no block, counting lookups."""

    def __init__(self) -> None:
        self.lookups: list[str] = []

    def find(self, block: str) -> dict[str, str] | None:
        self.lookups.append(block)
        return None


@pytest.fixture(scope="module")
def info() -> PhoneNumberInfo:
    return PhoneNumberInfo()


def test_173_block_is_not_beijing_where_the_block_table_knows_better(info: PhoneNumberInfo) -> None:
    number = "17391201234"
    # the mistake we must not repeat: the geocoder puts every 173 number in Beijing
    assert geocoder.description_for_number(phonenumbers.parse(number, "CN"), "zh") == "北京市"
    found = info.locate(number)
    assert (found.province, found.city, found.source) == ("陕西省", "宝鸡市", LocalitySource.MOBILE_BLOCK)
    assert found.area_code == "0917"


def test_16x_and_19x_blocks_the_geocoder_lacks(info: PhoneNumberInfo) -> None:
    assert geocoder.description_for_number(phonenumbers.parse("16602911234", "CN"), "zh") == "中国"
    assert info.locate("16602911234").city == "西安市"
    assert info.locate("19202911234").city == "西安市"


def test_mobile_block_tells_xianyang_from_xian_within_029(info: PhoneNumberInfo) -> None:
    # 029 mobile blocks are registered to one city each, unlike 029 landlines
    xianyang, xian = info.locate("13991001234"), info.locate("13991101234")
    assert (xianyang.city, xianyang.area_code) == ("咸阳市", "029")
    assert (xian.city, xian.area_code) == ("西安市", "029")


def test_geocoder_answers_when_the_table_lacks_the_block() -> None:
    table = EmptyTable()
    found = PhoneNumberInfo(table).locate("+86 139 1234 5678")
    assert table.lookups == ["1391234"]
    assert found.source is LocalitySource.GEOCODER
    assert found.province == "江苏省"
    assert found.city is not None and found.city.startswith("常州")


def test_block_nobody_knows_is_unknown() -> None:
    found = PhoneNumberInfo(EmptyTable()).locate("16602911234")
    assert found.source is LocalitySource.UNKNOWN
    assert not found.known


def test_029_landline_names_the_province_but_no_city(info: PhoneNumberInfo) -> None:
    found = info.locate("029-8888 1234")
    assert found.province == "陕西省"
    assert found.city is None
    assert found.source is LocalitySource.AREA_CODE
    assert found.candidates == ("西安市", "咸阳市", "杨凌示范区")


@pytest.mark.parametrize(
    ("number", "city"),
    [
        ("0917-321 2345", "宝鸡市"),
        ("0913-212 3456", "渭南市"),
        ("0916-262 3456", "汉中市"),
        ("0912-332 3456", "榆林市"),
        ("0911-212 3456", "延安市"),
        ("0915-322 3456", "安康市"),
        ("0914-232 3456", "商洛市"),
        ("0919-312 3456", "铜川市"),
    ],
)
def test_shaanxi_area_codes(info: PhoneNumberInfo, number: str, city: str) -> None:
    found = info.locate(number)
    assert (found.province, found.city, found.source) == ("陕西省", city, LocalitySource.AREA_CODE)


def test_other_provinces_landlines_from_the_geocoder(info: PhoneNumberInfo) -> None:
    beijing = info.locate("010-1234 5678")
    assert (beijing.province, beijing.city, beijing.source) == ("北京市", "北京市", LocalitySource.GEOCODER)
    shenzhen = info.locate("0755-1234 5678")
    assert (shenzhen.province, shenzhen.city) == ("广东省", "深圳市")
    urumqi = info.locate("0991-234 5678")
    assert urumqi.province == "新疆维吾尔自治区"


def test_a_400_number_is_not_a_region() -> None:
    table = EmptyTable()
    found = PhoneNumberInfo(table).locate("400-636-0888")
    assert found.source is LocalitySource.UNKNOWN
    assert table.lookups == []


def test_not_a_phone_is_invalid_input(info: PhoneNumberInfo) -> None:
    with pytest.raises(InvalidInput):
        info.locate("12345")


def test_province_names() -> None:
    assert province_name("陕西") == "陕西省"
    assert province_name("北京") == "北京市"
    assert province_name("内蒙古") == "内蒙古自治区"
    assert province_name("火星") is None
