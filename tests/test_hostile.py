"""Untrusted workbooks: each is refused with one line naming the file and the reason."""

from __future__ import annotations

import zipfile

import openpyxl
import pytest
import xlsxwriter
from click.testing import CliRunner
from conftest import PLAN, action

from xltools.cli import cli
from xltools.errors import UnreadableWorkbook
from xltools.outcome import Outcome
from xltools.read import Limits, read_plan
from xltools.template import write_plan
from xltools.validate import validate


@pytest.fixture
def good(tmp_path):
    return write_plan(tmp_path / "good.xlsx", PLAN, [action("1"), action("2")])


def rewrite(source, target, change):
    """Copy a zip, letting change(name, data) return new data (or None to drop the member)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            data = change(info.filename, old.read(info.filename))
            if data is not None:
                new.writestr(info.filename, data)
    return target


def zip_bomb(good, tmp_path):
    def change(name, data):
        if name == "xl/worksheets/sheet2.xml":
            padding = b" " * (20 * 1024 * 1024)
            return data.replace(b"<sheetData>", b"<sheetData>" + padding)
        return data

    return rewrite(good, tmp_path / "bomb.xlsx", change)


def doctype(good, tmp_path):
    def change(name, data):
        if name == "xl/workbook.xml":
            return data.replace(
                b"?>", b'?><!DOCTYPE x [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>', 1
            )
        return data

    return rewrite(good, tmp_path / "entity.xlsx", change)


def _stray_cell(path, reference):
    """A workbook whose Actions table has one stray cell at ``reference``."""
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("Actions")
    for column, name in enumerate(["Ref", "Action", "Lead officer", "Status"]):
        sheet.write(0, column, name)
    sheet.write(reference, "oops")
    book.close()
    return path


def far_cell(good, tmp_path):
    return _stray_cell(tmp_path / "stray.xlsx", "XFD1048576")


def far_cell_attributes_reordered(good, tmp_path):
    """The same stray cell, written by a tool that puts r= after the other attributes."""

    def change(name, data):
        return data.replace(b'<c r="XFD1048576" t="s">', b'<c t="s" r="XFD1048576">')

    return rewrite(far_cell(good, tmp_path), tmp_path / "reordered.xlsx", change)


def deep_narrow(good, tmp_path):
    """Only column Z, but 200,000 rows down: 5.2 million cells."""
    return _stray_cell(tmp_path / "deep.xlsx", "Z200000")


def duplicate_member(good, tmp_path):
    path = tmp_path / "dupe.xlsx"
    with zipfile.ZipFile(good) as old, zipfile.ZipFile(path, "w") as new:
        for info in old.infolist():
            new.writestr(info.filename, old.read(info.filename))
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            new.writestr("xl/workbook.xml", old.read("xl/workbook.xml"))
    return path


def bzip2(good, tmp_path):
    path = tmp_path / "bzip2.xlsx"
    with zipfile.ZipFile(good) as old, zipfile.ZipFile(path, "w", zipfile.ZIP_BZIP2) as new:
        for info in old.infolist():
            new.writestr(info.filename, old.read(info.filename))
    return path


def encrypted(good, tmp_path):
    path = tmp_path / "locked.xlsx"
    body = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500
    path.write_bytes(body + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 500)
    return path


def old_xls(good, tmp_path):
    path = tmp_path / "old.xlsx"
    body = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500
    path.write_bytes(body + "Workbook".encode("utf-16-le") + b"\x00" * 500)
    return path


def renamed_csv(good, tmp_path):
    path = tmp_path / "export.xlsx"
    path.write_text("Ref,Action,Lead officer\n1,Do it,Me\n")
    return path


def renamed_html(good, tmp_path):
    path = tmp_path / "page.xlsx"
    path.write_text("<html><body><table><tr><td>1</td></tr></table></body></html>")
    return path


def renamed_ods(good, tmp_path):
    path = tmp_path / "calc.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
    return path


def truncated(good, tmp_path):
    path = tmp_path / "truncated.xlsx"
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    return path


def empty(good, tmp_path):
    path = tmp_path / "empty.xlsx"
    path.write_bytes(b"")
    return path


def _sheet_xml(good, tmp_path, name, change):
    """A copy of the good plan with its Actions sheet's XML changed."""

    def edit(member, data):
        return change(data) if member == "xl/worksheets/sheet2.xml" else data

    return rewrite(good, tmp_path / name, edit)


def out_of_grid(good, tmp_path):
    """A cell past XFD1048576, as a damaged or hand-made file has it."""
    return _sheet_xml(
        good, tmp_path, "grid.xlsx", lambda d: d.replace(b'r="C3"', b'r="XFE16777217"')
    )


def lower_case_reference(good, tmp_path):
    return _sheet_xml(
        good, tmp_path, "lower.xlsx", lambda d: d.replace(b'r="C3"', b'r="xfd1048576"')
    )


def row_zero(good, tmp_path):
    return _sheet_xml(good, tmp_path, "zero.xlsx", lambda d: d.replace(b'r="C3"', b'r="C0"'))


def many_far_values(good, tmp_path):
    """Not a stray or two: values scattered to the grid's edge (absurd, with values)."""
    cells = b"".join(
        b'<row r="%d"><c r="XF%s%d" t="inlineStr"><is><t>x</t></is></c></row>'
        % (1_000_000 + n, b"ABCD"[n % 4 : n % 4 + 1], 1_000_000 + n)
        for n in range(40)
    )
    return _sheet_xml(
        good, tmp_path, "many.xlsx", lambda d: d.replace(b"</sheetData>", cells + b"</sheetData>")
    )


def _damage_member(good, tmp_path, name, damage):
    """Damage the compressed bytes of the Actions sheet in place (zip headers intact)."""
    data = bytearray(good.read_bytes())
    with zipfile.ZipFile(good) as archive:
        info = archive.getinfo("xl/worksheets/sheet2.xml")
    with open(good, "rb") as handle:
        handle.seek(info.header_offset + 26)
        skip = int.from_bytes(handle.read(2), "little") + int.from_bytes(handle.read(2), "little")
    start = info.header_offset + 30 + skip
    damage(data, start, info.compress_size)
    path = tmp_path / name
    path.write_bytes(bytes(data))
    return path


