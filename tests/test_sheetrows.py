"""The register's big sheets are streamed as the XML xlsxwriter would write, only faster."""

from __future__ import annotations

import datetime as dt
import re
import zipfile

import openpyxl
from conftest import PLAN, REPO, action
from test_consolidate import _patch_text

from xltools.cells import column_letters
from xltools.consolidate import consolidate
from xltools.read import CellError
from xltools.register import write_register
from xltools.register_sheets import REGISTER_COLUMNS
from xltools.sheetrows import RowWriter, escape_text
from xltools.template import write_plan
from xltools.xlsx import new_workbook, standard_formats, write_value

COLUMNS = ("Text", "Date", "Number", "Other")
AWKWARD_ROWS = [
    {"Text": "plain", "Date": dt.date(2003, 11, 24), "Number": 31, "Other": True},
    {"Text": "  leading", "Date": dt.date(1900, 1, 15), "Number": 0, "Other": False},
    {"Text": "trailing  ", "Date": dt.date(1900, 3, 1), "Number": -5, "Other": None},
    {"Text": "a & b < c > d", "Date": dt.date(1900, 2, 28), "Number": 0.1, "Other": ""},
    {"Text": 'quote "x"', "Date": dt.datetime(2003, 11, 24, 13, 30), "Number": 1e20},
    {"Text": "line\nbreak\tand tab", "Date": None, "Number": 2.5, "Other": float("nan")},
    {"Text": "_x0041_ looks escaped", "Number": 123456789012, "Other": CellError("#REF!")},
    {"Text": "bell\x07 and \ufffe", "Number": 1 / 3, "Other": '=HYPERLINK("http://x","y")'},
    {"Text": "emoji 😀 and ü", "Other": "@SUM(A1)"},
]


def _sheet_data(path, part="xl/worksheets/sheet1.xml") -> str:
    with zipfile.ZipFile(path) as archive:
        xml = archive.read(part).decode("utf-8")
    return re.search(r"<sheetData>(.*)</sheetData>", xml, re.S).group(1)


def _with_xlsxwriter(path, rows):
    """The oracle: each cell through xlsxwriter, as the register was written before."""
    workbook = new_workbook(path, constant_memory=True)
    formats = standard_formats(workbook)
    sheet = workbook.add_worksheet("Rows")
    for row_index, row in enumerate(rows, start=1):
        for column, header in enumerate(COLUMNS):
            value = row.get(header)
            if value is None or value == "":
                continue
            if isinstance(value, str):
                sheet.write_string(row_index, column, value, formats["text"])
            else:
                write_value(sheet, row_index, column, value, formats["date"], formats["text"])
    workbook.close()
    return formats["text"].xf_index, formats["date"].xf_index


def test_rows_are_the_xml_xlsxwriter_writes(tmp_path):
    rows = [{column: row.get(column) for column in COLUMNS} for row in AWKWARD_ROWS]
    text_style, date_style = _with_xlsxwriter(tmp_path / "oracle.xlsx", rows)
    writer = RowWriter(COLUMNS, text_style, date_style)
    ours = "".join(writer.row(number, row) for number, row in enumerate(rows, start=2))
    assert ours == _sheet_data(tmp_path / "oracle.xlsx")


def test_text_is_always_escaped_even_where_xlsxwriter_would_not(tmp_path):
    # xlsxwriter's constant-memory mode writes '<r>...</r>' text raw, as rich text XML.
    sneaky = '<r><t>looks like rich text</t></r><c r="A1"/></r>'
    assert escape_text(sneaky).startswith("&lt;r&gt;")
    result = consolidate(REPO / "examples" / "inbox", dt.date(2003, 11, 24))
    result.rows[0]["Progress update"] = sneaky
    path = write_register(result, tmp_path / "register.xlsx")
    register = openpyxl.load_workbook(path)["Register"]
    column = REGISTER_COLUMNS.index("Progress update") + 1
    assert register.cell(2, column).value == sneaky
    assert register.cell(2, column).data_type == "s"


