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
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from xml.sax.saxutils import unescape

from xltools import model
from xltools.cells import column_index, column_letters
from xltools.dates import exact_date
from xltools.errors import UnreadableWorkbook

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
XML_QUOTES = {"&quot;": '"', "&apos;": "'"}
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


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
        return "this is a web page (HTML) renamed to .xlsx: open it in Excel and save as .xlsx"
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
# A reference past column Z or row 99,999. A sheet with none (nearly every plan)
# cannot reach past Z99999, so one quick search settles its extent.
_FAR_REF = re.compile(rb'r="(?:[A-Z]{2}|[A-Z]?[0-9]{6})')
_SMALL_EXTENT_CELLS = 99_999 * 26
_CELL_REF_FIRST = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"')
_ROW_REF_FIRST = re.compile(rb'<row r="([0-9]{1,7})"')
_CELL_COLUMN = re.compile(rb'<c\b[^>]*?\br="([A-Z]{1,3})[0-9]')
_ROW_NUMBER = re.compile(rb'<(?:row|c)\b[^>]*?\br="[A-Z]{0,3}([0-9]{1,7})"')
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
    for match in _SHEET_ENTRY.finditer(workbook_xml):
        attributes = dict(_ATTRIBUTE.findall(match.group(1)))
        name = unescape(attributes.get(b"name", b"").decode("utf-8", "replace"), XML_QUOTES)
        rel_id = next((v.decode() for k, v in attributes.items() if k.endswith(b":id")), "")
        if rel_id in targets:
            parts[name] = targets[rel_id]
    return parts


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
                path, f"the file holds the part {duplicate} twice (a tampered or damaged file)"
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
                    f"{limits.max_compression_ratio:.0f}:1 (a zip bomb?): the workbook was not "
                    "read",
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
            sheet_parts = _sheet_parts(archive, read)
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
            for name, member in scan.items():
                if not _has(archive, member):
                    continue
                errors[name] = _scan_sheet(path, name, read(member), limits)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError) as error:
            raise _refuse(
                path,
                f"the workbook is damaged or incomplete ({error}): ask for it to be saved and "
                "sent again",
            ) from None
    return Inspection(sheet_parts, errors)


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


def _extent(data: bytes) -> tuple[int, int]:
    """The last row (1-based) and column (0-based) any cell or row of a sheet claims."""
    cells = _CELL_REF_FIRST.findall(data)
    rows = _ROW_REF_FIRST.findall(data)
    if len(cells) == data.count(b"<c ") and len(rows) == data.count(b"<row "):
        # Every element put its r= first, as Excel and most writers do: the quick way.
        numbers = [*rows, *(number for _, number in cells)]
        letters = {letters for letters, _ in cells}
    else:
        numbers = _ROW_NUMBER.findall(data)
        letters = set(_CELL_COLUMN.findall(data))
    max_row = max(map(int, numbers), default=0)
    widest = max(letters, key=lambda text: (len(text), text), default=b"")
    return max_row, column_index(widest.decode()) if widest else -1


def _scan_sheet(path: Path, sheet: str, data: bytes, limits: Limits) -> dict[tuple[int, int], str]:
    """Refuse a sheet whose cells reach far beyond any table; find its error cells."""
    if limits.max_sheet_cells >= _SMALL_EXTENT_CELLS and not _FAR_REF.search(data):
        return _error_cells(data)  # every reference is within Z99999: nothing to measure
    max_row, max_col = _extent(data)
    cells = max_row * (max_col + 1)
    if cells > limits.max_sheet_cells:
        raise _refuse(
            path,
            f"sheet '{sheet}' has cells out to {column_letters(max_col)}{max_row}, far beyond any "
            f"plan's table ({cells:,} cells; the limit is {limits.max_sheet_cells:,}): delete "
            "the stray rows and columns past the end of the table and save again",
        )
    return _error_cells(data)


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
        self._workbook = self._guard("the workbook", lambda: CalamineWorkbook.from_path(str(path)))
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
    table.actions_sheet = actions_sheet
    rows = workbook.rows(actions_sheet)
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
