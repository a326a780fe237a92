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

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from xltools import model
from xltools.dates import due_date_from_text

if TYPE_CHECKING:  # sources uses the header scoring below: import only for typing
    from xltools.importers.sources import SourceRow

# Phrases that name each standard column in plans' own headers, beyond the
# header synonyms of the model (which the importer uses too). The longest phrase
# found in a header decides; ties go to the order of the columns.
_IMPORT_PHRASES: dict[str, tuple[str, ...]] = {
    model.REF: (
        "jr ref",
        "para",
    ),
    model.AREA: (
        "priority for action",
        "key issue",
    ),
    model.ACTION: (
        "how is this to be achieved",
        "agreed improvement action",
        "task",
    ),
    model.TIMESCALE: (
        "dates for further follow up",
        "completion date",
        "deadline",
        "key dates",
        "follow up",
        "dates",
        "date",
    ),
    model.RESOURCES: ("budget",),
    model.OUTCOME: (
        "intended to achieve",
        "success criteria",
        "milestones",
    ),
    model.PROGRESS: (
        "progress as at",
        "progress to date",
        "implemented",
        "position",
    ),
}
# A plan's own date column is read as Timescale (kept as written); the due date is
# derived from it, so the model's Due date words lead to Timescale here.
_READ_AS = {model.DUE_DATE: model.TIMESCALE}
HEADER_PHRASES: dict[str, tuple[str, ...]] = {}
for _column, _words in [*model.ACTION_HEADER_WORDS.items(), *_IMPORT_PHRASES.items()]:
    _target = _READ_AS.get(_column, _column)
    HEADER_PHRASES[_target] = tuple(dict.fromkeys([*HEADER_PHRASES.get(_target, ()), *_words]))
NOT_GIVEN_LEAD = "To be confirmed"
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
FILLER = re.compile(r"^[\s\-_–—.]*$")
NOT_APPLICABLE = re.compile(r"^\s*(n/?a|not applicable|none|-+|_+)\s*\.?\s*$", re.IGNORECASE)


def _words(text: str) -> str:
    text = re.sub(r"^\s*\d+[.)]\s*", "", text)  # "4. To what extent..." -> "To what extent..."
    return " " + model.normalise_header(text) + " "


def phrase_scores(text: str) -> dict[str, int]:
    """For each standard column, the length of the longest of its phrases in a header."""
    words = _words(text)
    scores: dict[str, int] = {}
    for target, phrases in HEADER_PHRASES.items():
        for phrase in phrases:
            if f" {phrase} " in words:
                scores[target] = max(scores.get(target, 0), len(phrase))
    return scores


def header_target(text: str) -> str | None:
    """The standard column a single header most likely names, or None."""
    if not text or len(text) > 200:
        return None
    scores = phrase_scores(text)
    return max(scores, key=lambda t: scores[t]) if scores else None


def header_score(cells: list[str]) -> int:
    """How header-like a row is: how many different columns its cells name."""
    targets = {header_target(cell) for cell in cells if cell and len(cell) <= 200}
    targets.discard(None)
    return len(targets)


@dataclass
class Layout:
    header_line: int
    headers: list[str]
    columns: dict[int, str]  # cell index -> standard column
    extras: dict[int, str]  # cell index -> extra column name
    mapping_report: dict[str, str]

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


def _is_date_like(text: str) -> bool:
    return bool(due_date_from_text(text)) or bool(
        re.search(r"\b(ongoing|on-going|achieved|complete|n/a|tbc)\b", text, re.IGNORECASE)
    )


def _choose_header(rows: list[SourceRow]) -> int:
    best_index, best_score = -1, 1
    for index, row in enumerate(rows):
        score = header_score(row.cells)
        if score > best_score:
            best_index, best_score = index, score
            if score >= 5:
                break
    if best_index < 0:
        from xltools.errors import XltoolsError

        raise XltoolsError(
            "no table header found: the importer looks for headings such as Action, Lead "
            "officer, Timescale"
        )
    # The first row that names as many columns as the best is the header (tables repeat it).
    for index, row in enumerate(rows):
        if header_score(row.cells) == best_score:
            return index
    return best_index


def _map_columns(headers: list[str], body: list[SourceRow]) -> tuple[dict, dict, dict]:
    candidates = []
    for index, header in enumerate(headers):
        for target, score in phrase_scores(header).items():
            candidates.append((score, -index, index, target))
    columns: dict[int, str] = {}
    report: dict[str, str] = {}
    taken: set[str] = set()
    for _score, _, index, target in sorted(candidates, reverse=True):
        if index in columns or target in taken:
            continue
        values = [r.cells[index] for r in body if index < len(r.cells) and r.cells[index]]
        if target == model.TIMESCALE and values:
            dated = sum(_is_date_like(v) for v in values) / len(values)
            if dated < 0.3:
                report[headers[index] or f"column {index + 1}"] = (
                    f"not {target}: only {dated:.0%} of its cells hold dates"
                )
                continue
        columns[index] = target
        taken.add(target)
    # An unnamed first column of short numbers is the plan's own reference.
    if model.REF not in taken:
        for index, header in enumerate(headers):
            if index in columns or header:
                continue
            values = [r.cells[index] for r in body if index < len(r.cells) and r.cells[index]]
            if values and sum(
                bool(re.fullmatch(r"\d{1,3}(\.\d+)*[a-z]?\.?", v)) for v in values
            ) >= 0.6 * len(values):
                columns[index] = model.REF
                report[f"column {index + 1} (no heading)"] = "Ref (its cells are short numbers)"
                break
    extras: dict[int, str] = {}
    used_names = set(model.ACTION_COLUMN_NAMES)
    for index, header in enumerate(headers):
        if index in columns:
            report.setdefault(header or f"column {index + 1}", columns[index])
            continue
        has_values = any(index < len(r.cells) and r.cells[index] for r in body)
        if not header and not has_values:
            continue
        name = " ".join(header.split())[:80] or f"Column {index + 1}"
        while name in used_names:
            name += " (2)"
        used_names.add(name)
        extras[index] = name
        report.setdefault(header or f"column {index + 1}", f"kept as extra column '{name}'")
    return columns, extras, report


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

    def __init__(self, rows: list[SourceRow], header_index: int, layout: Layout) -> None:
        self.rows = rows
        self.header_index = header_index
        self.layout = layout
        self.header_key = _normalised(rows[header_index].cells)
        self.mapped = len(layout.columns)
        self.ref_index = layout.index_of(model.REF)
        self.action_index = layout.index_of(model.ACTION)
        self.area_index = layout.index_of(model.AREA)
        self.numbered = _is_numbered(rows[header_index + 1 :], self.ref_index, self.action_index)
        self.drafts: list[Draft] = []
        self.judgements: list[dict[str, object]] = []

    def cell(self, row: SourceRow | None, index: int | None) -> str:
        if row is None or index is None or index >= len(row.cells):
            return ""
        value = row.cells[index]
        return "" if FILLER.match(value) else value

    def has_ref(self, row: SourceRow | None) -> bool:
        return bool(self.cell(row, self.ref_index)) or bool(
            LEADING_NUMBER.match(self.cell(row, self.action_index))
        )

    def judge(self, line: int, judgement: str) -> None:
        self.judgements.append({"line": line, "judgement": judgement})

    def group(self) -> list[Draft]:
        rows = self.rows
        heading: str | None = None
        pending_heading: str | None = None  # a heading standing just above a header row
        prefix: dict[int, str] | None = None  # text that runs on into the next action
        if self.header_index > 0:
            pending_heading = _single_text(rows[self.header_index - 1])
        heading = pending_heading
        pending_heading = None
        for position in range(self.header_index + 1, len(rows)):
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
                continue
            action_text = self.cell(row, self.action_index)
            has_ref = self.has_ref(row)
            following = rows[position + 1] if position + 1 < len(rows) else None
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
                self.judge(
                    row.line, "row text continued on the next row: joined to the action below"
                )
                continue
            if self.drafts and self._continues_previous(cells, has_ref, bool(action_text)):
                previous = self.drafts[-1].cells
                for index, value in cells.items():
                    previous[index] = (
                        f"{previous[index]}\n{value}" if previous.get(index) else value
                    )
                self.judge(row.line, "continuation row joined to the action above")
                continue
            if prefix:
                for index, value in prefix.items():
                    cells[index] = f"{value} {cells[index]}" if cells.get(index) else value
                prefix = None
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


def read_layout(rows: list[SourceRow]) -> LayoutResult:
    """Read a plan's layout and its actions (see the module docstring)."""
    header_index = _choose_header(rows)
    header_row = rows[header_index]
    headers = list(header_row.cells)
    body = rows[header_index + 1 :]
    columns, extras, mapping = _map_columns(headers, body)
    width = max(len(headers), max((len(r.cells) for r in body), default=0))
    headers += [""] * (width - len(headers))
    layout = Layout(header_row.line, headers, columns, extras, mapping)
    title_rows = [" ".join(r.cells).strip() for r in rows[:header_index] if not r.blank]
    grouper = _Grouper(rows, header_index, layout)
    drafts = grouper.group()
    judgements = grouper.judgements

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
        _fill_area(out, draft.heading, carried_area, judgements, draft.line)
        last_area = out.get(model.AREA)
        _fill_ref(out)
        if not out.get(model.ACTION):
            judgements.append({"line": draft.line, "judgement": "row has no action text: skipped"})
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


def _fill_lead(out: dict, judgements, line: int) -> None:
    if out.get(model.LEAD):
        # Several leads, one per line in the source, become one line.
        out[model.LEAD] = " / ".join(p for p in out[model.LEAD].split("\n") if p.strip())
        return
    out[model.LEAD] = NOT_GIVEN_LEAD
    judgements.append(
        {
            "line": line,
            "ref": out.get(model.REF),
            "judgement": f"no lead officer: set to '{NOT_GIVEN_LEAD}'",
        }
    )


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


def _fill_area(out: dict, heading: str | None, last_area, judgements, line) -> None:
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
        text = str(out.get(model.ACTION) or "")
        text = LEADING_NUMBER.sub("", text, count=1)
        first = re.split(r"(?<=[.!?])\s", text.split("\n")[0], maxsplit=1)[0]
        out[model.AREA] = first[:200]
        judgements.append(
            {
                "line": line,
                "judgement": "no area for improvement in the source: "
                "the action's first sentence is used",
            }
        )


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
    status = model.canonical_status(status_text)
    if status is None and status_text.lower() in model.RAG_WORD_STATUS:
        status = model.RAG_WORD_STATUS[status_text.lower()]
    if status is None:
        rag = re.search(r"\b(?:rag|status)\W{0,3}(red|amber|green|blue)\b", text, re.IGNORECASE)
        if rag:
            status = model.RAG_WORD_STATUS[rag.group(1).lower()]
    if status is None and grade:
        status = model.GRADE_SUGGESTED_STATUS[grade]
        if grade == "A" and completed:
            status = model.COMPLETE
    if status is None and completed:
        status = model.COMPLETE
    if status is None:
        status = model.NOT_STARTED
        judgements.append(
            {
                "line": line,
                "ref": ref,
                "judgement": "nothing says how the action stands: Not started",
            }
        )
    out[model.STATUS] = status
    if grade:
        out[model.GRADE] = grade
    elif out.get(model.GRADE) not in model.GRADES:
        out.pop(model.GRADE, None)


def _fill_dates(out, not_understood, judgements, line) -> None:
    ref = out.get(model.REF)
    updated = str(out.get(model.LAST_UPDATED) or "").strip()
    if re.fullmatch(r"\d{1,2}[/.-]\d{1,2}[/.-](\d{2}|\d{4})", updated):
        out[model.LAST_UPDATED] = due_date_from_text(updated)  # a day written out: the date
    elif updated:
        out.pop(model.LAST_UPDATED)
        judgements.append(
            {
                "line": line,
                "ref": ref,
                "judgement": f"Last updated {updated!r} is not a day: left empty",
            }
        )
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
            judgements.append(
                {
                    "line": line,
                    "ref": ref,
                    "judgement": "graded A with no follow-up date (N/A): treated as Complete",
                }
            )
            return
        out[model.TIMESCALE] = f"{timescale} (no date given: treated as ongoing)"
    else:
        out[model.TIMESCALE] = "Ongoing (no timescale in the source plan)"
    judgements.append(
        {
            "line": line,
            "ref": ref,
            "judgement": "no due date could be read: Timescale marked as ongoing",
        }
    )


def _unique_refs(actions: list[ImportedAction], judgements) -> None:
    """Keep the plan's own refs; number the ones missing; suffix -a, -b to repeats."""
    used = [str(a.values.get(model.REF) or "") for a in actions]
    if not any(used):
        for number, action in enumerate(actions, start=1):
            action.values[model.REF] = str(number)
        judgements.append(
            {"judgement": f"the plan has no numbering: Refs 1 to {len(actions)} given in order"}
        )
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
        judgements.append(
            {
                "line": action.line,
                "ref": candidate,
                "judgement": "the action's number was missing: numbered from the one before",
            }
        )
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
        judgements.append(
            {
                "judgement": "Refs used more than once were given suffixes -a, -b, "
                "...: " + ", ".join(repeated)
            }
        )


def _letters(number: int) -> str:
    letters = ""
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(97 + remainder) + letters
    return letters
