"""Reading a plan's own layout: one general mechanism, not a parser per council.

Given rows of text cells (:mod:`xltools.importers.sources`), ``read_layout``:

1. finds the header row by recognising column names (phrases of the standard
   columns and their many synonyms) and checks the guess against what the
   columns contain (a Timescale column holds dates; a Ref column short codes);
2. walks the rows after it: repeated header rows are dropped; section heading
   rows (one or two cells, no lead, no dates) become the Area for improvement
   of the rows under them; continuation rows (no reference in a numbered plan,
   or no action text) are merged into the action they belong to; a cell that
   repeats its column's heading before its value has the heading removed;
3. turns each action row into the standard columns: Ref (the plan's own, or
   read from "1." at the start of the text), Timescale as written and the due
   date derived from it, Grade from letters such as "(B)", a Status suggested
   by the grade, by words such as "Completed" or by RAG colours; columns that
   map to nothing are kept as extra columns.

Every judgement is recorded in the import report.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from xltools import catalogue, model
from xltools.dates import due_date_from_text
from xltools.importers.headers import (
    assign_columns,
    column_content,
    header_score,
    phrase_scores,
)

if TYPE_CHECKING:
    from xltools.importers.sources import SourceRow

NOT_GIVEN_LEAD = "To be confirmed"
_NO_REF = object()


def judged(code: str, line: int | None = None, ref: object = _NO_REF, **fields) -> dict:
    """One judgement of the import report: its catalogued code and its words."""
    item: dict[str, object] = {"code": code}
    if line is not None:
        item["line"] = line
    if ref is not _NO_REF:
        item["ref"] = ref
    item["judgement"] = catalogue.get(code).template.format(**fields)
    return item


COMPLETE_WORDS = re.compile(
    r"\b(already achieved|achieved|completed?|implemented|in place)\b", re.IGNORECASE
)
NOT_COMPLETE = re.compile(
    r"\b(not (?:yet )?(?:achieved|completed?|implemented|in place)|to be (?:completed|implemented"
    r"|achieved))\b",
    re.IGNORECASE,
)
GRADE_IN_TEXT = re.compile(r"\(\s*([A-D])\s*\)")
LEADING_NUMBER = re.compile(r"^\s*(\d{1,3}(?:\.\d{1,3})*[a-z]?)(?:[.)]\s*|\s+(?=[A-Z]))")
# Cells that only rule a line in Word: dashes, underscores, dots.
LABELLED_STATUS = re.compile(r"\bstatus\s*:\s*([^–—.;:,(\n]{2,40})", re.IGNORECASE)
FILLER = re.compile(r"^[\s\-_–—.]*$")
NOT_APPLICABLE = re.compile(r"^\s*(n/?a|not applicable|none|-+|_+)\s*\.?\s*$", re.IGNORECASE)


@dataclass
class Layout:
    header_line: int
    headers: list[str]
    columns: dict[int, str]  # cell index -> standard column
    extras: dict[int, str]  # cell index -> extra column name
    mapping_report: dict[str, str]
    confidence: dict[str, float] = field(default_factory=dict)  # per source column, 0 to 1
    header_reason: str = ""

    def index_of(self, column: str) -> int | None:
        return next((i for i, name in self.columns.items() if name == column), None)


@dataclass
class ImportedAction:
    line: int
    values: dict[str, object] = field(default_factory=dict)


@dataclass
class LayoutResult:
    layout: Layout
    actions: list[ImportedAction]
    judgements: list[dict[str, object]]
    timescales_not_understood: list[dict[str, object]]
    several_grades: list[dict[str, object]]
    title_rows: list[str]


@dataclass(frozen=True)
class HeaderChoice:
    """Which row is the header: its index, how many rows it spans, and why."""

    index: int
    rows: int = 1  # 2 when a group heading row stands over sub-headings
    headerless: bool = False  # no header row: columns are read by their content
    reason: str = ""


def _choose_header(rows: list[SourceRow], header_line: int | None = None) -> HeaderChoice:
    """The header row: the first row that names the most standard columns.

    A row of sub-headings under it ("Status" over "Progress" and "Icon") is joined
    to it. A table with no header row at all (rows of codes and text under a
    heading) is read by content. ``header_line`` (1-based) is the user's choice.
    """
    if header_line is not None:
        for index, row in enumerate(rows):
            if row.line == header_line and not row.blank:
                return HeaderChoice(index, _sub_header_rows(rows, index), reason="as told")
        from xltools.errors import XltoolsError

        raise XltoolsError(f"line {header_line} is blank or not in the file: no header there")
    best_index, best_score = -1, 1
    for index, row in enumerate(rows):
        score = header_score(row.cells)
        if score > best_score:
            best_index, best_score = index, score
            if score >= 5:
                break
    if best_index < 0:
        start = _headerless_table(rows)
        if start is not None:
            label = _label_row_above(rows, start)
            if label is not None:
                return HeaderChoice(label, 1, reason="the line above the table names a column")
            return HeaderChoice(start, 0, True, "no header row: columns read by their content")
        from xltools.errors import XltoolsError

        raise XltoolsError(
            "no table header found: the importer looks for headings such as Action, Lead "
            "officer, Timescale"
        )
    # The first row that names as many columns as the best is the header (tables repeat it).
    for index, row in enumerate(rows):
        if header_score(row.cells) == best_score:
            best_index = index
            break
    return HeaderChoice(
        best_index,
        _sub_header_rows(rows, best_index),
        reason=f"names {best_score} standard columns",
    )


def _sub_header_rows(rows: list[SourceRow], index: int) -> int:
    """2 when the row under the header holds only sub-headings of it, else 1."""
    if index + 1 >= len(rows):
        return 1
    header, below = rows[index], rows[index + 1]
    filled = [c for c in below.cells if c]
    if not filled or len(filled) >= len([c for c in header.cells if c]):
        return 1
    if any(len(c) > 30 or column_content([c]).affinity(model.TIMESCALE) for c in filled):
        return 1
    named = sum(1 for c in filled if phrase_scores(c))
    return 2 if named else 1


def _headerless_table(rows: list[SourceRow]) -> int | None:
    """Where a table with no header starts: rows of three or more cells led by codes,
    or rows of two or more cells each led by a statement of what will be done."""
    table = [i for i, r in enumerate(rows) if len([c for c in r.cells if c]) >= 3]
    if len(table) >= 2 and column_content([rows[i].cells[0] for i in table]).codes >= 0.6:
        return table[0]
    table = [i for i, r in enumerate(rows) if len([c for c in r.cells if c]) >= 2]
    if len(table) < 2:
        return None
    first = column_content([rows[i].cells[0] for i in table])
    return table[0] if first.text >= 0.8 and first.mean_length >= 20 else None


def _label_row_above(rows: list[SourceRow], start: int) -> int | None:
    """A short line of labels just above a table, naming at least one of its columns
    (a header whose other cells are blank), as the table's header."""
    above = next((i for i in range(start - 1, -1, -1) if not rows[i].blank), None)
    if above is None:
        return None
    cells = rows[above].cells
    labels = [c for c in cells if c]
    if len(cells) < 2 or not labels or any(len(c) > 60 for c in labels):
        return None
    return above if header_score(cells) >= 1 else None


