"""Update packs: one workbook per lead officer with only their open actions, and the ledger.

The other half of the coordinator's week: instead of asking every lead officer by
hand for an update, ``write_packs`` gives each lead one workbook (across all the
plans in the inbox) holding only their open actions, pre-filled with the plans'
current values. The columns staff must not change (plan, Ref, Action, Due
date ...) are locked with sheet protection; Status, Progress update, Evidence
and Last updated are editable with the plan template's dropdowns, date checks
and live colouring (rendered by :mod:`xltools.template` from
:mod:`xltools.styles`, not written again here); *Proposed due date* and
*Reason* are how a lead asks for more time.

Each pack carries a **record**: a very hidden sheet holding, for every row of the
pack, the plan file it came from, the Ref, the row's version (a hash of the
plan's values when the pack was made) and the values the pack was pre-filled
with. A reply is matched by the record, never by what staff typed, and an edit
to a locked cell is seen by comparing the row with its record. Cells of a sheet
survive a save by Excel, LibreOffice and openpyxl (a LibreOffice round trip is
tested); protection is a guide for staff, not security, which is why every
locked value is checked again on merge.

The **ledger** (``ledger.json`` in the pack folder) is what the coordinator sent
and got back: each pack (lead, file, reply-by date, its rows), each return,
each extension request and each grant. :mod:`xltools.merge` writes returns into
it; ``consolidate --packs`` reads it for the register's returns, requests and
non-returns.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from xltools import model, paper, template
from xltools.cells import clean_text, column_letters
from xltools.errors import XltoolsError
from xltools.fileio import atomic_path, write_text
from xltools.leads import lead_key, slug
from xltools.outcome import Outcome
from xltools.read import DEFAULT_LIMITS, Limits, discover, read_plan
from xltools.register_sheets import SOURCE_FILE
from xltools.xlsx import new_workbook, standard_formats, write_value

PACK_SHEET = "Update"
RECORD_SHEET = "xltools record"
GUIDE_SHEET = "How to reply"
LEDGER_NAME = "ledger.json"
BACKUPS_FOLDER = "backups"
PLAN_COLUMN = "Plan"
PROPOSED_DUE = "Proposed due date"
REASON = "Reason"
DEFAULT_REPLY_DAYS = 7

# What the lead sees, in order: the locked columns, then what they may change.
LOCKED_COLUMNS: tuple[str, ...] = (
    PLAN_COLUMN,
    model.REF,
    model.AREA,
    model.ACTION,
    model.DUE_DATE,
    model.TIMESCALE,
    model.OUTCOME,
)
UPDATE_COLUMNS: tuple[str, ...] = (
    model.STATUS,
    model.PROGRESS,
    model.EVIDENCE,
    model.LAST_UPDATED,
)
REQUEST_COLUMNS: tuple[str, ...] = (PROPOSED_DUE, REASON)
EDITABLE_COLUMNS = UPDATE_COLUMNS + REQUEST_COLUMNS
PACK_COLUMNS = LOCKED_COLUMNS + EDITABLE_COLUMNS
PACK_DATE_COLUMNS = frozenset({model.DUE_DATE, model.LAST_UPDATED, PROPOSED_DUE})
# The record's own columns, before a copy of every pack column as it was sent.
RECORD_KEYS = ("Pack", "Row", SOURCE_FILE, model.REF, "Version")
WIDTHS = {PLAN_COLUMN: 24, PROPOSED_DUE: 13, REASON: 30}


def canonical(value: object) -> str:
    """One value as comparable text: dates as ISO dates, whole numbers without .0, text
    stripped with Windows line ends folded. How pack, record and plan are compared."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.date() if value.time() == dt.time() else value
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).replace("\r\n", "\n").strip()


def row_version(values: Mapping[str, object]) -> str:
    """A row's version: a hash of the plan's values of every column a pack shows."""
    text = "\x1f".join(canonical(values.get(column)) for column in PACK_COLUMNS)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------
