"""Legacy plans as rows of text cells, whatever file they come in.

Councils' plans arrive as Word tables exported to text (cells separated by
tabs, or one cell per line), as CSV, or as workbooks in their own layout.
``load_rows`` turns each into the same thing: a list of :class:`SourceRow`,
each with its line (or sheet row) number and its cells as plain text, HTML
fragments turned into readable text with each bullet on its own line. Blank
lines are kept as empty rows, because "directly above the header" matters to
the layout reader.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from xltools import model
from xltools.errors import UnreadableWorkbook
from xltools.importers.headers import header_score, header_target

BULLETS = "•▪◦‣●■–"  # characters Word uses for list bullets
MAX_TEXT_BYTES = 20 * 1024 * 1024


@dataclass
class SourceRow:
    line: int  # 1-based line or sheet row where the row starts
    cells: list[str]

    @property
    def blank(self) -> bool:
        return not any(self.cells)


class _TextExtractor(HTMLParser):
    """HTML fragment to text: block elements and list items start new lines."""

    BLOCKS = {"p", "div", "br", "ul", "ol", "li", "tr", "table", "h1", "h2", "h3", "h4"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "li":
            self.parts.append("\n• ")
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        self.parts.append(data)


_TAG = re.compile(r"</?[a-zA-Z][^>]*>")


def cell_text(raw: str) -> str:
    """Readable text of one cell: HTML removed, bullets one per line, spacing tidied."""
    text = raw
    if _TAG.search(text):
        extractor = _TextExtractor()
        extractor.feed(text)
        extractor.close()
        text = "".join(extractor.parts)
    else:
        text = html.unescape(text)
    text = text.replace("\r", "").replace("\xa0", " ")
    # A bullet character in running text starts a new item.
    text = re.sub(rf"\s*(?<![\w])[{BULLETS[:-1]}]\s+", "\n• ", text)
    lines = [" ".join(line.split()) for line in text.split("\n")]
    cleaned: list[str] = []
    for line in lines:
        if line or (cleaned and cleaned[-1]):
            cleaned.append(line)
    return "\n".join(cleaned).strip()


def _looks_like_ref(text: str) -> bool:
    return bool(re.fullmatch(r"\d{1,3}(\.\d{1,3})*[a-z]?\.?", text.strip()))


def _tab_rows(lines: list[str]) -> list[SourceRow]:
    return [
        SourceRow(number, [cell_text(cell) for cell in line.split("\t")] if line.strip() else [])
        for number, line in enumerate(lines, start=1)
    ]


def _cell_per_line_rows(lines: list[str]) -> list[SourceRow]:
    """Word's other text export: each cell starts a line with a tab; other lines continue it.

    Lines before the first cell are title rows of their own. A table row starts
    at a cell that looks like a reference (1.4.1), at a cell naming the Ref
    column (a repeated header), or at the first cell after a title row.
    """
    rows: list[SourceRow] = []
    raw_cells: list[list[str]] = []  # the raw text of each row's cells
    title_row = False
    for number, line in enumerate(lines, start=1):
        if line.startswith("\t"):
            first_line = line[1:].strip()
            if (
                not rows
                or title_row
                or _looks_like_ref(first_line)
                or (first_line and len(first_line) < 20 and header_target(first_line) == "Ref")
            ):
                rows.append(SourceRow(number, []))
                raw_cells.append([])
            raw_cells[-1].append(line[1:])
            title_row = False
        elif raw_cells and raw_cells[-1] and not title_row:
            raw_cells[-1][-1] += "\n" + line
        else:
            rows.append(SourceRow(number, []))
            raw_cells.append([line] if line.strip() else [])
            title_row = True
    for row, cells in zip(rows, raw_cells, strict=True):
        row.cells = [cell_text(cell) for cell in cells] if any(c.strip() for c in cells) else []
    return rows


def _is_cell_per_line(lines: list[str]) -> bool:
    content = [line for line in lines if line.strip()]
    if not content:
        return False
    tab_led_single = sum(1 for line in content if line.startswith("\t") and line.count("\t") == 1)
    multi_tab = sum(1 for line in content if line.count("\t") >= 2)
    return tab_led_single > 3 * max(multi_tab, 1)


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def load_rows(path: str | Path) -> tuple[list[SourceRow], str]:
    """Rows of text cells from a legacy plan, and the name of the layout reader used."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _workbook_rows(path), "workbook"
    try:
        size = path.stat().st_size
        if size > MAX_TEXT_BYTES:
            raise UnreadableWorkbook(f"the file is larger than {MAX_TEXT_BYTES:,} bytes", path)
        text = _decode(path.read_bytes())
    except FileNotFoundError:
        raise UnreadableWorkbook("no such file", path) from None
    except OSError as error:
        raise UnreadableWorkbook(f"cannot be read ({error.strerror})", path) from None
    if suffix == ".csv":
        try:
            dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        rows = [
            SourceRow(number, [cell_text(c) for c in row] if any(c.strip() for c in row) else [])
            for number, row in enumerate(csv.reader(io.StringIO(text), dialect), start=1)
        ]
        return rows, "csv"
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if _is_cell_per_line(lines):
        return _cell_per_line_rows(lines), "text, one cell per line"
    return _tab_rows(lines), "text, tab-separated cells"


def _workbook_rows(path: Path) -> list[SourceRow]:
    from xltools.read import SafeWorkbook

    workbook = SafeWorkbook(path)
    best: list[SourceRow] = []
    best_score = -1
    for name in workbook.sheet_names:
        grid = workbook.rows(name)
        rows = [
            SourceRow(number, [_as_text(v) for v in row] if any(v != "" for v in row) else [])
            for number, row in enumerate(grid, start=1)
        ]
        score = max((header_score(r.cells) for r in rows[: model.HEADER_SEARCH_ROWS]), default=0)
        if score > best_score:
            best, best_score = rows, score
    return best


def _as_text(value: object) -> str:
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return cell_text(str(value)) if value is not None else ""
