"""The consolidated register workbook, written with xlsxwriter.

xlsxwriter writes the workbook: its styles, the Summary, and each other sheet's
settings and header row; their rows are then streamed by :mod:`xltools.sheetrows`
in the same XML, because a register of 100,000 actions has two million cells and
xlsxwriter spends about 6 µs on each.

Sheets: ``Summary`` (counts by plan against RAG, and a chart of the RAG mix),
``Register`` (every action), ``Overdue`` (oldest first), ``Due soon`` (next 28
days), ``Changes`` (since the last run) and ``Problems`` (files not read,
findings per plan). Counts are written as values, not formulas: LibreOffice
does not recalculate on open and would show zeros. Staff text is always
written as text, so ``=HYPERLINK(...)`` in a progress note stays visible text.
The file is written to a temporary name and moved into place.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from xltools import model
from xltools.cells import clean_text, column_letters
from xltools.consolidate import (
    DAYS_OVERDUE,
    RAG,
    RAG_COLUMNS,
    REGISTER_COLUMNS,
    SOURCE_FILE,
    SOURCE_ROW,
    VALIDATION,
    Consolidation,
)
from xltools.fileio import atomic_path, scratch_path
from xltools.history import CHANGE_KINDS
from xltools.sheetrows import SheetRows, stream_rows
from xltools.xlsx import new_workbook, standard_formats, write_value

# The Overdue and Due soon sheets are for chasing: the columns a chaser needs.
VIEW_COLUMNS = (
    model.ORGANISATION,
    model.PLAN_TITLE,
    model.REF,
    model.ACTION,
    model.LEAD,
    model.LEAD_EMAIL,
    model.DUE_DATE,
    DAYS_OVERDUE,
    model.STATUS,
    RAG,
    model.PROGRESS,
    model.LAST_UPDATED,
    SOURCE_FILE,
    SOURCE_ROW,
)
NO_CHANGES = "No changes since the last run (or no earlier run)."
NO_PROBLEMS = "No problems: every plan was read and passed its checks."
LIST_WIDTHS = {
    "Change": 26,
    "Plan": 36,
    "Ref": 8,
    "Action": 50,
    "Detail": 40,
    "Times slipped": 10,
    "File": 36,
    "Problem": 24,
    "Severity": 10,
    "Column": 18,
    "Value": 24,
    "Message": 70,
}
SHEETS = ("Summary", "Register", "Overdue", "Due soon", "Changes", "Problems")
WIDTHS = {
    model.ACTION: 50,
    model.AREA: 30,
    model.PROGRESS: 45,
    model.OUTCOME: 30,
    model.EVIDENCE: 30,
    VALIDATION: 50,
    model.PLAN_TITLE: 30,
    model.ORGANISATION: 24,
    model.DUE_DATE: 12,
    model.LAST_UPDATED: 12,
}


def write_register(result: Consolidation, path: str | Path) -> Path:
    """Write the register workbook for a consolidation result."""
    path = Path(path)
    streamed = [
        SheetRows("Register", REGISTER_COLUMNS, result.rows),
        SheetRows("Overdue", VIEW_COLUMNS, result.overdue),
        SheetRows("Due soon", VIEW_COLUMNS, result.due_soon),
        _change_rows(result),
        _problem_rows(result),
    ]
    with atomic_path(path) as temporary, scratch_path(path) as parts:
        # constant_memory streams rows to disk, so every sheet is written strictly
        # row by row. The streamed sheets get their header here and their rows below.
        workbook = new_workbook(parts, constant_memory=True, title="Action plan register")
        formats = standard_formats(workbook)
        _summary(workbook, formats, result)
        for sheet in streamed[:3]:
            _action_sheet(workbook, formats, sheet.name, len(sheet.rows), sheet.columns)
        for sheet, empty in zip(streamed[3:], (NO_CHANGES, NO_PROBLEMS), strict=True):
            _list_sheet(workbook, formats, sheet, empty)
        workbook.close()
        # The summary always writes text and a date, so both styles have their index now.
        text_style, date_style = formats["text"].xf_index, formats["date"].xf_index
        stream_rows(parts, temporary, streamed, text_style, date_style)
    return path


def _header(sheet, formats, headers: Sequence[str], row: int = 0) -> None:
    for column, name in enumerate(headers):
        sheet.write_string(row, column, name, formats["header"])


def _rag_colouring(sheet, formats, column: int, first_row: int, last_row: int) -> None:
    letter = column_letters(column)
    for label in model.RAG_COLOURS:
        sheet.conditional_format(
            f"{letter}{first_row + 1}:{letter}{max(last_row, first_row) + 1}",
            {"type": "cell", "criteria": "==", "value": f'"{label}"', "format": formats[label]},
        )


def _action_sheet(workbook, formats, name: str, count: int, columns: Sequence[str]) -> None:
    """A sheet of actions: its settings and header row (its rows are streamed later)."""
    sheet = workbook.add_worksheet(name)
    headers = list(columns)
    for column, header in enumerate(headers):
        sheet.set_column(column, column, WIDTHS.get(header, 14))
    _header(sheet, formats, headers)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(count, 1), len(headers) - 1)
    _rag_colouring(sheet, formats, headers.index(RAG), 1, count)


def _summary(workbook, formats, result: Consolidation) -> None:
    sheet = workbook.add_worksheet("Summary")
    sheet.set_column(0, 0, 28)
    sheet.set_column(1, 1, 36)
    sheet.set_column(2, 14, 10)
    totals = result.totals()
    sheet.write_string(0, 0, "Action plan register", formats["title"])
    lines = [
        ("Reporting date", result.reporting_date),
        ("Rule pack", result.rule_pack),
        ("Plans read", totals["plans_read"]),
        ("Files not read", totals["plans_not_read"]),
        ("Actions", totals["actions"]),
        ("Overdue", totals["overdue"]),
        (f"Due in the next {model.DUE_SOON_DAYS} days", totals["due_soon"]),
        ("Plans or files with problems", totals["problems"]),
        ("Changes since the last run", totals["changes"]),
    ]
    for offset, (label, value) in enumerate(lines, start=2):
        sheet.write_string(offset, 0, label, formats["bold"])
        write_value(sheet, offset, 1, value, formats["date"], formats["text"])
    top = len(lines) + 3
    rag_headers = [label or "No colour" for label in RAG_COLUMNS]
    headers = [
        "Organisation",
        "Plan",
        "Actions",
        *rag_headers,
        "Overdue",
        "Due soon",
        "Errors",
        "Warnings",
    ]
    _header(sheet, formats, headers, top)
    for offset, plan in enumerate(result.plans, start=1):
        row = top + offset
        values = [
            plan.organisation,
            plan.plan_title or plan.source_file,
            plan.actions,
            *(plan.rag[label] for label in RAG_COLUMNS),
            plan.overdue,
            plan.due_soon,
            plan.errors,
            plan.warnings,
        ]
        for column, value in enumerate(values):
            write_value(sheet, row, column, value, formats["date"], formats["text"])
    if result.plans:
        chart = workbook.add_chart({"type": "bar", "subtype": "stacked"})
        last = top + len(result.plans)
        for offset, label in enumerate(RAG_COLUMNS[:-1]):
            column = 3 + offset
            chart.add_series(
                {
                    "name": ["Summary", top, column],
                    "categories": ["Summary", top + 1, 1, last, 1],
                    "values": ["Summary", top + 1, column, last, column],
                    "fill": {"color": model.RAG_COLOURS[label][0]},
                    "border": {"color": model.RAG_COLOURS[label][1]},
                }
            )
        chart.set_title({"name": "RAG mix per plan"})
        chart.set_y_axis({"reverse": True})
        chart.set_size({"width": 720, "height": 120 + 28 * len(result.plans)})
        sheet.insert_chart(last + 3, 0, chart)


def _list_sheet(workbook, formats, rows: SheetRows, empty: str) -> None:
    """A sheet listing things: a frozen header row, and a line saying so if there are none."""
    sheet = workbook.add_worksheet(rows.name)
    for column, heading in enumerate(rows.columns):
        sheet.set_column(column, column, LIST_WIDTHS.get(heading, 14))
    _header(sheet, formats, rows.columns)
    sheet.freeze_panes(1, 0)
    if not rows.rows:
        sheet.write_string(1, 0, empty)


def _listed(name: str, columns: Sequence[str], lines: list[list[object]]) -> SheetRows:
    """Lines of values as rows for a listing sheet; text cleaned as every cell we write."""
    rows = [
        {
            column: clean_text(value).text if isinstance(value, str) else value
            for column, value in zip(columns, line, strict=True)
        }
        for line in lines
    ]
    return SheetRows(name, columns, rows)


def _change_rows(result: Consolidation) -> SheetRows:
    columns = ("Change", "Plan", "Ref", "Action", "Was", "Now", "Detail", "Times slipped")
    lines = [
        [
            CHANGE_KINDS.get(c.kind, c.kind),
            c.plan,
            c.ref,
            c.action,
            c.old,
            c.new,
            c.detail,
            c.times_slipped or None,
        ]
        for c in result.changes
    ]
    return _listed("Changes", columns, lines)


def _problem_rows(result: Consolidation) -> SheetRows:
    columns = ("File", "Problem", "Severity", "Cell", "Column", "Ref", "Value", "Message")
    where = result.display_path
    lines = [
        [where(path), "skipped", "", "", "", "", "", reason] for path, reason in result.skipped
    ]
    for problem in result.problems:
        if problem.kind == "unreadable":
            lines.append([where(problem.path), "not read", "error", "", "", "", "", problem.reason])
        path = where(problem.path)
        lines.extend(
            [path, f.code, f.severity, f.location(), f.column, f.ref, f.value, f.message]
            for f in problem.findings
        )
    return _listed("Problems", columns, lines)
