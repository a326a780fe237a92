"""The standard plan workbook (template version 1), written with xlsxwriter.

``write_plan`` writes the workbook staff fill in: the ``Plan`` sheet, the
``Actions`` sheet with dropdowns, date and email validation, live RAG colouring
and print setup, the ``Guidance`` sheet, and the hidden ``Lists`` sheet the
dropdowns read. ``xltools new`` writes it empty; ``xltools import`` and the
examples write it with actions already in. The file is written to a temporary
name and moved into place, and the same input gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path

from xltools import model, styles
from xltools.cells import column_letters
from xltools.fileio import atomic_path
from xltools.paper import LINE_HEIGHT, PageSetup, apply_xlsxwriter, wrapped_lines
from xltools.xlsx import new_workbook, standard_formats, write_value

DEFAULT_ROWS = 500  # rows prepared with dropdowns, validation and colouring
UNTITLED = "Improvement action plan"  # the page header of a plan with no title yet
EARLIEST_DATE = dt.date(2000, 1, 1)
LATEST_DATE = dt.date(2100, 12, 31)


def write_plan(
    path: str | Path,
    plan: Mapping[str, object] | None = None,
    actions: Sequence[Mapping[str, object]] = (),
    extra_columns: Sequence[str] = (),
    prepared_rows: int = DEFAULT_ROWS,
) -> Path:
    """Write a standard plan workbook to ``path`` and return it.

    ``plan`` maps Plan labels (``model.PLAN_LABELS``) to values; ``actions`` are
    mappings from Actions column names (and ``extra_columns``) to values.
    """
    path = Path(path)
    plan = dict(plan or {})
    plan[model.TEMPLATE_VERSION_LABEL] = model.TEMPLATE_VERSION
    with atomic_path(path) as temporary:
        workbook = new_workbook(
            temporary, title=str(plan.get(model.PLAN_TITLE) or "Improvement action plan")
        )
        formats = standard_formats(workbook)
        # Text cells that must stay text when staff type into them (1.10 is not 1.1).
        formats["text_only"] = workbook.add_format(
            {"text_wrap": True, "valign": "top", "num_format": "@"}
        )
        page = _page(plan)
        _write_plan_sheet(workbook, formats, plan, page)
        _write_actions_sheet(
            workbook, formats, actions, list(extra_columns), max(prepared_rows, len(actions)), page
        )
        _write_guidance_sheet(workbook, formats, page)
        write_lists_sheet(workbook, formats)
        workbook.get_worksheet_by_name(model.ACTIONS_SHEET).activate()
        workbook.close()
    return path


def _page(plan: Mapping[str, object]) -> PageSetup:
    """The page header every sheet of this plan prints: its title and reporting date."""
    title = plan.get(model.PLAN_TITLE)
    organisation = plan.get(model.ORGANISATION)
    name = str(title).strip() if title else UNTITLED
    if organisation:
        name = f"{str(organisation).strip()}: {name}"
    date = plan.get(model.REPORTING_DATE)
    if isinstance(date, dt.datetime):
        date = date.date()
    return PageSetup(name=name, reporting_date=date if isinstance(date, dt.date) else None)


def _write_plan_sheet(workbook, formats: dict, plan: Mapping[str, object], page) -> None:
    sheet = workbook.add_worksheet(model.PLAN_SHEET)
    apply_xlsxwriter(
        sheet, PageSetup(page.name, page.reporting_date, landscape=False, repeat_rows=None)
    )
    sheet.set_column(0, 0, 20, formats["label"])
    sheet.set_column(1, 1, 60, formats["wrap"])
    for row, label in enumerate(model.PLAN_LABELS):
        sheet.write_string(row, 0, label, formats["label"])
        write_value(sheet, row, 1, plan.get(label), formats["date"], formats["wrap"])
        lines = wrapped_lines(plan.get(label), 60)
        if lines > 1:
            sheet.set_row(row, min(LINE_HEIGHT * lines, 409))
    sheet.data_validation(
        model.PLAN_LABELS.index(model.REPORTING_DATE),
        1,
        model.PLAN_LABELS.index(model.REPORTING_DATE),
        1,
        date_validation(model.REPORTING_DATE),
    )


def date_validation(name: str) -> dict:
    """A date cell's validation: a real date between 2000 and 2100."""
    return {
        "validate": "date",
        "criteria": "between",
        "minimum": EARLIEST_DATE,
        "maximum": LATEST_DATE,
        "input_title": name[:32],
        "input_message": "Enter a date such as 31/03/2004.",
        "error_title": "Not a date",
        "error_message": f"{name} must be a date between 2000 and 2100, such as 31/03/2004. "
        "Write anything else in Timescale.",
    }


