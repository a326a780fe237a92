"""What a plan's columns are: header words, the content of each column, and the mapping.

Both halves of the importer use this module and nothing else of each other:
:mod:`xltools.importers.sources` asks which sheet of a workbook looks most like a
plan, :mod:`xltools.importers.layout` asks which row is the header and what each
column is. It owns:

* the phrases that name each standard column in plans' own headers (the model's
  header synonyms and the importer's own), and the score of a header against them;
* the typing of a column by its content (dates, percentages, status words, short
  codes, names or initials, long free text);
* :func:`assign_columns`, which assigns columns to standard columns jointly: every
  (column, field) pair gets a score from header evidence and content evidence, and
  the best pairs are taken first, each column and each field at most once, so a
  column is chosen because it fits best, with a confidence the report shows.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from xltools import model
from xltools.dates import due_date_from_text

# Phrases that name each standard column in plans' own headers, beyond the header
# synonyms of the model. The longest phrase found in a header decides.
_IMPORT_PHRASES: dict[str, tuple[str, ...]] = {
    model.REF: ("jr ref", "para", "code", "action code", "rec no", "recommendation no"),
    model.AREA: (
        "priority for action",
        "key issue",
        "issue",
        "governance issue",
        "objective",
        "portfolio",
        "source",
        "paper",
        "agenda item",
    ),
    model.ACTION: (
        "how is this to be achieved",
        "agreed improvement action",
        "task",
        "action title",
        "what",
        "what will we do",
        "management action",
        "agreed management action",
    ),
    model.LEAD: (
        "by whom",
        "who is responsible",
        "person responsible",
        "responsible person",
        "lead director",
        "executive lead",
        "accountable",
        "accountability",
        "officer",
        "led by",
        "made to",
        "recommendation made to",
    ),
    model.TIMESCALE: (
        "dates for further follow up",
        "completion date",
        "deadline",
        "key dates",
        "follow up",
        "dates",
        "date",
        "implementation date",
        "target completion",
        "by when",
        "year",
        "finish by",
        "complete by",
        "completed by",
        "end date",
        "milestones",
    ),
    model.RESOURCES: ("budget",),
    model.OUTCOME: ("intended to achieve", "success criteria", "milestones"),
    model.PROGRESS: (
        "progress as at",
        "progress to date",
        "implemented",
        "position",
        "current position",
        "status update",
        "latest status update",
        "action update",
        "commentary",
        "action taken",
        "actions completed",
        "completed to date",
        "achieved to date",
    ),
    model.STATUS: (
        "brag",
        "rag rating",
        "complete",
        "percent complete",
        "completion status",
        "achieved",
        "completed",
        "done",
    ),
}
# A plan's own date column is read as Timescale (kept as written); the due date is
# derived from it, so the model's Due date words lead to Timescale here.
_READ_AS = {model.DUE_DATE: model.TIMESCALE}
# Words that say a column is not the field its other words name: a "Meeting date" or
# "Start by" column holds dates, but not the dates actions are due; a "Strategic
# priority" column names the corporate priority an action serves, not the area the
# plan improves. Only a header naming the field by a plain word ("date", "priority")
# is doubted: "Timescale & review date" is still the timescale.
_NOT_THE_FIELD: dict[str, tuple[frozenset[str], int]] = {
    model.TIMESCALE: (
        frozenset({"meeting", "raised", "opened", "added", "logged", "start", "started"}),
        len("dates"),
    ),
    model.AREA: (frozenset({"strategic", "corporate", "council"}), len("priority")),
}
HEADER_PHRASES: dict[str, tuple[str, ...]] = {}
for _column, _words in [*model.ACTION_HEADER_WORDS.items(), *_IMPORT_PHRASES.items()]:
    _target = _READ_AS.get(_column, _column)
    HEADER_PHRASES[_target] = tuple(dict.fromkeys([*HEADER_PHRASES.get(_target, ()), *_words]))


def _words(text: str) -> str:
    text = re.sub(r"^\s*\d+[.)]\s*", "", text)  # "4. To what extent..." -> "To what extent..."
    return " " + model.normalise_header(text) + " "


# Each phrase (as words) -> the columns it names, for a look-up of a header's word runs.
_PHRASE_TARGETS: dict[tuple[str, ...], list[str]] = {}
for _target, _phrases in HEADER_PHRASES.items():
    for _phrase in _phrases:
        _PHRASE_TARGETS.setdefault(tuple(_phrase.split()), []).append(_target)
_LONGEST_PHRASE = max(len(words) for words in _PHRASE_TARGETS)


@functools.lru_cache(maxsize=8192)
def phrase_matches(text: str) -> dict[str, tuple[int, int]]:
    """For each standard column: the length of its longest phrase in a header, and where."""
    words = _words(text).split()
    offsets, at = [], 0
    for word in words:
        offsets.append(at)
        at += len(word) + 1
    found: dict[str, tuple[int, int]] = {}
    for start in range(len(words)):
        for size in range(1, min(_LONGEST_PHRASE, len(words) - start) + 1):
            run = tuple(words[start : start + size])
            for target in _PHRASE_TARGETS.get(run, ()):
                length = len(" ".join(run))
                if length > found.get(target, (0, 0))[0]:
                    found[target] = (length, offsets[start])
    return found


def phrase_scores(text: str) -> dict[str, int]:
    """For each standard column, the length of the longest of its phrases in a header."""
    return {target: length for target, (length, _) in phrase_matches(text).items()}


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


# Content typing -------------------------------------------------------------
_DATE_WORDS = re.compile(
    r"^\W*(ongoing|on-going|immediate(ly)?|tbc|tba|asap|as soon as possible|n/?a|"
    r"end of q[1-4]|q[1-4]|complete[d]?|achieved|quarterly|monthly|annually|annual)\b",
    re.IGNORECASE,
)
_PERCENT = re.compile(r"^\s*\d{1,3}(\.\d+)?\s*%\s*(complete)?\s*$", re.IGNORECASE)
# "1.4", "OUT 001.01", "CE15.09a", and minute refs such as "BOD 24/18(b)" or "4.1 (a)-(c)".
_CODE = re.compile(
    r"^[A-Za-z]{0,5}[\s.-]?\d{1,4}([.\-/]\d{1,4})*[a-z]?"
    r"(\s?\([a-z0-9]{1,3}\)(-\([a-z0-9]{1,3}\))?)?\.?$"
)
_INITIALS = re.compile(r"^[A-Z]{2,4}(\s*[/,&]\s*[A-Z]{2,4})*$")
_SENTENCE = re.compile(r"[.!?]\s+[A-Z]")
_STATUS_KEYS = {model.normalise_header(word) for word in model.STATUS_WORDS}


def is_status_word(text: str) -> bool:
    """Whether a cell holds a status as plans write it (a word or two, a RAG colour, a %)."""
    if _PERCENT.match(text):
        return True
    key = model.normalise_header(text)
    return key in _STATUS_KEYS or model.normalise_header(text.split("–")[0]) in _STATUS_KEYS


def _is_name(text: str) -> bool:
    if len(text) > 80 or _SENTENCE.search(text) or text.rstrip().endswith("."):
        return False
    if _INITIALS.match(text.strip()):
        return True
    words = [w for w in re.split(r"[\s,;/&()]+", text) if w]
    if not words or len(words) > 12:
        return False
    capitalised = sum(1 for w in words if w[0].isupper() or w.lower() in ("of", "and", "the"))
    return capitalised >= 0.7 * len(words)


@dataclass(frozen=True)
class ColumnContent:
    """What a column's cells hold, as shares of its non-empty cells."""

    count: int
    dates: float
    percents: float
    statuses: float
    codes: float
    names: float
    long_text: float
    text: float
    mean_length: float

    def affinity(self, target: str) -> float:
        """How well the content fits a standard column, 0 to 1."""
        if not self.count:
            return 0.0
        if target == model.REF:
            return self.codes
        if target == model.TIMESCALE:
            return self.dates
        if target == model.STATUS:
            return max(self.statuses, self.percents)
        if target == model.LEAD:
            return self.names * (1 - self.dates)
        # Free text fits any of the text columns: weak evidence, the header decides.
        if target == model.PROGRESS:
            return 0.5 * self.text * (1 - self.percents)
        if target in (model.ACTION, model.AREA, model.OUTCOME, model.EVIDENCE, model.RESOURCES):
            return 0.5 * self.text
        return 0.25


def column_content(values: list[str]) -> ColumnContent:
    """Type a column by its cells (blank cells left out)."""
    values = [v for v in values if v][:300]
    n = len(values)
    if not n:
        return ColumnContent(0, 0, 0, 0, 0, 0, 0, 0, 0)

    def share(test) -> float:
        return sum(1 for v in values if test(v)) / n

    return ColumnContent(
        n,
        share(
            lambda v: len(v) <= 60 and (bool(due_date_from_text(v)) or bool(_DATE_WORDS.match(v)))
        ),
        share(lambda v: bool(_PERCENT.match(v))),
        share(lambda v: len(v) <= 60 and is_status_word(v)),
        share(lambda v: len(v) <= 20 and bool(_CODE.match(v.strip()))),
        share(_is_name),
        share(lambda v: len(v) > 80),
        share(lambda v: len(v) >= 15 and " " in v and not _PERCENT.match(v)),
        sum(len(v) for v in values) / n,
    )


# Joint assignment -----------------------------------------------------------
# Fields whose content is typed: a header naming one of them over cells of another
# kind is doubted (a "Dates" column of meeting notes is not the timescale).
_TYPED = {model.TIMESCALE, model.STATUS, model.REF, model.LEAD, model.PROGRESS}
# Fields a column may take on its content alone, with no header naming them.
_BY_CONTENT = {model.REF: 0.7, model.STATUS: 0.7, model.TIMESCALE: 0.7}
_MIN_SCORE = 0.3


