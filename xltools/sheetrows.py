"""Streaming the cell rows of a register's sheets into an xlsxwriter workbook.

The register workbook is written by xlsxwriter: styles, the Summary, and each
other sheet's settings (columns, frozen header, autofilter, conditional
formats, header row). xlsxwriter spends about 6 µs a cell in Python, and a
register of 100,000 actions has two million cells, so the rows of its sheets
(Register, Overdue, Due soon, Changes, Problems) are streamed afterwards by this
module: each sheet's ``<sheetData>`` gets its rows, in the same SpreadsheetML that
xlsxwriter's constant-memory mode writes (inline strings, the same style
indexes, numbers as ``%.16G``), at about a tenth of the cost. A test writes the
same rows both ways and compares the XML.

The one deliberate difference: xlsxwriter writes text that starts with ``<r>``
and ends with ``</r>`` as raw rich-text XML; staff text is always escaped here,
so such a note stays text and cannot break the file.

Values are written as what they are, as :func:`xltools.xlsx.write_value` does:
text always as text (never a formula), dates as dates, numbers as numbers.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import sys
import time
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from xltools.cells import clean_text, column_letters
from xltools.paper import LINE_HEIGHT

# What makes text need more than copying: XML specials, control characters,
# characters XML cannot hold, and text that already looks like Excel's _xHHHH_ escape.
_NEEDS_ESCAPING = re.compile("[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_")
_LOOKS_ESCAPED = re.compile("(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile("([\x00-\x08\x0b-\x1f])")
_EXCEL_EPOCH = dt.date(1899, 12, 31).toordinal()
_SHEET_DATA_END = "</sheetData>"
_DIMENSION = re.compile(r'<dimension ref="[^"]*"/>')
_ROWS_PER_WRITE = 2_000
# Whole numbers below this print the same as xlsxwriter's %.16G: all their digits.
_EXACT_INT = 10**16
# Excel's tallest row, in points.
MAX_ROW_HEIGHT = 409
# Below this many rows a sheet is made in one process: forking costs more.
PARALLEL_FROM_ROWS = 20_000
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SheetRows:
    """The rows to stream into one sheet, below the header row xlsxwriter wrote."""

    name: str
    columns: Sequence[str]
    rows: Sequence[Mapping[str, object]]
    # Column widths (characters) of wrapped text columns: rows are made tall enough for
    # their text (spreadsheets print a row at the height it was saved with).
    widths: Mapping[str, int] | None = None


def _line_chars(widths: Mapping[str, int] | None, column: str) -> int:
    if widths is None or column not in widths:
        return sys.maxsize  # not measured: one line, as xlsxwriter writes it
    return max(int(widths[column] * 1.2), 1)


def _lines(text: str, line_chars: int) -> int:
    """About how many lines text takes wrapped at ``line_chars`` (a little over, not under)."""
    if line_chars == sys.maxsize:
        return 1
    if "\n" not in text:  # most long text is one paragraph: no list of lines to make
        return len(text) // line_chars + 1
    return sum(len(line) // line_chars + 1 for line in text.split("\n"))


def escape_text(text: str) -> str:
    """Text as the body of ``<t>``: Excel's _xHHHH_ for control characters, then XML escapes."""
    if not _NEEDS_ESCAPING.search(text):
        return text
    text = _LOOKS_ESCAPED.sub(r"_x005F\1", text)
    text = _CONTROL.sub(lambda match: f"_x{ord(match.group(1)):04X}_", text)
    text = text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _serial(value: dt.date) -> str:
    """A date as Excel's serial day number (1900 system, with Excel's 29 Feb 1900)."""
    days = value.toordinal() - _EXCEL_EPOCH
    return str(days + 1 if days > 59 else days)


def _serial_time(value: dt.datetime) -> str:
    """A date and time as Excel's serial number, as xlsxwriter computes it."""
    value = value.replace(tzinfo=None)
    seconds = value.hour * 3600 + value.minute * 60 + value.second
    number = value.toordinal() - _EXCEL_EPOCH + (seconds + value.microsecond / 1e6) / 86400
    if value.isocalendar() == (1900, 1, 1):
        number -= 1  # a time alone is 1899-12-31 plus the time in Excel
    if number > 59:
        number += 1
    return f"{number:.16G}"


