"""The consolidated register workbook: written with xlsxwriter, and read back.

xlsxwriter writes the workbook: its styles, the Summary, and each other sheet's
settings and header row; their rows are then streamed by :mod:`xltools.sheetrows`
in the same XML, because a register of 100,000 actions has two million cells and
xlsxwriter spends about 6 µs on each.

Sheets (named, in order, with their columns, in :mod:`xltools.register_sheets`):
``Summary`` (counts by plan against RAG, and a chart of the RAG mix),
``Register`` (every action), ``Overdue`` (oldest first), ``Due soon`` (within
``model.DUE_SOON_DAYS``), ``Changes`` (since the last run) and ``Problems``
(files not read, findings per plan). Counts are written as values, not
formulas: LibreOffice does not recalculate on open and would show zeros. Staff
text is always written as text, so ``=HYPERLINK(...)`` in a progress note stays
visible text. The file is written to a temporary name and moved into place.

:func:`read_register` reads a register workbook back into :class:`RegisterData`,
the same shape :func:`register_data` makes from a consolidation, so summaries
can be made from either.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from xltools import model
from xltools.cells import clean_text, column_letters
from xltools.fileio import atomic_path, scratch_path, writing
from xltools.findings import ERROR, WARNING, labels_in_words, tally
from xltools.history import CHANGE_KINDS, RunCounts, since_last_run
from xltools.paper import LINE_HEIGHT, PageSetup, apply_xlsxwriter, wrapped_lines
from xltools.register_sheets import (
    ACTIONS,
    CHANGE,
    CHANGE_SINCE,
    CHANGES_SHEET,
    DAYS_OVERDUE,
    DETAIL,
    DUE_SOON_SHEET,
    EARLIER_NOT_READ,
    EARLIER_SKIPPED,
    FILE,
    FILES_NOT_READ,
    LAST_RUN,
    MESSAGE,
    NO_COLOUR,
    NOT_READ,
    NOT_RETURNED_SHEET,
    NOW,
    OVERDUE_SHEET,
    PACKS_SHEET,
    PLAN,
    PLANS_READ,
    PROBLEM,
    PROBLEMS_SHEET,
    RAG,
    RAG_COLUMNS,
    REASON,
    REGISTER_SHEET,
    REGISTER_TABLE,
    REPORTING_DATE,
    REQUESTS_SHEET,
    RULE_PACK,
    SEVERITY,
    SHEETS,
    SINCE_LAST_RUN,
    SKIPPED,
    SKIPPED_SHEET,
    SOURCE_FILE,
    SUMMARY,
    SUMMARY_PLAN_COLUMNS,
    SUMMARY_SHEET,
    SUMMARY_TITLE,
    SUMMARY_TOTALS,
    TIMES_SLIPPED,
    TREND,
    TREND_DATE,
    TREND_FIGURES,
    TREND_SHEET,
    WAS,
    ChaseLists,
    Sheet,
    chase_lists,
)
from xltools.register_sheets import CELL as CELL_COLUMN
from xltools.register_sheets import COLUMN as COLUMN_COLUMN
from xltools.register_sheets import VALUE as VALUE_COLUMN
from xltools.sheetrows import SheetRows, stream_rows
from xltools.words import plural
from xltools.xlsx import new_workbook, standard_formats, write_value

if TYPE_CHECKING:
    # Only for type hints: the roll-up writes the register, not the other way round.
    from xltools.consolidate import Consolidation

Row = dict[str, object]
# The Summary's columns: labels, plan, then counts.
SUMMARY_WIDTHS = (36, 46, *([10] * 13))
# The Summary on a printed page: A4 landscape fitted to the Summary's width holds
# about this many pixels of rows and chart (at 20 pixels a row).
ROW_HEIGHT_PX = 20
PAGE_HEIGHT_PX = 820
CHART_MAX_HEIGHT = 780


def _change_rows(result: Consolidation) -> list[Row]:
    return [
        {
            CHANGE: CHANGE_KINDS.get(c.kind, c.kind),
            PLAN: c.plan,
            model.REF: c.ref,
            model.ACTION: c.action,
            WAS: c.old,
            NOW: c.new,
            DETAIL: c.detail,
            TIMES_SLIPPED: c.times_slipped or None,
        }
        for c in result.changes
    ]


def _problem_rows(result: Consolidation) -> list[Row]:
    def row(
        path: Path, problem: str, severity="", cell="", column="", ref="", value="", message=""
    ):
        return {
            FILE: result.display_path(path),
            PROBLEM: problem,
            SEVERITY: severity,
            CELL_COLUMN: cell,
            COLUMN_COLUMN: column,
            model.REF: ref,
            VALUE_COLUMN: value,
            MESSAGE: message,
        }

    rows = []
    for problem in result.problems:
        if problem.kind == "unreadable":
            rows.append(row(problem.path, NOT_READ, "error", message=problem.reason))
        for f in problem.findings:  # a finding's Problem is its catalogue label
            where = (f.location(), f.column, f.ref, f.value, f.message)
            rows.append(row(problem.path, f.label, f.severity, *where))
    return rows


def _skipped_rows(result: Consolidation) -> list[Row]:
    return [{FILE: result.display_path(path), REASON: reason} for path, reason in result.skipped]


def _trend_rows(result: Consolidation) -> list[Row]:
    return [trend_row(counts) for counts in result.trend]


def trend_row(counts: RunCounts) -> Row:
    """One run's counts as a row of the Trend sheet."""
    row: Row = {TREND_DATE: counts.reporting_date}
    row.update((label, counts.figure(name)) for label, name in TREND_FIGURES)
    row.update((label or NO_COLOUR, counts.rag.get(label, 0)) for label in RAG_COLUMNS)
    return row