def _map_columns(
    headers: list[str],
    body: list[SourceRow],
    headerless: bool = False,
    told: dict[int, str] | None = None,
) -> tuple[dict, dict, dict, dict]:
    """Columns to standard columns (see :func:`xltools.importers.headers.assign_columns`).

    ``told`` maps column indexes to standard columns (or "" to keep a column as an
    extra) as the user gave them; the rest are assigned around them.
    """
    width = len(headers)
    contents = [
        column_content([r.cells[i] for r in body if i < len(r.cells)]) for i in range(width)
    ]
    told = told or {}
    free_headers = [("" if i in told else h) for i, h in enumerate(headers)]
    free_contents = [(column_content([]) if i in told else c) for i, c in enumerate(contents)]
    assignments = [
        a
        for a in assign_columns(free_headers, free_contents, headerless)
        if a.index not in told and a.target not in told.values()
    ]
    columns: dict[int, str] = {i: t for i, t in told.items() if t}
    report: dict[str, str] = {}
    confidence: dict[str, float] = {}

    def name(index: int) -> str:
        return headers[index] or f"column {index + 1}"

    for index, target in columns.items():
        report[name(index)] = target
        confidence[name(index)] = 1.0
    for item in assignments:
        columns[item.index] = item.target
        report[name(item.index)] = item.target
        confidence[name(item.index)] = item.confidence
    extras: dict[int, str] = {}
    used_names = set(model.ACTION_COLUMN_NAMES)
    for index, header in enumerate(headers):
        if index in columns:
            continue
        has_values = contents[index].count > 0
        if not header and not has_values:
            continue
        label = " ".join(header.split())[:80] or f"Column {index + 1}"
        while label in used_names:
            label += " (2)"
        used_names.add(label)
        extras[index] = label
        report.setdefault(name(index), f"kept as extra column '{label}'")
    return columns, extras, report, confidence


