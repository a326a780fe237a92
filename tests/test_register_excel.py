"""The register as Excel users meet it: a Table, a Trend with its chart, staff's own columns."""

from __future__ import annotations

import datetime as dt
import re
import zipfile

import openpyxl
import pytest
from conftest import PLAN, action, edit_actions

from xltools import model
from xltools.consolidate import consolidate
from xltools.history import History, RunCounts, Snapshot
from xltools.register import read_register, write_register
from xltools.register_sheets import OTHER_COLUMNS, REGISTER_COLUMNS
from xltools.sheetrows import sheet_parts
from xltools.template import write_plan

WEEKS = (dt.date(2003, 11, 10), dt.date(2003, 11, 17), dt.date(2003, 11, 24))


@pytest.fixture
def inbox(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_plan(
        inbox / "argyll.xlsx",
        PLAN,
        [
            action("1.9", due_date=dt.date(2003, 11, 14)),  # overdue from the second week
            action("1.10", due_date=dt.date(2003, 12, 31), status="At risk"),
            action("2", due_date=dt.date(2003, 11, 20), status="Not started"),  # no colour
            action("3", due_date=dt.date(2003, 9, 30), status="Complete", grade="A"),
        ],
        extra_columns=["Budget code", "Link"],
    )
    book = openpyxl.load_workbook(inbox / "argyll.xlsx")
    sheet = book["Actions"]
    sheet["O2"], sheet["P2"] = "4410", "https://intranet.example.gov.uk/pmp/1.9"
    sheet["O4"] = 4420  # typed as a number
    book.save(inbox / "argyll.xlsx")
    write_plan(
        inbox / "brent.xlsx",
        {**PLAN, model.ORGANISATION: "Brent Council", model.PLAN_TITLE: "PD review"},
        [action("66", due_date=dt.date(2004, 3, 31)), action("67", status="Withdrawn")],
    )
    return inbox


def _three_weeks(inbox, history):
    """Three weekly runs: in the third, action 1.10 slips and 66 is complete."""
    results = [consolidate(inbox, WEEKS[0], history=history)]
    results.append(consolidate(inbox, WEEKS[1], history=history))
    edit_actions(inbox / "argyll.xlsx", [("1.10", "Due date", dt.datetime(2004, 1, 31))])
    edit_actions(inbox / "brent.xlsx", [("66", "Status", "Complete")])
    results.append(consolidate(inbox, WEEKS[2], history=history))
    return results


def test_register_sheet_is_an_excel_table(inbox, tmp_path):
    result = consolidate(inbox, WEEKS[0])
    path = write_register(result, tmp_path / "register.xlsx")
    sheet = openpyxl.load_workbook(path)["Register"]
    table = sheet.tables["Register"]
    last = openpyxl.utils.get_column_letter(len(REGISTER_COLUMNS))
    assert table.ref == f"A1:{last}{len(result.rows) + 1}"
    assert table.headerRowCount in (None, 1)  # 1 is the default, left out of the XML
    assert [column.name for column in table.tableColumns] == list(REGISTER_COLUMNS)
    assert [c.value for c in sheet[1]] == list(REGISTER_COLUMNS)
    assert table.autoFilter is not None and table.autoFilter.ref == table.ref
    # The table part itself, as Excel reads it; and no second filter on the sheet.
    with zipfile.ZipFile(path) as archive:
        part = sheet_parts(archive)["Register"]
        sheet_xml = archive.read(part).decode()
        rels = archive.read(part.replace("worksheets/", "worksheets/_rels/") + ".rels").decode()
        target = re.search(r'Target="\.\./tables/(table\d+\.xml)"', rels).group(1)
        table_xml = archive.read(f"xl/tables/{target}").decode()
    assert "<autoFilter" not in sheet_xml and "<tablePart " in sheet_xml
    assert 'name="Register"' in table_xml and 'displayName="Register"' in table_xml
    assert f'<autoFilter ref="A1:{last}{len(result.rows) + 1}"' in table_xml


def test_staff_own_columns_reach_the_register(inbox, tmp_path):
    result = consolidate(inbox, WEEKS[0])
    others = {row[model.REF]: row[OTHER_COLUMNS] for row in result.rows}
    assert others["1.9"] == "Budget code: 4410; Link: https://intranet.example.gov.uk/pmp/1.9"
    assert others["2"] == "Budget code: 4420"
    assert others["1.10"] is None and others["66"] is None
    path = write_register(result, tmp_path / "register.xlsx")
    sheet = openpyxl.load_workbook(path)["Register"]
    header = [c.value for c in sheet[1]]
    column = header.index(OTHER_COLUMNS) + 1
    refs = {sheet.cell(r, header.index("Ref") + 1).value: r for r in range(2, sheet.max_row + 1)}
    assert sheet.cell(refs["2"], column).value == "Budget code: 4420"
    assert refs["1.10"] and "1.1" not in refs  # the Ref stays text


def test_trend_after_three_weeks(inbox, tmp_path):
    results = _three_weeks(inbox, tmp_path / "h.sqlite")
    third = results[-1]
    assert [c.reporting_date for c in third.trend] == list(WEEKS)
    assert [c.overdue for c in third.trend] == [0, 1, 2]  # 1.9 from 14/11, 2 from 20/11
    assert [c.slipped for c in third.trend] == [0, 0, 1]
    assert [c.complete for c in third.trend] == [1, 1, 2]
    assert [c.open for c in third.trend] == [4, 4, 3]  # Withdrawn and Complete are not open
    assert third.trend[-1].rag == {"Red": 2, "Amber": 1, "Green": 0, "Blue": 2, "Grey": 1, "": 0}
    assert third.trend[0].rag[""] == 1  # Not started with no grade: no colour, counted
    assert third.since_last_run()["overdue"] == (1, 2)
    assert third.previous_counts.reporting_date == WEEKS[1]

    path = write_register(third, tmp_path / "register.xlsx")
    book = openpyxl.load_workbook(path)
    trend = [row for row in book["Trend"].iter_rows(values_only=True)]
    assert trend[0][:7] == ("Reporting date", "Actions", "Open", "Overdue", "Due soon",
                            "Complete", "Slipped")  # fmt: skip
    assert [row[0].date() for row in trend[1:]] == list(WEEKS)
    assert [row[3] for row in trend[1:]] == [0, 1, 2]
    assert trend[0][-1] == "No colour"
    # The Summary sets this run beside the last: "up 1 (1 → 2)".
    summary = list(book["Summary"].iter_rows(values_only=True))
    overdue = next(row for row in summary if row[0] == "Overdue")
    assert (overdue[1], overdue[3], overdue[5]) == (2, 1, "up 1 (1 → 2)")
    assert any(row[3] == "Last run" for row in summary)
    # The Trend's chart: a line chart drawn from the Trend sheet.
    with zipfile.ZipFile(path) as archive:
        charts = {n: archive.read(n).decode() for n in archive.namelist() if "charts/chart" in n}
    line = [xml for xml in charts.values() if "<c:lineChart>" in xml]
    assert len(line) == 1 and "Trend!$D$2:$D$4" in line[0]
    # The digest reads the same trend back from the workbook.
    assert read_register(path).trend == [
        RunCounts(c.reporting_date, c.actions, c.open, c.overdue, c.due_soon, c.complete,
                  c.slipped, c.rag)
        for c in third.trend
    ]  # fmt: skip
    assert read_register(path).since_last_run()["overdue"] == (1, 2)


def test_rag_chart_counts_no_colour_and_names_organisations(inbox, tmp_path):
    path = write_register(consolidate(inbox, WEEKS[0]), tmp_path / "register.xlsx")
    with zipfile.ZipFile(path) as archive:
        bar = next(
            archive.read(n).decode()
            for n in archive.namelist()
            if "charts/chart" in n and "<c:barChart>" in archive.read(n).decode()
        )
    assert bar.count("<c:ser>") == 6  # red, amber, green, blue, grey and no colour
    assert "No colour" in bar
    assert "Argyll and Bute Council: PMP audit improvement plan" in bar
    assert "Brent Council: PD review" in bar


def test_without_history_the_trend_says_so(inbox, tmp_path):
    result = consolidate(inbox, WEEKS[0])
    assert result.trend == [] and result.since_last_run() == {}
    book = openpyxl.load_workbook(write_register(result, tmp_path / "register.xlsx"))
    assert book["Trend"]["A2"].value.startswith("No history yet")


def test_runs_recorded_before_counts_were_kept_are_worked_out(tmp_path):
    """A history from before the Trend: its runs' counts come from their snapshots."""

    def snap(ref, status, due):
        return Snapshot("P", ref, "Org", "Plan", "Do it", "Lead", status, due, "")

    with History(tmp_path / "h.sqlite") as store:
        store.store(WEEKS[0], [snap("1", "On track", dt.date(2003, 12, 1))], 1)
        store.store(
            WEEKS[1],
            [snap("1", "On track", dt.date(2003, 11, 12)), snap("2", "Complete", None)],
            1,
        )
        trend = store.trend(WEEKS[1])
    assert [c.estimated for c in trend] == [True, True]
    assert [(c.actions, c.open, c.overdue, c.complete) for c in trend] == [
        (1, 1, 0, 0),
        (2, 1, 1, 1),
    ]
    assert trend[1].slipped == 0  # brought forward, not slipped
    assert trend[1].rag["Red"] == 1 and trend[1].rag["Blue"] == 1