def _column_format(formats: dict, name: str):
    if name in model.DATE_COLUMNS:
        return formats["date"]
    return formats["text_only"] if name == model.REF else formats["wrap"]


def _write_actions_sheet(
    workbook,
    formats: dict,
    actions: Sequence[Mapping[str, object]],
    extra_columns,
    rows: int,
    page: PageSetup,
) -> None:
    sheet = workbook.add_worksheet(model.ACTIONS_SHEET)
    headers = [*model.ACTION_COLUMN_NAMES, *extra_columns]
    letters = {name: column_letters(i) for i, name in enumerate(headers)}
    last_row = rows  # 0-based index of the last prepared row (row 1 is the header)

    for index, name in enumerate(headers):
        column = model.COLUMNS_BY_NAME.get(name)
        width = column.width if column else 24
        sheet.set_column(index, index, width, _column_format(formats, name))
        sheet.write_string(0, index, name, formats["header"])

    widths = [
        model.COLUMNS_BY_NAME[name].width if name in model.COLUMNS_BY_NAME else 24
        for name in headers
    ]
    for row, action in enumerate(actions, start=1):
        for index, name in enumerate(headers):
            value = action.get(name)
            write_value(sheet, row, index, value, formats["date"], _column_format(formats, name))
        # Spreadsheets do not grow rows for wrapped text on opening: size them here.
        lines = max(
            (wrapped_lines(action.get(name), w) for name, w in zip(headers, widths, strict=True)),
            default=1,
        )
        if lines > 1:
            sheet.set_row(row, min(LINE_HEIGHT * lines, 409))

    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, last_row, len(headers) - 1)
    _add_validations(sheet, letters, headers, last_row)
    add_colour_rules(sheet, formats, letters, last_row)

    apply_xlsxwriter(sheet, PageSetup(page.name, page.reporting_date, gridlines=True))


def list_validation(name: str) -> dict:
    """The dropdown of Status or Grade, reading its choices from the hidden Lists sheet."""
    lists = {model.STATUS: ("A", model.STATUSES), model.GRADE: ("B", model.GRADES)}
    list_column, choices = lists[name]
    return {
        "validate": "list",
        "source": f"={model.LISTS_SHEET}!${list_column}$2:${list_column}${len(choices) + 1}",
        "input_title": name,
        "input_message": "Choose from the list: " + ", ".join(choices) + ".",
        "error_title": f"Not a {name.lower()}",
        "error_message": f"{name} must be one of: " + ", ".join(choices) + ".",
    }


def _add_validations(sheet, letters: dict, headers: list[str], last_row: int) -> None:
    def column(name: str) -> int:
        return headers.index(name)

    for name in (model.STATUS, model.GRADE):
        sheet.data_validation(1, column(name), last_row, column(name), list_validation(name))
    for name in model.DATE_COLUMNS:
        sheet.data_validation(1, column(name), last_row, column(name), date_validation(name))
    email = letters[model.LEAD_EMAIL]
    sheet.data_validation(
        1,
        column(model.LEAD_EMAIL),
        last_row,
        column(model.LEAD_EMAIL),
        {
            "validate": "custom",
            "value": f'=ISNUMBER(SEARCH("@",{email}2))',
            "input_title": "Lead email",
            "input_message": "The lead officer's email address, e.g. a.officer@council.gov.uk.",
            "error_title": "Not an email address",
            "error_message": "An email address must contain @.",
        },
    )


