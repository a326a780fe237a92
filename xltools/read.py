"""Reading plan workbooks from many hands: safely, tolerantly, keeping provenance.

Reading happens in two steps:

1. :func:`inspect_workbook` looks at the file *before* any parser does, because
   returned workbooks are untrusted. It names files that are not workbooks
   (encrypted, old .xls, CSV, HTML, ODS, Word), refuses zip bombs, exotic
   compression, duplicate members and XML with a DOCTYPE, and pre-scans the
   sheets it will read for cells far beyond the table: the Rust reader would
   allocate the whole grid for one stray value at XFD1048576 and abort the
   process, which no ``try`` can catch. It also finds error cells (#REF!), which
   the fast reader returns as blanks.
2. :func:`read_plan` reads the ``Plan`` and ``Actions`` sheets with
   python-calamine, finds the header row and columns by name (synonyms,
   case, stray spaces, title rows above, reordered and extra columns), skips
   blank rows and keeps, for every value, the sheet row and column letter it
   came from.

Values stay honest: a Ref typed as text stays as written, real dates become
dates, and error cells come back as :class:`CellError`, never as blanks. Text
that names exactly one day in a date column (``'31/03/2004``) is read as that
date, and a status typed in another case or spacing (``complete ``) as the
status; each keeps the text as typed in ``PlanTable.as_typed`` so the rules can
say so. Any other text in a date column (``March 2004``) stays text.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from xml.sax.saxutils import unescape

from xltools import model
from xltools.cells import column_index, column_letters
from xltools.dates import exact_date
from xltools.errors import UnreadableWorkbook
from xltools.findings import Finding

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
XML_QUOTES = {"&quot;": '"', "&apos;": "'"}
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Finding codes of the reader's own (to join the findings catalogue).
HIDDEN_ACTIONS_SHEET, STRAY_CELL = "hidden-actions-sheet", "stray-cell"


@dataclass(frozen=True)
class Limits:
    """Safety limits for untrusted workbooks. All are settings; the defaults suit plans."""

    max_part_bytes: int = 100 * 1024 * 1024
    max_total_bytes: int = 250 * 1024 * 1024
    max_compression_ratio: float = 100.0
    # Parts smaller than this are not held to the ratio: tiny repetitive XML
    # legitimately compresses far better than 100:1 and can do no harm.
    ratio_floor_bytes: int = 1024 * 1024
    max_sheet_cells: int = 5_000_000
    max_members: int = 10_000
    header_search_rows: int = model.HEADER_SEARCH_ROWS


DEFAULT_LIMITS = Limits()


class CellError(str):
    """An Excel error value (#REF!, #N/A, ...) read from a cell."""

    __slots__ = ()


@dataclass
class Inspection:
    """What the pre-parse inspection learned about a workbook."""

    sheet_parts: dict[str, str]  # sheet name -> zip member of its XML
    error_cells: dict[str, dict[tuple[int, int], str]]  # sheet -> (row, col) 0-based -> #REF!
    strays: dict[str, list[str]] = field(default_factory=dict)  # sheet -> ["XFD1048576"]
    hidden: dict[str, str] = field(default_factory=dict)  # sheet -> "hidden", "veryHidden"


@dataclass
class PlanTable:
    """One plan workbook, read: Plan values, Actions rows, and where each came from."""

    path: Path
    plan: dict[str, object] = field(default_factory=dict)
    plan_cells: dict[str, str] = field(default_factory=dict)  # label -> "B7"
    has_plan_sheet: bool = False
    actions_sheet: str = model.ACTIONS_SHEET
    header_row: int = 1  # 1-based
    columns: dict[str, str] = field(default_factory=dict)  # column name -> letter
    extra_columns: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    records: list[dict[str, object]] = field(default_factory=list)
    source_rows: list[int] = field(default_factory=list)  # 1-based sheet rows
    notes: list[Finding] = field(default_factory=list)  # what reading found: hidden, strays
    # Values read as something other than the text typed: (record index, column) -> the
    # text as typed. A date typed as text ('31/03/2004) is read as that date; a status
    # typed in another case or spacing ("complete ") as the status. The rules warn.
    as_typed: dict[tuple[int, str], str] = field(default_factory=dict)

    @property
    def reporting_date(self) -> dt.date | None:
        value = self.plan.get(model.REPORTING_DATE)
        if isinstance(value, dt.datetime):
            return value.date()
        return value if isinstance(value, dt.date) else None

    def cell(self, column: str, record_index: int) -> str:
        """The cell address ("F12") of a column in the record's source row."""
        letter = self.columns.get(column, "")
        return f"{letter}{self.source_rows[record_index]}" if letter else ""


# --------------------------------------------------------------------------
# Finding workbooks
# --------------------------------------------------------------------------
@dataclass
class Discovery:
    workbooks: list[Path]
    skipped: list[tuple[Path, str]]


def is_lock_file(path: Path) -> bool:
    return path.name.startswith("~$")


def discover(paths: Iterable[str | Path]) -> Discovery:
    """Plan workbooks among files and folders (searched recursively), in a stable order.

    Office lock files, hidden files, broken links and non-workbooks found in
    folders are skipped and listed with the reason. A file named directly is
    taken whatever its name, so that a wrong one is reported, not ignored.
    """
    found: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for given in paths:
        given = Path(given)
        if given.is_dir():
            for candidate in sorted(given.rglob("*")):
                relative_parts = candidate.relative_to(given).parts
                if any(part.startswith(".") for part in relative_parts):
                    if candidate.is_file():
                        skipped.append((candidate, "hidden file"))
                    continue
                if candidate.is_symlink() and not candidate.exists():
                    skipped.append((candidate, "broken link"))
                    continue
                if candidate.suffix.lower() not in WORKBOOK_SUFFIXES:
                    continue
                if candidate.is_dir():
                    skipped.append((candidate, "a folder named like a workbook"))
                    continue
                if is_lock_file(candidate):
                    skipped.append((candidate, "Office lock file (the workbook is open)"))
                    continue
                found.append(candidate)
        elif is_lock_file(given):
            skipped.append((given, "Office lock file (the workbook is open)"))
        else:
            found.append(given)
    return Discovery(found, skipped)


# --------------------------------------------------------------------------
# Inspection before parsing
# --------------------------------------------------------------------------
def _refuse(path: Path, reason: str) -> UnreadableWorkbook:
    return UnreadableWorkbook(reason, path)


def _sniff_non_zip(path: Path, head: bytes) -> str:
    if head.startswith(OLE_MAGIC):
        with path.open("rb") as handle:
            body = handle.read(4 * 1024 * 1024)
        if "EncryptedPackage".encode("utf-16-le") in body:
            return (
                "the workbook is password-protected (encrypted): open it in Excel, remove the "
                "password (File > Info > Protect Workbook) and save it again"
            )
        if "WordDocument".encode("utf-16-le") in body:
            return "this is a Word document, not a workbook: send the plan as an .xlsx workbook"
        return (
            "this is an old-style Excel 97-2003 (.xls) workbook: open it in Excel or LibreOffice "
            "and save it as an Excel Workbook (.xlsx)"
        )
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html", b"<table", b"<meta")):
        return (
            f"this is a web page (HTML) saved with an {path.suffix or 'Excel'} name, not a "
            "workbook: open it in Excel and save it as an Excel Workbook (.xlsx)"
        )
    if text.startswith(b"{\\rtf"):
        return "this is a Rich Text document, not a workbook: send the plan as an .xlsx workbook"
    if text.startswith(b"%pdf"):
        return "this is a PDF, not a workbook: send the plan as an .xlsx workbook"
    if text.startswith(b"<?xml"):
        return "this is an XML file, not an .xlsx workbook: open it in Excel and save as .xlsx"
    try:
        sample = head.decode("utf-8")
    except UnicodeDecodeError:
        sample = head.decode("latin-1")
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in sample)
    if sample and printable / len(sample) > 0.95:
        if any(sep in sample for sep in (",", ";", "\t")):
            return (
                "this is a CSV or text file renamed to .xlsx: open it in Excel and save it as "
                "an Excel Workbook (.xlsx)"
            )
        return "this is a text file, not a workbook: send the plan as an .xlsx workbook"
    return "this is not an Excel workbook (.xlsx): ask for the plan to be saved as .xlsx"


