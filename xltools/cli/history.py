"""``xltools history export``: the history as tidy CSV for Power BI or Excel's Get Data."""

from __future__ import annotations

import click

from xltools.cli import cli, force_option, refuse_overwrite


@cli.group("history")
def history() -> None:
    """The history consolidate keeps beside the register (a .sqlite file).

    \b
    Example:
      xltools history export register.history.sqlite -o history-csv/
    """


@history.command("export")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option(
    "-o", "--outdir", required=True, type=click.Path(file_okay=False), help="Folder for the CSV."
)
@force_option("Overwrite the CSV files already in OUTDIR.")
def export(path, outdir, force):
    """Write the history as tidy CSV in long form: actions_by_week.csv (one row per action
    per week), runs.csv, and data_dictionary.csv saying what every column means.

    \b
    Example:
      xltools history export register.history.sqlite -o history-csv/
    """
    from pathlib import Path

    from xltools.trail import EXPORT_FILES
    from xltools.trail import export as run_export
    from xltools.words import plural

    if Path(path).exists():  # a missing history is said first, by the export
        refuse_overwrite(*(Path(outdir) / name for name in EXPORT_FILES), force=force)

    done = run_export(path, outdir)
    click.echo(
        f"wrote {done.folder}: {plural(done.rows, 'row')} for {plural(done.actions, 'action')}"
        f" ({', '.join(p.name for p in done.files)})"
    )