# The ledger
# --------------------------------------------------------------------------
@dataclass
class Ledger:
    """``ledger.json``: packs sent, returns merged, extension requests and grants."""

    path: Path
    packs: dict[str, dict] = field(default_factory=dict)
    requests: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: str | Path) -> Ledger:
        path = Path(folder) / LEDGER_NAME
        if not path.exists():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(path, dict(data["packs"]), dict(data["requests"]))
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
            raise XltoolsError(
                f"the packs ledger cannot be read ({error}): restore it from a backup", path
            ) from None

    def text(self) -> str:
        data = {"version": 1, "packs": self.packs, "requests": self.requests}
        return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"

    def save(self) -> None:
        write_text(self.path, self.text())

    def not_returned(self, reporting_date: dt.date) -> list[dict]:
        """Packs whose reply-by date is before ``reporting_date`` and that did not come back:
        for each lead only the latest such pack (a later pack, sent before this reporting
        date, takes over the chasing of the one before)."""
        day = reporting_date.isoformat()
        late = [
            pack
            for pack in self.packs.values()
            if not pack.get("returned")
            and pack.get("reply_by")
            and pack["reply_by"] < day
            and not self._superseded(pack, day)
        ]
        return sorted(late, key=lambda p: (p["lead"].lower(), p["reply_by"]))

    def _superseded(self, pack: dict, day: str) -> bool:
        return any(
            lead_key(other["lead"]) == lead_key(pack["lead"])
            and pack["reporting_date"] < other["reporting_date"] < day
            for other in self.packs.values()
        )

    def returned(self) -> list[dict]:
        return sorted(
            (p for p in self.packs.values() if p.get("returned")),
            key=lambda p: (p["lead"].lower(), p["reporting_date"]),
        )

    def open_requests(self) -> list[dict]:
        return sorted(
            (r for r in self.requests.values() if r["state"] == "requested"),
            key=lambda r: (r["plan"], r["ref"]),
        )

    def grants(self) -> list[dict]:
        return sorted(
            (r for r in self.requests.values() if r["state"] == "granted"),
            key=lambda r: (r["plan"], r["ref"]),
        )


def request_key(plan: str, ref: str) -> str:
    """An extension request's key: PLAN:REF, as ``merge --grant`` takes it."""
    return f"{plan}:{ref}"


# --------------------------------------------------------------------------
# Writing packs
# --------------------------------------------------------------------------
@dataclass
class Pack:
    """One lead officer's pack, as written."""

    lead: str
    path: Path
    rows: int
    plans: int


@dataclass
class PackRun:
    folder: Path
    reporting_date: dt.date
    reply_by: dt.date
    packs: list[Pack]
    problems: list[tuple[Path, str]]  # plans not read, with the reason
    without_lead: int = 0  # open actions with no lead officer named

    @property
    def outcome(self) -> Outcome:
        """PROBLEMS when some plan could not be read (the packs were still made), else OK."""
        return Outcome.PROBLEMS if self.problems else Outcome.OK


def _open_actions(inbox: Path, limits: Limits):
    """Every open action of every readable plan: (source file, plan title, record)."""
    discovery = discover([inbox])
    problems: list[tuple[Path, str]] = []
    actions: list[tuple[str, str, dict]] = []
    from xltools.errors import UnreadableWorkbook

    for path in discovery.workbooks:
        try:
            table = read_plan(path, limits)
        except UnreadableWorkbook as error:
            problems.append((path, error.message))
            continue
        source = str(path.relative_to(inbox))
        title = str(table.plan.get(model.PLAN_TITLE) or "").strip() or path.stem
        for record in table.records:
            status = model.canonical_status(record.get(model.STATUS))
            if status in model.CLOSED_STATUSES or not canonical(record.get(model.REF)):
                continue
            actions.append((source, title, record))
    return actions, problems


def check_folders(inbox: Path, packdir: Path) -> None:
    """Packs never live where the roll-up reads plans, nor plans among the packs."""
    inbox, packdir = inbox.resolve(), packdir.resolve()
    if packdir == inbox or packdir.is_relative_to(inbox) or inbox.is_relative_to(packdir):
        raise XltoolsError(
            "the pack folder must be outside the inbox (and the inbox outside it): the roll-up "
            "would read packs and backups as plans",
            packdir,
        )