# The rows of each sheet but the Summary, by sheet name: a new sheet adds its function here.
SHEET_ROWS: dict[str, Callable[[Consolidation], Sequence[Row]]] = {
    TREND_SHEET: _trend_rows,
    REGISTER_SHEET: lambda result: result.rows,
    OVERDUE_SHEET: lambda result: result.overdue,
    DUE_SOON_SHEET: lambda result: result.due_soon,
    CHANGES_SHEET: _change_rows,
    NOT_RETURNED_SHEET: lambda result: result.carried,
    PROBLEMS_SHEET: _problem_rows,
    SKIPPED_SHEET: _skipped_rows,
    PACKS_SHEET: lambda result: result.loop.pack_rows,
    REQUESTS_SHEET: lambda result: result.loop.request_rows,
}


def write_register(result: Consolidation, path: str | Path) -> Path:
    """Write the register workbook for a consolidation result."""
    path = Path(path)
    sheets = [sheet for sheet in SHEETS if result.loop is not None or not sheet.weekly_loop]
    streamed = [
        SheetRows(
            sheet.name,
            sheet.columns,
            _sheet_rows(sheet, result),
            {column: sheet.width(column) for column in sheet.columns},
        )
        for sheet in sheets
        if sheet.kind != SUMMARY
    ]
    with writing(path), atomic_path(path) as temporary, scratch_path(path) as parts:
        # The streamed sheets get their header here and their rows below. (Not
        # constant_memory: xlsxwriter writes an Excel Table only with the sheet in
        # memory, and here that is the Summary and a header row a sheet.)
        workbook = new_workbook(parts, title=SUMMARY_TITLE)
        formats = standard_formats(workbook)
        page = PageSetup(SUMMARY_TITLE, result.reporting_date)
        rows = iter(streamed)
        for sheet in sheets:
            if sheet.kind == SUMMARY:
                _summary(workbook, formats, sheet, result, page)
            else:
                _sheet(workbook, formats, sheet, len(next(rows).rows), page)
        workbook.close()
        # Every streamed column is formatted wrap or date, so both styles have their
        # index now. Text wraps, so it prints whole (rows grow to fit when opened).
        text_style, date_style = formats["wrap"].xf_index, formats["date"].xf_index
        stream_rows(parts, temporary, streamed, text_style, date_style)
    return path


