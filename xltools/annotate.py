"""Findings written back into a copy of a workbook, and the certificate auditors trust.

``annotate`` writes, for one validated workbook, a copy in which every finding
is a cell comment and a fill on the cell staff must fix. Its ``Validation`` sheet
is for people, and prints on A4: the certificate (result, rule pack and its
SHA-256, xltools version, reporting date, when checked, who signed), the findings
with links to their cells, and every check run with its counts. The original is
never touched.

What a machine needs goes on a second sheet, ``Certificate data``, which is
*hidden*: the manifest (see :mod:`xltools.certificate`), its SHA-256 and, when the
copy is signed, the Ed25519 signature, key id and public key. A hidden sheet is
kept as it is by Excel, LibreOffice and openpyxl alike and neither prints it nor
exports it to PDF; "very hidden" is an Excel notion LibreOffice turns into plain
hidden on save, and a print area would be rewritten by anyone who sets their own.
Anyone can unhide the sheet to read the manifest.

``verify`` answers three questions separately: is the signature valid, and whose
key made it; was the certificate's visible text edited; and are the values as they
were, matching actions by Ref (inserting, sorting or filtering rows is not a
change), naming the cells and Plan labels that changed and the actions added or
removed.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from xltools import __version__, certificate, model
from xltools.errors import WouldOverwrite
from xltools.fileio import atomic_path, scratch_path, write_bytes
from xltools.findings import ERROR, FileReport
from xltools.outcome import Outcome
from xltools.read import read_plan
from xltools.rules import RulePack
from xltools.words import plural

CERTIFICATE_TITLE = "xltools validation certificate"
DATA_SHEET = "Certificate data"
RESULT = "Result"
VALIDATED_AT = "Validated at"
SIGNATURE = "Signature"
ERROR_FILL = "FFFFC7CE"
WARNING_FILL = "FFFFEB9C"
# The data sheet's labels (column A) and values (column B).
DATA_FORMAT = "Format"
DATA_SHA = "Manifest SHA-256"
DATA_SIGNATURE = "Signature (Ed25519, base64)"
DATA_KEY_ID = "Key id"
DATA_SIGNER = "Signer"
DATA_PUBLIC_KEY = "Public key"
DATA_PARTS = "Manifest parts"
DATA_PART = "Manifest part "
# Well under Excel's 32,767 UTF-16 units per cell, whatever the characters.
MANIFEST_PART_CHARS = 8000
UNSIGNED_NOTE = (
    "none: an unsigned certificate guards only against accidental changes; anyone can recompute it"
)
# Column widths of the Validation sheet (A to G): landscape A4, fitted to the width. Wide
# enough that check codes and names stay on one line; long messages wrap.
WIDTHS = (28, 24, 20, 10, 22, 50, 24)
LINE_HEIGHT = 15  # points, for 11-point text


# --------------------------------------------------------------------------
# Annotating a copy
# --------------------------------------------------------------------------
def _set_text(cell, text: str) -> None:
    """Put text in an openpyxl cell as text: openpyxl would make '=...' a formula."""
    from xltools.cells import clean_text

    cell.value = clean_text(text).text
    cell.data_type = "s"


def result_text(report: FileReport) -> str:
    errors, warnings = len(report.errors), len(report.warnings)
    if errors:
        return f"annotated, not certified: {plural(errors, 'error')}, {plural(warnings, 'warning')}"
    return f"certified: no errors, {plural(warnings, 'warning')}"


def annotate(
    report: FileReport,
    outdir: str | Path,
    pack: RulePack,
    now: dt.datetime | None = None,
    signing_key=None,
) -> Path:
    """Write the annotated copy of a validated workbook with its certificate.

    ``signing_key`` (from :func:`xltools.keys.load_signing_key`) signs the manifest; the
    signed manifest is also written beside the copy (``NAME.manifest.json`` and
    ``NAME.manifest.sig``) for checking with standard tools.
    """
    from openpyxl import load_workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    source = Path(report.path)
    target = Path(outdir) / source.name
    if target.resolve() == source.resolve():
        raise WouldOverwrite("the annotated copy would overwrite the original", source)
    keep_vba = source.suffix.lower() == ".xlsm"
    workbook = load_workbook(source, keep_vba=keep_vba, rich_text=True)
    for finding in report.findings:
        if not finding.cell or finding.sheet not in workbook.sheetnames:
            continue
        cell = workbook[finding.sheet][finding.cell]
        note = f"{finding.severity.upper()} ({finding.label}): {finding.message}"
        if cell.comment is not None and cell.comment.author != "xltools":
            note = f"{cell.comment.text}\n---\n{note}"
        elif cell.comment is not None:
            note = f"{cell.comment.text}\n{note}"
        cell.comment = Comment(note, "xltools", width=300, height=120)
        colour = ERROR_FILL if finding.severity == ERROR else WARNING_FILL
        if not (colour == WARNING_FILL and cell.fill.fgColor.rgb == ERROR_FILL):
            cell.fill = PatternFill("solid", start_color=colour, end_color=colour)
    for name in (model.VALIDATION_SHEET, DATA_SHEET):
        if name in workbook.sheetnames:
            del workbook[name]
    workbook.create_sheet(model.VALIDATION_SHEET)
    workbook.create_sheet(DATA_SHEET).sheet_state = "hidden"
    from xltools.colour import parts_openpyxl_would_lose

    lost = parts_openpyxl_would_lose(source)
    now = now or dt.datetime.now(dt.UTC).replace(microsecond=0)
    with atomic_path(target) as temporary, scratch_path(target) as draft:
        workbook.save(draft)
        # The values are taken from the copy as saved, so verify compares like with like.
        table = read_plan(draft)
        # The draft is opened again rather than the workbook saved twice: openpyxl reads
        # a picture's bytes only once (a second save fails on a closed file).
        workbook = load_workbook(draft, keep_vba=keep_vba, rich_text=True)
        sheet, data_sheet = workbook[model.VALIDATION_SHEET], workbook[DATA_SHEET]
        rows = _certificate_rows(report, table, pack, now, lost, signing_key)
        visible = _write_validation_sheet(sheet, report, rows, table)
        manifest = _manifest(report, table, pack, now, visible, signing_key)
        data = certificate.canonical_bytes(manifest)
        signature = signing_key.sign(data) if signing_key else None
        _write_data_sheet(data_sheet, data, signature, signing_key)
        workbook.save(temporary)
    if signing_key is not None:
        write_bytes(target.with_name(f"{target.stem}.manifest.json"), data)
        write_bytes(target.with_name(f"{target.stem}.manifest.sig"), signature)
    return target


def _certificate_rows(report, table, pack, now, lost, signing_key) -> list[tuple[str, str]]:
    if signing_key is None:
        signed = UNSIGNED_NOTE
    else:
        who = signing_key.public.signer or "an unnamed signer"
        signed = f"Ed25519, signed by {who}, key id {signing_key.public.key_id}"
    rows = [
        (RESULT, result_text(report)),
        ("File", report.path.name),
        ("Plan", certificate.canonical_value(table.plan.get(model.PLAN_TITLE)) or ""),
        ("Organisation", certificate.canonical_value(table.plan.get(model.ORGANISATION)) or ""),
        ("Reporting date", report.reporting_date.isoformat() if report.reporting_date else ""),
        ("Rule pack", pack.name),
        ("Rule pack SHA-256", pack.sha256),
        ("xltools version", __version__),
        (VALIDATED_AT, now.isoformat()),
        (SIGNATURE, signed),
        (
            "How to check",
            "xltools verify FILE --key SIGNER.pub.pem (the manifest it checks is on the "
            f"hidden sheet '{DATA_SHEET}')",
        ),
    ]
    if lost:
        # openpyxl cannot carry these into the copy; the values (and so the certificate) are whole.
        rows.append(("Not in this copy", ", ".join(lost) + " (see the original workbook)"))
    return rows


def _write_validation_sheet(sheet, report: FileReport, rows, table) -> list[list[object]]:
    """Write the printable Validation sheet; return what it shows, row by row."""
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.hyperlink import Hyperlink

    # Fonts named: a Font without a name is drawn in LibreOffice's default serif face.
    font = sheet.parent._fonts[0].name or "Calibri"
    bold = Font(name=font, bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    shown: list[list[object]] = []
    last = len(WIDTHS)

    def put(line: int, values: Sequence[object], style=None, widths=WIDTHS) -> None:
        for index, value in enumerate(values, start=1):
            cell = sheet.cell(line, index)
            if isinstance(value, str):
                _set_text(cell, value)
            else:
                cell.value = value
            cell.alignment = wrap
            if style is not None:
                cell.font = style
        shown.append(list(values))
        # Row heights are set, not left to the program: LibreOffice keeps a row's height
        # from the file, so a wrapped message would be drawn over the next row.
        lines = max(_lines(value, width) for value, width in zip(values, widths, strict=False))
        if lines > 1:
            sheet.row_dimensions[line].height = LINE_HEIGHT * lines

    put(1, [CERTIFICATE_TITLE], Font(name=font, bold=True, size=14))
    sheet.cell(1, 1).alignment = Alignment(vertical="top")  # a title is never wrapped
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=last)
    line = 2
    for label, value in rows:
        put(line, [label, value], widths=(WIDTHS[0], sum(WIDTHS[1:])))
        sheet.cell(line, 1).font = bold
        # The value spans B to G so a SHA-256 or a sentence stays on one line on paper.
        sheet.merge_cells(start_row=line, start_column=2, end_row=line, end_column=last)
        line += 1

    line += 1
    put(line, ["Findings"], Font(name=font, bold=True, size=12))
    line += 1
    # The last column is the catalogue's label, as people read it (the code is in the JSON).
    put(line, ["Severity", "Cell", "Column", "Ref", "Value", "Message", "Problem"], bold)
    for finding in report.findings:
        line += 1
        put(
            line,
            [
                finding.severity,
                finding.location(),
                finding.column,
                finding.ref,
                finding.value,
                finding.message,
                finding.label,
            ],
        )
        if finding.cell:
            link = sheet.cell(line, 2)
            link.hyperlink = Hyperlink(
                ref=link.coordinate, location=f"'{finding.sheet}'!{finding.cell}"
            )
            link.font = Font(name=font, color="FF0563C1", underline="single")
    if not report.findings:
        line += 1
        put(line, ["No findings."])

    line += 2
    put(line, ["Checks run"], Font(name=font, bold=True, size=12))
    line += 1
    put(line, ["Code", "Check", "Column", "Severity", "Checked", "Passed", "Failed"], bold)
    for column in (5, 6, 7):  # counts are numbers: their headings sit over them, on the right
        sheet.cell(line, column).alignment = Alignment(horizontal="right", vertical="top")
    for run in report.checks:
        line += 1
        put(
            line,
            [run.code, run.check, run.column, run.severity, run.checked, run.passed, run.failed],
        )
    for index, width in enumerate(WIDTHS):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    _print_setup(sheet, table, report)
    return shown


def _lines(value: object, width: float) -> int:
    """How many lines a wrapped cell needs, roughly: a column width is in average characters."""
    if not isinstance(value, str):
        return 1
    per_line = max(int(width * 1.1), 1)
    return sum(max(1, -(-len(part) // per_line)) for part in value.split("\n"))


def _header_text(text: str) -> str:
    """Text for a page header or footer: '&' starts a code there, so it is doubled."""
    return text.replace("&", "&&")


def _print_setup(sheet, table, report: FileReport) -> None:
    """A4 landscape, fitted to one page wide; the plan and reporting date on every page."""
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.gridLines = False
    sheet.page_margins.left = sheet.page_margins.right = 0.5
    title = certificate.canonical_value(table.plan.get(model.PLAN_TITLE)) or report.path.name
    day = report.reporting_date.isoformat() if report.reporting_date else "no reporting date"
    sheet.oddHeader.center.text = _header_text(f"{title}: validation certificate")
    sheet.oddFooter.left.text = _header_text(f"Reporting date {day}")
    sheet.oddFooter.right.text = "Page &P of &N"


def _manifest(report, table, pack, now, visible, signing_key) -> dict:
    from xltools.history import plan_key

    errors, warnings = len(report.errors), len(report.warnings)
    found = certificate.formulas(table)
    actions = {key: values for key, (_, values) in certificate.action_values(table, found).items()}
    return {
        "format": certificate.FORMAT,
        "xltools_version": __version__,
        "file": report.path.name,
        "plan_key": plan_key(
            table.plan.get(model.ORGANISATION), table.plan.get(model.PLAN_TITLE), report.path.name
        ),
        "reporting_date": report.reporting_date.isoformat() if report.reporting_date else None,
        "checked_at": now.isoformat(),
        "rule_pack": {"name": pack.name, "sha256": pack.sha256},
        "result": {"certified": not errors, "errors": str(errors), "warnings": str(warnings)},
        "checks": [
            {key: str(value) for key, value in run.to_dict().items()} for run in report.checks
        ],
        "plan": certificate.plan_values(table, found),
        "actions": actions,
        "certificate": certificate.sheet_text(visible),
        "signer": (
            {"name": signing_key.public.signer, "key_id": signing_key.public.key_id}
            if signing_key
            else None
        ),
    }


def _write_data_sheet(sheet, data: bytes, signature: bytes | None, signing_key) -> None:
    text = data.decode("utf-8")
    parts = [
        text[start : start + MANIFEST_PART_CHARS]
        for start in range(0, len(text), MANIFEST_PART_CHARS)
    ]
    rows = [
        (DATA_FORMAT, certificate.FORMAT),
        (DATA_SHA, certificate.sha256(data)),
        (DATA_SIGNATURE, base64.b64encode(signature).decode("ascii") if signature else ""),
        (DATA_KEY_ID, signing_key.public.key_id if signing_key else ""),
        (DATA_SIGNER, signing_key.public.signer if signing_key else ""),
        (DATA_PUBLIC_KEY, signing_key.public.pem() if signing_key else ""),
        (DATA_PARTS, str(len(parts))),
        *((f"{DATA_PART}{index}", part) for index, part in enumerate(parts, start=1)),
    ]
    _set_text(
        sheet.cell(1, 1),
        "xltools certificate data, read by 'xltools verify' (not printed). The manifest is the "
        "parts below joined in order; see the README, section Trust.",
    )
    for line, (label, value) in enumerate(rows, start=2):
        _set_text(sheet.cell(line, 1), label)
        _set_text(sheet.cell(line, 2), value)
    sheet.column_dimensions["A"].width = 28
    sheet.column_dimensions["B"].width = 100


# --------------------------------------------------------------------------
# Verifying
# --------------------------------------------------------------------------
# What verify can say of the signature.
TRUSTED = "trusted"  # made by one of the keys the auditor trusts
UNTRUSTED = "untrusted"  # a valid signature by a key the auditor does not trust
UNCHECKED = "unchecked"  # valid against the key in the file; no trusted key was given
INVALID = "invalid"  # the certificate data was altered after it was signed (or hashed)
UNSIGNED = "unsigned"  # a hash only: guards against accidents, not against deliberate edits


@dataclass
class Verification:
    """What ``verify`` found; ``status`` is the headline, the other fields the detail."""

    path: Path
    # "unchanged", "changed", "not-certified", "invalid", "untrusted", "unsigned" (when a
    # trusted key was asked for) or "no-certificate"
    status: str
    signature: str = ""
    signer: str = ""
    key_id: str = ""
    certified: bool = False
    errors: int = 0
    validated_at: str = ""
    rule_pack: str = ""
    reporting_date: str = ""
    reason: str = ""
    certificate_edits: list[str] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)  # {"kind", "ref", "row", "cells"}

    @property
    def outcome(self) -> Outcome:
        """OK unchanged (and trusted, when a key was asked for); CANNOT_RUN no certificate
        to verify against; PROBLEMS anything else (changed, not certified, signature
        invalid, key not trusted)."""
        if self.status == "unchanged":
            return Outcome.OK
        if self.status == "no-certificate":
            return Outcome.CANNOT_RUN
        return Outcome.PROBLEMS

    def to_dict(self) -> dict:
        return {
            "outcome": self.outcome.value,
            "path": str(self.path),
            "status": self.status,
            "signature": self.signature,
            "signer": self.signer,
            "key_id": self.key_id,
            "certified": self.certified,
            "errors": self.errors,
            "validated_at": self.validated_at,
            "rule_pack": self.rule_pack,
            "reporting_date": self.reporting_date,
            "reason": self.reason,
            "certificate_edits": self.certificate_edits,
            "changes": self.changes,
        }


def _labels(rows: list[list[object]]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for row in rows:
        if len(row) > 1 and isinstance(row[0], str) and row[0]:
            value = row[1]
            labels.setdefault(row[0], "" if value is None else str(value))
    return labels


# The manifest's parts and the shape verify relies on: anything else is damage, not a crash.
MANIFEST_SHAPE = {"plan": dict, "actions": dict, "certificate": list, "result": dict}


def _read_manifest(labels: dict[str, str]) -> tuple[bytes, dict | None]:
    try:
        parts = int(float(labels.get(DATA_PARTS, "0")))
    except (ValueError, OverflowError):
        parts = 0
    parts = max(0, min(parts, len(labels)))  # an edited count cannot make us loop for ever
    text = "".join(labels.get(f"{DATA_PART}{index}", "") for index in range(1, parts + 1))
    data = text.encode("utf-8", errors="replace")
    try:
        manifest = json.loads(text)
    except ValueError:
        return data, None
    if not isinstance(manifest, dict) or not all(
        isinstance(manifest.get(key), kind) for key, kind in MANIFEST_SHAPE.items()
    ):
        return data, None
    actions = manifest["actions"].values()
    if not all(isinstance(values, dict) for values in actions):
        return data, None
    return data, manifest


def _check_signature(result: Verification, labels, data: bytes, trusted) -> None:
    encoded = labels.get(DATA_SIGNATURE, "")
    result.key_id, result.signer = labels.get(DATA_KEY_ID, ""), labels.get(DATA_SIGNER, "")
    if not encoded:
        ok = certificate.sha256(data) == labels.get(DATA_SHA, "")
        result.signature = UNSIGNED if ok else INVALID
        return
    try:
        signature = base64.b64decode(encoded, validate=True)
    except ValueError:
        result.signature = INVALID
        return
    for key in trusted or ():
        if key.verifies(signature, data):
            result.signature, result.signer, result.key_id = TRUSTED, key.signer, key.key_id
            return
    embedded = _embedded_key(labels.get(DATA_PUBLIC_KEY, ""), result.signer)
    if embedded is None or not embedded.verifies(signature, data):
        result.signature = INVALID
    else:
        result.key_id = embedded.key_id
        result.signature = UNTRUSTED if trusted else UNCHECKED


def _embedded_key(pem: str, signer: str):
    """The public key the file carries (proves nothing by itself: anyone can put one there)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    from xltools.keys import PublicKey, key_id

    try:
        loaded = load_pem_public_key(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return None
    if not isinstance(loaded, Ed25519PublicKey):
        return None
    return PublicKey(loaded, key_id(loaded), signer)


def verify(path: str | Path, trusted: Sequence | None = None) -> Verification:
    """Check an annotated copy against its certificate.

    ``trusted``: the public keys (:class:`xltools.keys.PublicKey`) the caller trusts; None
    when no key was given (a signature is then checked only against the key in the file).
    """
    from xltools.read import SafeWorkbook

    path = Path(path)
    table = read_plan(path)
    workbook = SafeWorkbook(path, (model.VALIDATION_SHEET, DATA_SHEET))
    data_sheet = workbook.find_sheet(DATA_SHEET)
    labels = _labels(workbook.rows(data_sheet)) if data_sheet else {}
    if labels.get(DATA_FORMAT) != certificate.FORMAT:
        reason = "no validation certificate"
        if data_sheet:
            reason = f"certificate format {labels.get(DATA_FORMAT)!r} is not one this xltools reads"
        return Verification(path, "no-certificate", reason=reason)
    data, manifest = _read_manifest(labels)
    result = Verification(path, "unchanged")
    _check_signature(result, labels, data, trusted)
    if manifest is None:
        result.status, result.signature = "invalid", INVALID
        result.reason = "the certificate data is damaged: its manifest cannot be read"
        return result
    outcome = manifest.get("result") or {}
    result.certified = outcome.get("certified") is True
    result.errors = int(outcome.get("errors") or 0)
    result.validated_at = str(manifest.get("checked_at") or "")
    result.rule_pack = str((manifest.get("rule_pack") or {}).get("name") or "")
    result.reporting_date = str(manifest.get("reporting_date") or "")

    visible_sheet = workbook.find_sheet(model.VALIDATION_SHEET)
    visible = certificate.sheet_text(workbook.rows(visible_sheet)) if visible_sheet else []
    result.certificate_edits = _certificate_edits(manifest.get("certificate") or [], visible)
    result.changes = _value_changes(manifest, table)

    if result.signature == INVALID:
        result.status = "invalid"
    elif result.signature == UNTRUSTED:
        result.status = "untrusted"
    elif result.signature == UNSIGNED and trusted is not None:
        # A trusted key was asked for: a certificate stripped of its signature must not pass.
        result.status = "unsigned"
    elif result.certificate_edits or result.changes:
        result.status = "changed"
    elif not result.certified:
        result.status = "not-certified"
    return result


def _certificate_edits(recorded: list[list[str]], visible: list[list[str]]) -> list[str]:
    """The rows of the visible certificate that differ from what was signed, by label."""
    edits = []
    for index in range(max(len(recorded), len(visible))):
        old = recorded[index] if index < len(recorded) else None
        new = visible[index] if index < len(visible) else None
        if old != new:
            label = (old or new or [""])[0]
            edits.append(f"row {index + 1} ({label})" if label else f"row {index + 1}")
    return edits


def _value_changes(manifest: dict, table) -> list[dict]:
    changes: list[dict] = []
    recorded_plan = manifest.get("plan") or {}
    found = certificate.formulas(table)
    current_plan = certificate.plan_values(table, found)
    labels = [
        label for label in model.PLAN_LABELS if recorded_plan.get(label) != current_plan.get(label)
    ]
    if labels:
        cells = [
            f"Plan!{table.plan_cells[label]} ({label})"
            if label in table.plan_cells
            else f"Plan ({label})"
            for label in labels
        ]
        changes.append({"kind": "plan", "ref": "", "row": None, "cells": cells})
    recorded = manifest.get("actions") or {}
    current = certificate.action_values(table, found)
    letters = dict(table.columns)
    for key, (row, values) in sorted(current.items(), key=lambda item: item[1][0]):
        if key not in recorded:
            changes.append({"kind": "added", "ref": key, "row": row, "cells": []})
            continue
        old = recorded[key]
        if old == values:
            continue
        names = sorted(
            set(old) | set(values),
            key=lambda name: (
                letters.get(name) is None,
                len(letters.get(name, "")),
                letters.get(name, name),
            ),
        )
        cells = [
            f"{letters[name]}{row} ({name})" if name in letters else f"({name}, column gone)"
            for name in names
            if old.get(name) != values.get(name)
        ]
        changes.append({"kind": "changed", "ref": key, "row": row, "cells": cells})
    for key in recorded:
        if key not in current:
            changes.append({"kind": "removed", "ref": key, "row": None, "cells": []})
    return changes