def add_colour_rules(sheet, formats: dict, letters: dict, last_row: int) -> None:
    """The live RAG colouring of styles.py over rows 2 to last_row + 1 of the columns present."""
    for rule in styles.applicable_rules(set(letters)):
        target = letters[rule.target]
        sheet.conditional_format(
            f"{target}2:{target}{last_row + 1}",
            {
                "type": "formula",
                "criteria": "=" + rule.render(letters, 2),
                "format": formats[rule.rag],
                "stop_if_true": True,
            },
        )


def _write_guidance_sheet(workbook, formats: dict, page: PageSetup) -> None:
    sheet = workbook.add_worksheet(model.GUIDANCE_SHEET)
    apply_xlsxwriter(
        sheet, PageSetup(page.name, page.reporting_date, landscape=False, repeat_rows=None)
    )
    widths = (24, 90, 12)
    for column, width in enumerate(widths):
        sheet.set_column(
            column, column, width, formats["label"] if column == 0 else formats["wrap"]
        )

    def line(row: int, label: str, text: str, label_format, text_format=None) -> None:
        """A label and its explanation, the row tall enough for every wrapped line."""
        sheet.write_string(row, 0, label, label_format)
        sheet.write_string(row, 1, text, text_format or formats["wrap"])
        lines = max(wrapped_lines(text, widths[1]), wrapped_lines(label, widths[0]))
        if lines > 1:
            sheet.set_row(row, LINE_HEIGHT * lines)

    row = 0
    # The title spans the three columns, so it prints whole rather than cut at column A.
    sheet.merge_range(row, 0, row, 2, "How to fill in this action plan", formats["title"])
    sheet.set_row(row, 21)
    row += 2
    intro = (
        "Fill in the Plan sheet once. On the Actions sheet, write one action per row, "
        "under the headings in row 1. You may add your own columns to the right, insert "
        "rows, sort and filter; keep the headings as they are. Colours update themselves "
        "as you type: do not colour cells by hand."
    )
    line(row, "Before you start", intro, formats["heading"])
    row += 2
    sheet.write_string(row, 0, "Column", formats["header"])
    sheet.write_string(row, 1, "What to enter", formats["header"])
    sheet.write_string(row, 2, "Required?", formats["header"])
    for column in model.ACTION_COLUMNS:
        row += 1
        line(row, column.name, column.guidance, formats["label"])
        sheet.write_string(row, 2, "Yes" if column.required else "No", formats["wrap"])
    row += 2
    sheet.write_string(row, 0, "Status", formats["header"])
    sheet.write_string(row, 1, "What it means", formats["header"])
    for status in model.STATUSES:
        row += 1
        rag = model.STATUS_RAG[status]
        line(row, status, model.STATUS_GUIDANCE[status], formats[rag] if rag else formats["label"])
    row += 1
    line(
        row,
        "Overdue",
        "An action whose due date has passed and that is not Complete or Withdrawn shows red, "
        "whatever its status. Bring the due date up to date or change the status.",
        formats[model.RED],
    )
    row += 2
    sheet.write_string(row, 0, "Audit grade", formats["header"])
    sheet.write_string(row, 1, "What it means", formats["header"])
    for grade in model.GRADES:
        row += 1
        line(row, grade, model.GRADE_GUIDANCE[grade], formats[model.GRADE_RAG[grade]])
    row += 1
    line(
        row,
        "",
        "A grade that contradicts the status (for example A beside Off track, or D on an "
        "action that is not Withdrawn) is reported as a warning when the plan is checked.",
        formats["label"],
    )


def write_lists_sheet(workbook, formats: dict) -> None:
    """The hidden sheet the Status and Grade dropdowns read."""
    sheet = workbook.add_worksheet(model.LISTS_SHEET)
    sheet.write_string(0, 0, model.STATUS, formats["label"])
    sheet.write_string(0, 1, model.GRADE, formats["label"])
    for row, status in enumerate(model.STATUSES, start=1):
        sheet.write_string(row, 0, status)
    for row, grade in enumerate(model.GRADES, start=1):
        sheet.write_string(row, 1, grade)
    sheet.hide()