def _sheet_rows(sheet: Sheet, result: Consolidation) -> Sequence[Row]:
    rows = SHEET_ROWS[sheet.name](result)
    if sheet.kind == ACTIONS:
        return rows  # staff text in action rows was cleaned when the roll-up made them
    # Listings are made here: their text is cleaned as every cell we write.
    return [
        {column: clean_text(v).text if isinstance(v, str) else v for column, v in row.items()}
        for row in rows
    ]


def _header(
    sheet, formats, headers: Sequence[str], row: int = 0, widths: Sequence[int] = ()
) -> None:
    """A header row; given the columns' widths, tall enough for headings that wrap."""
    for column, name in enumerate(headers):
        sheet.write_string(row, column, name, formats["header"])
    lines = max((wrapped_lines(n, w) for n, w in zip(headers, widths, strict=False)), default=1)
    if lines > 1:
        sheet.set_row(row, LINE_HEIGHT * lines)


def _rag_colouring(sheet, formats, column: int, first_row: int, last_row: int) -> None:
    letter = column_letters(column)
    for label in model.RAG_COLOURS:
        sheet.conditional_format(
            f"{letter}{first_row + 1}:{letter}{max(last_row, first_row) + 1}",
            {"type": "cell", "criteria": "==", "value": f'"{label}"', "format": formats[label]},
        )


def _sheet(workbook, formats, sheet: Sheet, count: int, page: PageSetup) -> None:
    """A streamed sheet's settings and header row (its rows are streamed later).

    Actions sheets get a filter and RAG colours (the Register's filter is its Excel
    Table's); a sheet with nothing to list says so on its second row. Every sheet
    prints on A4 landscape, fitted to the width, its header row on every page.
    """
    worksheet = workbook.add_worksheet(sheet.name)
    headers = list(sheet.columns)
    for column, header in enumerate(headers):
        # Dates carry their own format, cell by cell; everything else wraps.
        worksheet.set_column(column, column, sheet.width(header), formats["wrap"])
    _header(worksheet, formats, headers, 0, [sheet.width(header) for header in headers])
    worksheet.freeze_panes(1, 0)
    if sheet.name == REGISTER_SHEET:
        # An Excel Table, so Power Query, pivot tables and slicers take it at once; its
        # own filter buttons replace the sheet's (Excel repairs a file with both).
        worksheet.add_table(
            0,
            0,
            1,  # the header and one row: stream_rows stretches it over every row
            len(headers) - 1,
            {
                "name": REGISTER_TABLE,
                "style": "Table Style Light 1",
                "columns": [{"header": h, "header_format": formats["header"]} for h in headers],
            },
        )
    elif sheet.kind == ACTIONS:
        worksheet.autofilter(0, 0, max(count, 1), len(headers) - 1)
    if sheet.kind == ACTIONS and RAG in headers:
        _rag_colouring(worksheet, formats, headers.index(RAG), 1, count)
    if not count and sheet.empty:
        worksheet.write_string(1, 0, sheet.empty)
    # Cell borders print for lists; not on the Trend sheet, where they would run through
    # its chart.
    gridlines = sheet.kind != TREND
    apply_xlsxwriter(worksheet, PageSetup(page.name, page.reporting_date, gridlines=gridlines))
    if sheet.pages_wide > 1:
        worksheet.fit_to_pages(sheet.pages_wide, 0)
        worksheet.print_across()  # a row's two halves on facing pages, not 20 pages apart
    if sheet.kind == TREND and count:
        _trend_chart(workbook, worksheet, sheet, count)


