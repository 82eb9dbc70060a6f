"""Reading the tables offices hand us: encodings, XLSX, and errors that say where the problem is."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from openpyxl import Workbook

from textkit.cli import UserError
from textkit.tabular import load_table, read_table, write_csv_atomic

ROWS = [
    {"留言主题": "A市月湖大市场小区传销打击要立案判刑！", "一级标签": "城乡建设"},
    {"留言主题": "G市医保何时可以设置报销门诊上限？", "一级标签": "劳动和社会保障"},
    {"留言主题": "举报L5县济民医院对待产妇的不负责行为", "一级标签": "卫生计生"},
    {"留言主题": "K8县一中违规补课，学生苦不堪言", "一级标签": "教育文体"},
]
CSV_TEXT = "留言主题,一级标签\r\n" + "".join(f"{r['留言主题']},{r['一级标签']}\r\n" for r in ROWS)


@pytest.mark.parametrize(
    ("encoding", "declared"),
    [
        ("utf-8", None),
        ("utf-8-sig", None),
        ("gbk", None),
        ("gb18030", None),
        ("gbk", "utf-8"),  # a GBK export declared as UTF-8
        ("utf-8", "gbk"),  # and the reverse
        ("utf-16", None),  # Excel's "Unicode text"
    ],
)
def test_it_reads_csv_in_every_encoding_offices_use(
    tmp_path: Path, encoding: str, declared: str | None
) -> None:
    path = tmp_path / "messages.csv"
    path.write_bytes(CSV_TEXT.encode(encoding))
    table = load_table(path, ["留言主题", "一级标签"], encoding=declared)
    assert table.rows == ROWS
    assert table.fieldnames == ["留言主题", "一级标签"]
    assert table.row_numbers == [2, 3, 4, 5]


def test_it_never_mangles_bytes_that_are_no_known_encoding(tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    path.write_bytes(b"title\n" + b"\x80\xff\x80\n")
    with pytest.raises(UserError, match=r"broken\.csv: not valid text .* line 2"):
        read_table(path, ["title"])


def test_it_reads_xlsx_with_excel_typed_cells(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["留言编号", "留言主题", "留言时间", "一级标签"])
    ws.append(
        [95823.0, "公积金管理着有责任让公积金升值", dt.datetime(2020, 1, 6, 12, 9, 38), "城乡建设"]  # noqa: DTZ001 - Excel cells are naive
    )
    ws.append([None, None, None, None])  # Excel leaves empty rows behind
    ws.append([24, "A市西湖建筑集团占道施工有安全隐患", None, "城乡建设"])
    path = tmp_path / "附件2.xlsx"
    wb.save(path)
    table = load_table(path, ["留言主题"])
    assert table.rows[0] == {
        "留言编号": "95823",
        "留言主题": "公积金管理着有责任让公积金升值",
        "留言时间": "2020-01-06 12:09:38",
        "一级标签": "城乡建设",
    }
    assert table.rows[1]["留言时间"] == ""
    assert table.row_numbers == [2, 4]


def test_a_missing_column_names_the_file_and_lists_the_columns_present(tmp_path: Path) -> None:
    path = tmp_path / "messages.csv"
    path.write_text(CSV_TEXT, encoding="utf-8")
    with pytest.raises(UserError) as err:
        read_table(path, ["留言详情"])
    message = str(err.value)
    assert "messages.csv" in message
    assert "'留言详情'" in message
    assert "留言主题、一级标签" in message


def test_a_row_wider_than_the_header_is_named_by_its_row(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text(
        "留言主题,一级标签\n路灯不亮,城乡建设\n噪音扰民,环境保护,多出来的\n", encoding="utf-8"
    )
    with pytest.raises(UserError, match=r"ragged\.csv: row 3 .* 3 cells .* 2 columns"):
        read_table(path)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "the file is empty"),
        (b"a,a\n1,2\n", "column 'a' appears twice"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "legacy .xls"),
        (b"PK\x03\x04not really a zip", "not a readable .xlsx"),
    ],
)
def test_it_explains_files_it_cannot_read(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "input.csv"
    path.write_bytes(content)
    with pytest.raises(UserError, match=r"input\.csv") as err:
        read_table(path)
    assert expected in str(err.value)


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"nope\.csv: no such file"):
        read_table(tmp_path / "nope.csv")


def test_written_csv_round_trips_and_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    assert write_csv_atomic(out, ROWS, ["留言主题", "一级标签"]) == 4
    assert read_table(out) == ROWS
    before = out.read_bytes()

    def rows_then_failure():  # type: ignore[no-untyped-def]
        yield ROWS[0]
        yield {"留言主题": "x", "不存在的列": "y"}

    with pytest.raises(ValueError):
        write_csv_atomic(out, rows_then_failure(), ["留言主题", "一级标签"])
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_excel_friendly_output_carries_a_bom_that_reading_ignores(tmp_path: Path) -> None:
    out = tmp_path / "excel.csv"
    write_csv_atomic(out, ROWS, ["留言主题", "一级标签"], bom=True)
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    assert read_table(out, ["留言主题"]) == ROWS


def test_it_reads_the_real_message_board_export(shared_data: Path) -> None:
    table = load_table(
        shared_data / "tipdm2020_c" / "attachment2_rows_partial.csv",
        ["留言主题", "留言详情", "一级标签"],
    )
    assert len(table.rows) > 2000
    assert {r["一级标签"] for r in table.rows} == {
        "城乡建设",
        "环境保护",
        "交通运输",
        "教育文体",
        "劳动和社会保障",
        "商贸旅游",
        "卫生计生",
    }
    # Multi-line bodies stay in one cell.
    assert any("\n" in r["留言详情"] for r in table.rows)
