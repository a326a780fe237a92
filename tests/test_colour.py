"""``xltools colour`` on workbooks staff have edited."""

from __future__ import annotations

import base64
import datetime as dt
import zipfile

import openpyxl
import pytest
import xlsxwriter
from click.testing import CliRunner
from conftest import PLAN, action
from openpyxl.comments import Comment
from openpyxl.worksheet.datavalidation import DataValidation

from xltools import styles
from xltools.cli import cli
from xltools.colour import colour_workbook, parts_openpyxl_would_lose
from xltools.errors import UnsafeToEdit
from xltools.template import write_plan

# A 1x1 PNG, for a workbook holding a picture.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def our_rules(sheet) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for formatting in sheet.conditional_formatting:
        for rule in formatting.rules:
            if rule.formula and styles.is_our_formula(rule.formula[0]):
                found.setdefault(str(formatting.sqref), []).append(rule.formula[0])
    return found


@pytest.fixture
def staff_workbook(tmp_path):
    """A plan as staff keep it: title rows, columns reordered, an extra column, own validation."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Actions"
    sheet["A1"] = "Community care improvement plan"
    headers = [
        "Status",
        "Ref",
        "Action",
        "Directorate",
        "Lead officer",
        "Due date",
        "Grade",
        "Area for improvement",
    ]
    sheet.append([])
    sheet.append(headers)
    sheet.append(
        [
            "On track",
            "1",
            "Roll out workshops",
            "Adults",
            "S Greer",
            dt.datetime(2003, 10, 31),
            "B",
            "Best Value",
        ]
    )
    sheet.append(["Complete", "2", "Newsletter", "Adults", "S Greer", None, "A", "Best Value"])
    own = DataValidation(type="list", formula1='"Adults,Children"', allow_blank=True)
    sheet.add_data_validation(own)
    own.add("D4:D100")
    sheet["C4"].comment = Comment("Check with finance", "S Greer")
    sheet.column_dimensions["C"].width = 55
    sheet.freeze_panes = "B4"
    book.create_sheet("Notes")["A1"] = "keep me"
    path = tmp_path / "staff.xlsx"
    book.save(path)
    return path


def test_colour_finds_columns_by_header_and_keeps_the_rest(staff_workbook, tmp_path):
    out = tmp_path / "out.xlsx"
    before = staff_workbook.read_bytes()
    result = colour_workbook(staff_workbook, out)
    assert staff_workbook.read_bytes() == before  # source untouched
    assert result.columns["Status"] == "A" and result.columns["Due date"] == "F"
    book = openpyxl.load_workbook(out)
    sheet = book["Actions"]
    rules = our_rules(sheet)
    assert rules["F4:F505"] == [
        'AND(ISNUMBER($F4),$F4<TODAY(),TRIM($A4)<>"Complete",TRIM($A4)<>"Withdrawn")'
    ]
    assert 'TRIM($A4)="Complete"' in rules["A4:A505"]
    assert rules["G4:G505"] == [f'TRIM($G4)="{g}"' for g in "ABCD"]
    assert sheet["C4"].value == "Roll out workshops"
    assert sheet["C4"].comment.text == "Check with finance"
    assert sheet.column_dimensions["C"].width == 55
    assert sheet.freeze_panes == "B4"
    assert [str(v.sqref) for v in sheet.data_validations.dataValidation] == ["D4:D100"]
    assert book["Notes"]["A1"].value == "keep me"


def test_colour_twice_leaves_one_set_of_rules(staff_workbook, tmp_path):
    once = colour_workbook(staff_workbook, tmp_path / "once.xlsx").output
    twice = colour_workbook(once, tmp_path / "twice.xlsx")
    assert twice.rules_removed == twice.rules_added == len(styles.COLOUR_RULES)
    assert our_rules(openpyxl.load_workbook(once)["Actions"]) == our_rules(
        openpyxl.load_workbook(twice.output)["Actions"]
    )


def test_colour_keeps_the_staff_own_conditional_formats(staff_workbook, tmp_path):
    from openpyxl.formatting.rule import FormulaRule

    book = openpyxl.load_workbook(staff_workbook)
    book["Actions"].conditional_formatting.add("D4:D10", FormulaRule(formula=['$D4="Adults"']))
    book.save(staff_workbook)
    out = colour_workbook(staff_workbook, tmp_path / "out.xlsx").output
    sheet = openpyxl.load_workbook(out)["Actions"]
    formulas = [r.formula[0] for cf in sheet.conditional_formatting for r in cf.rules]
    assert '$D4="Adults"' in formulas


def test_after_moving_columns_old_rules_are_replaced(tmp_path):
    path = write_plan(tmp_path / "plan.xlsx", PLAN, [action("1")])
    book = openpyxl.load_workbook(path)
    sheet = book["Actions"]
    sheet.insert_cols(1)  # staff insert a column before Ref: the old rules now point wrongly
    sheet["A1"] = "Priority"
    book.save(path)
    out = colour_workbook(path, tmp_path / "out.xlsx").output
    rules = our_rules(openpyxl.load_workbook(out)["Actions"])
    assert set(rules) == {"G2:G502", "M2:M502", "N2:N502"}


def test_in_place_keeps_a_backup(staff_workbook):
    original = staff_workbook.read_bytes()
    result = colour_workbook(staff_workbook, in_place=True)
    assert result.backup.read_bytes() == original
    assert result.backup.name.startswith("staff.backup-")
    assert our_rules(openpyxl.load_workbook(staff_workbook)["Actions"])


def _workbook_with_picture(tmp_path):
    path = tmp_path / "picture.xlsx"
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("Actions")
    for column, name in enumerate(["Ref", "Action", "Lead officer", "Status", "Due date"]):
        sheet.write(0, column, name)
    image = tmp_path / "logo.png"
    image.write_bytes(PNG)
    sheet.insert_image("H2", str(image))
    book.close()
    return path


def test_refuses_what_openpyxl_would_lose_unless_forced(tmp_path):
    path = _workbook_with_picture(tmp_path)
    with pytest.raises(UnsafeToEdit, match=r"holds 1 picture on sheet Actions \(Picture 1\)"):
        colour_workbook(path, tmp_path / "out.xlsx")
    assert not (tmp_path / "out.xlsx").exists()
    forced = colour_workbook(path, tmp_path / "out.xlsx", force=True)
    assert forced.warnings[0] == (
        "lost on saving (colouring was forced): 1 picture on sheet Actions (Picture 1)"
    )


def test_what_is_lost_is_counted_and_named_by_sheet(tmp_path):
    path = tmp_path / "drawn.xlsx"
    book = xlsxwriter.Workbook(path)
    actions = book.add_worksheet("Actions")
    for column, name in enumerate(["Ref", "Action", "Lead officer", "Status", "Due date"]):
        actions.write(0, column, name)
    image = tmp_path / "logo.png"
    image.write_bytes(PNG)
    actions.insert_image("H2", str(image))
    actions.insert_image("H8", str(image))
    actions.insert_textbox("J2", "Call Sandra first")
    notes = book.add_worksheet("Notes")
    notes.write_column(0, 0, [1, 2, 3])
    chart = book.add_chart({"type": "column"})
    chart.add_series({"values": ["Notes", 0, 0, 2, 0]})
    notes.insert_chart("C2", chart)
    book.close()
    lost = parts_openpyxl_would_lose(path)
    assert lost == [
        "2 pictures on sheet Actions (Picture 1, Picture 2)",
        "1 shape on sheet Actions (TextBox 3)",
        "1 chart on sheet Notes (Chart 1)",
    ]


def test_an_empty_drawing_loses_nothing(tmp_path):
    """LibreOffice writes an empty drawing part into every workbook it saves."""
    path = write_plan(tmp_path / "plan.xlsx", PLAN, [action("1")])
    empty = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<xdr:wsDr xmlns:xdr='
        '"http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"></xdr:wsDr>'
    )
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("xl/drawings/drawing1.xml", empty)
    assert parts_openpyxl_would_lose(path) == []
    assert colour_workbook(path, tmp_path / "out.xlsx").warnings == ()


def test_dropdowns_grow_with_the_colouring(tmp_path):
    """A 30-action plan: colouring to row 531, and every dropdown and check to 531 too."""
    path = write_plan(tmp_path / "plan.xlsx", PLAN, [action(str(n)) for n in range(1, 31)])
    result = colour_workbook(path, tmp_path / "out.xlsx")
    assert result.rows == "2:531"
    sheet = openpyxl.load_workbook(result.output)["Actions"]
    validations = sorted(str(v.sqref) for v in sheet.data_validations.dataValidation)
    assert validations == ["E2:E531", "F2:F531", "L2:L531", "M2:M531", "N2:N531"]
    assert set(our_rules(sheet)) == {"F2:F531", "L2:L531", "M2:M531"}
    again = colour_workbook(result.output, tmp_path / "again.xlsx")
    assert again.rows == "2:531" and again.dropdowns_extended == 0


def test_staff_own_validations_are_not_grown(staff_workbook, tmp_path):
    result = colour_workbook(staff_workbook, tmp_path / "out.xlsx")
    sheet = openpyxl.load_workbook(result.output)["Actions"]
    assert [str(v.sqref) for v in sheet.data_validations.dataValidation] == ["D4:D100"]


def test_ref_cells_become_text(tmp_path):
    path = write_plan(tmp_path / "plan.xlsx", PLAN, [action("1.10")])
    book = openpyxl.load_workbook(path)
    book["Actions"]["A3"] = 7  # a Ref already typed as a number stays a number
    book.save(path)
    out = colour_workbook(path, tmp_path / "out.xlsx").output
    sheet = openpyxl.load_workbook(out)["Actions"]
    assert sheet["A2"].value == "1.10" and sheet["A2"].number_format == "@"
    assert sheet["A3"].value == 7 and sheet["A3"].number_format == "General"
    assert sheet["A400"].number_format == "@"  # rows staff will type into


def test_cli_colour_errors(tmp_path, staff_workbook):
    runner = CliRunner()
    result = runner.invoke(cli, ["colour", str(staff_workbook)])
    assert result.exit_code == 2
    assert "Error: give either -o OUTPUT or --in-place" in result.output
    picture = _workbook_with_picture(tmp_path)
    result = runner.invoke(cli, ["colour", str(picture), "-o", str(tmp_path / "o.xlsx")])
    assert result.exit_code == 2
    assert result.output.startswith(
        f"xltools: error: {picture}: the workbook holds 1 picture on sheet Actions (Picture 1)"
    )
    assert len(result.output.strip().splitlines()) == 1
    missing = tmp_path / "missing.xlsx"
    result = runner.invoke(cli, ["colour", str(missing), "-o", str(tmp_path / "o.xlsx")])
    assert (result.exit_code, result.output) == (2, f"xltools: error: {missing}: no such file\n")
    result = runner.invoke(cli, ["colour", str(staff_workbook), "-o", str(tmp_path / "o.xlsx")])
    assert result.exit_code == 0
    assert result.output == f"coloured {tmp_path / 'o.xlsx'}: 11 rules on rows 4:505\n"