def _trend_chart(workbook, worksheet, sheet: Sheet, count: int) -> None:
    """Lines of the open, overdue, due-soon and slipped actions, run by run, beside the table."""
    chart = workbook.add_chart({"type": "line"})
    dashes = {False: "solid", True: "dash"}
    colours = {"Overdue": "#C00000", "Due soon": "#C65911", "Slipped": "#7030A0", "Open": "#1F4E78"}
    for label, colour in colours.items():
        column = sheet.columns.index(label)
        chart.add_series(
            {
                "name": [sheet.name, 0, column],
                "categories": [sheet.name, 1, 0, count, 0],
                "values": [sheet.name, 1, column, count, column],
                "line": {"color": colour, "width": 2.25, "dash_type": dashes[label == "Open"]},
                "marker": {"type": "circle", "size": 5, "fill": {"color": colour},
                           "border": {"color": colour}},
                # Open actions are many more than the rest: on an axis of their own.
                "y2_axis": label == "Open",
            }
        )  # fmt: skip
    chart.set_title({"name": "Overdue, due soon and slipped actions, run by run"})
    # One point per run, evenly spaced and labelled with its date (not a calendar axis).
    chart.set_x_axis({"text_axis": True, "num_format": "dd/mm/yyyy"})
    chart.set_y_axis({"min": 0, "name": "Actions", "major_gridlines": {"visible": True}})
    chart.set_y2_axis({"min": 0, "name": "Open actions (dashed)"})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 760, "height": 360})
    # Below the table, so the two print one after the other, never side by side and cut.
    worksheet.insert_chart(count + 3, 0, chart)


def _summary(workbook, formats, spec: Sheet, result: Consolidation, page: PageSetup) -> None:
    """Headline figures (with the last run's beside them), counts per plan, the RAG chart."""
    sheet = workbook.add_worksheet(spec.name)
    for column, width in enumerate(SUMMARY_WIDTHS):
        sheet.set_column(column, column, width)
    totals = result.totals()
    sheet.write_string(0, 0, SUMMARY_TITLE, formats["title"])
    lines = [
        (REPORTING_DATE, result.reporting_date),
        (RULE_PACK, result.rule_pack),
        *((label, totals[key]) for label, key in SUMMARY_TOTALS),
    ]
    before = result.previous_counts
    # A long label wraps (the figure beside it would cut it), its row tall enough.
    label_format = workbook.add_format({"bold": True, "text_wrap": True, "valign": "top"})
    for offset, (label, value) in enumerate(lines, start=2):
        sheet.write_string(offset, 0, label, label_format)
        write_value(sheet, offset, 1, value, formats["date"], formats["text"])
        if wrapped_lines(label, SUMMARY_WIDTHS[0]) > 1:
            sheet.set_row(offset, LINE_HEIGHT * wrapped_lines(label, SUMMARY_WIDTHS[0]))
        if before is None:
            continue
        # Beside the figures, with a column's gap: the last run's, and the change.
        if label == REPORTING_DATE:
            sheet.write_string(offset - 1, 3, LAST_RUN, formats["bold"])
            write_value(sheet, offset, 3, before.reporting_date, formats["date"])
            sheet.write_string(offset - 1, 5, CHANGE_SINCE, formats["bold"])
        elif label in SINCE_LAST_RUN:
            then = before.figure(SINCE_LAST_RUN[label])
            write_value(sheet, offset, 3, then, formats["date"], formats["text"])
            sheet.write_string(offset, 5, _since(then, value), formats["text"])
    top = len(lines) + 3
    _header(sheet, formats, SUMMARY_PLAN_COLUMNS, top, SUMMARY_WIDTHS)
    label_column = len(SUMMARY_PLAN_COLUMNS) + 1
    sheet.set_column(label_column, label_column, 60, None, {"hidden": True})
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
        # The chart's label for the plan, in a hidden column: its organisation and title.
        label = ": ".join(t for t in (plan.organisation, plan.plan_title or plan.source_file) if t)
        write_value(sheet, row, label_column, label, formats["date"], formats["text"])
    last = top + len(result.plans)
    # A long table of plans goes on over pages: its header row at the top of each.
    apply_xlsxwriter(sheet, PageSetup(page.name, page.reporting_date, repeat_rows=(top, top)))
    if not result.plans:
        return
    chart = workbook.add_chart({"type": "bar", "subtype": "stacked"})
    for offset, label in enumerate(RAG_COLUMNS):
        column = 3 + offset
        # No colour too (Not started, no grade): white bars with a grey edge.
        fill, edge = model.RAG_COLOURS.get(label, ("#FFFFFF", "#7F7F7F"))
        chart.add_series(
            {
                "name": [spec.name, top, column],
                "categories": [spec.name, top + 1, label_column, last, label_column],
                "values": [spec.name, top + 1, column, last, column],
                "fill": {"color": fill},
                "border": {"color": edge},
            }
        )
    chart.show_hidden_data()  # the labels' column is hidden
    chart.set_title({"name": "RAG mix per plan"})
    chart.set_y_axis({"reverse": True})
    chart.set_legend({"position": "bottom"})
    # At most a printed page tall: a long list of plans gets thinner bars.
    height = min(140 + 28 * len(result.plans), CHART_MAX_HEIGHT)
    chart.set_size({"width": 900, "height": height})
    sheet.insert_chart(last + 2, 0, chart)
    # The chart starts a page of its own unless the figures, table and chart fit on one,
    # so neither the table nor the chart is split by the page break.
    if (last + 2) * ROW_HEIGHT_PX + height > PAGE_HEIGHT_PX:
        sheet.set_h_pagebreaks([last + 2])