def _normalised(cells: list[str]) -> list[str]:
    return [model.normalise_header(c) for c in cells if c]


@dataclass
class Draft:
    """One action's cells as grouped from the source rows, before interpretation."""

    line: int
    cells: dict[int, str]
    heading: str | None = None


class _Grouper:
    """Walks the rows after the header and groups them into one draft per action."""

    def __init__(
        self, rows: list[SourceRow], header_index: int, layout: Layout, body_start: int
    ) -> None:
        self.rows = rows
        self.header_index = header_index  # -1 for a table with no header row
        self.body_start = body_start
        self.layout = layout
        self.header_key = _normalised(rows[header_index].cells) if header_index >= 0 else ["\0"]
        self.mapped = len(layout.columns)
        self.ref_index = layout.index_of(model.REF)
        self.action_index = layout.index_of(model.ACTION)
        self.area_index = layout.index_of(model.AREA)
        self.numbered = _is_numbered(rows[body_start:], self.ref_index, self.action_index)
        self.drafts: list[Draft] = []
        self.judgements: list[dict[str, object]] = []
        self.group_cells: dict[int, str] = {}  # a group heading's merged cells (lead...)

    def _starts_group(self, cells, has_ref, action_text, following) -> bool:
        """An unnumbered row in a numbered plan that fills the Area column and names only a
        short sub-heading where the action would be, above numbered rows."""
        return bool(
            self.numbered
            and not has_ref
            and self.area_index is not None
            and cells.get(self.area_index)
            and len(action_text) <= 40
            and len(action_text.split()) <= 5
            and not re.search(r"[.:;!?]\s*$", action_text)
            and following is not None
            and self.has_ref(following)
        )

    def cell(self, row: SourceRow | None, index: int | None) -> str:
        if row is None or index is None or index >= len(row.cells):
            return ""
        value = row.cells[index]
        return "" if FILLER.match(value) else value

    def has_ref(self, row: SourceRow | None) -> bool:
        return bool(self.cell(row, self.ref_index)) or bool(
            LEADING_NUMBER.match(self.cell(row, self.action_index))
        )

    def judge(self, line: int, code: str, **fields) -> None:
        self.judgements.append(judged(code, line, **fields))

    def group(self) -> list[Draft]:
        rows = self.rows
        heading: str | None = None
        pending_heading: str | None = None  # a heading standing just above a header row
        prefix: dict[int, str] | None = None  # text that runs on into the next action
        above = next(
            (
                r
                for r in reversed(rows[: max(self.header_index, 0) or self.body_start])
                if not r.blank
            ),
            None,
        )
        if self.header_index > 0 and not rows[self.header_index - 1].blank:
            pending_heading = _heading_above(rows, self.header_index)
        elif self.header_index < 0 and above is not None:
            # the heading over a table with no header
            pending_heading = _heading_above(rows, rows.index(above) + 1)
        heading = pending_heading
        pending_heading = None
        for position in range(self.body_start, len(rows)):
            row = rows[position]
            if row.blank:
                continue
            if _is_repeated_header(row, self.header_key, self.mapped):
                heading = pending_heading or heading
                pending_heading = None
                continue
            headers = self.layout.headers
            cells = {
                i: _strip_heading(value, headers[i] if i < len(headers) else "")
                for i, value in enumerate(row.cells)
                if value and not FILLER.match(value)
            }
            if not cells:
                continue
            title = self._heading_text(cells)
            if title is not None:
                if len(cells) == 1 and _next_is_header(
                    rows, position, self.header_key, self.mapped
                ):
                    pending_heading = title
                else:
                    heading = title.rstrip(":")
                self.group_cells = {}
                continue
            action_text = self.cell(row, self.action_index)
            has_ref = self.has_ref(row)
            following = rows[position + 1] if position + 1 < len(rows) else None
            if self._starts_group(cells, has_ref, action_text, following):
                # Merged cells in Word: the area (and lead) written once for the rows below.
                heading = cells[self.area_index].split("\n")[0]
                self.group_cells = {
                    i: v for i, v in cells.items() if i not in (self.ref_index, self.action_index)
                }
                self.judge(row.line, "import-group-heading", text=action_text, heading=heading)
                continue
            if (
                self.drafts
                and self.numbered
                and not has_ref
                and action_text
                and following is not None
                and self.has_ref(following)
                and not re.search(r"[.:;!?]\s*$", action_text)
            ):
                prefix = cells
                self.judge(row.line, "import-text-joined-below")
                continue
            if self.drafts and self._continues_previous(cells, has_ref, bool(action_text)):
                previous = self.drafts[-1].cells
                for index, value in cells.items():
                    previous[index] = (
                        f"{previous[index]}\n{value}" if previous.get(index) else value
                    )
                self.judge(row.line, "import-row-joined-above")
                continue
            if prefix:
                for index, value in prefix.items():
                    cells[index] = f"{value} {cells[index]}" if cells.get(index) else value
                prefix = None
            for index, value in self.group_cells.items():
                if index != self.area_index and not cells.get(index):
                    cells[index] = value
            self.drafts.append(Draft(row.line, cells, heading))
        return self.drafts

    def _heading_text(self, cells: dict[int, str]) -> str | None:
        """A section heading: one or two cells, only where a ref, area or action would be."""
        heading_columns = {self.ref_index, self.area_index, self.action_index, 0}
        if len(cells) > 2 or not set(cells) <= heading_columns:
            return None
        if len(cells) == 2 and self.ref_index not in cells:
            return None
        text = (
            cells.get(self.area_index)
            or cells.get(self.action_index)
            or next((v for i, v in sorted(cells.items()) if i != self.ref_index), "")
        )
        return text.split("\n")[0]

    def _continues_previous(self, cells: dict[int, str], has_ref: bool, has_action: bool) -> bool:
        if self.action_index is not None and not has_action:
            return True  # no action text: details of the action above
        if not self.numbered or has_ref:
            return False
        # A row filling most columns is an action whose number was lost, unless the
        # action above ends "...to ensure:" and this row is its list.
        full = len(cells) >= max(3, 0.75 * self.mapped)
        above = (
            self.drafts[-1].cells.get(self.action_index, "")
            if self.action_index is not None
            else ""
        )
        return not full or bool(re.search(r":\s*$", above or ""))


