"""``xltools consolidate``: the weekly roll-up of a folder of plans into one register."""

from __future__ import annotations

import sys

import click

from xltools.cli import (
    cli,
    echo_json,
    echo_skipped,
    exit_with,
    force_option,
    json_option,
    refuse_overwrite,
    reporting_date_option,
    rules_option,
    shown,
)


def run_with_progress(function, total_hint: str, **kwargs):
    """Run a library call with a progress bar when standard error is a terminal."""
    if not sys.stderr.isatty():
        return function(**kwargs)
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn

    # No refresh thread: the roll-up forks worker processes, and a fork must not
    # happen while another thread may hold a lock (stderr's, say) the child needs.
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        transient=True,
        auto_refresh=False,
        console=Console(stderr=True),  # the bar is for the person watching, not the output
    ) as bar:
        task = bar.add_task(total_hint, total=None)

        def advance(path) -> None:
            bar.update(task, advance=1, description=f"reading {path.name}", refresh=True)

        return function(progress=advance, **kwargs)


def summary_line(result) -> str:
    from xltools import model
    from xltools.words import plural

    totals = result.totals()
    return (
        f"{plural(totals['plans_read'], 'plan')} read, {totals['plans_not_read']} not read, "
        f"{plural(totals['actions'], 'action')}, {totals['overdue']} overdue, "
        f"{totals['due_soon']} due in the next {model.DUE_SOON_DAYS} days, "
        f"{plural(totals['problems'], 'problem')}, "
        + (
            f"{plural(totals['warnings_only'], 'plan')} with warnings only, "
            if totals["warnings_only"]
            else ""
        )
        + f"{plural(totals['changes'], 'change')} since the last run"
    )


@cli.command("consolidate")
@click.argument("inbox", type=click.Path(file_okay=False))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="The register workbook to write.",
)
@reporting_date_option()
@rules_option
@click.option(
    "--history",
    type=click.Path(dir_okay=False),
    help="History file (default: REGISTER.history.sqlite beside the register).",
)
@click.option(
    "--packs",
    "packdir",
    type=click.Path(file_okay=False, exists=True),
    help="The update packs' folder: the register lists packs returned and not returned, "
    "and extension requests; granted extensions go into the history.",
)
@json_option
@force_option("Overwrite the register OUTPUT if it exists (the history is added to, never lost).")
def consolidate(inbox, output, reporting_date, rules, history, packdir, as_json, force):
    """Roll up every plan workbook under INBOX into one register workbook.

    Unreadable files and plans with findings are listed under Problems; every
    other plan still reaches the register. Exit status: 0 all plans read and
    valid, 1 register written but some files could not be read or some plans
    have errors, 2 could not run (no plan workbook in INBOX, or none readable).

    \b
    Examples:
      xltools consolidate inbox/ -o register.xlsx --reporting-date 2003-11-24
      xltools consolidate inbox/ -o register.xlsx --packs packs/
    """
    from pathlib import Path

    from xltools.rollup import consolidate_to
    from xltools.words import plural

    if Path(inbox).is_dir():  # a wrong inbox is said first, by the roll-up
        refuse_overwrite(output, force=force)

    result = run_with_progress(
        consolidate_to,
        "reading plans",
        inbox=inbox,
        register=output,
        reporting_date=reporting_date,
        rules=rules,
        history=history,
        packs=packdir,
    )
    if as_json:
        echo_json(result.to_dict())
    else:
        # Problems first (files not read, plans with errors), then plans with warnings
        # only, then the files the search skipped: those are not plans at all.
        for problem in sorted(result.problems, key=lambda p: p.warnings_only):
            what = "warnings only" if problem.warnings_only else "problem"
            click.echo(f"{what}: {shown(problem.path)}: {problem.reason}")
        echo_skipped(result.skipped)
        for plan in result.not_returned:
            last = plan.last_returned.isoformat() if plan.last_returned else "an earlier run"
            click.echo(
                f"not returned: {plan.plan} (last returned {last}; "
                f"{plural(plan.actions, 'action')} carried at their last state)"
            )
        if result.loop is not None:
            for pack in result.loop.not_returned:
                click.echo(f"not returned by {pack['reply_by']}: {pack['lead']} ({pack['file']})")
            for request in result.loop.requests:
                click.echo(
                    f"extension requested: {request['plan']}:{request['ref']} to "
                    f"{request['proposed']} ({request['lead']})"
                )
        click.echo(f"wrote {output}: {summary_line(result)}")
    exit_with(result.outcome)