def bad_crc(good, tmp_path):
    def flip(data, start, size):
        data[start + size // 2] ^= 0x55

    return _damage_member(good, tmp_path, "crc.xlsx", flip)


def truncated_deflate(good, tmp_path):
    def cut(data, start, size):
        data[start + 2 : start + size] = b"\xff" * (size - 2)

    return _damage_member(good, tmp_path, "deflate.xlsx", cut)


def html_as_xls(good, tmp_path):
    path = tmp_path / "report.xls"
    path.write_text("<html><body><table><tr><td>1</td></tr></table></body></html>")
    return path


HOSTILE = [
    (zip_bomb, "compressed more than 100:1 (a zip bomb)"),
    (doctype, "contains a DOCTYPE declaration"),
    (out_of_grid, "reference 'XFE16777217' outside Excel's grid (A1:XFD1048576)"),
    (lower_case_reference, "reference 'xfd1048576' outside Excel's grid"),
    (row_zero, "reference 'C0' outside Excel's grid"),
    (many_far_values, "has values out to XFD1000039, far beyond any plan's table"),
    (duplicate_member, "holds the part xl/workbook.xml twice (a duplicate part"),
    (bzip2, "unsupported compression method"),
    (encrypted, "password-protected (encrypted)"),
    (old_xls, "old-style Excel 97-2003 (.xls) workbook"),
    (renamed_csv, "CSV or text file renamed to .xlsx"),
    (renamed_html, "web page (HTML) saved with an .xlsx name"),
    (html_as_xls, "web page (HTML) saved with an .xls name"),
    (renamed_ods, "OpenDocument spreadsheet (.ods) renamed to .xlsx"),
    (truncated, "damaged or incomplete"),
    (bad_crc, "damaged or incomplete"),
    (truncated_deflate, "damaged or incomplete"),
    (empty, "the file is empty (0 bytes)"),
]


@pytest.mark.parametrize(("make", "reason"), HOSTILE, ids=[m.__name__ for m, _ in HOSTILE])
def test_hostile_file_is_refused_with_a_reason(good, tmp_path, make, reason):
    path = make(good, tmp_path)
    with pytest.raises(UnreadableWorkbook) as caught:
        read_plan(path)
    assert reason in str(caught.value)
    assert str(caught.value).startswith(str(path))
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 2
    assert result.output.splitlines() == [f"{path}: could not be read: {caught.value.message}"]


def test_one_bad_file_does_not_stop_the_others(good, tmp_path):
    truncated(good, tmp_path)
    report = validate([tmp_path])
    statuses = {f.path.name: f.status for f in report.files}
    assert statuses == {"good.xlsx": "valid", "truncated.xlsx": "unreadable"}
    assert report.outcome is Outcome.PROBLEMS  # reported; the good file was still checked


def test_limits_are_settings(good, tmp_path):
    with pytest.raises(UnreadableWorkbook, match="over the limit of 1,000"):
        read_plan(good, Limits(max_part_bytes=1_000))
    with pytest.raises(UnreadableWorkbook, match="the limit is 10"):
        read_plan(good, Limits(max_sheet_cells=10))


def test_a_lock_file_named_directly_is_skipped(tmp_path):
    lock = tmp_path / "~$plan.xlsx"
    lock.write_bytes(b"\x00" * 165)
    result = CliRunner().invoke(cli, ["validate", str(tmp_path), str(lock)])
    assert f"{lock}: skipped (Office lock file (the workbook is open))" in result.output


def test_traceback_only_with_debug(tmp_path):
    path = empty(None, tmp_path)
    result = CliRunner().invoke(cli, ["colour", str(path), "-o", str(tmp_path / "o.xlsx")])
    assert (result.exit_code, len(result.output.splitlines())) == (2, 1)
    result = CliRunner().invoke(
        cli, ["--debug", "colour", str(path), "-o", str(tmp_path / "o.xlsx")]
    )
    assert isinstance(result.exception, UnreadableWorkbook)


def test_verify_catches_a_value_change_and_ignores_a_colour_change(good, tmp_path):
    out = tmp_path / "checked"
    assert CliRunner().invoke(cli, ["validate", str(good), "--annotate", str(out)]).exit_code == 0
    certified = out / "good.xlsx"
    result = CliRunner().invoke(cli, ["verify", str(certified)])
    assert result.exit_code == 0
    assert result.output.startswith(f"{certified}: unchanged since validation on ")

    book = openpyxl.load_workbook(certified)
    book["Actions"]["C3"].fill = openpyxl.styles.PatternFill("solid", start_color="FF00FF00")
    book["Actions"]["C3"].font = openpyxl.styles.Font(bold=True)
    book.save(certified)
    assert CliRunner().invoke(cli, ["verify", str(certified)]).exit_code == 0

    book["Actions"]["J3"] = "Workshops held in October"
    book.save(certified)
    result = CliRunner().invoke(cli, ["verify", str(certified)])
    assert result.exit_code == 1
    assert "  Ref 2 (row 3): J3 (Progress update)" in result.output.splitlines()

    result = CliRunner().invoke(cli, ["verify", str(good)])
    assert result.exit_code == 2
    assert "no validation certificate" in result.output


def test_certificate_contents(good, tmp_path):
    CliRunner().invoke(cli, ["validate", str(good), "--annotate", str(tmp_path / "c")])
    sheet = openpyxl.load_workbook(tmp_path / "c" / "good.xlsx")["Validation"]
    labels = {row[0].value: row[1].value for row in sheet.iter_rows() if row[0].value}
    assert labels["Result"] == "certified: no errors, 0 warnings"
    assert labels["Rule pack"] == "default"
    assert len(labels["Rule pack SHA-256"]) == 64
    assert labels["Reporting date"] == "2003-11-24"
    assert labels["xltools version"] == __import__("xltools").__version__
    assert "Checks run" in labels and labels["Signature"].startswith("none: ")
    data = openpyxl.load_workbook(tmp_path / "c" / "good.xlsx")["Certificate data"]
    assert data.sheet_state == "hidden"


def test_annotated_copy_says_what_it_could_not_keep(tmp_path):
    from test_colour import _workbook_with_picture

    path = _workbook_with_picture(tmp_path)
    CliRunner().invoke(cli, ["validate", str(path), "--annotate", str(tmp_path / "out")])
    sheet = openpyxl.load_workbook(tmp_path / "out" / path.name)["Validation"]
    labels = {row[0].value: row[1].value for row in sheet.iter_rows() if row[0].value}
    assert labels["Not in this copy"].startswith("1 picture on sheet Actions (Picture 1)")


CALAMINE_READS = (
    "import sys; from python_calamine import CalamineWorkbook; "
    "CalamineWorkbook.from_path(sys.argv[1]).get_sheet_by_name('Actions').to_python()"
)


@pytest.mark.parametrize("make", [out_of_grid, lower_case_reference, far_cell])
def test_without_the_pre_scan_these_files_really_abort_the_reader(good, tmp_path, make):
    """Not a theory: the Rust reader aborts the whole interpreter on each of these."""
    import signal
    import subprocess
    import sys

    path = make(good, tmp_path)
    run = subprocess.run([sys.executable, "-c", CALAMINE_READS, str(path)], capture_output=True)
    assert run.returncode == -signal.SIGABRT


@pytest.mark.parametrize(
    ("make", "cell"),
    [
        (far_cell, "XFD1048576"),
        (far_cell_attributes_reordered, "XFD1048576"),
        (deep_narrow, "Z200000"),
    ],
)
def test_a_far_stray_value_is_the_table_plus_a_warning_naming_it(good, tmp_path, make, cell):
    path = make(good, tmp_path)
    table = read_plan(path)
    assert table.missing_columns  # the little table in these files was read
    assert [(n.code, n.severity, n.sheet, n.cell) for n in table.notes] == [
        ("stray-cell", "warning", "Actions", cell)
    ]
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert (
        f"{path}  Actions!{cell}  warning (Value far outside the table): A value at {cell}, far "
        "outside the table, was not read: delete it (or move it into the table) and save again."
        in result.output
    )
    assert "could not be read" not in result.output


def test_a_stray_value_beside_a_real_plan_leaves_the_plan_whole(good, tmp_path):
    def add_stray(data):
        stray = b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>oops</t></is></c></row>'
        return data.replace(b"</sheetData>", stray + b"</sheetData>")

    path = _sheet_xml(good, tmp_path, "stray.xlsx", add_stray)
    table, clean = read_plan(path), read_plan(good)
    assert table.records == clean.records and table.columns == clean.columns
    report = validate([path])
    assert [(f.code, f.cell) for f in report.files[0].findings] == [("stray-cell", "XFD1048576")]
    assert report.outcome is Outcome.OK


def _styled_to_the_edge(good, tmp_path, name, rows):
    """Whole columns and rows formatted by staff: styled empty cells out to XFD1048576,
    and (``rows``) every row down to 1,048,576 styled and empty."""

    def style(data):
        body = b'<row r="1048576" s="1" customFormat="1"><c r="XFD1048576" s="1"/></row>'
        if rows:
            body = b"".join(
                b'<row r="%d" s="1" customFormat="1"><c r="A%d" s="1"/><c r="XFD%d" s="1"/></row>'
                % (n, n, n)
                for n in range(10, 1_048_577)
            )
        return data.replace(b'<c r="A1"', b'<c r="XFD1" s="1"/><c r="A1"', 0).replace(
            b"</sheetData>", body + b"</sheetData>"
        )

    return _sheet_xml(good, tmp_path, name, style)


@pytest.mark.parametrize("rows", [False, True], ids=["last-cell", "a-million-rows"])
def test_a_sheet_styled_to_the_edge_is_read_as_its_table(good, tmp_path, rows):
    path = _styled_to_the_edge(good, tmp_path, f"styled-{rows}.xlsx", rows)
    assert path.stat().st_size < 20 * 1024 * 1024
    table, clean = read_plan(path), read_plan(good)
    assert table.records == clean.records and table.notes == []
    assert validate([path]).outcome is Outcome.OK


def test_reading_a_million_styled_rows_stays_in_bounded_memory(good, tmp_path):
    """Peak memory of a reader process of its own (not time: no test fails on the clock)."""
    import subprocess
    import sys

    path = _styled_to_the_edge(good, tmp_path, "styled.xlsx", rows=True)
    # VmHWM: this process's own peak (ru_maxrss would carry the parent's over exec).
    script = (
        "import sys; from xltools.read import read_plan; read_plan(sys.argv[1]); "
        "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])"
    )
    run = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True
    )
    assert int(run.stdout) < 400 * 1024  # KB: the sheet's XML (90 MB) and one pass over it
