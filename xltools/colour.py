"""Adding or refreshing live status colouring on a workbook staff have edited.

Staff reorder columns, add their own, insert rows, and save from Excel or
LibreOffice. ``colour_workbook`` finds the Actions columns by header name,
removes any colouring rules xltools added before (recognised by their formula
shape, whatever columns they pointed at), and adds the current rules from
:mod:`xltools.styles` over the table and 500 rows beyond. Everything else is left
as openpyxl loaded it: values, other sheets, data validations, comments,
widths, freeze panes, the staff's own conditional formats.

openpyxl cannot keep everything a workbook may hold (images, charts, shapes,
slicers, some Excel 2010+ extensions). ``colour_workbook`` refuses such files
unless ``force`` is set, rather than silently dropping parts of them.
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
_LOST_PARTS = (
    (re.compile(r"^xl/drawings/drawing\d+\.xml$"), "pictures, shapes or charts"),
    (re.compile(r"^xl/media/"), "pictures"),
    (re.compile(r"^xl/charts/"), "charts"),
    (re.compile(r"^xl/pivotTables/"), "pivot tables"),
    (re.compile(r"^xl/slicers?/|^xl/slicerCaches/"), "slicers"),
    (re.compile(r"^xl/timelines?/"), "timelines"),
    (re.compile(r"^xl/embeddings/"), "embedded objects"),
)
_LOST_EXTENSIONS = (
    (b"x14:dataValidation", "Excel 2010+ data validations (dropdowns reading another sheet)"),
    (b"x14:conditionalFormatting", "Excel 2010+ conditional formats (data bars, icon sets)"),
    (b"x14:sparklineGroup", "sparklines"),
)


@dataclass(frozen=True)
class ColourResult:
    output: Path
    backup: Path | None
    columns: dict[str, str]  # column name -> letter
    rules_removed: int
    rules_added: int
    rows: str  # the range coloured, e.g. "2:512"
    warnings: tuple[str, ...]


def parts_openpyxl_would_lose(path: str | Path) -> list[str]:
    """What saving this workbook with openpyxl would lose, in words staff understand."""
    lost: list[str] = []
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        for pattern, what in _LOST_PARTS:
            if any(pattern.search(name) for name in names) and what not in lost:
                lost.append(what)
        for name in names:
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                data = archive.read(name)
                for marker, what in _LOST_EXTENSIONS:
                    if marker in data and what not in lost:
                        lost.append(what)
    return lost


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
            "saved again: remove them first, or use --force to colour it anyway and lose them",
            source,
        )
    if lost:
        warnings.append("lost on saving (--force): " + ", ".join(lost))

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
    header_rows = [
        [cell.value for cell in row]
        for row in sheet.iter_rows(min_row=1, max_row=min(sheet.max_row, 30))
    ]
    header = locate_header(header_rows)
    if header is None:
        raise UnreadableWorkbook(
            "no header row found on the Actions sheet (Ref, Action, Lead officer, Status, ...)",
            source,
        )
    header_index, mapping = header
    from openpyxl.utils import get_column_letter

    letters = {name: get_column_letter(index + 1) for index, name in mapping.items()}
    first_row = header_index + 2
    last_row = max(sheet.max_row, first_row) + EXTRA_ROWS

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
    )


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