@dataclass(frozen=True)
class Assignment:
    index: int
    target: str
    confidence: float  # 0 to 1, shown in the report
    reason: str


def _header_strength(phrase_length: int, header: str) -> float:
    """1 for a header that is one of the phrases; less the less of the header it covers."""
    key = model.normalise_header(re.sub(r"^\s*\d+[.)]\s*", "", header))
    if key in HEADER_PHRASES_EXACT and phrase_length >= len(key):
        return 1.3  # the phrase is the whole header
    coverage = phrase_length / max(len(key), 1)
    return 0.5 + 0.5 * min(1.0, phrase_length / 14) + 0.3 * coverage


HEADER_PHRASES_EXACT = {p for phrases in HEADER_PHRASES.values() for p in phrases}


def assign_columns(
    headers: list[str], contents: list[ColumnContent], headerless: bool = False
) -> list[Assignment]:
    """Assign columns to standard columns, best pairs first, each used at most once."""
    candidates: list[tuple[float, int, str, str]] = []
    for index, header in enumerate(headers):
        content = contents[index]
        matches = phrase_matches(header) if header and len(header) <= 200 else {}
        scores = {target: length for target, (length, _) in matches.items()}
        for target in HEADER_PHRASES:
            fit = content.affinity(target)
            if target in scores and _not_the_field(header, target, scores[target]):
                continue
            if target in scores:
                # "Action/Target" names the action first: the earlier word leads a tie.
                first = 0.01 * (1 - matches[target][1] / max(len(header), 1))
                score = _header_strength(scores[target], header) + 0.6 * fit + first
                if target in _TYPED and content.count and fit < 0.15:
                    score -= 0.6
                reason = f"header names it{', content fits' if fit >= 0.5 else ''}"
            elif (not header or headerless) and target in _BY_CONTENT:
                if fit < _BY_CONTENT[target] or not content.count:
                    continue
                score = 0.4 + 0.5 * fit
                reason = "by its content"
            elif target == model.STATUS and content.count and fit >= 0.8:
                score = 0.4 + 0.5 * fit  # a % or RAG column under a heading of its own
                reason = "its cells are status words or percentages"
            else:
                continue
            if target == model.STATUS and target in scores and _sentences(content):
                # A "Status" column written in sentences reports progress, not a status.
                progress = _header_strength(scores[target], header) + 0.6 * content.affinity(
                    model.PROGRESS
                )
                candidates.append(
                    (progress - index * 1e-4, index, model.PROGRESS, "status told in sentences")
                )
            if not content.count:
                # An empty column holds nothing to read: it names a field only if no
                # column with content does.
                score -= 1.0
            # Ties: earlier columns first (plans put the key columns on the left).
            candidates.append((score - index * 1e-4, index, target, reason))
    taken_columns: dict[int, Assignment] = {}
    taken_targets: set[str] = set()
    for score, index, target, reason in sorted(candidates, reverse=True):
        empty_ok = not contents[index].count and score > _MIN_SCORE - 1.0
        if (
            (score < _MIN_SCORE and not empty_ok)
            or index in taken_columns
            or (target in taken_targets)
        ):
            continue
        taken_columns[index] = Assignment(index, target, round(min(1.0, score / 1.6), 2), reason)
        taken_targets.add(target)
    _fill_by_content(headers, contents, taken_columns, taken_targets, headerless)
    return sorted(taken_columns.values(), key=lambda a: a.index)


