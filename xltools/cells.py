"""Staff text on its way into a cell: kept as text, cleaned, never silently cut.

Everything xltools writes comes from staff, so it is written as a string cell
(never a formula, however it starts), with control characters that make Excel
refuse a file removed, and cut at Excel's 32,767-character limit with a visible
marker. Whoever writes the cell is told what was changed so it can become a
finding instead of a silent loss.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

EXCEL_CELL_LIMIT = 32_767
TRUNCATION_MARKER = " [... cut: text longer than Excel's 32,767-character cell limit]"
# Tab, LF and CR are legal in cells; every other C0 control (and DEL) is not.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class CleanText:
    text: str
    removed_controls: bool
    truncated: bool


def cell_length(text: str) -> int:
    """Length as Excel counts it: UTF-16 units, so an emoji counts twice."""
    return len(text.encode("utf-16-le")) // 2


def fits_in_cell(text: str) -> bool:
    """Whether Excel would keep the whole text in one cell."""
    if len(text) <= EXCEL_CELL_LIMIT // 2:
        return True  # even all in emoji it would fit: skip the encoding
    return cell_length(text) <= EXCEL_CELL_LIMIT


def clean_text(value: str) -> CleanText:
    """Remove illegal control characters and cut over-long text with a marker."""
    text, removed = _CONTROL.subn("", value)
    truncated = not fits_in_cell(text)
    if truncated:
        budget = EXCEL_CELL_LIMIT - len(TRUNCATION_MARKER)
        text = text[:budget]
        while (excess := cell_length(text) - budget) > 0:
            text = text[: len(text) - max(1, excess // 2)]
        text += TRUNCATION_MARKER
    return CleanText(text, removed > 0, truncated)


def column_index(letters: str) -> int:
    """Column letters to a 0-based index (A -> 0, XFD -> 16383)."""
    index = 0
    for char in letters.upper():
        index = index * 26 + (ord(char) - 64)
    return index - 1


def column_letters(index: int) -> str:
    """0-based column index to letters (0 -> A, 27 -> AB)."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters
