"""What people print: our workbooks rendered to PDF by a real LibreOffice.

Each workbook is converted with ``soffice --headless --convert-to pdf``; the
PDF is read back with poppler (``pdfinfo``, ``pdftotext``) for its page sizes,
which sheet each page belongs to (the footer names it), and whether every
column heading printed (a heading cut off the page is missing from the text).
The first page of each sheet is kept as a PNG under ``tests/output/print/``
for a person to look at.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import PLAN, REPO, action, lo_convert, required_program

from xltools import model
from xltools.template import write_plan

pytestmark = pytest.mark.libreoffice
OUTPUT = REPO / "tests" / "output" / "print"
A4_LANDSCAPE, A4_PORTRAIT = "842 x 595", "595 x 842"  # points
_FOOTER = re.compile(r"^(?P<sheet>\S.*?)\s{2,}Page (?P<page>\d+) of (?P<pages>\d+)\s*$")


def poppler(tool: str) -> str:
    return required_program(shutil.which(tool), f"{tool} (poppler-utils)")


class Printed:
    """A workbook's PDF: each page's text, its size and the sheet it belongs to."""

    def __init__(self, soffice: str, workbook: Path, outdir: Path) -> None:
        self.pdf = lo_convert(soffice, workbook, "pdf", outdir)
        info = subprocess.run(
            [poppler("pdfinfo"), "-f", "1", "-l", "9999", str(self.pdf)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        self.sizes = [
            f"{round(float(w))} x {round(float(h))}"
            for w, h in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", info)
        ]
        text = subprocess.run(
            [poppler("pdftotext"), "-layout", str(self.pdf), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        self.pages = text.split("\f")[: len(self.sizes)]
        self.sheets = [self._footer_sheet(page) for page in self.pages]

    @staticmethod
    def _footer_sheet(page: str) -> str:
        lines = [line.strip() for line in page.splitlines() if line.strip()]
        match = _FOOTER.match(lines[-1]) if lines else None
        assert match, f"no 'sheet ... Page n of m' footer on a page: {lines[-1:]}"
        return match["sheet"]

    def pages_of(self, sheet: str) -> list[int]:
        """The 0-based page numbers a sheet printed on."""
        return [number for number, name in enumerate(self.sheets) if name == sheet]

    def text_of(self, sheet: str) -> str:
        """Everything a sheet printed, with runs of spaces and line breaks as one space."""
        return " ".join(" ".join(self.pages[n] for n in self.pages_of(sheet)).split())

    def keep_first_pages(self, name: str) -> list[Path]:
        """Each sheet's first page as a PNG under tests/output/print/, for a person to look at."""
        OUTPUT.mkdir(parents=True, exist_ok=True)
        kept = []
        for sheet in dict.fromkeys(self.sheets):
            page = self.pages_of(sheet)[0] + 1
            stem = OUTPUT / f"{name}-{sheet.lower().replace(' ', '-')}"
            subprocess.run(
                [
                    poppler("pdftoppm"),
                    "-png",
                    "-r",
                    "70",
                    "-singlefile",
                    "-f",
                    str(page),
                    "-l",
                    str(page),
                    str(self.pdf),
                    str(stem),
                ],
                check=True,
            )
            kept.append(stem.with_suffix(".png"))
        return kept


def assert_headings_printed(printed: Printed, sheet: str, headings) -> None:
    text = printed.text_of(sheet)
    missing = [heading for heading in headings if heading not in text]
    assert not missing, f"{sheet}: headings cut off the page: {missing}"


def test_blank_template_prints_one_a4_page_a_sheet(soffice, tmp_path):
    template = REPO / "workbook_templates" / "action_plan.xlsx"
    printed = Printed(soffice, template, tmp_path)
    assert printed.sheets == ["Plan", "Actions", "Guidance"]  # Lists is hidden
    assert printed.sizes == [A4_PORTRAIT, A4_LANDSCAPE, A4_PORTRAIT]
    assert_headings_printed(printed, "Actions", model.ACTION_COLUMN_NAMES)
    assert_headings_printed(printed, "Plan", model.PLAN_LABELS)
    guidance = printed.text_of("Guidance")
    assert "How to fill in this action plan" in guidance  # the title is not cut
    for status, meaning in model.STATUS_GUIDANCE.items():
        assert f"{status} {meaning}" in guidance  # each explanation beside its status
    assert all(page.startswith("Improvement action plan") for page in printed.pages)
    assert len(printed.keep_first_pages("template")) == 3


