"""Cases seen on workbooks saved by Excel itself (XlsxWriter's and calamine's test files).

Those files are not ours to commit, so each case is rebuilt here, small, from a plan we
write: what matters in them is named in each test.
"""

from __future__ import annotations

import zipfile

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import PLAN, action
from openpyxl.comments import Comment

from xltools.cli import cli
from xltools.colour import colour_workbook
from xltools.errors import UnsafeToEdit
from xltools.template import write_plan


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def far_comment_plan(tmp_path):
    """A plan with a comment on the very last cell of the grid, XFD1048576.

    Excel keeps such a comment (XlsxWriter's comment03.xlsx has one); openpyxl makes the
    cell for it, so the sheet's bounds become the whole grid. `colour` and `validate
    --annotate` used to walk all 17 billion cells of it and never finish.
    """
    path = write_plan(tmp_path / "plan.xlsx", PLAN, [action("1"), action("2")])
    book = openpyxl.load_workbook(path)
    book["Actions"]["XFD1048576"].comment = Comment("Some text", "John")
    book.save(path)
    return path


def test_colour_ends_on_a_comment_at_the_last_cell_of_the_grid(far_comment_plan, tmp_path):
    result = colour_workbook(far_comment_plan, tmp_path / "out.xlsx")
    assert result.rows == "2:503"  # the two actions and 500 more, not the whole grid
    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx")["Actions"]
    assert sheet["XFD1048576"].comment.text == "Some text"
    assert sheet["A2"].value == "1"


def test_annotate_and_verify_end_on_a_comment_at_the_last_cell(far_comment_plan, tmp_path):
    result = run("validate", far_comment_plan, "--annotate", tmp_path / "checked")
    assert result.exit_code == 0, result.output
    copy = tmp_path / "checked" / far_comment_plan.name
    result = run("verify", copy)
    assert result.exit_code == 0, result.output
    assert "values: unchanged" in result.output


def _add_parts(path, parts: dict[str, bytes], sheet_marker: bytes = b"") -> None:
    """Copy ``path`` with extra parts (and, optionally, an element added to each sheet)."""
    with zipfile.ZipFile(path) as source:
        members = [(info, source.read(info.filename)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in members:
            if sheet_marker and info.filename.startswith("xl/worksheets/sheet"):
                data = data.replace(b"</worksheet>", sheet_marker + b"</worksheet>")
            target.writestr(info, data)
        for name, data in parts.items():
            target.writestr(name, data)


BUTTON_VML = b"""<xml xmlns:v="urn:schemas-microsoft-com:vml"
 xmlns:x="urn:schemas-microsoft-com:office:excel">
 <v:shape id="_x0000_s1025" type="#_x0000_t201"><x:ClientData ObjectType="Button">
 <x:Anchor>2, 0, 1, 0, 3, 0, 2, 0</x:Anchor><x:FmlaMacro>[0]!Button1_Click</x:FmlaMacro>
 </x:ClientData></v:shape></xml>"""


@pytest.mark.parametrize(
    ("parts", "marker", "named"),
    [
        # XlsxWriter's button01.xlsx: a form button drawn the old (VML) way.
        ({"xl/drawings/vmlDrawing9.vml": BUTTON_VML}, b"", "form controls"),
        # header_image01.xlsx: a logo in the page header.
        ({}, b'<legacyDrawingHF r:id="rId99"/>', "pictures in the page header or footer"),
        # embed_image01.xlsx: Excel 365's pictures placed in cells.
        ({"xl/richData/rdrichvalue.xml": b"<rvData/>"}, b"", "pictures placed in cells"),
    ],
)
def test_colour_refuses_what_excel_made_and_openpyxl_would_drop(tmp_path, parts, marker, named):
    path = write_plan(tmp_path / "plan.xlsx", PLAN, [action("1")])
    _add_parts(path, parts, marker)
    with pytest.raises(UnsafeToEdit, match=named):
        colour_workbook(path, tmp_path / "out.xlsx")
    result = run("colour", path, "-o", tmp_path / "cli.xlsx")
    assert result.exit_code == 2
    assert named in result.output and "--force" in result.output


def test_comments_alone_are_kept_and_not_refused(tmp_path):
    path = write_plan(tmp_path / "plan.xlsx", PLAN, [action("1")])
    book = openpyxl.load_workbook(path)
    book["Actions"]["C2"].comment = Comment("Check with finance", "Sandra")
    book.save(path)
    colour_workbook(path, tmp_path / "out.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx")["Actions"]
    assert sheet["C2"].comment.text == "Check with finance"


def test_output_piped_to_a_reader_that_stops_is_not_a_file_error(tmp_path):
    """`xltools validate inbox/ | head -1` used to end "a file: could not write (broken pipe):
    check the folder"; the reader stopping is no fault of any file: quiet, status 141."""
    import os
    import subprocess
    import sys

    from conftest import REPO

    process = subprocess.Popen(
        [sys.executable, "-m", "xltools", "validate", str(REPO / "examples" / "inbox")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    process.stdout.close()  # the reader goes away before a line is written
    error = process.stderr.read().decode()
    assert process.wait() == 141
    assert error == ""


def test_a_missing_or_mis_saved_leads_list_is_one_line_saying_what_to_do(tmp_path):
    """It said "cannot read the leads list ([Errno 2] No such file or directory: ...)"."""
    from conftest import REPO

    missing = tmp_path / "leads.csv"
    arguments = ["packs", REPO / "examples" / "inbox", "-o", tmp_path / "packs"]
    result = run(*arguments, "--reporting-date", "2003-11-24", "--leads", missing)
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "Errno" not in result.output
    assert "no such leads list" in result.output and "leads.csv" in result.output
    missing.write_bytes("Sandra Gr\xe9er,s.greer@example.gov.uk\n".encode("cp1252"))
    result = run(*arguments, "--reporting-date", "2003-11-24", "--leads", missing)
    assert result.exit_code == 2
    assert "save it from Excel as 'CSV UTF-8'" in result.output