def _since(then: object, now: object) -> str:
    """A change in words and figures: "up 5 (8 → 13)", "down 2 (9 → 7)", "no change"."""
    if not isinstance(then, int) or not isinstance(now, int):
        return ""
    if then == now:
        return f"no change ({now})"
    return f"{'up' if now > then else 'down'} {abs(now - then)} ({then} → {now})"


# --------------------------------------------------------------------------
# The register's contents, from a consolidation or read back from the workbook
# --------------------------------------------------------------------------
@dataclass
class RegisterData:
    """What the summaries use of a register: from a consolidation, or read from its workbook.

    ``plans`` are dicts (organisation, title, actions, rag counts, overdue);
    ``changes`` dicts (kind, label, plan, ref, action, old, new, detail);
    ``problems`` dicts (see :func:`problem_view`), plans with errors and files not read
    before plans with warnings only; ``skipped`` dicts (file, reason) for the files the
    search passed over, which are not problems. ``chase`` (the overdue and due-soon rows)
    is made from the rows by :func:`register_sheets.chase_lists` unless given.
    """

    reporting_date: dt.date
    rows: list[Row]
    plans: list[dict[str, object]]
    changes: list[dict[str, str]]
    problems: list[dict[str, str]]
    totals: dict[str, int] = field(default_factory=dict)
    chase: ChaseLists | None = None
    loop: object | None = None  # packs.LoopStatus, when the roll-up was given the pack folder
    skipped: list[dict[str, str]] = field(default_factory=list)
    # Each run's headline counts from the history (the Trend sheet), this run last.
    trend: list[RunCounts] = field(default_factory=list)

    def since_last_run(self) -> dict[str, tuple[int, int]]:
        """Each headline count at the last run and now: ``{"overdue": (8, 13), ...}``."""
        return since_last_run(self.trend, self.reporting_date)

    def __post_init__(self) -> None:
        if self.chase is None:
            self.chase = chase_lists(self.rows, self.reporting_date)

    @property
    def overdue(self) -> list[Row]:
        return self.chase.overdue

    @property
    def due_soon(self) -> list[Row]:
        return self.chase.due_soon


def register_data(result: Consolidation) -> RegisterData:
    """The register's contents straight from a consolidation (no workbook read)."""
    plans = [
        {
            "organisation": p.organisation,
            "title": p.plan_title or p.source_file,
            "actions": p.actions,
            "rag": dict(p.rag),
            "overdue": p.overdue,
        }
        for p in result.plans
    ]
    changes = [
        {
            "kind": c.kind,
            "label": CHANGE_KINDS.get(c.kind, c.kind),
            "plan": c.plan,
            "ref": c.ref,
            "action": c.action,
            "old": c.old,
            "new": c.new,
            "detail": c.detail,
        }
        for c in result.changes
    ]
    problems = [
        problem_view(
            result.display_path(p.path),
            p.reason if p.kind == "unreadable" else None,
            ((f.label, f.severity) for f in p.findings),
        )
        for p in result.problems
    ]
    # Files not read and plans with errors first, then plans with warnings only.
    problems.sort(key=lambda problem: problem["kind"] == "warnings")
    skipped = [{"file": result.display_path(p), "reason": r} for p, r in result.skipped]
    return RegisterData(
        result.reporting_date,
        result.rows,
        plans,
        changes,
        problems,
        result.totals(),
        result.chase,
        result.loop,
        skipped,
        result.trend,
    )


