"""The plan model: vocabularies, header synonyms and the RAG derivation."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from xltools import model

statuses = st.one_of(
    st.sampled_from(model.STATUSES), st.text(max_size=12), st.none(), st.integers()
)
grades = st.one_of(st.sampled_from(model.GRADES), st.text(max_size=3), st.none(), st.floats())
dates = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2110, 12, 31))
due_dates = st.one_of(dates, st.none(), st.text(max_size=15), st.floats(), st.datetimes())


def test_columns_and_labels_are_the_designed_ones():
    assert model.ACTION_COLUMN_NAMES == (
        "Ref",
        "Area for improvement",
        "Action",
        "Lead officer",
        "Lead email",
        "Due date",
        "Timescale",
        "Resources",
        "Expected outcome",
        "Progress update",
        "Evidence",
        "Status",
        "Grade",
        "Last updated",
    )
    assert model.PLAN_LABELS == (
        "Organisation",
        "Service",
        "Plan title",
        "Plan source",
        "Plan owner",
        "Owner email",
        "Reporting date",
        "Template version",
    )
    assert model.REQUIRED_COLUMNS == (
        "Ref",
        "Area for improvement",
        "Action",
        "Lead officer",
        "Due date",
        "Status",
    )
    assert model.STATUSES == (
        "Not started",
        "On track",
        "At risk",
        "Off track",
        "Complete",
        "Withdrawn",
    )


@given(statuses, grades, due_dates, dates)
def test_derive_rag_is_total_and_deterministic(status, grade, due, reporting):
    first = model.derive_rag(status, grade, due, reporting)
    assert first == model.derive_rag(status, grade, due, reporting)
    assert first.label in model.RAG_LABELS
    assert first.days_overdue >= 0
    assert first.overdue == (first.days_overdue > 0)


@given(grades, dates, dates)
def test_overdue_beats_on_track(grade, due, reporting):
    rag = model.derive_rag(model.ON_TRACK, grade, due, reporting)
    if due < reporting:
        assert rag == model.Rag(model.RED, (reporting - due).days, True)
    else:
        assert rag.label == model.GREEN


@given(st.sampled_from([model.COMPLETE, model.WITHDRAWN]), grades, due_dates, dates)
def test_complete_and_withdrawn_are_never_overdue(status, grade, due, reporting):
    rag = model.derive_rag(status, grade, due, reporting)
    assert not rag.overdue
    assert rag.label == (model.BLUE if status == model.COMPLETE else model.GREY)


def test_status_colours_and_grade_fallback():
    today = dt.date(2003, 11, 24)
    assert model.derive_rag("At risk", None, None, today).label == "Amber"
    assert model.derive_rag("Off track", None, None, today).label == "Red"
    assert model.derive_rag("Not started", None, None, today).label == ""
    assert model.derive_rag("Not started", "D", None, today).label == "Grey"
    assert model.derive_rag(" complete ", None, None, today).label == ""  # not a status
    assert model.derive_rag("Not started", None, dt.date(2003, 11, 23), today).days_overdue == 1


def test_grade_contradictions():
    assert model.grade_contradicts_status("Off track", "A")
    assert model.grade_contradicts_status("On track", "D")
    assert model.grade_contradicts_status("Complete", "C")
    assert model.grade_contradicts_status("Withdrawn", "A")
    assert not model.grade_contradicts_status("Withdrawn", "D")
    assert not model.grade_contradicts_status("Complete", "A")
    assert not model.grade_contradicts_status("At risk", "B")
    assert not model.grade_contradicts_status("Complete", None)


def test_header_synonyms():
    assert model.canonical_action_header("Responsible officer") == "Lead officer"
    assert model.canonical_action_header("  LEAD ") == "Lead officer"
    assert model.canonical_action_header("Progress notes") == "Progress update"
    assert model.canonical_action_header("Comments") == "Progress update"
    assert model.canonical_action_header("due DATE") == "Due date"
    assert model.canonical_action_header("Favourite colour") is None
    assert model.canonical_plan_label("Council") == "Organisation"


def test_ongoing():
    assert model.is_ongoing("Ongoing")
    assert model.is_ongoing("March 2004 and on-going")
    assert not model.is_ongoing("March 2004")
    assert not model.is_ongoing(None)


def test_due_soon_and_the_vocabularies_read_backwards():
    today = dt.date(2003, 11, 24)
    assert model.is_due_soon("On track", dt.date(2003, 12, 22), today)  # 28 days on
    assert not model.is_due_soon("On track", dt.date(2003, 12, 23), today)
    assert not model.is_due_soon("Complete", dt.date(2003, 12, 1), today)
    assert not model.is_due_soon("On track", dt.date(2003, 11, 23), today)  # overdue instead
    assert model.RAG_WORD_STATUS == {
        "green": "On track",
        "amber": "At risk",
        "red": "Off track",
        "blue": "Complete",
    }
    assert set(model.GRADE_SUGGESTED_STATUS) == set(model.GRADES)
    for grade, status in model.GRADE_SUGGESTED_STATUS.items():
        assert not model.grade_contradicts_status(status, grade)