def test_a_plan_prints_its_name_and_every_column(soffice, tmp_path):
    long_note = "Workshops held in Oban, Lochgilphead and Dunoon; " * 8
    actions = [action(f"1.{n}", progress_update=long_note) for n in range(1, 41)]
    path = write_plan(tmp_path / "plan.xlsx", PLAN, actions, extra_columns=["Budget code"])
    printed = Printed(soffice, path, tmp_path)
    assert set(printed.sizes) <= {A4_PORTRAIT, A4_LANDSCAPE}
    actions_pages = printed.pages_of("Actions")
    assert 2 <= len(actions_pages) <= 12
    for number in actions_pages:
        page = printed.pages[number]
        assert page.lstrip().startswith("Argyll and Bute Council: PMP audit improvement plan")
        assert "Reporting date 24/11/2003" in page.splitlines()[0]
        # The header row is repeated on every page.
        assert "Lead officer" in page and "Last updated" in page
    assert_headings_printed(printed, "Actions", [*model.ACTION_COLUMN_NAMES, "Budget code"])
    # Every action printed, and its whole progress note (rows tall enough for it).
    text = printed.text_of("Actions")
    for n in range(1, 41):
        assert f"1.{n} " in text
    assert text.count("Dunoon;") == 40 * 8
    printed.keep_first_pages("plan")


def test_register_prints_each_sheet_whole(soffice, tmp_path):
    """The examples' register after three weekly runs, as a coordinator prints it."""
    from xltools.consolidate import consolidate
    from xltools.register import write_register
    from xltools.register_sheets import SHEETS, SUMMARY

    inbox = REPO / "examples" / "inbox"
    history = tmp_path / "h.sqlite"
    for day in (dt.date(2003, 11, 10), dt.date(2003, 11, 17), dt.date(2003, 11, 24)):
        result = consolidate(inbox, day, history=history)
    path = write_register(result, tmp_path / "register.xlsx")
    printed = Printed(soffice, path, tmp_path)
    names = [sheet.name for sheet in SHEETS if not sheet.weekly_loop]
    assert list(dict.fromkeys(printed.sheets)) == names  # every sheet, in order
    assert set(printed.sizes) == {A4_LANDSCAPE}
    # Small sheets on one page each: the Summary's figures, table and chart together.
    for name in ("Summary", "Trend", "Overdue", "Due soon", "Changes", "Not returned"):
        assert len(printed.pages_of(name)) == 1, name
    # 198 actions, 23 columns: two pages wide, a few rows a page.
    assert 4 <= len(printed.pages_of("Register")) <= 60
    assert len(printed.sizes) <= 70
    for sheet in SHEETS:
        if sheet.kind != SUMMARY and not sheet.weekly_loop:
            assert_headings_printed(printed, sheet.name, sheet.columns)
    summary = printed.text_of("Summary")
    assert "Organisation" in summary and "RAG mix per plan" in summary
    assert "Last run Change" in summary and "24/11/2003 17/11/2003" in summary
    for page in printed.pages:
        first = page.strip().splitlines()[0]
        assert first.startswith("Action plan register") and "Reporting date 24/11/2003" in first
    printed.keep_first_pages("register")


def test_an_empty_chasing_list_prints_one_page(soffice, tmp_path):
    from xltools.consolidate import consolidate
    from xltools.register import write_register

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_plan(inbox / "plan.xlsx", PLAN, [action("1", status="Complete")])
    path = write_register(consolidate(inbox, dt.date(2003, 11, 24)), tmp_path / "register.xlsx")
    printed = Printed(soffice, path, tmp_path)
    for name in ("Overdue", "Due soon", "Changes", "Trend", "Not returned"):
        assert len(printed.pages_of(name)) == 1, name
    assert "No action is overdue." in printed.text_of("Overdue")
