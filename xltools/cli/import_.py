"""``xltools import``: a plan in a council's own layout -> the standard plan workbook."""

from __future__ import annotations

import json

import click

from xltools.cli import cli, reporting_date_option


@cli.command("import")
@click.argument("source", type=click.Path(dir_okay=False))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="The standard plan workbook to write.",
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
@click.pass_context
def import_command(ctx, source, output, organisation, service, title, reporting_date, report_path):
    """Import SOURCE (a Word table saved as text, a CSV or a workbook) as a standard plan.

    The header row, section headings, continuation rows and the plan's own
    numbering are recognised; columns that map to nothing are kept on the
    right. The report says how each column was mapped and every judgement made.
    Exit status: 0 the plan validates, 1 it has errors to fix, 2 could not run.

    \b
    Example:
      xltools import brent-2003.txt -o brent.xlsx --organisation "Brent Council" \\
        --reporting-date 2003-11-24 --report brent-import.json
    """
    from xltools.fileio import write_text
    from xltools.importers import import_plan, report_text, write_import
    from xltools.validate import validate
    from xltools.words import plural

    result = import_plan(source, organisation, reporting_date, service, title)
    write_import(result, output)
    check = validate([output], reporting_date=reporting_date).files[0]
    result.report["validation"] = {
        "errors": len(check.errors),
        "warnings": len(check.warnings),
        "findings": [f.to_dict() for f in check.findings],
    }
    if report_path:
        write_text(
            report_path, json.dumps(result.report, indent=2, ensure_ascii=False, default=str) + "\n"
        )
    click.echo(report_text(result.report))
    click.echo(
        f"wrote {output}: {plural(len(check.errors), 'error')}, "
        f"{plural(len(check.warnings), 'warning')} against the default rules"
    )
    ctx.exit(1 if check.errors else 0)