_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
# The first element start tag: a DOCTYPE can only stand before it, in the prolog.
_ROOT_START = re.compile(rb"<[A-Za-z_]")
# A reference that is not a plain one within Z99999 (past column Z or row 99,999,
# lower case, malformed). A sheet with none (nearly every plan) is settled by this
# one quick search; any other has every reference checked against Excel's grid.
# Writers put one space before an attribute; other white space is made a space first.
_ODD_REF = re.compile(rb' r="(?![A-Z]?[1-9][0-9]{0,4}")')
_OTHER_SPACE_REF = re.compile(rb'[\t\r\n]r="')
_SMALL_EXTENT_CELLS = 99_999 * 26
# A reference outside A1:XFD1048576: not letters then a row number at all, a row past
# 1,048,576, or a column past XFD. One search in C, however many cells a sheet has.
_BAD_REF = re.compile(
    rb' r="('
    rb'(?![A-Z]{0,3}[1-9][0-9]{0,6}")[^"]{0,20}'
    rb"|[A-Z]{0,3}(?:[2-9][0-9]{6}|1[1-9][0-9]{5}|10[5-9][0-9]{4}|1049[0-9]{3}"
    rb"|1048[6-9][0-9]{2}|10485[89][0-9]|104857[7-9])"
    rb"|(?:[YZ][A-Z]{2}|X[G-Z][A-Z]|XF[E-Z])[0-9]{1,7}"
    rb')"'
)
# What a cell holds (a value, inline text or a formula); its cell is the <c before it.
_CONTENT = re.compile(rb"<(?:v|is|f)[ >/]")
_CELL_REF = re.compile(rb' r="([A-Z]{1,3})([0-9]{1,7})"')
EXCEL_ROWS, EXCEL_COLUMNS = 1_048_576, 16_384
# Values this many empty rows below, or columns right of, the rest are strays (someone
# typed in XFD1048576), left out with a warning; more than MAX_STRAY_CELLS is no plan.
STRAY_GAP_ROWS, STRAY_GAP_COLUMNS, MAX_STRAY_CELLS = 10_000, 1_000, 20
_ERROR_CELL = re.compile(
    rb'<c\b(?=[^>]*\bt="e")[^>]*?\br="([A-Z]{1,3})([0-9]{1,7})"[^>]*>(.*?)</c>', re.DOTALL
)
_VALUE = re.compile(rb"<v>([^<]*)</v>")
_SHEET_ENTRY = re.compile(rb"<(?:\w+:)?sheet\b([^>]*)/?>")
_ATTRIBUTE = re.compile(rb'([\w:]+)="([^"]*)"')


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits, path: Path):
    """Inflate one member, stopping as soon as it passes the per-part limit."""
    chunks = []
    size = 0
    with archive.open(info) as member:
        while True:
            chunk = member.read(1024 * 1024)
            if not chunk:
                break
            size += len(chunk)
            if size > limits.max_part_bytes:
                raise _refuse(
                    path,
                    f"part {info.filename} inflates beyond {limits.max_part_bytes:,} bytes "
                    "(a zip bomb or a damaged file): the workbook was not read",
                )
            chunks.append(chunk)
    return b"".join(chunks)