def read_layout(
    rows: list[SourceRow],
    header_line: int | None = None,
    told: dict[str, str] | None = None,
) -> LayoutResult:
    """Read a plan's layout and its actions (see the module docstring).

    ``header_line`` (1-based) says which line the header is on; ``told`` maps
    source headers (or "column N") to standard columns, as the user gave them.
    """
    choice = _choose_header(rows, header_line)
    if choice.headerless:
        header_index, body_start = -1, choice.index
        headers: list[str] = []
        header_row_line = rows[choice.index].line
    else:
        header_index = choice.index + choice.rows - 1
        body_start = header_index + 1
        headers = _joined_headers(rows[choice.index : choice.index + choice.rows])
        header_row_line = rows[choice.index].line
    body = rows[body_start:]
    # Cells beyond the header's last column are stray (text boxes, merged lines).
    width = len(headers) or max((len(r.cells) for r in body), default=0)
    headers += [""] * (width - len(headers))
    told_indexes = _told_indexes(headers, told or {})
    columns, extras, mapping, confidence = _map_columns(
        headers, body, choice.headerless, told_indexes
    )
    layout = Layout(header_row_line, headers, columns, extras, mapping, confidence, choice.reason)
    title_end = choice.index if not choice.headerless else choice.index
    title_rows = [
        " ".join(c for c in r.cells if c).strip() for r in rows[:title_end] if not r.blank
    ]
    grouper = _Grouper(rows, header_index, layout, body_start)
    drafts = grouper.group()
    judgements = grouper.judgements
    _resolve_ditto(drafts, columns, headers, judgements)

    actions: list[ImportedAction] = []
    kept: list[tuple[ImportedAction, Draft]] = []
    last_area = None
    for draft in drafts:
        action = ImportedAction(draft.line)
        out = action.values
        for index, value in draft.cells.items():
            if index in columns:
                out[columns[index]] = value
            elif index in extras:
                out[extras[index]] = value
        carried_area = last_area if layout.index_of(model.AREA) is not None else None
        _fill_area(out, draft.heading, carried_area, judgements, draft.line, title_rows)
        last_area = out.get(model.AREA)
        _fill_ref(out)
        if not out.get(model.ACTION):
            judgements.append(judged("import-row-skipped", draft.line))
            continue
        actions.append(action)
        kept.append((action, draft))
    _unique_refs(actions, judgements)

    timescales_not_understood: list[dict[str, object]] = []
    several_grades: list[dict[str, object]] = []
    for action, draft in kept:
        out, line = action.values, action.line
        _fill_status_and_grade(out, draft.cells, several_grades, judgements, line)
        _fill_dates(out, timescales_not_understood, judgements, line)
        _fill_lead(out, judgements, line)
    return LayoutResult(
        layout, actions, judgements, timescales_not_understood, several_grades, title_rows
    )


def _joined_headers(header_rows: list[SourceRow]) -> list[str]:
    """One header per column; a group heading carried over the sub-headings under it."""
    if len(header_rows) == 1:
        return list(header_rows[0].cells)
    top, below = header_rows
    width = max(len(top.cells), len(below.cells))
    joined, group = [], ""
    for i in range(width):
        upper = top.cells[i] if i < len(top.cells) else ""
        lower = below.cells[i] if i < len(below.cells) else ""
        group = upper or (group if lower else "")
        joined.append(" ".join(part for part in (group if lower else upper, lower) if part))
    return joined


def _told_indexes(headers: list[str], told: dict[str, str]) -> dict[int, str]:
    """The user's mapping (header or "column N" -> standard column) by column index."""
    from xltools.errors import XltoolsError

    by_index: dict[int, str] = {}
    keys = [model.normalise_header(h) for h in headers]
    for source, target in told.items():
        standard = (
            ""
            if target.strip().lower() in ("", "keep", "extra", "ignore")
            else (model.canonical_action_header(target) or target)
        )
        if standard and standard not in model.ACTION_COLUMN_NAMES:
            raise XltoolsError(f"{target!r} is not a standard column (for {source!r})")
        match = re.fullmatch(r"column\s+(\d+)", source.strip(), re.IGNORECASE)
        if match:
            index = int(match.group(1)) - 1
        elif model.normalise_header(source) in keys:
            index = keys.index(model.normalise_header(source))
        else:
            raise XltoolsError(
                f"no column headed {source!r} (the headers are: "
                + ", ".join(repr(h) for h in headers if h)
                + ")"
            )
        by_index[index] = model.TIMESCALE if standard == model.DUE_DATE else standard
    return by_index


DITTO = re.compile(r'^\s*(as above|ditto|do|"|\'\'|〃|as per above|same as above)\.?\s*$', re.I)


def _resolve_ditto(drafts: list[Draft], columns: dict[int, str], headers, judgements) -> None:
    """'As above', 'ditto' and '"' take the value of the same column in the row above."""
    previous: dict[int, str] = {}
    for draft in drafts:
        for index, value in list(draft.cells.items()):
            if DITTO.match(value) and previous.get(index):
                draft.cells[index] = previous[index]
                column = columns.get(index) or headers[index] or f"column {index + 1}"
                judgements.append(
                    judged(
                        "import-ditto",
                        draft.line,
                        column=column,
                        value=value.strip(),
                        above=previous[index][:40],
                    )
                )
        previous.update({i: v for i, v in draft.cells.items() if v})


def _fill_lead(out: dict, judgements, line: int) -> None:
    if out.get(model.LEAD):
        # Several leads, one per line in the source, become one line.
        out[model.LEAD] = " / ".join(p for p in out[model.LEAD].split("\n") if p.strip())
        return
    out[model.LEAD] = NOT_GIVEN_LEAD
    judgements.append(judged("import-lead-missing", line, out.get(model.REF), lead=NOT_GIVEN_LEAD))


def _is_sentence(text: str) -> bool:
    return text.rstrip().endswith(".") and len(text.split()) >= 6


def _heading_above(rows: list[SourceRow], index: int) -> str | None:
    """The heading over the row at ``index``: the single line just above it, or, where
    that line is a sentence (an objective's aim under its heading), the line above that."""
    for row in reversed(rows[max(0, index - 3) : index]):
        if row.blank:
            return None
        text = _single_text(row)
        if text is None or not _is_sentence(text):
            return text
    return None


def _single_text(row: SourceRow) -> str | None:
    texts = [c for c in row.cells if c]
    return texts[0].split("\n")[0] if len(texts) == 1 else None


def _is_repeated_header(row: SourceRow, header_key: list[str], mapped: int) -> bool:
    """The header again (tables repeat it on every page), or another header like it."""
    if _normalised(row.cells) == header_key:
        return True
    short = all(len(cell) <= 60 for cell in row.cells)
    return short and header_score(row.cells) >= max(3, mapped - 1)


def _next_is_header(rows, position, header_key, mapped) -> bool:
    for row in rows[position + 1 : position + 3]:
        if row.blank:
            continue
        return _is_repeated_header(row, header_key, mapped)
    return False


def _strip_heading(value: str, header: str) -> str:
    """'3. Brief description ... achieve. Involvement in ...' -> 'Involvement in ...'."""
    if header and len(header) > 12:
        stripped_header = header.strip()
        text = value.lstrip()
        for candidate in (stripped_header, re.sub(r"^\d+[.)]\s*", "", stripped_header)):
            if candidate and text.startswith(candidate):
                return text[len(candidate) :].strip()
    return value


def _is_numbered(body: list[SourceRow], ref_index, action_index) -> bool:
    rows = [r for r in body if not r.blank and len([c for c in r.cells if c]) >= 3]
    if not rows:
        return False
    with_number = 0
    for row in rows:
        ref = row.cells[ref_index] if ref_index is not None and ref_index < len(row.cells) else ""
        action = (
            row.cells[action_index]
            if action_index is not None and action_index < len(row.cells)
            else ""
        )
        if ref or LEADING_NUMBER.match(action or ""):
            with_number += 1
    return with_number >= 0.6 * len(rows)


NO_AREA = "Not stated in the source plan"
_NOT_A_TITLE = re.compile(r"^(appendix|annex|annexe|enclosure|item|page)\b[\w .:-]{0,6}$", re.I)


def plan_title(title_rows: list[str]) -> str | None:
    """The plan's title: its first title line that is a title (not "Appendix A")."""
    for row in title_rows:
        text = re.sub(r"\s+Council:.*$", "", row).strip()
        if 3 < len(text) < 160 and not _NOT_A_TITLE.match(text):
            return text
    return None


def _fill_area(out: dict, heading, last_area, judgements, line, title_rows=()) -> None:
    if out.get(model.AREA):
        out[model.AREA] = (
            out[model.AREA].split("\n")[0].rstrip(":")
            if len(out[model.AREA]) > 200
            else out[model.AREA]
        )
        return
    if last_area:
        out[model.AREA] = last_area  # a merged cell in Word: the area above continues
    elif heading:
        out[model.AREA] = heading
    else:
        # The whole plan answers one inspection or review: its title is the area.
        out[model.AREA] = plan_title(list(title_rows)) or NO_AREA
        judgements.append(judged("import-area-from-title", line, area=out[model.AREA]))


def _fill_ref(out: dict) -> None:
    ref = str(out.get(model.REF) or "").strip().rstrip(".")
    action = str(out.get(model.ACTION) or "")
    match = LEADING_NUMBER.match(action)
    if match:
        out[model.ACTION] = action[match.end() :].strip()
        if not ref:
            ref = match.group(1)
    out[model.REF] = ref


def _grades_in(values: dict) -> list[str]:
    grades: list[str] = []
    for key, value in values.items():
        if isinstance(key, int) and isinstance(value, str):
            grades.extend(GRADE_IN_TEXT.findall(value))
    return grades


def _fill_status_and_grade(out, values, several_grades, judgements, line) -> None:
    ref = out.get(model.REF)
    grades = _grades_in(values)
    # Completion is read where progress is reported, not in what the action intends.
    intent = {model.ACTION, model.AREA, model.OUTCOME, model.EVIDENCE, model.RESOURCES}
    text = " ".join(str(v) for k, v in out.items() if k not in intent and isinstance(v, str))
    grade = max(grades) if grades else None  # A best ... D worst
    if len(set(grades)) > 1:
        several_grades.append(
            {"line": line, "ref": ref, "grades": sorted(set(grades)), "kept": grade}
        )
    completed = bool(COMPLETE_WORDS.search(text)) and not NOT_COMPLETE.search(text)
    status_text = str(out.get(model.STATUS) or "").strip()
    status = read_status(status_text)
    if status_text and status is not None and status != model.canonical_status(status_text):
        judgements.append(judged("import-status-read", line, ref, value=status_text, status=status))
    if status is None:
        rag = re.search(r"\b(?:rag|status)\W{0,3}(red|amber|green|blue)\b", text, re.IGNORECASE)
        if rag:
            status = model.RAG_WORD_STATUS[rag.group(1).lower()]
    if status is None:
        # "... Status: in progress – for next update": a status labelled as one, even
        # where the plan writes it into the action's own cell.
        every = " ".join(str(v) for v in out.values() if isinstance(v, str))
        labelled = LABELLED_STATUS.search(every)
        if labelled:
            status = read_status(labelled.group(1).strip())
    if status is None and grade:
        status = model.GRADE_SUGGESTED_STATUS[grade]
        if grade == "A" and completed:
            status = model.COMPLETE
    if status is None and completed:
        status = model.COMPLETE
    if status is None:
        status = model.NOT_STARTED
        judgements.append(judged("import-status-not-stated", line, ref))
    out[model.STATUS] = status
    if grade:
        out[model.GRADE] = grade
    elif out.get(model.GRADE) not in model.GRADES:
        out.pop(model.GRADE, None)


_PERCENT_DONE = re.compile(r"^\s*(\d{1,3}(?:\.\d+)?)\s*%")


@functools.lru_cache(maxsize=1)
def _status_words() -> dict[str, str]:
    return {model.normalise_header(k): v for k, v in model.STATUS_WORDS.items()}


def read_status(text: str) -> str | None:
    """The standard status a plan's status cell stands for, or None.

    Status words of many kinds (model.STATUS_WORDS: "Achieved", "Slippage",
    "Superseded", RAG and BRAG colours, "Blue - complete & assured" by its first
    words) and "% complete": 100% is Complete, 0% Not started, between On track.
    """
    if not text:
        return None
    percent = _PERCENT_DONE.match(text)
    if percent:
        value = float(percent.group(1))
        return (
            model.COMPLETE if value >= 100 else model.NOT_STARTED if value == 0 else model.ON_TRACK
        )
    words = _status_words()
    key = model.normalise_header(text)
    if key in words:
        return words[key]
    if "/" in text and not due_date_from_text(text):
        # "Complete/on schedule to deliver": a key that covers two statuses. An action is
        # closed only when the plan says so without doubt, so the open one is taken.
        found = [s for s in (read_status(part) for part in text.split("/")) if s]
        if found:
            still_open = [s for s in found if s not in model.CLOSED_STATUSES]
            return still_open[0] if still_open and len(set(found)) > 1 else found[0]
    for phrase in sorted((k for k in words if " " in k), key=len, reverse=True):
        if key.startswith(phrase + " "):
            return words[phrase]  # "On schedule to deliver"
    for part in re.split(r"\s[-–—:(]\s?|\n", text):
        part_key = model.normalise_header(part)
        if part_key in words:
            return words[part_key]
    first = key.split(" ")[0] if key else ""
    if first in words and first not in ("no", "open"):
        return words[first]  # "Completed January 2016", "Blue complete and assured"
    if len(text) <= 30 and due_date_from_text(text):
        return model.COMPLETE  # a date where the status goes: the day it was done
    return None


def _fill_dates(out, not_understood, judgements, line) -> None:
    ref = out.get(model.REF)
    updated = str(out.get(model.LAST_UPDATED) or "").strip()
    if re.fullmatch(r"\d{1,2}[/.-]\d{1,2}[/.-](\d{2}|\d{4})", updated):
        out[model.LAST_UPDATED] = due_date_from_text(updated)  # a day written out: the date
    elif updated:
        out.pop(model.LAST_UPDATED)
        judgements.append(judged("import-last-updated-not-a-day", line, ref, value=updated))
    timescale = str(out.get(model.TIMESCALE) or "").strip()
    due = due_date_from_text(timescale)
    status = out.get(model.STATUS)
    if due:
        out[model.DUE_DATE] = due
        return
    if model.is_ongoing(timescale) or status == model.WITHDRAWN:
        return
    if status == model.COMPLETE:
        if timescale and not COMPLETE_WORDS.search(timescale):
            not_understood.append({"line": line, "ref": ref, "timescale": timescale})
        return
    if timescale:
        not_understood.append({"line": line, "ref": ref, "timescale": timescale})
        if NOT_APPLICABLE.match(timescale) and out.get(model.GRADE) == "A":
            out[model.STATUS] = model.COMPLETE
            judgements.append(judged("import-grade-a-no-date", line, ref))
            return
        out[model.TIMESCALE] = f"{timescale} (no date given: treated as ongoing)"
    else:
        out[model.TIMESCALE] = "Ongoing (no timescale in the source plan)"
    judgements.append(judged("import-no-due-date", line, ref))


def _unique_refs(actions: list[ImportedAction], judgements) -> None:
    """Keep the plan's own refs; number the ones missing; suffix -a, -b to repeats."""
    used = [str(a.values.get(model.REF) or "") for a in actions]
    if not any(used):
        for number, action in enumerate(actions, start=1):
            action.values[model.REF] = str(number)
        judgements.append(judged("import-refs-given", count=len(actions)))
        return
    taken = set(used)
    for index, action in enumerate(actions):
        if used[index]:
            continue
        previous = next((used[i] for i in range(index - 1, -1, -1) if used[i]), "")
        candidate = ""
        if previous.isdigit() and str(int(previous) + 1) not in taken:
            candidate = str(int(previous) + 1)
        suffix = 1
        while not candidate or candidate in taken:
            candidate = f"{previous or 'R'}{_letters(suffix)}"
            suffix += 1
        used[index] = candidate
        taken.add(candidate)
        action.values[model.REF] = candidate
        judgements.append(judged("import-ref-missing", action.line, candidate))
    counts: dict[str, int] = {}
    for ref in used:
        counts[ref] = counts.get(ref, 0) + 1
    seen: dict[str, int] = {}
    for action, ref in zip(actions, used, strict=True):
        if counts[ref] > 1:
            seen[ref] = seen.get(ref, 0) + 1
            action.values[model.REF] = f"{ref}-{_letters(seen[ref])}"
    if any(c > 1 for c in counts.values()):
        repeated = sorted(r for r, c in counts.items() if c > 1)
        judgements.append(judged("import-refs-repeated", refs=", ".join(repeated)))


def _letters(number: int) -> str:
    letters = ""
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(97 + remainder) + letters
    return letters
