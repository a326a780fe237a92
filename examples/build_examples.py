"""Rebuild the shipped examples from the legacy plans in ../shared/legacy-plans/.

    python examples/build_examples.py

* ``examples/plans/``: the five legacy plans imported as they are, with each
  import report (JSON) beside its workbook.
* ``examples/inbox/``: the four 2003 plans as staff would return them for the
  reporting date 24/11/2003: progress notes, statuses, Last updated dates and
  most lead officers' email addresses filled in (a few leads are left without
  one, so the digest has someone to chase). The edits are deterministic.

The same sources give the same bytes, so ``tests/test_import.py`` re-imports
the plans and compares them with what is committed here.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
LEGACY = HERE.parent.parent / "shared" / "legacy-plans"
REPORTING_DATE = dt.date(2003, 11, 24)

# file stem, organisation, service, reporting date of the plan as imported
SOURCES = (
    (
        "argyll-bute-community-care-2003",
        "Argyll and Bute Council",
        "Community care",
        dt.date(2003, 6, 30),
    ),
    (
        "brent-physical-disabilities-2003",
        "Brent Council",
        "Physical disabilities",
        dt.date(2003, 7, 31),
    ),
    (
        "herefordshire-joint-review-2003",
        "Herefordshire Council",
        "Social care",
        dt.date(2003, 10, 31),
    ),
    (
        "salford-joint-review-2003",
        "Salford City Council",
        "Community and social services",
        dt.date(2003, 9, 30),
    ),
    (
        "stockton-safeguarding-2010",
        "Stockton-on-Tees Borough Council",
        "Adult safeguarding",
        dt.date(2010, 9, 30),
    ),
)
PROGRESS_NOTES = (
    "Work under way; on course for the due date.",
    "Draft prepared and circulated to the management team for comment.",
    "Delayed by vacancies in the team; recovery plan agreed with the Head of Service.",
    "Consultation with users and carers completed; report to follow.",
    "Waiting for agreement from partners before this can go further.",
)


def import_source(stem: str, organisation: str, service: str, reporting_date: dt.date):
    from xltools.importers import import_plan

    result = import_plan(
        LEGACY / f"{stem}.txt",
        organisation=organisation,
        reporting_date=reporting_date,
        service=service,
        source_text=f"Imported from {stem}.txt",
    )
    result.report["file"] = f"{stem}.txt"  # not the machine's path: reproducible
    return result


def email_for(lead: str) -> str | None:
    words = re.findall(r"[A-Za-z]+", lead)
    if len(words) != 2 or lead.isupper():
        return None  # job titles and groups of leads have no single address
    return f"{words[0].lower()}.{words[1].lower()}@example.gov.uk"


def returned(result, rng: random.Random):
    """The plan as staff return it at the reporting date."""
    from xltools import model

    plan = dict(result.plan)
    plan[model.REPORTING_DATE] = REPORTING_DATE
    plan[model.PLAN_OWNER] = "Improvement coordinator"
    plan[model.OWNER_EMAIL] = "coordinator@example.gov.uk"
    actions = []
    for original in result.actions:
        action = dict(original)
        email = email_for(str(action.get(model.LEAD) or ""))
        if email and rng.random() < 0.85:
            action[model.LEAD_EMAIL] = email
        due = action.get(model.DUE_DATE)
        if action[model.STATUS] not in model.CLOSED_STATUSES:
            roll = rng.random()
            if isinstance(due, dt.date) and due < REPORTING_DATE and roll < 0.4:
                action[model.STATUS] = model.COMPLETE
                action[model.EVIDENCE] = action.get(model.EVIDENCE) or "Report to DMT"
            elif roll < 0.7:
                action[model.STATUS] = model.ON_TRACK
                if isinstance(due, dt.date) and due < REPORTING_DATE:
                    action[model.DUE_DATE] = due + dt.timedelta(days=120)
                    action[model.TIMESCALE] = f"{action.get(model.TIMESCALE)} (revised)"
            elif roll < 0.85:
                action[model.STATUS] = model.AT_RISK
            action[model.PROGRESS] = rng.choice(PROGRESS_NOTES)
            if action[model.STATUS] in (model.ON_TRACK, model.NOT_STARTED) and action.get(
                model.GRADE
            ) in ("B", "C", "D"):
                action.pop(model.GRADE)
        action[model.LAST_UPDATED] = REPORTING_DATE - dt.timedelta(days=rng.randint(3, 40))
        actions.append(action)
    return plan, actions


def main() -> None:
    sys.path.insert(0, str(HERE.parent))
    from xltools.template import write_plan

    rng = random.Random(2003)
    for stem, organisation, service, reporting_date in SOURCES:
        result = import_source(stem, organisation, service, reporting_date)
        write_plan(
            HERE / "plans" / f"{stem}.xlsx", result.plan, result.actions, result.extra_columns
        )
        report = json.dumps(result.report, indent=2, ensure_ascii=False, default=str)
        (HERE / "plans" / f"{stem}.import.json").write_text(report + "\n", encoding="utf-8")
        if reporting_date.year == REPORTING_DATE.year:
            plan, actions = returned(result, rng)
            write_plan(HERE / "inbox" / f"{stem}.xlsx", plan, actions, result.extra_columns)
        print(f"{stem}: {len(result.actions)} actions")


if __name__ == "__main__":
    main()
