"""The one status every library result carries: how its job went.

A library call never decides an exit status: it returns a result whose
``outcome`` is one of three :class:`Outcome` values, and only the command line
turns that into 0, 1 or 2 (through one table, ``xltools.cli.EXIT_STATUS``).

Example::

    from xltools import validate
    from xltools.outcome import Outcome

    report = validate(["returned/"])
    if report.outcome is Outcome.PROBLEMS:
        ...  # some plan has errors, or some file could not be read; the report says which

The rule, the same for every command: a file among the inputs that cannot be
read is a problem reported (``PROBLEMS``) and the run goes on; ``CANNOT_RUN``
only when the job could not be done at all (no workbook to read, or not one of
them readable; an exception covers the rest: bad arguments, a path that does not
exist, an output that cannot be written).
"""

from __future__ import annotations

import enum


class Outcome(enum.Enum):
    """How a library call's job went (its value is the word ``--json`` shows)."""

    OK = "ok"  # done, nothing to report (warnings allowed)
    PROBLEMS = "problems"  # done, and problems were reported
    CANNOT_RUN = "cannot-run"  # the job could not be done

    @classmethod
    def worst(cls, *outcomes: Outcome) -> Outcome:
        """The worst of some outcomes (``OK`` for none): a job is as bad as its worst step."""
        order = (cls.OK, cls.PROBLEMS, cls.CANNOT_RUN)
        return max(outcomes, key=order.index, default=cls.OK)
