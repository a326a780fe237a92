"""Reading dates out of timescales as people write them.

Plans say "October 2003", "Jan – March 2004", "Autumn 2003", "Q3 2024/25",
"March 2004 and ongoing" or "31/03/2025". :func:`due_date_from_text` turns such
text into the date an action is due: the end of the period named, the latest
where several are named, UK day-month order, UK financial years (April to
March). It returns None when it cannot tell; it never guesses a day from a bare
month without a year.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

MONTHS = {
    name: number
    for number in range(1, 13)
    for name in (
        calendar.month_name[number].lower(),
        calendar.month_abbr[number].lower(),
    )
}
MONTHS["sept"] = 9
_MONTH = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"  # noqa: E501
# A season ends with the last month people mean by it (UK usage in plans).
SEASON_END = {"spring": 5, "summer": 8, "autumn": 11, "fall": 11, "winter": 2}


def end_of_month(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _year(text: str) -> int:
    text = text.lstrip("'’")
    value = int(text)
    return value + 2000 if value < 100 else value


_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})\b"), "dmy"),
    (
        re.compile(
            r"\b(\d{1,2})(?:st|nd|rd|th)?(?:\s+|-)" + _MONTH + r"\.?,?(?:\s+|-)(\d{4}|\d{2})\b",
            re.I,
        ),
        "day-month-year",
    ),
    (re.compile(r"\bq([1-4])\s*(\d{4})\s*[/-]\s*(\d{2}|\d{4})\b", re.I), "fy-quarter"),
    (re.compile(r"\bq([1-4])\s*(\d{4})\b", re.I), "quarter"),
    (
        re.compile(_MONTH + r"\.?,?(?:\s*|-)(?:'|’)?(\d{4}|\d{2})\b(?!\s*[/-]\s*\d)", re.I),
        "month-year",
    ),
    (
        re.compile(r"\b(spring|summer|autumn|fall|winter)\s*(?:of\s*)?(\d{4})\b", re.I),
        "season",
    ),
    (re.compile(r"\b((?:19|20)\d{2})\s*[/-]\s*(\d{2}|\d{4})\b"), "financial-year"),
    (re.compile(r"\b((?:19|20)\d{2})\b"), "year"),
]


def dates_in_text(text: str) -> list[dt.date]:
    """Every due date that a piece of text names, in order of appearance."""
    found: list[tuple[int, dt.date]] = []
    masked = text
    for pattern, kind in _PATTERNS:
        for match in pattern.finditer(masked):
            date = _to_date(kind, match)
            if date is not None:
                found.append((match.start(), date))
            start, end = match.span()
            masked = masked[:start] + " " * (end - start) + masked[end:]
    return [date for _, date in sorted(found, key=lambda item: item[0])]


def _to_date(kind: str, match: re.Match[str]) -> dt.date | None:
    groups = match.groups()
    try:
        if kind == "dmy":
            return dt.date(_year(groups[2]), int(groups[1]), int(groups[0]))
        if kind == "day-month-year":
            return dt.date(_year(groups[2]), MONTHS[groups[1].lower()[:3]], int(groups[0]))
        if kind == "fy-quarter":
            quarter, first_year = int(groups[0]), int(groups[1])
            # UK financial year: Q1 April-June ... Q4 January-March of the next year.
            month = (3 + 3 * quarter - 1) % 12 + 1
            year = first_year + (1 if quarter == 4 else 0)
            return end_of_month(year, month)
        if kind == "quarter":
            return end_of_month(int(groups[1]), 3 * int(groups[0]))
        if kind == "month-year":
            month_key = groups[0].lower()
            month = MONTHS.get(month_key, MONTHS.get(month_key[:3]))
            return end_of_month(_year(groups[1]), month)
        if kind == "season":
            season, year = groups[0].lower(), int(groups[1])
            month = SEASON_END[season]
            return end_of_month(year + (1 if season == "winter" else 0), month)
        if kind == "financial-year":
            first = int(groups[0])
            second = _year(groups[1]) if len(groups[1]) == 2 else int(groups[1])
            if len(groups[1]) == 2:
                second = (first // 100) * 100 + int(groups[1])
            if second != first + 1:
                return None
            return dt.date(second, 3, 31)
        if kind == "year":
            return dt.date(int(groups[0]), 12, 31)
    except (ValueError, KeyError, TypeError):
        return None
    return None


def due_date_from_text(text: object) -> dt.date | None:
    """The latest date a timescale names, or None."""
    if not isinstance(text, str):
        return None
    found = dates_in_text(text)
    return max(found) if found else None


_EXACT_DAY = re.compile(
    r"(?P<d>\d{1,2})\s*[/.-]\s*(?P<m>\d{1,2})\s*[/.-]\s*(?P<y>\d{4}|\d{2})"
    r"|(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2})"
    r"|(?P<wd>\d{1,2})(?:st|nd|rd|th)?\s+(?P<wm>[a-z]+)\.?,?\s+(?P<wy>\d{4})",
    re.IGNORECASE,
)


def exact_date(text: object) -> dt.date | None:
    """The one day a piece of text names and nothing else ("31/03/2004", "2004-03-31",
    "31 March 2004"), in UK day-month order, or None.

    For a date typed as text into a date cell: unlike a timescale ("March 2004"),
    such text names a day, so it can be read as that date without guessing.
    """
    if not isinstance(text, str):
        return None
    match = _EXACT_DAY.fullmatch(text.strip().lstrip("'’").strip())
    if match is None:
        return None
    try:
        if match["d"]:
            return dt.date(_year(match["y"]), int(match["m"]), int(match["d"]))
        if match["iy"]:
            return dt.date(int(match["iy"]), int(match["im"]), int(match["id"]))
        month = MONTHS.get(match["wm"].lower(), MONTHS.get(match["wm"].lower()[:3]))
        if month is None or (len(match["wm"]) > 3 and match["wm"].lower() not in MONTHS):
            return None
        return dt.date(int(match["wy"]), month, int(match["wd"]))
    except ValueError:  # 31/02/2004 names no day
        return None
