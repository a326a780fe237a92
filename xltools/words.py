"""Counts in words people read: "1 plan", "2 plans", "once", never "plan(s)" or "1 days".

Every message, sheet and email that states a count goes through :func:`plural`
(the templates use it as the ``plural`` filter), so the singular and plural are
right everywhere and no "(s)" is left for the reader to sort out.
"""

from __future__ import annotations

# Nouns whose plural is not the singular plus "s".
_IRREGULAR = {
    "is": "are",
    "was": "were",
    "has": "have",
    "copy": "copies",
    "entry": "entries",
    "summary": "summaries",
}


def plural_of(noun: str) -> str:
    """The plural of one of our nouns (the last word of ``noun`` is made plural)."""
    head, _, last = noun.rpartition(" ")
    word = _IRREGULAR.get(last)
    if word is None:
        word = last + ("es" if last.endswith(("s", "sh", "ch", "x")) else "s")
    return f"{head} {word}" if head else word


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``count`` and the noun, singular for exactly one: "1 day", "0 days", "2 copies"."""
    return f"{count:,} {noun if count == 1 else (many or plural_of(noun))}"


def times(count: int) -> str:
    """How many times, as people say it: "once", "twice", "3 times"."""
    return {1: "once", 2: "twice"}.get(count, f"{count:,} times")


def noun(count: int, singular: str, many: str | None = None) -> str:
    """Only the noun, made to agree with ``count``: for "is"/"are" and the like."""
    return singular if count == 1 else (many or plural_of(singular))
