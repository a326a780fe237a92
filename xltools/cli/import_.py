"""``xltools import``: a plan in a council's own layout -> the standard plan workbook."""

from __future__ import annotations

from pathlib import Path

import click

from xltools.cli import cli, exit_with, force_option, refuse_overwrite, reporting_date_option


@cli.command("import")
@click.argument("source", type=click.Path(dir_okay=False))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="The standard plan workbook to write (not needed with --dry-run).",
)
@click.option("--organisation", help="The council or partner (default: read from the plan).")
@click.option("--service", help="The service (default: read from the plan).")
@click.option("--title", help="The plan's title (default: its first title line).")
@reporting_date_option("The reporting date for the Plan sheet, YYYY-MM-DD (default: today).")
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False),
    help="Also write the import report as JSON here.",
)
@click.option(
    "--map",
    "map_path",
    type=click.Path(dir_okay=False, exists=True),
    help="A mapping file (YAML, as the report prints it): header_row and columns.",
)
@click.option(
    "--column",
    "columns",
    multiple=True,
    metavar='"HEADER=COLUMN"',
    help='Read a source column as a standard one, e.g. --column "What?=Action" '
    '("column 3=Ref" for a column with no heading; "=keep" keeps it as an extra). Repeatable.',
)
@click.option("--header-row", type=int, help="The line (or sheet row) the header is on.")
@click.option("--dry-run", is_flag=True, help="Show the first actions as imported; write nothing.")
@force_option("Overwrite OUTPUT and the --report file if they exist.")
def import_command(
    source,
    output,
    organisation,
    service,
    title,
    reporting_date,
    report_path,
    map_path,
    columns,
    header_row,
    dry_run,
    force,
):
    """Import SOURCE (a Word table saved as text, a CSV or a workbook) as a standard plan.

    The header row, section headings, continuation rows and the plan's own
    numbering are recognised; columns that map to nothing are kept on the
    right. The report says how each column was mapped (with a confidence) and
    every judgement made, and ends with a mapping file: save it, correct it and
    pass it back with --map to import the same layout the same way next time.
    Exit status: 0 the plan validates, 1 it has errors to fix (or no actions
    were found), 2 could not run.

    \b
    Example:
      xltools import brent-2003.txt -o brent.xlsx --organisation "Brent Council" \\
        --reporting-date 2003-11-24 --report brent-import.json
      xltools import tracker.csv --dry-run --column "What?=Action" --header-row 3
    """
    from xltools.cli.validate import format_finding
    from xltools.importers import (
        NoActionsFound,
        dry_run_text,
        import_plan,
        read_mapping,
        report_text,
        save_import,
    )
    from xltools.outcome import Outcome

    if not output and not dry_run:
        raise click.UsageError("give -o/--output (or --dry-run to only look)")
    if not dry_run and Path(source).exists():  # a missing source is said first, by the import
        refuse_overwrite(output, report_path, force=force)
    told_header, told = read_mapping(map_path, columns)
    try:
        result = import_plan(
            source,
            organisation,
            reporting_date,
            service,
            title,
            header_row=header_row or told_header,
            mapping=told or None,
        )
    except NoActionsFound as error:
        click.echo(
            f"xltools: {error}. Say where the header is with --header-row, or which column "
            'is which with --column "Header=Action"',
            err=True,
        )
        exit_with(Outcome.PROBLEMS)  # the plan was read: no action in it is its problem
    click.echo(report_text(result.report, report_hint=" (--report)", mapping_hint=" with --map"))
    if dry_run:
        click.echo(dry_run_text(result))
        exit_with(Outcome.OK)
    from xltools.words import plural

    result = save_import(result, output, reporting_date, report_path)
    check = result.check
    for finding in check.findings:
        click.echo(f"{output}  {format_finding(finding)}")
    click.echo(
        f"wrote {output}: {plural(len(check.errors), 'error')}, "
        f"{plural(len(check.warnings), 'warning')} against the default rules"
    )
    exit_with(result.outcome)
