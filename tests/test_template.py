"""The standard plan workbook, read back as staff would see it."""

from __future__ import annotations

import datetime as dt
import zipfile

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import PLAN, REPO, action

from xltools import model, styles
from xltools.cli import cli, main  # noqa: F401
from xltools.template import write_plan

TEMPLATE = REPO / "workbook_templates" / "action_plan.xlsx"


@pytest.fixture
def plan_path(tmp_path):
    return write_plan(tmp_path / "plan.xlsx", PLAN)


def test_sheets_and_plan_values(plan_path):
    book = openpyxl.load_workbook(plan_path)
    assert book.sheetnames == ["Plan", "Actions", "Guidance", "Lists"]
    assert book["Lists"].sheet_state == "hidden"
    plan = book["Plan"]
    labels = [plan.cell(row, 1).value for row in range(1, 9)]
    assert labels == list(model.PLAN_LABELS)
    values = {plan.cell(row, 1).value: plan.cell(row, 2).value for row in range(1, 9)}
    assert values["Organisation"] == "Argyll and Bute Council"
    assert values["Reporting date"] == dt.datetime(2003, 11, 24)
    assert values["Template version"] == 1


def test_actions_header_frozen_filtered_and_printable(plan_path):
    sheet = openpyxl.load_workbook(plan_path)["Actions"]
    assert [c.value for c in sheet[1]] == list(model.ACTION_COLUMN_NAMES)
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:N501"
    assert sheet.print_title_rows == "$1:$1"
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.page_setup.paperSize == 9  # A4
    # fitToWidth 1 is the file format's default, so it may be left out of the XML.
    assert sheet.page_setup.fitToWidth in (None, 1) and sheet.page_setup.fitToHeight == 0
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert "&P" in sheet.oddFooter.right.text
    # The page header names the plan and its reporting date.
    assert sheet.oddHeader.left.text == "Argyll and Bute Council: PMP audit improvement plan"
    assert sheet.oddHeader.right.text == "Reporting date 24/11/2003"
    assert sheet.column_dimensions["C"].width > 40  # Action is wide
    # Formats sit on the columns, so rows staff add later get them too.
    assert sheet.column_dimensions["F"].number_format == "dd/mm/yyyy"
    assert sheet.column_dimensions["N"].number_format == "dd/mm/yyyy"
    assert sheet.column_dimensions["C"].alignment.wrap_text
    # Ref is Text, so a Ref typed as 1.10 stays 1.10.
    assert sheet.column_dimensions["A"].number_format == "@"


def test_every_sheet_prints_on_a4_with_the_plan_name(plan_path):
    book = openpyxl.load_workbook(plan_path)
    for name, orientation in (
        ("Plan", "portrait"),
        ("Actions", "landscape"),
        ("Guidance", "portrait"),
    ):
        sheet = book[name]
        assert sheet.page_setup.paperSize == 9, name
        assert sheet.page_setup.orientation == orientation, name
        assert sheet.sheet_properties.pageSetUpPr.fitToPage, name
        assert sheet.oddHeader.left.text.endswith("PMP audit improvement plan"), name
        assert sheet.oddFooter.right.text == "Page &P of &N", name
    # The Guidance title spans its columns, so it is never cut at column A.
    assert "A1:C1" in {str(r) for r in book["Guidance"].merged_cells.ranges}


def test_wrapped_guidance_rows_are_tall_enough(plan_path):
    sheet = openpyxl.load_workbook(plan_path)["Guidance"]
    for row in sheet.iter_rows(min_row=2):
        text = row[1].value
        if isinstance(text, str) and len(text) > 110:  # more than one line at width 90
            assert (sheet.row_dimensions[row[0].row].height or 15) >= 30, text


def test_blank_template_header_says_what_it_is(tmp_path):
    sheet = openpyxl.load_workbook(write_plan(tmp_path / "blank.xlsx"))["Actions"]
    assert sheet.oddHeader.left.text == "Improvement action plan"
    assert sheet.oddHeader.right.text is None