def _sheet_parts(archive: zipfile.ZipFile, read) -> dict[str, str]:
    """Map sheet names to their XML members via workbook.xml and its relationships."""
    return _sheets(archive, read)[0]


def _sheets(archive: zipfile.ZipFile, read) -> tuple[dict[str, str], dict[str, str]]:
    """Map sheet names to their XML members via workbook.xml and its relationships; and
    the hidden sheets to their state ("hidden" or "veryHidden")."""
    workbook_xml = read("xl/workbook.xml")
    rels_xml = (
        read("xl/_rels/workbook.xml.rels") if _has(archive, "xl/_rels/workbook.xml.rels") else b""
    )
    targets: dict[str, str] = {}
    for match in re.finditer(rb"<(?:\w+:)?Relationship\b([^>]*)/?>", rels_xml):
        attributes = dict(_ATTRIBUTE.findall(match.group(1)))
        rel_id = attributes.get(b"Id", b"").decode()
        target = attributes.get(b"Target", b"").decode()
        # Targets are relative to xl/ unless absolute within the package.
        absolute = target.startswith("/")
        targets[rel_id] = target.lstrip("/") if absolute else str(PurePosixPath("xl") / target)
    parts: dict[str, str] = {}
    states: dict[str, str] = {}
    for match in _SHEET_ENTRY.finditer(workbook_xml):
        attributes = dict(_ATTRIBUTE.findall(match.group(1)))
        name = unescape(attributes.get(b"name", b"").decode("utf-8", "replace"), XML_QUOTES)
        rel_id = next((v.decode() for k, v in attributes.items() if k.endswith(b":id")), "")
        if rel_id in targets:
            parts[name] = targets[rel_id]
        state = attributes.get(b"state", b"visible").decode("ascii", "replace")
        if state != "visible":
            states[name] = state
    return parts, states


