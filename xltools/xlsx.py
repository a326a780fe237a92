"""Shared xlsxwriter plumbing for every new workbook xltools writes.

New workbooks (plans, registers) are written with xlsxwriter, set up so that:

* staff text is never interpreted: no string becomes a formula, a number or a
  hyperlink (``strings_to_formulas`` and friends are off, and text is written
  with ``write_string``);
* the same input gives the same bytes: a fixed creation date in the document
  properties (xlsxwriter already fixes the zip timestamps).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from xltools.cells import CleanText, clean_text

# A fixed creation date makes output reproducible; it is the first template's date.
FIXED_CREATED = dt.datetime(2026, 11, 1, 0, 0, 0)


def new_workbook(path: str | Path, constant_memory: bool = False, **properties: Any):
    """A new xlsxwriter Workbook set up as above; ``constant_memory`` streams rows to disk."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(
        str(path),
        {
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
            "default_date_format": "dd/mm/yyyy",
            "remove_timezone": True,
            "constant_memory": constant_memory,
        },
    )
    workbook.set_properties({"created": FIXED_CREATED, "author": "xltools", **properties})
    return workbook


def write_value(worksheet, row: int, column: int, value: object, date_format, cell_format=None):
    """Write one value as what it is; text always as text. Returns the cleaning done, if any."""
    if value is None or (isinstance(value, float) and value != value):
        worksheet.write_blank(row, column, None, cell_format)
        return None
    if isinstance(value, dt.datetime):
        worksheet.write_datetime(row, column, value, date_format)
        return None
    if isinstance(value, dt.date):
        worksheet.write_datetime(row, column, dt.datetime.combine(value, dt.time()), date_format)
        return None
    if isinstance(value, bool):
        worksheet.write_boolean(row, column, value, cell_format)
        return None
    if isinstance(value, int | float):
        worksheet.write_number(row, column, value, cell_format)
        return None
    cleaned: CleanText = clean_text(str(value))
    if cleaned.text:
        worksheet.write_string(row, column, cleaned.text, cell_format)
    else:
        worksheet.write_blank(row, column, None, cell_format)
    return cleaned if (cleaned.truncated or cleaned.removed_controls) else None


def standard_formats(workbook) -> dict:
    """The formats every xltools workbook shares: header, label, text, date, one per RAG."""
    from xltools import model, styles

    formats = {
        "header": workbook.add_format(
            {
                "bold": True,
                "font_color": styles.HEADER_FONT,
                "bg_color": styles.HEADER_FILL,
                "text_wrap": True,
                "valign": "top",
                "border": 1,
            }
        ),
        "label": workbook.add_format({"bold": True, "valign": "top"}),
        "bold": workbook.add_format({"bold": True}),
        "wrap": workbook.add_format({"text_wrap": True, "valign": "top"}),
        "text": workbook.add_format({"valign": "top"}),
        "date": workbook.add_format({"num_format": styles.DATE_FORMAT, "valign": "top"}),
        "title": workbook.add_format({"bold": True, "font_size": 14}),
        "heading": workbook.add_format({"bold": True, "font_size": 12, "valign": "top"}),
    }
    for rag, (fill, font) in model.RAG_COLOURS.items():
        formats[rag] = workbook.add_format({"bg_color": fill, "font_color": font})
    return formats