class RowWriter:
    """Turns row mappings into ``<row>`` XML for fixed columns and cell styles."""

    def __init__(
        self,
        columns: Sequence[str],
        text_style: int,
        date_style: int,
        widths: Mapping[str, int] | None = None,
    ) -> None:
        self.columns = list(columns)
        self.text_style, self.date_style = text_style, date_style
        # Characters a wrapped line holds in each column (about 1.2 to a unit of width;
        # no wrapping is measured when no widths are given).
        self._columns = [
            (column, letter, f'<c r="{letter}', _line_chars(widths, column))
            for column, letter in zip(
                self.columns, map(column_letters, range(len(self.columns))), strict=True
            )
        ]
        self._text_middle = f'" s="{text_style}" t="inlineStr"><is><t>'
        self._number_middle = f'" s="{text_style}"><v>'
        self._date_middle = f'" s="{date_style}"><v>'
        self._dates: dict[dt.date, str] = {}

    def row(self, number: int, values: Mapping[str, object]) -> str:
        """One row (1-based ``number``) of cells; blanks are left out, as xlsxwriter does."""
        # The innermost loop of a big register: plain text (no XML specials, no
        # control characters, no edge whitespace) takes the short way.
        cells = [f'<row r="{number}">']
        append = cells.append
        text_middle, number_middle = self._text_middle, self._number_middle
        lines = 1
        for column, letter, head, line_chars in self._columns:
            value = values[column]
            if value is None or value == "":
                continue
            kind = value.__class__
            if kind is int and -_EXACT_INT < value < _EXACT_INT:
                append(f"{head}{number}{number_middle}{value}</v></c>")
            elif kind is dt.date:
                serial = self._dates.get(value) or self._date_serial(value)
                append(f"{head}{number}{self._date_middle}{serial}</v></c>")
            elif kind is str:
                if len(value) > line_chars or "\n" in value:
                    lines = max(lines, _lines(value, line_chars))
                if (
                    value.isprintable()
                    and "&" not in value
                    and "<" not in value
                    and ">" not in value
                    and "_x" not in value
                    and not value[0].isspace()
                    and not value[-1].isspace()
                ):
                    append(f"{head}{number}{text_middle}{value}</t></is></c>")
                else:
                    append(self._text(f"{letter}{number}", value, self.text_style))
            else:
                append(self._other(f"{letter}{number}", value))
        append("</row>")
        if lines > 1:
            height = min(LINE_HEIGHT * lines, MAX_ROW_HEIGHT)
            cells[0] = f'<row r="{number}" ht="{height}" customHeight="1">'
        return "".join(cells)

    def _date_serial(self, value: dt.date) -> str:
        serial = self._dates[value] = _serial(value)
        return serial

    def _text(self, reference: str, text: str, style: int) -> str:
        text = escape_text(text)
        space = ' xml:space="preserve"' if text[0].isspace() or text[-1].isspace() else ""
        return f'<c r="{reference}" s="{style}" t="inlineStr"><is><t{space}>{text}</t></is></c>'

    def _other(self, reference: str, value: object) -> str:
        if isinstance(value, float) and value != value:
            return f'<c r="{reference}" s="{self.text_style}"/>'
        if isinstance(value, dt.datetime):
            return f'<c r="{reference}" s="{self.date_style}"><v>{_serial_time(value)}</v></c>'
        if isinstance(value, dt.date):  # a subclass of date: the plain ones are done in row()
            return f'<c r="{reference}" s="{self.date_style}"><v>{_serial(value)}</v></c>'
        if isinstance(value, bool):
            return f'<c r="{reference}" s="{self.text_style}" t="b"><v>{int(value)}</v></c>'
        if isinstance(value, int | float) and abs(value) != float("inf"):
            return f'<c r="{reference}" s="{self.text_style}"><v>{value:.16G}</v></c>'
        text = clean_text(str(value)).text  # an error cell (#REF!) and the like: as text
        if not text:
            return f'<c r="{reference}" s="{self.text_style}"/>'
        return self._text(reference, text, self.text_style)


def sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name to its part in the package, read from the workbook and its relationships."""
    namespaces = {
        "main": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
        "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
        "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
    }
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    relationships = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {
        rel.get("Id"): rel.get("Target", "")
        for rel in relationships.findall("rel:Relationship", namespaces)
    }
    parts = {}
    for sheet in workbook.iterfind("main:sheets/main:sheet", namespaces):
        target = targets[sheet.get(f"{{{namespaces['r']}}}id")]
        parts[sheet.get("name")] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return parts


def stream_rows(
    package: Path,
    target: Path,
    sheets: Sequence[SheetRows],
    text_style: int,
    date_style: int,
    compresslevel: int = 1,
) -> None:
    """Copy ``package`` to ``target``, streaming each sheet's rows after its header row.

    Level 1 deflate: a register squeezes almost as small as at the default level,
    several times faster. A big sheet's second half is made by a second process
    meanwhile (see :class:`_SecondHalves`).
    """
    writers = {
        sheet.name: RowWriter(sheet.columns, text_style, date_style, sheet.widths)
        for sheet in sheets
    }
    with (
        zipfile.ZipFile(package) as source,
        _SecondHalves(sheets, writers) as second_halves,
        zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as output,
    ):
        parts = sheet_parts(source)
        by_part = {parts[sheet.name]: sheet for sheet in sheets}
        tables = _table_parts(source, parts, sheets)
        for info in source.infolist():
            data = source.read(info)
            sheet = by_part.get(info.filename)
            if sheet is None:
                if info.filename in tables:
                    data = _whole_table(data, tables[info.filename])
                output.writestr(info, data, zipfile.ZIP_DEFLATED, compresslevel)
                continue
            head, tail = data.decode("utf-8").split(_SHEET_DATA_END, 1)
            if sheet.rows:
                last = f"{column_letters(len(sheet.columns) - 1)}{len(sheet.rows) + 1}"
                head = _DIMENSION.sub(f'<dimension ref="A1:{last}"/>', head, count=1)
            info.compress_type = zipfile.ZIP_DEFLATED
            _set_level(info, compresslevel)
            with output.open(info, "w") as member:
                member.write(head.encode("utf-8"))
                split = second_halves.split(sheet)
                _write_rows(member, writers[sheet.name], sheet.rows, 0, split)
                second_halves.write(sheet, member)
                member.write((_SHEET_DATA_END + tail).encode("utf-8"))


def _table_parts(
    archive: zipfile.ZipFile, parts: Mapping[str, str], sheets: Sequence[SheetRows]
) -> dict[str, SheetRows]:
    """The Excel Table part of each streamed sheet that has one (the Register's)."""
    from posixpath import dirname, join, normpath

    found = {}
    for sheet in sheets:
        part = parts[sheet.name]
        rels = join(dirname(part), "_rels", part.rsplit("/", 1)[-1] + ".rels")
        if rels not in archive.namelist():
            continue
        for target in re.findall(
            r'Target="([^"]*tables/table\d+\.xml)"', archive.read(rels).decode()
        ):
            found[normpath(join(dirname(part), target))] = sheet
    return found


_TABLE_REF = re.compile(r'(<(?:table|autoFilter)\b[^>]*?\bref=")A1:([A-Z]+)\d+(")')


def _whole_table(data: bytes, sheet: SheetRows) -> bytes:
    """A table part made over the header and one row, stretched over the sheet's rows.

    xlsxwriter checks every cell of a new table for overlaps (about a second for a
    register of 30,000 actions), so the table is made small and its range, and its
    filter's, set here to the rows streamed.
    """
    last_row = max(len(sheet.rows), 1) + 1
    text = _TABLE_REF.sub(lambda m: f"{m[1]}A1:{m[2]}{last_row}{m[3]}", data.decode("utf-8"))
    return text.encode("utf-8")


def _write_rows(member, writer: RowWriter, rows: Sequence, start: int, stop: int) -> None:
    """Make rows' XML here while a second thread compresses the batch before.

    zlib lets go of the interpreter while it compresses, so the two overlap; waiting
    for each batch before handing over the next keeps the order and bounds the memory.
    """
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="xltools-deflate") as compressor:
        pending = None
        for data in _batches(writer, rows, start, stop):
            if pending is not None:
                pending.result()
            pending = compressor.submit(member.write, data)
        if pending is not None:
            pending.result()


def _batches(writer: RowWriter, rows: Sequence, start: int, stop: int) -> Iterator[bytes]:
    """Rows ``start`` to ``stop`` (0-based, below the header) as UTF-8 XML, a batch at a time."""
    for batch_start in range(start, stop, _ROWS_PER_WRITE):
        batch_stop = min(batch_start + _ROWS_PER_WRITE, stop)
        yield "".join(
            writer.row(index + 2, rows[index]) for index in range(batch_start, batch_stop)
        ).encode("utf-8")


def _rows_to_file(writer: RowWriter, rows: Sequence, start: int, stop: int, path: Path) -> None:
    """In the second process: one sheet's rows from ``start``, as XML, into a file."""
    partial = path.with_suffix(".partial")
    with partial.open("wb") as handle:
        for data in _batches(writer, rows, start, stop):
            handle.write(data)
    partial.replace(path)  # only a finished file is ever taken


def _second_halves_main(
    jobs: list[tuple[RowWriter, Sequence, int, int, Path]], parent: int
) -> None:
    from xltools.workers import end_with_parent

    end_with_parent(parent)
    for job in jobs:
        _rows_to_file(*job)


class _SecondHalves:
    """The second half of each big sheet's rows, made by a forked process into files.

    Making the XML is the Python-bound part of writing a register; with a second
    core, two processes make it in about half the time. The process is forked, so
    it has the rows without copying them. Off Linux (fork is unsafe on macOS and
    missing on Windows), and for a small register, everything is made here. If the
    process fails, its halves are made here instead: the register is the same either way.
    """

    def __init__(self, sheets: Sequence[SheetRows], writers: Mapping[str, RowWriter]) -> None:
        import multiprocessing

        self.writers = writers
        self._splits = {sheet.name: len(sheet.rows) for sheet in sheets}
        self._process = None
        self._folder = None
        if sys.platform != "linux":
            return
        big = [sheet for sheet in sheets if len(sheet.rows) >= PARALLEL_FROM_ROWS]
        if not big:
            return
        from xltools.fileio import scratch_folder

        self._folder = scratch_folder("rows")
        jobs = []
        for number, sheet in enumerate(big):
            self._splits[sheet.name] = len(sheet.rows) // 2
            path = Path(self._folder.name) / f"sheet-{number}.xml"
            jobs.append(
                (writers[sheet.name], sheet.rows, len(sheet.rows) // 2, len(sheet.rows), path)
            )
        self._files = {sheet.name: job[-1] for sheet, job in zip(big, jobs, strict=True)}
        context = multiprocessing.get_context("fork")
        self._process = context.Process(
            target=_second_halves_main, args=(jobs, os.getpid()), daemon=True
        )
        self._process.start()

    def __enter__(self) -> _SecondHalves:
        return self

    def __exit__(self, *exc_info) -> None:
        if self._process is not None and self._process.is_alive():
            self._process.kill()  # the register failed: its halves are not wanted
        if self._process is not None:
            self._process.join()
        if self._folder is not None:
            self._folder.cleanup()

    def split(self, sheet: SheetRows) -> int:
        """Where this process's part of the sheet's rows ends."""
        return self._splits[sheet.name]

    def write(self, sheet: SheetRows, member) -> None:
        """Add the rows after ``split`` to the member: the second process's file, or made here."""
        start = self._splits[sheet.name]
        if start == len(sheet.rows):
            return
        path = self._files[sheet.name]
        # Each file appears (renamed into place) as soon as it is complete; the
        # process goes on to the next sheet meanwhile.
        while not path.exists() and self._process.is_alive():
            time.sleep(0.005)
        if path.exists():
            with path.open("rb") as handle:
                while chunk := handle.read(4 * 1024 * 1024):
                    member.write(chunk)
            return
        log.warning("the second writing process failed; writing the register's rows here")
        _write_rows(member, self.writers[sheet.name], sheet.rows, start, len(sheet.rows))


def _set_level(info: zipfile.ZipInfo, level: int) -> None:
    # ZipFile.open(info, "w") compresses at the level the ZipInfo carries; the
    # attribute is public (compress_level) from Python 3.13, private before.
    if hasattr(info, "compress_level"):
        info.compress_level = level
    else:
        info._compresslevel = level
