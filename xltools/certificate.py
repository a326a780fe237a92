"""The certificate's manifest: what was checked and the values, in one canonical form.

A certificate is a **manifest** (a JSON document) stored in the annotated copy's own
cells, and either its SHA-256 (unsigned: guards against accidents only, since anyone
can recompute a hash) or an Ed25519 signature over it (signed: only the key's owner
could have made it). The manifest holds:

* ``format``, ``xltools_version``, ``file``, ``plan_key``, ``reporting_date``,
  ``checked_at``;
* ``rule_pack``: its name and SHA-256; ``checks``: every check with its counts;
* ``result``: certified or not, with the error and warning counts;
* ``plan``: the Plan sheet's values by label; ``actions``: every action's values by
  column, keyed by Ref (so inserting or sorting rows changes nothing);
* ``certificate``: the visible text of the Validation sheet, row by row;
* ``signer``: the signer's name and key id (or null when unsigned).

**Canonical form** (the bytes that are hashed and signed): the manifest as JSON with keys
sorted, no whitespace (separators ``,`` and ``:``), non-ASCII characters written as
themselves, encoded as UTF-8. Every value is a string: text as it stands; numbers as a
spreadsheet stores them, to 15 significant digits (Python's ``format(x, ".15g")``:
``171.428571428571``, ``1.23456789012346e+16``); dates as ``YYYY-MM-DD``, date-times as
``YYYY-MM-DDTHH:MM:SS`` (rounded to the second); TRUE/FALSE; blank cells left out.
So a save by Excel or LibreOffice, which keep 15 digits, changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math

from xltools import model

FORMAT = "xltools-certificate-1"


def canonical_value(value: object) -> str | None:
    """A cell's value as the certificate records it (None: a blank cell)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        rounded = (value + dt.timedelta(microseconds=500_000)).replace(microsecond=0)
        if rounded.time() == dt.time():
            return rounded.date().isoformat()
        return rounded.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.replace(microsecond=0).isoformat()
    if isinstance(value, int | float):
        number = float(value)
        if math.isnan(number) or math.isinf(number):
            return str(number)
        text = format(number, ".15g")
        return "0" if text == "-0" else text
    if isinstance(value, str):
        return value if value.strip() else None
    return str(value)


def canonical_bytes(manifest: dict) -> bytes:
    """The manifest's canonical form: the bytes hashed and signed (see the module docstring)."""
    return json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sparse(values: dict[str, object]) -> dict[str, str]:
    result = {}
    for name, value in values.items():
        text = canonical_value(value)
        if text is not None:
            result[name] = text
    return result


def formulas(table) -> dict[tuple[str, str], str]:
    """The formulas in a plan's Plan and Actions sheets: (sheet, cell) -> ``=...``.

    A formula cell is recorded by its formula, which is what a spreadsheet stores: its
    value may be missing from a file openpyxl wrote (no cached value) and appear once a
    spreadsheet recalculates, or change by itself (``=TODAY()``).
    """
    from openpyxl import load_workbook

    found: dict[tuple[str, str], str] = {}
    workbook = load_workbook(table.path, read_only=True)
    try:
        for name in workbook.sheetnames:
            if name not in (table.actions_sheet, model.PLAN_SHEET):
                continue
            worksheet = workbook[name]
            # The sheet's stated dimension pads every row out to its widest cell: a comment
            # Excel keeps at XFD1048576 would make that 17 billion empty cells to walk.
            worksheet.reset_dimensions()
            for row in worksheet.iter_rows():
                for cell in row:
                    if getattr(cell, "data_type", None) == "f" and isinstance(cell.value, str):
                        found[(name, cell.coordinate)] = cell.value
    finally:
        workbook.close()
    return found


def plan_values(table, formulas_found: dict | None = None) -> dict[str, str]:
    """The Plan sheet's values by label, canonical (a formula as its formula)."""
    values: dict[str, object] = {label: table.plan.get(label) for label in model.PLAN_LABELS}
    for label, cell in table.plan_cells.items():
        formula = (formulas_found or {}).get((model.PLAN_SHEET, cell))
        if formula is not None and label in values:
            values[label] = formula
    return _sparse(values)


def action_key(ref: object, row: int, seen: dict[str, int]) -> str:
    """How an action is known in the manifest: its Ref; a repeated Ref gets ``#2``, ``#3``;
    an action with no Ref is known by its row (the only case where position matters)."""
    text = canonical_value(ref)
    if text is None:
        return f"(row {row})"
    text = text.strip()
    seen[text] = seen.get(text, 0) + 1
    return text if seen[text] == 1 else f"{text}#{seen[text]}"


def action_values(
    table, formulas_found: dict | None = None
) -> dict[str, tuple[int, dict[str, str]]]:
    """Every action's canonical values keyed as :func:`action_key`, with its sheet row
    (a formula as its formula)."""
    seen: dict[str, int] = {}
    result = {}
    by_cell = {
        cell: formula
        for (sheet, cell), formula in (formulas_found or {}).items()
        if sheet == table.actions_sheet
    }
    for record, row in zip(table.records, table.source_rows, strict=True):
        if by_cell:
            record = dict(record)
            for name, letter in table.columns.items():
                formula = by_cell.get(f"{letter}{row}")
                if formula is not None:
                    record[name] = formula
        result[action_key(record.get(model.REF), row, seen)] = (row, _sparse(record))
    return result


def sheet_text(rows: list[list[object]]) -> list[list[str]]:
    """A sheet's visible text, row by row: blank rows and trailing blank cells dropped."""
    result = []
    for row in rows:
        texts = [canonical_value(value) or "" for value in row]
        while texts and not texts[-1]:
            texts.pop()
        if texts:
            result.append(texts)
    return result
