"""Score the importer on the corpus of real plans nobody on the team wrote.

Each plan in this folder is a text export of a published plan's table (``NAME.txt``)
with a sidecar ``NAME.yaml`` holding its source and the answers written by hand from
reading it: the action count, the column mapping, and spot-checked actions. A field
whose expected value is ``null`` is not scored (the plan does not say it). Text
ending in ``...`` is matched on its beginning. The plans are imported with no
options, as a council officer would first try them.

Run: ``python tests/corpus/score.py`` (per plan, then overall).
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

CORPUS = Path(__file__).resolve().parent
FIELDS = (
    "Ref",
    "Area for improvement",
    "Action",
    "Lead officer",
    "Timescale",
    "Due date",
    "Status",
    "Progress update",
)
ALIASES = {"Area": "Area for improvement"}  # the short name used in the answer files


@dataclass
class PlanScore:
    name: str
    expected_actions: int
    found_actions: int
    fields_right: int = 0
    fields_scored: int = 0
    wrong: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def count_right(self) -> bool:
        return self.expected_actions == self.found_actions


def _norm(value: object) -> str:
    text = "" if value is None else str(value)
    text = re.sub(r"[•·▪]", " ", text)
    return " ".join(text.split()).casefold()


def _matches(expected: object, actual: object) -> bool:
    if isinstance(expected, dt.date):
        return isinstance(actual, dt.date) and actual == expected
    want = _norm(expected)
    if want.endswith("..."):
        return _norm(actual).startswith(want[:-3].rstrip())
    return _norm(actual) == want


def _find(actions: list[dict], check: dict, position: int) -> dict | None:
    ref = check.get("Ref")
    if ref is not None:
        for action in actions:
            if _norm(action.get("Ref")) == _norm(ref):
                return action
    text = check.get("Action")
    if text is not None:
        for action in actions:
            if _matches(text, action.get("Action")):
                return action
    return None


def score_plan(text_path: Path) -> PlanScore:
    from xltools.importers import import_plan

    answers = yaml.safe_load(text_path.with_suffix(".yaml").read_text(encoding="utf-8"))
    score = PlanScore(text_path.stem, answers["actions"], 0)
    checks = [
        {ALIASES.get(key, key): value for key, value in check.items()}
        for check in answers["spot_checks"]
    ]
    try:
        result = import_plan(text_path, reporting_date=dt.date(2026, 1, 1))
        actions = result.actions
    except Exception as error:  # a plan the importer cannot read scores nothing
        score.error = f"{type(error).__name__}: {error}"
        actions = []
    score.found_actions = len(actions)
    for position, check in enumerate(checks):
        action = _find(actions, check, position)
        for name in FIELDS:
            expected = check.get(name)
            if expected is None:
                continue
            score.fields_scored += 1
            actual = action.get(name) if action else None
            if action is not None and _matches(expected, actual):
                score.fields_right += 1
            else:
                score.wrong.append(f"{check.get('Ref')}: {name} = {str(actual)[:60]!r}")
    return score


def score_corpus() -> list[PlanScore]:
    return [score_plan(path) for path in sorted(CORPUS.glob("*.txt"))]


def summary(scores: list[PlanScore]) -> tuple[float, int]:
    right = sum(s.fields_right for s in scores)
    scored = sum(s.fields_scored for s in scores)
    return (right / scored if scored else 0.0), sum(s.count_right for s in scores)


def main() -> int:
    scores = score_corpus()
    for s in scores:
        mark = "ok" if s.count_right else "WRONG"
        print(
            f"{s.name:45} actions {s.found_actions:3}/{s.expected_actions:<3} {mark:5} "
            f"fields {s.fields_right:2}/{s.fields_scored:<2}"
            + (f"  ({s.error[:70]})" if s.error else "")
        )
        for item in s.wrong if "-v" in sys.argv else []:
            print(f"    wrong: {item}")
    share, counts = summary(scores)
    print(
        f"overall: fields {share:.0%} right; action count right in {counts} of {len(scores)} plans"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