def _has(archive: zipfile.ZipFile, name: str) -> bool:
    try:
        archive.getinfo(name)
    except KeyError:
        return False
    return True


def inspect_workbook(
    path: str | Path,
    sheets_to_scan: Sequence[str] | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Inspection:
    """Check a file is a safe, readable workbook before any parser sees it.

    Raises :class:`UnreadableWorkbook` with a reason staff understand.
    ``sheets_to_scan`` (default: all) are pre-scanned for their extent and error cells.
    """
    path = Path(path)
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        raise _refuse(
            path,
            "the file name is not valid text (it was probably made on another system): rename "
            "the file and run again",
        ) from None
    if not path.exists():
        raise _refuse(path, "no such file")
    if path.is_dir():
        raise _refuse(path, "is a folder, not a workbook")
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError as error:
        raise _refuse(path, f"cannot be opened ({error.strerror or error})") from None
    if size == 0:
        raise _refuse(path, "the file is empty (0 bytes): ask for the workbook to be sent again")
    if not head.startswith(b"PK"):
        raise _refuse(path, _sniff_non_zip(path, head))
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _refuse(
            path,
            "the workbook is damaged or incomplete (not a readable zip file): ask for it to be "
            "saved and sent again",
        ) from None
    with archive:
        infos = archive.infolist()
        names = [info.filename for info in infos]
        if len(infos) > limits.max_members:
            raise _refuse(path, f"the file holds {len(infos):,} parts; a workbook has far fewer")
        if len(set(names)) != len(names):
            duplicate = next(n for n in names if names.count(n) > 1)
            raise _refuse(
                path,
                f"the file holds the part {duplicate} twice (a duplicate part: a tampered or "
                "damaged file): ask for it to be saved again from Excel and sent again",
            )
        if "mimetype" in names:
            mimetype = archive.read("mimetype")[:100]
            if b"opendocument.spreadsheet" in mimetype:
                raise _refuse(
                    path,
                    "this is an OpenDocument spreadsheet (.ods) renamed to .xlsx: open it and "
                    "save it as an Excel Workbook (.xlsx)",
                )
        if "word/document.xml" in names:
            raise _refuse(
                path, "this is a Word document, not a workbook: send the plan as an .xlsx workbook"
            )
        if "xl/workbook.xml" not in names:
            if "xl/workbook.bin" in names:
                raise _refuse(
                    path,
                    "this is an Excel Binary Workbook (.xlsb): save it as an Excel Workbook "
                    "(.xlsx)",
                )
            raise _refuse(path, "this zip file is not an Excel workbook (no xl/workbook.xml)")
        total = 0
        for info in infos:
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise _refuse(
                    path,
                    f"part {info.filename} uses an unsupported compression method "
                    f"({info.compress_type}); save the workbook again from Excel",
                )
            if info.file_size > limits.max_part_bytes:
                raise _refuse(
                    path,
                    f"part {info.filename} declares {info.file_size:,} bytes, over the limit of "
                    f"{limits.max_part_bytes:,}",
                )
            total += info.file_size
            if (
                info.file_size > limits.ratio_floor_bytes
                and info.file_size > limits.max_compression_ratio * max(info.compress_size, 1)
            ):
                raise _refuse(
                    path,
                    f"part {info.filename} is compressed more than "
                    f"{limits.max_compression_ratio:.0f}:1 (a zip bomb): the workbook was not read",
                )
        if total > limits.max_total_bytes:
            raise _refuse(
                path,
                f"the workbook inflates to {total:,} bytes, over the limit of "
                f"{limits.max_total_bytes:,}",
            )

        inflated_total = 0
        contents: dict[str, bytes] = {}

        def read(name: str) -> bytes:
            nonlocal inflated_total
            if name not in contents:
                data = _read_member(archive, archive.getinfo(name), limits, path)
                inflated_total += len(data)
                if inflated_total > limits.max_total_bytes:
                    raise _refuse(
                        path, f"the workbook inflates beyond {limits.max_total_bytes:,} bytes"
                    )
                contents[name] = data
            return contents[name]

        try:
            for info in infos:
                is_xml = info.filename.lower().endswith((".xml", ".rels", ".vml"))
                if is_xml and _DOCTYPE.search(_prolog(archive, info)):
                    raise _refuse(
                        path,
                        f"part {info.filename} contains a DOCTYPE declaration, which "
                        "workbooks never need (possible XML entity attack): not read",
                    )
            sheet_parts, states = _sheets(archive, read)
            scan = (
                sheet_parts
                if sheets_to_scan is None
                else {
                    name: member
                    for name, member in sheet_parts.items()
                    if name.strip().lower() in {s.lower() for s in sheets_to_scan}
                }
            )
            errors: dict[str, dict[tuple[int, int], str]] = {}
            strays: dict[str, list[str]] = {}
            for name, member in scan.items():
                if not _has(archive, member):
                    continue
                errors[name], found = _scan_sheet(path, name, read(member), limits)
                if found:
                    strays[name] = found
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, zlib.error):
            raise _refuse(
                path,
                "the workbook is damaged or incomplete (a part of it cannot be unpacked): ask "
                "for it to be saved and sent again",
            ) from None
    return Inspection(sheet_parts, errors, strays, states)


def _prolog(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """The start of an XML part up to its root element: where a DOCTYPE would have to be."""
    seen = b""
    chunk_size = 1024  # a prolog is a line or two: most parts need one small read
    with archive.open(info) as member:
        while len(seen) < 4 * 1024 * 1024:
            chunk = member.read(chunk_size)
            chunk_size = 64 * 1024
            if not chunk:
                break
            seen += chunk
            root = _ROOT_START.search(seen)
            if root:
                return seen[: root.start()]
    return seen


def _check_grid(path: Path, sheet: str, data: bytes) -> None:
    """Refuse a sheet with a reference outside A1:XFD1048576 or not a reference at all:
    the Rust reader aborts the whole process on one (an allocation no ``try`` can catch)."""
    bad = _BAD_REF.search(data)
    if bad:
        text = bad.group(1).decode("ascii", "replace")
        raise _refuse(
            path,
            f"sheet '{sheet}' has a cell reference '{text}' outside Excel's grid "
            "(A1:XFD1048576): the workbook is damaged or was not made by a spreadsheet "
            "program; ask for it to be saved again from Excel and sent again",
        )


def _strays(cells: list[tuple[int, int]]) -> set[tuple[int, int]]:
    """Values far below or right of all the rest: past a gap of STRAY_GAP_ROWS empty rows
    or STRAY_GAP_COLUMNS empty columns."""

    def beyond_gap(numbers: set[int], gap: int) -> int | None:
        ordered = sorted(numbers)
        for before, after in zip(ordered, ordered[1:], strict=False):
            if after - before > gap:
                return after
        return None

    first_far_row = beyond_gap({row for row, _ in cells}, STRAY_GAP_ROWS)
    first_far_column = beyond_gap({column for _, column in cells}, STRAY_GAP_COLUMNS)
    return {
        (row, column)
        for row, column in cells
        if (first_far_row is not None and row >= first_far_row)
        or (first_far_column is not None and column >= first_far_column)
    }


def _scan_sheet(
    path: Path, sheet: str, data: bytes, limits: Limits
) -> tuple[dict[tuple[int, int], str], list[str]]:
    """Check a sheet's references and extent before the Rust reader sees it: its error
    cells, and the stray values far outside its table (as "XFD1048576") to leave out.

    Only cells holding something count: staff format whole columns and sheets, and a
    styled empty cell at XFD1048576 costs the reader nothing.
    """
    if _other_white_space(data) and _OTHER_SPACE_REF.search(data):
        data = re.sub(rb'\sr="', b' r="', data)
    if limits.max_sheet_cells >= _SMALL_EXTENT_CELLS and not _ODD_REF.search(data):
        return _error_cells(data), []  # every reference is within Z99999: nothing to measure
    _check_grid(path, sheet, data)
    cells = _valued_cells(data)
    if _size(cells) <= limits.max_sheet_cells:
        return _error_cells(data), []
    strays = _strays(cells)
    kept = [cell for cell in cells if cell not in strays]
    if len(strays) > MAX_STRAY_CELLS or _size(kept) > limits.max_sheet_cells:
        max_row = max(row for row, _ in cells)
        max_column = max(column for _, column in cells)
        raise _refuse(
            path,
            f"sheet '{sheet}' has values out to {column_letters(max_column)}{max_row}, far "
            f"beyond any plan's table ({_size(cells):,} cells; the limit is "
            f"{limits.max_sheet_cells:,}): delete the stray rows and columns past the end of "
            "the table and save again",
        )
    return _error_cells(data), [f"{column_letters(c)}{r}" for r, c in sorted(strays)]


def _other_white_space(data: bytes) -> bool:
    """Whether a sheet has tabs or line breaks past its XML declaration: spreadsheet
    programs write none, so the search for references after them is nearly always
    skipped (a search for one byte costs a tenth of a search for a pattern)."""
    return any(data.find(byte, 256) >= 0 for byte in (b"\n", b"\r", b"\t"))


def _valued_cells(data: bytes) -> list[tuple[int, int]]:
    """(row, 0-based column) of every cell holding something: found from its content
    back to its start tag, so a sheet of a million styled empty cells costs little."""
    cells = []
    start = 0
    for content in _CONTENT.finditer(data):
        if content.start() < start:
            continue  # a second part of a cell already counted (a formula and its value)
        tag = data.rfind(b"<c ", 0, content.start())
        end = data.find(b">", tag)
        reference = _CELL_REF.search(data, tag, end)
        if tag < 0 or reference is None:
            continue
        cells.append((int(reference.group(2)), column_index(reference.group(1).decode())))
        start = data.find(b"</c>", content.start())
    return cells


def _size(cells: list[tuple[int, int]]) -> int:
    """How many cells a reader allocates for these: the rectangle from A1 to the farthest."""
    if not cells:
        return 0
    return max(row for row, _ in cells) * (max(column for _, column in cells) + 1)


def _error_cells(data: bytes) -> dict[tuple[int, int], str]:
    errors: dict[tuple[int, int], str] = {}
    if b't="e"' in data:
        for match in _ERROR_CELL.finditer(data):
            value = _VALUE.search(match.group(3))
            text = value.group(1).decode("utf-8", "replace") if value else "#VALUE!"
            errors[(int(match.group(2)) - 1, column_index(match.group(1).decode()))] = text
    return errors


# --------------------------------------------------------------------------
# Finding the header
# --------------------------------------------------------------------------
def locate_header(
    rows: Sequence[Sequence[object]], search_rows: int = DEFAULT_LIMITS.header_search_rows
) -> tuple[int, dict[int, str]] | None:
    """Find the Actions header row among the first rows of a sheet.

    Returns the 0-based row index and a map from 0-based column index to the
    standard column name, or None when no row looks like a header. The best row
    is the one naming the most standard columns (at least three), the first on a tie.
    """
    best: tuple[int, dict[int, str]] | None = None
    for row_index, row in enumerate(rows[:search_rows]):
        mapping: dict[int, str] = {}
        for column_index_, value in enumerate(row):
            if not isinstance(value, str) or len(value) > 80:
                continue  # headings are short; long text is data
            name = model.canonical_action_header(value)
            if name and name not in mapping.values():
                mapping[column_index_] = name
        if len(mapping) >= 3 and (best is None or len(mapping) > len(best[1])):
            best = (row_index, mapping)
        if best and len(best[1]) == len(model.ACTION_COLUMN_NAMES):
            break  # every standard column found: no later row can do better
    return best


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------
def _find_sheet(names: Sequence[str], wanted: str) -> str | None:
    for name in names:
        if name.strip().lower() == wanted.lower():
            return name
    return None


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _honest_value(column: str | None, value: object) -> object:
    """Turn a raw calamine value into what staff meant, without guessing."""
    if isinstance(value, CellError):
        return value
    if isinstance(value, str):
        return None if not value or value.isspace() else value  # as read_plan's short way
    if isinstance(value, dt.datetime):
        # Plans deal in days: a time of day on a due date is noise from the typing.
        return value.date() if column in model.DATE_COLUMNS else value
    if isinstance(value, float) and column in (model.REF, model.GRADE, model.STATUS):
        # A number typed into a text column: 7.0 was typed as 7.
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, float) and value.is_integer() and column not in model.DATE_COLUMNS:
        return int(value)
    return value


