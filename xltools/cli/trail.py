"""``xltools trail``: an action's weeks in the history, and how often its due date moved."""

from __future__ import annotations

import click

from xltools.cli import cli, echo_json, exit_with, force_option, json_option, refuse_overwrite
from xltools.outcome import Outcome


def _day(value) -> str:
    return value.strftime("%d/%m/%Y") if value else "-"


@cli.command("trail")
@click.argument("history", type=click.Path(dir_okay=False))
@click.option("--plan", metavar="TEXT", help="Only plans whose name holds this text.")
@click.option("--ref", metavar="REF", help="Only the action with this Ref.")
@click.option(
    "--csv", "csv_path", type=click.Path(dir_okay=False), help="Also write the trail as CSV."
)
@json_option
@force_option("Overwrite the --csv file if it exists.")
def trail(history, plan, ref, csv_path, as_json, force):
    """Print each action's trail week by week: status, due date (slipped, granted or
    brought forward), whether the progress note changed, its original due date and
    how many times the date was revised.

    HISTORY is the .sqlite file consolidate keeps beside the register. Exit status
    1 when no action matches.

    \b
    Example:
      xltools trail register.history.sqlite --plan "Argyll" --ref 1.4.1-b
    """
    from xltools.trail import FIRST_SEEN, GRANTED, SLIPPED, trails, write_trail_csv
    from xltools.words import plural, times

    refuse_overwrite(csv_path, force=force)
    found = trails(history, plan, ref)
    if csv_path:
        write_trail_csv(found, csv_path)
    if as_json:
        echo_json(
            [
                {
                    "plan": t.plan_key,
                    "ref": t.ref,
                    "action": t.action,
                    "original_due": t.original_due.isoformat() if t.original_due else None,
                    "current_due": t.current_due.isoformat() if t.current_due else None,
                    "revisions": t.revisions,
                    "weeks": [
                        {
                            "reporting_date": w.reporting_date.isoformat(),
                            "status": w.snapshot.status,
                            "due_date": w.snapshot.due_date.isoformat()
                            if w.snapshot.due_date
                            else None,
                            "due_change": w.due_change,
                            "days_moved": w.days_moved,
                            "progress_changed": w.progress_changed,
                            "carried": w.carried,
                        }
                        for w in t.weeks
                    ],
                }
                for t in found
            ]
        )
    for t in [] if as_json else found:
        click.echo(f"{t.plan_key}, Ref {t.ref}: {t.action}")
        slips, granted = t.count(SLIPPED), t.count(GRANTED)
        click.echo(
            f"  original due date {_day(t.original_due)}, now {_day(t.current_due)}; "
            f"revised {times(t.revisions) if t.revisions else 'never'} "
            f"({plural(slips, 'slip')}, {plural(granted, 'extension')} granted)"
        )
        click.echo(
            f"  {'week':<10}  {'status':<11}  {'due date':<10}  {'due date change':<28}  "
            "progress update"
        )
        for w in t.weeks:
            change = w.due_change
            if w.days_moved and change != FIRST_SEEN:
                change += f" ({plural(abs(w.days_moved), 'day')})"
            if w.carried:
                progress = "plan not returned: last state carried"
            elif change == FIRST_SEEN:
                progress = "first seen"
            else:
                progress = "changed" if w.progress_changed else "unchanged"
            click.echo(
                f"  {_day(w.reporting_date):<10}  {w.snapshot.status:<11}  "
                f"{_day(w.snapshot.due_date):<10}  {change:<28}  {progress}"
            )
    if not found and not as_json:
        click.echo(f"{history}: no action matches", err=True)
    if csv_path and not as_json:
        click.echo(f"wrote {csv_path}")
    exit_with(Outcome.OK if found else Outcome.PROBLEMS)
