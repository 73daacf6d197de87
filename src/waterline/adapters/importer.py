"""Customer import from CSV (UTF-8 with or without BOM, GBK/GB18030 fallback) or .xlsx.

Each data row becomes a customer, built and checked by the domain (phones normalised, districts
known). A bad row is reported with its line number and reason and skipped; the good rows are imported.
Re-importing is harmless: a row whose phone already belongs to a customer (in the store, or an earlier
row of the same file) is counted as existing and skipped, so customers are deduplicated by phone.

Rows are written in batches, one transaction per batch. Every row is validated completely before it is
added, so a batch holds only good rows; should the store still refuse a batch (another writer took one
of its phones meanwhile), that batch is rolled back and replayed row by row, so nothing is half-written
and the good rows still get in.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from waterline.domain.customers import Customer, Tier, new_address, new_customer
from waterline.domain.errors import WaterlineError
from waterline.services.ports import UnitOfWork

DEFAULT_BATCH_SIZE = 500
MAX_ROWS = 1_000_000  # a bound on the loop; bigger files are split by the operator

# Column names accepted in the header row (compared after trimming, lower-casing, removing spaces).
COLUMNS: Mapping[str, tuple[str, ...]] = {
    "name": ("姓名", "客户", "客户名称", "客户姓名", "名称", "name", "customer"),
    "phone": ("电话", "手机", "手机号", "联系电话", "电话号码", "phone", "phones", "mobile", "tel"),
    "phone2": ("电话2", "备用电话", "座机", "phone2", "landline"),
    "city": ("城市", "市", "city"),
    "district": ("区县", "区", "区/县", "district"),
    "detail": ("地址", "详细地址", "送水地址", "address", "detail"),
    "floor": ("楼层", "floor"),
    "elevator": ("电梯", "有电梯", "有无电梯", "elevator", "has_elevator"),
    "lat": ("纬度", "lat", "latitude"),
    "lon": ("经度", "lon", "lng", "longitude"),
    "tier": ("等级", "客户等级", "tier"),
    "tags": ("标签", "tags"),
    "notes": ("备注", "notes", "note"),
}
REQUIRED_COLUMNS = ("name", "phone")

_PHONE_SPLIT = re.compile(r"[;；,，、/|\n]+")
_TAG_SPLIT = re.compile(r"[;；,，、|]+")
_FLOOR = re.compile(r"^\s*(-?\d+)\s*(楼|层|f|F)?\s*$")
_TRUE = frozenset({"是", "有", "y", "yes", "true", "1", "√"})
_FALSE = frozenset({"", "否", "无", "没有", "n", "no", "false", "0", "×"})
_TIERS: Mapping[str, Tier] = {
    "": Tier.NORMAL,
    "普通": Tier.NORMAL,
    "normal": Tier.NORMAL,
    "vip": Tier.VIP,
    "会员": Tier.VIP,
    "企业": Tier.ENTERPRISE,
    "enterprise": Tier.ENTERPRISE,
}


@dataclass(frozen=True)
class RowProblem:
    """Why one line of the file was not imported; line 0 means the file as a whole."""

    line: int
    message_zh: str
    message_en: str

    def __str__(self) -> str:
        where = f"第{self.line}行 / line {self.line}" if self.line else "文件 / file"
        return f"{where}: {self.message_zh} / {self.message_en}"


@dataclass
class ImportReport:
    """The outcome of an import: counts, plus every bad row with its line number and reason."""

    source: str
    rows: int = 0
    created: int = 0
    existing: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    created_ids: list[int] = field(default_factory=list)

    @property
    def failed(self) -> int:
        """Rows refused (file-level problems not counted)."""
        return sum(1 for p in self.problems if p.line > 0)

    @property
    def ok(self) -> bool:
        """True when every row was imported or already present."""
        return not self.problems

    def __str__(self) -> str:
        lines = [
            f"导入 {self.source}：共 {self.rows} 行，新增 {self.created}，已存在 {self.existing}，"
            f"错误 {self.failed} / imported {self.source}: {self.rows} rows, {self.created} created, "
            f"{self.existing} already present, {self.failed} bad"
        ]
        lines.extend(f"  {problem}" for problem in self.problems)
        return "\n".join(lines)


class FileProblem(Exception):
    """The file as a whole cannot be read (wrong format, no header, missing columns)."""

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_zh = message_zh
        self.message_en = message_en


@dataclass(frozen=True)
class SourceRow:
    """One data row: its 1-based line number in the file and its values by canonical column."""

    line: int
    values: Mapping[str, str]


@dataclass(frozen=True)
class CustomerRow:
    """A validated row: the customer to create (no ids yet) and its canonical phones."""

    line: int
    customer: Customer


# ---------------------------------------------------------------- reading files


def decode_text(data: bytes) -> str:
    """Decode CSV bytes: UTF-8 (a BOM is dropped), else GB18030 (a superset of GBK), else refuse."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise FileProblem(
            "无法识别文件编码（支持 UTF-8 和 GBK）", "Unknown text encoding (UTF-8 and GBK are supported)"
        ) from exc


def _cell_text(value: object) -> str:
    # Spreadsheets store phone numbers as numbers, often as floats (1.3912345678E10).
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _column_key(header: str) -> str | None:
    text = header.strip().lstrip("\ufeff").replace(" ", "").lower()
    for key, names in COLUMNS.items():
        if text in names:
            return key
    return None


def _header_map(header: Sequence[str]) -> dict[int, str]:
    mapping: dict[int, str] = {}
    for index, name in enumerate(header):
        key = _column_key(name)
        if key is not None and key not in mapping.values():
            mapping[index] = key
    missing = [key for key in REQUIRED_COLUMNS if key not in mapping.values()]
    if missing:
        wanted = "、".join(f"{COLUMNS[key][0]}（{key}）" for key in missing)
        raise FileProblem(f"缺少必需的列：{wanted}", f"missing required column(s): {', '.join(missing)}")
    return mapping


def _rows_from_table(table: Iterable[tuple[int, Sequence[str]]]) -> Iterator[SourceRow]:
    """Rows of a table given as (line, cells); the first non-empty line is the header."""
    mapping: dict[int, str] | None = None
    for count, (line, cells) in enumerate(table):
        if count >= MAX_ROWS:
            raise FileProblem(
                f"文件超过 {MAX_ROWS} 行，请拆分", f"file has more than {MAX_ROWS} rows; split it"
            )
        if not any(cell.strip() for cell in cells):
            continue
        if mapping is None:
            mapping = _header_map(cells)
            continue
        values = {key: cells[index].strip() for index, key in mapping.items() if index < len(cells)}
        yield SourceRow(line=line, values=values)
    if mapping is None:
        raise FileProblem("文件为空或没有表头", "the file is empty or has no header row")


def _csv_table(text: str) -> Iterator[tuple[int, Sequence[str]]]:
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    start = 1
    try:
        for cells in reader:
            # line_num is the line the record ended on; a quoted field may span several lines,
            # and the operator looks for the line where the record starts.
            yield start, cells
            start = reader.line_num + 1
    except csv.Error as exc:
        raise FileProblem(
            f"CSV 格式错误（第{reader.line_num}行）：{exc}", f"malformed CSV at line {reader.line_num}: {exc}"
        ) from exc


def _xlsx_table(path: Path) -> Iterator[tuple[int, Sequence[str]]]:
    from openpyxl import load_workbook  # imported here: only .xlsx imports need it

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise FileProblem("无法读取 .xlsx 文件", f"cannot read the .xlsx file: {exc}") from exc
    try:
        sheet = workbook.worksheets[0]
        for line, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield line, [_cell_text(v) for v in values]
    finally:
        workbook.close()


