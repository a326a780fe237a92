"""The history's answers from SQLite match a plain walk through every snapshot."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xltools import model
from xltools.history import History, Snapshot

FIRST_RUN = dt.date(2003, 9, 1)
DUES = [None, dt.date(2003, 12, 1), dt.date(2004, 1, 1), dt.date(2004, 3, 1)]
PROGRESS = ["", "Working on it", "Report drafted"]
STATUSES = ["On track", "At risk", "Complete"]

action_state = st.tuples(
    st.sampled_from(DUES), st.sampled_from(PROGRESS), st.sampled_from(STATUSES)
)
# A run: which of four actions are in the plan that week, and how each stands.
run = st.dictionaries(st.sampled_from(["1", "2", "3", "4"]), action_state, max_size=4)


def _walk(runs, key):
    """What the history should say of one action at the last run, the slow obvious way."""
    dues = [state[0] for _, snapshot in runs if (state := snapshot.get(key)) and state[0]]
    slips = sum(later > earlier for earlier, later in zip(dues, dues[1:], strict=False))
    last_progress = runs[-1][1][key][1]
    since = runs[-1][0]
    for day, snapshot in reversed(runs):
        if key not in snapshot or snapshot[key][1] != last_progress:
            break
        since = day
    return slips, since


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(run, min_size=2, max_size=7), st.lists(st.integers(1, 3), min_size=7, max_size=7))
def test_slips_and_stale_progress_match_a_walk_through_every_run(tmp_path, weeks, gaps):
    path = tmp_path / "history.sqlite"
    path.unlink(missing_ok=True)
    days, day = [], FIRST_RUN
    for gap in gaps[: len(weeks)]:
        days.append(day)
        day += dt.timedelta(weeks=gap)
    runs = list(zip(days, weeks, strict=True))
    with History(path) as store:
        for day, snapshot in runs:
            store.store(
                day,
                [
                    Snapshot("Plan", ref, "Org", "Plan", f"Action {ref}", "Lead", status, due, text)
                    for ref, (due, text, status) in snapshot.items()
                ],
                1,
            )
        comparison = store.compare(days[-1])
    changes = comparison.changes
    slipped = {c.ref: c.times_slipped for c in changes if c.kind == "slipped"}
    stale = {c.ref: c.old for c in changes if c.kind == "stale-progress"}
    last, before = runs[-1][1], runs[-2][1]
    still_stale = 0
    for ref in last.keys() & before.keys():
        slips, since = _walk(runs, ref)
        (due, text, status), (due_before, _, _) = last[ref], before[ref]
        if due and due_before and due > due_before:
            assert slipped[ref] == slips
        unchanged = (days[-1] - since).days
        # Reported the week it becomes stale; in later weeks counted, not listed again.
        open_now = status not in model.CLOSED_STATUSES and text
        open_before = before[ref][2] not in model.CLOSED_STATUSES
        stale_before = open_before and (days[-2] - since).days >= model.STALE_PROGRESS_DAYS
        if open_now and stale_before:
            still_stale += 1
            assert ref not in stale
        elif open_now and unchanged >= model.STALE_PROGRESS_DAYS:
            assert stale[ref] == since.strftime("%d/%m/%Y")
        else:
            assert ref not in stale
    assert comparison.still_stale == still_stale
    assert set(slipped) <= last.keys() & before.keys()
