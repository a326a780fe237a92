"""Our workbooks opened in a real spreadsheet program: LibreOffice, headless.

LibreOffice's HTML export writes each cell's effective background after
conditional formatting, so these tests see the colours staff would see.
"""

from __future__ import annotations

import datetime as dt
import zipfile

import openpyxl
import pytest
from conftest import PLAN, REPO, action, lo_convert, lo_sheet_tables

from xltools import model
from xltools.colour import colour_workbook
from xltools.styles import COLOUR_RULES
from xltools.template import write_plan

pytestmark = pytest.mark.libreoffice
FUTURE = dt.date.today() + dt.timedelta(days=400)
RED, BLUE, AMBER, GREY, GREEN = (
    model.RAG_COLOURS[label][0] for label in ("Red", "Blue", "Amber", "Grey", "Green")
)


def _rows(table):
    return {row[0][0]: row for row in table if row and row[0][0]}


def _plan_actions():
    return [
        action("1", due_date=dt.date(2003, 10, 31), status="On track"),  # overdue
        action("2", due_date=FUTURE, status="Complete", grade="A"),
        action("3", due_date=FUTURE, status="At risk", grade="B"),
        action("4", due_date=None, status="Withdrawn", grade="D"),
        {},  # a blank row
        action("6", due_date=FUTURE, status="On track"),
    ]


def test_template_opens_and_shows_status_colours(soffice, tmp_path):
    path = write_plan(tmp_path / "plan.xlsx", PLAN, _plan_actions())
    tables = lo_sheet_tables(soffice, path, tmp_path / "html")
    actions = tables[1]
    header = [text for text, _ in actions[0]]
    due, status, grade = (header.index(n) for n in ("Due date", "Status", "Grade"))
    rows = _rows(actions[1:])
    assert rows["1"][due] == ("31/10/2003", RED)  # overdue: red
    assert rows["1"][status] == ("On track", RED)  # red whatever the status
    assert rows["2"][status] == ("Complete", BLUE)
    assert rows["2"][grade] == ("A", GREEN)
    assert rows["3"][status] == ("At risk", AMBER)
    assert rows["3"][grade] == ("B", AMBER)
    assert rows["4"][status] == ("Withdrawn", GREY)
    assert rows["6"][status] == ("On track", GREEN)
    assert rows["6"][due][1] is None  # not overdue: uncoloured
    blank = actions[1 + 4]  # the blank row stays uncoloured
    assert all(text == "" for text, _ in blank[:14])
    assert {colour for _, colour in blank[:14]} == {None}


def test_shipped_template_loads_in_libreoffice(soffice, tmp_path):
    template = REPO / "workbook_templates" / "action_plan.xlsx"
    tables = lo_sheet_tables(soffice, template, tmp_path / "html")
    assert [text for text, _ in tables[1][0]][:14] == list(model.ACTION_COLUMN_NAMES)
    assert tables[0][0][0][0] == "Organisation"


def test_colour_on_a_workbook_saved_by_libreoffice(soffice, tmp_path):
    """A plan kept in LibreOffice (saved as .ods, then as .xlsx), never re-saved by Python.

    LibreOffice writes an empty drawing part into every xlsx it saves: it holds
    nothing that would be lost, so ``colour`` needs no --force.
    """
    actions = _plan_actions()
    actions[-1] = action("6", due_date=FUTURE, status="Off track")  # staff's edit
    source = write_plan(tmp_path / "plan.xlsx", PLAN, actions)
    kept = lo_convert(soffice, source, "ods", tmp_path / "ods")
    saved = lo_convert(soffice, kept, "xlsx:Calc MS Excel 2007 XML", tmp_path / "lo")
    with zipfile.ZipFile(saved) as archive:
        assert any(n.startswith("xl/drawings/drawing") for n in archive.namelist())
    before = openpyxl.load_workbook(saved)["Actions"]
    once = colour_workbook(saved, tmp_path / "once.xlsx")
    assert once.warnings == ()
    twice = colour_workbook(once.output, tmp_path / "twice.xlsx").output
    after = openpyxl.load_workbook(twice)["Actions"]
    validations = sorted(
        (str(v.sqref), v.type, v.formula1) for v in after.data_validations.dataValidation
    )
    # Every dropdown and check reaches as far as the colouring.
    first, last = once.rows.split(":")
    assert {sqref for sqref, _, _ in validations} == {
        f"{letter}{first}:{letter}{last}" for letter in "EFLMN"
    }
    assert any(t == "list" and "Lists" in f for _, t, f in validations)
    assert [[c.value for c in row] for row in after.iter_rows(max_row=8)] == [
        [c.value for c in row] for row in before.iter_rows(max_row=8)
    ]
    rule_count = sum(len(cf.rules) for cf in after.conditional_formatting)
    assert rule_count == len(COLOUR_RULES)  # one set, not two or three
    tables = lo_sheet_tables(soffice, twice, tmp_path / "html")
    rows = _rows(tables[1][1:])
    header = [text for text, _ in tables[1][0]]
    status = header.index("Status")
    assert rows["6"][status] == ("Off track", RED)
    assert rows["2"][status] == ("Complete", BLUE)
