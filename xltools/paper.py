"""How the sheets we write print: the page-setup choices, made once.

Coordinators print the register for meetings and auditors print what they are
given, so every sheet xltools writes carries a page setup chosen here: A4,
landscape when the sheet is wide, scaled to fit the page width (as many pages
tall as it needs), the header row repeated on every page, the plan's or
register's name and the reporting date in the page header, and the sheet name
and "Page n of m" in the footer.

:class:`PageSetup` holds the choices for one sheet; :func:`apply_xlsxwriter`
and :func:`apply_openpyxl` put them on a sheet being written by either library
(new workbooks are written with xlsxwriter, edited ones with openpyxl), so the
two writers print alike. :func:`wrapped_lines` sizes rows for wrapped text
(spreadsheets print a row at the height it was saved with).
"""

from __future__ import annotations

import datetime as dt
import textwrap
from dataclasses import dataclass

A4 = 9  # the paper size code of the file format (SpreadsheetML / xlsxwriter)
# Header and footer text: Excel allows 255 characters in each; names are cut well before.
_NAME_LIMIT = 80
# Margins in inches (the file format's unit): narrow, with room for the header and footer.
MARGINS = {"left": 0.4, "right": 0.4, "top": 0.6, "bottom": 0.6}
HEADER_MARGIN = FOOTER_MARGIN = 0.25
DATE_FORMAT = "%d/%m/%Y"
LINE_HEIGHT = 15  # points a line of wrapped 11-point text takes


def _escape(text: str) -> str:
    """Text as it must appear in a header or footer: ``&`` starts a code there."""
    text = " ".join(str(text).split())
    if len(text) > _NAME_LIMIT:
        text = text[: _NAME_LIMIT - 1] + "…"
    return text.replace("&", "&&")


@dataclass(frozen=True)
class PageSetup:
    """How one sheet prints.

    ``name`` (the plan's or register's name) and ``reporting_date`` go in the
    page header; ``repeat_rows`` are the 0-based first and last rows printed at
    the top of every page (None: none); ``print_area`` (0-based first row, first
    column, last row, last column) limits what prints, so a sheet with nothing
    to list prints one page, not pages of empty formatted cells.
    """

    name: str = ""
    reporting_date: dt.date | None = None
    landscape: bool = True
    repeat_rows: tuple[int, int] | None = (0, 0)
    print_area: tuple[int, int, int, int] | None = None
    gridlines: bool = False  # print cell borders, for lists of many rows

    def header_parts(self) -> tuple[str, str, str]:
        """The page header's left, centre and right text (header codes already escaped)."""
        date = ""
        if self.reporting_date is not None:
            date = "Reporting date " + self.reporting_date.strftime(DATE_FORMAT)
        return (_escape(self.name), "", date)

    @staticmethod
    def footer_parts() -> tuple[str, str, str]:
        """The footer: the sheet's name (&A) left, page n of m right."""
        return ("&A", "", "Page &P of &N")

    def header(self) -> str:
        return _joined(self.header_parts())

    def footer(self) -> str:
        return _joined(self.footer_parts())


def _joined(parts: tuple[str, str, str]) -> str:
    return "".join(f"&{side}{text}" for side, text in zip("LCR", parts, strict=True) if text)


def apply_xlsxwriter(sheet, setup: PageSetup) -> None:
    """Put ``setup`` on an xlsxwriter worksheet."""
    sheet.set_paper(A4)
    if setup.landscape:
        sheet.set_landscape()
    else:
        sheet.set_portrait()
    sheet.fit_to_pages(1, 0)  # one page wide, as many tall as needed
    if setup.repeat_rows is not None:
        sheet.repeat_rows(*setup.repeat_rows)
    if setup.print_area is not None:
        sheet.print_area(*setup.print_area)
    if setup.gridlines:
        sheet.hide_gridlines(0)  # 0: gridlines on screen and on paper
    sheet.set_margins(**MARGINS)
    sheet.set_header(setup.header(), {"margin": HEADER_MARGIN})
    sheet.set_footer(setup.footer(), {"margin": FOOTER_MARGIN})


def apply_openpyxl(sheet, setup: PageSetup) -> None:
    """Put ``setup`` on an openpyxl worksheet (a workbook being edited)."""
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.properties import PageSetupProperties

    sheet.page_setup.paperSize = A4
    sheet.page_setup.orientation = "landscape" if setup.landscape else "portrait"
    if sheet.sheet_properties.pageSetUpPr is None:
        sheet.sheet_properties.pageSetUpPr = PageSetupProperties()
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    if setup.repeat_rows is not None:
        first, last = setup.repeat_rows
        sheet.print_title_rows = f"{first + 1}:{last + 1}"
    if setup.print_area is not None:
        top, left, bottom, right = setup.print_area
        sheet.print_area = (
            f"{get_column_letter(left + 1)}{top + 1}:{get_column_letter(right + 1)}{bottom + 1}"
        )
    if setup.gridlines:
        sheet.print_options.gridLines = True
    for side, inches in MARGINS.items():
        setattr(sheet.page_margins, side, inches)
    sheet.page_margins.header = HEADER_MARGIN
    sheet.page_margins.footer = FOOTER_MARGIN
    for part, texts in (
        (sheet.oddHeader, setup.header_parts()),
        (sheet.oddFooter, setup.footer_parts()),
    ):
        for side, text in zip((part.left, part.center, part.right), texts, strict=True):
            side.text = text or None


def wrapped_lines(value: object, width: int) -> int:
    """How many lines a value takes in a wrapped cell this many characters wide.

    Spreadsheets do not grow rows for wrapped text on opening, and a row too short
    prints its lines over each other, so rows are sized from this. Text is wrapped
    at word boundaries, as the spreadsheet does, at about 1.2 characters of average
    text to a unit of column width (a unit is the width of a "0").
    """
    if not isinstance(value, str) or not value:
        return 1
    per_line = max(int(width * 1.2), 1)
    return sum(
        max(1, len(textwrap.wrap(line, per_line, break_long_words=True)))
        for line in value.split("\n")
    )
