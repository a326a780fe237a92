"""Adding or refreshing live status colouring on a workbook staff have edited.

Staff reorder columns, add their own, insert rows, and save from Excel or
LibreOffice. ``colour_workbook`` finds the Actions columns by header name,
removes any colouring rules xltools added before (recognised by their formula
shape, whatever columns they pointed at), and adds the current rules from
:mod:`xltools.styles` over the table and 500 rows beyond. The dropdowns and
date and email checks on the standard columns grow to the same last row (so no
row has colours without dropdowns), and Ref cells get the Text format. Everything
else is left as openpyxl loaded it: values, other sheets, the staff's own data
validations and conditional formats, comments, widths, freeze panes.

openpyxl cannot keep everything a workbook may hold (images, charts, shapes,
slicers, some Excel 2010+ extensions). ``colour_workbook`` refuses such files
unless ``force`` is set, rather than silently dropping parts of them, and says
what would be lost by looking inside: a drawing part is counted by what it
holds (LibreOffice saves an empty one into every workbook, which loses nothing).
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from xltools import model, styles
from xltools.errors import UnreadableWorkbook, UnsafeToEdit
from xltools.fileio import atomic_path, backup_copy
from xltools.read import inspect_workbook, locate_header
from xltools.words import noun

EXTRA_ROWS = 500

# Parts of a package that openpyxl drops or damages on save, in staff words.
# Drawings (pictures, shapes, charts) are judged by what they hold: see _drawing_contents.
_LOST_PARTS = (
    (re.compile(r"^xl/chartsheets/"), "chart sheets"),
    (re.compile(r"^xl/pivotTables/"), "pivot tables"),
    (re.compile(r"^xl/slicers?/|^xl/slicerCaches/"), "slicers"),
    (re.compile(r"^xl/timelines?/"), "timelines"),
    (re.compile(r"^xl/embeddings/"), "embedded objects"),
    (re.compile(r"^xl/richData/"), "pictures placed in cells"),
    (re.compile(r"^xl/activeX/"), "ActiveX controls"),
    (re.compile(r"^xl/ctrlProps/"), "form controls (buttons, check boxes, lists)"),
)
# Old-style (VML) drawings: openpyxl keeps the comments' boxes ("Note") and drops the rest,
# such as the buttons Excel still draws this way.
_VML = re.compile(r"^xl/drawings/[^/]+\.vml$")
_VML_OBJECT = re.compile(rb'ObjectType\s*=\s*"(\w+)"')
_LOST_EXTENSIONS = (
    (b"x14:dataValidation", "Excel 2010+ data validations (dropdowns reading another sheet)"),
    (b"x14:conditionalFormatting", "Excel 2010+ conditional formats (data bars, icon sets)"),
    (b"x14:sparklineGroup", "sparklines"),
    (b"<legacyDrawingHF", "pictures in the page header or footer"),
)
_DRAWING = re.compile(r"^xl/drawings/drawing\d+\.xml$")
_XDR = "{http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing}"
_ANCHORS = {f"{_XDR}twoCellAnchor", f"{_XDR}oneCellAnchor", f"{_XDR}absoluteAnchor"}
# What each kind of drawing object is, in staff words (singular, plural).
_OBJECT_WORDS = {
    "pic": ("picture", "pictures"),
    "sp": ("shape", "shapes"),
    "cxnSp": ("connector line", "connector lines"),
    "grpSp": ("group of shapes", "groups of shapes"),
    "chart": ("chart", "charts"),
    "diagram": ("SmartArt diagram", "SmartArt diagrams"),
    "graphicFrame": ("embedded object", "embedded objects"),
    "contentPart": ("ink drawing", "ink drawings"),
}
_MAX_DRAWING_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class ColourResult:
    output: Path
    backup: Path | None
    columns: dict[str, str]  # column name -> letter
    rules_removed: int
    rules_added: int
    rows: str  # the range coloured, e.g. "2:512"
    warnings: tuple[str, ...]
    dropdowns_extended: int = 0  # dropdowns and other checks grown to the coloured rows


def parts_openpyxl_would_lose(path: str | Path) -> list[str]:
    """What saving this workbook with openpyxl would lose, in words staff understand.

    A drawing part is judged by what it holds: LibreOffice writes an empty one
    into every workbook it saves, and an empty drawing loses nothing. Pictures,
    shapes and charts are counted and named with their sheet, e.g.
    ``2 pictures on sheet Actions (Logo, Signature)``.
    """
    lost: list[str] = []
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        drawing_sheets = _drawing_sheets(archive)
        for name in sorted(n for n in names if _DRAWING.match(n)):
            lost.extend(_drawing_contents(archive, name, drawing_sheets.get(name, "")))
        for pattern, what in _LOST_PARTS:
            if any(pattern.search(name) for name in names) and what not in lost:
                lost.append(what)
        controls = "form controls (buttons, check boxes, lists)"
        for name in names:
            if (
                _VML.match(name)
                and controls not in lost
                and any(kind != b"Note" for kind in _VML_OBJECT.findall(archive.read(name)))
            ):
                lost.append(controls)
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                data = archive.read(name)
                for marker, what in _LOST_EXTENSIONS:
                    if marker in data and what not in lost:
                        lost.append(what)
    return lost


def _drawing_sheets(archive: zipfile.ZipFile) -> dict[str, str]:
    """Each drawing part and the sheet it is drawn on."""
    from posixpath import dirname, join, normpath

    from xltools.read import _sheet_parts

    found: dict[str, str] = {}
    for sheet, part in _sheet_parts(archive, archive.read).items():
        rels = join(dirname(part), "_rels", part.rsplit("/", 1)[-1] + ".rels")
        if rels not in archive.namelist():
            continue
        for target in re.findall(rb'Target="([^"]+/drawings/[^"]+)"', archive.read(rels)):
            text = target.decode("utf-8", "replace")
            resolved = (
                text.lstrip("/") if text.startswith("/") else normpath(join(dirname(part), text))
            )
            found[resolved] = sheet
    return found


def _drawing_contents(archive: zipfile.ZipFile, name: str, sheet: str) -> list[str]:
    """The objects a drawing part holds, counted by kind: nothing for an empty drawing."""
    from defusedxml import DefusedXmlException, ElementTree

    info = archive.getinfo(name)
    if info.file_size > _MAX_DRAWING_BYTES:
        return [f"a drawing of {info.file_size:,} bytes" + (f" on sheet {sheet}" if sheet else "")]
    try:
        root = ElementTree.fromstring(archive.read(name))
    except (ElementTree.ParseError, DefusedXmlException):
        # A damaged or hostile drawing: say it is there rather than guess what it holds.
        return ["pictures, shapes or charts" + (f" on sheet {sheet}" if sheet else "")]
    kinds: dict[str, list[str]] = {}
    for anchor in root:
        if anchor.tag not in _ANCHORS:
            continue
        for item in anchor:
            kind = item.tag.rsplit("}", 1)[-1]
            if kind not in _OBJECT_WORDS:
                continue  # the anchor's position and client data
            if kind == "graphicFrame":
                uri = next(
                    (e.get("uri", "") for e in item.iter() if e.tag.endswith("graphicData")), ""
                )
                kind = "chart" if "/chart" in uri else "diagram" if "diagram" in uri else kind
            label = next((e.get("name", "") for e in item.iter() if e.tag.endswith("cNvPr")), "")
            kinds.setdefault(kind, []).append(label)
    described = []
    for kind, labels in kinds.items():
        one, many = _OBJECT_WORDS[kind]
        text = f"{len(labels)} {one if len(labels) == 1 else many}"
        if sheet:
            text += f" on sheet {sheet}"
        named = [label for label in labels if label]
        if named:
            shown = ", ".join(named[:5]) + (", ..." if len(named) > 5 else "")
            text += f" ({shown})"
        described.append(text)
    return described


def colour_workbook(
    source: str | Path,
    output: str | Path | None = None,
    *,
    in_place: bool = False,
    force: bool = False,
) -> ColourResult:
    """Add or refresh the RAG colouring on ``source``, writing ``output`` (or in place)."""
    from openpyxl import load_workbook
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.styles import Font, PatternFill

    source = Path(source)
    if in_place == (output is not None):
        raise ValueError("give exactly one of output or in_place")
    target = source if in_place else Path(output)
    inspect_workbook(source, sheets_to_scan=(model.ACTIONS_SHEET,))
    warnings: list[str] = []
    lost = parts_openpyxl_would_lose(source)
    if lost and not force:
        raise UnsafeToEdit(
            "the workbook holds " + ", ".join(lost) + ", which would be lost when it is "
            "saved again: remove them first",
            source,
            lost=tuple(lost),
        )
    if lost:
        warnings.append("lost on saving (colouring was forced): " + ", ".join(lost))

    keep_vba = source.suffix.lower() == ".xlsm"
    try:
        workbook = load_workbook(source, keep_vba=keep_vba, rich_text=True)
    except Exception as error:  # openpyxl raises many types for damaged files
        raise UnreadableWorkbook(f"the workbook could not be opened ({error})", source) from None
    sheet_name = next(
        (n for n in workbook.sheetnames if n.strip().lower() == model.ACTIONS_SHEET.lower()), None
    )
    if sheet_name is None:
        raise UnreadableWorkbook("there is no 'Actions' sheet to colour", source)
    sheet = workbook[sheet_name]
    last_used, widest = _value_extent(sheet)
    header_rows = [
        [cell.value for cell in row]
        for row in sheet.iter_rows(
            min_row=1, max_row=min(last_used, model.HEADER_SEARCH_ROWS), max_col=max(widest, 1)
        )
    ]
    header = locate_header(header_rows)
    if header is None:
        raise UnreadableWorkbook(
            "no header row found on the Actions sheet (Ref, Action, Lead officer, Status, ...)",
            source,
        )
    header_index, mapping = header
    from openpyxl.utils import column_index_from_string, get_column_letter

    letters = {name: get_column_letter(index + 1) for index, name in mapping.items()}
    first_row = header_index + 2
    # The rows staff use, and 500 more; as far as the dropdowns already reach, if further.
    standard_columns = {
        column_index_from_string(letter)
        for name, letter in letters.items()
        if name in model.COLUMNS_BY_NAME
    }
    validations = _column_validations(sheet, standard_columns, first_row)
    last_row = max([max(last_used, first_row) + EXTRA_ROWS, *(r.max_row for _, r in validations)])
    grown = _grow_validations(validations, last_row)
    _ref_as_text(sheet, letters.get(model.REF), first_row, last_row)

    removed = _remove_our_rules(sheet)
    rules = styles.applicable_rules(set(letters))
    missing = {model.STATUS, model.DUE_DATE, model.GRADE} - set(letters)
    if missing:
        warnings.append(
            f"no colouring for missing {noun(len(missing), 'column')}: "
            + ", ".join(sorted(missing))
        )
    for rule in rules:
        fill_colour, font_colour = model.RAG_COLOURS[rule.rag]
        target_letter = letters[rule.target]
        sheet.conditional_formatting.add(
            f"{target_letter}{first_row}:{target_letter}{last_row}",
            FormulaRule(
                formula=[rule.render(letters, first_row)],
                fill=PatternFill(
                    fill_type="solid",
                    start_color=_argb(fill_colour),
                    end_color=_argb(fill_colour),
                    bgColor=_argb(fill_colour),
                ),
                font=Font(color=_argb(font_colour)),
                stopIfTrue=True,
            ),
        )

    backup = backup_copy(source) if in_place else None
    with atomic_path(target) as temporary:
        workbook.save(temporary)
    return ColourResult(
        output=target,
        backup=backup,
        columns=letters,
        rules_removed=removed,
        rules_added=len(rules),
        rows=f"{first_row}:{last_row}",
        warnings=tuple(warnings),
        dropdowns_extended=grown,
    )


def _value_extent(sheet) -> tuple[int, int]:
    """The last row and column (1-based) holding a value: where the table staff use ends.

    The sheet's own bounds are no guide: a comment or a style Excel keeps on an empty cell
    at XFD1048576 makes them the whole grid, and walking it cell by cell never ends. So the
    cells openpyxl actually holds are looked at (its ``_cells``; there is no public way).
    """
    rows = [0]
    columns = [0]
    for (row, column), cell in sheet._cells.items():
        if cell.value is not None:
            rows.append(row)
            columns.append(column)
    return max(rows), max(columns)


def _column_validations(sheet, columns: set[int], first_row: int) -> list:
    """The data validations (dropdowns, date and email checks) on standard columns' data rows.

    Each is a (validation, range) pair for a range of one column that starts at or
    above the first data row: the ones xltools wrote, or staff made the same way.
    Validations on staff's own columns are theirs and are left as they are.
    """
    found = []
    for validation in sheet.data_validations.dataValidation:
        for cells in validation.sqref.ranges:
            if (
                cells.min_col == cells.max_col
                and cells.min_col in columns
                and cells.min_row <= first_row <= cells.max_row
            ):
                found.append((validation, cells))
    return found


def _grow_validations(validations: list, last_row: int) -> int:
    """Extend each range to ``last_row``, so dropdowns reach as far as the colouring."""
    grown = 0
    for _validation, cells in validations:
        if cells.max_row < last_row:
            cells.expand(down=last_row - cells.max_row)
            grown += 1
    return grown


def _ref_as_text(sheet, letter: str | None, first_row: int, last_row: int) -> None:
    """Make the Ref cells Text, so a Ref typed as 1.10 stays 1.10 (not the number 1.1).

    Cells already holding a number are left alone: the number was typed, and the
    reader reports it. Only empty and text cells get the Text format.
    """
    if letter is None:
        return
    from openpyxl.utils import column_index_from_string

    column = column_index_from_string(letter)
    for row in range(first_row, last_row + 1):
        cell = sheet.cell(row, column)
        if cell.value is None or isinstance(cell.value, str):
            cell.number_format = "@"


def _argb(colour: str) -> str:
    return "FF" + colour.lstrip("#").upper()


def _remove_our_rules(sheet) -> int:
    """Drop every conditional-format rule of ours, keeping the staff's own."""
    from openpyxl.formatting.formatting import ConditionalFormattingList

    kept = ConditionalFormattingList()
    removed = 0
    for formatting in sheet.conditional_formatting:
        for rule in formatting.rules:
            formulas = list(rule.formula or [])
            if rule.type == "expression" and formulas and styles.is_our_formula(formulas[0]):
                removed += 1
                continue
            kept.add(str(formatting.sqref), rule)
    sheet.conditional_formatting = kept
    return removed
