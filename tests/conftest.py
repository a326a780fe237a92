"""Shared test helpers: real LibreOffice runs and plan fixtures."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import signal
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from smtp_server import Collector, free_port

from xltools import model

REPO = Path(__file__).resolve().parent.parent
LEGACY = REPO.parent / "shared" / "legacy-plans"


def soffice_path() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def required_program(path: str | None, what: str) -> str:
    """A program a test drives for real. Missing under CI is a failure (``.ci/run``
    installs it); on a developer's machine without it, the test is skipped, as the
    README says."""
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{what} is not installed; .ci/run must install it")
        pytest.skip(f"{what} is not installed on this machine")
    return path


def run_own_group(command: list[str], timeout: float, what: str) -> tuple[bytes, bytes, int]:
    """Run a program in a process group of its own, with a time limit; on the limit, or
    when it leaves helpers behind, kill only that group. (stdout, stderr, exit status)"""
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"{what} timed out")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    return out, err, process.returncode


@pytest.fixture
def soffice():
    """The LibreOffice binary."""
    return required_program(soffice_path(), "LibreOffice (soffice)")


def lo_convert(soffice: str, source: Path, target_format: str, outdir: Path) -> Path:
    """Convert with a headless LibreOffice of our own (own profile, timeout, own process)."""
    profile = outdir / "lo-profile"
    outdir.mkdir(parents=True, exist_ok=True)
    command = [
        soffice,
        f"-env:UserInstallation=file://{profile}",
        "--headless",
        "--norestore",
        "--convert-to",
        target_format,
        "--outdir",
        str(outdir),
        str(source),
    ]
    out, err, _ = run_own_group(command, 180, f"LibreOffice converting {source}")
    extension = target_format.split(":")[0]
    result = outdir / f"{source.stem}.{extension}"
    assert result.exists(), f"LibreOffice wrote nothing: {out!r} {err!r}"
    return result


class _Tables(HTMLParser):
    """Each <table> of LibreOffice's HTML export as rows of (text, bgcolor) cells."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[tuple[str, str | None]]]] = []
        self._cell: list[str] | None = None
        self._bg: str | None = None
        self._span = 1

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag == "td":
            self._cell = []
            self._bg = attributes.get("bgcolor")
            self._span = int(attributes.get("colspan") or 1)

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            text = " ".join("".join(self._cell).split())
            row = self.tables[-1][-1]
            row.append((text, self._bg.upper() if self._bg else None))
            row.extend([("", self._bg.upper() if self._bg else None)] * (self._span - 1))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def lo_sheet_tables(soffice: str, workbook: Path, outdir: Path):
    """The cells LibreOffice shows, with their effective backgrounds, one table per sheet."""
    html = lo_convert(soffice, workbook, "html", outdir)
    parser = _Tables()
    parser.feed(html.read_text(encoding="utf-8", errors="replace"))
    return parser.tables


def action(ref: str, **values) -> dict:
    """A complete, valid action; keyword arguments (column names with _ for space) override."""
    base = {
        model.REF: ref,
        model.AREA: "Best Value awareness",
        model.ACTION: f"Action {ref}",
        model.LEAD: "Sandra Greer",
        model.LEAD_EMAIL: "sandra.greer@example.gov.uk",
        model.DUE_DATE: dt.date(2004, 3, 31),
        model.TIMESCALE: "March 2004",
        model.STATUS: model.ON_TRACK,
        model.LAST_UPDATED: dt.date(2003, 11, 1),
    }
    for key, value in values.items():
        base[key.replace("_", " ").capitalize()] = value
    return base


PLAN = {
    model.ORGANISATION: "Argyll and Bute Council",
    model.SERVICE: "Community care",
    model.PLAN_TITLE: "PMP audit improvement plan",
    model.PLAN_SOURCE: "2002/03 PMP audit",
    model.PLAN_OWNER: "Sandra Greer",
    model.OWNER_EMAIL: "sandra.greer@example.gov.uk",
    model.REPORTING_DATE: dt.date(2003, 11, 24),
}


def edit_actions(path, changes) -> None:
    """Edit a plan as staff would: (Ref, column name, new value) on the Actions sheet."""
    import openpyxl

    book = openpyxl.load_workbook(path)
    sheet = book["Actions"]
    header = [c.value for c in sheet[1]]
    for ref, column, value in changes:
        row = next(r for r in range(2, sheet.max_row + 1) if sheet.cell(r, 1).value == ref)
        sheet.cell(row, header.index(column) + 1, value)
    book.save(path)


@pytest.fixture
def smtp():
    """A real SMTP server on 127.0.0.1 (aiosmtpd); ``smtp.messages`` is what arrived."""
    from aiosmtpd.controller import Controller

    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port())
    controller.start()
    collector.port = controller.port
    yield collector
    controller.stop()