class SafeWorkbook:
    """A workbook opened with python-calamine only after :func:`inspect_workbook` passed it.

    ``sheets`` names the sheets that will be read (None: all), so each is pre-scanned.
    calamine's errors, and its Rust panics (which Python sees as BaseException), become
    :class:`UnreadableWorkbook`: one damaged file is a finding, never a crash.
    """

    def __init__(
        self,
        path: str | Path,
        sheets: Sequence[str] | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        from python_calamine import CalamineWorkbook

        self.path = Path(path)
        self.inspection = inspect_workbook(self.path, sheets_to_scan=sheets, limits=limits)
        self._scanned = None if sheets is None else {name.strip().lower() for name in sheets}
        self._errors = {k.strip().lower(): v for k, v in self.inspection.error_cells.items()}
        if self.inspection.strays:
            # The reader gets a copy without the stray values, which it would allocate the
            # whole grid for; they are reported (see read_plan), not read.
            copy = _without_strays(self.path, self.inspection)
            self._workbook = self._guard(
                "the workbook", lambda: CalamineWorkbook.from_filelike(io.BytesIO(copy))
            )
        else:
            self._workbook = self._guard(
                "the workbook", lambda: CalamineWorkbook.from_path(str(path))
            )
        self.sheet_names: list[str] = self._guard(
            "the workbook", lambda: list(self._workbook.sheet_names)
        )

    def _guard(self, what: str, function):
        try:
            return function()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as error:  # pyo3 turns Rust panics into BaseException
            raise _refuse(self.path, f"{what} could not be read ({error})") from None

    def find_sheet(self, wanted: str) -> str | None:
        return _find_sheet(self.sheet_names, wanted)

    def rows(self, name: str) -> list[list[object]]:
        """A sheet's cells from A1, error cells as :class:`CellError`."""
        if self._scanned is not None and name.strip().lower() not in self._scanned:
            raise ValueError(f"sheet {name!r} was not inspected before reading")
        rows = self._guard(
            f"sheet '{name}'",
            lambda: self._workbook.get_sheet_by_name(name).to_python(skip_empty_area=False),
        )
        for (row, column), text in self._errors.get(name.strip().lower(), {}).items():
            if row < len(rows) and column < len(rows[row]):
                rows[row][column] = CellError(text)
        return rows


def _sheet_staff_see(
    workbook: SafeWorkbook, hidden: str, limits: Limits
) -> tuple[SafeWorkbook, str, list[list[object]]]:
    """The first visible sheet holding an actions table, else the hidden Actions sheet."""
    everything = SafeWorkbook(workbook.path, None, limits)  # every sheet inspected
    for name in everything.sheet_names:
        if name in everything.inspection.hidden or name == hidden:
            continue
        rows = everything.rows(name)
        if locate_header(rows, limits.header_search_rows) is not None:
            return everything, name, rows
    return everything, hidden, everything.rows(hidden)


def hidden_actions_finding(read_from: str, state: str, workbook: SafeWorkbook) -> Finding:
    """The error that an Actions sheet is hidden, naming it and the sheet that was read."""
    from xltools import catalogue

    hidden = workbook.find_sheet(model.ACTIONS_SHEET) or model.ACTIONS_SHEET
    how = "very hidden (only a macro can show it)" if state == "veryHidden" else "hidden"
    if read_from != hidden:
        consequence = (
            f"the table staff see, on sheet '{read_from}', was read instead. Delete the hidden "
            "sheet or unhide it and move the actions onto it."
        )
    else:
        consequence = (
            "staff cannot see the actions that were read. Unhide it (right-click a sheet tab "
            "> Unhide) and check it."
        )
    return catalogue.finding(
        HIDDEN_ACTIONS_SHEET,
        sheet=hidden,
        value=state,
        hidden=hidden,
        how=how,
        consequence=consequence,
    )


def stray_cell_finding(sheet: str, cell: str) -> Finding:
    """The warning that a value far outside the table was left out."""
    from xltools import catalogue

    return catalogue.finding(STRAY_CELL, sheet=sheet, cell=cell, where=cell)


def _without_strays(path: Path, inspection: Inspection) -> bytes:
    """The workbook, in memory, with the stray values of its sheets taken out."""
    members = {inspection.sheet_parts[sheet]: refs for sheet, refs in inspection.strays.items()}
    copy = io.BytesIO()
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(copy, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            for reference in members.get(info.filename, ()):
                cell = rb'<c\b[^>]*?\br="' + reference.encode() + rb'"[^>]*?(?:/>|>.*?</c>)'
                data = re.sub(cell, b"", data, count=1, flags=re.DOTALL)
            target.writestr(info.filename, data)
    return copy.getvalue()


def read_plan(path: str | Path, limits: Limits = DEFAULT_LIMITS) -> PlanTable:
    """Read one plan workbook (inspected first). Raises UnreadableWorkbook."""
    path = Path(path)
    workbook = SafeWorkbook(path, (model.ACTIONS_SHEET, model.PLAN_SHEET), limits)
    table = PlanTable(path=path)
    plan_sheet = workbook.find_sheet(model.PLAN_SHEET)
    if plan_sheet is not None:
        table.has_plan_sheet = True
        _read_plan_values(workbook.rows(plan_sheet), table)

    actions_sheet = workbook.find_sheet(model.ACTIONS_SHEET)
    if actions_sheet is None:
        raise _refuse(
            path,
            "there is no 'Actions' sheet: this is not a standard plan workbook (use "
            "'xltools import' for plans in other layouts)",
        )
    state = workbook.inspection.hidden.get(actions_sheet)
    if state is not None:
        # What the coordinator sees must be what staff see: a table on a visible sheet
        # is read instead of the hidden one, and either way the hiding is an error.
        workbook, actions_sheet, rows = _sheet_staff_see(workbook, actions_sheet, limits)
        table.notes.append(hidden_actions_finding(actions_sheet, state, workbook))
    else:
        rows = workbook.rows(actions_sheet)
    for sheet, references in workbook.inspection.strays.items():
        if sheet in (actions_sheet, plan_sheet):
            table.notes.extend(stray_cell_finding(sheet, cell) for cell in references)
    table.actions_sheet = actions_sheet
    header = locate_header(rows, limits.header_search_rows)
    if header is None:
        raise _refuse(
            path,
            f"no header row found in the first {limits.header_search_rows} rows of sheet "
            f"'{actions_sheet}': the headings (Ref, Action, Lead officer, Status, ...) are missing",
        )
    header_index, mapping = header
    table.header_row = header_index + 1
    table.columns = {name: column_letters(index) for index, name in mapping.items()}
    header_cells = rows[header_index]
    extras = {
        index: str(value).strip()
        for index, value in enumerate(header_cells)
        if index not in mapping and not _blank(value)
    }
    table.extra_columns = list(extras.values())
    for name, letter in zip(extras.values(), extras.keys(), strict=True):
        table.columns.setdefault(name, column_letters(letter))
    table.missing_columns = [c for c in model.ACTION_COLUMN_NAMES if c not in mapping.values()]

    # Every cell of every plan passes here: text and empty cells (most of them) take
    # the short way; anything else is judged by _honest_value.
    fields = [(index, name, name) for index, name in mapping.items()]
    fields += [(index, name, None) for index, name in extras.items()]
    for row_index in range(header_index + 1, len(rows)):
        row = rows[row_index]
        width = len(row)
        record: dict[str, object] = {}
        found = False
        for index, name, column in fields:
            value = row[index] if index < width else None
            if value.__class__ is str:
                value = None if not value or value.isspace() else value
            elif value is not None:
                value = _honest_value(column, value)
            record[name] = value
            found = found or value is not None
        if not found:
            continue  # a blank row, or stray text beside the table outside any known column
        for column, meaning in _MEANINGS:
            typed = record.get(column)
            if typed.__class__ is str:
                meant = meaning(typed)
                if meant is not None and meant != typed:
                    record[column] = meant
                    table.as_typed[(len(table.records), column)] = typed
        table.records.append(record)
        table.source_rows.append(row_index + 1)
    return table


# Text that means one value of a typed column: what it is read as (None: stays text).
_MEANINGS = (
    *((column, exact_date) for column in model.DATE_COLUMNS),
    (model.STATUS, model.canonical_status),
)
TYPED_COLUMNS = tuple(column for column, _ in _MEANINGS)


def _read_plan_values(rows: list[list[object]], table: PlanTable) -> None:
    for row_index, row in enumerate(rows):
        cells = [(i, v) for i, v in enumerate(row) if not _blank(v)]
        if not cells:
            continue
        label_index, label = cells[0]
        name = model.canonical_plan_label(label) if isinstance(label, str) else None
        if name is None or name in table.plan:
            continue
        value = row[label_index + 1] if label_index + 1 < len(row) else None
        value = _honest_value(None, value)
        if isinstance(value, dt.datetime) and value.time() == dt.time():
            value = value.date()
        table.plan[name] = value
        table.plan_cells[name] = f"{column_letters(label_index + 1)}{row_index + 1}"