# The findings met most that the digest names for each plan.
PROBLEM_TOP = 3


def problem_view(
    file: str, unreadable: str | None = None, found: Iterable[tuple[str, str]] = ()
) -> dict[str, object]:
    """One file's problems as the digest shows them: a file not read and why, or a
    plan's counts of errors and warnings and the findings met most (label, count).

    ``kind`` is "unreadable", "errors" or "warnings" (a plan with warnings only is not
    called a problem).
    """
    errors, warnings, labels = tally(found)
    if unreadable is not None:
        kind, reason = "unreadable", unreadable
    else:
        kind = "errors" if errors else "warnings"
        counts = [plural(errors, "error")] if errors else []
        reason = ", ".join([*counts, *([plural(warnings, "warning")] if warnings else [])])
    return {
        "file": file,
        "kind": kind,
        "reason": reason,
        "errors": errors,
        "warnings": warnings,
        "top": labels[:PROBLEM_TOP],
        "more_kinds": max(0, len(labels) - PROBLEM_TOP),
        "found": labels_in_words(labels, PROBLEM_TOP),  # "Date is not a date (2), ..."
    }


def read_register(path: str | Path) -> RegisterData:
    """Read a register workbook written by ``consolidate`` back into its contents."""
    from xltools.errors import UnreadableWorkbook
    from xltools.read import SafeWorkbook

    path = Path(path)
    wanted = (SUMMARY_SHEET, REGISTER_SHEET, CHANGES_SHEET, PROBLEMS_SHEET)
    workbook = SafeWorkbook(
        path, (*wanted, PACKS_SHEET, REQUESTS_SHEET, SKIPPED_SHEET, TREND_SHEET)
    )
    if not set(wanted) <= set(workbook.sheet_names):
        raise UnreadableWorkbook("this is not a register written by 'xltools consolidate'", path)

    def table(name: str) -> list[Row]:
        rows = [row for row in workbook.rows(name) if any(v != "" for v in row)]
        if not rows:
            return []
        header = [str(h) for h in rows[0]]
        return [dict(zip(header, row, strict=False)) for row in rows[1:]]

    summary_rows = workbook.rows(SUMMARY_SHEET)
    labels = {row[0]: row[1] for row in summary_rows if row and isinstance(row[0], str)}
    reporting_date = labels.get(REPORTING_DATE)
    if isinstance(reporting_date, dt.datetime):
        reporting_date = reporting_date.date()
    if not isinstance(reporting_date, dt.date):
        raise UnreadableWorkbook("the register's Summary sheet has no reporting date", path)

    rows = []
    for row in table(REGISTER_SHEET):
        for column in model.DATE_COLUMNS:
            if isinstance(row.get(column), dt.datetime):
                row[column] = row[column].date()
        for column in (model.REF, model.GRADE):
            value = row.get(column)
            if isinstance(value, float):
                row[column] = str(int(value)) if value.is_integer() else str(value)
        row[DAYS_OVERDUE] = int(row[DAYS_OVERDUE]) if row.get(DAYS_OVERDUE) else None
        rows.append(row)
    labels_to_kinds = {label: kind for kind, label in CHANGE_KINDS.items()}
    changes = [
        {
            "kind": labels_to_kinds.get(str(c.get(CHANGE)), ""),
            "label": str(c.get(CHANGE) or ""),
            "plan": str(c.get(PLAN) or ""),
            "ref": str(c.get(model.REF) or ""),
            "action": str(c.get(model.ACTION) or ""),
            "old": str(c.get(WAS) or ""),
            "new": str(c.get(NOW) or ""),
            "detail": str(c.get(DETAIL) or ""),
        }
        for c in table(CHANGES_SHEET)
        if c.get(PLAN)
    ]
    # Each file in the order of the sheet: why it was not read, or its findings.
    not_read: dict[str, str | None] = {}
    found: dict[str, list[tuple[str, str]]] = {}  # each file's findings: (label, severity)
    skipped: list[dict[str, str]] = []
    if SKIPPED_SHEET in workbook.sheet_names:
        skipped = [
            {"file": str(s.get(FILE)), "reason": str(s.get(REASON) or "")}
            for s in table(SKIPPED_SHEET)
            if s.get(REASON)  # the "No files were skipped" line has no reason
        ]
    for problem in table(PROBLEMS_SHEET):
        file = str(problem.get(FILE) or "")
        kind = str(problem.get(PROBLEM) or "")
        if not file or not kind:
            continue  # the "No problems" line of an empty sheet has no Problem
        if kind in (SKIPPED, EARLIER_SKIPPED):  # a register from before the Skipped sheet
            skipped.append({"file": file, "reason": str(problem.get(MESSAGE) or "")})
        elif kind in (NOT_READ, EARLIER_NOT_READ):
            not_read[file] = str(problem.get(MESSAGE) or "")
        else:
            severity = ERROR if problem.get(SEVERITY) == ERROR else WARNING
            not_read.setdefault(file, None)
            found.setdefault(file, []).append((kind, severity))
    problems = [problem_view(file, why, found.get(file, ())) for file, why in not_read.items()]
    # Files not read and plans with errors first, then plans with warnings only.
    problems.sort(key=lambda problem: problem["kind"] == "warnings")
    plans = _plans_from_rows(rows)
    totals = {
        key: int(labels[label])
        for label, key in SUMMARY_TOTALS
        if isinstance(labels.get(label), int | float)
    }
    totals |= {
        "plans_read": int(labels.get(PLANS_READ) or len(plans)),
        "plans_not_read": int(labels.get(FILES_NOT_READ) or 0),
        "actions": len(rows),
    }
    loop = None
    if PACKS_SHEET in workbook.sheet_names and REQUESTS_SHEET in workbook.sheet_names:
        from xltools.packs import loop_from_sheets

        loop = loop_from_sheets(table(PACKS_SHEET), table(REQUESTS_SHEET))
    return RegisterData(
        reporting_date,
        rows,
        plans,
        changes,
        problems,
        totals,
        loop=loop,
        skipped=skipped,
        trend=_trend_from_rows(table(TREND_SHEET)) if TREND_SHEET in workbook.sheet_names else [],
    )