def _not_the_field(header: str, target: str, phrase_length: int) -> bool:
    """Whether a header names a field by a plain word that its other words deny."""
    rule = _NOT_THE_FIELD.get(target)
    if rule is None or phrase_length > rule[1]:
        return False
    return bool(rule[0] & set(_words(header).split()))


def _sentences(content: ColumnContent) -> bool:
    return (
        content.count > 0
        and content.statuses < 0.15
        and content.text >= 0.6
        and content.mean_length >= 40
    )


def _fill_by_content(headers, contents, taken_columns, taken_targets, headerless) -> None:
    """Every plan has actions: take them (and, with no header, more) from the content."""
    free = [i for i in range(len(headers)) if i not in taken_columns and contents[i].count]
    if model.ACTION not in taken_targets:
        area = next((a for a in taken_columns.values() if a.target == model.AREA), None)
        texts = [i for i in free if contents[i].text >= 0.5]
        if headerless and texts:
            # The first text column is what is done; a later, longer one is its progress.
            first = texts[0]
            taken_columns[first] = Assignment(first, model.ACTION, 0.5, "first text column")
            taken_targets.add(model.ACTION)
            free.remove(first)
        elif area is not None:
            # Plans that list issues (audit trackers, governance statements) track the issue.
            taken_columns[area.index] = Assignment(
                area.index, model.ACTION, 0.5, "no action column: the issue is what is tracked"
            )
            taken_targets.discard(model.AREA)
            taken_targets.add(model.ACTION)
        elif texts:
            first = texts[0]
            taken_columns[first] = Assignment(first, model.ACTION, 0.4, "first text column")
            taken_targets.add(model.ACTION)
            free.remove(first)
    if headerless:
        for target in (model.LEAD, model.PROGRESS):
            if target in taken_targets:
                continue
            best = max(free, key=lambda i: contents[i].affinity(target), default=None)
            if best is not None and contents[best].affinity(target) >= 0.3:
                taken_columns[best] = Assignment(best, target, 0.5, "by its content")
                taken_targets.add(target)
                free.remove(best)
