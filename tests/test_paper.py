"""The page setup, made once and put on sheets by either writer."""

from __future__ import annotations

import datetime as dt

import openpyxl

from xltools.paper import PageSetup, apply_openpyxl, apply_xlsxwriter
from xltools.xlsx import new_workbook

SETUP = PageSetup(
    name="Brent Council: Physical Disabilities & Sensory Loss",
    reporting_date=dt.date(2003, 11, 24),
    repeat_rows=(0, 0),
    print_area=(0, 0, 1, 4),
    gridlines=True,
)


def _page_settings(sheet) -> tuple:
    return (
        sheet.page_setup.paperSize,
        sheet.page_setup.orientation,
        sheet.page_setup.fitToWidth in (None, 1),
        sheet.page_setup.fitToHeight,
        bool(sheet.sheet_properties.pageSetUpPr.fitToPage),
        sheet.print_title_rows,
        str(sheet.print_area),
        bool(sheet.print_options.gridLines),
        sheet.oddHeader.left.text,
        sheet.oddHeader.right.text,
        sheet.oddFooter.left.text,
        sheet.oddFooter.right.text,
        sheet.page_margins.left,
    )


def test_both_writers_print_alike(tmp_path):
    """The same choices through xlsxwriter and openpyxl read back the same."""
    written = tmp_path / "xlsxwriter.xlsx"
    workbook = new_workbook(written)
    apply_xlsxwriter(workbook.add_worksheet("Sheet"), SETUP)
    workbook.close()
    edited = tmp_path / "openpyxl.xlsx"
    book = openpyxl.Workbook()
    book.active.title = "Sheet"
    apply_openpyxl(book.active, SETUP)
    book.save(edited)
    first = _page_settings(openpyxl.load_workbook(written)["Sheet"])
    second = _page_settings(openpyxl.load_workbook(edited)["Sheet"])
    assert first == second
    assert first[:2] == (9, "landscape")
    # "&" starts a code in a page header: the name's own ampersand is doubled.
    assert first[8] == "Brent Council: Physical Disabilities && Sensory Loss"
    assert first[9] == "Reporting date 24/11/2003"
    assert first[10:12] == ("&A", "Page &P of &N")


def test_long_names_are_cut_to_fit_a_header():
    setup = PageSetup(name="x" * 300)
    assert len(setup.header()) < 255