def read_rows(path: Path) -> Iterator[SourceRow]:
    """The data rows of a CSV or .xlsx file; ``FileProblem`` when the file cannot be used at all."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        yield from _rows_from_table(_xlsx_table(path))
        return
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileProblem("无法读取文件", f"cannot read the file: {exc}") from exc
    if data.startswith(b"PK\x03\x04"):
        raise FileProblem("这是 xlsx 文件，请使用 .xlsx 扩展名", "this is an xlsx file: name it *.xlsx")
    yield from _rows_from_table(_csv_table(decode_text(data)))


# ---------------------------------------------------------------- validating rows


class RowError(Exception):
    """A row-level problem found before the domain was asked (bad floor text, unknown tier...)."""

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_zh = message_zh
        self.message_en = message_en


def _floor(text: str) -> int:
    if not text:
        return 1
    match = _FLOOR.match(text)
    if match is None:
        raise RowError(f"楼层无效：{text}", f"invalid floor: {text}")
    return int(match.group(1))


def _elevator(text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise RowError(f"电梯一栏应填“有”或“无”：{text}", f"elevator must be yes or no: {text}")


def _coordinate(text: str, name_zh: str, name_en: str) -> float | None:
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise RowError(f"{name_zh}无效：{text}", f"invalid {name_en}: {text}") from None


def parse_row(row: SourceRow) -> CustomerRow:
    """Build the customer of one row; raises ``WaterlineError`` or ``RowError`` for a bad row."""
    values = row.values
    raw_phones = [
        part.strip()
        for column in ("phone", "phone2")
        for part in _PHONE_SPLIT.split(values.get(column, ""))
        if part.strip()
    ]
    customer = new_customer(values.get("name", ""), raw_phones)
    city, district, detail = (values.get(k, "") for k in ("city", "district", "detail"))
    if city or district or detail:
        if not (city and district and detail):
            raise RowError(
                "地址不完整：城市、区县和详细地址都要填写",
                "incomplete address: city, district and detail are all needed",
            )
        customer.add_address(
            new_address(
                city,
                district,
                detail,
                floor=_floor(values.get("floor", "")),
                has_elevator=_elevator(values.get("elevator", "")),
                lat=_coordinate(values.get("lat", ""), "纬度", "latitude"),
                lon=_coordinate(values.get("lon", ""), "经度", "longitude"),
            )
        )
    tier_text = values.get("tier", "").strip().lower()
    if tier_text not in _TIERS:
        raise RowError(f"客户等级无效：{tier_text}", f"unknown tier: {tier_text}")
    customer.tier = _TIERS[tier_text]
    customer.tags = [t.strip() for t in _TAG_SPLIT.split(values.get("tags", "")) if t.strip()]
    customer.notes = values.get("notes", "")
    return CustomerRow(line=row.line, customer=customer)


def _problem(line: int, exc: Exception) -> RowProblem:
    if isinstance(exc, (WaterlineError, RowError)):
        return RowProblem(line, exc.message_zh, exc.message_en)
    return RowProblem(line, f"无法保存：{exc}", f"could not be saved: {exc}")


# ---------------------------------------------------------------- storing


def _owner_of(uow: UnitOfWork, numbers: Iterable[str]) -> set[int]:
    owners: set[int] = set()
    for number in numbers:
        found = uow.customers.find_by_phone(number)
        if found is not None and found.id is not None:
            owners.add(found.id)
    return owners


def _store(rows: Sequence[CustomerRow], uow_factory: Callable[[], UnitOfWork], report: ImportReport) -> None:
    """Write ``rows`` in one transaction; on failure replay them one per transaction."""
    try:
        outcome = _store_in_one(rows, uow_factory)
    except Exception:
        if len(rows) == 1:
            raise
        for row in rows:
            try:
                outcome = _store_in_one([row], uow_factory)
            except Exception as exc:  # one row the store refused; the others still go in
                report.problems.append(_problem(row.line, exc))
            else:
                _count(outcome, report)
        return
    _count(outcome, report)


def _count(outcome: tuple[list[int], int, list[RowProblem]], report: ImportReport) -> None:
    created, existing, problems = outcome
    report.created += len(created)
    report.created_ids.extend(created)
    report.existing += existing
    report.problems.extend(problems)


def _store_in_one(
    rows: Sequence[CustomerRow], uow_factory: Callable[[], UnitOfWork]
) -> tuple[list[int], int, list[RowProblem]]:
    created: list[Customer] = []
    existing = 0
    problems: list[RowProblem] = []
    uow = uow_factory()
    with uow:
        for row in rows:
            owners = _owner_of(uow, row.customer.phone_numbers)
            if len(owners) > 1:
                numbers = "、".join(row.customer.phone_numbers)
                problems.append(
                    RowProblem(
                        row.line,
                        f"这些电话分属不同的客户：{numbers}",
                        f"these phones belong to different customers: {numbers}",
                    )
                )
            elif owners:
                existing += 1
            else:
                uow.customers.add(row.customer)
                created.append(row.customer)
        uow.commit()
    return [c.id for c in created if c.id is not None], existing, problems


def import_customers(
    path: Path | str,
    uow_factory: Callable[[], UnitOfWork],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> ImportReport:
    """Import the customers of a CSV or .xlsx file; returns the report (``str()`` is bilingual).

    Required columns: 姓名/name and 电话/phone (several phones separated by ``;`` ``,`` ``、`` or ``/``).
    Optional: 电话2, 城市, 区县, 地址, 楼层, 电梯, 纬度, 经度, 等级, 标签, 备注 (or their English names).
    """
    source = Path(path)
    report = ImportReport(source=source.name)
    batch: list[CustomerRow] = []
    # phones claimed by earlier rows of this file -> that row's line, so in-file duplicates are
    # recognised before they reach the store (and a batch never holds two claims of one phone)
    seen: dict[str, int] = {}
    try:
        for row in read_rows(source):
            report.rows += 1
            try:
                parsed = parse_row(row)
            except (WaterlineError, RowError) as exc:
                report.problems.append(_problem(row.line, exc))
                continue
            earlier = {seen[n] for n in parsed.customer.phone_numbers if n in seen}
            if earlier:
                report.existing += 1
                continue
            for number in parsed.customer.phone_numbers:
                seen[number] = row.line
            batch.append(parsed)
            if len(batch) >= batch_size:
                _store(batch, uow_factory, report)
                batch = []
    except FileProblem as exc:
        report.problems.append(RowProblem(0, exc.message_zh, exc.message_en))
    if batch:
        _store(batch, uow_factory, report)
    report.problems.sort(key=lambda p: p.line)
    return report
