"""Customer import: CSV encodings, .xlsx, bad rows with line numbers, idempotency by phone."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from sqlalchemy.orm import Session, sessionmaker

from fakes import FakeStore
from waterline.adapters.db.unit_of_work import SqlAlchemyUnitOfWork
from waterline.adapters.importer import import_customers
from waterline.domain.customers import Tier
from waterline.services.ports import UnitOfWork

HEADER = "姓名,电话,城市,区县,地址,楼层,电梯,等级,标签,备注\n"
GOOD_AND_BAD = (
    HEADER
    + "张三,139 1234 5678,西安,雁塔区,科技路10号3单元,5,无,vip,老客户;月结,\n"  # line 2: good
    + "李四,12345,西安,雁塔区,科技路1号,1,有,,,\n"  # line 3: bad phone
    + "王五,13812345678,西安,火星区,某路1号,1,有,,,\n"  # line 4: unknown district
    + ",13712345678,西安,雁塔区,某路2号,1,有,,,\n"  # line 5: no name
    + "赵六,13612345678,西安,未央区,凤城八路,三楼,有,,,\n"  # line 6: bad floor
    + "钱七,029-8888 1234;+86 135 1234 5678,咸阳,秦都,人民路8号,2,有,企业,,送货前电话\n"  # line 7: good
    + "孙八,13512340000,西安,,,,,,,\n"  # line 8: incomplete address
    + "周九,13412340000,,,,,,,,无地址客户\n"  # line 9: good, no address
)


def _write(tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "customers.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _customers(store: FakeStore) -> dict[str, list[str]]:
    return {c.name: c.phone_numbers for c in store.data.customers.values()}


def test_good_rows_are_imported_and_every_bad_row_is_reported_with_its_line(tmp_path: Path) -> None:
    store = FakeStore()
    report = import_customers(_write(tmp_path, GOOD_AND_BAD, "utf-8-sig"), store.uow)

    assert report.rows == 8
    assert report.created == 3
    assert [p.line for p in report.problems] == [3, 4, 5, 6, 8]
    assert _customers(store) == {
        "张三": ["13912345678"],
        "钱七": ["02988881234", "13512345678"],
        "周九": ["13412340000"],
    }
    text = str(report)
    assert "第4行 / line 4" in text and "火星区" in text and "Unknown district" in text
    assert "第3行" in text and "Invalid phone number" in text


def test_imported_customer_keeps_address_tier_tags_and_notes(tmp_path: Path) -> None:
    store = FakeStore()
    import_customers(_write(tmp_path, GOOD_AND_BAD), store.uow)
    by_name = {c.name: c for c in store.data.customers.values()}

    zhang = by_name["张三"]
    address = zhang.default_address()
    assert address is not None
    assert (address.city, address.district, address.floor, address.has_elevator) == (
        "西安市",
        "雁塔区",
        5,
        False,
    )
    assert zhang.tier is Tier.VIP
    assert zhang.tags == ["老客户", "月结"]
    qian = by_name["钱七"]
    assert qian.tier is Tier.ENTERPRISE and qian.notes == "送货前电话"
    assert qian.addresses[0].district == "秦都区"
    assert by_name["周九"].addresses == []


def test_importing_twice_creates_nobody_the_second_time(tmp_path: Path) -> None:
    store = FakeStore()
    path = _write(tmp_path, GOOD_AND_BAD)
    first = import_customers(path, store.uow)
    second = import_customers(path, store.uow)

    assert first.created == 3 and first.existing == 0
    assert second.created == 0 and second.existing == 3
    assert len(store.data.customers) == 3


def test_a_phone_written_differently_is_still_the_same_customer(tmp_path: Path) -> None:
    store = FakeStore()
    import_customers(_write(tmp_path, "name,phone\n张三,13912345678\n"), store.uow)
    report = import_customers(
        _write(tmp_path, "name,phone\n张三（新）,+86 139-1234-5678\n", name="b.csv"), store.uow
    )

    assert report.existing == 1 and report.created == 0
    assert list(_customers(store)) == ["张三"]


def test_duplicates_inside_one_file_are_imported_once(tmp_path: Path) -> None:
    store = FakeStore()
    text = "姓名,电话\n张三,13912345678\n张三,139 1234 5678\n李四,13812345678\n"
    report = import_customers(_write(tmp_path, text), store.uow, batch_size=1)

    assert (report.created, report.existing, report.problems) == (2, 1, [])


def test_phones_of_two_different_customers_in_one_row_are_refused(tmp_path: Path) -> None:
    store = FakeStore()
    import_customers(_write(tmp_path, "姓名,电话\n张三,13912345678\n李四,13812345678\n"), store.uow)
    report = import_customers(
        _write(tmp_path, "姓名,电话\n合并,13912345678;13812345678\n", name="merge.csv"), store.uow
    )

    assert [p.line for p in report.problems] == [2]
    assert "different customers" in str(report)
    assert len(store.data.customers) == 2


def test_gbk_encoded_csv_is_read(tmp_path: Path) -> None:
    store = FakeStore()
    text = "姓名,电话,城市,区县,地址\n陕西宝鸡某厂,0917-3212345,宝鸡,渭滨区,经二路100号\n"
    report = import_customers(_write(tmp_path, text, "gbk"), store.uow)

    assert report.ok and report.created == 1
    (customer,) = store.data.customers.values()
    assert customer.name == "陕西宝鸡某厂"
    assert customer.phone_numbers == ["09173212345"]
    assert customer.addresses[0].city == "宝鸡市"


def test_semicolon_separated_csv_is_sniffed(tmp_path: Path) -> None:
    store = FakeStore()
    report = import_customers(
        _write(tmp_path, "name;phone;city;district;address\nA;13912345678;西安;碑林;南大街1号\n"), store.uow
    )

    assert report.ok and report.created == 1


def test_line_numbers_count_physical_lines_of_multiline_fields(tmp_path: Path) -> None:
    store = FakeStore()
    text = '姓名,电话,备注\n张三,13912345678,"第一行\n第二行"\n李四,bad,\n'
    report = import_customers(_write(tmp_path, text), store.uow)

    assert report.created == 1
    assert [p.line for p in report.problems] == [4]


def test_missing_required_column_refuses_the_whole_file(tmp_path: Path) -> None:
    store = FakeStore()
    report = import_customers(_write(tmp_path, "姓名,地址\n张三,某路\n"), store.uow)

    assert report.created == 0 and not report.ok
    assert report.problems[0].line == 0
    assert "phone" in report.problems[0].message_en
    assert store.data.customers == {}


def test_empty_file_is_a_file_problem(tmp_path: Path) -> None:
    report = import_customers(_write(tmp_path, ""), FakeStore().uow)

    assert report.problems and report.problems[0].line == 0


def test_bytes_that_are_neither_utf8_nor_gbk_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "junk.csv"
    path.write_bytes(b"\xff\xfe\x00\x81\x30\xff\xff")
    report = import_customers(path, FakeStore().uow)

    assert report.problems[0].line == 0 and "encoding" in report.problems[0].message_en


def test_xlsx_with_numeric_phone_cells(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["客户名称", "手机号", "城市", "区县", "详细地址", "楼层", "电梯"])
    sheet.append(["西安某公司", 13991234567, "西安市", "高新区", "锦业路1号", 12, "有"])
    sheet.append(["坏行", 1.3991234568e10, "西安市", "高新区", "锦业路2号", "十二", "有"])
    sheet.append([None, None, None, None, None, None, None])
    sheet.append(["另一家", 2988776655.0, "西安市", "高新区", "锦业路3号", None, None])
    path = tmp_path / "customers.xlsx"
    workbook.save(path)
    store = FakeStore()

    report = import_customers(path, store.uow)

    assert report.created == 2
    assert [p.line for p in report.problems] == [3]
    assert _customers(store) == {"西安某公司": ["13991234567"], "另一家": ["02988776655"]}


def test_a_file_that_is_not_really_xlsx_is_a_file_problem(tmp_path: Path) -> None:
    path = tmp_path / "fake.xlsx"
    path.write_text("姓名,电话\n", encoding="utf-8")
    report = import_customers(path, FakeStore().uow)

    assert report.problems[0].line == 0 and report.created == 0


def test_import_into_the_real_store_is_idempotent(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    def uow_factory() -> UnitOfWork:
        return SqlAlchemyUnitOfWork(session_factory)

    path = _write(tmp_path, GOOD_AND_BAD)
    first = import_customers(path, uow_factory, batch_size=2)
    second = import_customers(path, uow_factory, batch_size=2)

    assert (first.created, first.failed) == (3, 5)
    assert (second.created, second.existing, second.failed) == (0, 3, 5)
    with uow_factory() as uow:
        found = uow.customers.find_by_phone("02988881234")
        assert found is not None and found.name == "钱七"
        assert found.addresses[0].district == "秦都区"
        assert len(uow.customers.search(limit=100)) == 3