def test_dropdowns_read_the_hidden_lists_sheet(plan_path):
    book = openpyxl.load_workbook(plan_path)
    validations = {str(v.sqref): v for v in book["Actions"].data_validations.dataValidation}
    status = validations["L2:L501"]
    assert status.type == "list" and status.formula1 == "Lists!$A$2:$A$7"
    assert status.showErrorMessage and status.error and status.prompt
    grade = validations["M2:M501"]
    assert grade.type == "list" and grade.formula1 == "Lists!$B$2:$B$5"
    lists = book["Lists"]
    assert [lists.cell(r, 1).value for r in range(2, 8)] == list(model.STATUSES)
    assert [lists.cell(r, 2).value for r in range(2, 6)] == list(model.GRADES)
    for ref in ("F2:F501", "N2:N501"):
        date_rule = validations[ref]
        # "between" is the default operator and is left out of the XML.
        assert date_rule.type == "date" and date_rule.operator in (None, "between")
        assert (date_rule.formula1, date_rule.formula2) == ("36526", "73415")  # 2000 to 2100
    email = validations["E2:E501"]
    assert email.type == "custom" and email.formula1 == 'ISNUMBER(SEARCH("@",E2))'


def test_colour_rules_are_live_formulas(plan_path):
    sheet = openpyxl.load_workbook(plan_path)["Actions"]
    rules = {}
    for formatting in sheet.conditional_formatting:
        for rule in formatting.rules:
            rules.setdefault(str(formatting.sqref), []).append((rule.priority, rule.formula[0]))
    overdue = 'AND(ISNUMBER($F2),$F2<TODAY(),TRIM($L2)<>"Complete",TRIM($L2)<>"Withdrawn")'
    assert rules["F2:F501"] == [(1, overdue)]
    status_rules = [formula for _, formula in sorted(rules["L2:L501"])]
    assert status_rules == [
        overdue,
        'TRIM($L2)="On track"',
        'TRIM($L2)="At risk"',
        'TRIM($L2)="Off track"',
        'TRIM($L2)="Complete"',
        'TRIM($L2)="Withdrawn"',
    ]
    assert [f for _, f in sorted(rules["M2:M501"])] == [f'TRIM($M2)="{g}"' for g in "ABCD"]
    # No static fills in the data area: colour comes only from the rules.
    assert sheet["L2"].fill.fill_type is None


def test_guidance_explains_columns_statuses_and_grades(plan_path):
    sheet = openpyxl.load_workbook(plan_path)["Guidance"]
    text = {cell.value for row in sheet.iter_rows() for cell in row if cell.value}
    for name in (*model.ACTION_COLUMN_NAMES, *model.STATUSES, *model.GRADES):
        assert name in text
    assert model.GRADE_GUIDANCE["D"] in text


def test_same_options_give_the_same_bytes(tmp_path):
    first = write_plan(tmp_path / "a.xlsx", PLAN, [action("1")])
    second = write_plan(tmp_path / "b.xlsx", PLAN, [action("1")])
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        assert b"2026-11-01T00:00:00Z" in archive.read("docProps/core.xml")


def test_shipped_template_is_what_new_writes(tmp_path):
    result = CliRunner().invoke(cli, ["new", str(tmp_path / "blank.xlsx")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "blank.xlsx").read_bytes() == TEMPLATE.read_bytes()


def test_actions_written_as_text_and_dates(tmp_path):
    rows = [action("1.10", progress_update='=HYPERLINK("http://x","click")')]
    path = write_plan(tmp_path / "p.xlsx", PLAN, rows, extra_columns=["Directorate"])
    sheet = openpyxl.load_workbook(path)["Actions"]
    assert sheet["A2"].value == "1.10" and sheet["A2"].data_type == "s"
    assert sheet["J2"].value == '=HYPERLINK("http://x","click")'
    assert sheet["J2"].data_type == "s"  # text, not a live formula
    assert sheet["F2"].value == dt.datetime(2004, 3, 31)
    assert sheet["O1"].value == "Directorate"


def test_rules_only_reference_known_columns():
    for rule in styles.COLOUR_RULES:
        assert rule.target in model.ACTION_COLUMN_NAMES
        assert rule.columns() <= set(model.ACTION_COLUMN_NAMES)
        assert styles.is_our_formula(rule.render({c: "Q" for c in rule.columns()}, 7))
    assert not styles.is_our_formula('$B2="Yes"')