def test_register_is_reproducible_and_leaves_nothing_behind(tmp_path):
    result = consolidate(REPO / "examples" / "inbox", dt.date(2003, 11, 24))
    first = write_register(result, tmp_path / "out" / "register.xlsx").read_bytes()
    second = write_register(result, tmp_path / "out" / "register.xlsx").read_bytes()
    assert first == second  # the same input gives the same bytes
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["register.xlsx"]
    register = openpyxl.load_workbook(tmp_path / "out" / "register.xlsx")["Register"]
    assert register.max_row == len(result.rows) + 1
    last = column_letters(len(REGISTER_COLUMNS) - 1)
    assert register.dimensions == f"A1:{last}{len(result.rows) + 1}"


def test_an_empty_register_keeps_its_header(tmp_path):
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "empty.xlsx").write_bytes(b"")  # not read: no actions at all
    result = consolidate(tmp_path / "inbox", dt.date(2003, 11, 24))
    path = write_register(result, tmp_path / "register.xlsx")
    book = openpyxl.load_workbook(path)
    for name in ("Register", "Overdue", "Due soon"):
        assert book[name].cell(1, 3).value in ("Plan title", "Ref")
    assert book["Register"].max_row == 1
    # A chasing list with nothing in it says so (and prints one page, not pages of headers).
    assert book["Overdue"]["A2"].value == "No action is overdue."
    assert book["Due soon"]["A2"].value.startswith("No open action is due")


def test_long_text_is_cut_as_excel_counts_it():
    from xltools.cells import EXCEL_CELL_LIMIT, TRUNCATION_MARKER, cell_length, clean_text

    plain = clean_text("y" * 40_000)
    assert plain.truncated and len(plain.text) == EXCEL_CELL_LIMIT
    # 20,000 emoji are 40,000 UTF-16 units: too long for a cell, though only 20,000 characters.
    emoji = clean_text("😀" * 20_000)
    assert emoji.truncated and emoji.text.endswith(TRUNCATION_MARKER)
    assert EXCEL_CELL_LIMIT - 1 <= cell_length(emoji.text) <= EXCEL_CELL_LIMIT
    assert not clean_text("😀" * 16_000).truncated  # 32,000 units fit
    assert clean_text("bell\x07").removed_controls


def test_emoji_text_reaches_the_register_whole_or_cut_with_a_finding(tmp_path):
    fits, too_long = "😀" * 16_000, "😀" * 20_000
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_plan(
        inbox / "emoji.xlsx",
        PLAN,
        [action("1", progress_update=fits), action("2", progress_update="PLACEHOLDER")],
    )
    _patch_text(inbox / "emoji.xlsx", b"PLACEHOLDER", too_long.encode("utf-8"))
    result = consolidate(inbox, dt.date(2003, 11, 24))
    progress = {row["Ref"]: row["Progress update"] for row in result.rows}
    assert progress["1"] == fits
    assert progress["2"].endswith("cell limit]")
    assert any(
        f.code == "text-cleaned" and f.ref == "2" for p in result.problems for f in p.findings
    )
    path = write_register(result, tmp_path / "register.xlsx")
    register = openpyxl.load_workbook(path)["Register"]
    column = REGISTER_COLUMNS.index("Progress update") + 1
    assert {register.cell(r, column).value for r in (2, 3)} == set(progress.values())


def test_second_process_makes_the_same_register(tmp_path, monkeypatch):
    from xltools import sheetrows

    result = consolidate(REPO / "examples" / "inbox", dt.date(2003, 11, 24))
    alone = write_register(result, tmp_path / "alone.xlsx").read_bytes()
    monkeypatch.setattr(sheetrows, "PARALLEL_FROM_ROWS", 2)  # every big sheet split in two
    shared = write_register(result, tmp_path / "shared.xlsx").read_bytes()
    assert shared == alone
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alone.xlsx", "shared.xlsx"]


def test_a_failed_second_process_is_made_up_for(tmp_path, monkeypatch, caplog):
    from xltools import sheetrows

    result = consolidate(REPO / "examples" / "inbox", dt.date(2003, 11, 24))
    alone = write_register(result, tmp_path / "alone.xlsx").read_bytes()

    def fail(jobs):
        raise SystemExit(3)  # the forked process dies before writing anything

    monkeypatch.setattr(sheetrows, "PARALLEL_FROM_ROWS", 2)
    monkeypatch.setattr(sheetrows, "_second_halves_main", fail)
    assert write_register(result, tmp_path / "again.xlsx").read_bytes() == alone
    assert "the second writing process failed" in caplog.text