def write_packs(
    inbox: str | Path,
    packdir: str | Path,
    reporting_date: dt.date | None = None,
    reply_by: dt.date | None = None,
    leads: Mapping[str, str] | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> PackRun:
    """Write one pack per lead officer into ``packdir/REPORTING-DATE/`` and record them in
    the ledger (see the module docstring). ``leads`` (name -> address, the coordinator's
    list) settles each lead's address, recorded in the ledger beside their pack."""
    inbox, packdir = Path(inbox), Path(packdir)
    if not inbox.is_dir():
        raise XltoolsError("is not a folder: give the folder the plans are collected in", inbox)
    check_folders(inbox, packdir)
    reporting_date = reporting_date or dt.date.today()
    reply_by = reply_by or reporting_date + dt.timedelta(days=DEFAULT_REPLY_DAYS)
    if reply_by < reporting_date:
        raise XltoolsError(f"the reply-by date {reply_by} is before the reporting date")
    actions, problems = _open_actions(inbox, limits)
    from xltools.leads import resolve_addresses

    addresses = resolve_addresses(
        ({**record, SOURCE_FILE: source} for source, _, record in actions), leads
    )
    by_lead: dict[str, list[tuple[str, str, dict]]] = {}
    names: dict[str, str] = {}
    without_lead = 0
    for source, title, record in actions:
        key = lead_key(record.get(model.LEAD))
        if not key:
            without_lead += 1
            continue
        by_lead.setdefault(key, []).append((source, title, record))
        names.setdefault(key, " ".join(str(record.get(model.LEAD)).split()))

    ledger = Ledger.load(packdir)
    folder = packdir / reporting_date.isoformat()
    _refuse_to_overwrite_returns(folder, packdir, ledger)
    packs: list[Pack] = []
    used: set[str] = set()
    for key in sorted(by_lead):
        lead = names[key]
        rows = sorted(by_lead[key], key=lambda item: (item[0], _ref_order(item[2])))
        name = slug(lead)
        while name in used:
            name += "-2"
        used.add(name)
        path = folder / f"{name}.xlsx"
        pack_id = f"{reporting_date.isoformat()}/{name}"
        entries = _write_pack(path, pack_id, lead, rows, reporting_date, reply_by)
        ledger.packs[pack_id] = {
            "id": pack_id,
            "lead": lead,
            "email": addresses.address(lead) or "",
            "file": str(path.relative_to(packdir)),
            "reporting_date": reporting_date.isoformat(),
            "reply_by": reply_by.isoformat(),
            "sha256": file_sha256(path),
            "rows": entries,
            "returned": None,
        }
        packs.append(Pack(lead, path, len(rows), len({source for source, _, _ in rows})))
    ledger.save()
    return PackRun(packdir, reporting_date, reply_by, packs, problems, without_lead)


def _refuse_to_overwrite_returns(folder: Path, packdir: Path, ledger: Ledger) -> None:
    """Writing this week's packs again must not destroy a reply saved over a sent pack."""
    sent = {pack["file"]: pack["sha256"] for pack in ledger.packs.values()}
    for path in sorted(folder.glob("*.xlsx")) if folder.is_dir() else ():
        shown = str(path.relative_to(packdir))
        if shown in sent and file_sha256(path) != sent[shown]:
            raise XltoolsError(
                "was changed after it was sent (a reply saved over it?): merge it, or move it "
                "out of the pack folder, before writing this week's packs again",
                path,
            )


def _ref_order(record: Mapping[str, object]) -> tuple:
    """Refs in the order people number them: 1.2 before 1.10."""
    import re

    text = canonical(record.get(model.REF))
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", text))


def _pack_values(source: str, title: str, record: Mapping[str, object]) -> dict[str, object]:
    values = {column: record.get(column) for column in PACK_COLUMNS}
    values[PLAN_COLUMN] = title
    values[model.REF] = canonical(record.get(model.REF))
    values[model.STATUS] = model.canonical_status(record.get(model.STATUS)) or record.get(
        model.STATUS
    )
    for column in REQUEST_COLUMNS:
        values[column] = None
    return values


def _write_pack(
    path: Path,
    pack_id: str,
    lead: str,
    rows: list[tuple[str, str, dict]],
    reporting_date: dt.date,
    reply_by: dt.date,
) -> list[list[str]]:
    """Write one pack; returns its rows as the ledger keeps them: [plan, Ref, version]."""
    entries: list[list[str]] = []
    with atomic_path(path) as temporary:
        workbook = new_workbook(temporary, title=f"Update pack for {lead}")
        formats = standard_formats(workbook)
        editable = {
            "wrap": workbook.add_format({"text_wrap": True, "valign": "top", "locked": False}),
            "date": workbook.add_format(
                {"num_format": "dd/mm/yyyy", "valign": "top", "locked": False}
            ),
        }
        sheet = workbook.add_worksheet(PACK_SHEET)
        letters = {name: column_letters(i) for i, name in enumerate(PACK_COLUMNS)}
        last_row = len(rows)  # 0-based index of the last row (row 0 is the header)
        for index, name in enumerate(PACK_COLUMNS):
            column = model.COLUMNS_BY_NAME.get(name)
            width = WIDTHS.get(name) or (column.width if column else 20)
            sheet.set_column(index, index, width)
            sheet.write_string(0, index, name, formats["header"])
        record = workbook.add_worksheet(RECORD_SHEET)
        record_headers = [*RECORD_KEYS, *PACK_COLUMNS]
        for index, name in enumerate(record_headers):
            record.write_string(0, index, name)
        for row, (source, title, plan_record) in enumerate(rows, start=1):
            values = _pack_values(source, title, plan_record)
            version = row_version(values)
            for index, name in enumerate(PACK_COLUMNS):
                locked = name not in EDITABLE_COLUMNS
                is_date = name in PACK_DATE_COLUMNS
                if locked:
                    cell_format = formats["date"] if is_date else formats["wrap"]
                else:
                    cell_format = editable["date"] if is_date else editable["wrap"]
                write_value(sheet, row, index, values[name], cell_format, cell_format)
            keys = [pack_id, str(row + 1), source, values[model.REF], version]
            for index, value in enumerate([*keys, *(values[n] for n in PACK_COLUMNS)]):
                write_value(record, row, index, value, formats["date"], None)
            entries.append([source, values[model.REF], version])
            lines = max(
                template.wrapped_lines(values.get(name), WIDTHS.get(name) or _width(name))
                for name in PACK_COLUMNS
            )
            if lines > 1:
                sheet.set_row(row, min(15 * lines, 409))
        for name in (model.DUE_DATE, model.LAST_UPDATED, PROPOSED_DUE):
            if name in EDITABLE_COLUMNS:
                column = PACK_COLUMNS.index(name)
                sheet.data_validation(
                    1, column, max(last_row, 1), column, template.date_validation(name)
                )
        status = PACK_COLUMNS.index(model.STATUS)
        sheet.data_validation(
            1, status, max(last_row, 1), status, template.list_validation(model.STATUS)
        )
        template.add_colour_rules(sheet, formats, letters, max(last_row, 1))
        sheet.freeze_panes(1, 3)
        sheet.autofilter(0, 0, max(last_row, 1), len(PACK_COLUMNS) - 1)
        # Protection guides staff to the columns they may change; no password, because
        # it is not security: merge checks every locked value against the record anyway.
        sheet.protect(
            "",
            {
                "format_columns": True,
                "format_rows": True,
                "autofilter": True,
                "select_locked_cells": True,
                "select_unlocked_cells": True,
            },
        )
        paper.apply_xlsxwriter(
            sheet,
            paper.PageSetup(
                f"Update pack for {lead}: reply by {reply_by:%d/%m/%Y}", reporting_date
            ),
        )
        _write_guide(workbook, formats, lead, reporting_date, reply_by)
        template.write_lists_sheet(workbook, formats)
        record.very_hidden()
        record.protect("")
        sheet.activate()
        workbook.close()
    return entries


def _width(name: str) -> int:
    column = model.COLUMNS_BY_NAME.get(name)
    return column.width if column else 20


def _write_guide(workbook, formats, lead: str, reporting_date: dt.date, reply_by: dt.date):
    sheet = workbook.add_worksheet(GUIDE_SHEET)
    sheet.set_column(0, 0, 100, formats["wrap"])
    lines = [
        ("title", f"Update pack for {lead}"),
        (
            "wrap",
            f"Reporting date {reporting_date.strftime('%d/%m/%Y')}. "
            f"Please reply by {reply_by.strftime('%d/%m/%Y')}.",
        ),
        (
            "wrap",
            "On the Update sheet, each row is one of your open actions, from whichever "
            "plan it belongs to. Bring Status, Progress update, Evidence and Last updated up to "
            "date; the other columns are locked.",
        ),
        (
            "wrap",
            "Need more time? Do not change the Due date: write the date you propose in "
            "Proposed due date and say why in Reason. The coordinator decides.",
        ),
        (
            "wrap",
            "Save the workbook under any name and send it back as it is. Please do not "
            "copy rows into another workbook: the pack is matched to the plans by a record "
            "it carries.",
        ),
    ]
    for row, (style, text) in enumerate(lines):
        sheet.write_string(row * 2, 0, clean_text(text).text, formats[style])
    paper.apply_xlsxwriter(
        sheet, paper.PageSetup(f"Update pack for {lead}", reporting_date, repeat_rows=None)
    )


# --------------------------------------------------------------------------
# Reading packs back
# --------------------------------------------------------------------------
@dataclass
class PackRow:
    """One row of a returned pack: what its record says and what the lead left in it."""

    pack_id: str
    row: int
    source: str
    ref: str
    version: str
    sent: dict[str, str]  # canonical values as sent
    now: dict[str, object]  # values as returned (dates as dates)

    def changed(self, columns: Iterable[str]) -> list[str]:
        return [c for c in columns if canonical(self.now.get(c)) != self.sent.get(c, "")]


@dataclass
class ReturnedPack:
    path: Path
    pack_id: str
    rows: list[PackRow]


def read_pack(path: str | Path, limits: Limits = DEFAULT_LIMITS) -> ReturnedPack:
    """Read a returned pack (inspected as any untrusted workbook). Raises XltoolsError when
    it is not a pack or its record is damaged."""
    from xltools.read import SafeWorkbook

    path = Path(path)
    workbook = SafeWorkbook(path, (PACK_SHEET, RECORD_SHEET), limits)
    update = workbook.find_sheet(PACK_SHEET)
    record_sheet = workbook.find_sheet(RECORD_SHEET)
    if update is None or record_sheet is None:
        raise XltoolsError("is not an update pack written by 'xltools packs'", path)
    records = workbook.rows(record_sheet)
    rows = workbook.rows(update)
    if not records or [str(v) for v in records[0][: len(RECORD_KEYS)]] != list(RECORD_KEYS):
        raise XltoolsError("the pack's record sheet is damaged: send the lead a new pack", path)
    record_header = [str(v) for v in records[0]]
    header = [str(v).strip() for v in rows[0]] if rows else []
    positions = {name: header.index(name) for name in PACK_COLUMNS if name in header}
    missing = [name for name in PACK_COLUMNS if name not in positions]
    if missing:
        raise XltoolsError(
            f"the Update sheet has lost its column(s) {', '.join(missing)}: it cannot be merged",
            path,
        )
    result: list[PackRow] = []
    pack_ids = set()
    for line in records[1:]:
        if not any(canonical(v) for v in line):
            continue
        entry = dict(zip(record_header, line, strict=False))
        try:
            row = int(float(canonical(entry["Row"])))
        except ValueError:
            raise XltoolsError("the pack's record sheet is damaged", path) from None
        values = rows[row - 1] if 0 < row <= len(rows) else []
        now = {
            name: _value(values[index] if index < len(values) else None, name)
            for name, index in positions.items()
        }
        pack_ids.add(canonical(entry["Pack"]))
        result.append(
            PackRow(
                canonical(entry["Pack"]),
                row,
                canonical(entry[SOURCE_FILE]),
                canonical(entry[model.REF]),
                canonical(entry["Version"]),
                {name: canonical(entry.get(name)) for name in PACK_COLUMNS},
                now,
            )
        )
    if len(pack_ids) != 1:
        raise XltoolsError("the pack's record sheet is damaged (no single pack id)", path)
    return ReturnedPack(path, pack_ids.pop(), result)


def _value(value: object, column: str) -> object:
    if value == "" or value is None:
        return None
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date()
    if isinstance(value, str):
        return value.strip() or None
    return value


# --------------------------------------------------------------------------
# The loop's state for the register and the emails
# --------------------------------------------------------------------------
@dataclass
class LoopStatus:
    """What the register and the digest show of the weekly loop, from the ledger.

    ``pack_rows`` and ``request_rows`` are the register's Update packs and
    Extension requests sheets; ``not_returned`` the packs to chase (by lead);
    ``requests`` the extension requests waiting for the coordinator.
    """

    pack_rows: list[dict[str, object]]
    request_rows: list[dict[str, object]]
    not_returned: list[dict]
    requests: list[dict]
    folder: Path | None = None


def loop_status(
    ledger: Ledger,
    reporting_date: dt.date,
    times_slipped=None,
) -> LoopStatus:
    """The loop as it stands at ``reporting_date``; ``times_slipped(plan, ref)`` (from the
    history, when there is one) says how often each requesting action has slipped."""
    from xltools import register_sheets as names

    late = ledger.not_returned(reporting_date)
    late_ids = {pack["id"] for pack in late}

    def day(text: str | None) -> dt.date | None:
        return dt.date.fromisoformat(text) if text else None

    pack_rows = []
    for pack in sorted(
        ledger.packs.values(), key=lambda p: (p["reporting_date"], p["lead"].lower())
    ):
        returned = pack.get("returned")
        state = (
            names.RETURNED
            if returned
            else names.NOT_RETURNED
            if pack["id"] in late_ids
            else names.AWAITED
        )
        pack_rows.append(
            {
                names.LEAD: pack["lead"],
                names.PACK_FILE: pack["file"],
                names.SENT_FOR: day(pack["reporting_date"]),
                names.REPLY_BY: day(pack.get("reply_by")),
                names.STATE: state,
                names.RETURNED_ON: day((returned or {}).get("merged_on")),
            }
        )
    requests, request_rows = [], []
    for request in sorted(ledger.requests.values(), key=lambda r: (r["plan"], r["ref"])):
        slips = times_slipped(request["plan"], request["ref"]) if times_slipped else None
        request = {**request, "times_slipped": slips}
        if request["state"] == names.REQUESTED:
            requests.append(request)
        due = request.get("due_before_grant") or request["due"]
        request_rows.append(
            {
                names.SOURCE_FILE: request["plan"],
                model.REF: request["ref"],
                model.ACTION: request["action"],
                names.LEAD: request["lead"],
                model.DUE_DATE: day(due) if _is_iso(due) else due,
                names.PROPOSED_DUE: day(request["proposed"]),
                names.REASON: request["reason"],
                names.REQUESTED_ON: day(request["requested_on"]),
                names.TIMES_SLIPPED: slips,
                names.STATE: request["state"],
                names.GRANTED_ON: day(request.get("granted_on")),
            }
        )
    return LoopStatus(pack_rows, request_rows, late, requests, ledger.path.parent)


def _is_iso(text: object) -> bool:
    try:
        dt.date.fromisoformat(str(text))
    except ValueError:
        return False
    return True


def loop_from_sheets(pack_rows: list[dict], request_rows: list[dict]) -> LoopStatus:
    """The loop read back from a register's Update packs and Extension requests sheets."""
    from xltools import register_sheets as names

    def iso(value: object) -> str:
        return canonical(value)

    pack_rows = [r for r in pack_rows if r.get(names.LEAD)]
    request_rows = [r for r in request_rows if r.get(names.STATE)]
    late = [
        {
            "id": canonical(r[names.PACK_FILE]),
            "lead": canonical(r[names.LEAD]),
            "file": canonical(r[names.PACK_FILE]),
            "reporting_date": iso(r[names.SENT_FOR]),
            "reply_by": iso(r[names.REPLY_BY]),
        }
        for r in pack_rows
        if r.get(names.STATE) == names.NOT_RETURNED
    ]
    requests = [
        {
            "plan": canonical(r[names.SOURCE_FILE]),
            "ref": canonical(r[model.REF]),
            "action": canonical(r[model.ACTION]),
            "lead": canonical(r[names.LEAD]),
            "due": iso(r[model.DUE_DATE]),
            "proposed": iso(r[names.PROPOSED_DUE]),
            "reason": canonical(r[names.REASON]),
            "times_slipped": int(r[names.TIMES_SLIPPED])
            if isinstance(r.get(names.TIMES_SLIPPED), int | float)
            else None,
            "state": names.REQUESTED,
        }
        for r in request_rows
        if r.get(names.STATE) == names.REQUESTED
    ]
    return LoopStatus(pack_rows, request_rows, late, requests)


@dataclass(frozen=True)
class PackNote:
    """A lead's update pack for this week: attached to their note, with the reply-by date."""

    lead: str
    path: Path
    reply_by: dt.date


def pack_notes(packdir: str | Path, reporting_date: dt.date) -> list[PackNote]:
    """The packs written for ``reporting_date``, for the lead notes to attach."""
    packdir = Path(packdir)
    ledger = Ledger.load(packdir)
    return [
        PackNote(pack["lead"], packdir / pack["file"], dt.date.fromisoformat(pack["reply_by"]))
        for pack in sorted(ledger.packs.values(), key=lambda p: p["lead"].lower())
        if pack["reporting_date"] == reporting_date.isoformat()
        and (packdir / pack["file"]).exists()
    ]