def _trend_from_rows(rows: list[Row]) -> list[RunCounts]:
    """The Trend sheet read back (the line shown when there is no history is not a row)."""
    trend = []
    for row in rows:
        date = row.get(TREND_DATE)
        if not isinstance(date, dt.date):
            continue
        figures = {name: int(row.get(label) or 0) for label, name in TREND_FIGURES}
        rag = {label: int(row.get(label or NO_COLOUR) or 0) for label in RAG_COLUMNS}
        day = date.date() if isinstance(date, dt.datetime) else date
        trend.append(RunCounts(day, rag=rag, **figures))
    return trend


def _plans_from_rows(rows: list[Row]) -> list[dict[str, object]]:
    plans: dict[str, dict[str, object]] = {}
    for row in rows:
        key = str(row.get(SOURCE_FILE))
        plan = plans.setdefault(
            key,
            {
                "organisation": str(row.get(model.ORGANISATION) or ""),
                "title": str(row.get(model.PLAN_TITLE) or key),
                "actions": 0,
                "rag": dict.fromkeys(RAG_COLUMNS, 0),
                "overdue": 0,
            },
        )
        plan["actions"] += 1
        plan["rag"][str(row.get(RAG) or "")] += 1
        plan["overdue"] += 1 if row.get(DAYS_OVERDUE) else 0
    return list(plans.values())
