"""Merging returned update packs into the plans, and granting extension requests.

``merge(packdir, inbox)`` finds every returned pack in the pack folder (any
workbook there that carries a pack record and is not byte for byte the copy that
was sent), matches each row to its plan and Ref by the pack's record (checked
against the ledger, never by what staff typed), and writes the changes the
lead made to Status, Progress update, Evidence and Last updated into the plan
with openpyxl, keeping everything else in the plan. Before a plan is changed a
backup is kept in ``PACKDIR/backups/``, outside the inbox, so the next roll-up
never reads it as a plan. The run lists every cell changed.

Conflicts are listed and not applied (their codes are in :mod:`xltools.catalogue`): a locked cell
edited, a record that does not match the ledger, an unknown plan or Ref, two
packs changing one action differently, a pack older than the plan's own last
update of that row, a value that fails the plan's rule pack.

A *Proposed due date* never changes the Due date: it becomes an extension
request in the ledger. ``grants`` ("PLAN:REF", PLAN being the plan's file as the
register's Source file column shows it) move the Due date to the proposed date
and mark the request granted; ``consolidate --packs`` then records the grant in
the history, so the revision shows as granted rather than slipped.

Merging the same packs again changes nothing: a change already in the plan is
not made again, a request already in the ledger is not asked again.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from xltools import catalogue, model
from xltools.cells import clean_text
from xltools.errors import UnreadableWorkbook, XltoolsError
from xltools.fileio import atomic_path
from xltools.outcome import Outcome
from xltools.packs import (
    BACKUPS_FOLDER,
    LOCKED_COLUMNS,
    PROPOSED_DUE,
    REASON,
    UPDATE_COLUMNS,
    Ledger,
    PackRow,
    ReturnedPack,
    _pack_values,
    canonical,
    check_folders,
    file_sha256,
    read_pack,
    request_key,
    row_version,
)
from xltools.read import DEFAULT_LIMITS, Limits, PlanTable, discover, read_plan
from xltools.rules import RulePack, load_pack
from xltools.words import noun


@dataclass(frozen=True)
class CellChange:
    plan: str
    cell: str
    column: str
    ref: str
    old: str
    new: str
    why: str  # "update" (from a pack) or "grant"


@dataclass(frozen=True)
class Conflict:
    """A returned value not applied; ``code`` is catalogued (:mod:`xltools.catalogue`)."""

    code: str
    plan: str
    ref: str
    column: str
    pack: str
    message: str

    def __post_init__(self) -> None:
        catalogue.get(self.code)  # every conflict code is catalogued

    @property
    def label(self) -> str:
        return catalogue.label(self.code)


@dataclass
class MergeResult:
    changes: list[CellChange] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)  # new extension requests
    grants: list[dict] = field(default_factory=list)  # granted in this run
    returns: list[str] = field(default_factory=list)  # pack files newly recorded as returned
    backups: list[Path] = field(default_factory=list)

    @property
    def outcome(self) -> Outcome:
        """PROBLEMS when some conflict was listed (and not applied), else OK."""
        return Outcome.PROBLEMS if self.conflicts else Outcome.OK

    def to_dict(self) -> dict:
        return {
            "outcome": self.outcome.value,
            "changes": [asdict(c) for c in self.changes],
            "conflicts": [asdict(c) | {"label": c.label} for c in self.conflicts],
            "requests": self.requests,
            "grants": self.grants,
            "returns": self.returns,
            "backups": [str(p) for p in self.backups],
        }


@dataclass
class _Proposal:
    """What one returned pack row asks of one action."""

    pack: ReturnedPack
    row: PackRow
    updates: dict[str, object]
    proposed_due: object
    reason: str

    @property
    def label(self) -> str:
        return self.pack.path.name


def returned_packs(
    packdir: Path, ledger: Ledger, limits: Limits
) -> tuple[list[ReturnedPack], list[Conflict]]:
    """Every workbook in the pack folder that is a pack and not the copy as sent."""
    sent = {pack["sha256"] for pack in ledger.packs.values()}
    backups = (packdir / BACKUPS_FOLDER).resolve()
    packs: list[ReturnedPack] = []
    conflicts: list[Conflict] = []
    for path in discover([packdir]).workbooks:
        if path.resolve().is_relative_to(backups) or file_sha256(path) in sent:
            continue
        shown = str(path.relative_to(packdir))
        try:
            pack = read_pack(path, limits)
        except XltoolsError as error:
            conflicts.append(Conflict("not-a-pack", "", "", "", shown, error.message))
            continue
        if pack.pack_id not in ledger.packs:
            conflicts.append(
                Conflict(
                    "unknown-pack",
                    "",
                    "",
                    "",
                    shown,
                    f"the ledger has no pack '{pack.pack_id}': was it made for another pack "
                    "folder?",
                )
            )
            continue
        packs.append(pack)
    return packs, conflicts


def merge(
    packdir: str | Path,
    inbox: str | Path,
    reporting_date: dt.date | None = None,
    grants: Iterable[str] = (),
    rules: str | Path | RulePack = "default",
    limits: Limits = DEFAULT_LIMITS,
    now: dt.datetime | None = None,
) -> MergeResult:
    """Apply the returned packs in ``packdir`` to the plans in ``inbox`` (module docstring)."""
    packdir, inbox = Path(packdir), Path(inbox)
    for folder, what in ((packdir, "the pack folder"), (inbox, "the inbox")):
        if not folder.is_dir():
            raise XltoolsError(f"is not a folder: give {what}", folder)
    check_folders(inbox, packdir)
    ledger = Ledger.load(packdir)
    if not ledger.packs:
        raise XltoolsError("no packs ledger here: write packs with 'xltools packs' first", packdir)
    reporting_date = reporting_date or dt.date.today()
    now = now or dt.datetime.now()
    pack_rules = rules if isinstance(rules, RulePack) else load_pack(rules)
    before = ledger.text()
    result = MergeResult()
    packs, result.conflicts = returned_packs(packdir, ledger, limits)

    by_action: dict[tuple[str, str], list[_Proposal]] = {}
    for pack in packs:
        entry = ledger.packs[pack.pack_id]
        sent_rows = {tuple(r) for r in entry["rows"]}
        for row in pack.rows:
            proposal = _proposal(pack, row, sent_rows, result.conflicts)
            if proposal is not None:
                by_action.setdefault((row.source, row.ref), []).append(proposal)

    grant_keys = _grant_keys(grants, ledger, result.conflicts)
    plans = sorted({source for source, _ in by_action} | {plan for plan, _ in grant_keys})
    for source in plans:
        _merge_plan(
            inbox,
            packdir,
            source,
            {ref: found for (plan, ref), found in by_action.items() if plan == source},
            [ref for plan, ref in grant_keys if plan == source],
            ledger,
            pack_rules,
            reporting_date,
            now,
            limits,
            result,
        )

    for pack in packs:
        entry = ledger.packs[pack.pack_id]
        sha = file_sha256(pack.path)
        if (entry.get("returned") or {}).get("sha256") != sha:
            entry["returned"] = {
                "file": str(pack.path.relative_to(packdir)),
                "sha256": sha,
                "merged_on": reporting_date.isoformat(),
            }
            result.returns.append(str(pack.path.relative_to(packdir)))
    if ledger.text() != before:
        ledger.save()
    return result


def _proposal(
    pack: ReturnedPack, row: PackRow, sent_rows: set, conflicts: list[Conflict]
) -> _Proposal | None:
    def conflict(code: str, column: str, message: str) -> None:
        conflicts.append(Conflict(code, row.source, row.ref, column, pack.path.name, message))

    if (
        row.pack_id != pack.pack_id
        or (row.source, row.ref, row.version) not in sent_rows
        or row_version(row.sent) != row.version
    ):
        conflict(
            "record-altered",
            "",
            f"row {row.row}: the pack's hidden record was changed; nothing from this row is "
            "applied: send the lead a new pack",
        )
        return None
    edited = row.changed(LOCKED_COLUMNS)
    if edited:
        shown = ", ".join(f"{c} '{canonical(row.now.get(c))}'" for c in edited)
        conflict(
            "locked-cell-edited",
            edited[0],
            f"row {row.row}: {noun(len(edited), 'locked cell')} changed ({shown}); nothing "
            "from this row is applied: ask the lead to return the row as sent, or change the "
            "plan yourself",
        )
        return None
    updates = {column: row.now.get(column) for column in row.changed(UPDATE_COLUMNS)}
    proposed = row.now.get(PROPOSED_DUE)
    reason = canonical(row.now.get(REASON))
    if not updates and proposed is None:
        return None
    return _Proposal(pack, row, updates, proposed, reason)


def _grant_keys(
    grants: Iterable[str], ledger: Ledger, conflicts: list[Conflict]
) -> list[tuple[str, str]]:
    keys = []
    for text in grants:
        plan, sep, ref = str(text).rpartition(":")
        if not sep or not plan or not ref:
            raise XltoolsError(f"the grant '{text}' is not PLAN:REF (for example argyll.xlsx:1.4)")
        request = ledger.requests.get(request_key(plan, ref))
        if request is None:
            waiting = ", ".join(request_key(r["plan"], r["ref"]) for r in ledger.open_requests())
            conflicts.append(
                Conflict(
                    "no-request",
                    plan,
                    ref,
                    model.DUE_DATE,
                    "",
                    "no extension request for this action"
                    + (f"; waiting: {waiting}" if waiting else "; none is waiting"),
                )
            )
            continue
        keys.append((plan, ref))
    return keys


def _find_row(table: PlanTable, ref: str) -> int | None:
    found = [i for i, r in enumerate(table.records) if canonical(r.get(model.REF)) == ref]
    return found[0] if len(found) == 1 else None


def _merge_plan(
    inbox: Path,
    packdir: Path,
    source: str,
    proposals: dict[str, list[_Proposal]],
    grant_refs: list[str],
    ledger: Ledger,
    pack_rules: RulePack,
    reporting_date: dt.date,
    now: dt.datetime,
    limits: Limits,
    result: MergeResult,
) -> None:
    def conflict(code: str, ref: str, column: str, pack: str, message: str) -> None:
        result.conflicts.append(Conflict(code, source, ref, column, pack, message))

    path = inbox / source
    try:
        if not path.resolve().is_relative_to(inbox.resolve()):
            raise UnreadableWorkbook("is outside the inbox", path)
        table = read_plan(path, limits)
    except (UnreadableWorkbook, OSError) as error:
        for ref, found in proposals.items():
            for p in found:
                conflict("unknown-plan", ref, "", p.label, f"the plan cannot be used: {error}")
        for ref in grant_refs:
            conflict("unknown-plan", ref, "", "", f"the plan cannot be used: {error}")
        return
    title = str(table.plan.get(model.PLAN_TITLE) or "").strip() or path.stem
    # (record index, column) -> (new value, why, pack label)
    wanted: dict[tuple[int, str], tuple[object, str, str]] = {}
    for ref, found in sorted(proposals.items()):
        index = _find_row(table, ref)
        if index is None:
            for p in found:
                conflict(
                    "unknown-ref",
                    ref,
                    model.REF,
                    p.label,
                    f"the plan has no single action with Ref '{ref}' (renumbered or deleted?)",
                )
            continue
        record = table.records[index]
        distinct = {
            json.dumps(
                {c: canonical(v) for c, v in p.updates.items()}
                | {PROPOSED_DUE: canonical(p.proposed_due)},
                sort_keys=True,
            )
            for p in found
        }
        if len(distinct) > 1:
            packs = ", ".join(p.label for p in found)
            for p in found:
                conflict(
                    "two-packs",
                    ref,
                    "",
                    p.label,
                    f"returned packs disagree about this action ({packs}): nothing applied; "
                    "keep one and move the other out of the pack folder",
                )
            continue
        proposal = found[0]
        pending = {
            c: v for c, v in proposal.updates.items() if canonical(record.get(c)) != canonical(v)
        }
        if pending and row_version(_pack_values(source, title, record)) != proposal.row.version:
            conflict(
                "plan-newer",
                ref,
                ", ".join(pending),
                proposal.label,
                "the plan's row changed after this pack was made; its update is not applied: "
                "send the lead a new pack",
            )
            continue
        for column, value in pending.items():
            wanted[(index, column)] = (value, "update", proposal.label)
        if proposal.proposed_due is not None:
            _request(proposal, record, source, reporting_date, ledger, result, conflict)

    for ref in grant_refs:
        index = _find_row(table, ref)
        request = ledger.requests[request_key(source, ref)]
        if index is None:
            conflict("unknown-ref", ref, model.REF, "", f"the plan has no single Ref '{ref}'")
            continue
        proposed = dt.date.fromisoformat(request["proposed"])
        if canonical(table.records[index].get(model.DUE_DATE)) != proposed.isoformat():
            wanted[(index, model.DUE_DATE)] = (proposed, "grant", "")
        if request["state"] != "granted":
            request["state"] = "granted"
            request["granted_on"] = reporting_date.isoformat()
            request["due_before_grant"] = canonical(table.records[index].get(model.DUE_DATE))
            result.grants.append(dict(request))

    _check_rules(table, wanted, pack_rules, reporting_date, conflict)
    missing = {column for _, column in wanted if column not in table.columns}
    for (index, column), (_, _, label) in list(wanted.items()):
        if column in missing:
            ref = canonical(table.records[index].get(model.REF))
            conflict("column-missing", ref, column, label, f"the plan has no '{column}' column")
            del wanted[(index, column)]
    if wanted:
        _write_plan(path, packdir, source, table, wanted, now, result, conflict)


def _request(proposal, record, source, reporting_date, ledger, result, conflict) -> None:
    """An extension request into the ledger (once), after checking it is a later date."""
    ref = proposal.row.ref
    proposed = proposal.proposed_due
    due = record.get(model.DUE_DATE)
    if isinstance(due, dt.datetime):
        due = due.date()
    if not isinstance(proposed, dt.date):
        conflict(
            "fails-rule",
            ref,
            PROPOSED_DUE,
            proposal.label,
            f"'{canonical(proposed)}' is not a date: the request is not recorded",
        )
        return
    if isinstance(proposed, dt.datetime):
        proposed = proposed.date()
    key = request_key(source, ref)
    existing = ledger.requests.get(key)
    if existing and existing["proposed"] == proposed.isoformat():
        return  # asked (and perhaps granted) already
    if isinstance(due, dt.date) and proposed <= due:
        conflict(
            "fails-rule",
            ref,
            PROPOSED_DUE,
            proposal.label,
            f"{proposed:%d/%m/%Y} is not later than the due date {due:%d/%m/%Y}: "
            "the request is not recorded",
        )
        return
    request = {
        "plan": source,
        "ref": ref,
        "action": canonical(record.get(model.ACTION)),
        "lead": canonical(record.get(model.LEAD)),
        "due": due.isoformat() if isinstance(due, dt.date) else canonical(due),
        "proposed": proposed.isoformat(),
        "reason": proposal.reason,
        "pack": proposal.row.pack_id,
        "requested_on": reporting_date.isoformat(),
        "state": "requested",
    }
    ledger.requests[key] = request
    result.requests.append(dict(request))


def _check_rules(table, wanted, pack_rules, reporting_date, conflict) -> None:
    """Drop the changes whose row, once changed, fails a check it did not fail before."""
    if not wanted:
        return
    from xltools.validate import validate_tables

    candidate = PlanTable(
        path=table.path,
        plan=table.plan,
        plan_cells=table.plan_cells,
        has_plan_sheet=table.has_plan_sheet,
        actions_sheet=table.actions_sheet,
        header_row=table.header_row,
        columns=table.columns,
        extra_columns=table.extra_columns,
        missing_columns=table.missing_columns,
        records=[dict(r) for r in table.records],
        source_rows=table.source_rows,
    )
    for (index, column), (value, _, _) in wanted.items():
        candidate.records[index][column] = value
    date = table.reporting_date or reporting_date
    before, after = validate_tables([table, candidate], pack_rules, date)

    def key(f):
        return (f.code, f.row, f.column)

    old = {key(f) for f in before.errors}
    rows = {table.source_rows[index]: index for index, _ in wanted}
    for finding in after.errors:
        if key(finding) in old or finding.row not in rows:
            continue
        index = rows[finding.row]
        touched = [c for (i, c) in wanted if i == index]
        if finding.column and finding.column not in touched:
            continue
        label = next(lbl for (i, _), (_, _, lbl) in wanted.items() if i == index)
        conflict(
            "fails-rule",
            finding.ref,
            finding.column,
            label,
            f"{finding.message} Nothing from this row is applied.",
        )
        for column in touched:
            wanted.pop((index, column), None)


def _write_plan(path, packdir, source, table, wanted, now, result, conflict) -> None:
    from openpyxl import load_workbook

    from xltools.colour import parts_openpyxl_would_lose

    lost = parts_openpyxl_would_lose(path)
    if lost:
        for index, column in wanted:
            ref = canonical(table.records[index].get(model.REF))
            conflict(
                "plan-not-editable",
                ref,
                column,
                wanted[(index, column)][2],
                "the plan holds " + ", ".join(lost) + " that saving it would lose: make this "
                "change by hand",
            )
        return
    keep_vba = path.suffix.lower() == ".xlsm"
    try:
        workbook = load_workbook(path, keep_vba=keep_vba, rich_text=True)
    except Exception as error:  # openpyxl raises many types for damaged files
        raise UnreadableWorkbook(f"the plan could not be opened ({error})", path) from None
    sheet = workbook[table.actions_sheet]
    changes = []
    for (index, column), (value, why, _) in sorted(wanted.items()):
        address = table.cell(column, index)
        cell = sheet[address]
        old = canonical(cell.value)
        if isinstance(value, dt.date):
            cell.value = value
            cell.number_format = "dd/mm/yyyy"
        elif value is None:
            cell.value = None
        else:
            # As text, always: openpyxl would make '=...' a formula.
            cell.value = clean_text(str(value)).text
            cell.data_type = "s"
        ref = canonical(table.records[index].get(model.REF))
        changes.append(CellChange(source, address, column, ref, old, canonical(value), why))
    backup = packdir / BACKUPS_FOLDER / now.strftime("%Y%m%d-%H%M%S") / source
    counter = 1
    while backup.exists():
        counter += 1
        backup = packdir / BACKUPS_FOLDER / f"{now:%Y%m%d-%H%M%S}-{counter}" / source
    backup.parent.mkdir(parents=True, exist_ok=True)
    import shutil

    shutil.copy2(path, backup)
    with atomic_path(path) as temporary:
        workbook.save(temporary)
    result.backups.append(backup)
    result.changes.extend(changes)
